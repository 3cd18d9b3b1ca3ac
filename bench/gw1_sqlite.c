/* GW1 on SQLite (gw1.h): the graph lives in one database file, <dir>/graph.db.
 *
 * Schema
 *   nodes(id INTEGER PRIMARY KEY, label TEXT, age INTEGER, name TEXT)
 *     id is the rowid and equals the workload index, so a node's ref is its index.
 *   edges(src INTEGER, id INTEGER, dst INTEGER, type TEXT, since INTEGER,
 *         PRIMARY KEY (src, id)) WITHOUT ROWID
 *     id is the edge number. index edges_dst ON edges(dst).
 *
 * Fast-path choices, and why
 *   - nodes keyed by INTEGER PRIMARY KEY: the column aliases the rowid, so a point read
 *     (W3, W6's check) is one b-tree search, with no separate index.
 *   - edges WITHOUT ROWID, clustered on (src, id): the out-neighbour scan of W4/W5
 *     (SELECT dst ... WHERE src = ?) is one range scan of the table b-tree itself, which
 *     holds dst in the same leaf; no index-to-table hop. SQLite's documentation recommends
 *     WITHOUT ROWID for composite primary keys with small rows (well under 1/20 of a page),
 *     which an edge is. It also keeps two b-trees per edge instead of three (a rowid table
 *     plus indexes on src and dst).
 *   - edges_dst: a secondary index of a WITHOUT ROWID table stores the primary key, so
 *     deleting the edges into a node (W7) needs no table scan.
 *   - W1 loads each batch in one BEGIN IMMEDIATE ... COMMIT with a prepared INSERT bound
 *     and reset per row, as SQLite's documentation recommends for bulk inserts.
 *   - Every statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT) and
 *     reset/rebound per use, transaction control included.
 *   - PRAGMA cache_size (256 MiB) so the b-trees of the random inserts of W1 stay cached,
 *     and PRAGMA mmap_size so reads come straight from the OS page cache (the documented
 *     speed-up for read-heavy workloads). Both are per connection and re-applied on open.
 *   - SQLITE_OPEN_NOMUTEX: each connection is used by one thread only, so SQLite's
 *     per-connection mutex is skipped.
 *
 * Labelled graph (LS, UR): the same schema plus the index a careful user adds for finding
 * nodes by label, nodes_label ON nodes(label), created before the load (by the first
 * sys_load_labelled call, so that W1's database does not carry it). A label scan is
 * SELECT id, age, name FROM nodes WHERE label = ?1 (an index range scan, then a rowid
 * lookup per node); an update is UPDATE nodes SET name = ?2 WHERE id = ?1. UR measures the
 * size after sys_close, which checkpoints the WAL into graph.db and deletes it.
 *
 * Durability is not traded away: journal_mode=WAL with synchronous=FULL, so the WAL is
 * synced at every commit. journal_mode is stored in the file; synchronous is set again on
 * every open.
 *
 * Concurrency (W2x8): sys_attach opens a new connection to the same file; writers take the
 * write lock up front with BEGIN IMMEDIATE (no deadlock on a read-to-write upgrade) and wait
 * for it through a 60 s busy timeout.
 */
#define _POSIX_C_SOURCE 200809L
#include "gw1.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const SYS_NAME = "sqlite";

enum {
  BUSY_TIMEOUT_MS = 60000,
  CACHE_KIB = 256 * 1024,
};
/* Capped by SQLite at its compile-time SQLITE_MAX_MMAP_SIZE (2 GiB on Linux by default). */
static const long long MMAP_BYTES = 4LL << 30;

static const char *const SCHEMA =
    "CREATE TABLE nodes(id INTEGER PRIMARY KEY, label TEXT NOT NULL, age INTEGER NOT NULL,"
    " name TEXT NOT NULL);"
    "CREATE TABLE edges(src INTEGER NOT NULL, id INTEGER NOT NULL, dst INTEGER NOT NULL,"
    " type TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (src, id)) WITHOUT ROWID;"
    "CREATE INDEX edges_dst ON edges(dst);";
