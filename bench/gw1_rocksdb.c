/* GW1 on RocksDB (gw1.h), through its C API (<rocksdb/c.h>): the graph lives in one
 * RocksDB database in <dir>, in the default column family, as four key ranges told apart by
 * a one-byte tag. Every integer in a key is big-endian, so byte order is numeric order.
 *
 * Keys and values
 *   'n' ref                -> label_len (1 byte), label, age (int64 BE), name
 *   'o' src edge           -> dst    out-adjacency: a node's out edges are one key range
 *   'i' dst edge           -> src    in-adjacency, so W7 finds the edges into a node
 *   'e' edge               -> since (int64 BE), type
 *   'l' label ref          -> ref    label index of the labelled graph (label: its number)
 *   ref, src, dst, edge and label are 8 bytes each. A node's ref is its workload index.
 *
 * Fast-path choices, and why
 *   - Fixed 9-byte prefix extractor (tag + node ref): the "Prefix Seek" wiki's setup for
 *     iterators that stay within one prefix. A node key and an edge key are exactly one
 *     prefix long; an adjacency key is a prefix followed by the edge number.
 *   - Full bloom filter (10 bits/key, whole-key filtering kept on) in the block-based
 *     table: with the prefix extractor it holds the prefixes too, so an out-edge seek skips
 *     every SST file that holds nothing for that node, and a point get skips files that
 *     do not hold the key.
 *   - Memtable prefix bloom (memtable_prefix_bloom_size_ratio 0.1): the same filtering for
 *     the memtables, which hold all of the recent writes.
 *   - Iterators with prefix_same_as_start (sys_out, W7): the seek is a prefix seek (uses the
 *     prefix blooms) and iteration ends at the end of the prefix, so no upper-bound compare
 *     is needed. (iterate_upper_bound would not do here: an upper bound outside the seek
 *     key's prefix is ignored without auto_prefix_mode.) One iterator serves a whole read
 *     session and is re-seeked per node, instead of being created per node.
 *   - Data block hash index (kDataBlockBinaryAndHash, ratio 0.75): the "Data Block Hash
 *     Index" wiki's speed-up for point gets (W3, W6's check): a get finds its key inside a
 *     data block by hash instead of by binary search.
 *   - 1 GiB LRU block cache shared by all handles: many times the S data set (45 MB on disk
 *     after W1), and room for most of L's, so reads after the first come from memory.
 *   - rocksdb_get_pinned for point reads: the value is read in place in the block cache or
 *     memtable, without a copy into a malloc'ed buffer.
 *   - increase_parallelism(2) and optimize_level_style_compaction(512 MiB): the tuning
 *     guide's starting point for a 2-core machine; the latter gives 128 MiB write buffers
 *     (the bigger buffer for the bulk load: W1 at size S fits in memory until the close)
 *     and no compression on L0/L1. Plus level_compaction_dynamic_level_bytes (recommended
 *     by the tuning guide to bound space amplification) and bytes_per_sync = 1 MiB (writes
 *     SST data back incrementally instead of in one burst at the file's sync).
 *   - enable_pipelined_write: the "Pipelined Write" wiki's speed-up for concurrent writers
 *     with the WAL on (W2x8): a write group's memtable insert overlaps the next group's WAL
 *     write and sync.
 *   - skip_stats_update_on_db_open: open does not load every SST file's table properties
 *     to update compaction statistics, which options.h says improves open time (W6, W8).
 *   - Sorted batches: a transaction's writes are staged, sorted by key and then put into its
 *     write batch in key order. The memtable skiplist keeps the position of its previous
 *     insert, so keys in order are inserted next to each other instead of each searching
 *     the skiplist from the top; random inserts spent most of W1's edge load in that search
 *     (perf), and sorting made it about 2.5x faster (W7's deletes about 3x). The batch is the
 *     same set of writes, still applied atomically; of two writes to one key the later one
 *     staged is kept, as the batch would have applied it.
 *   - sys_close flushes the memtables before closing: with the WAL on, a close does not
 *     flush them, and the next open replays every WAL that holds unflushed data and writes
 *     it out to L0 ("Speed Up DB Open": WAL replay is long when the memtables are large).
 *     Flushing at close moves that work into the close (timed in W1) and leaves the next
 *     open (W6's, W8's) little to replay. It is not needed for durability.
 *
 * Labelled graph (LS, UR): each node is also put under 'l' + its label number, so that a
 * label's nodes are one prefix (the same 9-byte prefix seek as an adjacency scan; the value
 * repeats the ref so that the adjacency scan code reads it). A label scan iterates that
 * prefix in the read session's snapshot and gets each node (rocksdb_get_pinned); an update
 * gets the node's value and puts it back with the new name, 10,000 per sync write batch.
 * UR measures the size after sys_close (which flushes the memtables); whether a background
 * compaction finished before the close moves that size from round to round.
 *
 * Durability is not traded away: every transaction is one rocksdb_writebatch written with
 * sync = 1 (WAL on, fdatasync before the write returns). Concurrent sync writers (W2x8) are
 * group-committed by RocksDB itself: one WAL write and one sync per write group.
 *
 * Concurrency: the DB handle is thread-safe, so sys_attach returns a handle on the same DB
 * with its own write batch, read options, snapshot and iterator.
 */
