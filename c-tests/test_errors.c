/* Error statuses: NULL arguments, malformed arguments, the order of the checks, missing
 * records, unknown flags and directions, failed calls without effect, qv_last_error. */
#include "harness.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GARBAGE ((void *)(uintptr_t)0xdeadbeefu)
#define GARBAGE_ID ((uint64_t)0x5a5a5a5a5a5a5a5aull)

static int path_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static int value_is_cleared(const qv_value *v) {
  return v->type == QV_TYPE_NULL && v->as.bytes.ptr == NULL && v->as.bytes.len == 0;
}

static int edge_is_cleared(const qv_edge *e) {
  return e->id == 0 && e->src == 0 && e->dst == 0 && e->type == NULL;
}

/* qv_node_get and qv_edge_get_prop: the property of record `id` under a key. */
typedef qv_status (*prop_getter)(qv_txn *txn, uint64_t id, const char *key, qv_value *out);

/* A property getter (`name`) refuses a NULL handle or key, clearing *out, and a NULL out. */
static void check_getter_refuses_nulls(const char *name, prop_getter get, qv_txn *w,
                                       uint64_t id) {
  printf("# %s\n", name);
  qv_value out;
  memset(&out, 0x5A, sizeof out);
  CHECK_STATUS(get(NULL, id, "k", &out), QV_NULL_ARGUMENT);
  CHECK(value_is_cleared(&out));
  memset(&out, 0x5A, sizeof out);
  CHECK_STATUS(get(w, id, NULL, &out), QV_NULL_ARGUMENT);
  CHECK(value_is_cleared(&out));
  CHECK_STATUS(get(w, id, "k", NULL), QV_NULL_ARGUMENT);
}

/* A database with nodes n (label "N"), m (label "M") and an edge e n -> m ("E"),
 * committed; returns it open. */
static qv_db *setup(const char *tag, const char **path, qv_node_id *n, qv_node_id *m,
                    qv_edge_id *e) {
  qv_db *db = NULL;
  *path = qvt_fresh_db(tag, QV_SYNC_NORMAL, &db);
  qv_txn *w = qvt_begin(db, 0);
  CHECK_OK(qv_node_insert(w, "N", n));
  CHECK_OK(qv_node_insert(w, "M", m));
  CHECK_OK(qv_edge_insert(w, *n, *m, "E", e));
  CHECK_OK(qv_txn_commit(w));
  return db;
}

/* Declares `path`, `db`, `n`, `m` and `e` of a database set up as above. */
#define SETUP(tag)                                                                         \
  const char *path;                                                                        \
  qv_node_id n, m;                                                                         \
  qv_edge_id e;                                                                            \
  qv_db *db = setup((tag), &path, &n, &m, &e)

/* ----------------------------------------------------------------------------------- */