static const char LABEL_INDEX[] = "CREATE INDEX IF NOT EXISTS nodes_label ON nodes(label)";

/* The prepared statements of one connection. */
enum stmt {
  ST_BEGIN,           /* read transaction */
  ST_BEGIN_IMMEDIATE, /* write transaction */
  ST_COMMIT,
  ST_INSERT_NODE,
  ST_INSERT_EDGE,
  ST_READ_AGE,
  ST_OUT,
  ST_NAME,
  ST_DELETE_OUT,
  ST_DELETE_IN,
  ST_DELETE_NODE,
  ST_SCAN_LABEL,
  ST_RENAME,
  ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_INSERT_NODE] = "INSERT INTO nodes(id, label, age, name) VALUES (?1, ?2, ?3, ?4)",
    [ST_INSERT_EDGE] = "INSERT INTO edges(src, id, dst, type, since) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_READ_AGE] = "SELECT age FROM nodes WHERE id = ?1",
    [ST_OUT] = "SELECT dst FROM edges WHERE src = ?1",
    [ST_NAME] = "SELECT name FROM nodes WHERE id = ?1",
    [ST_DELETE_OUT] = "DELETE FROM edges WHERE src = ?1",
    [ST_DELETE_IN] = "DELETE FROM edges WHERE dst = ?1",
    [ST_DELETE_NODE] = "DELETE FROM nodes WHERE id = ?1",
    [ST_SCAN_LABEL] = "SELECT id, age, name FROM nodes WHERE label = ?1",
    [ST_RENAME] = "UPDATE nodes SET name = ?2 WHERE id = ?1",
};

static const char LABEL[] = "Person";
static const char TYPE[] = "KNOWS";

struct sys {
  sqlite3 *db;
  char *dir; /* for sys_attach */
  sqlite3_stmt *st[ST_COUNT];
};

/* ---------- errors ---------- */

static void die_db(sqlite3 *db, const char *what) __attribute__((noreturn));
static void die_db(sqlite3 *db, const char *what) {
  gw_die("%s: %s (%d)", what, sqlite3_errmsg(db), sqlite3_extended_errcode(db));
}

static void check(sys *s, int rc, enum stmt st) {
  if (rc != SQLITE_OK) die_db(s->db, SQL[st]);
}

/* ---------- statements ---------- */

static void bind_int(sys *s, enum stmt st, int param, int64_t v) {
  check(s, sqlite3_bind_int64(s->st[st], param, v), st);
}

/* Binds text that stays valid until the statement has been stepped and reset. */
static void bind_text(sys *s, enum stmt st, int param, const char *v, size_t len) {
  check(s, sqlite3_bind_text(s->st[st], param, v, (int)len, SQLITE_STATIC), st);
}

/* Runs a statement that returns no rows, then resets it. */
static void run(sys *s, enum stmt st) {
  int rc = sqlite3_step(s->st[st]);
  if (rc != SQLITE_DONE) die_db(s->db, SQL[st]);
  sqlite3_reset(s->st[st]);
}

/* Steps a statement that returns at most one row; returns 1 when a row is ready (the
 * caller reads it, then calls sqlite3_reset), 0 when there was none (already reset). */
static int row(sys *s, enum stmt st) {
  int rc = sqlite3_step(s->st[st]);
  if (rc == SQLITE_ROW) return 1;
  if (rc != SQLITE_DONE) die_db(s->db, SQL[st]);
  sqlite3_reset(s->st[st]);
  return 0;
}

static void prepare_all(sys *s) {
  for (int i = 0; i < ST_COUNT; i++)
    if (sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
      die_db(s->db, SQL[i]);
}

/* ---------- connections ---------- */

static void db_exec(sqlite3 *db, const char *sql) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die_db(db, sql);
}

