/* Savepoints: rollback_to keeps the savepoint, release, repeated names, nesting, unknown
 * names, read transactions, labels interned after a savepoint, commit with savepoints open,
 * a rollback_to over spilled log frames. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static int has_node(qv_txn *t, qv_node_id id) {
  const char *l;
  return qv_node_label(t, id, &l) == QV_OK;
}

static int64_t int_prop(qv_txn *t, qv_node_id id, const char *key) {
  qv_value out;
  if (qv_node_get(t, id, key, &out) != QV_OK || out.type != QV_TYPE_INT) return -999;
  return out.as.i;
}

/* How the rollback tests begin: inserts node *a ("A", with p = 1), takes savepoint "s",
 * inserts node *b ("B"). */
static void a_savepoint_b(qv_txn *w, qv_node_id *a, qv_node_id *b) {
  qv_value one = qvt_int(1);
  CHECK_OK(qv_node_insert(w, "A", a));
  CHECK_OK(qv_node_set(w, *a, "p", &one));
  CHECK_OK(qv_savepoint(w, "s"));
  CHECK_OK(qv_node_insert(w, "B", b));
}

void test_sp_basic(void) {
  QVT_FRESH_WRITE("sp", db, path, w);
  qv_node_id a = 0, b = 0, c = 0;
  a_savepoint_b(w, &a, &b);
  qv_value v = qvt_int(2);
  CHECK_OK(qv_node_set(w, a, "p", &v));
  CHECK_OK(qv_node_set(w, a, "q", &v));
  qv_edge_id e = 0;
  CHECK_OK(qv_edge_insert(w, a, b, "AB", &e));
  CHECK(has_node(w, b) && int_prop(w, a, "p") == 2);

  CHECK_OK(qv_rollback_to(w, "s"));
  CHECK(!has_node(w, b));
  CHECK(has_node(w, a));
  CHECK(int_prop(w, a, "p") == 1);
  qv_value out;
  CHECK_STATUS(qv_node_get(w, a, "q", &out), QV_NOT_FOUND);
  qv_edge ed;
  CHECK_STATUS(qv_edge_get(w, e, &ed), QV_NOT_FOUND);
  CHECK_DEGREE(w, a, QV_BOTH, NULL, 0);
  CHECK(qvt_count_nodes(w, NULL) == 1);

  /* The savepoint stays: roll back to it again. */
  CHECK_OK(qv_node_insert(w, "C", &c));
  v = qvt_int(3);
  CHECK_OK(qv_node_set(w, a, "p", &v));
  CHECK_OK(qv_rollback_to(w, "s"));
  CHECK(!has_node(w, c));
  CHECK(int_prop(w, a, "p") == 1);
  CHECK_OK(qv_rollback_to(w, "s")); /* nothing to undo: fine */

  /* Release removes it; its changes stay. */
  qv_node_id k = 0;
  CHECK_OK(qv_node_insert(w, "Kept", &k));
  CHECK_OK(qv_release(w, "s"));
  CHECK(has_node(w, k));
  CHECK_STATUS(qv_release(w, "s"), QV_NOT_FOUND);
  CHECK_STATUS(qv_rollback_to(w, "s"), QV_NOT_FOUND);
  CHECK_ERR_HAS("savepoint");
  CHECK(has_node(w, k));
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK(has_node(r, a) && has_node(r, k));
  CHECK(qvt_count_nodes(r, NULL) == 2);
  CHECK(int_prop(r, a, "p") == 1);
  CHECK_STATUS(qv_node_get(r, a, "q", &out), QV_NOT_FOUND);
  qv_txn_rollback(r);
  CHECK_COUNTS(db, 2, 0);
  qvt_finish(db, path);
}

