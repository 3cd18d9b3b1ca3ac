/* Threads: QV_BUSY for a second writer, a writer waiting for the lock, transactions moving
 * between threads, readers whose snapshot never changes while the main thread commits and
 * another thread checkpoints. Threads never call the harness (it is not thread-safe): they
 * record results that the main thread checks after joining them. */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GARBAGE ((void *)(uintptr_t)0xdeadbeefu)

/* Runs fn(arg) on a new thread and waits for it to end: two checks, at the caller's line. */
#define RUN_ON_THREAD(fn, arg)                                                            \
  run_on_thread_at((fn), (arg), "pthread_create(" #fn ") == 0", "pthread_join(" #fn ") == 0", \
                   __FILE__, __LINE__)

static void run_on_thread_at(void *(*fn)(void *), void *arg, const char *create_what,
                             const char *join_what, const char *file, int line) {
  pthread_t th;
  if (!qvt_check(pthread_create(&th, NULL, fn, arg) == 0, create_what, file, line)) return;
  qvt_check(pthread_join(th, NULL) == 0, join_what, file, line);
}

/* Opens a new database in a fresh temp directory into *db, with QV_SYNC_NORMAL and
 * busy_timeout_ms `busy_ms` (0: no waiting); returns the directory. */
static const char *fresh_db_busy_ms(const char *tag, uint32_t busy_ms, qv_db **db) {
  qv_options o = qvt_options(QV_SYNC_NORMAL, 0);
  o.busy_timeout_ms = busy_ms;
  return qvt_fresh_db_with(tag, o, db);
}

struct busy_arg {
  qv_db *db;
  /* results */
  qv_status begin_status;
  int out_cleared;
  double begin_ms;
  char begin_msg[512];
  qv_status ckpt_status;
  double ckpt_ms;
  qv_status read_status;
  uint64_t read_nodes;
  qv_status write_status; /* second phase */
  qv_status commit_status;
  uint64_t write_nodes;
};

static void *busy_writer(void *p) {
  struct busy_arg *a = p;
  qv_txn *t = GARBAGE;
  double t0 = qvt_now_ms();
  a->begin_status = qv_txn_begin(a->db, 0, &t);
  a->begin_ms = qvt_now_ms() - t0;
  a->out_cleared = t == NULL;
  size_t len;
  qv_last_error(a->begin_msg, sizeof a->begin_msg, &len);
  if (a->begin_status == QV_OK) qv_txn_rollback(t);
  t0 = qvt_now_ms();
  a->ckpt_status = qv_checkpoint(a->db);
  a->ckpt_ms = qvt_now_ms() - t0;
  /* Readers are never blocked by the writer. */
  qv_txn *r = NULL;
  a->read_status = qv_txn_begin(a->db, QV_TXN_READ_ONLY, &r);
  if (a->read_status == QV_OK) {
    a->read_nodes = qvt_count_nodes(r, NULL);
    qv_txn_rollback(r);
  }
  return NULL;
}

/* Runs busy_writer against `db` on another thread (while this one holds the write lock);
 * returns what it recorded. */
static struct busy_arg run_busy_writer(qv_db *db) {
  struct busy_arg a;
  memset(&a, 0, sizeof a);
  a.db = db;
  RUN_ON_THREAD(busy_writer, &a);
  return a;
}

static void *second_writer(void *p) {
  struct busy_arg *a = p;
  qv_txn *t = NULL;
  a->write_status = qv_txn_begin(a->db, 0, &t);
  if (a->write_status == QV_OK) {
    qv_node_id n;
    a->write_status = qv_node_insert(t, "FromThread", &n);
    a->write_nodes = qvt_count_nodes(t, NULL);
    a->commit_status = qv_txn_commit(t);
  }
  return NULL;
}

