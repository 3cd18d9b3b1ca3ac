/* GW1 on LMDB (liblmdb 0.9.x), through its C API.
 *
 * Layout: one environment in directory `dir` (data.mdb, lock.mdb) with four named databases.
 *   nodes  key: node ref (size_t, MDB_INTEGERKEY)
 *          value: label code (1 byte) | age (int64, native order) | name bytes (no NUL)
 *   out    key: source ref (size_t), MDB_DUPSORT|MDB_DUPFIXED|MDB_INTEGERKEY|MDB_INTEGERDUP
 *          dups: (edge id << 32) | destination ref, one size_t per edge
 *   in     key: destination ref, the same flags; dups: (edge id << 32) | source ref
 *   edges  key: edge id (size_t, MDB_INTEGERKEY); value: since (int64) | type code (1 byte)
 *   labels key: label code (size_t), the same flags as out; dups: node ref (labelled graph)
 * A node's ref is its workload index. Labels and edge types are interned to one-byte codes
 * (the workload has one of each: LABEL_PERSON, TYPE_KNOWS). Refs and edge ids must be below
 * 2^32 so that an adjacency entry fits one size_t; the code checks this and dies otherwise.
 * Putting the edge id in the high half orders a node's dups by edge id, so a new edge (whose
 * id is larger than every stored one during the bulk load) always goes at the end of its
 * key's dup list.
 *
 * Labelled graph (LS, UR): labels "Label0".."Label7" have codes LABEL_FIRST + k; the
 * `labels` database is the label index (LMDB has none of its own), created by the first
 * sys_load_labelled, so W1's environment does not hold it. A label scan reads the label's
 * refs a page at a time (MDB_GET_MULTIPLE, as sys_out) and gets each node's value; an
 * update gets the value and puts it back with the new name (pages freed by a commit are
 * reused by later ones once no reader needs them).
 *
 * Durability: default environment flags (no MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP or
 * MDB_MAPASYNC), so every mdb_txn_commit of a write transaction writes and fdatasyncs the
 * data pages, then writes the meta page through a descriptor opened with O_DSYNC, before it
 * returns. (The driver counts the fdatasync, not the O_DSYNC write: one counted sync per
 * commit.) The map size is 64 GiB; the file only grows as pages are written.
 *
 * Fast paths (the ones LMDB's documentation offers for these access patterns):
 *   - MDB_APPEND for nodes (sys_load_nodes gets indices in ascending key order) and for edge
 *     properties (edge ids arrive ascending): no tree search, and full pages are not split
 *     50/50, so the bulk-loaded trees come out dense.
 *   - MDB_RESERVE for node and edge-property values: the value is encoded straight into the
 *     page instead of into a buffer that LMDB then copies.
 *   - MDB_APPENDDUP for the adjacency databases in sys_load_edges. Edges arrive in random
 *     key order, so sys_load_edges first sorts the batch by key (a stable radix sort, which
 *     keeps each key's edges in edge-id order) before inserting it: a legitimate bulk-load
 *     fast path, since it only reorders the puts inside one transaction. Each put then lands
 *     at the end of its key's dup list, and the tree is walked in key order. MDB_MULTIPLE is
 *     not used: a batch of 100,000 edges over 100,000 or more nodes holds about one edge per
 *     key, so there is nothing to group.
 *   - MDB_INTEGERKEY / MDB_INTEGERDUP: keys and dups compare as native integers.
 *   - MDB_GET_MULTIPLE / MDB_NEXT_MULTIPLE in sys_out: a whole page of fixed-size dups per
 *     call instead of one cursor step per edge.
 *   - MDB_NOTLS: a read transaction belongs to its handle, not to the thread that began it,
 *     and each handle from sys_attach has its own read-transaction state. All handles share
 *     the one MDB_env (LMDB forbids opening an environment twice in one process); write
 *     transactions from different handles serialize on LMDB's writer lock.
 */
#define _GNU_SOURCE
#include "gw1.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const SYS_NAME = "lmdb";

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "MDB_INTEGERKEY keys here are 64-bit size_t");

#define MAP_SIZE ((size_t)64 << 30)
#define REF_LIMIT ((uint64_t)1 << 32) /* refs and edge ids must be below this */
#define ADJ_NODE_MASK (REF_LIMIT - 1)

