/* Cursors: node order and label filters, edge directions and type filters, self-loops,
 * QV_MISUSE after the transaction ended and on the wrong kind of cursor, deleting and
 * inserting while iterating, snapshot stability against later commits. */
#include "harness.h"

#include <stdint.h>
#include <string.h>

#define GARBAGE_ID ((uint64_t)0x5a5a5a5a5a5a5a5aull)

void test_cur_nodes(void) {
  QVT_FRESH_WRITE("curnodes", db, path, w);
  qv_node_id ids[30];
  for (int i = 0; i < 30; i++) CHECK_OK(qv_node_insert(w, i % 3 == 0 ? "Three" : "Other", &ids[i]));
  for (int i = 0; i < 30; i += 4) CHECK_OK(qv_node_delete(w, ids[i], 0));
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  qv_cursor *c = NULL;
  CHECK_OK(qv_nodes(r, NULL, &c));
  qv_node_id id, prev = 0;
  uint64_t n = 0;
  int order_ok = 1, live_ok = 1;
  qv_status s;
  while ((s = qv_cursor_next_node(c, &id)) == QV_OK) {
    if (id <= prev) order_ok = 0;
    if ((id - 1) % 4 == 0) live_ok = 0; /* ids[i] == i + 1; deleted ones are i % 4 == 0 */
    prev = id;
    n++;
  }
  CHECK(s == QV_DONE);
  CHECK(order_ok && live_ok);
  CHECK(n == 30 - 8);
  id = GARBAGE_ID;
  CHECK_STATUS(qv_cursor_next_node(c, &id), QV_DONE); /* stays done */
  CHECK(id == 0);
  qv_cursor_free(c);

  /* Label filter. */
  CHECK_OK(qv_nodes(r, "Three", &c));
  n = 0;
  int label_ok = 1;
  while ((s = qv_cursor_next_node(c, &id)) == QV_OK) {
    const char *l = NULL;
    if (qv_node_label(r, id, &l) != QV_OK || strcmp(l, "Three") != 0) label_ok = 0;
    n++;
  }
  CHECK(s == QV_DONE && label_ok);
  /* i % 3 == 0 in 0..29: 10 nodes, minus the deleted ones with i % 12 == 0 (0, 12, 24). */
  CHECK(n == 7);
  qv_cursor_free(c);
  CHECK(qvt_count_nodes(r, "Other") == 15);
  CHECK(qvt_count_nodes(r, "Nope") == 0);

  /* Freeing a cursor in the middle, and several cursors at once. */
  qv_cursor *c1 = NULL, *c2 = NULL;
  CHECK_OK(qv_nodes(r, NULL, &c1));
  CHECK_OK(qv_nodes(r, "Three", &c2));
  qv_node_id x1, x2;
  CHECK_OK(qv_cursor_next_node(c1, &x1));
  CHECK_OK(qv_cursor_next_node(c2, &x2));
  CHECK(x1 == ids[1] && x2 == ids[3]);
  CHECK_OK(qv_cursor_next_node(c1, &x1));
  CHECK(x1 == ids[2]);
  qv_cursor_free(c1);
  CHECK_OK(qv_cursor_next_node(c2, &x2));
  CHECK(x2 == ids[6]);
  qv_cursor_free(c2);
  qv_txn_rollback(r);

  /* An empty database. */
  const char *path2 = qvt_tmpdir("curempty");
  qv_db *db2 = NULL;
  CHECK_OK(qvt_open(path2, QV_SYNC_NORMAL, 0, &db2));
  CHECK_OK(qv_txn_begin(db2, QV_TXN_READ_ONLY, &r));
  CHECK_OK(qv_nodes(r, NULL, &c));
  id = GARBAGE_ID;
  CHECK_STATUS(qv_cursor_next_node(c, &id), QV_DONE);
  CHECK(id == 0);
  qv_cursor_free(c);
  qv_txn_rollback(r);
  CHECK_OK(qv_close(db2));
  qvt_rmtree(path2);
  qvt_finish(db, path);
}

static int edge_in(const qv_edge *e, qv_edge_id id, qv_node_id src, qv_node_id dst,
                   const char *type) {
  return e->id == id && e->src == src && e->dst == dst && e->type && strcmp(e->type, type) == 0;
}

