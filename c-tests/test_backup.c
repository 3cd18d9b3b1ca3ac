/* qv_backup: a copy opens with the source's content (qv_digest), and with
 * QV_BACKUP_COMPACT without superseded blobs; bad arguments and cancels leave nothing
 * behind (neither the destination nor the hidden ".NAME.qvbackup-PID-N" sibling) and the
 * source keeps working; with a writer committing throughout, each copy holds one commit
 * prefix; a process killed during a backup leaves no destination and an intact source; a
 * destination disk that fills gives QV_FULL and leaves the source unpoisoned.
 * Children open the database themselves and leave with _exit(). Threads other than the
 * main one never call the harness (it is not thread-safe). Each test works in a directory
 * of its own that holds the source ("src") and its copies, so that whatever a backup
 * leaves behind shows up there. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A test's directory: the source database "src" and room for copies beside it. */
struct scene {
  char dir[256];
  char src[300];
  qv_db *db;
};

/* Creates the scene's directory and a fresh source in it, opened with `o`. */
static void scene_open(struct scene *s, const char *tag, qv_options o) {
  snprintf(s->dir, sizeof s->dir, "%s", qvt_tmpdir(tag));
  CHECK(mkdir(s->dir, 0700) == 0);
  snprintf(s->src, sizeof s->src, "%s/src", s->dir);
  s->db = NULL;
  CHECK_OK(qv_open(s->src, &o, &s->db));
}

/* `name` in the scene's directory (one of a few static slots, as qvt_tmpdir's). */
static const char *scene_path(const struct scene *s, const char *name) {
  static char paths[8][sizeof s->dir + 1 + 256]; /* dir, "/", a d_name */
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", s->dir, name);
  return p;
}

/* The end of a test: the source checks clean and closes, the directory goes. */
static void scene_end(struct scene *s) {
  qvt_finish(s->db, s->src);
  qvt_rmtree(s->dir);
}

/* How many entries of `dir` are neither "src" nor named in `keep` (NULL-terminated, may
 * be NULL); prints each. -1 when `dir` cannot be read. */
static int strays(const char *dir, const char *const *keep) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
                !strcmp(e->d_name, "src");
    for (const char *const *k = keep; k && *k && !known; k++) known = !strcmp(e->d_name, *k);
    if (known) continue;
    printf("#   left in %s: %s\n", dir, e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

/* Whether nothing exists at `path` (not even a dangling link). */
static int absent(const char *path) {
  struct stat st;
  return lstat(path, &st) != 0 && errno == ENOENT;
}

/* The total size of the regular files in directory `dir`. */
static uint64_t dir_bytes(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  uint64_t sum = 0;
  struct dirent *e;
  char p[600];
  struct stat st;
  while ((e = readdir(d)) != NULL) {
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) sum += (uint64_t)st.st_size;
  }
  closedir(d);
  return sum;
}

/* The digest of the latest commit of `db` (zeros if that fails, a failed check). */
static void digest_db(qv_db *db, uint8_t out[32]) {
  memset(out, 0, 32);
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  CHECK_OK(qv_digest(r, out));
  qv_txn_rollback(r);
}

/* The copy at `path` opens without QV_OPEN_CREATE, replays nothing (it is checkpointed),
 * checks clean and has the digest `want`. Returns the total size of its files. */
static uint64_t check_copy(const char *path, const uint8_t want[32]) {
  printf("# the copy %s\n", path);
  qv_options o;
  qv_options_init(&o);
  o.flags = 0;
  qv_db *copy = NULL;
  if (!CHECK_OK(qv_open(path, &o, &copy))) return 0;
  qv_recovery_stats rs;
  memset(&rs, 0x5A, sizeof rs);
  CHECK_OK(qv_last_recovery(copy, &rs));
  CHECK(rs.txns_replayed == 0);
  uint8_t got[32];
  digest_db(copy, got);
  CHECK(memcmp(got, want, 32) == 0);
  qvt_check_clean(copy);
  CHECK_OK(qv_close(copy));
  return dir_bytes(path);
}

/* A graph of `nodes` nodes (>= 12) and as many edges over three labels and three edge
 * types with string, int, float, bool and bytes properties; then updates (superseded
 * blobs), unsets, and deletes of edges and of nodes with their edges. A checkpoint
 * half-way puts the first blobs on disk; the later ones stay in memory. */
