/* Processes: QV_LOCKED across processes (both ways), a child killed with SIGKILL while
 * committing (every acknowledged commit survives, recovery replays), a child that exits
 * without closing in the middle of a spilled transaction. Children only ever open the
 * database themselves and leave with _exit(); the parent holds no handle across fork(). */
#include "harness.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs qv_open(path) with `flags` in a child; returns the status it got (its exit code),
 * or -1 if it did not exit normally. */
static int child_open_status(const char *path, uint32_t flags) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -2;
  if (pid == 0) {
    qv_options o;
    qv_options_init(&o);
    o.flags = flags;
    qv_db *db = NULL;
    qv_status s = qv_open(path, &o, &db);
    if (s == QV_OK && qv_close(db) != QV_OK) s = 99;
    _exit((int)s);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -3;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_proc_locked(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("plocked", QV_SYNC_NORMAL, &db);
  CHECK(child_open_status(path, QV_OPEN_CREATE) == QV_LOCKED);
  CHECK(child_open_status(path, 0) == QV_LOCKED);
  CHECK(child_open_status(path, QV_OPEN_READ_ONLY) == QV_LOCKED);
  /* The parent's handle is unaffected. */
  qvt_commit_node(db, "Parent");
  qv_txn *t = NULL;
  CHECK_OK(qv_close(db));
  CHECK(child_open_status(path, 0) == QV_OK);
  CHECK(child_open_status(path, QV_OPEN_READ_ONLY) == QV_OK);

  /* The other way round: a child holds it, the parent gets QV_LOCKED. */
  int up[2], down[2];
  CHECK(pipe(up) == 0 && pipe(down) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    qv_db *cdb = NULL;
    char c = 'x';
    qv_status s = qvt_open(path, QV_SYNC_NORMAL, 0, &cdb);
    c = s == QV_OK ? 'o' : 'f';
    if (write(up[1], &c, 1) != 1) _exit(98);
    if (read(down[0], &c, 1) != 1) _exit(97); /* wait for the parent */
    if (s == QV_OK) {
      qv_txn *ct = NULL;
      qv_node_id cn;
      if (qv_txn_begin(cdb, 0, &ct) != QV_OK) _exit(96);
      if (qv_node_insert(ct, "Child", &cn) != QV_OK) _exit(95);
      if (qv_txn_commit(ct) != QV_OK) _exit(94);
      s = qv_close(cdb);
    }
    _exit((int)s);
  }
  close(up[1]);
  close(down[0]);
  char c = 0;
  CHECK(read(up[0], &c, 1) == 1 && c == 'o');
  qv_db *db2 = (qv_db *)(uintptr_t)0xdeadbeefu;
  CHECK_STATUS(qvt_open(path, QV_SYNC_NORMAL, 0, &db2), QV_LOCKED);
  CHECK(db2 == NULL);
  CHECK(qvt_contains(qvt_errmsg(), path));
  CHECK_OPEN_FAILS(path, QV_OPEN_READ_ONLY, QV_LOCKED);
  CHECK(write(down[1], "g", 1) == 1);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(up[0]);
  close(down[1]);

  /* Released again: the parent opens it and sees both nodes. */
  db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &t));
  CHECK(qvt_count_nodes(t, "Parent") == 1);
  CHECK(qvt_count_nodes(t, "Child") == 1);
  qv_txn_rollback(t);
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

/* The crashing child: commits forever (until killed); after each commit that returned
 * QV_OK it writes the sequence number to `wfd`. */
static void crash_child(const char *path, int wfd, uint64_t seq, qv_node_id prev, qv_sync sync,
                        uint64_t checkpoint_bytes) {
  qv_db *db = NULL;
  qv_options o = qvt_options(sync, checkpoint_bytes);
  /* The parent counts what recovery replays: checkpoints only by checkpoint_bytes. */
  o.flags |= QV_OPEN_UNTIMED_CHECKPOINTS;
  if (qv_open(path, &o, &db) != QV_OK) _exit(100);
  static char pad[512];
  memset(pad, 'p', sizeof pad);
  for (int i = 0; i < 100000; i++, seq++) {
    qv_txn *t = NULL;
    if (qv_txn_begin(db, 0, &t) != QV_OK) _exit(101);
    qv_node_id n;
    if (qv_node_insert(t, "Seq", &n) != QV_OK) _exit(102);
    qv_value v = qvt_int((int64_t)seq);
    if (qv_node_set(t, n, "seq", &v) != QV_OK) _exit(103);
    memset(&v, 0, sizeof v);
    v.type = QV_TYPE_STRING;
    v.as.bytes.ptr = (const uint8_t *)pad;
    v.as.bytes.len = (size_t)(seq * 37 % sizeof pad); /* vary the frame sizes */
    if (qv_node_set(t, n, "pad", &v) != QV_OK) _exit(104);
    if (prev) {
      qv_edge_id e;
      if (qv_edge_insert(t, n, prev, "PREV", &e) != QV_OK) _exit(105);
    }
    if (qv_txn_commit(t) != QV_OK) _exit(106);
    if (write(wfd, &seq, sizeof seq) != (ssize_t)sizeof seq) _exit(107);
    prev = n;
  }
  _exit(108);
}

