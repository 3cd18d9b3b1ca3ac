/* Property values: every type round-trips (in the writing transaction, after commit, after
 * reopen), null is stored (unlike unset), overwrites change the type, many keys. */
#include "harness.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct vcase {
  char key[32];
  qv_value v;
};

static double bits_to_double(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static int values_equal(const qv_value *a, const qv_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
  case QV_TYPE_NULL:
    return 1;
  case QV_TYPE_BOOL:
    return a->as.b == b->as.b;
  case QV_TYPE_INT:
    return a->as.i == b->as.i;
  case QV_TYPE_FLOAT:
    return memcmp(&a->as.f, &b->as.f, sizeof(double)) == 0; /* bit for bit: NaN, -0.0 */
  case QV_TYPE_STRING:
  case QV_TYPE_BYTES:
    if (a->as.bytes.len != b->as.bytes.len) return 0;
    if (a->as.bytes.len == 0) return 1;
    return a->as.bytes.ptr && b->as.bytes.ptr &&
           memcmp(a->as.bytes.ptr, b->as.bytes.ptr, a->as.bytes.len) == 0;
  }
  return 0;
}

static uint8_t all_bytes[256];
static uint8_t pattern[100000];
static char long_string[5000];

static size_t build_cases(struct vcase *cs) {
  size_t n = 0;
#define ADD(...)                                                                           \
  do {                                                                                     \
    snprintf(cs[n].key, sizeof cs[n].key, "k%02zu", n);                                    \
    memset(&cs[n].v, 0, sizeof cs[n].v);                                                   \
    __VA_ARGS__;                                                                           \
    n++;                                                                                   \
  } while (0)
  ADD(cs[n].v.type = QV_TYPE_NULL);
  ADD(cs[n].v.type = QV_TYPE_BOOL; cs[n].v.as.b = true);
  ADD(cs[n].v.type = QV_TYPE_BOOL; cs[n].v.as.b = false);
  static const int64_t ints[] = {0, 1, -1, 42, INT64_MIN, INT64_MAX, INT64_MIN + 1,
                                 (int64_t)0x0102030405060708ll};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    ADD(cs[n].v.type = QV_TYPE_INT; cs[n].v.as.i = ints[i]);
  const double floats[] = {0.0,      -0.0,    NAN,      -NAN,   INFINITY,
                           -INFINITY, DBL_MAX, -DBL_MAX, DBL_MIN, bits_to_double(1) /* denormal */,
                           3.141592653589793, -1e-300,
                           bits_to_double(0x7ff8000000000123ull) /* NaN with a payload */};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
    ADD(cs[n].v.type = QV_TYPE_FLOAT; cs[n].v.as.f = floats[i]);
  static const char *strs[] = {"", "hello", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x8e\x89 "
                                            "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    ADD(cs[n].v.type = QV_TYPE_STRING; cs[n].v.as.bytes.ptr = (const uint8_t *)strs[i];
        cs[n].v.as.bytes.len = strlen(strs[i]));
  ADD(cs[n].v.type = QV_TYPE_STRING; cs[n].v.as.bytes.ptr = NULL; cs[n].v.as.bytes.len = 0);
  ADD(cs[n].v.type = QV_TYPE_STRING; cs[n].v.as.bytes.ptr = (const uint8_t *)"a\0b\0";
      cs[n].v.as.bytes.len = 4);
  ADD(cs[n].v.type = QV_TYPE_STRING; cs[n].v.as.bytes.ptr = (const uint8_t *)long_string;
      cs[n].v.as.bytes.len = sizeof long_string);
  ADD(cs[n].v.type = QV_TYPE_BYTES; cs[n].v.as.bytes.ptr = NULL; cs[n].v.as.bytes.len = 0);
  ADD(cs[n].v.type = QV_TYPE_BYTES; cs[n].v.as.bytes.ptr = all_bytes; cs[n].v.as.bytes.len = 0);
  ADD(cs[n].v.type = QV_TYPE_BYTES; cs[n].v.as.bytes.ptr = all_bytes;
      cs[n].v.as.bytes.len = sizeof all_bytes);
  ADD(cs[n].v.type = QV_TYPE_BYTES; cs[n].v.as.bytes.ptr = (const uint8_t *)"\0\0\0";
      cs[n].v.as.bytes.len = 3);
  ADD(cs[n].v.type = QV_TYPE_BYTES; cs[n].v.as.bytes.ptr = pattern;
      cs[n].v.as.bytes.len = sizeof pattern);
#undef ADD
  return n;
}