void test_sp_repeated_and_nested(void) {
  QVT_FRESH_WRITE("sp2", db, path, w);
  qv_node_id a = 0, b = 0, c = 0, x = 0;

  /* Repeated names: the most recent is meant. */
  CHECK_OK(qv_savepoint(w, "x"));
  CHECK_OK(qv_node_insert(w, "A", &a));
  CHECK_OK(qv_savepoint(w, "x"));
  CHECK_OK(qv_node_insert(w, "B", &b));
  CHECK_OK(qv_rollback_to(w, "x"));
  CHECK(has_node(w, a) && !has_node(w, b));
  CHECK_OK(qv_release(w, "x")); /* the second one */
  CHECK(has_node(w, a));
  CHECK_OK(qv_rollback_to(w, "x")); /* the first one */
  CHECK(!has_node(w, a));
  CHECK_OK(qv_release(w, "x"));
  CHECK_STATUS(qv_release(w, "x"), QV_NOT_FOUND);

  /* Nesting: release removes a savepoint and every later one. */
  CHECK_OK(qv_node_insert(w, "Base", &x));
  CHECK_OK(qv_savepoint(w, "s1"));
  CHECK_OK(qv_node_insert(w, "A", &a));
  CHECK_OK(qv_savepoint(w, "s2"));
  CHECK_OK(qv_node_insert(w, "B", &b));
  CHECK_OK(qv_savepoint(w, "s3"));
  CHECK_OK(qv_node_insert(w, "C", &c));
  CHECK_OK(qv_release(w, "s2"));
  CHECK_STATUS(qv_rollback_to(w, "s3"), QV_NOT_FOUND);
  CHECK_STATUS(qv_rollback_to(w, "s2"), QV_NOT_FOUND);
  CHECK(has_node(w, a) && has_node(w, b) && has_node(w, c));
  /* s1 still undoes everything after it, including the released savepoints' changes. */
  CHECK_OK(qv_rollback_to(w, "s1"));
  CHECK(has_node(w, x) && !has_node(w, a) && !has_node(w, b) && !has_node(w, c));

  /* Savepoints still open at commit are committed with the transaction. */
  qv_node_id y = 0;
  CHECK_OK(qv_savepoint(w, "open-at-commit"));
  CHECK_OK(qv_node_insert(w, "Y", &y));
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK(has_node(r, x) && has_node(r, y));
  CHECK(qvt_count_nodes(r, NULL) == 2);
  qv_txn_rollback(r);
  qvt_reopen(&db, path, QV_SYNC_NORMAL);
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(has_node(r, x) && has_node(r, y));
  CHECK(qvt_count_nodes(r, NULL) == 2);
  qv_txn_rollback(r);
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 2);
  qvt_finish(db, path);
}

void test_sp_edges_and_detach(void) {
  QVT_FRESH_WRITE("sp3", db, path, w);
  qv_node_id hub = 0, n[5];
  qv_edge_id e[5];
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  for (int i = 0; i < 5; i++) {
    CHECK_OK(qv_node_insert(w, "Leaf", &n[i]));
    CHECK_OK(qv_edge_insert(w, hub, n[i], "HAS", &e[i]));
  }
  qv_edge_id loop = 0;
  CHECK_OK(qv_edge_insert(w, hub, hub, "SELF", &loop));
  CHECK_OK(qv_txn_commit(w));

  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_savepoint(w, "before"));
  CHECK_OK(qv_edge_delete(w, e[2]));
  CHECK_OK(qv_node_delete(w, n[4], QV_DETACH));
  CHECK(qvt_count_edges(w, hub, QV_OUT, "HAS") == 3);
  CHECK_OK(qv_node_delete(w, hub, QV_DETACH));
  CHECK(!has_node(w, hub));
  CHECK_OK(qv_rollback_to(w, "before"));
  CHECK(has_node(w, hub) && has_node(w, n[4]));
  CHECK(qvt_count_edges(w, hub, QV_OUT, "HAS") == 5);
  CHECK(qvt_count_edges(w, hub, QV_BOTH, NULL) == 6);
  CHECK_DEGREE(w, hub, QV_BOTH, NULL, 6);
  qv_edge ed;
  CHECK_OK(qv_edge_get(w, e[2], &ed));
  CHECK(ed.src == hub && ed.dst == n[2] && strcmp(ed.type, "HAS") == 0);
  /* Now do part of it for real. */
  CHECK_OK(qv_edge_delete(w, e[0]));
  CHECK_OK(qv_savepoint(w, "mid"));
  CHECK_OK(qv_node_delete(w, n[1], QV_DETACH));
  CHECK_OK(qv_rollback_to(w, "mid"));
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK(qvt_count_edges(r, hub, QV_OUT, NULL) == 5); /* 4 HAS + the self-loop */
  CHECK(qvt_count_edges(r, hub, QV_BOTH, NULL) == 5);
  CHECK(qvt_count_nodes(r, NULL) == 6);
  CHECK(has_node(r, n[1]));
  CHECK_STATUS(qv_edge_get(r, e[0], &ed), QV_NOT_FOUND);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

