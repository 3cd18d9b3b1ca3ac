/* The API as a whole: version, status names, options, open/close, stats, recovery
 * report, check, checkpoint, graph basics, rollback, snapshots, read-only databases. */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GARBAGE ((void *)(uintptr_t)0xdeadbeefu)

static int path_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

void test_api_version(void) {
  const char *v = qv_version();
  CHECK(v != NULL);
  CHECK(v != NULL && strcmp(v, QV_VERSION_STRING) == 0);
  char buf[64];
  snprintf(buf, sizeof buf, "%d.%d.%d", QV_VERSION_MAJOR, QV_VERSION_MINOR, QV_VERSION_PATCH);
  CHECK(strcmp(buf, QV_VERSION_STRING) == 0);
  CHECK(qv_version() == v); /* static */
}

void test_api_status_str(void) {
  static const struct {
    qv_status s;
    const char *name;
  } all[] = {
      {QV_OK, "QV_OK"},
      {QV_DONE, "QV_DONE"},
      {QV_NOT_FOUND, "QV_NOT_FOUND"},
      {QV_NULL_ARGUMENT, "QV_NULL_ARGUMENT"},
      {QV_INVALID_ARGUMENT, "QV_INVALID_ARGUMENT"},
      {QV_MISUSE, "QV_MISUSE"},
      {QV_BUFFER_TOO_SMALL, "QV_BUFFER_TOO_SMALL"},
      {QV_BUSY, "QV_BUSY"},
      {QV_LOCKED, "QV_LOCKED"},
      {QV_READ_ONLY, "QV_READ_ONLY"},
      {QV_CONSTRAINT, "QV_CONSTRAINT"},
      {QV_INTERRUPTED, "QV_INTERRUPTED"},
      {QV_IO, "QV_IO"},
      {QV_FULL, "QV_FULL"},
      {QV_CORRUPT, "QV_CORRUPT"},
      {QV_FORMAT, "QV_FORMAT"},
      {QV_POISONED, "QV_POISONED"},
      {QV_INTERNAL, "QV_INTERNAL"},
  };
  /* The numbers are part of the ABI. */
  CHECK(QV_OK == 0 && QV_DONE == 1 && QV_NOT_FOUND == 2);
  CHECK(QV_NULL_ARGUMENT == 10 && QV_INVALID_ARGUMENT == 11 && QV_MISUSE == 12 &&
        QV_BUFFER_TOO_SMALL == 13);
  CHECK(QV_BUSY == 20 && QV_LOCKED == 21 && QV_READ_ONLY == 22 && QV_CONSTRAINT == 23 &&
        QV_INTERRUPTED == 24);
  CHECK(QV_IO == 30 && QV_FULL == 31 && QV_CORRUPT == 32 && QV_FORMAT == 33);
  CHECK(QV_POISONED == 40 && QV_INTERNAL == 41);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *n = qv_status_str(all[i].s);
    if (!CHECK(n != NULL && strcmp(n, all[i].name) == 0))
      printf("#   status %d gave %s, want %s\n", (int)all[i].s, n ? n : "(null)", all[i].name);
  }
  static const unsigned unknown[] = {3, 9, 14, 19, 25, 29, 34, 39, 42, 100, 999, 0x7fffffffu,
                                     0xffffffffu};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    const char *n = qv_status_str((qv_status)unknown[i]);
    if (!CHECK(n != NULL && strcmp(n, "QV_UNKNOWN") == 0))
      printf("#   status %u gave %s\n", unknown[i], n ? n : "(null)");
  }
}

void test_api_options_init(void) {
  qv_options o;
  memset(&o, 0xAB, sizeof o);
  qv_options_init(&o);
  CHECK(o.struct_size == sizeof(qv_options));
  CHECK(o.flags == QV_OPEN_CREATE);
  CHECK(o.sync == QV_SYNC_FULL);
  CHECK(o.busy_timeout_ms == 5000);
  CHECK(o.checkpoint_bytes == 0);
  qv_options_init(NULL); /* does nothing */
  CHECK(1);
  CHECK(QV_OPEN_CREATE == 1 && QV_OPEN_READ_ONLY == 2 && QV_TXN_READ_ONLY == 1 && QV_DETACH == 1);
  CHECK(QV_SYNC_FULL == 0 && QV_SYNC_NORMAL == 1 && QV_SYNC_OFF == 2);
  CHECK(QV_OUT == 1 && QV_IN == 2 && QV_BOTH == 3);
  CHECK(QV_TYPE_NULL == 0 && QV_TYPE_BOOL == 1 && QV_TYPE_INT == 2 && QV_TYPE_FLOAT == 3 &&
        QV_TYPE_STRING == 4 && QV_TYPE_BYTES == 5);
  CHECK(QV_MAX_IDENT_LEN == 1024 && QV_MAX_VALUE_LEN == 16777216);
}

