/* GW1 on Quiver, through its public C API (include/quiver.h), linked against the release
 * static library.
 *
 * The fast path is the plain API with default options: sync FULL (every commit is fsynced
 * before qv_txn_commit returns; concurrent commits share fsyncs), the default 64 MiB
 * checkpoint interval, interned label/type/key strings. A node's ref is the id Quiver
 * assigns. Reads run in one read-only transaction; a neighbour scan is a qv_edges cursor
 * read in batches of SCAN_BATCH edges (qv_cursor_next_edges), as LMDB's driver reads a page
 * of neighbours per call (MDB_GET_MULTIPLE).
 *
 * Labelled graph (LS, UR): a label scan is a qv_nodes cursor on the label read in batches
 * of SCAN_BATCH ids (qv_cursor_next_nodes), then qv_node_get of age and name per node; an
 * update is qv_node_set of the name. UR measures the size after qv_close, whose final
 * checkpoint retires the log, so the log does not count (qv_checkpoint alone would not do:
 * it leaves the current log segment, up to segment_bytes, on disk).
 */
#include "gw1.h"

#include <quiver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const SYS_NAME = "quiver";

struct sys {
  qv_db *db;
  int owner;   /* 1 for the handle sys_open returned, 0 for sys_attach's */
  qv_txn *rd;  /* the read transaction between sys_read_begin and sys_read_end */
};

static void check(qv_status st, const char *what) {
  if (st == QV_OK) return;
  char msg[512];
  size_t len;
  qv_last_error(msg, sizeof msg, &len);
  gw_die("%s: %s: %s", what, qv_status_str(st), msg);
}

static sys *new_handle(qv_db *db, int owner) {
  sys *s = calloc(1, sizeof *s);
  if (!s) gw_die("out of memory");
  s->db = db;
  s->owner = owner;
  return s;
}

sys *sys_open(const char *dir, int create) {
  char path[4096];
  snprintf(path, sizeof path, "%s/quiver", dir);
  qv_options o;
  qv_options_init(&o);
  o.flags = create ? QV_OPEN_CREATE : 0;
  o.busy_timeout_ms = 600000; /* W2x8: eight writers queue for the writer lock */
  qv_db *db;
  check(qv_open(path, &o, &db), "qv_open");
  /* What recovery did, when it replayed anything (W6): on stderr, not in the results. */
  qv_recovery_stats rs;
  if (qv_last_recovery(db, &rs) == QV_OK && rs.txns_replayed > 0)
    fprintf(stderr, "[quiver] recovery replayed %llu transactions, %llu bytes of log in %llu us (%.1f MB/s)\n",
            (unsigned long long)rs.txns_replayed, (unsigned long long)rs.wal_bytes_scanned,
            (unsigned long long)rs.micros, rs.micros ? (double)rs.wal_bytes_scanned / (double)rs.micros : 0.0);
  return new_handle(db, 1);
}

void sys_close(sys *s) {
  check(qv_close(s->db), "qv_close");
  free(s);
}

sys *sys_attach(sys *s) { return new_handle(s->db, 0); }

void sys_detach(sys *t) { free(t); }

static qv_txn *begin_write(sys *s) {
  qv_txn *t;
  check(qv_txn_begin(s->db, 0, &t), "qv_txn_begin");
  return t;
}

enum { SCAN_BATCH = 256 };

/* W1 inserts each node and edge with its properties in one call (qv_*_insert_with: one
 * log frame, one property blob, instead of an insert and a set per property). */
static qv_node_id insert_node(qv_txn *t, const char *label, uint64_t index) {
  qv_node_id id;
  char name[24];
  qv_prop props[2] = {
      {"age", {.type = QV_TYPE_INT, .as.i = gw_age(index)}},
      {"name", {.type = QV_TYPE_STRING}},
  };
  props[1].value.as.bytes.ptr = (const uint8_t *)name;
  props[1].value.as.bytes.len = gw_name(index, name);
  check(qv_node_insert_with(t, label, props, 2, &id), "qv_node_insert_with");
  return id;
}

static void insert_edge(qv_txn *t, uint64_t src, uint64_t dst, uint64_t edge_index) {
  qv_edge_id id;
  qv_prop since = {"since", {.type = QV_TYPE_INT, .as.i = gw_since(edge_index)}};
  check(qv_edge_insert_with(t, src, dst, "KNOWS", &since, 1, &id), "qv_edge_insert_with");
}

void sys_load_nodes(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  qv_txn *t = begin_write(s);
  for (uint64_t i = from; i < to; i++) refs[i] = insert_node(t, "Person", i);
  check(qv_txn_commit(t), "qv_txn_commit");
}

