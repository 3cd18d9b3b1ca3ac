#include "harness.h"

#include <string.h>

void test_basic_graph(void) {
  const char *path = qvt_tmpdir("basic");
  qv_options opts;
  qv_options_init(&opts);
  qv_db *db = NULL;
  CHECK_OK(qv_open(path, &opts, &db));
  qv_txn *txn = qvt_begin(db, 0);
  qv_node_id a = 0, b = 0;
  CHECK_OK(qv_node_insert(txn, "Person", &a));
  CHECK_OK(qv_node_insert(txn, "Person", &b));
  CHECK(a == 1 && b == 2);
  qv_value v = {.type = QV_TYPE_STRING, .as.bytes = {(const uint8_t *)"alice", 5}};
  CHECK_OK(qv_node_set(txn, a, "name", &v));
  qv_edge_id e = 0;
  CHECK_OK(qv_edge_insert(txn, a, b, "KNOWS", &e));
  CHECK_OK(qv_txn_commit(txn));

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
  qv_value out;
  CHECK_OK(qv_node_get(txn, a, "name", &out));
  CHECK(out.type == QV_TYPE_STRING && out.as.bytes.len == 5 && memcmp(out.as.bytes.ptr, "alice", 5) == 0);
  qv_cursor *c = NULL;
  CHECK_OK(qv_edges(txn, a, QV_OUT, NULL, &c));
  qv_edge edge;
  CHECK_OK(qv_cursor_next_edge(c, &edge));
  CHECK(edge.id == e && edge.src == a && edge.dst == b && strcmp(edge.type, "KNOWS") == 0);
  CHECK_STATUS(qv_cursor_next_edge(c, &edge), QV_DONE);
  qv_txn_rollback(txn);
  CHECK_STATUS(qv_cursor_next_edge(c, &edge), QV_MISUSE);
  qv_cursor_free(c);
  qvt_finish(db, path);
}