void test_api_open_errors(void) {
  const char *path = qvt_tmpdir("openerr");
  qv_options o;
  qv_db *db;

  /* A missing database without QV_OPEN_CREATE: QV_NOT_FOUND, nothing created; then an
   * empty existing directory, which is no database either. */
  static const uint32_t no_create[] = {0, QV_OPEN_READ_ONLY, QV_OPEN_READ_ONLY | QV_OPEN_CREATE};
  for (int dir_exists = 0; dir_exists < 2; dir_exists++) {
    for (size_t i = 0; i < sizeof no_create / sizeof no_create[0]; i++) {
      CHECK_OPEN_FAILS(path, no_create[i], QV_NOT_FOUND);
      if (!dir_exists) CHECK(!path_exists(path));
      if (!dir_exists && i == 0) CHECK(qvt_contains(qvt_errmsg(), path));
    }
    if (!dir_exists) CHECK(mkdir(path, 0755) == 0);
  }
  qvt_rmtree(path);

  /* Bad options: QV_INVALID_ARGUMENT, nothing created. */
  qv_options bad[5];
  for (size_t i = 0; i < 5; i++) qv_options_init(&bad[i]);
  bad[0].struct_size = 0;
  bad[1].struct_size = 4;
  bad[2].flags |= 8; /* the first unknown bit */
  bad[3].flags = 0x80000000u | QV_OPEN_CREATE;
  bad[4].sync = (qv_sync)3;
  static const char *const named[5] = {"struct_size", NULL, "flags", NULL, NULL};
  for (size_t i = 0; i < 5; i++) {
    db = GARBAGE;
    CHECK_STATUS(qv_open(path, &bad[i], &db), QV_INVALID_ARGUMENT);
    CHECK(db == NULL);
    CHECK(!path_exists(path));
    if (named[i]) CHECK(qvt_contains(qvt_errmsg(), named[i]));
  }

  qv_options_init(&o);
  db = GARBAGE;
  CHECK_STATUS(qv_open("", &o, &db), QV_INVALID_ARGUMENT);
  CHECK(db == NULL);

  /* A struct from a newer caller (longer than ours) works: the known prefix is read. */
  struct {
    qv_options o;
    uint64_t future[4];
  } newer;
  memset(&newer, 0, sizeof newer);
  qv_options_init(&newer.o);
  newer.o.struct_size = sizeof newer;
  newer.future[0] = 12345;
  db = GARBAGE;
  CHECK_OK(qv_open(path, &newer.o, &db));
  CHECK(db != NULL && db != GARBAGE);
  if (db != GARBAGE) CHECK_OK(qv_close(db));
  qvt_rmtree(path);

  /* A struct from an older caller (shorter than ours, but with the first fields) works. */
  qv_options_init(&o);
  o.struct_size = 16; /* without checkpoint_bytes */
  db = GARBAGE;
  CHECK_OK(qv_open(path, &o, &db));
  CHECK(db != NULL && db != GARBAGE);
  if (db != GARBAGE) CHECK_OK(qv_close(db));
  qvt_rmtree(path);
}