/* Sets journal_mode=WAL and checks that SQLite took it (it answers with the new mode). */
static void set_wal(sqlite3 *db) {
  static const char sql[] = "PRAGMA journal_mode=WAL";
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die_db(db, sql);
  if (sqlite3_step(st) != SQLITE_ROW) die_db(db, sql);
  const char *mode = (const char *)sqlite3_column_text(st, 0);
  if (!mode || strcmp(mode, "wal") != 0) gw_die("%s: the journal mode is %s", sql, mode ? mode : "?");
  sqlite3_finalize(st);
}

static void set_pragmas(sqlite3 *db) {
  char sql[128];
  set_wal(db);
  db_exec(db, "PRAGMA synchronous=FULL");
  snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", CACHE_KIB);
  db_exec(db, sql);
  snprintf(sql, sizeof sql, "PRAGMA mmap_size=%lld", MMAP_BYTES);
  db_exec(db, sql);
}

static sys *open_connection(const char *dir, int create) {
  sys *s = calloc(1, sizeof *s);
  if (!s || !(s->dir = strdup(dir))) gw_die("out of memory");
  char path[4096];
  snprintf(path, sizeof path, "%s/graph.db", dir);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
    if (!s->db) gw_die("cannot open %s: out of memory", path);
    die_db(s->db, path);
  }
  sqlite3_extended_result_codes(s->db, 1);
  if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK) die_db(s->db, "busy_timeout");
  set_pragmas(s->db);
  if (create) db_exec(s->db, SCHEMA);
  prepare_all(s);
  return s;
}

sys *sys_open(const char *dir, int create) { return open_connection(dir, create); }

void sys_close(sys *s) {
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
  /* Closing the last connection checkpoints the WAL into graph.db and deletes it. */
  if (sqlite3_close(s->db) != SQLITE_OK) die_db(s->db, "close");
  free(s->dir);
  free(s);
}

sys *sys_attach(sys *s) { return open_connection(s->dir, 0); }

void sys_detach(sys *t) { sys_close(t); }

/* ---------- writes ---------- */

static void insert_node(sys *s, const char *label, uint64_t index) {
  char name[24];
  size_t len = gw_name(index, name);
  bind_int(s, ST_INSERT_NODE, 1, (int64_t)index);
  bind_text(s, ST_INSERT_NODE, 2, label, strlen(label));
  bind_int(s, ST_INSERT_NODE, 3, gw_age(index));
  bind_text(s, ST_INSERT_NODE, 4, name, len);
  run(s, ST_INSERT_NODE);
}

static void insert_edge(sys *s, uint64_t src, uint64_t dst, uint64_t edge_index) {
  bind_int(s, ST_INSERT_EDGE, 1, (int64_t)src);
  bind_int(s, ST_INSERT_EDGE, 2, (int64_t)edge_index);
  bind_int(s, ST_INSERT_EDGE, 3, (int64_t)dst);
  bind_text(s, ST_INSERT_EDGE, 4, TYPE, sizeof TYPE - 1);
  bind_int(s, ST_INSERT_EDGE, 5, gw_since(edge_index));
  run(s, ST_INSERT_EDGE);
}

void sys_load_nodes(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  run(s, ST_BEGIN_IMMEDIATE);
  for (uint64_t i = from; i < to; i++) {
    insert_node(s, LABEL, i);
    refs[i] = i;
  }
  run(s, ST_COMMIT);
}

void sys_load_edges(sys *s, const gw_edge *e, size_t n, uint64_t first) {
  run(s, ST_BEGIN_IMMEDIATE);
  for (size_t k = 0; k < n; k++) insert_edge(s, e[k].src, e[k].dst, first + k);
  run(s, ST_COMMIT);
}

uint64_t sys_small_txn(sys *s, uint64_t index, uint64_t dst_ref, uint64_t edge_index) {
  run(s, ST_BEGIN_IMMEDIATE);
  insert_node(s, LABEL, index);
  insert_edge(s, index, dst_ref, edge_index);
  run(s, ST_COMMIT);
  return index;
}

