/*
 * crash_recovery.c: kill a writing process and show that recovery keeps every commit it
 * acknowledged.
 *
 * A child process opens the database and commits transactions in a loop. After each
 * qv_txn_commit that returned QV_OK it writes the transaction's sequence number into a
 * pipe: that is its acknowledgement. The parent reads acknowledgements, kills the child
 * with SIGKILL in the middle of its work (possibly in the middle of a commit), reopens the
 * database (which runs recovery), prints what recovery did, and checks that every
 * acknowledged commit is there, complete.
 *
 * Usage: crash_recovery   (works in a fresh directory under /tmp and removes it)
 */
#define _XOPEN_SOURCE 700 /* fork, pipe, kill, waitpid, mkdtemp, nftw */

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quiver.h"

enum { KILL_AFTER = 200 }; /* acknowledgements to wait for before the kill */

static void check(qv_status st, const char *call, int line) {
  if (st == QV_OK) return;
  char msg[1024];
  size_t len = 0;
  qv_last_error(msg, sizeof msg, &len);
  fprintf(stderr, "crash_recovery.c:%d: %s failed with %s: %s\n", line, call,
          qv_status_str(st), msg);
  exit(1);
}
#define CHECK(call) check((call), #call, __LINE__)

static void die(const char *what) {
  fprintf(stderr, "crash_recovery: %s\n", what);
  exit(1);
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

/* ---- the child: commit, acknowledge, repeat, until killed ---------------------------- */

static void child(const char *path, int ack_fd) {
  /* The child opens the database itself: handles must never cross fork(). */
  qv_options opts;
  qv_options_init(&opts); /* sync mode FULL: a commit is fsynced before it returns */
  qv_db *db = NULL;
  CHECK(qv_open(path, &opts, &db));

  qv_node_id prev = 0;
  for (uint64_t seq = 1; seq <= 1000000; seq++) {
    /* One transaction: a node carrying its sequence number and a payload, plus an edge
     * from the previous one. Recovery must bring back all of it or none of it. */
    qv_txn *txn = NULL;
    CHECK(qv_txn_begin(db, 0, &txn));
    qv_node_id node;
    CHECK(qv_node_insert(txn, "Commit", &node));
    qv_value v = {.type = QV_TYPE_INT, .as.i = (int64_t)seq};
    CHECK(qv_node_set(txn, node, "seq", &v));
    char payload[64];
    int n = snprintf(payload, sizeof payload, "payload of commit %" PRIu64, seq);
    qv_value p = {.type = QV_TYPE_STRING,
                  .as.bytes = {.ptr = (const uint8_t *)payload, .len = (size_t)n}};
    CHECK(qv_node_set(txn, node, "payload", &p));
    if (prev != 0) {
      qv_edge_id e;
      CHECK(qv_edge_insert(txn, prev, node, "NEXT", &e));
    }
    CHECK(qv_txn_commit(txn));
    prev = node;

    /* Acknowledge only after the commit returned QV_OK. */
    if (write(ack_fd, &seq, sizeof seq) != (ssize_t)sizeof seq) _exit(1);
  }
  /* Not reached in practice: the parent kills us long before. */
  CHECK(qv_close(db));
  _exit(0);
}

/* ---- the parent ---------------------------------------------------------------------- */

int main(void) {
  char tmpdir[] = "/tmp/quiver-crash-XXXXXX";
  if (mkdtemp(tmpdir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  char path[sizeof tmpdir + 16];
  snprintf(path, sizeof path, "%s/graph", tmpdir);

  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  printf("Starting a child process that commits transactions into %s\n"
         "and acknowledges each one through a pipe once qv_txn_commit returned QV_OK.\n",
         path);
  fflush(stdout); /* so the child does not inherit unwritten output */
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    close(fds[0]);
    child(path, fds[1]);
  }
  close(fds[1]);

  /* Read acknowledgements; kill the child once there are KILL_AFTER of them. */
  uint64_t acked = 0; /* highest acknowledged sequence number */
  bool killed = false;
  for (;;) {
    uint64_t seq;
    ssize_t r = read(fds[0], &seq, sizeof seq);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) break; /* end of file: the child is gone and the pipe is drained */
    if (r != (ssize_t)sizeof seq) die("short read from the pipe");
    if (seq != acked + 1) die("acknowledgements out of order");
    acked = seq;
    if (!killed && acked == KILL_AFTER) {
      /* Let the child run on for a random 0-19 ms, so the kill lands at a random point
       * (between commits, in the middle of writing one, or in its fsync). */
      srand((unsigned)time(NULL) ^ (unsigned)pid);
      long ms = rand() % 20;
      struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
      nanosleep(&ts, NULL);
      if (kill(pid, SIGKILL) != 0) {
        perror("kill");
        return 1;
      }
      killed = true;
      printf("After %d acknowledgements the parent waited %ld ms more, then sent SIGKILL to\n"
             "the child.\n", KILL_AFTER, ms);
    }
  }
  close(fds[0]);
  int wstatus;
  if (waitpid(pid, &wstatus, 0) != pid) {
    perror("waitpid");
    return 1;
  }
  if (!killed || !WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL)
    die("the child ended before it was killed (see its error above)");
  printf("The child died by SIGKILL; counting the acknowledgements still in the pipe, it\n"
         "acknowledged %" PRIu64 " commits (sequence numbers 1 to %" PRIu64 ").\n\n",
         acked, acked);

  /* Reopen: qv_open finds the log and runs recovery before it returns. */
  qv_options opts;
  qv_options_init(&opts);
  qv_db *db = NULL;
  CHECK(qv_open(path, &opts, &db));
  qv_recovery_stats rs;
  CHECK(qv_last_recovery(db, &rs));
  printf("The parent reopened the database. Recovery (qv_last_recovery):\n"
         "  replayed %" PRIu64 " committed transactions from the log,\n"
         "  discarded %" PRIu64 " incomplete ones,\n"
         "  wrote back %" PRIu64 " nodes, %" PRIu64 " edges and %" PRIu64 " property changes,\n"
         "  scanned %" PRIu64 " bytes of log and cut off a torn tail of %" PRIu64 " bytes,\n"
         "  in %" PRIu64 " microseconds.\n\n",
         rs.txns_replayed, rs.txns_discarded, rs.nodes, rs.edges, rs.props,
         rs.wal_bytes_scanned, rs.bytes_truncated, rs.micros);

  /* Verify: every acknowledged sequence number is present exactly once, with its payload
   * and its edge. One more commit may be there too: the child can be killed after a commit
   * returned but before it wrote the acknowledgement. */
  uint64_t cap = acked + 2;
  unsigned char *seen = calloc(cap, 1);
  if (seen == NULL) die("out of memory");
  qv_txn *txn = NULL;
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
  qv_cursor *cur = NULL;
  CHECK(qv_nodes(txn, "Commit", &cur));
  qv_node_id node;
  qv_status st;
  uint64_t found = 0, max_seq = 0;
  while ((st = qv_cursor_next_node(cur, &node)) == QV_OK) {
    qv_value v;
    CHECK(qv_node_get(txn, node, "seq", &v));
    uint64_t seq = (uint64_t)v.as.i;
    if (v.type != QV_TYPE_INT || seq == 0 || seq >= cap || seen[seq])
      die("a recovered node has a wrong or repeated sequence number");
    seen[seq] = 1;
    found++;
    if (seq > max_seq) max_seq = seq;

    char want[64];
    int n = snprintf(want, sizeof want, "payload of commit %" PRIu64, seq);
    CHECK(qv_node_get(txn, node, "payload", &v));
    if (v.type != QV_TYPE_STRING || v.as.bytes.len != (size_t)n ||
        memcmp(v.as.bytes.ptr, want, (size_t)n) != 0)
      die("a recovered payload is wrong");
    uint64_t in_deg;
    CHECK(qv_degree(txn, node, QV_IN, "NEXT", &in_deg));
    if (in_deg != (seq == 1 ? 0u : 1u)) die("a recovered NEXT edge is missing");
  }
  if (st != QV_DONE) CHECK(st);
  qv_cursor_free(cur);
  qv_txn_rollback(txn);

  for (uint64_t s = 1; s <= acked; s++)
    if (!seen[s]) {
      fprintf(stderr, "acknowledged commit %" PRIu64 " is missing after recovery\n", s);
      return 1;
    }
  free(seen);
  if (found != max_seq) die("the recovered commits are not 1..N without gaps");
  printf("All %" PRIu64 " acknowledged commits are there, each with its payload and edge.\n",
         acked);
  if (max_seq > acked)
    printf("So is commit %" PRIu64 ": the child died while committing it (in its fsync) or\n"
           "just before acknowledging it, after its log record was complete, so recovery kept\n"
           "it. A commit in flight may land or not; an acknowledged one always lands.\n",
           max_seq);
  else
    printf("No commit beyond the acknowledged ones is there: the one the child was working\n"
           "on when it died, if any, was discarded as a whole.\n");

  qv_check_report report;
  CHECK(qv_check(db, &report));
  printf("qv_check found %" PRIu64 " problems in %" PRIu64 " nodes and %" PRIu64 " edges.\n",
         report.problems, report.nodes_checked, report.edges_checked);

  printf("\nNote: the child used sync mode FULL, so its acknowledged commits would also have\n"
         "survived a power loss. A killed process loses nothing in any sync mode: what it\n"
         "wrote is in the operating system's cache.\n");

  CHECK(qv_close(db));
  remove_tree(tmpdir);
  printf("Closed the database and removed %s. Done.\n", tmpdir);
  return 0;
}