static void build_graph(qv_db *db, int nodes) {
  static const char *const labels[] = {"Person", "City", "Tag"};
  static const char *const types[] = {"KNOWS", "LIVES_IN", "TAGGED"};
  qv_node_id *ids = calloc((size_t)nodes, sizeof *ids);
  if (!CHECK(ids != NULL)) return;
  static const uint8_t raw[20] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233};
  char name[32];
  int ok = 1;
  qv_txn *w = qvt_begin(db, 0);
  for (int i = 0; i < nodes; i++) {
    snprintf(name, sizeof name, "node %d", i);
    qv_prop props[] = {
        {"name", qvt_str(name)},
        {"i", qvt_int(i)},
        {"w", {.type = QV_TYPE_FLOAT, .as.f = i / 3.0}},
        {"odd", {.type = QV_TYPE_BOOL, .as.b = i % 2 == 1}},
    };
    ok &= qv_node_insert_with(w, labels[i % 3], props, 4, &ids[i]) == QV_OK;
  }
  for (int i = 0; i < nodes; i++) {
    qv_prop props[] = {{"since", qvt_int(2000 + i)}, {"raw", qvt_bytes(raw, (size_t)i % 20)}};
    qv_edge_id e;
    ok &= qv_edge_insert_with(w, ids[i], ids[(i * 7 + 1) % nodes], types[i % 3], props, 2,
                              &e) == QV_OK;
  }
  ok &= qv_txn_commit(w) == QV_OK;
  ok &= qv_checkpoint(db) == QV_OK;
  w = qvt_begin(db, 0);
  for (int i = 0; i < nodes; i++) {
    qv_value updated = qvt_int(-i);
    if (i % 3 == 0) ok &= qv_node_set(w, ids[i], "i", &updated) == QV_OK;
    if (i % 4 == 1) ok &= qv_node_unset(w, ids[i], "w") == QV_OK;
    if (i % 5 == 2) ok &= qv_edge_delete(w, (qv_edge_id)i + 1) == QV_OK;
  }
  for (int i = 6; i < nodes; i += 11) ok &= qv_node_delete(w, ids[i], QV_DETACH) == QV_OK;
  ok &= qv_txn_commit(w) == QV_OK;
  CHECK(ok);
  free(ids);
}

/* `nodes` nodes with a `blob`-byte property each, committed and checkpointed: a copy made
 * in the default mode copies that heap as it is, a megabyte at a time, so its progress
 * callback is called in the middle of the copy too. */
static void build_bulk(qv_db *db, int nodes, size_t blob) {
  uint8_t *bytes = qvt_filled(blob, 0xB5);
  if (!bytes) return;
  int ok = 1;
  qv_txn *w = qvt_begin(db, 0);
  for (int i = 0; i < nodes; i++) {
    qv_prop prop = {"blob", qvt_bytes(bytes, blob)};
    qv_node_id n;
    ok &= qv_node_insert_with(w, "Bulk", &prop, 1, &n) == QV_OK;
  }
  ok &= qv_txn_commit(w) == QV_OK;
  ok &= qv_checkpoint(db) == QV_OK;
  CHECK(ok);
  free(bytes);
}

/* ----------------------------------------------------------------------------------- */

/* A copy holds the source's content; the source is unchanged and keeps working; a copy of
 * the copy holds it too. */
void test_backup_round_trip(void) {
  struct scene s;
  scene_open(&s, "bk-round", qvt_options(QV_SYNC_NORMAL, 0));
  build_graph(s.db, qvt_under_valgrind() ? 60 : 300);
  uint8_t want[32], got[32];
  digest_db(s.db, want);
  const char *copy = scene_path(&s, "copy"), *copy2 = scene_path(&s, "copy2");
  CHECK_OK(qv_backup(s.db, copy, 0, NULL, NULL));
  check_copy(copy, want);
  CHECK(strays(s.dir, (const char *const[]){"copy", NULL}) == 0);

  digest_db(s.db, got);
  CHECK(memcmp(got, want, 32) == 0);
  qvt_commit_node(s.db, "After");
  digest_db(s.db, got);
  CHECK(memcmp(got, want, 32) != 0);

  /* The copy is a database like any other: it can be backed up in turn. */
  qv_db *c = NULL;
  CHECK_OK(qvt_open(copy, QV_SYNC_NORMAL, 0, &c));
  CHECK_OK(qv_backup(c, copy2, QV_BACKUP_COMPACT, NULL, NULL));
  CHECK_OK(qv_close(c));
  check_copy(copy2, want);
  scene_end(&s);
}

/* After many updates of a property, each checkpointed: the source's heap reuses the space
 * of superseded blobs (it holds the live blob and the one the last checkpoint freed, which
 * only the next may reuse), a default copy carries that free space as it is and a compact
 * one does not; both hold the same content. */