void test_sp_interned_names(void) {
  QVT_FRESH_WRITE("sp4", db, path, w);
  qv_node_id a = 0, f = 0, o = 0;
  CHECK_OK(qv_node_insert(w, "Old", &a));
  CHECK_OK(qv_savepoint(w, "s"));
  CHECK_OK(qv_node_insert(w, "Fresh", &f));
  qv_edge_id e = 0;
  CHECK_OK(qv_edge_insert(w, a, f, "FRESH_TYPE", &e));
  const char *fl = NULL;
  CHECK_OK(qv_node_label(w, f, &fl));
  qv_edge ed;
  CHECK_OK(qv_edge_get(w, e, &ed));
  const char *ft = ed.type;
  qv_value v = qvt_int(5);
  CHECK_OK(qv_node_set(w, a, "fresh_key", &v));
  CHECK_OK(qv_rollback_to(w, "s"));
  /* Strings returned before the rollback stay valid until the transaction ends. */
  CHECK(fl && strcmp(fl, "Fresh") == 0);
  CHECK(ft && strcmp(ft, "FRESH_TYPE") == 0);
  /* New names after the rollback (they may reuse the string ids). */
  CHECK_OK(qv_node_insert(w, "Other", &o));
  qv_edge_id e2 = 0;
  CHECK_OK(qv_edge_insert(w, a, o, "OTHER_TYPE", &e2));
  const char *ol = NULL;
  CHECK_OK(qv_node_label(w, o, &ol));
  CHECK(ol && strcmp(ol, "Other") == 0);
  CHECK_OK(qv_edge_get(w, e2, &ed));
  CHECK(ed.type && strcmp(ed.type, "OTHER_TYPE") == 0);
  v = qvt_int(6);
  CHECK_OK(qv_node_set(w, a, "other_key", &v));
  qv_value out;
  CHECK_STATUS(qv_node_get(w, a, "fresh_key", &out), QV_NOT_FOUND);
  CHECK(strcmp(fl, "Fresh") == 0 && strcmp(ft, "FRESH_TYPE") == 0);
  CHECK(qvt_count_nodes(w, "Fresh") == 0);
  CHECK(qvt_count_nodes(w, "Other") == 1);
  CHECK(qvt_count_edges(w, a, QV_OUT, "FRESH_TYPE") == 0);
  CHECK(qvt_count_edges(w, a, QV_OUT, "OTHER_TYPE") == 1);
  CHECK_OK(qv_txn_commit(w));

  for (int round = 0; round < 2; round++) {
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK_OK(qv_node_label(r, o, &ol));
    CHECK(ol && strcmp(ol, "Other") == 0);
    CHECK_OK(qv_node_label(r, a, &ol));
    CHECK(ol && strcmp(ol, "Old") == 0);
    CHECK_OK(qv_edge_get(r, e2, &ed));
    CHECK(ed.type && strcmp(ed.type, "OTHER_TYPE") == 0);
    CHECK_OK(qv_node_get(r, a, "other_key", &out));
    CHECK(out.type == QV_TYPE_INT && out.as.i == 6);
    CHECK_STATUS(qv_node_get(r, a, "fresh_key", &out), QV_NOT_FOUND);
    CHECK(qvt_count_nodes(r, "Fresh") == 0);
    CHECK(qvt_count_nodes(r, "Other") == 1);
    qv_txn_rollback(r);
    qvt_check_clean(db);
    if (round == 0) qvt_reopen(&db, path, QV_SYNC_NORMAL);
  }
  qvt_finish(db, path);
}