void test_conc_busy(void) {
  qv_db *db = NULL;
  const char *path = fresh_db_busy_ms("busy", 100, &db);
  qv_txn *w = NULL, *init = NULL;
  qv_node_id n;
  CHECK_OK(qv_txn_begin(db, 0, &init));
  CHECK_OK(qv_node_insert(init, "Committed", &n));
  CHECK_OK(qv_txn_commit(init));

  CHECK_OK(qv_txn_begin(db, 0, &w));
  CHECK_OK(qv_node_insert(w, "Uncommitted", &n));
  struct busy_arg a = run_busy_writer(db);
  CHECK(a.begin_status == QV_BUSY);
  CHECK(a.out_cleared);
  if (!CHECK(a.begin_ms >= 90)) printf("#   waited %.1f ms\n", a.begin_ms);
  CHECK(a.begin_ms < 4000); /* the configured 100 ms, not the 5 s default */
  CHECK(qvt_contains(a.begin_msg, "100"));
  printf("# busy message: %s\n", a.begin_msg);
  CHECK(a.ckpt_status == QV_BUSY);
  CHECK(a.ckpt_ms >= 90);
  CHECK(a.read_status == QV_OK);
  CHECK(a.read_nodes == 1); /* the committed node only */

  /* A checkpoint from the thread that holds the write transaction waits, then QV_BUSY. */
  double t0 = qvt_now_ms();
  CHECK_STATUS(qv_checkpoint(db), QV_BUSY);
  CHECK(qvt_now_ms() - t0 >= 90);
  /* The main thread's transaction was not disturbed. */
  CHECK(qvt_count_nodes(w, NULL) == 2);
  CHECK_OK(qv_txn_commit(w));

  /* Now a second writer gets the lock, while this thread holds a read transaction. */
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  RUN_ON_THREAD(second_writer, &a);
  CHECK(qvt_count_nodes(r, NULL) == 2); /* its snapshot */
  qv_txn_rollback(r);
  CHECK(a.write_status == QV_OK);
  CHECK(a.commit_status == QV_OK);
  CHECK(a.write_nodes == 3);
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 3);
  qvt_finish(db, path);
}

/* busy_timeout_ms = 0: no waiting at all. */
void test_conc_busy_zero_timeout(void) {
  qv_db *db = NULL;
  const char *path = fresh_db_busy_ms("busy0", 0, &db);
  qv_txn *w = qvt_begin(db, 0);
  struct busy_arg a = run_busy_writer(db);
  CHECK(a.begin_status == QV_BUSY && a.out_cleared);
  if (!CHECK(a.begin_ms < 1000)) printf("#   waited %.1f ms\n", a.begin_ms);
  CHECK(a.ckpt_status == QV_BUSY);
  CHECK(a.read_status == QV_OK);
  qv_txn_rollback(w);
  CHECK_OK(qv_checkpoint(db)); /* free now */
  qvt_finish(db, path);
}

struct wait_arg {
  qv_db *db;
  atomic_int started;
  qv_status status;
  double waited_ms;
  uint64_t nodes_seen;
  qv_status commit_status;
};

static void *waiting_writer(void *p) {
  struct wait_arg *a = p;
  qv_txn *t = NULL;
  double t0 = qvt_now_ms(); /* before the main thread starts its sleep */
  atomic_store(&a->started, 1);
  a->status = qv_txn_begin(a->db, 0, &t);
  a->waited_ms = qvt_now_ms() - t0;
  if (a->status == QV_OK) {
    a->nodes_seen = qvt_count_nodes(t, NULL);
    qv_node_id n;
    qv_node_insert(t, "Second", &n);
    a->commit_status = qv_txn_commit(t);
  }
  return NULL;
}