void test_backup_compact(void) {
  struct scene s;
  scene_open(&s, "bk-compact", qvt_options(QV_SYNC_NORMAL, 0));
  enum { BLOB = 4096, UPDATES = 24 };
  qv_node_id hub = qvt_commit_node(s.db, "Hub");
  int ok = 1;
  for (int round = 0; round < UPDATES; round++) {
    uint8_t *bytes = qvt_filled(BLOB, (uint8_t)round);
    qv_txn *w = qvt_begin(s.db, 0);
    qv_value v = qvt_bytes(bytes, BLOB), n = qvt_int(round);
    ok &= qv_node_set(w, hub, "blob", &v) == QV_OK && qv_node_set(w, hub, "n", &n) == QV_OK;
    ok &= qv_txn_commit(w) == QV_OK && qv_checkpoint(s.db) == QV_OK;
    free(bytes);
  }
  CHECK(ok);
  uint8_t want[32];
  digest_db(s.db, want);
  const char *plain = scene_path(&s, "plain"), *compact = scene_path(&s, "compact");
  CHECK_OK(qv_backup(s.db, plain, 0, NULL, NULL));
  CHECK_OK(qv_backup(s.db, compact, QV_BACKUP_COMPACT, NULL, NULL));
  uint64_t plain_bytes = check_copy(plain, want), compact_bytes = check_copy(compact, want);
  qv_db_stats st = qvt_stats(s.db);
  printf("# files: source data %llu, default copy %llu, compact copy %llu bytes\n",
         (unsigned long long)st.data_bytes, (unsigned long long)plain_bytes,
         (unsigned long long)compact_bytes);
  /* Without reuse the source would hold all UPDATES blobs. */
  CHECK(st.data_bytes < 3 * (uint64_t)BLOB);
  /* The default copy holds the freed blob's space, the compact one only the live blob. */
  CHECK(compact_bytes > 0 && compact_bytes < plain_bytes);
  CHECK(plain_bytes - compact_bytes >= (uint64_t)BLOB);
  scene_end(&s);
}

/* Calls of on_progress with a `user` pointer other than the one qv_backup was given. */
static int wrong_user_calls;

struct progress {
  struct progress *self; /* == the struct's address: the `user` pointer came through */
  int calls, cancel_at;  /* cancel_at: return non-zero at this call (1 = the first) */
  int done_fell, total_fell, total_fell_at, done_over_total;
  uint64_t first_done, last_done, last_total;
};

static struct progress progress_new(int cancel_at) {
  struct progress p;
  memset(&p, 0, sizeof p);
  p.cancel_at = cancel_at;
  return p;
}

static int on_progress(void *user, uint64_t done, uint64_t total) {
  struct progress *p = user;
  if (p == NULL || p->self != p) {
    wrong_user_calls++;
    return 0;
  }
  if (++p->calls == 1) p->first_done = done;
  if (p->calls > 1 && done < p->last_done) p->done_fell++;
  if (p->calls > 1 && total < p->last_total) p->total_fell++, p->total_fell_at = p->calls;
  if (done > total) p->done_over_total++;
  p->last_done = done;
  p->last_total = total;
  return p->calls == p->cancel_at;
}

/* Every failure below is an argument check: nothing is created at `dest` nor beside it,
 * the progress callback is never called, and the message says what was wrong. */
static void check_rejected(struct scene *s, const char *dest, uint32_t flags, qv_status want,
                           const char *needle, const char *const *keep) {
  printf("# qv_backup to %s, flags %u\n", dest ? dest : "NULL", flags);
  struct progress p = progress_new(0);
  p.self = &p;
  CHECK_STATUS(qv_backup(s->db, dest, flags, on_progress, &p), want);
  if (!CHECK(qvt_contains(qvt_errmsg(), needle)))
    printf("#   message: %s (wanted \"%s\")\n", qvt_errmsg(), needle);
  CHECK(p.calls == 0);
  CHECK(strays(s->dir, keep) == 0);
}