static void init_data(void) {
  for (int i = 0; i < 256; i++) all_bytes[i] = (uint8_t)(255 - i);
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof pattern; i++) {
    x = x * 1103515245u + 12345u;
    pattern[i] = (uint8_t)(x >> 16);
  }
  for (size_t i = 0; i < sizeof long_string; i++) long_string[i] = (char)('a' + i % 26);
}

/* Checks every case on node `n` and edge `e` in `t`. */
static void check_cases(qv_txn *t, qv_node_id n, qv_edge_id e, const struct vcase *cs,
                        size_t count, const char *when) {
  printf("# values %s\n", when);
  int bad = 0;
  for (size_t i = 0; i < count; i++) {
    qv_value out;
    memset(&out, 0x5A, sizeof out);
    qv_status s1 = qv_node_get(t, n, cs[i].key, &out);
    int ok1 = s1 == QV_OK && values_equal(&out, &cs[i].v);
    memset(&out, 0x5A, sizeof out);
    qv_status s2 = qv_edge_get_prop(t, e, cs[i].key, &out);
    int ok2 = s2 == QV_OK && values_equal(&out, &cs[i].v);
    if (!ok1 || !ok2) {
      bad++;
      printf("#   case %s (type %d): node %s/%d, edge %s/%d\n", cs[i].key, (int)cs[i].v.type,
             qv_status_str(s1), ok1, qv_status_str(s2), ok2);
    }
  }
  CHECK(bad == 0);
  /* Special float checks by meaning, not bits. */
  qv_value out;
  CHECK_OK(qv_node_get(t, n, "nan", &out));
  CHECK(out.type == QV_TYPE_FLOAT && isnan(out.as.f));
  CHECK_OK(qv_node_get(t, n, "negzero", &out));
  CHECK(out.type == QV_TYPE_FLOAT && out.as.f == 0.0 && signbit(out.as.f));
  CHECK_OK(qv_node_get(t, n, "intmin", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == INT64_MIN);
  CHECK_OK(qv_node_get(t, n, "intmax", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == INT64_MAX);
  CHECK_OK(qv_node_get(t, n, "null", &out));
  CHECK(out.type == QV_TYPE_NULL);
  CHECK_OK(qv_node_get(t, n, "booltrue", &out));
  CHECK(out.type == QV_TYPE_BOOL && out.as.b == true);
  CHECK_OK(qv_node_get(t, n, "boolgarbage", &out));
  CHECK(out.type == QV_TYPE_BOOL && out.as.b == false);
  /* Values from two reads are valid at the same time (no write in between). */
  qv_value a, b;
  CHECK_OK(qv_node_get(t, n, "k25", &a));
  CHECK_OK(qv_edge_get_prop(t, e, "k34", &b));
  CHECK(a.type == QV_TYPE_STRING && b.type == QV_TYPE_BYTES);
  CHECK(a.as.bytes.len > 0 && b.as.bytes.len == sizeof pattern &&
        memcmp(b.as.bytes.ptr, pattern, sizeof pattern) == 0 && a.as.bytes.ptr[0] == 'h');
}

static void set_specials(qv_txn *w, qv_node_id n) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_FLOAT;
  v.as.f = NAN;
  CHECK_OK(qv_node_set(w, n, "nan", &v));
  v.as.f = -0.0;
  CHECK_OK(qv_node_set(w, n, "negzero", &v));
  v = qvt_int(INT64_MIN);
  CHECK_OK(qv_node_set(w, n, "intmin", &v));
  v = qvt_int(INT64_MAX);
  CHECK_OK(qv_node_set(w, n, "intmax", &v));
  memset(&v, 0x77, sizeof v);
  v.type = QV_TYPE_NULL; /* the payload is ignored */
  CHECK_OK(qv_node_set(w, n, "null", &v));
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_BOOL;
  v.as.b = true;
  CHECK_OK(qv_node_set(w, n, "booltrue", &v));
  /* bool false with garbage in the rest of the union: false. */
  memset(&v, 0xFF, sizeof v);
  v.type = QV_TYPE_BOOL;
  v.as.b = false;
  CHECK_OK(qv_node_set(w, n, "boolgarbage", &v));
}

/* Inserts nodes *n and *m labelled `label` and an edge *e of type `type` from *n to *m:
 * the records a test sets values on (and one it leaves without). */
static void insert_n_m_e(qv_txn *w, const char *label, const char *type, qv_node_id *n,
                         qv_node_id *m, qv_edge_id *e) {
  CHECK_OK(qv_node_insert(w, label, n));
  CHECK_OK(qv_node_insert(w, label, m));
  CHECK_OK(qv_edge_insert(w, *n, *m, type, e));
}

void test_values_round_trip(void) {
  init_data();
  static struct vcase cs[64];
  size_t count = build_cases(cs);
  CHECK(count > 30 && count < 64);
  QVT_FRESH_WRITE("values", db, path, w);
  qv_node_id n = 0, m = 0;
  qv_edge_id e = 0;
  insert_n_m_e(w, "V", "VE", &n, &m, &e);
  int bad = 0;
  for (size_t i = 0; i < count; i++) {
    if (qv_node_set(w, n, cs[i].key, &cs[i].v) != QV_OK) bad++;
    if (qv_edge_set(w, e, cs[i].key, &cs[i].v) != QV_OK) bad++;
  }
  CHECK(bad == 0);
  set_specials(w, n);
  check_cases(w, n, e, cs, count, "in the writing transaction");
  /* The other node has none of them. */
  qv_value out;
  CHECK_STATUS(qv_node_get(w, m, cs[0].key, &out), QV_NOT_FOUND);
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  check_cases(r, n, e, cs, count, "after commit");
  qv_txn_rollback(r);
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  check_cases(r, n, e, cs, count, "after checkpoint");
  qv_txn_rollback(r);
  qvt_reopen(&db, path, QV_SYNC_NORMAL);
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  check_cases(r, n, e, cs, count, "after reopen");
  qv_txn_rollback(r);
  /* A write transaction reads them too, after unrelated writes. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  qv_value v = qvt_int(1);
  CHECK_OK(qv_node_set(w, m, "other", &v));
  check_cases(w, n, e, cs, count, "in a later write transaction");
  CHECK_OK(qv_txn_commit(w));
  qvt_finish(db, path);
}

void test_values_null_unset_overwrite(void) {
  QVT_FRESH_WRITE("overwrite", db, path, w);
  qv_node_id n = 0, m = 0;
  qv_edge_id e = 0;
  insert_n_m_e(w, "N", "E", &n, &m, &e);
  qv_value v, out;

  for (int onedge = 0; onedge < 2; onedge++) {
    uint64_t id = onedge ? e : n;
    qv_status (*set)(qv_txn *, uint64_t, const char *, const qv_value *) =
        onedge ? qv_edge_set : qv_node_set;
    qv_status (*get)(qv_txn *, uint64_t, const char *, qv_value *) =
        onedge ? qv_edge_get_prop : qv_node_get;
    qv_status (*unset)(qv_txn *, uint64_t, const char *) = onedge ? qv_edge_unset : qv_node_unset;
    printf("# on the %s\n", onedge ? "edge" : "node");
    /* A null is stored, and is not an unset. */
    memset(&v, 0, sizeof v);
    v.type = QV_TYPE_NULL;
    CHECK_OK(set(w, id, "k", &v));
    memset(&out, 0x5A, sizeof out);
    CHECK_OK(get(w, id, "k", &out));
    CHECK(out.type == QV_TYPE_NULL);
    /* Overwrites change the type. */
    v = qvt_int(-5);
    CHECK_OK(set(w, id, "k", &v));
    CHECK_OK(get(w, id, "k", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == -5);
    v = qvt_str("now a string");
    CHECK_OK(set(w, id, "k", &v));
    CHECK_OK(get(w, id, "k", &out));
    CHECK(out.type == QV_TYPE_STRING && out.as.bytes.len == 12 &&
          memcmp(out.as.bytes.ptr, "now a string", 12) == 0);
    v.type = QV_TYPE_BYTES;
    CHECK_OK(set(w, id, "k", &v));
    CHECK_OK(get(w, id, "k", &out));
    CHECK(out.type == QV_TYPE_BYTES && out.as.bytes.len == 12);
    memset(&v, 0, sizeof v);
    v.type = QV_TYPE_NULL;
    CHECK_OK(set(w, id, "k", &v));
    CHECK_OK(get(w, id, "k", &out));
    CHECK(out.type == QV_TYPE_NULL);
    /* Unset: gone; unsetting again is fine. */
    CHECK_OK(unset(w, id, "k"));
    memset(&out, 0x5A, sizeof out);
    CHECK_STATUS(get(w, id, "k", &out), QV_NOT_FOUND);
    CHECK(out.type == QV_TYPE_NULL && out.as.bytes.ptr == NULL && out.as.bytes.len == 0);
    CHECK_OK(unset(w, id, "k"));
    /* Set again after unset; a stored null survives the commit. */
    memset(&v, 0, sizeof v);
    v.type = QV_TYPE_NULL;
    CHECK_OK(set(w, id, "null-kept", &v));
    v = qvt_int(7);
    CHECK_OK(set(w, id, "k", &v));
    CHECK_OK(set(w, id, "unset-later", &v));
  }
  CHECK_OK(qv_txn_commit(w));

  /* Unset in a later transaction; nulls and values survive commit and reopen. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_unset(w, n, "unset-later"));
  CHECK_OK(qv_edge_unset(w, e, "unset-later"));
  CHECK_OK(qv_txn_commit(w));
  for (int round = 0; round < 2; round++) {
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK_OK(qv_node_get(r, n, "null-kept", &out));
    CHECK(out.type == QV_TYPE_NULL);
    CHECK_OK(qv_edge_get_prop(r, e, "null-kept", &out));
    CHECK(out.type == QV_TYPE_NULL);
    CHECK_OK(qv_node_get(r, n, "k", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 7);
    CHECK_OK(qv_edge_get_prop(r, e, "k", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 7);
    CHECK_STATUS(qv_node_get(r, n, "unset-later", &out), QV_NOT_FOUND);
    CHECK_STATUS(qv_edge_get_prop(r, e, "unset-later", &out), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_get(r, m, "k", &out), QV_NOT_FOUND);
    qv_txn_rollback(r);
    if (round == 0) qvt_reopen(&db, path, QV_SYNC_NORMAL);
  }
  qvt_finish(db, path);
}

void test_values_many_keys(void) {
  QVT_FRESH_WRITE("manykeys", db, path, w);
  qv_node_id n = 0;
  CHECK_OK(qv_node_insert(w, "Many", &n));
  char key[32];
  int bad = 0;
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "key-%03d", i);
    qv_value v = qvt_int(i * 1000 + 7);
    if (qv_node_set(w, n, key, &v) != QV_OK) bad++;
  }
  CHECK(bad == 0);
  /* Remove every third key, overwrite every fifth. */
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "key-%03d", i);
    if (i % 3 == 0 && qv_node_unset(w, n, key) != QV_OK) bad++;
    if (i % 5 == 0) {
      qv_value v = qvt_str(key);
      if (qv_node_set(w, n, key, &v) != QV_OK) bad++;
    }
  }
  CHECK(bad == 0);
  CHECK_OK(qv_txn_commit(w));
  qvt_reopen(&db, path, QV_SYNC_NORMAL);
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "key-%03d", i);
    qv_value out;
    qv_status s = qv_node_get(r, n, key, &out);
    if (i % 5 == 0) {
      if (s != QV_OK || out.type != QV_TYPE_STRING || out.as.bytes.len != strlen(key) ||
          memcmp(out.as.bytes.ptr, key, strlen(key)) != 0)
        bad++;
    } else if (i % 3 == 0) {
      if (s != QV_NOT_FOUND) bad++;
    } else if (s != QV_OK || out.type != QV_TYPE_INT || out.as.i != i * 1000 + 7) {
      bad++;
    }
  }
  CHECK(bad == 0);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* QV_MAX_PROPS_LEN bounds all properties of one record: adding past it is refused, and
 * an overwrite is judged by the size the record will have, not old + new. */
