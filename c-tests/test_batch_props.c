/* API 0.2 reads: batch cursors (qv_cursor_next_edges, qv_cursor_next_nodes) and property
 * listing (qv_node_props, qv_edge_props, qv_cursor_next_prop). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define HUB_EDGES 2500

/* Every edge of `node` read one at a time, as the reference the batches must match. */
static size_t read_one_by_one(qv_txn *t, qv_node_id node, qv_dir dir, const char *type,
                              qv_edge *out, size_t cap) {
  qv_cursor *c = NULL;
  size_t n = 0;
  if (qv_edges(t, node, dir, type, &c) != QV_OK) return (size_t)-1;
  while (n < cap && qv_cursor_next_edge(c, &out[n]) == QV_OK) n++;
  qv_cursor_free(c);
  return n;
}

static int same_edge(const qv_edge *a, const qv_edge *b) {
  return a->id == b->id && a->src == b->src && a->dst == b->dst && a->type && b->type &&
         strcmp(a->type, b->type) == 0;
}

void test_batch_edges_and_nodes(void) {
  QVT_FRESH_WRITE("batch", db, path, w);
  qv_node_id hub = 0, leaf[50];
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  for (int i = 0; i < 50; i++) CHECK_OK(qv_node_insert(w, i % 2 ? "Odd" : "Even", &leaf[i]));
  int ins_ok = 1;
  for (int i = 0; i < HUB_EDGES; i++) {
    qv_edge_id e;
    if (qv_edge_insert(w, hub, leaf[i % 50], i % 3 ? "A" : "B", &e) != QV_OK) ins_ok = 0;
  }
  CHECK(ins_ok);
  CHECK_OK(qv_txn_commit(w));

  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  static qv_edge want[HUB_EDGES + 1], got[HUB_EDGES + 1];
  size_t nwant = read_one_by_one(r, hub, QV_OUT, NULL, want, HUB_EDGES + 1);
  CHECK(nwant == HUB_EDGES);

  /* Several batch sizes, each yielding exactly the one-by-one sequence. */
  const size_t caps[] = {1, 7, 64, 1000, HUB_EDGES + 1};
  for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
    qv_cursor *c = NULL;
    CHECK_OK(qv_edges(r, hub, QV_OUT, NULL, &c));
    size_t total = 0, n = 0, calls = 0;
    qv_status s;
    int bounded = 1;
    while ((s = qv_cursor_next_edges(c, got + total, caps[k], &n)) == QV_OK) {
      if (n == 0 || n > caps[k]) bounded = 0;
      total += n;
      calls++;
      if (total > HUB_EDGES) break;
    }
    CHECK(s == QV_DONE && n == 0);
    CHECK(bounded);
    CHECK(total == nwant);
    CHECK(calls == (nwant + caps[k] - 1) / caps[k]);
    int same = 1;
    for (size_t i = 0; i < total && i < nwant; i++) same &= same_edge(&got[i], &want[i]);
    CHECK(same);
    /* Stays done. */
    n = 99;
    CHECK_STATUS(qv_cursor_next_edges(c, got, 4, &n), QV_DONE);
    CHECK(n == 0);
    qv_cursor_free(c);
  }

  /* Mixed with the one-item call: each edge once, in order. */
  {
    qv_cursor *c = NULL;
    CHECK_OK(qv_edges(r, hub, QV_OUT, "B", &c));
    qv_edge ref[HUB_EDGES];
    size_t nref = read_one_by_one(r, hub, QV_OUT, "B", ref, HUB_EDGES);
    CHECK(nref == (HUB_EDGES + 2) / 3);
    size_t total = 0, n = 0;
    int same = 1, turn = 0;
    for (;;) {
      qv_status s;
      if (turn++ % 2) {
        s = qv_cursor_next_edge(c, &got[total]);
        n = s == QV_OK;
      } else {
        s = qv_cursor_next_edges(c, &got[total], 5, &n);
      }
      if (s != QV_OK) {
        CHECK(s == QV_DONE);
        break;
      }
      total += n;
    }
    CHECK(total == nref);
    for (size_t i = 0; i < total && i < nref; i++) same &= same_edge(&got[i], &ref[i]);
    CHECK(same);
    qv_cursor_free(c);
  }

  /* Nodes in batches, with and without a label. */
  {
    qv_node_id ids[64];
    size_t n = 0, total = 0;
    qv_cursor *c = NULL;
    CHECK_OK(qv_nodes(r, NULL, &c));
    qv_node_id prev = 0;
    int ordered = 1;
    while (qv_cursor_next_nodes(c, ids, 16, &n) == QV_OK) {
      for (size_t i = 0; i < n; i++) {
        if (ids[i] <= prev) ordered = 0;
        prev = ids[i];
      }
      total += n;
    }
    CHECK(total == 51 && ordered);
    qv_cursor_free(c);
    CHECK_OK(qv_nodes(r, "Odd", &c));
    CHECK_OK(qv_cursor_next_nodes(c, ids, 64, &n));
    CHECK(n == 25 && ids[0] == leaf[1] && ids[24] == leaf[49]);
    CHECK_STATUS(qv_cursor_next_nodes(c, ids, 64, &n), QV_DONE);
    CHECK(n == 0);
    qv_cursor_free(c);
  }

  /* Bad arguments and misuse: *n is 0 after every failure. */
  {
    qv_cursor *ec = NULL, *nc = NULL;
    qv_node_id ids[4];
    size_t n = 77;
    CHECK_OK(qv_edges(r, hub, QV_IN, NULL, &ec));
    CHECK_OK(qv_nodes(r, NULL, &nc));
    CHECK_STATUS(qv_cursor_next_edges(ec, got, 0, &n), QV_INVALID_ARGUMENT);
    CHECK(n == 0);
    CHECK_ERR_HAS("cap");
    n = 77;
    CHECK_STATUS(qv_cursor_next_edges(ec, NULL, 4, &n), QV_NULL_ARGUMENT);
    CHECK(n == 0);
    CHECK_STATUS(qv_cursor_next_edges(ec, got, 4, NULL), QV_NULL_ARGUMENT);
    CHECK_STATUS(qv_cursor_next_edges(NULL, got, 4, &n), QV_NULL_ARGUMENT);
    n = 77;
    CHECK_STATUS(qv_cursor_next_nodes(ec, ids, 4, &n), QV_MISUSE);
    CHECK(n == 0);
    CHECK_STATUS(qv_cursor_next_edges(nc, got, 4, &n), QV_MISUSE);
    CHECK_STATUS(qv_cursor_next_nodes(nc, ids, 0, &n), QV_INVALID_ARGUMENT);
    /* The hub has no incoming edges: done at once. */
    n = 77;
    CHECK_STATUS(qv_cursor_next_edges(ec, got, 4, &n), QV_DONE);
    CHECK(n == 0);
    qv_txn_rollback(r);
    r = NULL;
    n = 77;
    CHECK_STATUS(qv_cursor_next_nodes(nc, ids, 4, &n), QV_MISUSE);
    CHECK(n == 0);
    CHECK_ERR_HAS("ended");
    CHECK_STATUS(qv_cursor_next_edges(ec, got, 4, &n), QV_MISUSE);
    qv_cursor_free(ec);
    qv_cursor_free(nc);
  }
  qvt_finish(db, path);
}