void test_sp_read_only_and_invalid(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("sp5", QV_SYNC_NORMAL, &db);
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_STATUS(qv_savepoint(r, "s"), QV_READ_ONLY);
  CHECK_STATUS(qv_rollback_to(r, "s"), QV_READ_ONLY);
  CHECK_STATUS(qv_release(r, "s"), QV_READ_ONLY);
  CHECK_STATUS(qv_savepoint(r, ""), QV_INVALID_ARGUMENT);
  qv_txn_rollback(r);

  qv_txn *w = qvt_begin(db, 0);
  CHECK_STATUS(qv_rollback_to(w, "nothing"), QV_NOT_FOUND);
  CHECK_STATUS(qv_release(w, "nothing"), QV_NOT_FOUND);
  CHECK_STATUS(qv_savepoint(w, ""), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_savepoint(w, "\xc3"), QV_INVALID_ARGUMENT);
  CHECK_OK(qv_savepoint(w, "Sp"));
  CHECK_STATUS(qv_rollback_to(w, "sp"), QV_NOT_FOUND); /* names are case-sensitive */
  CHECK_OK(qv_savepoint(w, "\xe2\x82\xac"));
  CHECK_OK(qv_rollback_to(w, "\xe2\x82\xac"));
  /* Many savepoints. */
  char name[16];
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "n%d", i);
    qv_node_id x;
    if (qv_savepoint(w, name) != QV_OK || qv_node_insert(w, "X", &x) != QV_OK) {
      CHECK(0);
      break;
    }
  }
  CHECK(qvt_count_nodes(w, "X") == 100);
  CHECK_OK(qv_rollback_to(w, "n50"));
  CHECK(qvt_count_nodes(w, "X") == 50);
  CHECK_OK(qv_rollback_to(w, "Sp"));
  CHECK(qvt_count_nodes(w, "X") == 0);
  CHECK_OK(qv_txn_commit(w));
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 0);
  qvt_finish(db, path);
}

/* A transaction that writes more than the in-memory log buffer after a savepoint (so its
 * frames reach the log file before commit), then rolls back to it. */
void test_sp_rollback_over_spill(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("sp6", QV_SYNC_NORMAL, &db);
  size_t big = 3u << 20;
  uint8_t *buf = qvt_filled(big, 0xAB);
  if (!buf) return;
  qv_value bv = qvt_bytes(buf, big);

  qv_txn *w = qvt_begin(db, 0);
  qv_node_id a = 0, b = 0, c = 0;
  a_savepoint_b(w, &a, &b);
  CHECK_OK(qv_node_set(w, b, "big1", &bv));
  CHECK_OK(qv_node_set(w, a, "big2", &bv));
  CHECK_OK(qv_node_set(w, a, "big3", &bv));
  qv_value v = qvt_int(2);
  CHECK_OK(qv_node_set(w, a, "p", &v));
  CHECK_OK(qv_rollback_to(w, "s"));
  CHECK_OK(qv_node_insert(w, "C", &c));
  CHECK_OK(qv_txn_commit(w));

  /* A rollback of a whole spilled transaction. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_set(w, a, "big4", &bv));
  CHECK_OK(qv_node_set(w, a, "big5", &bv));
  qv_txn_rollback(w);
  free(buf);

  for (int round = 0; round < 2; round++) {
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK(has_node(r, a) && has_node(r, c));
    CHECK(qvt_count_nodes(r, NULL) == 2);
    CHECK(int_prop(r, a, "p") == 1);
    qv_value out;
    CHECK_STATUS(qv_node_get(r, a, "big2", &out), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_get(r, a, "big4", &out), QV_NOT_FOUND);
    /* b's id may have been handed out again to c (rolled back ids may be reused). */
    const char *lb = NULL;
    CHECK(b == c ? qv_node_label(r, b, &lb) == QV_OK && strcmp(lb, "C") == 0
                 : qv_node_label(r, b, &lb) == QV_NOT_FOUND);
    qv_txn_rollback(r);
    qvt_check_clean(db);
    if (round == 0) qvt_reopen(&db, path, QV_SYNC_NORMAL);
  }
  qvt_finish(db, path);
}