/* Checks the sequence in `db`: seqs first..acked all present with their edge to the
 * previous one, at most acked + 1 beyond. Returns the highest seq present and its node. */
static void verify_sequence(qv_db *db, uint64_t acked, uint64_t *max_seq, qv_node_id *max_node,
                            const char *when) {
  printf("# verify %s: acknowledged up to %llu\n", when, (unsigned long long)acked);
  qv_txn *r = NULL;
  *max_seq = 0;
  *max_node = 0;
  CHECK_OK(qv_txn_begin(db, QV_TXN_READ_ONLY, &r));
  if (!r) return;
  uint64_t count = qvt_count_nodes(r, "Seq");
  CHECK(count != UINT64_MAX);
  uint64_t cap = acked + 2;
  qv_node_id *by_seq = calloc(cap + 1, sizeof *by_seq);
  qv_cursor *c = NULL;
  CHECK_OK(qv_nodes(r, "Seq", &c));
  qv_node_id id;
  int bad_prop = 0, dup = 0, beyond = 0;
  qv_status s;
  while ((s = qv_cursor_next_node(c, &id)) == QV_OK) {
    qv_value v;
    if (qv_node_get(r, id, "seq", &v) != QV_OK || v.type != QV_TYPE_INT || v.as.i < 1) {
      bad_prop++;
      continue;
    }
    uint64_t q = (uint64_t)v.as.i;
    if (q > acked + 1) {
      beyond++;
      continue;
    }
    if (by_seq[q]) dup++;
    by_seq[q] = id;
  }
  CHECK(s == QV_DONE);
  qv_cursor_free(c);
  CHECK(bad_prop == 0);
  CHECK(dup == 0);
  if (!CHECK(beyond == 0)) printf("#   %d nodes beyond the first unacknowledged seq\n", beyond);
  int missing = 0, bad_edge = 0;
  for (uint64_t q = 1; q <= acked + 1; q++) {
    if (!by_seq[q]) {
      if (q <= acked) {
        if (!missing++) printf("#   acknowledged seq %llu is missing\n", (unsigned long long)q);
      }
      continue;
    }
    *max_seq = q;
    *max_node = by_seq[q];
    uint64_t want = q > 1 ? 1 : 0;
    uint64_t d = 99;
    if (qv_degree(r, by_seq[q], QV_OUT, "PREV", &d) != QV_OK || d != want) {
      bad_edge++;
      continue;
    }
    if (q > 1) {
      qv_cursor *ce = NULL;
      qv_edge e;
      if (qv_edges(r, by_seq[q], QV_OUT, "PREV", &ce) != QV_OK ||
          qv_cursor_next_edge(ce, &e) != QV_OK || e.dst != by_seq[q - 1] || e.src != by_seq[q])
        bad_edge++;
      qv_cursor_free(ce);
    }
  }
  if (!CHECK(missing == 0)) printf("#   %d acknowledged seqs missing\n", missing);
  CHECK(bad_edge == 0);
  CHECK(count == *max_seq);
  CHECK(*max_seq == acked || *max_seq == acked + 1);
  qv_txn_rollback(r);
  free(by_seq);
  qv_check_report rep;
  memset(&rep, 0x5A, sizeof rep);
  CHECK_OK(qv_check(db, &rep));
  CHECK(rep.problems == 0 && rep.first_problem[0] == 0);
}