enum {
  LABEL_PERSON = 1,                     /* the interned label "Person" */
  LABEL_FIRST = 2,                      /* "Label<k>" of the labelled graph: LABEL_FIRST + k */
  TYPE_KNOWS = 1,                       /* the interned edge type "KNOWS" */
  NODE_HEADER = 1 + sizeof(int64_t),    /* label code, age; the name follows */
  EDGE_VALUE = sizeof(int64_t) + 1,     /* since, type code */
  NAME_MAX_LEN = 24,                    /* gw_name's buffer */
};

#define ADJ_FLAGS (MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERKEY | MDB_INTEGERDUP)

struct sys {
  MDB_env *env;
  MDB_dbi nodes, out, in, edges;
  MDB_dbi labels;     /* valid when has_labels */
  int has_labels;
  int owner;          /* 1 for the handle sys_open returned (it closes the env), 0 for attached */
  MDB_txn *rtxn;      /* the read transaction between sys_read_begin and sys_read_end */
  MDB_cursor *rout;   /* a cursor on `out` in rtxn, for sys_out */
  gw_vec scratch;     /* sys_delete_nodes: the adjacency entries of one node */
};

/* ---------- errors ---------- */

/* Dies with the failing call's text and LMDB's message unless rc is MDB_SUCCESS. */
#define CHECK(call)                                                          \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != MDB_SUCCESS)                                                  \
      gw_die("%s:%d: %s: %s", __FILE__, __LINE__, #call, mdb_strerror(rc_)); \
  } while (0)

static void check_ref(uint64_t ref, const char *what) {
  if (ref >= REF_LIMIT)
    gw_die("%s %" PRIu64 " does not fit an adjacency entry (limit 2^32)", what, ref);
}

static void need_read(const sys *s, const char *fn) {
  if (!s->rtxn) gw_die("%s called outside sys_read_begin/sys_read_end", fn);
}

/* ---------- encoding ---------- */

/* An MDB_val naming the integer key *k (MDB_INTEGERKEY wants a size_t in native order). */
static MDB_val int_val(size_t *k) { return (MDB_val){sizeof *k, k}; }

static uint64_t adj_pack(uint64_t edge, uint64_t node) { return edge << 32 | node; }

/* Writes node `index`'s value (label code `label`) into buf, which holds NODE_HEADER +
 * name_len bytes. */
static void node_encode(unsigned char *buf, unsigned label, uint64_t index, const char *name,
                        size_t name_len) {
  int64_t age = gw_age(index);
  buf[0] = (unsigned char)label;
  memcpy(buf + 1, &age, sizeof age);
  memcpy(buf + NODE_HEADER, name, name_len);
}

static void edge_encode(unsigned char *buf, uint64_t edge) {
  int64_t since = gw_since(edge);
  memcpy(buf, &since, sizeof since);
  buf[sizeof since] = TYPE_KNOWS;
}

/* ---------- puts shared by the bulk load and the small transactions ---------- */

/* Inserts node `index` with label code `label` through cursor c (on `nodes`); flags add
 * MDB_APPEND or MDB_NOOVERWRITE to MDB_RESERVE. */
static void put_node(MDB_cursor *c, unsigned label, uint64_t index, unsigned flags) {
  char name[NAME_MAX_LEN];
  size_t name_len = gw_name(index, name);
  size_t k = index;
  MDB_val key = int_val(&k), val = {NODE_HEADER + name_len, NULL};
  CHECK(mdb_cursor_put(c, &key, &val, flags | MDB_RESERVE));
  node_encode(val.mv_data, label, index, name, name_len);
}

/* Inserts edge `edge`'s properties through cursor c (on `edges`). */
static void put_edge_props(MDB_cursor *c, uint64_t edge, unsigned flags) {
  size_t k = edge;
  MDB_val key = int_val(&k), val = {EDGE_VALUE, NULL};
  CHECK(mdb_cursor_put(c, &key, &val, flags | MDB_RESERVE));
  edge_encode(val.mv_data, edge);
}