void test_backup_bad_arguments(void) {
  struct scene s;
  scene_open(&s, "bk-args", qvt_options(QV_SYNC_NORMAL, 0));
  qvt_commit_node(s.db, "N");
  uint8_t want[32], got[32];
  digest_db(s.db, want);
  const char *copy = scene_path(&s, "copy");

  CHECK_STATUS(qv_backup(NULL, copy, 0, NULL, NULL), QV_NULL_ARGUMENT);
  CHECK_ERR_HAS("db is NULL");
  check_rejected(&s, NULL, 0, QV_NULL_ARGUMENT, "dest_path is NULL", NULL);
  check_rejected(&s, "", 0, QV_INVALID_ARGUMENT, "dest_path is empty", NULL);
  check_rejected(&s, copy, 2, QV_INVALID_ARGUMENT, "unknown qv_backup flags", NULL);
  check_rejected(&s, scene_path(&s, "missing/copy"), 0, QV_NOT_FOUND, "missing", NULL);

  /* Destinations that exist (also empty, also a dangling link) are left as they are. */
  const char *file = scene_path(&s, "file"), *full = scene_path(&s, "full");
  const char *empty = scene_path(&s, "empty"), *link = scene_path(&s, "link");
  FILE *f = fopen(file, "w");
  CHECK(f != NULL && fputs("keep", f) >= 0 && fclose(f) == 0);
  CHECK(mkdir(full, 0700) == 0 && mkdir(empty, 0700) == 0);
  CHECK(symlink("nowhere", link) == 0);
  char inside[600];
  snprintf(inside, sizeof inside, "%s/inside", full);
  CHECK((f = fopen(inside, "w")) != NULL && fclose(f) == 0);
  const char *const existing[] = {"file", "full", "empty", "link", NULL};
  for (int i = 0; existing[i]; i++)
    check_rejected(&s, scene_path(&s, existing[i]), QV_BACKUP_COMPACT, QV_INVALID_ARGUMENT,
                   "already exists", existing);
  char text[8] = "";
  CHECK((f = fopen(file, "r")) != NULL && fgets(text, sizeof text, f) && fclose(f) == 0);
  CHECK(strcmp(text, "keep") == 0);
  CHECK(!absent(inside));
  CHECK(strays(full, (const char *const[]){"inside", NULL}) == 0);
  CHECK(strays(empty, NULL) == 0);
  CHECK(wrong_user_calls == 0);

  /* The source is as it was and still commits. */
  digest_db(s.db, got);
  CHECK(memcmp(got, want, 32) == 0);
  qvt_commit_node(s.db, "N");
  CHECK_COUNTS(s.db, 2, 0);
  scene_end(&s);
}

/* Runs qv_backup(s->db, dest, flags) with on_progress cancelling at call `cancel_at`
 * (0: never) and checks what any run must show: `user` came through, `done` never fell.
 * Returns the progress record. */
static struct progress backup_with_progress(struct scene *s, const char *dest, uint32_t flags,
                                            int cancel_at, qv_status want) {
  struct progress p = progress_new(cancel_at);
  p.self = &p;
  CHECK_STATUS(qv_backup(s->db, dest, flags, on_progress, &p), want);
  printf("# %d call(s), done from %llu to %llu, last total %llu, done > total at %d call(s), "
         "total fell at %d call(s) (the last at call %d)\n",
         p.calls, (unsigned long long)p.first_done, (unsigned long long)p.last_done,
         (unsigned long long)p.last_total, p.done_over_total, p.total_fell, p.total_fell_at);
  CHECK(p.calls >= 1);
  CHECK(p.done_fell == 0);
  /* An estimate that "may grow"; the last call may replace it with the bytes written. */
  CHECK(p.total_fell == 0 || (p.total_fell == 1 && p.total_fell_at == p.calls));
  return p;
}

/* The callback hears of the copy from start (done 0) to end; a non-zero return at the
 * first, a middle or the last call (when the copy is complete, before its rename) stops
 * the backup with QV_INTERRUPTED, no further call, nothing left behind, and the source
 * commits afterwards. */
void test_backup_progress_and_cancel(void) {
  struct scene s;
  scene_open(&s, "bk-progress", qvt_options(QV_SYNC_NORMAL, 0));
  build_bulk(s.db, 80, 16 * 1024); /* a 1.3 MB heap: calls in the middle of the copy */
  uint8_t want[32];
  digest_db(s.db, want);
  const char *copy = scene_path(&s, "copy"), *cancelled = scene_path(&s, "cancelled");
  const char *const keep[] = {"copy", NULL};

  struct progress full = backup_with_progress(&s, copy, 0, 0, QV_OK);
  uint64_t bytes = check_copy(copy, want);
  printf("# the copy's files: %llu bytes\n", (unsigned long long)bytes);
  CHECK(full.calls >= 4);
  CHECK(full.first_done == 0);
  CHECK(full.last_done >= 80 * 16 * 1024); /* at least the heap */
  CHECK(strays(s.dir, keep) == 0);

  /* The last call first: the graph is as it was for `full`, so it is the same call. */
  const struct {
    int at;
    uint32_t flags;
  } cancels[] = {{full.calls, 0}, {1, 0}, {2, 0}, {1, QV_BACKUP_COMPACT}, {2, QV_BACKUP_COMPACT}};
  for (size_t i = 0; i < sizeof cancels / sizeof cancels[0]; i++) {
    printf("# cancel at call %d, flags %u\n", cancels[i].at, cancels[i].flags);
    struct progress p =
        backup_with_progress(&s, cancelled, cancels[i].flags, cancels[i].at, QV_INTERRUPTED);
    CHECK(p.calls == cancels[i].at);
    /* The last call is the one that reports the whole copy. */
    if (cancels[i].at == full.calls) CHECK(p.last_done == full.last_done);
    CHECK_ERR_HAS("cancelled by its progress callback");
    CHECK(absent(cancelled));
    CHECK(strays(s.dir, keep) == 0);
    qvt_commit_node(s.db, "AfterCancel");
  }
  CHECK(wrong_user_calls == 0);
  CHECK_COUNTS(s.db, 85, 0);

  /* The name is still free: a backup there succeeds, with the commits made since. */
  digest_db(s.db, want);
  backup_with_progress(&s, cancelled, QV_BACKUP_COMPACT, 0, QV_OK);
  check_copy(cancelled, want);
  scene_end(&s);
}