void test_conc_writer_waits(void) {
  qv_db *db = NULL;
  const char *path = fresh_db_busy_ms("wait", 20000, &db);
  qv_txn *w = qvt_begin(db, 0);
  struct wait_arg a;
  memset(&a, 0, sizeof a);
  a.db = db;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, waiting_writer, &a) == 0);
  while (!atomic_load(&a.started)) sched_yield();
  usleep(100 * 1000);
  qv_node_id n;
  CHECK_OK(qv_node_insert(w, "First", &n));
  CHECK_OK(qv_txn_commit(w));
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(a.status == QV_OK);
  CHECK(a.nodes_seen == 1); /* it began after the first writer committed */
  CHECK(a.commit_status == QV_OK);
  if (!CHECK(a.waited_ms >= 50)) printf("#   waited %.1f ms\n", a.waited_ms);
  qv_db_stats st = qvt_stats(db);
  CHECK(st.nodes == 2);
  qvt_finish(db, path);
}

struct move_arg {
  qv_txn *txn;
  qv_cursor *cur;
  int inserted;
  uint64_t yielded;
};

static void *use_moved_txn(void *p) {
  struct move_arg *a = p;
  for (int i = 0; i < 10; i++) {
    qv_node_id n;
    if (qv_node_insert(a->txn, "Moved", &n) == QV_OK) a->inserted++;
  }
  return NULL;
}

static void *use_moved_cursor(void *p) {
  struct move_arg *a = p;
  qv_node_id id;
  while (qv_cursor_next_node(a->cur, &id) == QV_OK) a->yielded++;
  return NULL;
}

void test_conc_txn_moves_between_threads(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("move", QV_SYNC_NORMAL, &db);
  struct move_arg a;
  memset(&a, 0, sizeof a);
  CHECK_OK(qv_txn_begin(db, 0, &a.txn));
  RUN_ON_THREAD(use_moved_txn, &a);
  CHECK(a.inserted == 10);
  CHECK(qvt_count_nodes(a.txn, "Moved") == 10);
  CHECK_OK(qv_txn_commit(a.txn));

  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &a.txn));
  CHECK_OK(qv_nodes(a.txn, NULL, &a.cur));
  RUN_ON_THREAD(use_moved_cursor, &a);
  CHECK(a.yielded == 10);
  qv_cursor_free(a.cur);
  qv_txn_rollback(a.txn);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

enum { READERS = 3, COMMITS = 240, MIN_READS = 4 };

struct reader_arg {
  qv_db *db;
  qv_node_id hub;
  atomic_int *stop;
  atomic_int *ready;
  /* results */
  int txns;
  int errors;
  int changed;
  int broken_invariant;
  int went_back;
  int stats_bad;
  int64_t first_counter, last_counter;
  char first_problem[256];
};

struct snapshot_view {
  uint64_t nodes, leaves, degree, edges, in_edges;
  int64_t counter;
  char tag[64];
};

static int look(qv_txn *t, qv_node_id hub, struct snapshot_view *s) {
  memset(s, 0, sizeof *s);
  s->nodes = qvt_count_nodes(t, NULL);
  s->leaves = qvt_count_nodes(t, "Leaf");
  if (qv_degree(t, hub, QV_OUT, NULL, &s->degree) != QV_OK) return 0;
  s->edges = qvt_count_edges(t, hub, QV_OUT, "HAS");
  s->in_edges = qvt_count_edges(t, hub, QV_IN, NULL);
  qv_value v;
  if (qv_node_get(t, hub, "counter", &v) != QV_OK || v.type != QV_TYPE_INT) return 0;
  s->counter = v.as.i;
  if (qv_node_get(t, hub, "tag", &v) != QV_OK || v.type != QV_TYPE_STRING ||
      v.as.bytes.len >= sizeof s->tag)
    return 0;
  memcpy(s->tag, v.as.bytes.ptr, v.as.bytes.len);
  return s->nodes != UINT64_MAX && s->leaves != UINT64_MAX && s->edges != UINT64_MAX &&
         s->in_edges != UINT64_MAX;
}