static void put_adj(MDB_cursor *c, uint64_t key_ref, uint64_t dup, unsigned flags) {
  size_t k = key_ref, d = dup;
  MDB_val key = int_val(&k), val = int_val(&d);
  CHECK(mdb_cursor_put(c, &key, &val, flags));
}

/* Appends the dups of key `ref` in the adjacency database of cursor c to `out`, whole or
 * (nodes_only) as the node ref in their low half. A page of dups per call. */
static void adj_read(MDB_cursor *c, uint64_t ref, gw_vec *out, int nodes_only) {
  size_t k = ref;
  MDB_val key = int_val(&k), val;
  int rc = mdb_cursor_get(c, &key, &val, MDB_SET);
  if (rc == MDB_NOTFOUND) return;
  CHECK(rc);
  /* With a single dup, MDB_GET_MULTIPLE leaves `val` as MDB_SET returned it (that dup). */
  for (rc = mdb_cursor_get(c, &key, &val, MDB_GET_MULTIPLE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &key, &val, MDB_NEXT_MULTIPLE)) {
    if (val.mv_size % sizeof(uint64_t) != 0)
      gw_die("adjacency of %" PRIu64 ": %zu bytes is not a whole number of entries", ref,
             val.mv_size);
    const unsigned char *p = val.mv_data;
    for (size_t i = 0; i < val.mv_size / sizeof(uint64_t); i++) {
      uint64_t dup;
      memcpy(&dup, p + i * sizeof dup, sizeof dup);
      gw_vec_push(out, nodes_only ? dup & ADJ_NODE_MASK : dup);
    }
  }
  if (rc != MDB_NOTFOUND) gw_die("reading the adjacency of %" PRIu64 ": %s", ref, mdb_strerror(rc));
}

/* ---------- transactions ---------- */

static MDB_txn *begin_write(const sys *s) {
  MDB_txn *txn;
  CHECK(mdb_txn_begin(s->env, NULL, 0, &txn));
  return txn;
}

static MDB_cursor *open_cursor(MDB_txn *txn, MDB_dbi dbi) {
  MDB_cursor *c;
  CHECK(mdb_cursor_open(txn, dbi, &c));
  return c;
}

/* ---------- open, close, handles ---------- */

static sys *new_handle(MDB_env *env, int owner) {
  sys *s = calloc(1, sizeof *s);
  if (!s) gw_die("out of memory");
  s->env = env;
  s->owner = owner;
  return s;
}

/* Opens (creating, when `create`) the four databases; their handles then serve every
 * transaction of the environment. Without `create` a read-only transaction suffices. */
static void open_dbis(sys *s, int create) {
  MDB_txn *txn;
  unsigned mk = create ? MDB_CREATE : 0;
  CHECK(mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn));
  CHECK(mdb_dbi_open(txn, "nodes", mk | MDB_INTEGERKEY, &s->nodes));
  CHECK(mdb_dbi_open(txn, "out", mk | ADJ_FLAGS, &s->out));
  CHECK(mdb_dbi_open(txn, "in", mk | ADJ_FLAGS, &s->in));
  CHECK(mdb_dbi_open(txn, "edges", mk | MDB_INTEGERKEY, &s->edges));
  if (!create) { /* present only in the labelled graph's environment */
    int rc = mdb_dbi_open(txn, "labels", ADJ_FLAGS, &s->labels);
    if (rc != MDB_NOTFOUND) CHECK(rc);
    s->has_labels = rc == MDB_SUCCESS;
  }
  CHECK(mdb_txn_commit(txn));
}

sys *sys_open(const char *dir, int create) {
  if (!create) {
    /* mdb_env_open would create an empty environment; opening an existing one must not. */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) != 0) gw_die("cannot open %s: %s", path, strerror(errno));
  }
  MDB_env *env;
  CHECK(mdb_env_create(&env));
  CHECK(mdb_env_set_maxdbs(env, 5));
  CHECK(mdb_env_set_mapsize(env, MAP_SIZE));
  CHECK(mdb_env_open(env, dir, MDB_NOTLS, 0644));
  /* Frees reader slots a killed process left behind (W6's writer); LMDB needs no other
   * recovery, since a commit is the meta-page write and a torn one is never selected. */
  int dead;
  CHECK(mdb_reader_check(env, &dead));
  sys *s = new_handle(env, 1);
  open_dbis(s, create);
  return s;
}