void test_proc_crash_recovery(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("crash", QV_SYNC_FULL, &db);
  CHECK_OK(qv_close(db));

  /* Kill points: after so many acknowledgements plus a delay; with each sync mode (a
   * process crash loses no returned commit in any of them); with small checkpoint_bytes
   * the child checkpoints often, so some kills land inside a checkpoint. */
  static const struct {
    int acks, delay_us;
    qv_sync sync;
    uint64_t checkpoint_bytes;
  } rounds[] = {
      {1, 0, QV_SYNC_FULL, 0},          {25, 700, QV_SYNC_FULL, 0},
      {120, 0, QV_SYNC_FULL, 0},        {250, 2000, QV_SYNC_FULL, 0},
      {60, 150, QV_SYNC_NORMAL, 0},     {80, 300, QV_SYNC_OFF, 0},
      {150, 500, QV_SYNC_NORMAL, 16384}, {150, 100, QV_SYNC_OFF, 8192},
      {40, 1500, QV_SYNC_FULL, 4096},
  };
  uint64_t next_seq = 1, acked = 0;
  qv_node_id last_node = 0;
  for (size_t round = 0; round < sizeof rounds / sizeof rounds[0]; round++) {
    int fd;
    pid_t pid = qvt_fork_with_pipe(&fd);
    if (pid == 0) {
      crash_child(path, fd, next_seq, last_node, rounds[round].sync,
                  rounds[round].checkpoint_bytes);
    }
    int got = 0, order_ok = 1;
    uint64_t seq;
    while (got < rounds[round].acks && qvt_read_full(fd, &seq, sizeof seq) == 1) {
      if (seq != next_seq + (uint64_t)got) order_ok = 0;
      got++;
      acked = seq;
    }
    if (rounds[round].delay_us) usleep((useconds_t)rounds[round].delay_us);
    CHECK(kill(pid, SIGKILL) == 0);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
      printf("#   child exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* Acknowledgements still in the pipe count too. */
    while (qvt_read_full(fd, &seq, sizeof seq) == 1) {
      if (seq != next_seq + (uint64_t)got) order_ok = 0;
      got++;
      acked = seq;
    }
    close(fd);
    CHECK(order_ok);
    CHECK(got >= rounds[round].acks);
    printf("# round %zu: %d acknowledged commits, killed after %d us (sync %d, checkpoint "
           "bytes %llu)\n",
           round, got, rounds[round].delay_us, (int)rounds[round].sync,
           (unsigned long long)rounds[round].checkpoint_bytes);

    /* Read-only first: it recovers in memory and sees everything. */
    qv_options o;
    qv_options_init(&o);
    o.flags = QV_OPEN_READ_ONLY;
    db = NULL;
    uint64_t max_seq = 0;
    qv_node_id max_node = 0;
    CHECK_OK(qv_open(path, &o, &db));
    if (db) {
      qv_recovery_stats rs;
      CHECK_OK(qv_last_recovery(db, &rs));
      if (!rounds[round].checkpoint_bytes) CHECK(rs.txns_replayed > 0);
      verify_sequence(db, acked, &max_seq, &max_node, "read-only");
      CHECK_OK(qv_close(db));
    }
    /* Then read-write: recovery replays the log. */
    db = NULL;
    CHECK_OK(qvt_open(path, QV_SYNC_FULL, 0, &db));
    if (!db) break;
    qv_recovery_stats rs;
    memset(&rs, 0x5A, sizeof rs);
    CHECK_OK(qv_last_recovery(db, &rs));
    printf("# recovery: %llu replayed, %llu discarded, %llu nodes, %llu edges, %llu props, "
           "%llu bytes scanned, %llu truncated, %llu us\n",
           (unsigned long long)rs.txns_replayed, (unsigned long long)rs.txns_discarded,
           (unsigned long long)rs.nodes, (unsigned long long)rs.edges,
           (unsigned long long)rs.props, (unsigned long long)rs.wal_bytes_scanned,
           (unsigned long long)rs.bytes_truncated, (unsigned long long)rs.micros);
    if (!rounds[round].checkpoint_bytes) {
      /* No checkpoint since the child opened: it replays every commit of the child. */
      CHECK(rs.txns_replayed >= (uint64_t)got);
      CHECK(rs.txns_replayed > 0);
      CHECK(rs.wal_bytes_scanned > 0);
    }
    CHECK(rs.txns_replayed <= (uint64_t)got + 1);
    CHECK(rs.nodes >= rs.txns_replayed);
    CHECK(rs.props >= 2 * rs.txns_replayed);
    uint64_t max_seq2 = 0;
    qv_node_id max_node2 = 0;
    verify_sequence(db, acked, &max_seq2, &max_node2, "read-write");
    CHECK(max_seq2 == max_seq && max_node2 == max_node);
    qv_db_stats st2;
    CHECK_OK(qv_stats(db, &st2));
    CHECK(st2.nodes == max_seq2);
    CHECK(st2.edges == (max_seq2 ? max_seq2 - 1 : 0));
    CHECK_OK(qv_close(db));
    /* A clean reopen replays nothing. */
    db = NULL;
    CHECK_OK(qvt_open(path, QV_SYNC_FULL, 0, &db));
    CHECK_OK(qv_last_recovery(db, &rs));
    CHECK(rs.txns_replayed == 0);
    CHECK_OK(qv_close(db));
    next_seq = max_seq2 + 1;
    acked = max_seq2; /* an unacknowledged commit that survived is now part of the chain */
    last_node = max_node2;
  }
  qvt_rmtree(path);
}

/* ----------------------------------------------------------------------------------- */

/* A child that commits a transaction with a savepoint rolled back over spilled frames,
 * then dies (without qv_close) in the middle of another spilled transaction. */
static void spill_child(const char *path, int wfd) {
  qv_db *db = NULL;
  /* The parent counts what recovery replays: no timed checkpoint. */
  qv_options o = qvt_options(QV_SYNC_NORMAL, 0);
  o.flags |= QV_OPEN_UNTIMED_CHECKPOINTS;
  if (qv_open(path, &o, &db) != QV_OK) _exit(100);
  size_t big = 3u << 20;
  uint8_t *buf = malloc(big);
  if (!buf) _exit(101);
  memset(buf, 0xCD, big);
  qv_value bv = qvt_bytes(buf, big);
  qv_txn *t = NULL;
  qv_node_id a, b, c, d;
  qv_value v = qvt_int(1);
  if (qv_txn_begin(db, 0, &t) != QV_OK) _exit(102);
  if (qv_node_insert(t, "A", &a) != QV_OK || qv_node_set(t, a, "p", &v) != QV_OK) _exit(103);
  if (qv_savepoint(t, "s") != QV_OK) _exit(104);
  if (qv_node_insert(t, "B", &b) != QV_OK) _exit(105);
  if (qv_node_set(t, a, "big1", &bv) != QV_OK || qv_node_set(t, b, "big2", &bv) != QV_OK)
    _exit(106);
  v = qvt_int(2);
  if (qv_node_set(t, a, "p", &v) != QV_OK) _exit(107);
  if (qv_rollback_to(t, "s") != QV_OK) _exit(108);
  if (qv_node_insert(t, "C", &c) != QV_OK) _exit(109);
  qv_edge_id e;
  if (qv_edge_insert(t, a, c, "AC", &e) != QV_OK) _exit(110);
  if (qv_txn_commit(t) != QV_OK) _exit(111);
  /* A node committed, then deleted: its id must never come back. */
  qv_node_id z;
  if (qv_txn_begin(db, 0, &t) != QV_OK || qv_node_insert(t, "Z", &z) != QV_OK ||
      qv_txn_commit(t) != QV_OK)
    _exit(116);
  if (qv_txn_begin(db, 0, &t) != QV_OK || qv_node_delete(t, z, 0) != QV_OK ||
      qv_txn_commit(t) != QV_OK)
    _exit(117);
  if (write(wfd, &z, sizeof z) != (ssize_t)sizeof z) _exit(118);
  /* An uncommitted transaction whose frames reach the log. */
  if (qv_txn_begin(db, 0, &t) != QV_OK) _exit(112);
  if (qv_node_insert(t, "D", &d) != QV_OK) _exit(113);
  if (qv_node_set(t, d, "big3", &bv) != QV_OK || qv_node_set(t, a, "big4", &bv) != QV_OK)
    _exit(114);
  if (qv_edge_delete(t, e) != QV_OK) _exit(115);
  _exit(0); /* a crash: no commit, no rollback, no close */
}

void test_proc_exit_without_close(void) {
  const char *path = qvt_tmpdir("spillcrash");
  qv_node_id z = 0;
  qvt_run_child(spill_child, path, &z, sizeof z);

  qv_db *db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_NORMAL, 0, &db));
  if (!db) return;
  qv_recovery_stats rs;
  CHECK_OK(qv_last_recovery(db, &rs));
  printf("# recovery: %llu replayed, %llu discarded, %llu truncated\n",
         (unsigned long long)rs.txns_replayed, (unsigned long long)rs.txns_discarded,
         (unsigned long long)rs.bytes_truncated);
  CHECK(rs.txns_replayed == 3);
  CHECK(rs.txns_discarded >= 1);
  for (int round = 0; round < 2; round++) {
    qv_txn *r = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK(qvt_count_nodes(r, NULL) == 2);
    CHECK(qvt_count_nodes(r, "A") == 1);
    CHECK(qvt_count_nodes(r, "C") == 1);
    CHECK(qvt_count_nodes(r, "B") == 0);
    CHECK(qvt_count_nodes(r, "D") == 0);
    qv_node_id a = 0;
    qv_cursor *c = NULL;
    CHECK_OK(qv_nodes(r, "A", &c));
    CHECK_OK(qv_cursor_next_node(c, &a));
    qv_cursor_free(c);
    qv_value v;
    CHECK_OK(qv_node_get(r, a, "p", &v));
    CHECK(v.type == QV_TYPE_INT && v.as.i == 1);
    CHECK_STATUS(qv_node_get(r, a, "big1", &v), QV_NOT_FOUND);
    CHECK_STATUS(qv_node_get(r, a, "big4", &v), QV_NOT_FOUND);
    CHECK(qvt_count_edges(r, a, QV_OUT, "AC") == 1);
    qv_txn_rollback(r);
    qvt_check_clean(db);
    /* The log continues cleanly after the discarded tail. */
    qv_txn *w = qvt_begin(db, 0);
    qv_node_id x;
    CHECK_OK(qv_node_insert(w, round == 0 ? "E" : "F", &x));
    CHECK(x > z); /* a committed id is never handed out again */
    CHECK_OK(qv_txn_commit(w));
    CHECK_OK(qv_txn_begin(db, 0, &w));
    CHECK_OK(qv_node_delete(w, x, 0));
    CHECK_OK(qv_txn_commit(w));
    qvt_reopen(&db, path, QV_SYNC_NORMAL);
    if (!db) return;
  }
  qvt_finish(db, path);
}