void test_cur_edges_and_self_loops(void) {
  QVT_FRESH_WRITE("curedges", db, path, w);
  qv_node_id a, b, c;
  qv_edge_id ab, ab2, ca, aa, bb;
  CHECK_OK(qv_node_insert(w, "N", &a));
  CHECK_OK(qv_node_insert(w, "N", &b));
  CHECK_OK(qv_node_insert(w, "N", &c));
  CHECK_OK(qv_edge_insert(w, a, b, "T1", &ab));
  CHECK_OK(qv_edge_insert(w, a, b, "T2", &ab2));
  CHECK_OK(qv_edge_insert(w, c, a, "T1", &ca));
  CHECK_OK(qv_edge_insert(w, a, a, "LOOP", &aa));
  CHECK_OK(qv_edge_insert(w, b, b, "LOOP", &bb));
  CHECK_OK(qv_txn_commit(w));

  for (int pass = 0; pass < 2; pass++) {
    qv_txn *t = NULL;
    CHECK_OK(qv_txn_begin(db, pass == 0 ? QV_TXN_READ_ONLY : 0, &t));
    printf("# %s transaction\n", pass == 0 ? "read" : "write");
    /* a: out ab, ab2, aa; in ca, aa; both: the self-loop once. b: in ab, ab2, bb. Every
     * degree, and as many edges from a cursor. */
    const struct {
      qv_node_id node;
      qv_dir dir;
      const char *type;
      uint64_t want;
    } degrees[] = {
        {a, QV_OUT, NULL, 3},     {a, QV_IN, NULL, 2},      {a, QV_BOTH, NULL, 4},
        {a, QV_BOTH, "LOOP", 1},  {a, QV_OUT, "LOOP", 1},   {a, QV_IN, "LOOP", 1},
        {a, QV_BOTH, "T1", 2},    {a, QV_OUT, "T1", 1},     {a, QV_IN, "T2", 0},
        {b, QV_BOTH, NULL, 3},    {b, QV_IN, NULL, 3},      {b, QV_BOTH, "LOOP", 1},
        {c, QV_BOTH, "LOOP", 0},  {c, QV_IN, NULL, 0},
    };
    for (size_t i = 0; i < sizeof degrees / sizeof degrees[0]; i++) {
      uint64_t d = UINT64_MAX;
      CHECK_OK(qv_degree(t, degrees[i].node, degrees[i].dir, degrees[i].type, &d));
      uint64_t n = qvt_count_edges(t, degrees[i].node, degrees[i].dir, degrees[i].type);
      if (!CHECK(d == degrees[i].want && n == degrees[i].want))
        printf("#   case %zu: degree %llu, cursor %llu\n", i, (unsigned long long)d,
               (unsigned long long)n);
    }

    /* Every edge of a in QV_BOTH exactly once, with the right fields. */
    qv_cursor *cur = NULL;
    CHECK_OK(qv_edges(t, a, QV_BOTH, NULL, &cur));
    int seen_ab = 0, seen_ab2 = 0, seen_ca = 0, seen_aa = 0, other = 0;
    qv_edge e;
    qv_status s;
    while ((s = qv_cursor_next_edge(cur, &e)) == QV_OK) {
      if (edge_in(&e, ab, a, b, "T1")) seen_ab++;
      else if (edge_in(&e, ab2, a, b, "T2")) seen_ab2++;
      else if (edge_in(&e, ca, c, a, "T1")) seen_ca++;
      else if (edge_in(&e, aa, a, a, "LOOP")) seen_aa++;
      else other++;
    }
    CHECK(s == QV_DONE);
    CHECK(seen_ab == 1 && seen_ab2 == 1 && seen_ca == 1 && seen_aa == 1 && other == 0);
    memset(&e, 0x5A, sizeof e);
    CHECK_STATUS(qv_cursor_next_edge(cur, &e), QV_DONE);
    CHECK(e.id == 0 && e.src == 0 && e.dst == 0 && e.type == NULL);
    qv_cursor_free(cur);

    /* Type filter on a cursor. */
    CHECK_OK(qv_edges(t, a, QV_OUT, "T2", &cur));
    CHECK_OK(qv_cursor_next_edge(cur, &e));
    CHECK(edge_in(&e, ab2, a, b, "T2"));
    CHECK_STATUS(qv_cursor_next_edge(cur, &e), QV_DONE);
    qv_cursor_free(cur);
    CHECK_OK(qv_edges(t, a, QV_IN, "T1", &cur));
    CHECK_OK(qv_cursor_next_edge(cur, &e));
    CHECK(edge_in(&e, ca, c, a, "T1"));
    const char *type_ptr = e.type;
    CHECK_STATUS(qv_cursor_next_edge(cur, &e), QV_DONE);
    qv_cursor_free(cur);
    CHECK(strcmp(type_ptr, "T1") == 0); /* valid until the transaction ends */
    if (pass == 0) qv_txn_rollback(t);
    else CHECK_OK(qv_txn_commit(t));
  }

  /* Deleting self-loops keeps the counts right. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_edge_delete(w, aa));
  CHECK_DEGREE(w, a, QV_BOTH, NULL, 3);
  CHECK_STATUS(qv_node_delete(w, b, 0), QV_CONSTRAINT);
  CHECK_OK(qv_edge_delete(w, ab));
  CHECK_OK(qv_edge_delete(w, ab2));
  CHECK_STATUS(qv_node_delete(w, b, 0), QV_CONSTRAINT); /* only the self-loop is left */
  CHECK_DEGREE(w, b, QV_BOTH, NULL, 1);
  CHECK_OK(qv_node_delete(w, b, QV_DETACH));
  CHECK_OK(qv_txn_commit(w));
  CHECK_COUNTS(db, 2, 1);
  qvt_finish(db, path);
}