#define _GNU_SOURCE
#include "gw1.h"

#include <inttypes.h>
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

const char *const SYS_NAME = "rocksdb";

enum {
  TAG_NODE = 'n',
  TAG_OUT = 'o',
  TAG_IN = 'i',
  TAG_EDGE = 'e',
  TAG_LABEL = 'l',
  PREFIX_LEN = 9,          /* tag + one 8-byte id: the prefix extractor's length */
  ADJ_KEY_LEN = 17,        /* tag + node + edge */
  VALUE_MAX = 40,          /* a node's: 1 + label (6) + age (8) + name (at most 21) */
  PARALLELISM = 2,         /* cores */
  BLOOM_BITS_PER_KEY = 10,
};

static const uint64_t BLOCK_CACHE_BYTES = 1ull << 30;
static const uint64_t MEMTABLE_BUDGET_BYTES = 512ull << 20;
static const uint64_t BYTES_PER_SYNC = 1ull << 20;
static const double MEMTABLE_PREFIX_BLOOM_RATIO = 0.1;
static const double DATA_BLOCK_HASH_RATIO = 0.75;

static const char LABEL[] = "Person";
static const char EDGE_TYPE[] = "KNOWS";

enum { OP_PUT, OP_DELETE };

/* One write of a transaction, before it goes into the write batch. */
typedef struct staged_write {
  size_t seq; /* staging order, so that sorting keeps the order of writes to one key */
  unsigned char op, klen, vlen;
  unsigned char key[ADJ_KEY_LEN];
  unsigned char val[VALUE_MAX];
} staged_write;

struct sys {
  rocksdb_t *db;
  int root;                         /* opened by sys_open (not sys_attach) */
  rocksdb_options_t *options;       /* root only */
  rocksdb_cache_t *cache;           /* root only */
  rocksdb_writeoptions_t *write;    /* sync = 1 */
  rocksdb_writebatch_t *batch;      /* reused, empty between transactions */
  staged_write *staged;             /* the current transaction's writes */
  size_t staged_len, staged_cap;
  rocksdb_readoptions_t *latest;    /* no snapshot: reads the latest state */
  rocksdb_readoptions_t *session;   /* the read session's snapshot */
  const rocksdb_snapshot_t *snap;   /* non-NULL between sys_read_begin and sys_read_end */
  rocksdb_iterator_t *session_iter; /* created by the session's first sys_out */
};

/* ---------- encoding ---------- */