/* ----------------------------------------------------------------------------------- */

/* A writer thread commits until told to stop: each commit k (from 1) sets the counter
 * node's "k" to k and adds a TICK edge from it with "seq" k, so a commit prefix of length
 * k has k in the counter and exactly the edges seq 1..k. */
struct hot {
  qv_db *db;
  qv_node_id counter, hub;
  atomic_int stop;
  atomic_uint_fast64_t committed; /* commits that returned QV_OK */
  qv_status failure;              /* the writer's first failed call, else QV_OK */
  /* The backup under way (main thread): the writer's commits at its callback's first and
   * last call. */
  int calls;
  uint64_t at_first, at_last;
};

static qv_status hot_commit(struct hot *h, int64_t k) {
  static const char pad[200] = {'w'}; /* log volume: checkpoints run during the copies */
  qv_prop edge_props[] = {{"seq", qvt_int(k)}, {"pad", qvt_bytes(pad, sizeof pad)}};
  qv_value counter = qvt_int(k);
  qv_txn *w = NULL;
  qv_edge_id e;
  qv_status st = qv_txn_begin(h->db, 0, &w);
  if (st == QV_OK) st = qv_node_set(w, h->counter, "k", &counter);
  if (st == QV_OK) st = qv_edge_insert_with(w, h->counter, h->hub, "TICK", edge_props, 2, &e);
  if (st != QV_OK) {
    qv_txn_rollback(w);
    return st;
  }
  return qv_txn_commit(w);
}

static void *hot_writer(void *arg) {
  struct hot *h = arg;
  for (uint64_t k = 1; !atomic_load(&h->stop); k++) {
    h->failure = hot_commit(h, (int64_t)k);
    if (h->failure != QV_OK) break;
    atomic_store(&h->committed, k);
  }
  return NULL;
}

/* At its first call, waits (up to 5 s) until the writer has committed 5 more times, so
 * the copy is made while commits land. */
static int hot_progress(void *user, uint64_t done, uint64_t total) {
  (void)done;
  (void)total;
  struct hot *h = user;
  uint64_t now = atomic_load(&h->committed);
  if (h->calls++ == 0) {
    h->at_first = now;
    double until = qvt_now_ms() + 5000;
    while (atomic_load(&h->committed) < now + 5 && qvt_now_ms() < until) usleep(200);
  }
  h->at_last = atomic_load(&h->committed);
  return 0;
}

/* The copy at `path` holds a commit prefix: returns its k after checking that the counter
 * says k and its TICK edges carry seq 1..k, each once (UINT64_MAX if it cannot be read). */
static uint64_t hot_copy_prefix(const char *path, qv_node_id counter) {
  qv_db *copy = NULL;
  uint64_t k = UINT64_MAX;
  if (!CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &copy))) return k;
  qv_txn *r = qvt_begin(copy, QV_TXN_READ_ONLY);
  qv_value v;
  qv_cursor *c = NULL;
  if (CHECK_OK(qv_node_get(r, counter, "k", &v)) && CHECK(v.type == QV_TYPE_INT && v.as.i >= 0) &&
      CHECK_OK(qv_edges(r, counter, QV_OUT, "TICK", &c))) {
    k = (uint64_t)v.as.i;
    uint8_t *seen = calloc(k + 1, 1);
    uint64_t edges = 0, bad = 0;
    qv_edge e;
    while (seen && qv_cursor_next_edge(c, &e) == QV_OK) {
      edges++;
      if (qv_edge_get_prop(r, e.id, "seq", &v) != QV_OK || v.type != QV_TYPE_INT ||
          v.as.i < 1 || (uint64_t)v.as.i > k || seen[v.as.i]++)
        bad++;
    }
    if (!CHECK(seen && edges == k && bad == 0))
      printf("#   k %llu, %llu TICK edges, %llu bad seq\n", (unsigned long long)k,
             (unsigned long long)edges, (unsigned long long)bad);
    free(seen);
  }
  qv_cursor_free(c);
  qv_txn_rollback(r);
  qvt_check_clean(copy);
  CHECK_OK(qv_close(copy));
  return k;
}

/* Backups while a writer commits (and checkpoints) throughout: each copy opens and holds
 * exactly the commits before its start (no fewer than had returned when qv_backup was
 * called, none begun after its first callback), and commits landed during each copy. */