static void *reader(void *p) {
  struct reader_arg *a = p;
  a->first_counter = -1;
  int64_t prev = -1;
  atomic_fetch_add(a->ready, 1);
  while (!atomic_load(a->stop) || a->txns < MIN_READS) {
    qv_txn *t = NULL;
    if (qv_txn_begin(a->db, QV_TXN_READ_ONLY, &t) != QV_OK) {
      a->errors++;
      break;
    }
    a->txns++;
    struct snapshot_view s1, s2;
    if (!look(t, a->hub, &s1)) a->errors++;
    qv_db_stats st;
    if (qv_stats(a->db, &st) != QV_OK || st.readers < 1) a->stats_bad++;
    for (int i = 0; i < 3; i++) {
      usleep(200);
      sched_yield();
    }
    if (!look(t, a->hub, &s2)) a->errors++;
    if (memcmp(&s1, &s2, sizeof s1) != 0) {
      if (!a->changed++)
        snprintf(a->first_problem, sizeof a->first_problem,
                 "changed within a txn: nodes %llu->%llu degree %llu->%llu counter %lld->%lld",
                 (unsigned long long)s1.nodes, (unsigned long long)s2.nodes,
                 (unsigned long long)s1.degree, (unsigned long long)s2.degree,
                 (long long)s1.counter, (long long)s2.counter);
    }
    char want_tag[64];
    snprintf(want_tag, sizeof want_tag, "v%lld", (long long)s1.counter);
    if (s1.nodes != s1.leaves + 1 || s1.leaves != s1.degree || s1.degree != s1.edges ||
        s1.in_edges != 0 || strcmp(s1.tag, want_tag) != 0) {
      if (!a->broken_invariant++ && !a->changed)
        snprintf(a->first_problem, sizeof a->first_problem,
                 "invariant: nodes %llu leaves %llu degree %llu edges %llu counter %lld tag %s",
                 (unsigned long long)s1.nodes, (unsigned long long)s1.leaves,
                 (unsigned long long)s1.degree, (unsigned long long)s1.edges,
                 (long long)s1.counter, s1.tag);
    }
    if (s1.counter < prev) a->went_back++;
    prev = s1.counter;
    if (a->first_counter < 0) a->first_counter = s1.counter;
    a->last_counter = s1.counter;
    if (a->txns % 2) qv_txn_rollback(t);
    else if (qv_txn_commit(t) != QV_OK) a->errors++;
  }
  return NULL;
}

struct ckpt_arg {
  qv_db *db;
  atomic_int *stop;
  int runs, failures, checks, check_failures;
  qv_status bad_status;
  char check_problem[256];
};

/* Checkpoints and integrity checks from another thread while the main thread commits. */
static void *checkpointer(void *p) {
  struct ckpt_arg *a = p;
  while (!atomic_load(a->stop)) {
    qv_status s = qv_checkpoint(a->db);
    a->runs++;
    if (s != QV_OK) {
      a->failures++;
      a->bad_status = s;
    }
    qv_check_report rep;
    a->checks++;
    if (qv_check(a->db, &rep) != QV_OK || rep.problems != 0) {
      if (!a->check_failures++) memcpy(a->check_problem, rep.first_problem, sizeof rep.first_problem);
    }
    usleep(2000);
  }
  return NULL;
}