void test_cur_misuse(void) {
  QVT_FRESH_WRITE("curmisuse", db, path, w);
  qv_node_id a, b;
  qv_edge_id e;
  CHECK_OK(qv_node_insert(w, "N", &a));
  CHECK_OK(qv_node_insert(w, "N", &b));
  CHECK_OK(qv_edge_insert(w, a, b, "E", &e));
  CHECK_OK(qv_txn_commit(w));

  /* For each way to end each kind of transaction. */
  for (int kind = 0; kind < 4; kind++) {
    int write = kind & 1, commit = kind & 2;
    printf("# cursors of a %s transaction, after %s\n", write ? "write" : "read",
           commit ? "commit" : "rollback");
    qv_txn *t = NULL;
    CHECK_OK(qv_txn_begin(db, write ? 0 : QV_TXN_READ_ONLY, &t));
    qv_cursor *cn = NULL, *ce = NULL, *cfresh = NULL;
    CHECK_OK(qv_nodes(t, NULL, &cn));
    CHECK_OK(qv_edges(t, a, QV_OUT, NULL, &ce));
    CHECK_OK(qv_edges(t, b, QV_IN, NULL, &cfresh));
    qv_node_id id;
    CHECK_OK(qv_cursor_next_node(cn, &id)); /* partly consumed */
    /* The wrong kind of cursor: QV_MISUSE, out cleared, the cursor unharmed. */
    qv_edge ed;
    memset(&ed, 0x5A, sizeof ed);
    CHECK_STATUS(qv_cursor_next_edge(cn, &ed), QV_MISUSE);
    CHECK(ed.id == 0 && ed.type == NULL);
    id = GARBAGE_ID;
    CHECK_STATUS(qv_cursor_next_node(ce, &id), QV_MISUSE);
    CHECK(id == 0);
    CHECK_OK(qv_cursor_next_node(cn, &id));
    CHECK(id == b);
    if (commit) CHECK_OK(qv_txn_commit(t));
    else qv_txn_rollback(t);
    /* The transaction ended: QV_MISUSE, out cleared. */
    id = GARBAGE_ID;
    CHECK_STATUS(qv_cursor_next_node(cn, &id), QV_MISUSE);
    CHECK(id == 0);
    CHECK_ERR_HAS("transaction");
    memset(&ed, 0x5A, sizeof ed);
    CHECK_STATUS(qv_cursor_next_edge(ce, &ed), QV_MISUSE);
    CHECK(ed.id == 0 && ed.src == 0 && ed.dst == 0 && ed.type == NULL);
    CHECK_STATUS(qv_cursor_next_edge(cfresh, &ed), QV_MISUSE);
    CHECK_STATUS(qv_cursor_next_node(ce, &id), QV_MISUSE);
    CHECK_STATUS(qv_cursor_next_edge(cn, &ed), QV_MISUSE);
    /* Still MISUSE after another transaction started (possibly at the same address). */
    qv_txn *t2 = NULL;
    CHECK_OK(qv_txn_begin(db, write ? 0 : QV_TXN_READ_ONLY, &t2));
    CHECK_STATUS(qv_cursor_next_node(cn, &id), QV_MISUSE);
    CHECK_STATUS(qv_cursor_next_edge(ce, &ed), QV_MISUSE);
    qv_txn_rollback(t2);
    qv_cursor_free(cn);
    qv_cursor_free(ce);
    qv_cursor_free(cfresh);
  }
  qv_db_stats st = qvt_stats(db);
  CHECK(st.readers == 0 && st.nodes == 2 && st.edges == 1);
  qvt_finish(db, path);
}