void test_values_props_limit(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("propslimit", QV_SYNC_OFF, &db);
  size_t mib = 1u << 20;
  uint8_t *big = qvt_filled(QV_MAX_VALUE_LEN, 0x42);
  if (!big) return;
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_BYTES;
  v.as.bytes.ptr = big;
  qv_txn *w = qvt_begin(db, 0);
  qv_node_id n = 0;
  CHECK_OK(qv_node_insert(w, "Big", &n));
  v.as.bytes.len = QV_MAX_VALUE_LEN;
  CHECK_OK(qv_node_set(w, n, "k1", &v));
  CHECK_OK(qv_node_set(w, n, "k2", &v));
  CHECK_OK(qv_node_set(w, n, "k3", &v)); /* 48 MiB and a little */
  /* A fourth value of QV_MAX_VALUE_LEN would pass the limit. */
  CHECK_STATUS(qv_node_set(w, n, "k4", &v), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("67108864");
  qv_value out;
  CHECK_STATUS(qv_node_get(w, n, "k4", &out), QV_NOT_FOUND);
  CHECK_OK(qv_node_get(w, n, "k3", &out));
  CHECK(out.type == QV_TYPE_BYTES && out.as.bytes.len == QV_MAX_VALUE_LEN);
  /* Overwriting k3 with a value of the same size leaves the record at 48 MiB: allowed. */
  CHECK_OK(qv_node_set(w, n, "k3", &v));
  /* Shrinking is always allowed. */
  v.as.bytes.len = 1;
  CHECK_OK(qv_node_set(w, n, "k3", &v));
  CHECK_OK(qv_node_get(w, n, "k3", &out));
  CHECK(out.type == QV_TYPE_BYTES && out.as.bytes.len == 1);
  (void)mib;
  qv_txn_rollback(w);
  free(big);
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 0);
  qvt_finish(db, path);
}