void sys_load_edges(sys *s, const gw_edge *e, size_t n, uint64_t first) {
  qv_txn *t = begin_write(s);
  for (size_t k = 0; k < n; k++) insert_edge(t, e[k].src, e[k].dst, first + k);
  check(qv_txn_commit(t), "qv_txn_commit");
}

uint64_t sys_small_txn(sys *s, uint64_t index, uint64_t dst_ref, uint64_t edge_index) {
  qv_txn *t = begin_write(s);
  qv_node_id id = insert_node(t, "Person", index);
  insert_edge(t, id, dst_ref, edge_index);
  check(qv_txn_commit(t), "qv_txn_commit");
  return id;
}

void sys_read_begin(sys *s) { check(qv_txn_begin(s->db, QV_TXN_READ_ONLY, &s->rd), "qv_txn_begin"); }

void sys_read_end(sys *s) {
  check(qv_txn_commit(s->rd), "qv_txn_commit (read)");
  s->rd = NULL;
}

int64_t sys_read_age(sys *s, uint64_t ref) {
  qv_value v;
  check(qv_node_get(s->rd, ref, "age", &v), "qv_node_get");
  if (v.type != QV_TYPE_INT) gw_die("node %llu: age is not an integer", (unsigned long long)ref);
  return v.as.i;
}

void sys_out(sys *s, uint64_t ref, gw_vec *out) {
  qv_cursor *c;
  check(qv_edges(s->rd, ref, QV_OUT, NULL, &c), "qv_edges");
  qv_edge batch[SCAN_BATCH];
  size_t n;
  qv_status st;
  while ((st = qv_cursor_next_edges(c, batch, SCAN_BATCH, &n)) == QV_OK)
    for (size_t k = 0; k < n; k++) gw_vec_push(out, batch[k].dst);
  qv_cursor_free(c);
  if (st != QV_DONE) check(st, "qv_cursor_next_edges");
}

int sys_has_node(sys *s, uint64_t ref, uint64_t index) {
  qv_value v;
  qv_status st = qv_node_get(s->rd, ref, "name", &v);
  if (st == QV_NOT_FOUND) return 0;
  check(st, "qv_node_get");
  char name[24];
  size_t len = gw_name(index, name);
  return v.type == QV_TYPE_STRING && v.as.bytes.len == len && memcmp(v.as.bytes.ptr, name, len) == 0;
}

void sys_delete_nodes(sys *s, const uint64_t *refs, size_t n) {
  qv_txn *t = begin_write(s);
  for (size_t i = 0; i < n; i++) check(qv_node_delete(t, refs[i], QV_DETACH), "qv_node_delete");
  check(qv_txn_commit(t), "qv_txn_commit");
}

/* ---------- the labelled graph ---------- */

void sys_load_labelled(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  qv_txn *t = begin_write(s);
  for (uint64_t i = from; i < to; i++) refs[i] = insert_node(t, gw_label(i), i);
  check(qv_txn_commit(t), "qv_txn_commit");
}

static qv_value get_prop(qv_txn *t, qv_node_id id, const char *key, qv_type type) {
  qv_value v;
  check(qv_node_get(t, id, key, &v), "qv_node_get");
  if (v.type != type) gw_die("node %llu: %s has type %d", (unsigned long long)id, key, (int)v.type);
  return v;
}

void sys_scan_label(sys *s, unsigned label, gw_node_fn fn, void *ctx) {
  qv_cursor *c;
  check(qv_nodes(s->rd, gw_label_name(label), &c), "qv_nodes");
  qv_node_id ids[SCAN_BATCH];
  size_t n;
  qv_status st;
  while ((st = qv_cursor_next_nodes(c, ids, SCAN_BATCH, &n)) == QV_OK) {
    for (size_t i = 0; i < n; i++) {
      qv_value age = get_prop(s->rd, ids[i], "age", QV_TYPE_INT);
      qv_value name = get_prop(s->rd, ids[i], "name", QV_TYPE_STRING);
      fn(ctx, ids[i], age.as.i, (const char *)name.as.bytes.ptr, name.as.bytes.len);
    }
  }
  qv_cursor_free(c);
  if (st != QV_DONE) check(st, "qv_cursor_next_nodes");
}

void sys_rename(sys *s, uint64_t from, uint64_t to, const uint64_t *refs, int round) {
  qv_txn *t = begin_write(s);
  char name[GW_ROUND_NAME_CAP];
  qv_value v = {.type = QV_TYPE_STRING};
  v.as.bytes.ptr = (const uint8_t *)name;
  for (uint64_t i = from; i < to; i++) {
    v.as.bytes.len = gw_round_name(i, round, name);
    check(qv_node_set(t, refs[i], "name", &v), "qv_node_set");
  }
  check(qv_txn_commit(t), "qv_txn_commit");
}