void test_api_null_handles(void) {
  CHECK_STATUS(qv_close(NULL), QV_OK);
  CHECK_STATUS(qv_txn_commit(NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("txn");
  qv_txn_rollback(NULL);
  qv_cursor_free(NULL);
  CHECK(1); /* the no-ops returned */
}

void test_api_open_close_reopen(void) {
  const char *path = qvt_tmpdir("reopen");
  qv_db *db = NULL;
  CHECK_OK(qv_open(path, NULL, &db)); /* NULL options: the defaults (create) */
  CHECK(db != NULL);
  CHECK(path_exists(path));
  qv_recovery_stats rs;
  memset(&rs, 0x5A, sizeof rs);
  CHECK_OK(qv_last_recovery(db, &rs));
  CHECK(rs.txns_replayed == 0 && rs.txns_discarded == 0 && rs.bytes_truncated == 0);

  qv_txn *t = NULL;
  qv_node_id a = 0, b = 0, c = 0;
  qv_edge_id e1 = 0, e2 = 0;
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK_OK(qv_node_insert(t, "A", &a));
  CHECK_OK(qv_node_insert(t, "B", &b));
  CHECK_OK(qv_node_insert(t, "C", &c));
  CHECK(a == 1 && b == 2 && c == 3);
  CHECK_OK(qv_edge_insert(t, a, b, "AB", &e1));
  CHECK_OK(qv_edge_insert(t, b, c, "BC", &e2));
  CHECK(e1 == 1 && e2 == 2);
  qv_value v = qvt_int(77);
  CHECK_OK(qv_node_set(t, b, "n", &v));
  v = qvt_str("edge prop");
  CHECK_OK(qv_edge_set(t, e2, "s", &v));
  CHECK_OK(qv_txn_commit(t));
  CHECK_OK(qv_close(db));

  /* Reopen without QV_OPEN_CREATE: everything is there, nothing to replay. */
  qv_options o;
  qv_options_init(&o);
  o.flags = 0;
  db = NULL;
  CHECK_OK(qv_open(path, &o, &db));
  memset(&rs, 0x5A, sizeof rs);
  CHECK_OK(qv_last_recovery(db, &rs));
  CHECK(rs.txns_replayed == 0);
  CHECK(rs.txns_discarded == 0);
  CHECK(rs.bytes_truncated == 0);
  CHECK(rs.nodes == 0 && rs.edges == 0 && rs.props == 0);

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &t));
  const char *l = NULL;
  CHECK_OK(qv_node_label(t, a, &l));
  CHECK(l != NULL && strcmp(l, "A") == 0);
  CHECK_OK(qv_node_label(t, c, &l));
  CHECK(l != NULL && strcmp(l, "C") == 0);
  qv_edge e;
  CHECK_OK(qv_edge_get(t, e2, &e));
  CHECK(e.id == e2 && e.src == b && e.dst == c && e.type && strcmp(e.type, "BC") == 0);
  qv_value out;
  CHECK_OK(qv_node_get(t, b, "n", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 77);
  CHECK_OK(qv_edge_get_prop(t, e2, "s", &out));
  CHECK(out.type == QV_TYPE_STRING && out.as.bytes.len == 9 &&
        memcmp(out.as.bytes.ptr, "edge prop", 9) == 0);
  CHECK(qvt_count_nodes(t, NULL) == 3);
  qv_txn_rollback(t);

  /* Ids continue after reopen; a committed id is never handed out again. */
  qv_node_id d = 0;
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK_OK(qv_node_insert(t, "D", &d));
  CHECK(d == 4);
  CHECK_OK(qv_txn_commit(t));
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK_OK(qv_node_delete(t, d, 0));
  qv_edge_id e3 = 0;
  CHECK_OK(qv_edge_insert(t, a, c, "AC", &e3));
  CHECK(e3 == 3);
  CHECK_OK(qv_edge_delete(t, e3));
  CHECK_OK(qv_txn_commit(t));
  CHECK_OK(qv_close(db));
  db = NULL;
  CHECK_OK(qv_open(path, &o, &db));
  CHECK_OK(qv_txn_begin(db, 0, &t));
  qv_node_id d2 = 0;
  qv_edge_id e4 = 0;
  CHECK_OK(qv_node_insert(t, "D", &d2));
  CHECK(d2 == 5);
  CHECK_OK(qv_edge_insert(t, a, c, "AC", &e4));
  CHECK(e4 == 4);
  CHECK_OK(qv_txn_commit(t));
  /* The same after a checkpoint, without a reopen. */
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK_OK(qv_node_delete(t, d2, 0));
  CHECK_OK(qv_txn_commit(t));
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK_OK(qv_node_insert(t, "D", &d2));
  CHECK(d2 == 6);
  CHECK_OK(qv_txn_commit(t));
  qv_check_report rep;
  CHECK_OK(qv_check(db, &rep));
  CHECK(rep.problems == 0 && rep.first_problem[0] == 0);
  qvt_finish(db, path);
}

void test_api_stats_check_checkpoint(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("stats", QV_SYNC_FULL, &db);
  qv_db_stats st;
  memset(&st, 0x5A, sizeof st);
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.nodes == 0 && st.edges == 0 && st.readers == 0);
  CHECK(st.data_bytes > 0);
  uint64_t lsn0 = st.last_commit_lsn;

  qv_txn *w = qvt_begin(db, 0);
  qv_node_id n[3];
  qv_edge_id e[2];
  for (int i = 0; i < 3; i++) CHECK_OK(qv_node_insert(w, "N", &n[i]));
  CHECK_OK(qv_edge_insert(w, n[0], n[1], "E", &e[0]));
  CHECK_OK(qv_edge_insert(w, n[0], n[2], "E", &e[1]));
  /* stats count as of the latest commit: not yet. */
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.nodes == 0 && st.edges == 0);
  CHECK(st.readers == 0); /* a write transaction is not a reader */
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.nodes == 3 && st.edges == 2);
  CHECK(st.last_commit_lsn > lsn0);
  CHECK(st.wal_bytes > 0);

  qv_txn *r1 = NULL, *r2 = NULL;
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r1));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.readers == 1);
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r2));
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.readers == 2);
  qv_txn_rollback(w);
  qv_txn_rollback(r1);
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.readers == 1);
  CHECK_OK(qv_txn_commit(r2)); /* committing a read transaction just ends it */
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.readers == 0);

  /* A delete with QV_DETACH: counts follow. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_delete(w, n[0], QV_DETACH));
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.nodes == 2 && st.edges == 0);

  /* Checkpoint: covers the latest commit when no reader holds it back. */
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.checkpoint_lsn == st.last_commit_lsn);
  CHECK(st.nodes == 2 && st.edges == 0);
  CHECK_OK(qv_checkpoint(db)); /* nothing to do is fine */

  /* A reader holds the checkpoint back; it still reads its snapshot. */
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r1));
  CHECK_OK(qv_txn_begin(db, 0, &w));
  qv_node_id extra = 0;
  CHECK_OK(qv_node_insert(w, "X", &extra));
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.checkpoint_lsn < st.last_commit_lsn);
  CHECK(st.nodes == 3 && st.readers == 1);
  CHECK(qvt_count_nodes(r1, NULL) == 2);
  qv_txn_rollback(r1);
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_stats(db, &st));
  CHECK(st.checkpoint_lsn == st.last_commit_lsn);

  qv_check_report rep;
  memset(&rep, 0x5A, sizeof rep);
  CHECK_OK(qv_check(db, &rep));
  CHECK(rep.problems == 0);
  CHECK(rep.first_problem[0] == 0);
  CHECK(rep.nodes_checked >= 3);
  qvt_finish(db, path);
}