static void put_be64(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t get_be64(const void *p) {
  const unsigned char *b = p;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
  return v;
}

/* tag + id: a node key, an edge key, or the prefix of a node's adjacency keys. */
static void prefix_key(unsigned char k[PREFIX_LEN], int tag, uint64_t id) {
  k[0] = (unsigned char)tag;
  put_be64(k + 1, id);
}

static void adj_key(unsigned char k[ADJ_KEY_LEN], int tag, uint64_t node, uint64_t edge) {
  prefix_key(k, tag, node);
  put_be64(k + PREFIX_LEN, edge);
}

static size_t node_value(unsigned char v[VALUE_MAX], const char *label, uint64_t index) {
  size_t label_len = strlen(label);
  v[0] = (unsigned char)label_len;
  memcpy(v + 1, label, label_len);
  put_be64(v + 1 + label_len, (uint64_t)gw_age(index));
  char name[24];
  size_t name_len = gw_name(index, name);
  memcpy(v + 1 + label_len + 8, name, name_len);
  return 1 + label_len + 8 + name_len;
}

static size_t edge_value(unsigned char v[VALUE_MAX], uint64_t edge) {
  put_be64(v, (uint64_t)gw_since(edge));
  memcpy(v + 8, EDGE_TYPE, sizeof EDGE_TYPE - 1);
  return 8 + sizeof EDGE_TYPE - 1;
}

/* The age inside a node value; dies on a malformed value. */
static int64_t node_age(const char *v, size_t len, uint64_t ref) {
  if (len < 1 || len < 1 + (size_t)(unsigned char)v[0] + 8)
    gw_die("node %" PRIu64 " has a malformed value (%zu bytes)", ref, len);
  return (int64_t)get_be64(v + 1 + (unsigned char)v[0]);
}

/* The name inside a node value (not NUL-terminated); dies on a malformed value. */
static void node_name(const char *v, size_t len, uint64_t ref, const char **name,
                      size_t *name_len) {
  node_age(v, len, ref); /* validates the layout */
  size_t off = 1 + (size_t)(unsigned char)v[0] + 8;
  *name = v + off;
  *name_len = len - off;
}

/* ---------- errors and writes ---------- */

static void check(char *err, const char *what) {
  if (err) gw_die("%s: %s", what, err); /* exits; err is not freed */
}

/* A transaction's writes are staged, sorted by key and then copied into the write batch, so
 * that the memtable receives them in key order (see "Sorted batches" above). */
static void stage(sys *s, int op, const unsigned char *k, size_t klen, const unsigned char *v,
                  size_t vlen) {
  if (klen > ADJ_KEY_LEN || vlen > VALUE_MAX) gw_die("staged entry too long");
  if (s->staged_len == s->staged_cap) {
    size_t cap = s->staged_cap ? s->staged_cap * 2 : 64;
    staged_write *p = realloc(s->staged, cap * sizeof *p);
    if (!p) gw_die("out of memory (%zu staged writes)", cap);
    s->staged = p;
    s->staged_cap = cap;
  }
  staged_write *e = &s->staged[s->staged_len];
  e->seq = s->staged_len++;
  e->op = (unsigned char)op;
  e->klen = (unsigned char)klen;
  e->vlen = (unsigned char)vlen;
  memcpy(e->key, k, klen);
  if (vlen) memcpy(e->val, v, vlen);
}

static void stage_put(sys *s, const unsigned char *k, size_t klen, const unsigned char *v,
                      size_t vlen) {
  stage(s, OP_PUT, k, klen, v, vlen);
}

static void stage_delete(sys *s, const unsigned char *k, size_t klen) {
  stage(s, OP_DELETE, k, klen, NULL, 0);
}

static int key_cmp(const staged_write *a, const staged_write *b) {
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int c = memcmp(a->key, b->key, n);
  return c ? c : (int)a->klen - (int)b->klen;
}

/* By key (bytewise, RocksDB's default comparator), then in staging order. */
static int staged_cmp(const void *pa, const void *pb) {
  const staged_write *a = pa, *b = pb;
  int c = key_cmp(a, b);
  return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Writes the handle's staged writes as one batch, atomically and durably (sync = 1). Of
 * several writes to one key only the last one staged is kept, as the batch would. */
static void commit(sys *s, const char *what) {
  qsort(s->staged, s->staged_len, sizeof *s->staged, staged_cmp);
  for (size_t i = 0; i < s->staged_len; i++) {
    const staged_write *e = &s->staged[i];
    if (i + 1 < s->staged_len && key_cmp(e, e + 1) == 0) continue; /* superseded */
    if (e->op == OP_PUT)
      rocksdb_writebatch_put(s->batch, (const char *)e->key, e->klen, (const char *)e->val,
                             e->vlen);
    else
      rocksdb_writebatch_delete(s->batch, (const char *)e->key, e->klen);
  }
  s->staged_len = 0;
  char *err = NULL;
  rocksdb_write(s->db, s->write, s->batch, &err);
  check(err, what);
  rocksdb_writebatch_clear(s->batch);
}

static void put_node(sys *s, const char *label, uint64_t index) {
  unsigned char k[PREFIX_LEN], v[VALUE_MAX];
  prefix_key(k, TAG_NODE, index);
  stage_put(s, k, sizeof k, v, node_value(v, label, index));
}

/* Edge `edge` from src to dst: its out-adjacency, in-adjacency and property keys. */
static void put_edge(sys *s, uint64_t src, uint64_t dst, uint64_t edge) {
  unsigned char k[ADJ_KEY_LEN], id[8], v[VALUE_MAX];
  adj_key(k, TAG_OUT, src, edge);
  put_be64(id, dst);
  stage_put(s, k, sizeof k, id, sizeof id);
  adj_key(k, TAG_IN, dst, edge);
  put_be64(id, src);
  stage_put(s, k, sizeof k, id, sizeof id);
  prefix_key(k, TAG_EDGE, edge);
  stage_put(s, k, PREFIX_LEN, v, edge_value(v, edge));
}

/* ---------- handles ---------- */

/* Read options whose iterators stay within the seek key's prefix (one node's adjacency). */
static rocksdb_readoptions_t *prefix_read_options(void) {
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  if (!ro) gw_die("rocksdb_readoptions_create failed");
  rocksdb_readoptions_set_prefix_same_as_start(ro, 1);
  return ro;
}

/* The per-thread part of a handle. */
static sys *handle_new(rocksdb_t *db) {
  sys *s = calloc(1, sizeof *s);
  if (!s) gw_die("out of memory");
  s->db = db;
  s->write = rocksdb_writeoptions_create();
  s->batch = rocksdb_writebatch_create();
  s->latest = prefix_read_options();
  s->session = prefix_read_options();
  if (!s->write || !s->batch) gw_die("cannot create write options or a write batch");
  rocksdb_writeoptions_set_sync(s->write, 1);
  return s;
}

static void handle_free(sys *s) {
  if (s->snap) gw_die("a handle was closed inside a read session");
  rocksdb_readoptions_destroy(s->session);
  rocksdb_readoptions_destroy(s->latest);
  rocksdb_writebatch_destroy(s->batch);
  free(s->staged);
  rocksdb_writeoptions_destroy(s->write);
  free(s);
}

static rocksdb_options_t *make_options(int create, rocksdb_cache_t *cache) {
  rocksdb_options_t *o = rocksdb_options_create();
  if (!o) gw_die("rocksdb_options_create failed");
  rocksdb_options_set_create_if_missing(o, create ? 1 : 0);
  rocksdb_options_increase_parallelism(o, PARALLELISM);
  rocksdb_options_optimize_level_style_compaction(o, MEMTABLE_BUDGET_BYTES);
  rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
  rocksdb_options_set_bytes_per_sync(o, BYTES_PER_SYNC);
  rocksdb_options_set_enable_pipelined_write(o, 1);
  rocksdb_options_set_skip_stats_update_on_db_open(o, 1);

  /* The options take ownership of the slice transform. */
  rocksdb_slicetransform_t *prefix = rocksdb_slicetransform_create_fixed_prefix(PREFIX_LEN);
  if (!prefix) gw_die("rocksdb_slicetransform_create_fixed_prefix failed");
  rocksdb_options_set_prefix_extractor(o, prefix);
  rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, MEMTABLE_PREFIX_BLOOM_RATIO);

  rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
  if (!t) gw_die("rocksdb_block_based_options_create failed");
  rocksdb_block_based_options_set_block_cache(t, cache); /* shares the cache */
  /* The table options take ownership of the filter policy. */
  rocksdb_filterpolicy_t *bloom = rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS_PER_KEY);
  if (!bloom) gw_die("rocksdb_filterpolicy_create_bloom_full failed");
  rocksdb_block_based_options_set_filter_policy(t, bloom);
  rocksdb_block_based_options_set_whole_key_filtering(t, 1);
  rocksdb_block_based_options_set_data_block_index_type(
      t, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
  rocksdb_block_based_options_set_data_block_hash_ratio(t, DATA_BLOCK_HASH_RATIO);
  rocksdb_options_set_block_based_table_factory(o, t); /* copies the table options */
  rocksdb_block_based_options_destroy(t);
  return o;
}

sys *sys_open(const char *dir, int create) {
  rocksdb_cache_t *cache = rocksdb_cache_create_lru(BLOCK_CACHE_BYTES);
  if (!cache) gw_die("rocksdb_cache_create_lru failed");
  rocksdb_options_t *options = make_options(create, cache);
  char *err = NULL;
  rocksdb_t *db = rocksdb_open(options, dir, &err);
  if (err) gw_die("cannot open %s: %s", dir, err);
  if (!db) gw_die("cannot open %s", dir);
  sys *s = handle_new(db);
  s->root = 1;
  s->options = options;
  s->cache = cache;
  return s;
}

void sys_close(sys *s) {
  if (!s->root) gw_die("sys_close on a handle from sys_attach");
  if (s->snap) sys_read_end(s);
  rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
  if (!fo) gw_die("rocksdb_flushoptions_create failed");
  rocksdb_flushoptions_set_wait(fo, 1);
  char *err = NULL;
  rocksdb_flush(s->db, fo, &err);
  rocksdb_flushoptions_destroy(fo);
  check(err, "flush before close");
  rocksdb_t *db = s->db;
  rocksdb_options_t *options = s->options;
  rocksdb_cache_t *cache = s->cache;
  handle_free(s);
  rocksdb_close(db);
  rocksdb_options_destroy(options);
  rocksdb_cache_destroy(cache);
}

sys *sys_attach(sys *s) {
  return handle_new(s->db);
}

void sys_detach(sys *t) {
  if (t->root) gw_die("sys_detach on the handle from sys_open");
  if (t->snap) sys_read_end(t);
  handle_free(t);
}

/* ---------- W1 ---------- */

void sys_load_nodes(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  for (uint64_t i = from; i < to; i++) {
    put_node(s, LABEL, i);
    refs[i] = i;
  }
  commit(s, "load nodes");
}

void sys_load_edges(sys *s, const gw_edge *e, size_t n, uint64_t first) {
  for (size_t k = 0; k < n; k++) put_edge(s, e[k].src, e[k].dst, first + k);
  commit(s, "load edges");
}

/* ---------- W2, W2x8, W6 ---------- */

uint64_t sys_small_txn(sys *s, uint64_t index, uint64_t dst_ref, uint64_t edge_index) {
  put_node(s, LABEL, index);
  put_edge(s, index, dst_ref, edge_index);
  commit(s, "small transaction");
  return index;
}

/* ---------- reads ---------- */

void sys_read_begin(sys *s) {
  if (s->snap) gw_die("sys_read_begin inside a read session");
  s->snap = rocksdb_create_snapshot(s->db);
  if (!s->snap) gw_die("rocksdb_create_snapshot failed");
  rocksdb_readoptions_set_snapshot(s->session, s->snap);
}

void sys_read_end(sys *s) {
  if (!s->snap) gw_die("sys_read_end outside a read session");
  if (s->session_iter) {
    rocksdb_iter_destroy(s->session_iter);
    s->session_iter = NULL;
  }
  rocksdb_readoptions_set_snapshot(s->session, NULL);
  rocksdb_release_snapshot(s->db, s->snap);
  s->snap = NULL;
}

/* The read options of the current read: the session's snapshot, else the latest state. */
static const rocksdb_readoptions_t *read_options(const sys *s) {
  return s->snap ? s->session : s->latest;
}

/* Node `ref`'s value, pinned (NULL when the node does not exist); the caller destroys it. */
static rocksdb_pinnableslice_t *get_node(sys *s, uint64_t ref) {
  unsigned char k[PREFIX_LEN];
  prefix_key(k, TAG_NODE, ref);
  char *err = NULL;
  rocksdb_pinnableslice_t *v =
      rocksdb_get_pinned(s->db, read_options(s), (const char *)k, sizeof k, &err);
  check(err, "get node");
  return v;
}

int64_t sys_read_age(sys *s, uint64_t ref) {
  rocksdb_pinnableslice_t *v = get_node(s, ref);
  if (!v) gw_die("node %" PRIu64 " does not exist", ref);
  size_t len;
  const char *p = rocksdb_pinnableslice_value(v, &len);
  int64_t age = node_age(p, len, ref);
  rocksdb_pinnableslice_destroy(v);
  return age;
}

int sys_has_node(sys *s, uint64_t ref, uint64_t index) {
  rocksdb_pinnableslice_t *v = get_node(s, ref);
  if (!v) return 0;
  size_t len, name_len;
  const char *p = rocksdb_pinnableslice_value(v, &len), *name;
  node_name(p, len, ref, &name, &name_len);
  char want[24];
  size_t want_len = gw_name(index, want);
  int same = name_len == want_len && memcmp(name, want, want_len) == 0;
  rocksdb_pinnableslice_destroy(v);
  return same;
}

/* Calls fn(ctx, edge, other) for every key tag + node + edge -> other, i.e. for every out
 * edge (TAG_OUT, other = dst) or in edge (TAG_IN, other = src) of node `node`. */
typedef void (*adj_fn)(void *ctx, uint64_t edge, uint64_t other);

static void scan_adjacency(rocksdb_iterator_t *it, int tag, uint64_t node, adj_fn fn,
                           void *ctx) {
  unsigned char prefix[PREFIX_LEN];
  prefix_key(prefix, tag, node);
  for (rocksdb_iter_seek(it, (const char *)prefix, sizeof prefix); rocksdb_iter_valid(it);
       rocksdb_iter_next(it)) {
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(it, &klen);
    /* prefix_same_as_start already ends the scan at the prefix; this is a safety net. */
    if (klen < PREFIX_LEN || memcmp(k, prefix, PREFIX_LEN) != 0) break;
    const char *v = rocksdb_iter_value(it, &vlen);
    if (klen != ADJ_KEY_LEN || vlen != 8)
      gw_die("malformed adjacency entry of node %" PRIu64 " (%zu-byte key, %zu-byte value)",
             node, klen, vlen);
    fn(ctx, get_be64(k + PREFIX_LEN), get_be64(v));
  }
  char *err = NULL;
  rocksdb_iter_get_error(it, &err);
  check(err, "adjacency scan");
}

static void push_other(void *ctx, uint64_t edge, uint64_t other) {
  (void)edge;
  gw_vec_push(ctx, other);
}

/* The read session's iterator, created by its first use. */
static rocksdb_iterator_t *session_iterator(sys *s) {
  if (!s->session_iter) {
    s->session_iter = rocksdb_create_iterator(s->db, s->session);
    if (!s->session_iter) gw_die("rocksdb_create_iterator failed");
  }
  return s->session_iter;
}

void sys_out(sys *s, uint64_t ref, gw_vec *out) {
  if (!s->snap) { /* outside a session: a one-off iterator on the latest state */
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->latest);
    if (!it) gw_die("rocksdb_create_iterator failed");
    scan_adjacency(it, TAG_OUT, ref, push_other, out);
    rocksdb_iter_destroy(it);
    return;
  }
  scan_adjacency(session_iterator(s), TAG_OUT, ref, push_other, out);
}