void test_backup_hot_writer(void) {
  struct scene s;
  /* Small checkpoint_bytes: checkpoints run while copies are under way. */
  scene_open(&s, "bk-hot", qvt_options(QV_SYNC_NORMAL, 32 * 1024));
  struct hot h;
  memset(&h, 0, sizeof h);
  h.db = s.db;
  qv_txn *w = qvt_begin(s.db, 0);
  qv_prop zero = {"k", qvt_int(0)};
  CHECK_OK(qv_node_insert_with(w, "Counter", &zero, 1, &h.counter));
  CHECK_OK(qv_node_insert(w, "Hub", &h.hub));
  CHECK_OK(qv_txn_commit(w));
  pthread_t writer;
  if (!CHECK(pthread_create(&writer, NULL, hot_writer, &h) == 0)) return;

  int copies = qvt_under_valgrind() ? 2 : 6;
  char name[32];
  for (int i = 0; i < copies; i++) {
    snprintf(name, sizeof name, "hot-%d", i);
    const char *dest = scene_path(&s, name);
    h.calls = 0;
    uint64_t before = atomic_load(&h.committed);
    CHECK_OK(qv_backup(s.db, dest, i % 2 ? QV_BACKUP_COMPACT : 0, hot_progress, &h));
    uint64_t k = hot_copy_prefix(dest, h.counter);
    printf("# copy %d: k %llu; the writer was at %llu before the call, %llu at the first "
           "callback, %llu at the last (%d calls)\n",
           i, (unsigned long long)k, (unsigned long long)before,
           (unsigned long long)h.at_first, (unsigned long long)h.at_last, h.calls);
    /* Commit at_first + 1 may have been visible before the writer counted it. */
    CHECK(k >= before && k <= h.at_first + 1);
    CHECK(h.at_last >= h.at_first + 5);
    qvt_rmtree(dest);
  }
  atomic_store(&h.stop, 1);
  CHECK(pthread_join(writer, NULL) == 0);
  CHECK_STATUS(h.failure, QV_OK);
  CHECK(atomic_load(&h.committed) >= 5u * (unsigned)copies);
  scene_end(&s);
}

/* ----------------------------------------------------------------------------------- */

/* What a child that backs up reports when its progress callback reaches call `at`. */
struct kill_point {
  int fd, at, calls;
  uint64_t done, total;
};

/* Reports (done, total) to the parent at call `at`, then waits to be killed. */
static int kill_progress(void *user, uint64_t done, uint64_t total) {
  struct kill_point *k = user;
  if (++k->calls == k->at) {
    k->done = done;
    k->total = total;
    if (write(k->fd, k, sizeof *k) != (ssize_t)sizeof *k) _exit(103);
    for (;;) pause();
  }
  return 0;
}

/* The child: opens `src` and backs it up to `dest`; never returns. */
static void kill_child(const char *src, const char *dest, int at, int fd) {
  qv_db *db = NULL;
  if (qvt_open(src, QV_SYNC_NORMAL, 0, &db) != QV_OK) _exit(100);
  struct kill_point k;
  memset(&k, 0, sizeof k); /* padding included: all of it goes down the pipe */
  k.fd = fd;
  k.at = at;
  _exit(qv_backup(db, dest, 0, kill_progress, &k) == QV_OK ? 101 : 102);
}

/* After a child `pid` was killed during a backup to `name`: every entry of the scene
 * besides the source and `name` itself must be the child's hidden ".NAME.qvbackup-PID-N"
 * directory. Returns how many there are, and sets `*usable` to how many of them qv_open
 * (without creating) opens. */
static int hidden_dirs(const struct scene *s, const char *name, pid_t pid, int *usable) {
  char prefix[128];
  snprintf(prefix, sizeof prefix, ".%s.qvbackup-%d-", name, (int)pid);
  DIR *d = opendir(s->dir);
  int n = 0, foreign = 0;
  *usable = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "src") ||
        !strcmp(e->d_name, name))
      continue;
    if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) {
      printf("#   unexpected entry: %s\n", e->d_name);
      foreign++;
      continue;
    }
    n++;
    qv_options o;
    qv_options_init(&o);
    o.flags = 0;
    qv_db *db = NULL;
    qv_status st = qv_open(scene_path(s, e->d_name), &o, &db);
    printf("# left behind: %s; qv_open gives %s: %s\n", e->d_name, qv_status_str(st),
           st == QV_OK ? "" : qvt_errmsg());
    *usable += st == QV_OK;
    qv_close(db);
  }
  if (d) closedir(d);
  CHECK(d != NULL && foreign == 0);
  return n;
}