void test_api_close_busy(void) {
  QVT_FRESH_WRITE("closebusy", db, path, w);
  CHECK_STATUS(qv_close(db), QV_BUSY);
  CHECK_ERR_HAS("transaction");
  /* The handle and the transaction still work. */
  qv_node_id n = 0;
  CHECK_OK(qv_node_insert(w, "N", &n));
  CHECK_OK(qv_txn_commit(w));
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 1);

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_STATUS(qv_close(db), QV_BUSY);
  CHECK(qvt_count_nodes(r, NULL) == 1);
  qv_txn_rollback(r);

  /* A stale cursor is not an open transaction, and may be freed after close. */
  qv_cursor *c = NULL;
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK_OK(qv_nodes(r, NULL, &c));
  CHECK_OK(qv_txn_commit(r));
  CHECK_OK(qv_close(db));
  qv_node_id id = 99;
  CHECK_STATUS(qv_cursor_next_node(c, &id), QV_MISUSE);
  CHECK(id == 0);
  qv_cursor_free(c);

  /* Committed data survived the BUSY close attempts. */
  db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(qvt_count_nodes(r, "N") == 1);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

void test_api_graph_basics(void) {
  QVT_FRESH_WRITE("graph", db, path, w);
  qv_node_id a, b, c;
  qv_edge_id e1, e2, e3;
  CHECK_OK(qv_node_insert(w, "Person", &a));
  CHECK_OK(qv_node_insert(w, "Person", &b));
  CHECK_OK(qv_node_insert(w, "City", &c));
  CHECK(a == 1 && b == 2 && c == 3);
  const char *la = NULL, *lc = NULL;
  CHECK_OK(qv_node_label(w, a, &la));
  CHECK_OK(qv_node_label(w, c, &lc));
  CHECK(la && strcmp(la, "Person") == 0);
  CHECK(lc && strcmp(lc, "City") == 0);
  CHECK_OK(qv_edge_insert(w, a, b, "KNOWS", &e1));
  CHECK_OK(qv_edge_insert(w, a, c, "LIVES_IN", &e2));
  CHECK_OK(qv_edge_insert(w, b, c, "LIVES_IN", &e3));
  CHECK(e1 == 1 && e2 == 2 && e3 == 3);
  qv_edge e;
  memset(&e, 0x5A, sizeof e);
  CHECK_OK(qv_edge_get(w, e2, &e));
  CHECK(e.id == e2 && e.src == a && e.dst == c && e.type && strcmp(e.type, "LIVES_IN") == 0);
  const char *etype = e.type;
  CHECK_DEGREE(w, a, QV_OUT, NULL, 2);
  CHECK_DEGREE(w, a, QV_IN, NULL, 0);
  CHECK_DEGREE(w, c, QV_IN, NULL, 2);
  CHECK_DEGREE(w, c, QV_IN, "KNOWS", 0);
  CHECK_DEGREE(w, b, QV_BOTH, NULL, 2);
  CHECK_DEGREE(w, a, QV_OUT, "NEVER_STORED", 0);
  /* Two edges between the same nodes are allowed and distinct. */
  qv_edge_id e4 = 0;
  CHECK_OK(qv_edge_insert(w, a, b, "KNOWS", &e4));
  CHECK(e4 == 4);
  CHECK_DEGREE(w, a, QV_OUT, "KNOWS", 2);
  CHECK_OK(qv_edge_delete(w, e4));
  /* Labels and types stay valid until the transaction ends, whatever we write meanwhile. */
  for (int i = 0; i < 50; i++) {
    char lbl[32];
    snprintf(lbl, sizeof lbl, "L%d", i);
    qv_node_id x;
    CHECK_OK(qv_node_insert(w, lbl, &x));
    CHECK_OK(qv_node_delete(w, x, 0));
  }
  CHECK(strcmp(la, "Person") == 0 && strcmp(lc, "City") == 0 && strcmp(etype, "LIVES_IN") == 0);
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_OK(qv_node_label(r, b, &la));
  CHECK(la && strcmp(la, "Person") == 0);
  CHECK_OK(qv_edge_get(r, e1, &e));
  CHECK(e.id == e1 && e.src == a && e.dst == b && strcmp(e.type, "KNOWS") == 0);
  CHECK_STATUS(qv_edge_get(r, e4, &e), QV_NOT_FOUND);
  CHECK(qvt_count_nodes(r, NULL) == 3);
  CHECK(qvt_count_nodes(r, "Person") == 2);
  CHECK(qvt_count_nodes(r, "City") == 1);
  CHECK(qvt_count_nodes(r, "L3") == 0); /* stored as a string, but no live node */
  CHECK(qvt_count_nodes(r, "Nobody") == 0);
  qv_txn_rollback(r);

  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_edge_delete(w, e1));
  CHECK_STATUS(qv_edge_get(w, e1, &e), QV_NOT_FOUND); /* reads its own writes */
  CHECK_STATUS(qv_edge_delete(w, e1), QV_NOT_FOUND);
  CHECK_DEGREE(w, a, QV_OUT, NULL, 1);
  CHECK_STATUS(qv_node_delete(w, a, 0), QV_CONSTRAINT);
  CHECK_ERR_HAS("node 1");
  CHECK_OK(qv_node_label(w, a, &la)); /* nothing changed */
  CHECK_DEGREE(w, a, QV_OUT, NULL, 1);
  CHECK_OK(qv_edge_get(w, e2, &e));
  CHECK_OK(qv_node_delete(w, a, QV_DETACH));
  CHECK_STATUS(qv_node_label(w, a, &la), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_get(w, e2, &e), QV_NOT_FOUND);
  CHECK_DEGREE(w, c, QV_IN, NULL, 1);
  CHECK_STATUS(qv_node_delete(w, a, QV_DETACH), QV_NOT_FOUND);
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(qvt_count_nodes(r, NULL) == 2);
  CHECK_STATUS(qv_node_label(r, a, &la), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_get(r, e2, &e), QV_NOT_FOUND);
  CHECK_OK(qv_edge_get(r, e3, &e));
  qv_txn_rollback(r);
  CHECK_COUNTS(db, 2, 1);
  qvt_finish(db, path);
}