/* ---------- W7 ---------- */

typedef struct delete_ctx {
  sys *s;
  uint64_t node;
  int tag; /* the tag scanned from `node`; the far end is under the other one */
} delete_ctx;

/* Deletes edge `edge` between d->node and `other`: both adjacency keys and its properties.
 * An edge between two nodes of the same call is staged twice; commit drops the repeat. */
static void delete_edge(void *ctx, uint64_t edge, uint64_t other) {
  delete_ctx *d = ctx;
  unsigned char k[ADJ_KEY_LEN];
  adj_key(k, d->tag, d->node, edge);
  stage_delete(d->s, k, sizeof k);
  adj_key(k, d->tag == TAG_OUT ? TAG_IN : TAG_OUT, other, edge);
  stage_delete(d->s, k, sizeof k);
  prefix_key(k, TAG_EDGE, edge);
  stage_delete(d->s, k, PREFIX_LEN);
}

void sys_delete_nodes(sys *s, const uint64_t *refs, size_t n) {
  /* The adjacency is read from the latest state (earlier calls' deletes are committed). */
  rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->latest);
  if (!it) gw_die("rocksdb_create_iterator failed");
  for (size_t i = 0; i < n; i++) {
    unsigned char k[PREFIX_LEN];
    prefix_key(k, TAG_NODE, refs[i]);
    stage_delete(s, k, sizeof k);
    delete_ctx d = {s, refs[i], TAG_OUT};
    scan_adjacency(it, TAG_OUT, refs[i], delete_edge, &d);
    d.tag = TAG_IN;
    scan_adjacency(it, TAG_IN, refs[i], delete_edge, &d);
  }
  rocksdb_iter_destroy(it);
  commit(s, "delete nodes");
}