void sys_close(sys *s) {
  if (!s->owner) gw_die("sys_close on a handle from sys_attach");
  if (s->rtxn) gw_die("sys_close inside sys_read_begin/sys_read_end");
  mdb_env_close(s->env);
  free(s->scratch.v);
  free(s);
}

sys *sys_attach(sys *s) {
  sys *t = new_handle(s->env, 0);
  t->nodes = s->nodes;
  t->out = s->out;
  t->in = s->in;
  t->edges = s->edges;
  t->labels = s->labels;
  t->has_labels = s->has_labels;
  return t;
}

void sys_detach(sys *t) {
  if (t->owner) gw_die("sys_detach on the handle from sys_open");
  if (t->rtxn) gw_die("sys_detach inside sys_read_begin/sys_read_end");
  free(t->scratch.v);
  free(t);
}

/* ---------- W1: bulk load ---------- */

void sys_load_nodes(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  if (to > 0) check_ref(to - 1, "node index");
  MDB_txn *txn = begin_write(s);
  MDB_cursor *c = open_cursor(txn, s->nodes);
  for (uint64_t i = from; i < to; i++) {
    put_node(c, LABEL_PERSON, i, MDB_APPEND);
    refs[i] = i;
  }
  mdb_cursor_close(c);
  CHECK(mdb_txn_commit(txn));
}

/* One adjacency entry to insert: key ref and dup. */
typedef struct adj_rec {
  uint64_t key, dup;
} adj_rec;

enum { RADIX_BITS = 11, RADIX = 1 << RADIX_BITS };

/* Stable LSD radix sort of recs[0..n) by key (keys below 2^32), ping-ponging with tmp (room
 * for n). Returns whichever buffer holds the result. Stability keeps each key's entries in
 * their input order, which is ascending edge id. */
static adj_rec *sort_by_key(adj_rec *recs, adj_rec *tmp, size_t n) {
  for (unsigned shift = 0; shift < 32; shift += RADIX_BITS) {
    size_t count[RADIX] = {0};
    for (size_t i = 0; i < n; i++) count[(recs[i].key >> shift) & (RADIX - 1)]++;
    if (n == 0 || count[(recs[0].key >> shift) & (RADIX - 1)] == n) continue; /* one bucket */
    size_t sum = 0;
    for (size_t b = 0; b < RADIX; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) tmp[count[(recs[i].key >> shift) & (RADIX - 1)]++] = recs[i];
    adj_rec *t = recs;
    recs = tmp;
    tmp = t;
  }
  return recs;
}

/* Inserts recs[0..n) (in edge-id order) into adjacency database dbi, sorted by key first so
 * that every put is an MDB_APPENDDUP in key order. tmp has room for n. */
static void put_adj_sorted(MDB_txn *txn, MDB_dbi dbi, adj_rec *recs, adj_rec *tmp, size_t n) {
  const adj_rec *sorted = sort_by_key(recs, tmp, n);
  MDB_cursor *c = open_cursor(txn, dbi);
  for (size_t i = 0; i < n; i++) put_adj(c, sorted[i].key, sorted[i].dup, MDB_APPENDDUP);
  mdb_cursor_close(c);
}

/* The bulk load runs before any other edge exists, so edge ids (first .. first + n) are
 * above every stored one: MDB_APPEND (edges) and MDB_APPENDDUP (adjacency) hold. */
void sys_load_edges(sys *s, const gw_edge *e, size_t n, uint64_t first) {
  if (n == 0) return;
  check_ref(first + n - 1, "edge id");
  adj_rec *recs = malloc(n * sizeof *recs), *tmp = malloc(n * sizeof *tmp);
  if (!recs || !tmp) gw_die("out of memory (%zu edges)", n);
  MDB_txn *txn = begin_write(s);

  MDB_cursor *c = open_cursor(txn, s->edges);
  for (size_t i = 0; i < n; i++) put_edge_props(c, first + i, MDB_APPEND);
  mdb_cursor_close(c);

  for (size_t i = 0; i < n; i++) {
    check_ref(e[i].src, "node ref");
    check_ref(e[i].dst, "node ref");
    recs[i] = (adj_rec){e[i].src, adj_pack(first + i, e[i].dst)};
  }
  put_adj_sorted(txn, s->out, recs, tmp, n);
  for (size_t i = 0; i < n; i++) recs[i] = (adj_rec){e[i].dst, adj_pack(first + i, e[i].src)};
  put_adj_sorted(txn, s->in, recs, tmp, n);

  CHECK(mdb_txn_commit(txn));
  free(recs);
  free(tmp);
}