void test_err_null_arguments(void) {
  SETUP("nullargs");

  /* Database-level functions. */
  qv_options o;
  qv_options_init(&o);
  qv_db *dbo = GARBAGE;
  CHECK_STATUS(qv_open(NULL, &o, &dbo), QV_NULL_ARGUMENT);
  CHECK(dbo == NULL);
  CHECK_ERR_HAS("path");
  dbo = GARBAGE;
  CHECK_STATUS(qv_open(NULL, NULL, &dbo), QV_NULL_ARGUMENT);
  CHECK(dbo == NULL);
  const char *path2 = qvt_tmpdir("nullargs-out");
  CHECK_STATUS(qv_open(path2, &o, NULL), QV_NULL_ARGUMENT);
  CHECK(!path_exists(path2));
  CHECK_STATUS(qv_checkpoint(NULL), QV_NULL_ARGUMENT);

  qv_check_report rep;
  memset(&rep, 0x5A, sizeof rep);
  CHECK_STATUS(qv_check(NULL, &rep), QV_NULL_ARGUMENT);
  CHECK(rep.nodes_checked == 0 && rep.edges_checked == 0 && rep.problems == 0 &&
        rep.first_problem[0] == 0);
  CHECK_STATUS(qv_check(db, NULL), QV_NULL_ARGUMENT);

  qv_recovery_stats rs;
  memset(&rs, 0x5A, sizeof rs);
  CHECK_STATUS(qv_last_recovery(NULL, &rs), QV_NULL_ARGUMENT);
  CHECK(rs.txns_replayed == 0 && rs.txns_discarded == 0 && rs.nodes == 0 && rs.edges == 0 &&
        rs.props == 0 && rs.wal_bytes_scanned == 0 && rs.bytes_truncated == 0 && rs.micros == 0);
  CHECK_STATUS(qv_last_recovery(db, NULL), QV_NULL_ARGUMENT);

  qv_db_stats st;
  memset(&st, 0x5A, sizeof st);
  CHECK_STATUS(qv_stats(NULL, &st), QV_NULL_ARGUMENT);
  CHECK(st.nodes == 0 && st.edges == 0 && st.data_bytes == 0 && st.wal_bytes == 0 &&
        st.last_commit_lsn == 0 && st.checkpoint_lsn == 0 && st.readers == 0);
  CHECK_STATUS(qv_stats(db, NULL), QV_NULL_ARGUMENT);

  qv_txn *t = GARBAGE;
  CHECK_STATUS(qv_txn_begin(NULL, 0, &t), QV_NULL_ARGUMENT);
  CHECK(t == NULL);
  t = GARBAGE;
  CHECK_STATUS(qv_txn_begin(NULL, QV_TXN_READ_ONLY, &t), QV_NULL_ARGUMENT);
  CHECK(t == NULL);
  CHECK_STATUS(qv_txn_begin(db, 0, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_txn_begin(db, QV_TXN_READ_ONLY, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_txn_commit(NULL), QV_NULL_ARGUMENT);

  /* Transaction-level functions, in a write transaction. */
  qv_txn *w = qvt_begin(db, 0);
  CHECK_STATUS(qv_savepoint(NULL, "s"), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_savepoint(w, NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("name");
  CHECK_STATUS(qv_rollback_to(NULL, "s"), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(w, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_release(NULL, "s"), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_release(w, NULL), QV_NULL_ARGUMENT);

  qv_node_id id = GARBAGE_ID;
  CHECK_STATUS(qv_node_insert(NULL, "L", &id), QV_NULL_ARGUMENT);
  CHECK(id == 0);
  CHECK_ERR_HAS("txn");
  id = GARBAGE_ID;
  CHECK_STATUS(qv_node_insert(w, NULL, &id), QV_NULL_ARGUMENT);
  CHECK(id == 0);
  CHECK_ERR_HAS("label");
  CHECK_STATUS(qv_node_insert(w, "L", NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("out");

  CHECK_STATUS(qv_node_delete(NULL, n, 0), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_delete(NULL, n, QV_DETACH), QV_NULL_ARGUMENT);

  const char *s = GARBAGE;
  CHECK_STATUS(qv_node_label(NULL, n, &s), QV_NULL_ARGUMENT);
  CHECK(s == NULL);
  CHECK_STATUS(qv_node_label(w, n, NULL), QV_NULL_ARGUMENT);

  qv_edge_id eid = GARBAGE_ID;
  CHECK_STATUS(qv_edge_insert(NULL, n, m, "T", &eid), QV_NULL_ARGUMENT);
  CHECK(eid == 0);
  eid = GARBAGE_ID;
  CHECK_STATUS(qv_edge_insert(w, n, m, NULL, &eid), QV_NULL_ARGUMENT);
  CHECK(eid == 0);
  CHECK_ERR_HAS("type");
  CHECK_STATUS(qv_edge_insert(w, n, m, "T", NULL), QV_NULL_ARGUMENT);

  CHECK_STATUS(qv_edge_delete(NULL, e), QV_NULL_ARGUMENT);

  qv_edge ed;
  memset(&ed, 0x5A, sizeof ed);
  CHECK_STATUS(qv_edge_get(NULL, e, &ed), QV_NULL_ARGUMENT);
  CHECK(edge_is_cleared(&ed));
  CHECK_STATUS(qv_edge_get(w, e, NULL), QV_NULL_ARGUMENT);

  qv_value v = qvt_int(5);
  qv_value out;
  CHECK_STATUS(qv_node_set(NULL, n, "k", &v), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_set(w, n, NULL, &v), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("key");
  CHECK_STATUS(qv_node_set(w, n, "k", NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("value");
  CHECK_STATUS(qv_edge_set(NULL, e, "k", &v), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_set(w, e, NULL, &v), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_set(w, e, "k", NULL), QV_NULL_ARGUMENT);

  check_getter_refuses_nulls("qv_node_get", qv_node_get, w, n);
  check_getter_refuses_nulls("qv_edge_get_prop", qv_edge_get_prop, w, e);

  CHECK_STATUS(qv_node_unset(NULL, n, "k"), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_unset(w, n, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_unset(NULL, e, "k"), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_unset(w, e, NULL), QV_NULL_ARGUMENT);

  qv_cursor *c = GARBAGE;
  CHECK_STATUS(qv_edges(NULL, n, QV_OUT, NULL, &c), QV_NULL_ARGUMENT);
  CHECK(c == NULL);
  CHECK_STATUS(qv_edges(w, n, QV_OUT, NULL, NULL), QV_NULL_ARGUMENT);
  c = GARBAGE;
  CHECK_STATUS(qv_nodes(NULL, NULL, &c), QV_NULL_ARGUMENT);
  CHECK(c == NULL);
  CHECK_STATUS(qv_nodes(w, NULL, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_nodes(w, "N", NULL), QV_NULL_ARGUMENT);

  uint64_t d = GARBAGE_ID;
  CHECK_STATUS(qv_degree(NULL, n, QV_OUT, NULL, &d), QV_NULL_ARGUMENT);
  CHECK(d == 0);
  CHECK_STATUS(qv_degree(w, n, QV_OUT, NULL, NULL), QV_NULL_ARGUMENT);

  /* Cursor functions. */
  qv_cursor *cn = NULL, *ce = NULL;
  CHECK_OK(qv_nodes(w, NULL, &cn));
  CHECK_OK(qv_edges(w, n, QV_OUT, NULL, &ce));
  id = GARBAGE_ID;
  CHECK_STATUS(qv_cursor_next_node(NULL, &id), QV_NULL_ARGUMENT);
  CHECK(id == 0);
  CHECK_STATUS(qv_cursor_next_node(cn, NULL), QV_NULL_ARGUMENT);
  memset(&ed, 0x5A, sizeof ed);
  CHECK_STATUS(qv_cursor_next_edge(NULL, &ed), QV_NULL_ARGUMENT);
  CHECK(edge_is_cleared(&ed));
  CHECK_STATUS(qv_cursor_next_edge(ce, NULL), QV_NULL_ARGUMENT);
  /* The failed calls did not advance the cursors. */
  CHECK_OK(qv_cursor_next_node(cn, &id));
  CHECK(id == n);
  CHECK_OK(qv_cursor_next_edge(ce, &ed));
  CHECK(ed.id == e);
  qv_cursor_free(cn);
  qv_cursor_free(ce);

  /* qv_last_error. */
  char buf[64];
  size_t len = GARBAGE_ID;
  CHECK_STATUS(qv_last_error(buf, sizeof buf, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_last_error(NULL, 8, &len), QV_NULL_ARGUMENT);
  if (!CHECK(len == 0)) printf("#   qv_last_error(NULL, 8, &len) left len = %zu\n", len);
  len = GARBAGE_ID;
  qv_status ls = qv_last_error(NULL, 0, &len);
  CHECK(ls == QV_BUFFER_TOO_SMALL); /* the message is not empty here */
  CHECK(len > 0 && len < 4096);

  /* NULL comes before every other check. */
  id = GARBAGE_ID;
  CHECK_STATUS(qv_node_insert(NULL, "\xff", &id), QV_NULL_ARGUMENT);
  CHECK(id == 0);
  CHECK_STATUS(qv_node_insert(w, "", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_insert(w, "\xff", NULL), QV_NULL_ARGUMENT);
  eid = GARBAGE_ID;
  CHECK_STATUS(qv_edge_insert(w, 9999, 9999, NULL, &eid), QV_NULL_ARGUMENT);
  CHECK(eid == 0);
  CHECK_STATUS(qv_edge_insert(w, 9999, n, "\xff", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_insert(w, n, m, "", NULL), QV_NULL_ARGUMENT);
  qv_value badtype;
  memset(&badtype, 0, sizeof badtype);
  badtype.type = (qv_type)99;
  CHECK_STATUS(qv_node_set(w, 9999, NULL, &badtype), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_set(w, 9999, "", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_set(w, 9999, "\xff", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_get(w, 9999, "", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_get_prop(w, 9999, "\xff", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_unset(NULL, 9999, ""), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edges(w, 9999, (qv_dir)0, "", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edges(NULL, 9999, (qv_dir)0, "\xff", &c), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_degree(w, 9999, (qv_dir)0, "\xff", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_nodes(w, "", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_nodes(w, "\xff", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_delete(NULL, 9999, 99), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_savepoint(NULL, ""), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(NULL, "\xff"), QV_NULL_ARGUMENT);
  t = GARBAGE;
  CHECK_STATUS(qv_txn_begin(NULL, 99, &t), QV_NULL_ARGUMENT);
  CHECK(t == NULL);
  CHECK_STATUS(qv_txn_begin(db, 99, NULL), QV_NULL_ARGUMENT);
  qv_options bad;
  qv_options_init(&bad);
  bad.struct_size = 0;
  dbo = GARBAGE;
  CHECK_STATUS(qv_open(NULL, &bad, &dbo), QV_NULL_ARGUMENT);
  CHECK(dbo == NULL);
  CHECK_STATUS(qv_open("", &bad, NULL), QV_NULL_ARGUMENT);

  /* None of it had an effect; the transaction is usable. */
  CHECK(qvt_count_nodes(w, NULL) == 2);
  CHECK(qvt_count_edges(w, n, QV_BOTH, NULL) == 1);
  CHECK_STATUS(qv_node_get(w, n, "k", &out), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_get_prop(w, e, "k", &out), QV_NOT_FOUND);
  CHECK_OK(qv_node_set(w, n, "k", &v));
  CHECK_OK(qv_txn_commit(w));

  /* In a read transaction, NULL comes before QV_READ_ONLY. */
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_STATUS(qv_node_insert(r, "L", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_insert(r, NULL, &id), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_set(r, n, "k", NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_set(r, e, NULL, &v), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_unset(r, n, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_insert(r, n, m, NULL, &eid), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_savepoint(r, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_release(r, NULL), QV_NULL_ARGUMENT);
  qv_txn_rollback(r);

  /* A stale cursor with a NULL out: QV_NULL_ARGUMENT before QV_MISUSE. */
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK_OK(qv_nodes(r, NULL, &cn));
  CHECK_OK(qv_edges(r, n, QV_OUT, NULL, &ce));
  qv_txn_rollback(r);
  CHECK_STATUS(qv_cursor_next_node(cn, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_cursor_next_edge(ce, NULL), QV_NULL_ARGUMENT);
  qv_cursor_free(cn);
  qv_cursor_free(ce);

  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

/* Calls every function that takes an identifier with `ident` in place of it, in the
 * write transaction `w` and the read transaction `r`, and expects `want` (write calls in
 * `r` expect `want_r`). Outs are set to garbage and must be cleared. */
static void ident_calls(qv_txn *w, qv_txn *r, qv_node_id n, qv_node_id m, qv_edge_id e,
                        const char *ident, qv_status want, qv_status want_r) {
  qv_node_id id;
  qv_edge_id eid;
  qv_value v = qvt_int(1), out;
  qv_cursor *c;
  uint64_t d;
  qv_txn *txns[2] = {w, r};
  for (int i = 0; i < 2; i++) {
    qv_txn *t = txns[i];
    qv_status ww = i == 0 ? want : want_r; /* writes */
    id = GARBAGE_ID;
    CHECK_STATUS(qv_node_insert(t, ident, &id), ww);
    CHECK(ww == QV_OK || id == 0);
    eid = GARBAGE_ID;
    CHECK_STATUS(qv_edge_insert(t, n, m, ident, &eid), ww);
    CHECK(ww == QV_OK || eid == 0);
    CHECK_STATUS(qv_node_set(t, n, ident, &v), ww);
    CHECK_STATUS(qv_edge_set(t, e, ident, &v), ww);
    CHECK_STATUS(qv_node_unset(t, n, ident), ww);
    CHECK_STATUS(qv_edge_unset(t, e, ident), ww);
    CHECK_STATUS(qv_savepoint(t, ident), ww);
    /* Reads. */
    memset(&out, 0x5A, sizeof out);
    CHECK_STATUS(qv_node_get(t, n, ident, &out), want == QV_OK ? QV_NOT_FOUND : want);
    CHECK(value_is_cleared(&out));
    memset(&out, 0x5A, sizeof out);
    CHECK_STATUS(qv_edge_get_prop(t, e, ident, &out), want == QV_OK ? QV_NOT_FOUND : want);
    CHECK(value_is_cleared(&out));
    c = GARBAGE;
    CHECK_STATUS(qv_edges(t, n, QV_BOTH, ident, &c), want);
    CHECK(want == QV_OK || c == NULL);
    if (want == QV_OK) qv_cursor_free(c);
    c = GARBAGE;
    CHECK_STATUS(qv_nodes(t, ident, &c), want);
    CHECK(want == QV_OK || c == NULL);
    if (want == QV_OK) qv_cursor_free(c);
    d = GARBAGE_ID;
    CHECK_STATUS(qv_degree(t, n, QV_BOTH, ident, &d), want);
    /* With a valid identifier, the edge inserted above (write transaction only) counts. */
    CHECK(d == (want == QV_OK && i == 0 ? 1u : 0u));
  }
}

void test_err_bad_identifiers(void) {
  SETUP("badident");
  qv_txn *w = NULL, *r = NULL;
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));

  static const char *bad_utf8[] = {
      "\xff",             /* never valid */
      "abc\xc3",          /* truncated sequence */
      "\xc0\x80",         /* overlong NUL */
      "\xed\xa0\x80",     /* UTF-16 surrogate */
      "\xf4\x90\x80\x80", /* beyond U+10FFFF */
      "a\x80z",           /* stray continuation byte */
      "\xe2\x82",         /* truncated euro sign */
  };
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    printf("# invalid UTF-8 case %zu\n", i);
    ident_calls(w, r, n, m, e, bad_utf8[i], QV_INVALID_ARGUMENT, QV_INVALID_ARGUMENT);
  }
  /* rollback_to / release with malformed names. */
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    CHECK_STATUS(qv_rollback_to(w, bad_utf8[i]), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_release(w, bad_utf8[i]), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_rollback_to(r, bad_utf8[i]), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_release(r, bad_utf8[i]), QV_INVALID_ARGUMENT);
  }
  CHECK_STATUS(qv_node_insert(w, "\xff", &(qv_node_id){0}), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("UTF-8");

  printf("# empty identifier\n");
  ident_calls(w, r, n, m, e, "", QV_INVALID_ARGUMENT, QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(w, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_release(w, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert(w, "", &(qv_node_id){0}), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("empty");

  /* Longer than QV_MAX_IDENT_LEN: ASCII, and multi-byte UTF-8. */
  char longid[QV_MAX_IDENT_LEN + 8];
  memset(longid, 'x', QV_MAX_IDENT_LEN + 1);
  longid[QV_MAX_IDENT_LEN + 1] = 0;
  printf("# identifier of QV_MAX_IDENT_LEN + 1 bytes\n");
  ident_calls(w, r, n, m, e, longid, QV_INVALID_ARGUMENT, QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(w, longid), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_release(w, longid), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert(w, longid, &(qv_node_id){0}), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("1024");
  char mb[QV_MAX_IDENT_LEN + 8];
  size_t k = 0;
  while (k + 3 <= QV_MAX_IDENT_LEN) { /* 341 euro signs = 1023 bytes */
    memcpy(mb + k, "\xe2\x82\xac", 3);
    k += 3;
  }
  memcpy(mb + k, "\xc3\xa9", 2); /* 1025 bytes */
  mb[k + 2] = 0;
  CHECK(strlen(mb) == QV_MAX_IDENT_LEN + 1);
  printf("# multi-byte identifier of QV_MAX_IDENT_LEN + 1 bytes\n");
  ident_calls(w, r, n, m, e, mb, QV_INVALID_ARGUMENT, QV_INVALID_ARGUMENT);

  /* Exactly QV_MAX_IDENT_LEN bytes is fine (ASCII and multi-byte). */
  longid[QV_MAX_IDENT_LEN] = 0;
  mb[k + 1] = 0;
  mb[k] = 'z'; /* 1023 + 1 bytes */
  CHECK(strlen(longid) == QV_MAX_IDENT_LEN && strlen(mb) == QV_MAX_IDENT_LEN);
  printf("# identifiers of exactly QV_MAX_IDENT_LEN bytes\n");
  ident_calls(w, r, n, m, e, longid, QV_OK, QV_READ_ONLY);
  ident_calls(w, r, n, m, e, mb, QV_OK, QV_READ_ONLY);
  CHECK_OK(qv_release(w, mb));
  CHECK_OK(qv_rollback_to(w, longid));
  qv_node_id big = 0;
  CHECK_OK(qv_node_insert(w, longid, &big));
  const char *l = NULL;
  CHECK_OK(qv_node_label(w, big, &l));
  CHECK(l && strcmp(l, longid) == 0);
  qv_value v = qvt_int(1024), out;
  CHECK_OK(qv_node_set(w, big, mb, &v));
  CHECK_OK(qv_node_get(w, big, mb, &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 1024);
  /* Non-ASCII identifiers round-trip. */
  qv_node_id u = 0;
  CHECK_OK(qv_node_insert(w, "\xf0\x9f\x8e\x89 f\xc3\xaate", &u));
  CHECK_OK(qv_node_label(w, u, &l));
  CHECK(l && strcmp(l, "\xf0\x9f\x8e\x89 f\xc3\xaate") == 0);
  qv_txn_rollback(r);
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK_OK(qv_node_label(r, big, &l));
  CHECK(l && strcmp(l, longid) == 0);
  CHECK_OK(qv_node_get(r, big, mb, &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 1024);
  CHECK(qvt_count_nodes(r, longid) >= 1);
  CHECK(qvt_count_nodes(r, "\xf0\x9f\x8e\x89 f\xc3\xaate") == 1);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

void test_err_bad_values(void) {
  SETUP("badvalue");
  qv_txn *w = NULL, *r = NULL;
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  qv_value v, out;

  /* Strings that are not UTF-8 (as bytes they are fine). */
  static const char *bad[] = {"\xff\xfe", "abc\xe2\x82", "\xc0\xaf", "ok\xed\xbf\xbf"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = qvt_str(bad[i]);
    CHECK_STATUS(qv_node_set(w, n, "s", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edge_set(w, e, "s", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_node_set(r, n, "s", &v), QV_INVALID_ARGUMENT); /* before READ_ONLY */
    CHECK_STATUS(qv_node_set(w, 9999, "s", &v), QV_INVALID_ARGUMENT); /* before NOT_FOUND */
    CHECK_STATUS(qv_edge_set(w, 9999, "s", &v), QV_INVALID_ARGUMENT);
    v.type = QV_TYPE_BYTES;
    CHECK_OK(qv_node_set(w, n, "b", &v));
  }
  v = qvt_str("\xff");
  CHECK_STATUS(qv_node_set(w, n, "s", &v), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("UTF-8");
  /* An embedded NUL is valid UTF-8. */
  v.as.bytes.ptr = (const uint8_t *)"a\0b";
  v.as.bytes.len = 3;
  CHECK_OK(qv_node_set(w, n, "nul", &v));
  CHECK_OK(qv_node_get(w, n, "nul", &out));
  CHECK(out.type == QV_TYPE_STRING && out.as.bytes.len == 3 &&
        memcmp(out.as.bytes.ptr, "a\0b", 3) == 0);

  /* ptr NULL with len > 0. */
  qv_type kinds[2] = {QV_TYPE_STRING, QV_TYPE_BYTES};
  for (int i = 0; i < 2; i++) {
    memset(&v, 0, sizeof v);
    v.type = kinds[i];
    v.as.bytes.ptr = NULL;
    v.as.bytes.len = 5;
    CHECK_STATUS(qv_node_set(w, n, "p", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edge_set(w, e, "p", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_node_set(r, n, "p", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edge_set(w, 9999, "p", &v), QV_INVALID_ARGUMENT);
    CHECK_ERR_HAS("NULL");
    /* ptr NULL with len 0 is an empty value. */
    v.as.bytes.len = 0;
    CHECK_OK(qv_node_set(w, n, "p", &v));
    memset(&out, 0x5A, sizeof out);
    CHECK_OK(qv_node_get(w, n, "p", &out));
    CHECK(out.type == kinds[i] && out.as.bytes.len == 0);
    CHECK_OK(qv_edge_set(w, e, "p", &v));
    CHECK_OK(qv_edge_get_prop(w, e, "p", &out));
    CHECK(out.type == kinds[i] && out.as.bytes.len == 0);
  }

  /* Unknown types. */
  static const unsigned types[] = {6, 7, 99, 0x7fffffffu, 0xffffffffu};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    memset(&v, 0, sizeof v);
    v.type = (qv_type)types[i];
    CHECK_STATUS(qv_node_set(w, n, "t", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edge_set(w, e, "t", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_node_set(r, n, "t", &v), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_node_set(w, 9999, "t", &v), QV_INVALID_ARGUMENT);
  }
  memset(&v, 0, sizeof v);
  v.type = (qv_type)99;
  CHECK_STATUS(qv_node_set(w, n, "t", &v), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("99");

  /* Longer than QV_MAX_VALUE_LEN: refused, for strings and bytes, nodes and edges. */
  size_t big = (size_t)QV_MAX_VALUE_LEN + 1;
  uint8_t *buf = malloc(big);
  CHECK(buf != NULL);
  if (buf) {
    memset(buf, 'a', big);
    for (int i = 0; i < 2; i++) {
      memset(&v, 0, sizeof v);
      v.type = kinds[i];
      v.as.bytes.ptr = buf;
      v.as.bytes.len = big;
      CHECK_STATUS(qv_node_set(w, n, "big", &v), QV_INVALID_ARGUMENT);
      CHECK_ERR_HAS("16777216");
      CHECK_STATUS(qv_edge_set(w, e, "big", &v), QV_INVALID_ARGUMENT);
      CHECK_STATUS(qv_node_set(r, n, "big", &v), QV_INVALID_ARGUMENT);
      CHECK_STATUS(qv_node_set(w, 9999, "big", &v), QV_INVALID_ARGUMENT);
      v.as.bytes.len = SIZE_MAX;
      CHECK_STATUS(qv_node_set(w, n, "big", &v), QV_INVALID_ARGUMENT);
    }
    /* Exactly QV_MAX_VALUE_LEN is accepted. */
    memset(&v, 0, sizeof v);
    v.type = QV_TYPE_BYTES;
    buf[0] = 1;
    buf[QV_MAX_VALUE_LEN - 1] = 2;
    v.as.bytes.ptr = buf;
    v.as.bytes.len = QV_MAX_VALUE_LEN;
    CHECK_OK(qv_node_set(w, m, "max", &v));
    CHECK_OK(qv_node_get(w, m, "max", &out));
    CHECK(out.type == QV_TYPE_BYTES && out.as.bytes.len == QV_MAX_VALUE_LEN);
    CHECK(out.as.bytes.len == QV_MAX_VALUE_LEN && out.as.bytes.ptr[0] == 1 &&
          out.as.bytes.ptr[QV_MAX_VALUE_LEN - 1] == 2 &&
          out.as.bytes.ptr[QV_MAX_VALUE_LEN / 2] == 'a');
    CHECK_OK(qv_node_unset(w, m, "max"));
    free(buf);
  }
  CHECK_STATUS(qv_node_get(w, n, "big", &out), QV_NOT_FOUND);
  CHECK_STATUS(qv_node_get(w, n, "s", &out), QV_NOT_FOUND);
  CHECK_STATUS(qv_node_get(w, n, "t", &out), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_get_prop(w, e, "big", &out), QV_NOT_FOUND);
  qv_txn_rollback(r);
  CHECK_OK(qv_txn_commit(w));
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

void test_err_check_order(void) {
  SETUP("order");
  const qv_node_id missing = 9999;
  qv_txn *w = NULL, *r = NULL;
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  qv_value v = qvt_int(1), out;
  qv_value bad;
  memset(&bad, 0, sizeof bad);
  bad.type = (qv_type)42;
  qv_node_id id;
  qv_edge_id eid;

  /* node insert: INVALID, then READ_ONLY. */
  CHECK_STATUS(qv_node_insert(r, "", &id), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert(r, "L", &id), QV_READ_ONLY);
  CHECK_ERR_HAS("read-only");

  /* node delete: INVALID (flags), READ_ONLY, NOT_FOUND, CONSTRAINT. */
  CHECK_STATUS(qv_node_delete(r, missing, 2), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_delete(r, missing, 0), QV_READ_ONLY);
  CHECK_STATUS(qv_node_delete(r, n, 0), QV_READ_ONLY);
  CHECK_STATUS(qv_node_delete(w, missing, 2), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_delete(w, n, 2), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_delete(w, missing, 0), QV_NOT_FOUND);
  CHECK_STATUS(qv_node_delete(w, n, 0), QV_CONSTRAINT);

  /* edge insert. */
  CHECK_STATUS(qv_edge_insert(r, missing, missing, "", &eid), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_insert(r, missing, missing, "T", &eid), QV_READ_ONLY);
  CHECK_STATUS(qv_edge_insert(w, missing, missing, "\xff", &eid), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_insert(w, missing, n, "T", &eid), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_insert(w, n, missing, "T", &eid), QV_NOT_FOUND);

  /* edge delete. */
  CHECK_STATUS(qv_edge_delete(r, missing), QV_READ_ONLY);
  CHECK_STATUS(qv_edge_delete(r, e), QV_READ_ONLY);
  CHECK_STATUS(qv_edge_delete(w, missing), QV_NOT_FOUND);

  /* property writes. */
  CHECK_STATUS(qv_node_set(r, missing, "", &v), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_set(r, missing, "k", &bad), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_set(r, missing, "k", &v), QV_READ_ONLY);
  CHECK_STATUS(qv_node_set(w, missing, "k", &bad), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_set(w, missing, "k", &v), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_set(r, missing, "", &v), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_set(r, missing, "k", &bad), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_set(r, missing, "k", &v), QV_READ_ONLY);
  CHECK_STATUS(qv_edge_set(w, missing, "k", &bad), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_set(w, missing, "k", &v), QV_NOT_FOUND);
  CHECK_STATUS(qv_node_unset(r, missing, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_unset(r, missing, "k"), QV_READ_ONLY);
  CHECK_STATUS(qv_node_unset(r, n, "never-set"), QV_READ_ONLY);
  CHECK_STATUS(qv_node_unset(w, missing, "\xff"), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_unset(w, missing, "k"), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_unset(r, missing, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_unset(r, missing, "k"), QV_READ_ONLY);
  CHECK_STATUS(qv_edge_unset(w, missing, "\xff"), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_unset(w, missing, "k"), QV_NOT_FOUND);

  /* savepoints. */
  CHECK_STATUS(qv_savepoint(r, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_savepoint(r, "s"), QV_READ_ONLY);
  CHECK_STATUS(qv_rollback_to(r, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(r, "unknown"), QV_READ_ONLY);
  CHECK_STATUS(qv_release(r, "\xff"), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_release(r, "unknown"), QV_READ_ONLY);
  CHECK_STATUS(qv_rollback_to(w, "\xff"), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_rollback_to(w, "unknown"), QV_NOT_FOUND);
  CHECK_STATUS(qv_release(w, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_release(w, "unknown"), QV_NOT_FOUND);

  /* reads: INVALID before NOT_FOUND. */
  qv_txn *both[2] = {w, r};
  for (int i = 0; i < 2; i++) {
    qv_txn *t = both[i];
    qv_cursor *c = GARBAGE;
    uint64_t d = GARBAGE_ID;
    CHECK_STATUS(qv_edges(t, missing, (qv_dir)0, NULL, &c), QV_INVALID_ARGUMENT);
    CHECK(c == NULL);
    CHECK_STATUS(qv_edges(t, missing, QV_OUT, "", &c), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edges(t, missing, QV_OUT, "T", &c), QV_NOT_FOUND);
    CHECK(c == NULL);
    CHECK_STATUS(qv_degree(t, missing, (qv_dir)4, NULL, &d), QV_INVALID_ARGUMENT);
    CHECK(d == 0);
    CHECK_STATUS(qv_degree(t, missing, QV_IN, "\xff", &d), QV_INVALID_ARGUMENT);
    d = GARBAGE_ID;
    CHECK_STATUS(qv_degree(t, missing, QV_IN, NULL, &d), QV_NOT_FOUND);
    CHECK(d == 0);
    memset(&out, 0x5A, sizeof out);
    CHECK_STATUS(qv_node_get(t, missing, "", &out), QV_INVALID_ARGUMENT);
    CHECK(value_is_cleared(&out));
    CHECK_STATUS(qv_node_get(t, missing, "k", &out), QV_NOT_FOUND);
    CHECK_STATUS(qv_edge_get_prop(t, missing, "\xff", &out), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_edge_get_prop(t, missing, "k", &out), QV_NOT_FOUND);
  }

  /* Nothing of that had an effect; both transactions are usable. */
  CHECK(qvt_count_nodes(w, NULL) == 2);
  CHECK(qvt_count_edges(w, n, QV_OUT, NULL) == 1);
  CHECK_OK(qv_node_insert(w, "After", &id));
  CHECK(qvt_count_nodes(r, NULL) == 2);
  qv_txn_rollback(r);
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(qvt_count_nodes(r, NULL) == 3);
  CHECK(qvt_count_edges(r, n, QV_BOTH, NULL) == 1);
  CHECK_STATUS(qv_node_get(r, n, "k", &out), QV_NOT_FOUND);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

void test_err_unknown_flags_and_dirs(void) {
  SETUP("flags");
  qv_txn *t;
  static const unsigned txn_flags[] = {2, 3, 4, 0x80000000u, 0xffffffffu};
  for (size_t i = 0; i < sizeof txn_flags / sizeof txn_flags[0]; i++) {
    t = GARBAGE;
    CHECK_STATUS(qv_txn_begin(db, txn_flags[i], &t), QV_INVALID_ARGUMENT);
    CHECK(t == NULL);
  }
  CHECK_ERR_HAS("flags");
  /* Nothing was left open. */
  qv_db_stats st = qvt_stats(db);
  CHECK(st.readers == 0);

  qv_txn *w = qvt_begin(db, 0);
  static const unsigned del_flags[] = {2, 3, 0x100, 0xffffffffu};
  for (size_t i = 0; i < sizeof del_flags / sizeof del_flags[0]; i++) {
    CHECK_STATUS(qv_node_delete(w, n, del_flags[i]), QV_INVALID_ARGUMENT);
    CHECK_STATUS(qv_node_delete(w, 9999, del_flags[i]), QV_INVALID_ARGUMENT);
  }
  const char *l;
  CHECK_OK(qv_node_label(w, n, &l)); /* still there, with its edge */
  CHECK(qvt_count_edges(w, n, QV_OUT, NULL) == 1);

  static const unsigned dirs[] = {0, 4, 5, 7, 100, 0xffffffffu};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    qv_cursor *c = GARBAGE;
    CHECK_STATUS(qv_edges(w, n, (qv_dir)dirs[i], NULL, &c), QV_INVALID_ARGUMENT);
    CHECK(c == NULL);
    uint64_t d = GARBAGE_ID;
    CHECK_STATUS(qv_degree(w, n, (qv_dir)dirs[i], NULL, &d), QV_INVALID_ARGUMENT);
    CHECK(d == 0);
    d = GARBAGE_ID;
    CHECK_STATUS(qv_degree(w, n, (qv_dir)dirs[i], "E", &d), QV_INVALID_ARGUMENT);
    CHECK(d == 0);
  }
  CHECK_ERR_HAS("direction");
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.nodes == 2 && st.edges == 1);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

void test_err_not_found(void) {
  SETUP("notfound");
  qv_txn *w = NULL;
  /* A committed-then-deleted node and edge. */
  qv_node_id dn = 0;
  qv_edge_id de = 0;
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_insert(w, "Gone", &dn));
  CHECK_OK(qv_edge_insert(w, n, m, "Gone", &de));
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_delete(w, dn, 0));
  CHECK_OK(qv_edge_delete(w, de));
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, 0, &w));
  /* A node and an edge deleted in this very transaction. */
  qv_node_id tn = 0;
  qv_edge_id te = 0;
  CHECK_OK(qv_node_insert(w, "Tmp", &tn));
  CHECK_OK(qv_edge_insert(w, tn, tn, "Tmp", &te));
  CHECK_OK(qv_edge_delete(w, te));
  CHECK_OK(qv_node_delete(w, tn, 0));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  const qv_node_id nodes[] = {0, dn, tn, 9999, UINT64_MAX};
  const qv_edge_id edges[] = {0, de, te, 9999, UINT64_MAX};
  qv_value v = qvt_int(3), out;
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    qv_node_id x = nodes[i];
    qv_edge_id y = edges[i];
    printf("# missing node %llu, edge %llu\n", (unsigned long long)x, (unsigned long long)y);
    /* Writes, in the write transaction. */
    CHECK_STATUS(qv_node_delete(w, x, 0), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_delete(w, x, QV_DETACH), QV_NOT_FOUND);
    qv_edge_id eid = GARBAGE_ID;
    CHECK_STATUS(qv_edge_insert(w, x, n, "T", &eid), QV_NOT_FOUND);
    CHECK(eid == 0);
    eid = GARBAGE_ID;
    CHECK_STATUS(qv_edge_insert(w, n, x, "T", &eid), QV_NOT_FOUND);
    CHECK(eid == 0);
    CHECK_STATUS(qv_edge_insert(w, x, x, "T", &eid), QV_NOT_FOUND);
    CHECK_STATUS(qv_edge_delete(w, y), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_set(w, x, "k", &v), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_unset(w, x, "k"), QV_NOT_FOUND);
    CHECK_STATUS(qv_edge_set(w, y, "k", &v), QV_NOT_FOUND);
    CHECK_STATUS(qv_edge_unset(w, y, "k"), QV_NOT_FOUND);
    /* Reads, in both transactions (tn/te never existed for r). */
    qv_txn *both[2] = {w, r};
    for (int j = 0; j < 2; j++) {
      qv_txn *t = both[j];
      const char *l = GARBAGE;
      CHECK_STATUS(qv_node_label(t, x, &l), QV_NOT_FOUND);
      CHECK(l == NULL);
      qv_edge ed;
      memset(&ed, 0x5A, sizeof ed);
      CHECK_STATUS(qv_edge_get(t, y, &ed), QV_NOT_FOUND);
      CHECK(edge_is_cleared(&ed));
      memset(&out, 0x5A, sizeof out);
      CHECK_STATUS(qv_node_get(t, x, "k", &out), QV_NOT_FOUND);
      CHECK(value_is_cleared(&out));
      memset(&out, 0x5A, sizeof out);
      CHECK_STATUS(qv_edge_get_prop(t, y, "k", &out), QV_NOT_FOUND);
      CHECK(value_is_cleared(&out));
      qv_cursor *c = GARBAGE;
      CHECK_STATUS(qv_edges(t, x, QV_BOTH, NULL, &c), QV_NOT_FOUND);
      CHECK(c == NULL);
      c = GARBAGE;
      CHECK_STATUS(qv_edges(t, x, QV_OUT, "E", &c), QV_NOT_FOUND);
      CHECK(c == NULL);
      uint64_t d = GARBAGE_ID;
      CHECK_STATUS(qv_degree(t, x, QV_BOTH, NULL, &d), QV_NOT_FOUND);
      CHECK(d == 0);
    }
  }
  qv_txn_rollback(r);

  /* Keys: an unset key is QV_NOT_FOUND; unsetting it is QV_OK (even a never-seen key). */
  qv_value out2;
  CHECK_STATUS(qv_node_get(w, n, "never-set", &out2), QV_NOT_FOUND);
  CHECK_ERR_HAS("never-set");
  CHECK_STATUS(qv_edge_get_prop(w, e, "never-set", &out2), QV_NOT_FOUND);
  CHECK_OK(qv_node_unset(w, n, "never-set"));
  CHECK_OK(qv_node_unset(w, n, "a-key-never-interned"));
  CHECK_OK(qv_edge_unset(w, e, "never-set"));
  CHECK_OK(qv_node_set(w, n, "k", &v));
  CHECK_OK(qv_node_unset(w, n, "k"));
  CHECK_STATUS(qv_node_get(w, n, "k", &out2), QV_NOT_FOUND);
  CHECK_OK(qv_node_unset(w, n, "k")); /* again */
  /* A key set on another record is unset on this one. */
  CHECK_OK(qv_node_set(w, m, "only-m", &v));
  CHECK_STATUS(qv_node_get(w, n, "only-m", &out2), QV_NOT_FOUND);
  CHECK_OK(qv_node_unset(w, n, "only-m"));
  CHECK_OK(qv_node_get(w, m, "only-m", &out2));
  /* Node and edge messages say which. */
  CHECK_STATUS(qv_node_get(w, 4242, "k", &out2), QV_NOT_FOUND);
  CHECK_ERR_HAS("4242");
  CHECK_STATUS(qv_edge_get(w, 5151, &(qv_edge){0}), QV_NOT_FOUND);
  CHECK_ERR_HAS("5151");
  CHECK_OK(qv_txn_commit(w));

  /* A never-stored label or type is an empty cursor, not an error. */
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(qvt_count_nodes(r, "NeverStored") == 0);
  CHECK(qvt_count_edges(r, n, QV_BOTH, "NeverStored") == 0);
  CHECK_DEGREE(r, n, QV_BOTH, "NeverStored", 0);
  CHECK(qvt_count_nodes(r, "Gone") == 0); /* stored, but its node is gone */
  CHECK_OK(qv_node_get(r, m, "only-m", &out2));
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

struct thread_err {
  qv_status first_status;
  char first_msg[256];
  size_t first_len;
  qv_status fail_status;
  char after_msg[256];
  qv_status after_status;
};

static void *fresh_thread(void *arg) {
  struct thread_err *te = arg;
  te->first_msg[0] = 'X';
  te->first_len = GARBAGE_ID;
  te->first_status = qv_last_error(te->first_msg, sizeof te->first_msg, &te->first_len);
  te->fail_status = qv_txn_commit(NULL);
  size_t len = 0;
  te->after_status = qv_last_error(te->after_msg, sizeof te->after_msg, &len);
  return NULL;
}

void test_err_last_error(void) {
  SETUP("lasterr");
  qv_txn *w = qvt_begin(db, 0);
  const char *l;
  CHECK_STATUS(qv_node_label(w, 123456789, &l), QV_NOT_FOUND);
  char full[512];
  size_t len = GARBAGE_ID;
  CHECK_OK(qv_last_error(full, sizeof full, &len));
  CHECK(len == strlen(full));
  CHECK(qvt_contains(full, "123456789"));
  CHECK(len > 8);
  printf("# message: %s\n", full);

  /* Successful calls do not clear it. */
  qv_node_id x;
  CHECK_OK(qv_node_insert(w, "OK", &x));
  qv_db_stats st;
  CHECK_OK(qv_stats(db, &st));
  (void)qv_status_str(QV_OK);
  (void)qv_version();
  CHECK(strcmp(qvt_errmsg(), full) == 0);

  /* Truncation. */
  char buf[512];
  size_t got = GARBAGE_ID;
  memset(buf, 'Z', sizeof buf);
  CHECK_STATUS(qv_last_error(buf, 1, &got), QV_BUFFER_TOO_SMALL);
  CHECK(got == len && buf[0] == 0 && buf[1] == 'Z');
  memset(buf, 'Z', sizeof buf);
  got = GARBAGE_ID;
  CHECK_STATUS(qv_last_error(buf, 5, &got), QV_BUFFER_TOO_SMALL);
  CHECK(got == len && memcmp(buf, full, 4) == 0 && buf[4] == 0 && buf[5] == 'Z');
  memset(buf, 'Z', sizeof buf);
  got = GARBAGE_ID;
  CHECK_STATUS(qv_last_error(buf, len, &got), QV_BUFFER_TOO_SMALL);
  CHECK(got == len && strlen(buf) == len - 1 && memcmp(buf, full, len - 1) == 0);
  memset(buf, 'Z', sizeof buf);
  got = GARBAGE_ID;
  CHECK_OK(qv_last_error(buf, len + 1, &got));
  CHECK(got == len && strcmp(buf, full) == 0);
  memset(buf, 'Z', sizeof buf);
  got = GARBAGE_ID;
  CHECK_STATUS(qv_last_error(buf, 0, &got), QV_BUFFER_TOO_SMALL);
  CHECK(got == len && buf[0] == 'Z'); /* cap 0: nothing written */
  got = GARBAGE_ID;
  CHECK_STATUS(qv_last_error(NULL, 0, &got), QV_BUFFER_TOO_SMALL);
  CHECK(got == len);
  /* Reading it changed nothing. */
  CHECK(strcmp(qvt_errmsg(), full) == 0);

  /* Messages say what failed. */
  CHECK_STATUS(qv_node_insert(w, "\xff", &x), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("label");
  CHECK_STATUS(qv_edge_insert(w, n, m, "", &x), QV_INVALID_ARGUMENT);
  CHECK_ERR_HAS("type");
  CHECK_STATUS(qv_node_delete(w, n, 0), QV_CONSTRAINT);
  CHECK_ERR_HAS("node 1");
  CHECK_STATUS(qv_rollback_to(w, "sp-unknown"), QV_NOT_FOUND);
  CHECK_ERR_HAS("sp-unknown");
  CHECK_STATUS(qv_edge_delete(w, 8675309), QV_NOT_FOUND);
  CHECK_ERR_HAS("8675309");
  qv_value out;
  CHECK_STATUS(qv_edge_get_prop(w, e, "nokey", &out), QV_NOT_FOUND);
  CHECK_ERR_HAS("nokey");
  CHECK_OK(qv_txn_commit(w));
  const char *missing = qvt_tmpdir("lasterr-missing");
  qv_options o;
  qv_options_init(&o);
  o.flags = 0;
  qv_db *db2 = NULL;
  CHECK_STATUS(qv_open(missing, &o, &db2), QV_NOT_FOUND);
  CHECK(qvt_contains(qvt_errmsg(), missing));

  /* Per thread: a new thread starts with "" and QV_OK, and its failures stay its own. */
  char before[512];
  snprintf(before, sizeof before, "%s", qvt_errmsg());
  struct thread_err te;
  memset(&te, 0, sizeof te);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, fresh_thread, &te) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(te.first_status == QV_OK);
  CHECK(te.first_msg[0] == 0);
  CHECK(te.first_len == 0);
  CHECK(te.fail_status == QV_NULL_ARGUMENT);
  CHECK(te.after_status == QV_OK);
  CHECK(qvt_contains(te.after_msg, "txn"));
  CHECK(strcmp(qvt_errmsg(), before) == 0); /* this thread's message is unchanged */
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

static long file_read_all(const char *path, uint8_t **out) {
  FILE *f = fopen(path, "rb");
  *out = NULL;
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc(n > 0 ? (size_t)n : 1);
  if (n > 0 && fread(*out, 1, (size_t)n, f) != (size_t)n) n = -1;
  fclose(f);
  return n;
}

static int file_write_at(const char *path, long off, const void *buf, size_t n) {
  FILE *f = fopen(path, "r+b");
  if (!f) return 0;
  int ok = fseek(f, off, SEEK_SET) == 0 && fwrite(buf, 1, n, f) == n;
  return fclose(f) == 0 && ok;
}

/* Damaged files: a property blob that fails its check (qv_check reports it), no valid
 * meta slot (QV_CORRUPT at open), a meta slot of another format version (QV_FORMAT). The
 * layouts used here are the ones ARCHITECTURE.md documents. */
void test_err_damaged_files(void) {
  const char *path = qvt_tmpdir("damaged");
  char file[512];
  qv_db *db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  qv_txn *w = NULL;
  qv_node_id n = 0, m = 0;
  qv_edge_id e = 0;
  const char *marker = "CORRUPT-ME-MARKER-0123456789";
  qv_value v = qvt_str(marker);
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_insert(w, "N", &n));
  CHECK_OK(qv_node_insert(w, "M", &m));
  CHECK_OK(qv_edge_insert(w, n, m, "E", &e));
  CHECK_OK(qv_node_set(w, n, "s", &v));
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_close(db));

  /* Flip a byte inside the property blob. */
  snprintf(file, sizeof file, "%s/props", path);
  uint8_t *bytes = NULL;
  long len = file_read_all(file, &bytes);
  CHECK(len > 0);
  long at = -1;
  size_t ml = strlen(marker);
  for (long i = 0; bytes && i + (long)ml <= len; i++)
    if (memcmp(bytes + i, marker, ml) == 0) at = i;
  free(bytes);
  CHECK(at >= 0);
  if (at >= 0) CHECK(file_write_at(file, at + 3, "X", 1));
  db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  if (db) {
    qv_check_report rep;
    memset(&rep, 0x5A, sizeof rep);
    CHECK_STATUS(qv_check(db, &rep), QV_CORRUPT);
    CHECK(rep.problems >= 1);
    CHECK(memchr(rep.first_problem, 0, sizeof rep.first_problem) != NULL);
    CHECK(rep.first_problem[0] != 0);
    CHECK(qvt_contains(rep.first_problem, "node 1"));
    printf("# first problem: %s\n", rep.first_problem);
    CHECK_ERR_HAS("problem");
    CHECK(qvt_contains(qvt_errmsg(), rep.first_problem)); /* qv_last_error has it too */
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    qv_value out;
    memset(&out, 0x5A, sizeof out);
    CHECK_STATUS(qv_node_get(r, n, "s", &out), QV_CORRUPT);
    CHECK(out.type == QV_TYPE_NULL && out.as.bytes.ptr == NULL);
    CHECK_ERR_HAS("props");
    /* Records without the damaged blob still read fine. */
    const char *l = NULL;
    CHECK_OK(qv_node_label(r, m, &l));
    CHECK(l && strcmp(l, "M") == 0);
    qv_txn_rollback(r);
    CHECK_OK(qv_close(db));
  }

  /* The meta slots: keep a copy, then find the valid ones. */
  snprintf(file, sizeof file, "%s/meta", path);
  len = file_read_all(file, &bytes);
  CHECK(len >= 4096 + 108);
  if (bytes && len >= 4096 + 108) {
    /* A format version this library does not know, with a correct checksum. */
    int patched = 0;
    for (long off = 0; off <= 4096; off += 4096) {
      uint8_t slot[108];
      memcpy(slot, bytes + off, sizeof slot);
      if (memcmp(slot, "QUIVERDB", 8) != 0) continue;
      slot[8] = 99; /* a future version */
      slot[9] = slot[10] = slot[11] = 0;
      uint32_t crc = crc32_ieee(slot, 104);
      for (int i = 0; i < 4; i++) slot[104 + i] = (uint8_t)(crc >> (8 * i));
      patched += file_write_at(file, off, slot, sizeof slot);
    }
    CHECK(patched >= 1);
    db = GARBAGE;
    CHECK_STATUS(qvt_open(path, QV_SYNC_NORMAL, 0, &db), QV_FORMAT);
    CHECK(db == NULL);
    CHECK_ERR_HAS("version");
    CHECK_OPEN_FAILS(path, QV_OPEN_READ_ONLY, QV_FORMAT);

    /* No valid slot at all. */
    uint8_t zero[108];
    memset(zero, 0, sizeof zero);
    CHECK(file_write_at(file, 0, zero, sizeof zero) && file_write_at(file, 4096, zero, sizeof zero));
    db = GARBAGE;
    CHECK_STATUS(qvt_open(path, QV_SYNC_NORMAL, 0, &db), QV_CORRUPT);
    CHECK(db == NULL);
    CHECK_ERR_HAS("meta");
    CHECK_OPEN_FAILS(path, QV_OPEN_READ_ONLY, QV_CORRUPT);

    /* Restored, it opens again (the failed opens changed nothing and released the lock). */
    CHECK(file_write_at(file, 0, bytes, (size_t)len));
    db = NULL;
    CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
    if (db) {
      qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
      CHECK(qvt_count_nodes(r, NULL) == 2);
      qv_txn_rollback(r);
      CHECK_OK(qv_close(db));
    }
  }
  free(bytes);
  qvt_rmtree(path);
}