void test_conc_readers_stable(void) {
  qv_db *db = NULL;
  /* A small checkpoint_bytes: automatic checkpoints under the readers too. */
  const char *path = qvt_fresh_db_with("readers", qvt_options(QV_SYNC_OFF, 8192), &db);
  qv_txn *w = qvt_begin(db, 0);
  qv_node_id hub = 0;
  qv_value v;
  CHECK_OK(qv_node_insert(w, "Hub", &hub));
  v = qvt_int(0);
  CHECK_OK(qv_node_set(w, hub, "counter", &v));
  v = qvt_str("v0");
  CHECK_OK(qv_node_set(w, hub, "tag", &v));
  CHECK_OK(qv_txn_commit(w));

  atomic_int stop, ready;
  atomic_init(&stop, 0);
  atomic_init(&ready, 0);
  struct reader_arg ra[READERS];
  pthread_t rt[READERS], ct;
  for (int i = 0; i < READERS; i++) {
    memset(&ra[i], 0, sizeof ra[i]);
    ra[i].db = db;
    ra[i].hub = hub;
    ra[i].stop = &stop;
    ra[i].ready = &ready;
    CHECK(pthread_create(&rt[i], NULL, reader, &ra[i]) == 0);
  }
  struct ckpt_arg ca;
  memset(&ca, 0, sizeof ca);
  ca.db = db;
  ca.stop = &stop;
  CHECK(pthread_create(&ct, NULL, checkpointer, &ca) == 0);

  while (atomic_load(&ready) < READERS) sched_yield();
  qv_node_id leaves[COMMITS];
  int nleaves = 0, oldest = 0, failures = 0;
  for (int k = 1; k <= COMMITS; k++) {
    qv_node_id leaf;
    qv_edge_id e;
    if (k % 50 == 0) { /* an abandoned transaction: nobody may ever see it */
      if (qv_txn_begin(db, 0, &w) != QV_OK) {
        failures++;
      } else {
        if (qv_node_insert(w, "Leaf", &leaf) != QV_OK) failures++;
        v = qvt_int(-1);
        if (qv_node_set(w, hub, "counter", &v) != QV_OK) failures++;
        qv_txn_rollback(w);
      }
    }
    if (qv_txn_begin(db, 0, &w) != QV_OK) {
      failures++;
      continue;
    }
    if (qv_node_insert(w, "Leaf", &leaf) != QV_OK) failures++;
    if (qv_edge_insert(w, hub, leaf, "HAS", &e) != QV_OK) failures++;
    leaves[nleaves++] = leaf;
    if (k % 3 == 0) { /* delete an old leaf with its edge */
      if (qv_node_delete(w, leaves[oldest++], QV_DETACH) != QV_OK) failures++;
    }
    char tag[32];
    snprintf(tag, sizeof tag, "v%d", k);
    v = qvt_int(k);
    if (qv_node_set(w, hub, "counter", &v) != QV_OK) failures++;
    v = qvt_str(tag);
    if (qv_node_set(w, hub, "tag", &v) != QV_OK) failures++;
    if (qv_txn_commit(w) != QV_OK) failures++;
    if (k % 40 == 0) sched_yield();
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < READERS; i++) CHECK(pthread_join(rt[i], NULL) == 0);
  CHECK(pthread_join(ct, NULL) == 0);
  CHECK(failures == 0);

  for (int i = 0; i < READERS; i++) {
    printf("# reader %d: %d txns, counters %lld..%lld\n", i, ra[i].txns,
           (long long)ra[i].first_counter, (long long)ra[i].last_counter);
    CHECK(ra[i].txns >= MIN_READS);
    CHECK(ra[i].errors == 0);
    if (!CHECK(ra[i].changed == 0)) printf("#   %s\n", ra[i].first_problem);
    if (!CHECK(ra[i].broken_invariant == 0)) printf("#   %s\n", ra[i].first_problem);
    CHECK(ra[i].went_back == 0);
    CHECK(ra[i].stats_bad == 0);
  }
  printf("# checkpointer: %d checkpoints, %d checks\n", ca.runs, ca.checks);
  CHECK(ca.runs > 0);
  if (!CHECK(ca.check_failures == 0)) printf("#   %s\n", ca.check_problem);
  if (!CHECK(ca.failures == 0)) printf("#   last status %s\n", qv_status_str(ca.bad_status));

  /* The final state. */
  qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
  struct snapshot_view s;
  CHECK(look(r, hub, &s));
  CHECK(s.counter == COMMITS);
  CHECK(s.leaves == (uint64_t)(COMMITS - COMMITS / 3));
  CHECK(s.degree == s.leaves && s.nodes == s.leaves + 1);
  qv_txn_rollback(r);
  qv_db_stats st = qvt_stats(db);
  CHECK(st.readers == 0);
  CHECK(st.nodes == (uint64_t)(COMMITS - COMMITS / 3 + 1));
  CHECK(st.edges == (uint64_t)(COMMITS - COMMITS / 3));
  qvt_finish(db, path);
}