/* Reads every property through a qv_node_props / qv_edge_props cursor into parallel
 * arrays (keys and values copied into `keys`/`vals`); returns the count or -1. */
static int list_props(qv_txn *t, int edge, uint64_t id, char keys[][32], qv_value *vals,
                      char bufs[][64], int cap) {
  qv_cursor *c = NULL;
  qv_status s = edge ? qv_edge_props(t, id, &c) : qv_node_props(t, id, &c);
  if (s != QV_OK) return -1;
  int n = 0;
  qv_prop p;
  while (n < cap && (s = qv_cursor_next_prop(c, &p)) == QV_OK) {
    snprintf(keys[n], 32, "%s", p.key);
    vals[n] = p.value;
    if (p.value.type == QV_TYPE_STRING || p.value.type == QV_TYPE_BYTES) {
      size_t len = p.value.as.bytes.len < 64 ? p.value.as.bytes.len : 64;
      if (len) memcpy(bufs[n], p.value.as.bytes.ptr, len);
      vals[n].as.bytes.ptr = (const uint8_t *)bufs[n];
    }
    n++;
  }
  qv_cursor_free(c);
  return s == QV_DONE ? n : -1;
}

void test_props_listing(void) {
  QVT_FRESH_WRITE("props", db, path, w);
  qv_node_id a = 0, b = 0, bare = 0;
  qv_edge_id e = 0;
  CHECK_OK(qv_node_insert(w, "N", &a));
  CHECK_OK(qv_node_insert(w, "N", &b));
  CHECK_OK(qv_node_insert(w, "N", &bare));
  CHECK_OK(qv_edge_insert(w, a, b, "E", &e));
  qv_value vnull = {.type = QV_TYPE_NULL};
  qv_value vbool = {.type = QV_TYPE_BOOL, .as.b = true};
  qv_value vfloat = {.type = QV_TYPE_FLOAT, .as.f = -2.5};
  qv_value vbytes = {.type = QV_TYPE_BYTES, .as.bytes = {(const uint8_t *)"\0\1\2", 3}};
  qv_value vempty = {.type = QV_TYPE_STRING, .as.bytes = {NULL, 0}};
  CHECK_OK(qv_node_set(w, a, "i", &(qv_value){.type = QV_TYPE_INT, .as.i = INT64_MIN}));
  CHECK_OK(qv_node_set(w, a, "s", &(qv_value){.type = QV_TYPE_STRING,
                                               .as.bytes = {(const uint8_t *)"héllo", 6}}));
  CHECK_OK(qv_node_set(w, a, "n", &vnull));
  CHECK_OK(qv_node_set(w, a, "b", &vbool));
  CHECK_OK(qv_node_set(w, a, "f", &vfloat));
  CHECK_OK(qv_node_set(w, a, "y", &vbytes));
  CHECK_OK(qv_node_set(w, a, "e", &vempty));
  /* Setting "i" again moves it to the end; unsetting "b" removes it. */
  CHECK_OK(qv_node_set(w, a, "i", &(qv_value){.type = QV_TYPE_INT, .as.i = 42}));
  CHECK_OK(qv_node_unset(w, a, "b"));
  CHECK_OK(qv_edge_set(w, e, "w", &vfloat));
  CHECK_OK(qv_txn_commit(w));

  char keys[16][32], bufs[16][64];
  qv_value vals[16];
  for (int pass = 0; pass < 2; pass++) {
    /* Before and after a checkpoint (in memory, then from the data files). */
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    int n = list_props(r, 0, a, keys, vals, bufs, 16);
    CHECK(n == 6);
    const char *order[] = {"s", "n", "f", "y", "e", "i"};
    int order_ok = n == 6;
    for (int i = 0; i < n && i < 6; i++) order_ok &= strcmp(keys[i], order[i]) == 0;
    CHECK(order_ok);
    if (n == 6) {
      CHECK(vals[0].type == QV_TYPE_STRING && vals[0].as.bytes.len == 6 &&
            memcmp(vals[0].as.bytes.ptr, "héllo", 6) == 0);
      CHECK(vals[1].type == QV_TYPE_NULL);
      CHECK(vals[2].type == QV_TYPE_FLOAT && vals[2].as.f == -2.5);
      CHECK(vals[3].type == QV_TYPE_BYTES && vals[3].as.bytes.len == 3 &&
            memcmp(vals[3].as.bytes.ptr, "\0\1\2", 3) == 0);
      CHECK(vals[4].type == QV_TYPE_STRING && vals[4].as.bytes.len == 0);
      CHECK(vals[5].type == QV_TYPE_INT && vals[5].as.i == 42);
    }
    CHECK(list_props(r, 1, e, keys, vals, bufs, 16) == 1);
    CHECK(strcmp(keys[0], "w") == 0 && vals[0].type == QV_TYPE_FLOAT);
    CHECK(list_props(r, 0, bare, keys, vals, bufs, 16) == 0);

    /* No such record; the out-pointer is NULL afterwards. */
    qv_cursor *c = (qv_cursor *)0x1;
    CHECK_STATUS(qv_node_props(r, 9999, &c), QV_NOT_FOUND);
    CHECK(c == NULL);
    c = (qv_cursor *)0x1;
    CHECK_STATUS(qv_edge_props(r, 9999, &c), QV_NOT_FOUND);
    CHECK(c == NULL);
    CHECK_STATUS(qv_node_props(r, 0, &c), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_props(NULL, a, &c), QV_NULL_ARGUMENT);
    CHECK_STATUS(qv_node_props(r, a, NULL), QV_NULL_ARGUMENT);
    qv_txn_rollback(r);
    CHECK_OK(qv_checkpoint(db));
  }

  /* In a write transaction the cursor keeps the state it was opened on. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  qv_cursor *c = NULL;
  CHECK_OK(qv_node_props(w, a, &c));
  CHECK_OK(qv_node_set(w, a, "late", &vbool));
  CHECK_OK(qv_node_unset(w, a, "s"));
  qv_prop p;
  int n = 0, saw_late = 0, saw_s = 0;
  qv_status s;
  while ((s = qv_cursor_next_prop(c, &p)) == QV_OK) {
    saw_late |= strcmp(p.key, "late") == 0;
    saw_s |= strcmp(p.key, "s") == 0;
    n++;
  }
  CHECK(s == QV_DONE && n == 6 && saw_s && !saw_late);
  qv_cursor_free(c);
  CHECK(list_props(w, 0, a, keys, vals, bufs, 16) == 6); /* "s" gone, "late" added */

  /* Misuse: the wrong kind of cursor, and a cursor whose transaction ended. */
  qv_cursor *ec = NULL, *pc = NULL;
  CHECK_OK(qv_edges(w, a, QV_OUT, NULL, &ec));
  CHECK_OK(qv_edge_props(w, e, &pc));
  memset(&p, 0x5A, sizeof p);
  CHECK_STATUS(qv_cursor_next_prop(ec, &p), QV_MISUSE);
  CHECK(p.key == NULL && p.value.type == QV_TYPE_NULL);
  qv_edge ed;
  CHECK_STATUS(qv_cursor_next_edge(pc, &ed), QV_MISUSE);
  size_t nn = 5;
  CHECK_STATUS(qv_cursor_next_edges(pc, &ed, 1, &nn), QV_MISUSE);
  CHECK_STATUS(qv_cursor_next_prop(pc, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_cursor_next_prop(NULL, &p), QV_NULL_ARGUMENT);
  qv_txn_rollback(w);
  CHECK_STATUS(qv_cursor_next_prop(pc, &p), QV_MISUSE);
  CHECK_ERR_HAS("ended");
  qv_cursor_free(ec);
  qv_cursor_free(pc);
  qvt_finish(db, path);
}

/* qv_digest: the documented encoding's value for a small graph (the same graph and value
 * as tests/digest.rs, computed independently), equal across history, zeroed on failure. */
void test_digest(void) {
  QVT_FRESH_WRITE("digest", db, path, w);
  qv_node_id a = 0, b = 0, c = 0;
  qv_edge_id e = 0;
  CHECK_OK(qv_node_insert(w, "Person", &a));
  CHECK_OK(qv_node_insert(w, "Tmp", &b));
  CHECK_OK(qv_node_insert(w, "City", &c));
  CHECK_OK(qv_node_set(w, a, "age", &(qv_value){.type = QV_TYPE_INT, .as.i = 34}));
  CHECK_OK(qv_node_set(w, a, "name", &(qv_value){.type = QV_TYPE_STRING,
                                                  .as.bytes = {(const uint8_t *)"Ann", 3}}));
  CHECK_OK(qv_node_delete(w, b, QV_DETACH));
  CHECK_OK(qv_edge_insert(w, a, c, "LIVES_IN", &e));
  CHECK_OK(qv_edge_set(w, e, "since", &(qv_value){.type = QV_TYPE_FLOAT, .as.f = -0.0}));
  CHECK_OK(qv_edge_set(w, e, "note", &(qv_value){.type = QV_TYPE_NULL}));
  CHECK_OK(qv_edge_set(w, e, "raw", &(qv_value){.type = QV_TYPE_BYTES,
                                                 .as.bytes = {(const uint8_t *)"\0\1", 2}}));
  CHECK_OK(qv_edge_set(w, e, "ok", &(qv_value){.type = QV_TYPE_BOOL, .as.b = true}));
  uint8_t in_write[32];
  CHECK_OK(qv_digest(w, in_write));
  CHECK_OK(qv_txn_commit(w));

  static const char want[] = "b9b0492deb1f7c187a203d3bb3532894a9be85fc5c520ae73233a7d6b7ce6d14";
  char hex[65];
  uint8_t d[32];
  qv_txn *r = NULL;
  for (int round = 0; round < 2; round++) {
    CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
    memset(d, 0x5A, sizeof d);
    CHECK_OK(qv_digest(r, d));
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    CHECK(strcmp(hex, want) == 0);
    CHECK(memcmp(d, in_write, 32) == 0);
    qv_txn_rollback(r);
    CHECK_OK(qv_checkpoint(db)); /* the same after a checkpoint */
  }

  /* A change changes it; failures leave zeros and name the argument. */
  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_set(w, a, "age", &(qv_value){.type = QV_TYPE_INT, .as.i = 35}));
  CHECK_OK(qv_digest(w, d));
  CHECK(memcmp(d, in_write, 32) != 0);
  qv_txn_rollback(w);
  memset(d, 0x5A, sizeof d);
  CHECK_STATUS(qv_digest(NULL, d), QV_NULL_ARGUMENT);
  int zero = 1;
  for (int i = 0; i < 32; i++) zero &= d[i] == 0;
  CHECK(zero);
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  CHECK_STATUS(qv_digest(r, NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("out");
  qv_txn_rollback(r);
  qvt_finish(db, path);
}

/* qv_node_insert_with / qv_edge_insert_with: test_digest's graph built with them gives the
 * same digest; a key given twice keeps its last value; bad input fails the whole call with
 * no effect (the next insert gets the id the failed one would have had). */
void test_insert_with(void) {
  QVT_FRESH_WRITE("insert_with", db, path, w);
  const qv_prop person[] = {
      {"age", {.type = QV_TYPE_INT, .as.i = 1}},
      {"name", {.type = QV_TYPE_STRING, .as.bytes = {(const uint8_t *)"Ann", 3}}},
      {"age", {.type = QV_TYPE_INT, .as.i = 34}}, /* the last value wins */
  };
  const qv_prop lives_in[] = {
      {"since", {.type = QV_TYPE_FLOAT, .as.f = -0.0}},
      {"note", {.type = QV_TYPE_NULL}},
      {"raw", {.type = QV_TYPE_BYTES, .as.bytes = {(const uint8_t *)"\0\1", 2}}},
      {"ok", {.type = QV_TYPE_BOOL, .as.b = true}},
  };
  qv_node_id a = 0, b = 0, c = 0;
  qv_edge_id e = 0;
  CHECK_OK(qv_node_insert_with(w, "Person", person, 3, &a));
  CHECK_OK(qv_node_insert_with(w, "Tmp", NULL, 0, &b)); /* NULL props with n == 0 */
  CHECK_OK(qv_node_insert_with(w, "City", lives_in, 0, &c));
  CHECK(a == 1 && b == 2 && c == 3);
  CHECK_OK(qv_node_delete(w, b, QV_DETACH));
  CHECK_OK(qv_edge_insert_with(w, a, c, "LIVES_IN", lives_in, 4, &e));
  CHECK(e == 1);
  qv_value v;
  CHECK_OK(qv_node_get(w, a, "age", &v));
  CHECK(v.type == QV_TYPE_INT && v.as.i == 34);

  /* Bad input: nothing happens, and out is zeroed. */
  const qv_prop null_key[] = {{"ok", {.type = QV_TYPE_INT, .as.i = 1}},
                              {NULL, {.type = QV_TYPE_INT, .as.i = 2}}};
  const qv_prop bad_type[] = {{"ok", {.type = QV_TYPE_INT, .as.i = 1}}, {"t", {.type = 99}}};
  const qv_prop empty_key[] = {{"", {.type = QV_TYPE_INT, .as.i = 1}}};
  const qv_prop bad_utf8[] = {
      {"s", {.type = QV_TYPE_STRING, .as.bytes = {(const uint8_t *)"\xff", 1}}}};
  qv_node_id n = 77;
  qv_edge_id x = 77;
  CHECK_STATUS(qv_node_insert_with(w, "L", NULL, 1, &n), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("props");
  CHECK(n == 0);
  CHECK_STATUS(qv_node_insert_with(w, "L", null_key, 2, &n), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("props[1].key");
  CHECK_STATUS(qv_node_insert_with(w, "L", bad_type, 2, &n), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert_with(w, "L", empty_key, 1, &n), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert_with(w, "L", bad_utf8, 1, &n), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert_with(w, "", person, 3, &n), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_node_insert_with(w, "L", person, 3, NULL), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_edge_insert_with(w, a, c, "T", NULL, 2, &x), QV_NULL_ARGUMENT);
  CHECK(x == 0);
  CHECK_STATUS(qv_edge_insert_with(w, a, c, "T", bad_type, 2, &x), QV_INVALID_ARGUMENT);
  CHECK_STATUS(qv_edge_insert_with(w, a, 99, "T", lives_in, 4, &x), QV_NOT_FOUND);
  CHECK_STATUS(qv_edge_insert_with(w, a, c, NULL, lives_in, 4, &x), QV_NULL_ARGUMENT);
  CHECK_STATUS(qv_node_insert_with(NULL, "L", person, 3, &n), QV_NULL_ARGUMENT);
  CHECK(qvt_count_nodes(w, NULL) == 2);
  CHECK(qvt_count_edges(w, a, QV_OUT, NULL) == 1);

  uint8_t d[32];
  CHECK_OK(qv_digest(w, d));
  CHECK_OK(qv_txn_commit(w));
  static const char want[] = "b9b0492deb1f7c187a203d3bb3532894a9be85fc5c520ae73233a7d6b7ce6d14";
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  CHECK(strcmp(hex, want) == 0);

  /* The next ids are the ones the failed calls did not take; a reader cannot insert. */
  w = qvt_begin(db, 0);
  CHECK_OK(qv_node_insert_with(w, "L", person, 3, &n));
  CHECK(n == 4);
  CHECK_OK(qv_edge_insert_with(w, n, n, "SELF", lives_in, 4, &x));
  CHECK(x == 2);
  CHECK_OK(qv_txn_commit(w));
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_STATUS(qv_node_insert_with(r, "L", person, 3, &n), QV_READ_ONLY);
  qv_txn_rollback(r);

  /* Recovery replays them: reopen and read back. */
  qvt_reopen(&db, path, QV_SYNC_NORMAL);
  r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_OK(qv_node_get(r, 4, "name", &v));
  CHECK(v.type == QV_TYPE_STRING && v.as.bytes.len == 3 && memcmp(v.as.bytes.ptr, "Ann", 3) == 0);
  CHECK_OK(qv_edge_get_prop(r, 2, "ok", &v));
  CHECK(v.type == QV_TYPE_BOOL && v.as.b);
  qv_txn_rollback(r);
  qvt_finish(db, path);
}