/* A child killed with SIGKILL in the middle of a backup (at its second progress call,
 * with a megabyte of a 1.3 MB copy written) and at its last (the copy complete and durable,
 * not yet renamed). Nothing appears at the destination, and beside the source only the
 * child's hidden directory, which the header allows to stay; the source opens with every
 * commit; a new backup to the same destination succeeds and removes that directory (as
 * the header says the next backup does). The header also says the directory holds "no
 * usable database": true after the kill in the middle (asserted: qv_open refuses it), but
 * after the kill at the last call it holds the finished copy, which qv_open opens (printed
 * as a note, not asserted). */
void test_backup_killed(void) {
  struct scene s;
  scene_open(&s, "bk-kill", qvt_options(QV_SYNC_NORMAL, 0));
  build_bulk(s.db, 80, 16 * 1024);
  build_graph(s.db, 40); /* commits after the checkpoint: recovery replays them */
  uint8_t want[32], got[32];
  digest_db(s.db, want);
  /* How many calls a backup of this graph makes (its last is the one to kill at), with
   * the source as a child finds it: just opened (the heap's layout decides the count). */
  qvt_reopen(&s.db, s.src, QV_SYNC_NORMAL);
  const char *dest = scene_path(&s, "copy");
  struct progress probe = backup_with_progress(&s, dest, 0, 0, QV_OK);
  qvt_rmtree(dest);
  CHECK_OK(qv_close(s.db));
  s.db = NULL;

  const int points[] = {2, probe.calls};
  for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
    int fd;
    pid_t pid = qvt_fork_with_pipe(&fd);
    if (pid == 0) kill_child(s.src, dest, points[i], fd);
    struct kill_point k;
    memset(&k, 0, sizeof k);
    CHECK(qvt_read_full(fd, &k, sizeof k) == 1);
    CHECK(kill(pid, SIGKILL) == 0);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
      printf("#   child exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(fd);
    printf("# killed at call %d of %d: %llu of %llu bytes written\n", k.calls, probe.calls,
           (unsigned long long)k.done, (unsigned long long)k.total);
    CHECK(k.calls == points[i]);
    CHECK(points[i] < probe.calls ? k.done > 0 && k.done < k.total : k.done == k.total);
    CHECK(absent(dest));
    int usable = 0, left = hidden_dirs(&s, "copy", pid, &usable);
    printf("# %d hidden directory(ies) left, %d of them a database qv_open opens\n", left,
           usable);
    if (points[i] < probe.calls) CHECK(usable == 0);
    else if (usable) printf("# NOTE: a complete copy is left in the hidden directory\n");

    /* The source: every commit, no damage; a new backup to the same destination succeeds
     * and removes the hidden directory the killed one left. */
    CHECK_OK(qvt_open(s.src, QV_SYNC_NORMAL, 0, &s.db));
    if (!s.db) break;
    digest_db(s.db, got);
    CHECK(memcmp(got, want, 32) == 0);
    qvt_check_clean(s.db);
    CHECK_OK(qv_backup(s.db, dest, 0, NULL, NULL));
    check_copy(dest, want);
    CHECK_OK(qv_close(s.db));
    s.db = NULL;
    CHECK(hidden_dirs(&s, "copy", pid, &usable) == 0); /* the new backup removed them */
    qvt_rmtree(dest);
  }
  CHECK_OK(qvt_open(s.src, QV_SYNC_NORMAL, 0, &s.db));
  scene_end(&s);
}

/* ----------------------------------------------------------------------------------- */

/* What the disk-full child reports. */
struct full_report {
  char skip[200]; /* why the tmpfs could not be mounted; "" when it was */
  qv_status backup, commit, close;
  char msg[300];
  int calls, left, digest_same, check_problems;
};

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a new user namespace: this process's uid and gid (`uid`, `gid` outside) are root. */
static int map_to_root(uid_t uid, gid_t gid) {
  char map[64];
  if (write_text("/proc/self/setgroups", "deny") != 0) return -1;
  snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
  if (write_text("/proc/self/uid_map", map) != 0) return -1;
  snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
  return write_text("/proc/self/gid_map", map);
}

/* Puts this process in a mount namespace of its own (and, when not root, a user namespace
 * in which it is root) and mounts a tmpfs with `opts` at `dir`, seen by no other process.
 * Returns "" or why not (in `why`). */
static const char *private_tmpfs(const char *dir, const char *opts, char *why, size_t cap) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  why[0] = 0;
  if (unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0)
    snprintf(why, cap, "unshare: %s", strerror(errno));
  else if (uid != 0 && map_to_root(uid, gid) != 0)
    snprintf(why, cap, "user namespace id maps: %s", strerror(errno));
  /* Private first: a mount under a shared / would propagate to the parent's namespace.
   * (A propagation change ignores the source and type; valgrind wants strings there.) */
  else if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
    snprintf(why, cap, "making / private: %s", strerror(errno));
  else if (mount("quiver-c-test", dir, "tmpfs", 0, opts) != 0)
    snprintf(why, cap, "mount tmpfs: %s", strerror(errno));
  return why;
}

