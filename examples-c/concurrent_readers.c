/*
 * concurrent_readers.c: several reader threads and one writer thread share one database
 * handle.
 *
 * Each reader repeatedly opens a read transaction and counts the graph's nodes and edges
 * several times inside it, while the writer keeps committing. A read transaction sees a
 * snapshot, what was committed when it began, so every count inside one transaction is
 * the same; the next transaction sees the writer's newer commits. Readers never wait for
 * the writer, nor it for them.
 *
 * Every commit of the writer adds one node and one edge, so in every consistent snapshot
 * edges == nodes - 1: a reader never sees half a transaction.
 *
 * Usage: concurrent_readers   (works in a fresh directory under /tmp and removes it)
 */
#define _XOPEN_SOURCE 700 /* nanosleep, mkdtemp, nftw */

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "quiver.h"

enum {
  SEED = 10,           /* nodes committed before the threads start (a chain of SEED-1 edges) */
  WRITES = 60,         /* commits of the writer thread, one node and one edge each */
  NREADERS = 4,        /* reader threads */
  ROUNDS = 3,          /* read transactions per reader */
  MIN_RECOUNTS = 3,    /* counts per read transaction, at least ... */
  /* ... and until the writer committed 2 * (reader number) more (or finished), so the
   * readers' transactions last different times and see different snapshots. */
};

static void check(qv_status st, const char *call, int line) {
  if (st == QV_OK) return;
  char msg[1024];
  size_t len = 0;
  qv_last_error(msg, sizeof msg, &len); /* the message of this thread's last failed call */
  fprintf(stderr, "concurrent_readers.c:%d: %s failed with %s: %s\n", line, call,
          qv_status_str(st), msg);
  exit(1);
}
#define CHECK(call) check((call), #call, __LINE__)

static void sleep_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *path) {
  if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) perror(path);
}

/* Shared state. The qv_db handle is thread-safe; transactions are per thread. */
static qv_db *db;
static atomic_int readers_ready;   /* readers inside their first read transaction */
static atomic_int commits;         /* commits the writer has completed */
static atomic_bool writer_done;

/* Counts all nodes, and all edges as the sum of the nodes' out-degrees. */
static void count_graph(qv_txn *txn, uint64_t *nodes, uint64_t *edges) {
  qv_cursor *cur = NULL;
  CHECK(qv_nodes(txn, NULL, &cur)); /* NULL label: every node */
  *nodes = 0;
  *edges = 0;
  qv_node_id id;
  qv_status st;
  while ((st = qv_cursor_next_node(cur, &id)) == QV_OK) {
    uint64_t deg;
    CHECK(qv_degree(txn, id, QV_OUT, NULL, &deg));
    (*nodes)++;
    *edges += deg;
  }
  if (st != QV_DONE) CHECK(st);
  qv_cursor_free(cur);
}

/* ---- the writer ---------------------------------------------------------------------- */

static qv_node_id last_node; /* the end of the chain; only the writer uses it after setup */

static void *writer_main(void *arg) {
  (void)arg;
  while (atomic_load(&readers_ready) < NREADERS) sleep_ms(1); /* let the readers begin */
  for (int i = 0; i < WRITES; i++) {
    qv_txn *txn = NULL;
    CHECK(qv_txn_begin(db, 0, &txn));
    qv_node_id node;
    CHECK(qv_node_insert(txn, "Item", &node));
    qv_edge_id e;
    CHECK(qv_edge_insert(txn, last_node, node, "NEXT", &e));
    CHECK(qv_txn_commit(txn));
    last_node = node;
    atomic_fetch_add(&commits, 1);
    sleep_ms(2);
  }
  atomic_store(&writer_done, true);
  return NULL;
}

/* ---- the readers --------------------------------------------------------------------- */

struct round {
  uint64_t nodes, edges;   /* what this read transaction saw */
  int recounts;            /* how often it counted */
  int commits_meanwhile;   /* writer commits completed while it was open */
  uint64_t latest_nodes;   /* nodes in the latest commit, as the transaction ended */
};

struct reader {
  pthread_t thread;
  int index;
  struct round rounds[ROUNDS];
};

