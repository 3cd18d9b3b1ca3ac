/* The Go package's benchmarks (go/bench_test.go), the same operations written in C
 * against the same installed libquiver, for PERFORMANCE.md's "Go against C" table.
 * Each operation runs for about a second, three times; the best time per operation is
 * printed as "name ns/op". Built and run by run.sh; `bench NAME` runs only the
 * benchmarks whose name contains NAME. */
#define _POSIX_C_SOURCE 200809L
#include <quiver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                             \
  do {                                                                          \
    qv_status st_ = (call);                                                     \
    if (st_ != QV_OK) {                                                         \
      char m_[256];                                                             \
      size_t n_;                                                                \
      qv_last_error(m_, sizeof m_, &n_);                                        \
      fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call, m_,   \
              qv_status_str(st_));                                              \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

static double clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
static double now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
/* CPU time, which on a shared machine is the steadier figure (time spent waiting for a
 * core is not in it); Go's benchmarks report the same as cpu-ns/op. */
static double cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

static char tmpl[] = "/tmp/quiver-bench-c.XXXXXX";
static int dbs;

static qv_db *open_db(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/db%d", tmpl, dbs++);
  qv_options o;
  qv_options_init(&o);
  o.sync = QV_SYNC_OFF;
  qv_db *db = NULL;
  CHECK(qv_open(path, &o, &db));
  return db;
}

/* An operation: setup once, then run(state, n) performs n operations. */
typedef struct {
  const char *name;
  void (*setup)(void);
  void (*run)(long n);
  void (*teardown)(void);
  double per_op_divisor; /* also print ns per this many units (edges) when > 1 */
} bench;

static qv_db *db;
static qv_txn *txn;
static qv_node_id ids[1000];
static qv_node_id hub;
static volatile const char *sink;
static volatile uint64_t usink;

/* One call into the shared library (what a cgo crossing adds its cost to). */
static const char *(*volatile version_fn)(void) = qv_version;
static void run_call(long n) {
  for (long i = 0; i < n; i++) sink = version_fn();
}

static void setup_write(void) {
  db = open_db();
  CHECK(qv_txn_begin(db, 0, &txn));
}
static void teardown_write(void) {
  CHECK(qv_txn_commit(txn));
  CHECK(qv_close(db));
}
static long inserted;
static void maybe_commit(void) {
  if (++inserted % 10000 == 0) {
    CHECK(qv_txn_commit(txn));
    CHECK(qv_txn_begin(db, 0, &txn));
  }
}
static void run_insert(long n) {
  for (long i = 0; i < n; i++) {
    qv_node_id id;
    CHECK(qv_node_insert(txn, "Person", &id));
    maybe_commit();
  }
}
static void run_insert_props(long n) {
  qv_value name = {.type = QV_TYPE_STRING};
  name.as.bytes.ptr = (const uint8_t *)"Ada Lovelace";
  name.as.bytes.len = 12;
  qv_value born = {.type = QV_TYPE_INT};
  born.as.i = 1815;
  for (long i = 0; i < n; i++) {
    qv_node_id id;
    CHECK(qv_node_insert(txn, "Person", &id));
    CHECK(qv_node_set(txn, id, "born", &born));
    CHECK(qv_node_set(txn, id, "name", &name));
    maybe_commit();
  }
}

static void setup_props(void) {
  db = open_db();
  CHECK(qv_txn_begin(db, 0, &txn));
  qv_value s = {.type = QV_TYPE_STRING};
  s.as.bytes.ptr = (const uint8_t *)"0123456789abcdef0123456789abcdef";
  s.as.bytes.len = 32;
  for (int i = 0; i < 1000; i++) {
    qv_value v = {.type = QV_TYPE_INT};
    v.as.i = i;
    CHECK(qv_node_insert(txn, "N", &ids[i]));
    CHECK(qv_node_set(txn, ids[i], "n", &v));
    CHECK(qv_node_set(txn, ids[i], "s", &s));
  }
  CHECK(qv_txn_commit(txn));
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
}
static void teardown_read(void) {
  qv_txn_rollback(txn);
  CHECK(qv_close(db));
}
static void run_get_int(long n) {
  for (long i = 0; i < n; i++) {
    qv_value v;
    CHECK(qv_node_get(txn, ids[i % 1000], "n", &v));
    usink += (uint64_t)v.as.i;
  }
}
/* The string is read, not copied (a C caller need not copy it): Go copies it. */
static void run_get_string(long n) {
  for (long i = 0; i < n; i++) {
    qv_value v;
    CHECK(qv_node_get(txn, ids[i % 1000], "s", &v));
    usink += v.as.bytes.len;
  }
}

#define EDGES 10000
static void setup_edges(void) {
  db = open_db();
  CHECK(qv_txn_begin(db, 0, &txn));
  qv_node_id others[100];
  CHECK(qv_node_insert(txn, "Hub", &hub));
  for (int i = 0; i < 100; i++) CHECK(qv_node_insert(txn, "N", &others[i]));
  for (int i = 0; i < EDGES; i++) {
    qv_edge_id e;
    CHECK(qv_edge_insert(txn, hub, others[i % 100], "LINK", &e));
  }
  CHECK(qv_txn_commit(txn));
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
}
/* The C idiom: one qv_cursor_next_edge per edge. */
static void run_scan(long n) {
  for (long i = 0; i < n; i++) {
    qv_cursor *c;
    CHECK(qv_edges(txn, hub, QV_OUT, NULL, &c));
    qv_edge e;
    qv_status st;
    long count = 0;
    while ((st = qv_cursor_next_edge(c, &e)) == QV_OK) {
      usink += e.dst & 1;
      sink = e.type;
      count++;
    }
    if (st != QV_DONE || count != EDGES) exit(2);
    qv_cursor_free(c);
  }
}
/* Batches of 128, as the Go iterator reads them. */
static void run_scan_batch(long n) {
  static qv_edge buf[128];
  for (long i = 0; i < n; i++) {
    qv_cursor *c;
    CHECK(qv_edges(txn, hub, QV_OUT, NULL, &c));
    size_t got;
    long count = 0;
    qv_status st;
    while ((st = qv_cursor_next_edges(c, buf, 128, &got)) == QV_OK) {
      for (size_t j = 0; j < got; j++) {
        usink += buf[j].dst & 1;
        sink = buf[j].type;
      }
      count += (long)got;
    }
    if (st != QV_DONE || count != EDGES) exit(2);
    qv_cursor_free(c);
  }
}

static void nothing(void) {}

static const bench benches[] = {
    {"CgoCrossing(C: one call into libquiver)", nothing, run_call, nothing, 0},
    {"CreateNode", setup_write, run_insert, teardown_write, 0},
    {"CreateNodeProps", setup_write, run_insert_props, teardown_write, 0},
    {"NodePropInt", setup_props, run_get_int, teardown_read, 0},
    {"NodePropString", setup_props, run_get_string, teardown_read, 0},
    {"EdgesScan10k(next_edge)", setup_edges, run_scan, teardown_read, EDGES},
    {"EdgesScan10k(next_edges 128)", setup_edges, run_scan_batch, teardown_read, EDGES},
};

/* With an argument, runs only the benchmarks whose name contains it. */
int main(int argc, char **argv) {
  if (!mkdtemp(tmpl)) {
    perror("mkdtemp");
    return 1;
  }
  printf("# libquiver %s, C, best of 3 runs of about 1 s\n", qv_version());
  for (size_t b = 0; b < sizeof benches / sizeof benches[0]; b++) {
    const bench *bm = &benches[b];
    if (argc > 1 && strstr(bm->name, argv[1]) == NULL) continue;
    double best = 1e300, best_cpu = 1e300;
    for (int rep = 0; rep < 3; rep++) {
      bm->setup();
      inserted = 0;
      /* Grow n until a run takes at least a second. */
      long n = 1;
      double per = 0, per_cpu = 0;
      for (;;) {
        double t0 = now_ns(), c0 = cpu_ns();
        bm->run(n);
        double dt = now_ns() - t0, dc = cpu_ns() - c0;
        if (dt >= 1e9 || n >= (1L << 40)) {
          per = dt / (double)n;
          per_cpu = dc / (double)n;
          break;
        }
        long next = dt > 0 ? (long)((double)n * 1.2e9 / dt) : n * 100;
        if (next > n * 100) next = n * 100;
        n = next > n ? next : n + 1;
      }
      bm->teardown();
      if (per < best) best = per;
      if (per_cpu < best_cpu) best_cpu = per_cpu;
    }
    printf("%-40s %12.1f ns/op %12.1f cpu-ns/op", bm->name, best, best_cpu);
    if (bm->per_op_divisor > 1)
      printf(" %8.1f ns/edge %8.1f cpu-ns/edge", best / bm->per_op_divisor,
             best_cpu / bm->per_op_divisor);
    printf("\n");
    fflush(stdout);
  }
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
  return system(cmd) == 0 ? 0 : 1;
}