/* Entries of directory `dir` besides "." and "..", or -1 when it cannot be read. */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

/* The child: mounts a 1 MB tmpfs at the scene `dir`'s "mnt", backs its "src" (a 1.3 MB
 * heap) up into it, and reports the result and what the source does afterwards. */
static void full_child(const char *dir, int fd) {
  struct full_report r;
  memset(&r, 0, sizeof r);
  char src[300], mnt[300];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(mnt, sizeof mnt, "%s/mnt", dir);
  if (!private_tmpfs(mnt, "size=1m", r.skip, sizeof r.skip)[0]) {
    qv_db *db = NULL;
    if (qvt_open(src, QV_SYNC_NORMAL, 0, &db) != QV_OK) _exit(100);
    uint8_t before[32], after[32];
    qv_txn *t = NULL;
    if (qv_txn_begin(db, QV_TXN_READ_ONLY, &t) != QV_OK || qv_digest(t, before) != QV_OK)
      _exit(101);
    qv_txn_rollback(t);
    char dest[400];
    snprintf(dest, sizeof dest, "%s/copy", mnt);
    struct progress p = progress_new(0);
    p.self = &p;
    r.backup = qv_backup(db, dest, 0, on_progress, &p);
    snprintf(r.msg, sizeof r.msg, "%s", qvt_errmsg());
    r.calls = p.calls;
    r.left = count_entries(mnt);
    if (qv_txn_begin(db, QV_TXN_READ_ONLY, &t) != QV_OK || qv_digest(t, after) != QV_OK)
      _exit(102);
    qv_txn_rollback(t);
    r.digest_same = memcmp(before, after, 32) == 0;
    qv_node_id n;
    r.commit = qv_txn_begin(db, 0, &t);
    if (r.commit == QV_OK) r.commit = qv_node_insert(t, "AfterFull", &n);
    if (r.commit == QV_OK)
      r.commit = qv_txn_commit(t);
    else
      qv_txn_rollback(t);
    qv_check_report rep;
    r.check_problems = qv_check(db, &rep) == QV_OK ? (int)rep.problems : -1;
    r.close = qv_close(db);
  }
  if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(103);
  _exit(0);
}

/* A backup into a tmpfs smaller than the copy: QV_FULL, nothing left in the tmpfs, and the
 * source is not poisoned (it commits afterwards, and that commit is there on reopening).
 * The tmpfs lives in a child's private mount namespace; where that is refused the test
 * prints a SKIP line, except as root, where it must work (CI runs as root). */
void test_backup_disk_full(void) {
  struct scene s;
  scene_open(&s, "bk-full", qvt_options(QV_SYNC_NORMAL, 0));
  build_bulk(s.db, 80, 16 * 1024);
  uint8_t want[32], got[32];
  digest_db(s.db, want);
  CHECK_OK(qv_close(s.db));
  s.db = NULL;
  const char *mnt = scene_path(&s, "mnt");
  CHECK(mkdir(mnt, 0700) == 0);

  struct full_report r;
  memset(&r, 0, sizeof r);
  int got_report = qvt_run_child(full_child, s.dir, &r, sizeof r);
  if (got_report && r.skip[0]) {
    printf("# SKIP test_backup_disk_full: no private tmpfs (%s)\n", r.skip);
    if (geteuid() == 0) CHECK(!"as root, a mount namespace and a tmpfs must be possible");
  } else if (got_report) {
    printf("# backup into the full tmpfs: %s after %d progress call(s): %s\n",
           qv_status_str(r.backup), r.calls, r.msg);
    printf("# then: commit %s, check problems %d, close %s\n", qv_status_str(r.commit),
           r.check_problems, qv_status_str(r.close));
    CHECK(r.backup == QV_FULL);
    CHECK(qvt_contains(r.msg, mnt));
    CHECK(r.left == 0);
    CHECK(r.digest_same);
    CHECK(r.commit == QV_OK);
    CHECK(r.check_problems == 0);
    CHECK(r.close == QV_OK);
  }
  /* The tmpfs went with the child's namespace; the source has the child's commit. */
  CHECK(count_entries(mnt) == 0);
  CHECK_OK(qvt_open(s.src, QV_SYNC_NORMAL, 0, &s.db));
  if (!s.db) return;
  qv_txn *r2 = qvt_begin(s.db, QV_TXN_READ_ONLY);
  CHECK(qvt_count_nodes(r2, "AfterFull") == (r.skip[0] ? 0u : 1u));
  qv_txn_rollback(r2);
  if (r.skip[0]) {
    digest_db(s.db, got);
    CHECK(memcmp(got, want, 32) == 0);
  }
  scene_end(&s);
}