/* A cursor yields the state as of its opening, also when the transaction rolls back to a
 * savepoint afterwards: the edges it collected keep their type names (even if the type
 * was created after the savepoint and its name is gone from the transaction now). */
void test_sp_cursor_across_rollback(void) {
  QVT_FRESH_WRITE("spcur", db, path, w);
  qv_node_id a = 0, b = 0;
  CHECK_OK(qv_node_insert(w, "A", &a));
  CHECK_OK(qv_node_insert(w, "B", &b));
  qv_edge_id old = 0, fresh = 0;
  CHECK_OK(qv_edge_insert(w, a, b, "OLD_TYPE", &old));
  CHECK_OK(qv_savepoint(w, "s"));
  CHECK_OK(qv_edge_insert(w, a, b, "FRESH_TYPE", &fresh));
  qv_cursor *c1 = NULL, *c2 = NULL;
  CHECK_OK(qv_edges(w, a, QV_OUT, NULL, &c1));
  CHECK_OK(qv_edges(w, a, QV_OUT, NULL, &c2));
  CHECK_OK(qv_rollback_to(w, "s"));
  /* c1: read right after the rollback. */
  qv_edge e;
  int fresh_ok = 0, old_ok = 0, other = 0;
  qv_status s;
  while ((s = qv_cursor_next_edge(c1, &e)) == QV_OK) {
    if (e.id == fresh && e.type && strcmp(e.type, "FRESH_TYPE") == 0) fresh_ok++;
    else if (e.id == old && e.type && strcmp(e.type, "OLD_TYPE") == 0) old_ok++;
    else other++;
  }
  if (!CHECK(s == QV_DONE)) printf("#   %s: %s\n", qv_status_str(s), qvt_errmsg());
  CHECK(fresh_ok == 1 && old_ok == 1 && other == 0);
  qv_cursor_free(c1);
  /* c2: read after a new type has been created (it may take the rolled-back id). */
  qv_edge_id other_e = 0;
  CHECK_OK(qv_edge_insert(w, b, a, "OTHER_TYPE", &other_e));
  fresh_ok = old_ok = other = 0;
  while ((s = qv_cursor_next_edge(c2, &e)) == QV_OK) {
    if (e.id == fresh && e.type && strcmp(e.type, "FRESH_TYPE") == 0) fresh_ok++;
    else if (e.id == old && e.type && strcmp(e.type, "OLD_TYPE") == 0) old_ok++;
    else {
      other++;
      printf("#   yielded edge %llu of type %s\n", (unsigned long long)e.id,
             e.type ? e.type : "(null)");
    }
  }
  if (!CHECK(s == QV_DONE)) printf("#   %s: %s\n", qv_status_str(s), qvt_errmsg());
  CHECK(fresh_ok == 1 && old_ok == 1 && other == 0);
  qv_cursor_free(c2);
  CHECK_OK(qv_txn_commit(w));
  qvt_finish(db, path);
}