/* ---------- W2, W2x8, W6: small durable transactions ---------- */

uint64_t sys_small_txn(sys *s, uint64_t index, uint64_t dst_ref, uint64_t edge_index) {
  check_ref(index, "node index");
  check_ref(dst_ref, "node ref");
  check_ref(edge_index, "edge id");
  MDB_txn *txn = begin_write(s);
  MDB_cursor *c = open_cursor(txn, s->nodes);
  put_node(c, LABEL_PERSON, index, MDB_NOOVERWRITE);
  mdb_cursor_close(c);
  c = open_cursor(txn, s->edges);
  put_edge_props(c, edge_index, MDB_NOOVERWRITE);
  mdb_cursor_close(c);
  c = open_cursor(txn, s->out);
  put_adj(c, index, adj_pack(edge_index, dst_ref), MDB_NODUPDATA);
  mdb_cursor_close(c);
  c = open_cursor(txn, s->in);
  put_adj(c, dst_ref, adj_pack(edge_index, index), MDB_NODUPDATA);
  mdb_cursor_close(c);
  CHECK(mdb_txn_commit(txn));
  return index;
}

/* ---------- reads ---------- */

void sys_read_begin(sys *s) {
  if (s->rtxn) gw_die("sys_read_begin inside sys_read_begin/sys_read_end");
  CHECK(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn));
  CHECK(mdb_cursor_open(s->rtxn, s->out, &s->rout));
}

void sys_read_end(sys *s) {
  need_read(s, "sys_read_end");
  mdb_cursor_close(s->rout);
  mdb_txn_abort(s->rtxn); /* a read-only transaction has nothing to commit */
  s->rout = NULL;
  s->rtxn = NULL;
}

/* Looks node `ref` up in the read transaction; returns 0 when it does not exist. */
static int get_node(const sys *s, uint64_t ref, MDB_val *val) {
  size_t k = ref;
  MDB_val key = int_val(&k);
  int rc = mdb_get(s->rtxn, s->nodes, &key, val);
  if (rc == MDB_NOTFOUND) return 0;
  CHECK(rc);
  if (val->mv_size < NODE_HEADER)
    gw_die("node %" PRIu64 ": value of %zu bytes is too short", ref, val->mv_size);
  return 1;
}

int64_t sys_read_age(sys *s, uint64_t ref) {
  need_read(s, "sys_read_age");
  MDB_val val;
  if (!get_node(s, ref, &val)) gw_die("sys_read_age: node %" PRIu64 " does not exist", ref);
  int64_t age;
  memcpy(&age, (const unsigned char *)val.mv_data + 1, sizeof age);
  return age;
}

void sys_out(sys *s, uint64_t ref, gw_vec *out) {
  need_read(s, "sys_out");
  adj_read(s->rout, ref, out, 1);
}

int sys_has_node(sys *s, uint64_t ref, uint64_t index) {
  need_read(s, "sys_has_node");
  MDB_val val;
  if (!get_node(s, ref, &val)) return 0;
  char name[NAME_MAX_LEN];
  size_t name_len = gw_name(index, name);
  return val.mv_size == NODE_HEADER + name_len &&
         memcmp((const unsigned char *)val.mv_data + NODE_HEADER, name, name_len) == 0;
}

/* ---------- W7: delete ---------- */

/* Deletes every entry of node `ref` in the adjacency database under cursor c (`out` or
 * `in`), the mirror entry of each edge in `other` (`in` or `out`) and each edge's
 * properties. A self-loop is gone from both sides after the `out` pass, so the `in` pass
 * does not see it again. */