void test_cur_delete_while_iterating(void) {
  QVT_FRESH_WRITE("curdelete", db, path, w);
  qv_node_id hub = 0;
  enum { N = 40 };
  qv_node_id leaf[N];
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  for (int i = 0; i < N; i++) {
    qv_edge_id e;
    CHECK_OK(qv_node_insert(w, "Leaf", &leaf[i]));
    CHECK_OK(qv_edge_insert(w, hub, leaf[i], "HAS", &e));
    CHECK_OK(qv_edge_insert(w, leaf[i], hub, "BACK", &e));
  }
  CHECK_OK(qv_txn_commit(w));

  /* Delete each edge as the cursor yields it; insert new ones meanwhile. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  qv_cursor *c = NULL;
  CHECK_OK(qv_edges(w, hub, QV_OUT, NULL, &c));
  qv_edge e;
  qv_status s;
  int yielded = 0, del_fail = 0;
  while ((s = qv_cursor_next_edge(c, &e)) == QV_OK) {
    yielded++;
    if (e.src != hub || strcmp(e.type, "HAS") != 0) del_fail++;
    if (qv_edge_delete(w, e.id) != QV_OK) del_fail++;
    qv_edge_id ne;
    if (qv_edge_insert(w, hub, e.dst, "NEW", &ne) != QV_OK) del_fail++;
  }
  CHECK(s == QV_DONE);
  CHECK(yielded == N && del_fail == 0);
  qv_cursor_free(c);
  CHECK(qvt_count_edges(w, hub, QV_OUT, "HAS") == 0);
  CHECK(qvt_count_edges(w, hub, QV_OUT, "NEW") == N);

  /* Delete nodes (with their edges) while iterating over all nodes. */
  CHECK_OK(qv_nodes(w, "Leaf", &c));
  qv_node_id id;
  yielded = 0;
  del_fail = 0;
  while ((s = qv_cursor_next_node(c, &id)) == QV_OK) {
    yielded++;
    if (qv_node_delete(w, id, QV_DETACH) != QV_OK) del_fail++;
    qv_node_id extra;
    if (yielded % 10 == 0 && qv_node_insert(w, "Leaf", &extra) != QV_OK) del_fail++;
  }
  CHECK(s == QV_DONE);
  CHECK(yielded == N && del_fail == 0);
  qv_cursor_free(c);
  CHECK(qvt_count_nodes(w, "Leaf") == N / 10);
  CHECK_DEGREE(w, hub, QV_BOTH, NULL, 0);
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK(qvt_count_nodes(r, NULL) == 1 + N / 10);
  CHECK(qvt_count_edges(r, hub, QV_BOTH, NULL) == 0);
  qv_txn_rollback(r);
  CHECK_COUNTS(db, 1 + N / 10, 0);
  qvt_finish(db, path);
}