static void *reader_main(void *arg) {
  struct reader *r = arg;
  for (int k = 0; k < ROUNDS; k++) {
    struct round *rd = &r->rounds[k];
    qv_txn *txn = NULL;
    CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
    int commits_at_begin = atomic_load(&commits);
    if (k == 0) atomic_fetch_add(&readers_ready, 1);

    count_graph(txn, &rd->nodes, &rd->edges);
    if (rd->edges != rd->nodes - 1) {
      fprintf(stderr, "reader %d saw %" PRIu64 " nodes but %" PRIu64 " edges\n", r->index,
              rd->nodes, rd->edges);
      exit(1);
    }
    rd->recounts = 1;
    for (;;) {
      bool enough = atomic_load(&commits) - commits_at_begin >= 2 * r->index ||
                    atomic_load(&writer_done);
      if (rd->recounts >= MIN_RECOUNTS && enough) break;
      sleep_ms(1);
      uint64_t nodes, edges;
      count_graph(txn, &nodes, &edges);
      rd->recounts++;
      if (nodes != rd->nodes || edges != rd->edges) {
        fprintf(stderr, "reader %d: the snapshot changed from %" PRIu64 "/%" PRIu64
                " to %" PRIu64 "/%" PRIu64 " inside one read transaction\n",
                r->index, rd->nodes, rd->edges, nodes, edges);
        exit(1);
      }
    }
    rd->commits_meanwhile = atomic_load(&commits) - commits_at_begin;
    qv_db_stats stats;
    CHECK(qv_stats(db, &stats)); /* counts as of the latest commit, not of our snapshot */
    rd->latest_nodes = stats.nodes;
    qv_txn_rollback(txn); /* ends the read transaction */
  }
  return NULL;
}

int main(void) {
  char tmpdir[] = "/tmp/quiver-readers-XXXXXX";
  if (mkdtemp(tmpdir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  char path[sizeof tmpdir + 16];
  snprintf(path, sizeof path, "%s/graph", tmpdir);

  qv_options opts;
  qv_options_init(&opts);
  opts.sync = QV_SYNC_NORMAL; /* fsync at most once a second: fine for a demo */
  CHECK(qv_open(path, &opts, &db));
  printf("Opened %s (sync mode NORMAL); one qv_db handle is shared by all threads.\n",
         path);

  qv_txn *txn = NULL;
  CHECK(qv_txn_begin(db, 0, &txn));
  for (int i = 0; i < SEED; i++) {
    qv_node_id node;
    CHECK(qv_node_insert(txn, "Item", &node));
    if (i > 0) {
      qv_edge_id e;
      CHECK(qv_edge_insert(txn, last_node, node, "NEXT", &e));
    }
    last_node = node;
  }
  CHECK(qv_txn_commit(txn));
  printf("Committed a chain of %d nodes and %d edges.\n", SEED, SEED - 1);
  printf("Starting %d reader threads and one writer thread. The writer commits %d\n"
         "transactions, each adding one node and one edge. Each reader runs %d read\n"
         "transactions and counts the whole graph several times inside each.\n\n",
         NREADERS, WRITES, ROUNDS);

  struct reader readers[NREADERS];
  memset(readers, 0, sizeof readers);
  pthread_t writer;
  for (int i = 0; i < NREADERS; i++) {
    readers[i].index = i + 1;
    if (pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    return 1;
  }
  pthread_join(writer, NULL);
  for (int i = 0; i < NREADERS; i++) pthread_join(readers[i].thread, NULL);

  for (int i = 0; i < NREADERS; i++) {
    for (int k = 0; k < ROUNDS; k++) {
      const struct round *rd = &readers[i].rounds[k];
      printf("Reader %d, transaction %d: counted %" PRIu64 " nodes and %" PRIu64
             " edges, %d times the same,\n  while the writer committed %d transactions "
             "(the latest commit had %" PRIu64 " nodes).\n",
             readers[i].index, k + 1, rd->nodes, rd->edges, rd->recounts,
             rd->commits_meanwhile, rd->latest_nodes);
    }
  }

  uint64_t nodes, edges;
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
  count_graph(txn, &nodes, &edges);
  qv_txn_rollback(txn);
  printf("\nEvery read transaction saw one stable snapshot with edges == nodes - 1.\n"
         "After all threads finished, a new reader counts %" PRIu64 " nodes and %" PRIu64
         " edges.\n", nodes, edges);
  if (nodes != SEED + WRITES || edges != SEED + WRITES - 1) {
    fprintf(stderr, "expected %d nodes and %d edges\n", SEED + WRITES, SEED + WRITES - 1);
    return 1;
  }

  CHECK(qv_close(db));
  remove_tree(tmpdir);
  printf("Closed the database and removed %s. Done.\n", tmpdir);
  return 0;
}