/* ----------------------------------------------------------------------------------- */

/* An I/O error from C: a child lowers RLIMIT_FSIZE so the log write of a commit fails
 * (EFBIG). The commit fails with QV_IO and nothing of it is visible; the handle is poisoned
 * (QV_POISONED) until closed and reopened; reopening recovers. */
struct io_result {
  qv_status commit1, reader_begin, commit2;
  char commit2_msg[256];
  qv_status begin_w, begin_r, old_read, ckpt, check, close_busy, close, reopen;
  int begin_w_cleared, begin_r_cleared;
  uint64_t lost, ok1, replayed, truncated;
};

static void io_child(const char *path, int wfd) {
  struct io_result res;
  memset(&res, 0, sizeof res);
  signal(SIGXFSZ, SIG_IGN);
  qv_db *db = NULL;
  /* Only the commit meets the file size limit: no timed checkpoint writes meanwhile. */
  qv_options o = qvt_options(QV_SYNC_FULL, 0);
  o.flags |= QV_OPEN_UNTIMED_CHECKPOINTS;
  if (qv_open(path, &o, &db) != QV_OK) _exit(100);
  qv_txn *t = NULL, *old = NULL;
  qv_node_id n;
  if (qv_txn_begin(db, 0, &t) != QV_OK || qv_node_insert(t, "Ok1", &n) != QV_OK) _exit(101);
  res.commit1 = qv_txn_commit(t);
  res.reader_begin = qv_txn_begin(db, QV_TXN_READ_ONLY, &old);
  /* The next commit needs more log than the limit allows. */
  size_t big = 256 * 1024;
  uint8_t *buf = calloc(1, big);
  qv_value v = qvt_bytes(buf, big);
  if (!buf || qv_txn_begin(db, 0, &t) != QV_OK || qv_node_insert(t, "Lost", &n) != QV_OK ||
      qv_node_set(t, n, "big", &v) != QV_OK)
    _exit(102);
  struct rlimit saved, lim;
  if (getrlimit(RLIMIT_FSIZE, &saved) != 0) _exit(103);
  lim = saved;
  lim.rlim_cur = 64 * 1024;
  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(104);
  res.commit2 = qv_txn_commit(t);
  setrlimit(RLIMIT_FSIZE, &saved);
  size_t len;
  qv_last_error(res.commit2_msg, sizeof res.commit2_msg, &len);
  free(buf);
  /* Poisoned: every later call fails, outs cleared. */
  t = (qv_txn *)(uintptr_t)0xdeadbeefu;
  res.begin_w = qv_txn_begin(db, 0, &t);
  res.begin_w_cleared = t == NULL;
  if (t && t != (qv_txn *)(uintptr_t)0xdeadbeefu) qv_txn_rollback(t);
  t = (qv_txn *)(uintptr_t)0xdeadbeefu;
  res.begin_r = qv_txn_begin(db, QV_TXN_READ_ONLY, &t);
  res.begin_r_cleared = t == NULL;
  if (t && t != (qv_txn *)(uintptr_t)0xdeadbeefu) qv_txn_rollback(t);
  const char *l;
  res.old_read = old ? qv_node_label(old, 1, &l) : 99;
  res.ckpt = qv_checkpoint(db);
  qv_check_report rep;
  res.check = qv_check(db, &rep);
  res.close_busy = old ? qv_close(db) : 99;
  qv_txn_rollback(old);
  res.close = qv_close(db);
  /* Reopened, it recovers: the failed commit is not there. */
  db = NULL;
  res.reopen = qvt_open(path, QV_SYNC_FULL, 0, &db);
  if (res.reopen == QV_OK) {
    qv_recovery_stats rs;
    qv_last_recovery(db, &rs);
    res.replayed = rs.txns_replayed;
    res.truncated = rs.bytes_truncated;
    if (qv_txn_begin(db, QV_TXN_READ_ONLY, &t) == QV_OK) {
      res.lost = qvt_count_nodes(t, "Lost");
      res.ok1 = qvt_count_nodes(t, "Ok1");
      qv_txn_rollback(t);
    }
    qv_close(db);
  }
  if (write(wfd, &res, sizeof res) != (ssize_t)sizeof res) _exit(105);
  _exit(0);
}