void test_cur_snapshot_vs_commits(void) {
  qv_db *db = NULL;
  /* A small checkpoint_bytes: checkpoints run often. */
  const char *path = qvt_fresh_db_with("cursnap", qvt_options(QV_SYNC_NORMAL, 4096), &db);
  qv_txn *w = qvt_begin(db, 0);
  qv_node_id hub = 0;
  enum { N = 30 };
  qv_node_id leaf[N];
  qv_edge_id edge[N];
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  for (int i = 0; i < N; i++) {
    CHECK_OK(qv_node_insert(w, "Leaf", &leaf[i]));
    CHECK_OK(qv_edge_insert(w, hub, leaf[i], "HAS", &edge[i]));
  }
  CHECK_OK(qv_txn_commit(w));
  /* A property committed but not yet checkpointed (it lives in memory, not the file). */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  qv_value sv = qvt_str("a value the reader holds on to");
  CHECK_OK(qv_node_set(w, hub, "held", &sv));
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  qv_value held;
  CHECK_OK(qv_node_get(r, hub, "held", &held));
  CHECK(held.type == QV_TYPE_STRING && held.as.bytes.len == strlen("a value the reader holds on to"));
  qv_cursor *cn = NULL, *ce = NULL;
  CHECK_OK(qv_nodes(r, NULL, &cn));
  CHECK_OK(qv_edges(r, hub, QV_OUT, NULL, &ce));
  qv_node_id id;
  qv_edge e;
  CHECK_OK(qv_cursor_next_node(cn, &id));
  CHECK_OK(qv_cursor_next_edge(ce, &e));
  int first_edge_ok = e.src == hub && strcmp(e.type, "HAS") == 0;
  CHECK(first_edge_ok);
  /* Names returned now stay valid until the transaction ends, whatever happens meanwhile
   * (the string table grows below) and after the cursor that returned them is freed. */
  const char *held_type = e.type, *held_label = NULL;
  CHECK_OK(qv_node_label(r, hub, &held_label));
  qv_cursor *tmp = NULL;
  qv_edge te;
  CHECK_OK(qv_edges(r, leaf[0], QV_IN, NULL, &tmp));
  CHECK_OK(qv_cursor_next_edge(tmp, &te));
  qv_cursor_free(tmp);
  CHECK(te.type && strcmp(te.type, "HAS") == 0);

  /* Other transactions delete everything, add more, and checkpoints run. */
  for (int round = 0; round < 5; round++) {
    CHECK_OK(qv_txn_begin(db, 0, &w));
    for (int i = round; i < N; i += 5) CHECK_OK(qv_node_delete(w, leaf[i], QV_DETACH));
    for (int i = 0; i < 10; i++) {
      qv_node_id x, x2;
      qv_edge_id y;
      char lbl[32];
      snprintf(lbl, sizeof lbl, "Label-%d-%d", round, i); /* the string table grows */
      CHECK_OK(qv_node_insert(w, "New", &x));
      CHECK_OK(qv_edge_insert(w, hub, x, "NEW", &y));
      CHECK_OK(qv_node_insert(w, lbl, &x2));
      CHECK_OK(qv_node_delete(w, x2, 0));
    }
    char buf[64];
    snprintf(buf, sizeof buf, "overwritten %d", round);
    sv = qvt_str(buf);
    CHECK_OK(qv_node_set(w, hub, "held", &sv));
    CHECK_OK(qv_txn_commit(w));
    CHECK_OK(qv_checkpoint(db));
  }

  CHECK(strcmp(held_type, "HAS") == 0 && strcmp(held_label, "Hub") == 0);
  CHECK(strcmp(te.type, "HAS") == 0);
  /* The value read before is still valid (the transaction made no write) and unchanged. */
  CHECK(memcmp(held.as.bytes.ptr, "a value the reader holds on to", held.as.bytes.len) == 0);
  qv_value again;
  CHECK_OK(qv_node_get(r, hub, "held", &again));
  CHECK(again.as.bytes.len == held.as.bytes.len &&
        memcmp(again.as.bytes.ptr, "a value the reader holds on to", again.as.bytes.len) == 0);
  /* The reader's cursors still yield its snapshot. */
  uint64_t nodes = 1, edges = 1;
  int ok = 1;
  while (qv_cursor_next_node(cn, &id) == QV_OK) nodes++;
  qv_status s;
  while ((s = qv_cursor_next_edge(ce, &e)) == QV_OK) {
    edges++;
    if (e.src != hub || !e.type || strcmp(e.type, "HAS") != 0) ok = 0;
  }
  CHECK(s == QV_DONE);
  CHECK(nodes == 1 + N);
  CHECK(edges == N);
  CHECK(ok);
  qv_cursor_free(cn);
  qv_cursor_free(ce);
  CHECK(qvt_count_nodes(r, "New") == 0);
  CHECK(qvt_count_nodes(r, "Leaf") == N);
  CHECK_DEGREE(r, hub, QV_OUT, NULL, N);
  qv_edge got;
  CHECK_OK(qv_edge_get(r, edge[N - 1], &got));
  CHECK(got.src == hub && got.dst == leaf[N - 1]);
  qv_txn_rollback(r);

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK(qvt_count_nodes(r, "Leaf") == 0);
  CHECK(qvt_count_nodes(r, "New") == 50);
  CHECK(qvt_count_edges(r, hub, QV_OUT, NULL) == 50);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* A node whose edges are mostly self-loops: QV_BOTH walks the outgoing and the incoming
 * chain, each holding every loop once; it must yield each loop once, not fail. */
void test_cur_many_self_loops(void) {
  QVT_FRESH_WRITE("curloops", db, path, w);
  qv_node_id a = 0, b = 0;
  qv_edge_id e;
  CHECK_OK(qv_node_insert(w, "A", &a));
  CHECK_OK(qv_node_insert(w, "B", &b));
  /* Two self-loops made in this write transaction. */
  CHECK_OK(qv_edge_insert(w, a, a, "LOOP", &e));
  CHECK_OK(qv_edge_insert(w, a, a, "LOOP", &e));
  CHECK_DEGREE(w, a, QV_BOTH, NULL, 2);
  CHECK(qvt_count_edges(w, a, QV_BOTH, NULL) == 2);
  CHECK(qvt_count_edges(w, a, QV_OUT, NULL) == 2);
  CHECK(qvt_count_edges(w, a, QV_IN, NULL) == 2);
  CHECK_OK(qv_edge_insert(w, a, a, "LOOP", &e));
  CHECK_OK(qv_txn_commit(w));

  /* Three self-loops, committed, in a read transaction. */
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_DEGREE(r, a, QV_BOTH, NULL, 3);
  CHECK(qvt_count_edges(r, a, QV_BOTH, NULL) == 3);
  CHECK(qvt_count_edges(r, a, QV_BOTH, "LOOP") == 3);
  qv_txn_rollback(r);

  /* QV_DETACH deletes the node with its loops. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_STATUS(qv_node_delete(w, a, 0), QV_CONSTRAINT);
  CHECK_OK(qv_node_delete(w, a, QV_DETACH));
  /* And a fresh node with loops made and deleted in one transaction. */
  qv_node_id c = 0;
  CHECK_OK(qv_node_insert(w, "C", &c));
  for (int i = 0; i < 4; i++) CHECK_OK(qv_edge_insert(w, c, c, "LOOP", &e));
  CHECK_OK(qv_edge_insert(w, c, b, "CB", &e));
  CHECK_DEGREE(w, c, QV_BOTH, NULL, 5);
  CHECK_OK(qv_node_delete(w, c, QV_DETACH));
  CHECK_OK(qv_txn_commit(w));

  CHECK_COUNTS(db, 1, 0);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

/* A model-based test: random inserts and deletes (self-loops, parallel edges, detach,
 * savepoints, rollbacks) mirrored in a simple model; after each transaction every
 * degree, cursor and count is compared with the model, in the writing transaction, in a
 * read transaction, and after a checkpoint or reopen. */
enum { MODEL_CAP = 4096 };
struct model {
  unsigned char node_live[MODEL_CAP];
  unsigned char edge_live[MODEL_CAP];
  qv_node_id src[MODEL_CAP], dst[MODEL_CAP];
  int type[MODEL_CAP];
  uint64_t nodes, edges;
  uint64_t max_node, max_edge; /* highest ids handed out */
};
static const char *model_types[3] = {"RED", "GREEN", "BLUE"};
static uint32_t model_rng = 2463534242u;
static uint32_t rnd(uint32_t n) {
  model_rng ^= model_rng << 13;
  model_rng ^= model_rng >> 17;
  model_rng ^= model_rng << 5;
  return model_rng % n;
}

static uint64_t model_degree(const struct model *m, qv_node_id n, qv_dir dir, int type) {
  uint64_t d = 0;
  for (qv_edge_id e = 1; e < MODEL_CAP; e++) {
    if (!m->edge_live[e] || (type >= 0 && m->type[e] != type)) continue;
    int out = m->src[e] == n, in = m->dst[e] == n;
    if ((dir == QV_OUT && out) || (dir == QV_IN && in) || (dir == QV_BOTH && (out || in))) d++;
  }
  return d;
}

/* Returns the number of mismatches. */
static int model_compare(qv_txn *t, const struct model *m) {
  int bad = 0;
  if (qvt_count_nodes(t, NULL) != m->nodes) bad++;
  static const qv_dir dirs[3] = {QV_OUT, QV_IN, QV_BOTH};
  for (qv_node_id n = 1; n < MODEL_CAP; n++) {
    const char *l;
    qv_status s = qv_node_label(t, n, &l);
    if (!m->node_live[n]) {
      if (s != QV_NOT_FOUND) bad++;
      if (n > m->max_node + 2) break;
      continue;
    }
    if (s != QV_OK) {
      bad++;
      continue;
    }
    for (int di = 0; di < 3; di++) {
      for (int ty = -1; ty < 3; ty++) {
        uint64_t d = 0;
        if (qv_degree(t, n, dirs[di], ty < 0 ? NULL : model_types[ty], &d) != QV_OK ||
            d != model_degree(m, n, dirs[di], ty))
          bad++;
      }
      /* Every edge the cursor yields is live in the model with the same fields, once. */
      qv_cursor *c = NULL;
      if (qv_edges(t, n, dirs[di], NULL, &c) != QV_OK) {
        bad++;
        continue;
      }
      static unsigned char seen[MODEL_CAP];
      memset(seen, 0, sizeof seen);
      qv_edge e;
      uint64_t k = 0;
      while (qv_cursor_next_edge(c, &e) == QV_OK) {
        k++;
        if (e.id >= MODEL_CAP || !m->edge_live[e.id] || seen[e.id] || e.src != m->src[e.id] ||
            e.dst != m->dst[e.id] || strcmp(e.type, model_types[m->type[e.id]]) != 0)
          bad++;
        else seen[e.id] = 1;
      }
      qv_cursor_free(c);
      if (k != model_degree(m, n, dirs[di], -1)) bad++;
    }
  }
  return bad;
}

static int model_txn(qv_txn *w, struct model *m, int ops) {
  int bad = 0;
  for (int i = 0; i < ops; i++) {
    uint32_t op = rnd(100);
    if (op < 12 || m->nodes < 3) {
      qv_node_id n;
      if (qv_node_insert(w, "M", &n) != QV_OK || n >= MODEL_CAP) {
        bad++;
        continue;
      }
      m->node_live[n] = 1;
      m->nodes++;
      if (n > m->max_node) m->max_node = n;
    } else if (op < 70) {
      /* An edge between two live nodes (often the same one). */
      qv_node_id a = 1 + rnd((uint32_t)m->max_node);
      qv_node_id b = rnd(4) == 0 ? a : 1 + rnd((uint32_t)m->max_node);
      if (!m->node_live[a] || !m->node_live[b]) continue;
      int ty = (int)rnd(3);
      qv_edge_id e;
      if (qv_edge_insert(w, a, b, model_types[ty], &e) != QV_OK || e >= MODEL_CAP) {
        bad++;
        continue;
      }
      m->edge_live[e] = 1;
      m->src[e] = a;
      m->dst[e] = b;
      m->type[e] = ty;
      m->edges++;
      if (e > m->max_edge) m->max_edge = e;
    } else if (op < 88) {
      qv_edge_id e = 1 + rnd((uint32_t)m->max_edge + 1);
      qv_status s = qv_edge_delete(w, e);
      if (s != (m->edge_live[e] ? QV_OK : QV_NOT_FOUND)) bad++;
      if (s == QV_OK) {
        m->edge_live[e] = 0;
        m->edges--;
      }
    } else {
      qv_node_id n = 1 + rnd((uint32_t)m->max_node + 1);
      int detach = rnd(2);
      qv_status s = qv_node_delete(w, n, detach ? QV_DETACH : 0);
      qv_status want = !m->node_live[n]                                   ? QV_NOT_FOUND
                       : (!detach && model_degree(m, n, QV_BOTH, -1) > 0) ? QV_CONSTRAINT
                                                                          : QV_OK;
      if (s != want) bad++;
      if (s == QV_OK) {
        m->node_live[n] = 0;
        m->nodes--;
        for (qv_edge_id e = 1; e < MODEL_CAP; e++)
          if (m->edge_live[e] && (m->src[e] == n || m->dst[e] == n)) {
            m->edge_live[e] = 0;
            m->edges--;
          }
      }
    }
  }
  return bad;
}

void test_cur_model(void) {
  const qv_options o = qvt_options(QV_SYNC_OFF, 32768);
  qv_db *db = NULL;
  const char *path = qvt_fresh_db_with("model", o, &db);
  static struct model m, saved;
  memset(&m, 0, sizeof m);
  int op_bad = 0, cmp_w = 0, cmp_r = 0, cmp_reopen = 0;
  for (int round = 0; round < 24; round++) {
    qv_txn *w = NULL;
    if (qv_txn_begin(db, 0, &w) != QV_OK) {
      op_bad++;
      break;
    }
    saved = m;
    op_bad += model_txn(w, &m, 60);
    if (round % 5 == 2) {
      /* A savepoint whose work is undone. */
      struct model before = m;
      if (qv_savepoint(w, "sp") != QV_OK) op_bad++;
      op_bad += model_txn(w, &m, 30);
      if (qv_rollback_to(w, "sp") != QV_OK) op_bad++;
      m = before;
    }
    cmp_w += model_compare(w, &m);
    if (round % 7 == 3) {
      qv_txn_rollback(w);
      m = saved;
    } else if (qv_txn_commit(w) != QV_OK) {
      op_bad++;
    }
    qv_txn *r = NULL;
    if (qv_txn_begin(db, QV_TXN_READ_ONLY, &r) == QV_OK) {
      cmp_r += model_compare(r, &m);
      qv_txn_rollback(r);
    }
    if (round % 8 == 7) {
      CHECK_OK(qv_close(db));
      db = NULL;
      CHECK_OK(qv_open(path, &o, &db));
      if (!db) return;
      if (qv_txn_begin(db, QV_TXN_READ_ONLY, &r) == QV_OK) {
        cmp_reopen += model_compare(r, &m);
        qv_txn_rollback(r);
      }
    }
  }
  printf("# model: %llu nodes, %llu edges at the end\n", (unsigned long long)m.nodes,
         (unsigned long long)m.edges);
  CHECK(op_bad == 0);
  CHECK(cmp_w == 0);
  CHECK(cmp_r == 0);
  CHECK(cmp_reopen == 0);
  CHECK_COUNTS(db, m.nodes, m.edges);
  qvt_finish(db, path);
}

/* The order the header documents for qv_edges: outgoing edges, then incoming ones; within
 * a direction by type, in the order the type names were first stored, then by edge id;
 * QV_BOTH yields a self-loop once, as outgoing. The same in the writing transaction, after
 * commit, after a checkpoint, after deleting the middle of a group and after reopening;
 * batch reads (qv_cursor_next_edges) yield the same sequence. */
void test_cur_edge_order(void) {
  QVT_FRESH_WRITE("curorder", db, path, w);
  qv_node_id hub, n[4];
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  for (int i = 0; i < 4; i++) CHECK_OK(qv_node_insert(w, "N", &n[i]));
  /* Types stored in the order Z, A, M (so Z < A < M), edges inserted out of that order. */
  qv_edge_id z1, a1, m1, z2, a_in, z_in, loop, a2;
  CHECK_OK(qv_edge_insert(w, hub, n[0], "Z", &z1));
  CHECK_OK(qv_edge_insert(w, hub, n[1], "A", &a1));
  CHECK_OK(qv_edge_insert(w, hub, n[2], "M", &m1));
  CHECK_OK(qv_edge_insert(w, hub, n[3], "Z", &z2));
  CHECK_OK(qv_edge_insert(w, n[1], hub, "A", &a_in));
  CHECK_OK(qv_edge_insert(w, n[2], hub, "Z", &z_in));
  CHECK_OK(qv_edge_insert(w, hub, hub, "A", &loop));
  CHECK_OK(qv_edge_insert(w, hub, n[0], "A", &a2));
  /* QV_BOTH: out Z (z1, z2), out A (a1, loop, a2), out M (m1), in Z (z_in), in A (a_in). */
  const qv_edge want[] = {
      {z1, hub, n[0], "Z"},  {z2, hub, n[3], "Z"},   {a1, hub, n[1], "A"},
      {loop, hub, hub, "A"}, {a2, hub, n[0], "A"},   {m1, hub, n[2], "M"},
      {z_in, n[2], hub, "Z"}, {a_in, n[1], hub, "A"},
  };
  const size_t nwant = sizeof want / sizeof want[0];
  for (int stage = 0; stage < 5; stage++) {
    static const char *const stages[] = {"in the writing transaction", "after commit",
                                         "after a checkpoint", "after deleting a1",
                                         "after reopening"};
    printf("# %s\n", stages[stage]);
    qv_txn *t = stage == 0 ? w : qvt_begin(db, QV_TXN_READ_ONLY);
    for (int batch = 0; batch < 2; batch++) {
      qv_cursor *c = NULL;
      CHECK_OK(qv_edges(t, hub, QV_BOTH, NULL, &c));
      qv_edge got[16];
      size_t k = 0, m = 0;
      qv_status s;
      if (batch) {
        while ((s = qv_cursor_next_edges(c, got + k, 3, &m)) == QV_OK) k += m;
      } else {
        while (k < 16 && (s = qv_cursor_next_edge(c, &got[k])) == QV_OK) k++;
      }
      CHECK(s == QV_DONE);
      size_t j = 0, bad = 0;
      for (size_t i = 0; i < nwant; i++) {
        if (stage >= 3 && want[i].id == a1) continue; /* deleted at stage 3 */
        if (j >= k || !edge_in(&got[j], want[i].id, want[i].src, want[i].dst, want[i].type))
          bad++;
        j++;
      }
      if (!CHECK(bad == 0 && j == k))
        printf("#   batch %d: %zu edges, %zu out of place\n", batch, k, bad);
      qv_cursor_free(c);
    }
    /* A type filter reads that type's group only, in id order. */
    qv_cursor *c = NULL;
    qv_edge e;
    CHECK_OK(qv_edges(t, hub, QV_OUT, "Z", &c));
    CHECK_OK(qv_cursor_next_edge(c, &e));
    CHECK(edge_in(&e, z1, hub, n[0], "Z"));
    CHECK_OK(qv_cursor_next_edge(c, &e));
    CHECK(edge_in(&e, z2, hub, n[3], "Z"));
    CHECK_STATUS(qv_cursor_next_edge(c, &e), QV_DONE);
    qv_cursor_free(c);
    if (stage == 0) {
      CHECK_OK(qv_txn_commit(w));
    } else {
      qv_txn_rollback(t);
    }
    if (stage == 1) CHECK_OK(qv_checkpoint(db));
    if (stage == 2) {
      qv_txn *d = qvt_begin(db, 0);
      CHECK_OK(qv_edge_delete(d, a1));
      CHECK_OK(qv_txn_commit(d));
    }
    if (stage == 3) qvt_reopen(&db, path, QV_SYNC_NORMAL);
  }
  qvt_finish(db, path);
}
