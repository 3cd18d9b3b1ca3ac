/* Entry point of the C tests, called by tests/c_tests.rs (a harness = false target). */
#include "harness.h"

#include <string.h>

extern int qvt_passed;
extern int qvt_failed;

#define TEST(name) void name(void);
#include "tests.def"
#undef TEST

static const struct {
  const char *name;
  qvt_fn fn;
} tests[] = {
#define TEST(name) {#name, name},
#include "tests.def"
#undef TEST
};

/* argv[1], when given, runs only the tests whose name contains it. */
int qv_c_tests_main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : NULL;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    if (filter && !strstr(tests[i].name, filter)) continue;
    printf("# %s\n", tests[i].name);
    fflush(stdout);
    tests[i].fn();
  }
  printf("%d passed, %d failed\n", qvt_passed, qvt_failed);
  fflush(stdout);
  return qvt_failed == 0 ? 0 : 1;
}