void test_proc_io_error_poisons(void) {
  qv_db *db = NULL;
  const char *path = qvt_fresh_db("ioerr", QV_SYNC_FULL, &db);
  qvt_commit_node(db, "Before");
  CHECK_OK(qv_close(db));

  struct io_result res;
  memset(&res, 0, sizeof res);
  if (qvt_run_child(io_child, path, &res, sizeof res)) {
    printf("# failed commit: %s: %s\n", qv_status_str(res.commit2), res.commit2_msg);
    printf("# after it: begin %s, read %s, old reader %s, checkpoint %s, check %s, close "
           "%s/%s, reopen %s\n",
           qv_status_str(res.begin_w), qv_status_str(res.begin_r), qv_status_str(res.old_read),
           qv_status_str(res.ckpt), qv_status_str(res.check), qv_status_str(res.close_busy),
           qv_status_str(res.close), qv_status_str(res.reopen));
    CHECK(res.commit1 == QV_OK);
    CHECK(res.reader_begin == QV_OK);
    CHECK(res.commit2 == QV_IO);
    CHECK(qvt_contains(res.commit2_msg, path));
    CHECK(res.begin_w == QV_POISONED && res.begin_w_cleared);
    CHECK(res.begin_r == QV_POISONED && res.begin_r_cleared);
    CHECK(res.old_read == QV_POISONED);
    CHECK(res.ckpt == QV_POISONED);
    CHECK(res.check == QV_POISONED);
    CHECK(res.close_busy == QV_BUSY); /* a transaction is still open */
    CHECK(res.close == QV_OK || res.close == QV_POISONED);
    CHECK(res.reopen == QV_OK);
    CHECK(res.lost == 0);
    CHECK(res.ok1 == 1);
  }
  /* And once more from here. */
  db = NULL;
  CHECK_OK(qvt_open(path, QV_SYNC_FULL, 0, &db));
  if (db) {
    qv_txn *t = qvt_begin(db, QV_TXN_READ_ONLY);
    CHECK(qvt_count_nodes(t, "Before") == 1);
    CHECK(qvt_count_nodes(t, "Ok1") == 1);
    CHECK(qvt_count_nodes(t, "Lost") == 0);
    qv_txn_rollback(t);
    qv_check_report rep;
    CHECK_OK(qv_check(db, &rep));
    CHECK_OK(qv_close(db));
  }
  qvt_rmtree(path);
}