static void delete_adjacent(sys *s, MDB_txn *txn, MDB_cursor *c, MDB_dbi other, uint64_t ref) {
  gw_vec *dups = &s->scratch;
  dups->len = 0;
  /* Copied out first: the deletes below may move the pages the dups live on. */
  adj_read(c, ref, dups, 0);
  if (dups->len == 0) return;
  for (size_t i = 0; i < dups->len; i++) {
    uint64_t edge = dups->v[i] >> 32, node = dups->v[i] & ADJ_NODE_MASK;
    size_t k = node, d = adj_pack(edge, ref), ek = edge;
    MDB_val key = int_val(&k), val = int_val(&d), ekey = int_val(&ek);
    CHECK(mdb_del(txn, other, &key, &val));
    CHECK(mdb_del(txn, s->edges, &ekey, NULL));
  }
  size_t k = ref;
  MDB_val key = int_val(&k);
  CHECK(mdb_del(txn, mdb_cursor_dbi(c), &key, NULL)); /* all of ref's dups */
}

void sys_delete_nodes(sys *s, const uint64_t *refs, size_t n) {
  MDB_txn *txn = begin_write(s);
  MDB_cursor *out = open_cursor(txn, s->out), *in = open_cursor(txn, s->in);
  for (size_t i = 0; i < n; i++) {
    delete_adjacent(s, txn, out, s->in, refs[i]);
    delete_adjacent(s, txn, in, s->out, refs[i]);
    size_t k = refs[i];
    MDB_val key = int_val(&k);
    CHECK(mdb_del(txn, s->nodes, &key, NULL));
  }
  mdb_cursor_close(out);
  mdb_cursor_close(in);
  CHECK(mdb_txn_commit(txn));
}

/* ---------- the labelled graph ---------- */

void sys_load_labelled(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  if (to > 0) check_ref(to - 1, "node index");
  MDB_txn *txn = begin_write(s);
  if (!s->has_labels) CHECK(mdb_dbi_open(txn, "labels", MDB_CREATE | ADJ_FLAGS, &s->labels));
  MDB_cursor *c = open_cursor(txn, s->nodes), *l = open_cursor(txn, s->labels);
  for (uint64_t i = from; i < to; i++) {
    put_node(c, LABEL_FIRST + gw_label_num(i), i, MDB_APPEND);
    put_adj(l, LABEL_FIRST + gw_label_num(i), i, MDB_NODUPDATA);
    refs[i] = i;
  }
  mdb_cursor_close(c);
  mdb_cursor_close(l);
  CHECK(mdb_txn_commit(txn));
  s->has_labels = 1;
}

void sys_scan_label(sys *s, unsigned label, gw_node_fn fn, void *ctx) {
  need_read(s, "sys_scan_label");
  if (!s->has_labels) gw_die("sys_scan_label: this environment has no labels database");
  MDB_cursor *c = open_cursor(s->rtxn, s->labels);
  gw_vec *refs = &s->scratch;
  refs->len = 0;
  adj_read(c, LABEL_FIRST + label, refs, 0);
  mdb_cursor_close(c);
  for (size_t i = 0; i < refs->len; i++) {
    MDB_val val;
    if (!get_node(s, refs->v[i], &val)) gw_die("label index names a missing node %" PRIu64, refs->v[i]);
    const unsigned char *p = val.mv_data;
    int64_t age;
    memcpy(&age, p + 1, sizeof age);
    fn(ctx, refs->v[i], age, (const char *)p + NODE_HEADER, val.mv_size - NODE_HEADER);
  }
}

void sys_rename(sys *s, uint64_t from, uint64_t to, const uint64_t *refs, int round) {
  MDB_txn *txn = begin_write(s);
  unsigned char buf[NODE_HEADER + GW_ROUND_NAME_CAP];
  for (uint64_t i = from; i < to; i++) {
    size_t k = refs[i];
    MDB_val key = int_val(&k), val;
    CHECK(mdb_get(txn, s->nodes, &key, &val));
    if (val.mv_size < NODE_HEADER) gw_die("node %zu: value of %zu bytes is too short", k, val.mv_size);
    memcpy(buf, val.mv_data, NODE_HEADER); /* label code and age stay */
    val = (MDB_val){NODE_HEADER + gw_round_name(i, round, (char *)buf + NODE_HEADER), buf};
    CHECK(mdb_put(txn, s->nodes, &key, &val, 0));
  }
  CHECK(mdb_txn_commit(txn));
}
