/*
 * The C side of python/bench/bench.py: the same operations, straight through the C API.
 * Prints one line per measurement: "<name> <nanoseconds per operation>".
 *
 *   bench_c DB_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quiver.h"

#define REPEATS 5
#define CALLS 1000000
#define INSERTS 100000
#define GETS 200000
#define SCAN_EDGES 10000
#define SCANS 50

static void check(qv_status st, const char *what) {
  if (st == QV_OK) return;
  char msg[512];
  size_t len;
  qv_last_error(msg, sizeof msg, &len);
  fprintf(stderr, "%s: %s: %s\n", what, qv_status_str(st), msg);
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other load on the machine does not count */
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *name, double best_ns_per_op) {
  printf("%s %.1f\n", name, best_ns_per_op);
}

static volatile uintptr_t sink;

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_c DB_DIR\n");
    return 2;
  }
  char path[4096];
  qv_db *db;
  qv_options opts;
  qv_options_init(&opts);
  opts.sync = QV_SYNC_OFF;

  /* One call into the library: qv_version, which does nothing but return a pointer. */
  double best = 1e300;
  for (int r = 0; r < REPEATS; r++) {
    double t0 = now_ns();
    for (int i = 0; i < CALLS; i++) sink += (uintptr_t)qv_version();
    double t = (now_ns() - t0) / CALLS;
    if (t < best) best = t;
  }
  report("call_qv_version", best);

  /* Node inserts in one write transaction (commit not counted); fresh database each time. */
  best = 1e300;
  double best_props = 1e300;
  for (int r = 0; r < REPEATS; r++) {
    snprintf(path, sizeof path, "%s/insert-%d", argv[1], r);
    check(qv_open(path, &opts, &db), "open");
    qv_txn *txn;
    qv_node_id id;
    check(qv_txn_begin(db, 0, &txn), "begin");
    double t0 = now_ns();
    for (int i = 0; i < INSERTS; i++) check(qv_node_insert(txn, "Node", &id), "insert");
    double t = (now_ns() - t0) / INSERTS;
    if (t < best) best = t;
    /* With two properties (an int and a short string), as create_node(label, props). */
    t0 = now_ns();
    for (int i = 0; i < INSERTS; i++) {
      check(qv_node_insert(txn, "Node", &id), "insert");
      qv_value vi = {.type = QV_TYPE_INT, .as.i = i};
      qv_value vs = {.type = QV_TYPE_STRING, .as.bytes = {(const uint8_t *)"value", 5}};
      check(qv_node_set(txn, id, "num", &vi), "set");
      check(qv_node_set(txn, id, "name", &vs), "set");
    }
    t = (now_ns() - t0) / INSERTS;
    if (t < best_props) best_props = t;
    check(qv_txn_commit(txn), "commit");
    check(qv_close(db), "close");
  }
  report("node_insert", best);
  report("node_insert_2_props", best_props);

  /* Property gets, the label, and a 10k-edge scan, in a read transaction. */
  snprintf(path, sizeof path, "%s/read", argv[1]);
  check(qv_open(path, &opts, &db), "open");
  qv_txn *txn;
  qv_node_id hub, leaf;
  qv_edge_id e;
  check(qv_txn_begin(db, 0, &txn), "begin");
  check(qv_node_insert(txn, "Hub", &hub), "insert");
  qv_value vi = {.type = QV_TYPE_INT, .as.i = 42};
  qv_value vs = {.type = QV_TYPE_STRING, .as.bytes = {(const uint8_t *)"a short string", 14}};
  check(qv_node_set(txn, hub, "num", &vi), "set");
  check(qv_node_set(txn, hub, "name", &vs), "set");
  for (int i = 0; i < SCAN_EDGES; i++) {
    check(qv_node_insert(txn, "Leaf", &leaf), "insert");
    check(qv_edge_insert(txn, hub, leaf, "LINKS", &e), "edge");
  }
  check(qv_txn_commit(txn), "commit");

  check(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn), "begin read");
  double best_int = 1e300, best_str = 1e300, best_label = 1e300;
  for (int r = 0; r < REPEATS; r++) {
    qv_value out;
    double t0 = now_ns();
    for (int i = 0; i < GETS; i++) {
      check(qv_node_get(txn, hub, "num", &out), "get");
      sink += (uintptr_t)out.as.i;
    }
    double t = (now_ns() - t0) / GETS;
    if (t < best_int) best_int = t;
    t0 = now_ns();
    char copy[64];
    for (int i = 0; i < GETS; i++) {
      check(qv_node_get(txn, hub, "name", &out), "get");
      memcpy(copy, out.as.bytes.ptr, out.as.bytes.len); /* the copy Python makes too */
      sink += (uintptr_t)copy[0];
    }
    t = (now_ns() - t0) / GETS;
    if (t < best_str) best_str = t;
    const char *label;
    t0 = now_ns();
    for (int i = 0; i < GETS; i++) {
      check(qv_node_label(txn, hub, &label), "label");
      sink += (uintptr_t)label;
    }
    t = (now_ns() - t0) / GETS;
    if (t < best_label) best_label = t;
  }
  report("get_int", best_int);
  report("get_str", best_str);
  report("label", best_label);

  double best_batch = 1e300, best_single = 1e300;
  for (int r = 0; r < REPEATS; r++) {
    qv_edge buf[512];
    size_t n;
    double t0 = now_ns();
    for (int s = 0; s < SCANS; s++) {
      qv_cursor *c;
      size_t total = 0;
      qv_status st;
      check(qv_edges(txn, hub, QV_OUT, NULL, &c), "edges");
      while ((st = qv_cursor_next_edges(c, buf, 512, &n)) == QV_OK) {
        for (size_t i = 0; i < n; i++) sink += buf[i].dst;
        total += n;
      }
      if (st != QV_DONE) check(st, "next_edges");
      qv_cursor_free(c);
      if (total != SCAN_EDGES) exit(3);
    }
    double t = (now_ns() - t0) / SCANS;
    if (t < best_batch) best_batch = t;
    t0 = now_ns();
    for (int s = 0; s < SCANS; s++) {
      qv_cursor *c;
      qv_edge edge;
      qv_status st;
      check(qv_edges(txn, hub, QV_OUT, NULL, &c), "edges");
      while ((st = qv_cursor_next_edge(c, &edge)) == QV_OK) sink += edge.dst;
      if (st != QV_DONE) check(st, "next_edge");
      qv_cursor_free(c);
    }
    t = (now_ns() - t0) / SCANS;
    if (t < best_single) best_single = t;
  }
  report("scan_10k_edges", best_batch);
  report("scan_10k_edges_one_by_one", best_single);
  qv_txn_rollback(txn);
  check(qv_close(db), "close");
  return 0;
}