/* ---------- the labelled graph ---------- */

void sys_load_labelled(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  for (uint64_t i = from; i < to; i++) {
    unsigned char k[ADJ_KEY_LEN], id[8];
    put_node(s, gw_label(i), i);
    adj_key(k, TAG_LABEL, gw_label_num(i), i);
    put_be64(id, i);
    stage_put(s, k, sizeof k, id, sizeof id);
    refs[i] = i;
  }
  commit(s, "load labelled nodes");
}

typedef struct label_ctx {
  sys *s;
  gw_node_fn fn;
  void *ctx;
} label_ctx;

/* One entry of the label index: reads node `ref` and hands its properties on. */
static void visit_node(void *ctx, uint64_t ref, uint64_t same_ref) {
  label_ctx *l = ctx;
  (void)same_ref;
  rocksdb_pinnableslice_t *v = get_node(l->s, ref);
  if (!v) gw_die("the label index names a missing node %" PRIu64, ref);
  size_t len, name_len;
  const char *p = rocksdb_pinnableslice_value(v, &len), *name;
  node_name(p, len, ref, &name, &name_len);
  l->fn(l->ctx, ref, node_age(p, len, ref), name, name_len);
  rocksdb_pinnableslice_destroy(v);
}

void sys_scan_label(sys *s, unsigned label, gw_node_fn fn, void *ctx) {
  if (!s->snap) gw_die("sys_scan_label outside a read session");
  label_ctx l = {s, fn, ctx};
  scan_adjacency(session_iterator(s), TAG_LABEL, label, visit_node, &l);
}

void sys_rename(sys *s, uint64_t from, uint64_t to, const uint64_t *refs, int round) {
  for (uint64_t i = from; i < to; i++) {
    rocksdb_pinnableslice_t *v = get_node(s, refs[i]);
    if (!v) gw_die("node %" PRIu64 " does not exist", refs[i]);
    size_t len, name_len;
    const char *p = rocksdb_pinnableslice_value(v, &len), *name;
    node_name(p, len, refs[i], &name, &name_len);
    unsigned char k[PREFIX_LEN], nv[VALUE_MAX];
    char new_name[GW_ROUND_NAME_CAP];
    size_t keep = (size_t)(name - p), new_len = gw_round_name(i, round, new_name);
    if (keep + new_len > VALUE_MAX) gw_die("node %" PRIu64 ": renamed value too long", refs[i]);
    memcpy(nv, p, keep); /* label and age stay */
    memcpy(nv + keep, new_name, new_len);
    rocksdb_pinnableslice_destroy(v);
    prefix_key(k, TAG_NODE, refs[i]);
    stage_put(s, k, sizeof k, nv, keep + new_len);
  }
  commit(s, "rename");
}