void test_api_rollback_discards(void) {
  QVT_FRESH_WRITE("rollback", db, path, w);
  qv_node_id x = 0, y = 0;
  qv_value v = qvt_int(1);
  CHECK_OK(qv_node_insert(w, "X", &x));
  CHECK_OK(qv_node_set(w, x, "p", &v));
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_insert(w, "Y", &y));
  v = qvt_int(2);
  CHECK_OK(qv_node_set(w, x, "p", &v));
  CHECK_OK(qv_node_set(w, x, "q", &v));
  qv_edge_id e = 0;
  CHECK_OK(qv_edge_insert(w, x, y, "XY", &e));
  qv_txn_rollback(w);

  qv_txn *r = NULL;
  qv_value out;
  for (int round = 0; round < 2; round++) {
    CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
    const char *l;
    CHECK_STATUS(qv_node_label(r, y, &l), QV_NOT_FOUND);
    CHECK_OK(qv_node_get(r, x, "p", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 1);
    CHECK_STATUS(qv_node_get(r, x, "q", &out), QV_NOT_FOUND);
    CHECK_DEGREE(r, x, QV_BOTH, NULL, 0);
    CHECK_STATUS(qv_edge_get(r, e, &(qv_edge){0}), QV_NOT_FOUND);
    CHECK(qvt_count_nodes(r, NULL) == 1);
    qv_txn_rollback(r);
    CHECK_COUNTS(db, 1, 0);
    if (round == 0) qvt_reopen(&db, path, QV_SYNC_NORMAL);
  }
  /* A write transaction with no writes commits fine. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_txn_commit(w));
  qvt_finish(db, path);
}

void test_api_snapshot_isolation(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("snap", QV_SYNC_NORMAL, &db);
  qv_txn *w = NULL, *r1 = NULL, *r2 = NULL;
  qv_node_id a = 0, b = 0;
  qv_value v = qvt_int(1), out;
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_insert(w, "A", &a));
  CHECK_OK(qv_node_set(w, a, "v", &v));
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r1));
  CHECK_OK(qv_txn_begin(db, 0, &w));
  v = qvt_int(2);
  CHECK_OK(qv_node_set(w, a, "v", &v));
  CHECK_OK(qv_node_insert(w, "B", &b));
  qv_edge_id e = 0;
  CHECK_OK(qv_edge_insert(w, a, b, "AB", &e));
  /* Uncommitted writes are invisible to readers. */
  CHECK_OK(qv_node_get(r1, a, "v", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 1);
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_node_get(r1, a, "v", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 1);
  const char *l;
  CHECK_STATUS(qv_node_label(r1, b, &l), QV_NOT_FOUND);
  CHECK(qvt_count_nodes(r1, NULL) == 1);
  CHECK_DEGREE(r1, a, QV_OUT, NULL, 0);

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r2));
  CHECK_OK(qv_node_get(r2, a, "v", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 2);
  CHECK(qvt_count_nodes(r2, NULL) == 2);
  CHECK_DEGREE(r2, a, QV_OUT, NULL, 1);

  /* Checkpoints and later commits change nothing for either reader. */
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_delete(w, b, QV_DETACH));
  v = qvt_int(3);
  CHECK_OK(qv_node_set(w, a, "v", &v));
  CHECK_OK(qv_txn_commit(w));
  CHECK_OK(qv_checkpoint(db));
  CHECK_OK(qv_node_get(r1, a, "v", &out));
  CHECK(out.type == QV_TYPE_INT && out.as.i == 1);
  CHECK(qvt_count_nodes(r1, NULL) == 1);
  CHECK_OK(qv_txn_commit(r1));
  CHECK_OK(qv_checkpoint(db));
  for (int i = 0; i < 2; i++) {
    CHECK_OK(qv_node_get(r2, a, "v", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 2);
    CHECK(qvt_count_nodes(r2, NULL) == 2);
    CHECK_DEGREE(r2, a, QV_OUT, NULL, 1);
    qv_edge ed;
    CHECK_OK(qv_edge_get(r2, e, &ed));
    CHECK(ed.src == a && ed.dst == b && ed.type && strcmp(ed.type, "AB") == 0);
    CHECK_OK(qv_node_label(r2, b, &l));
    CHECK(l && strcmp(l, "B") == 0);
    /* A new reader sees the latest state. */
    qv_txn *r3 = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK_OK(qv_node_get(r3, a, "v", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 3 + i);
    CHECK(qvt_count_nodes(r3, NULL) == 1);
    CHECK_STATUS(qv_edge_get(r3, e, &ed), QV_NOT_FOUND);
    qv_txn_rollback(r3);
    /* One more commit and checkpoint under r2. */
    CHECK_OK(qv_txn_begin(db, 0, &w));
    v = qvt_int(4 + i);
    CHECK_OK(qv_node_set(w, a, "v", &v));
    CHECK_OK(qv_txn_commit(w));
    CHECK_OK(qv_checkpoint(db));
  }
  qv_txn_rollback(r2);
  CHECK_OK(qv_checkpoint(db));
  qv_db_stats st = qvt_stats(db);
  CHECK(st.checkpoint_lsn == st.last_commit_lsn);
  CHECK(st.readers == 0);
  qvt_finish(db, path);
}

void test_api_read_only_open(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("rodb", QV_SYNC_FULL, &db);
  qv_node_id n = qvt_commit_node(db, "Keep");
  qv_txn *t = NULL;
  CHECK_OK(qv_close(db));

  qv_options o;
  for (int variant = 0; variant < 2; variant++) {
    qv_options_init(&o);
    o.flags = variant == 0 ? QV_OPEN_READ_ONLY : (QV_OPEN_READ_ONLY | QV_OPEN_CREATE);
    db = NULL;
    CHECK_OK(qv_open(path, &o, &db));
    t = GARBAGE;
    CHECK_STATUS(qv_txn_begin(db, 0, &t), QV_READ_ONLY);
    CHECK(t == NULL);
    CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &t));
    const char *l = NULL;
    CHECK_OK(qv_node_label(t, n, &l));
    CHECK(l && strcmp(l, "Keep") == 0);
    qv_node_id x = 5;
    CHECK_STATUS(qv_node_insert(t, "No", &x), QV_READ_ONLY);
    CHECK(x == 0);
    CHECK_OK(qv_txn_commit(t));
    CHECK_STATUS(qv_checkpoint(db), QV_READ_ONLY);
    qvt_check_clean(db);
    qv_db_stats st = qvt_stats(db);
    CHECK(st.nodes == 1);
    CHECK_OK(qv_close(db));
  }
  db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_FULL, 0, &db));
  CHECK_OK(qv_txn_begin(db, 0, &t));
  CHECK(qvt_count_nodes(t, NULL) == 1);
  qv_txn_rollback(t);
  qvt_finish(db, path);
}

void test_api_locked_same_process(void) {
  const char *path = qvt_tmpdir("locked");
  qv_db *db = NULL, *db2;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  db2 = GARBAGE;
  CHECK_STATUS(qvt_open(path, QV_SYNC_NORMAL, 0, &db2), QV_LOCKED);
  CHECK(db2 == NULL);
  CHECK(qvt_contains(qvt_errmsg(), path));
  CHECK_OPEN_FAILS(path, QV_OPEN_READ_ONLY, QV_LOCKED);
  CHECK_OPEN_FAILS(path, 0, QV_LOCKED);
  /* The first handle is unaffected. */
  qvt_commit_node(db, "N");
  qv_txn *t = NULL;
  CHECK_OK(qv_close(db));
  db2 = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db2));
  CHECK_OK(qv_txn_begin(db2, QV_TXN_READ_ONLY, &t));
  CHECK(qvt_count_nodes(t, "N") == 1);
  qv_txn_rollback(t);
  CHECK_OK(qv_close(db2));
  qvt_rmtree(path);
}
