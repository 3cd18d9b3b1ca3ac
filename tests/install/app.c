/*
 * app.c: a program that uses an installed libquiver, built by tests/install/run.sh through
 * pkg-config and CMake. It checks that the header and the library are the same version,
 * writes a small graph in a transaction, commits, reads it back, then reopens the database
 * (recovery) and reads it again.
 *
 * Usage: app DIR   (DIR must not exist yet; the program leaves it behind)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"

static void check(qv_status st, const char *call, int line) {
  if (st == QV_OK) return;
  char msg[512];
  size_t len = 0;
  qv_last_error(msg, sizeof msg, &len);
  fprintf(stderr, "app.c:%d: %s: %s: %s\n", line, call, qv_status_str(st), msg);
  exit(1);
}
#define CHECK(call) check((call), #call, __LINE__)

static void fail(const char *what) {
  fprintf(stderr, "app.c: %s\n", what);
  exit(1);
}

/* Reads node `id` back: its label, its "name" and its one out-edge to `friend_id`. */
static void read_back(qv_db *db, qv_node_id id, qv_node_id friend_id) {
  qv_txn *txn;
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
  const char *label;
  CHECK(qv_node_label(txn, id, &label));
  if (strcmp(label, "Person") != 0) fail("wrong label");
  qv_value name;
  CHECK(qv_node_get(txn, id, "name", &name));
  if (name.type != QV_TYPE_STRING || name.as.bytes.len != 5 ||
      memcmp(name.as.bytes.ptr, "alice", 5) != 0)
    fail("wrong name");
  qv_cursor *cur;
  qv_edge edge;
  CHECK(qv_edges(txn, id, QV_OUT, "KNOWS", &cur));
  CHECK(qv_cursor_next_edge(cur, &edge));
  if (edge.dst != friend_id) fail("wrong edge");
  if (qv_cursor_next_edge(cur, &edge) != QV_DONE) fail("more than one edge");
  qv_cursor_free(cur);
  qv_txn_rollback(txn);
}

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: app DIR");
  if (strcmp(qv_version(), QV_VERSION_STRING) != 0) fail("header and library versions differ");

  qv_db *db;
  CHECK(qv_open(argv[1], NULL, &db));
  qv_txn *txn;
  CHECK(qv_txn_begin(db, 0, &txn));
  qv_node_id alice, bob;
  qv_edge_id e;
  CHECK(qv_node_insert(txn, "Person", &alice));
  CHECK(qv_node_insert(txn, "Person", &bob));
  qv_value name;
  memset(&name, 0, sizeof name);
  name.type = QV_TYPE_STRING;
  name.as.bytes.ptr = (const uint8_t *)"alice";
  name.as.bytes.len = 5;
  CHECK(qv_node_set(txn, alice, "name", &name));
  CHECK(qv_edge_insert(txn, alice, bob, "KNOWS", &e));
  CHECK(qv_txn_commit(txn));
  read_back(db, alice, bob);
  CHECK(qv_close(db));

  CHECK(qv_open(argv[1], NULL, &db));
  read_back(db, alice, bob);
  CHECK(qv_close(db));
  printf("C program, libquiver %s: wrote, committed, read back, reopened: ok\n", qv_version());
  return 0;
}