void sys_delete_nodes(sys *s, const uint64_t *refs, size_t n) {
  run(s, ST_BEGIN_IMMEDIATE);
  for (size_t i = 0; i < n; i++) {
    int64_t id = (int64_t)refs[i];
    bind_int(s, ST_DELETE_OUT, 1, id);
    run(s, ST_DELETE_OUT);
    bind_int(s, ST_DELETE_IN, 1, id);
    run(s, ST_DELETE_IN);
    bind_int(s, ST_DELETE_NODE, 1, id);
    run(s, ST_DELETE_NODE);
  }
  run(s, ST_COMMIT);
}

/* ---------- reads ---------- */

/* A deferred BEGIN: the snapshot is taken by the first read and kept until COMMIT. */
void sys_read_begin(sys *s) { run(s, ST_BEGIN); }

void sys_read_end(sys *s) { run(s, ST_COMMIT); }

int64_t sys_read_age(sys *s, uint64_t ref) {
  bind_int(s, ST_READ_AGE, 1, (int64_t)ref);
  if (!row(s, ST_READ_AGE)) gw_die("node %llu does not exist", (unsigned long long)ref);
  int64_t age = sqlite3_column_int64(s->st[ST_READ_AGE], 0);
  sqlite3_reset(s->st[ST_READ_AGE]);
  return age;
}

void sys_out(sys *s, uint64_t ref, gw_vec *out) {
  sqlite3_stmt *st = s->st[ST_OUT];
  bind_int(s, ST_OUT, 1, (int64_t)ref);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) gw_vec_push(out, (uint64_t)sqlite3_column_int64(st, 0));
  if (rc != SQLITE_DONE) die_db(s->db, SQL[ST_OUT]);
  sqlite3_reset(st);
}

int sys_has_node(sys *s, uint64_t ref, uint64_t index) {
  char want[24];
  size_t len = gw_name(index, want);
  bind_int(s, ST_NAME, 1, (int64_t)ref);
  if (!row(s, ST_NAME)) return 0;
  sqlite3_stmt *st = s->st[ST_NAME];
  const unsigned char *name = sqlite3_column_text(st, 0);
  int ok = name && (size_t)sqlite3_column_bytes(st, 0) == len && memcmp(name, want, len) == 0;
  sqlite3_reset(st);
  return ok;
}

/* ---------- the labelled graph ---------- */

void sys_load_labelled(sys *s, uint64_t from, uint64_t to, uint64_t *refs) {
  if (from == 0) db_exec(s->db, LABEL_INDEX);
  run(s, ST_BEGIN_IMMEDIATE);
  for (uint64_t i = from; i < to; i++) {
    insert_node(s, gw_label(i), i);
    refs[i] = i;
  }
  run(s, ST_COMMIT);
}

void sys_scan_label(sys *s, unsigned label, gw_node_fn fn, void *ctx) {
  sqlite3_stmt *st = s->st[ST_SCAN_LABEL];
  const char *name = gw_label_name(label);
  bind_text(s, ST_SCAN_LABEL, 1, name, strlen(name));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), text, len);
  }
  if (rc != SQLITE_DONE) die_db(s->db, SQL[ST_SCAN_LABEL]);
  sqlite3_reset(st);
}

void sys_rename(sys *s, uint64_t from, uint64_t to, const uint64_t *refs, int round) {
  char name[GW_ROUND_NAME_CAP];
  run(s, ST_BEGIN_IMMEDIATE);
  for (uint64_t i = from; i < to; i++) {
    bind_int(s, ST_RENAME, 1, (int64_t)refs[i]);
    bind_text(s, ST_RENAME, 2, name, gw_round_name(i, round, name));
    run(s, ST_RENAME);
  }
  run(s, ST_COMMIT);
}
