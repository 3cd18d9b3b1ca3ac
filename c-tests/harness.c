#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int qvt_passed;
int qvt_failed;
static int counter;

int qvt_check(int ok, const char *what, const char *file, int line) {
  counter++;
  if (ok) {
    qvt_passed++;
    printf("ok %d - %s\n", counter, what);
  } else {
    qvt_failed++;
    printf("not ok %d - %s (%s:%d)\n", counter, what, file, line);
  }
  fflush(stdout);
  return ok;
}

int qvt_status(qv_status got, qv_status want, const char *what, const char *file, int line) {
  int ok = qvt_check(got == want, what, file, line);
  if (!ok) {
    char msg[512];
    size_t len = 0;
    qv_last_error(msg, sizeof msg, &len);
    printf("#   got %s, want %s; last error: %s\n", qv_status_str(got), qv_status_str(want), msg);
  }
  return ok;
}

const char *qvt_tmpdir(const char *tag) {
  static char paths[64][256];
  static int next;
  char *p = paths[next++ % 64];
  const char *base = getenv("TMPDIR");
  snprintf(p, 256, "%s/qv-ctest-%d-%s-%d", base ? base : "/tmp", (int)getpid(), tag, next);
  qvt_rmtree(p);
  return p;
}

void qvt_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  char child[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    qvt_rmtree(child);
  }
  closedir(d);
  rmdir(path);
}
