#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int qvt_passed;
int qvt_failed;
static int counter;

int qvt_check(int ok, const char *what, const char *file, int line) {
  counter++;
  if (ok) {
    qvt_passed++;
    printf("ok %d - %s\n", counter, what);
  } else {
    qvt_failed++;
    printf("not ok %d - %s (%s:%d)\n", counter, what, file, line);
  }
  fflush(stdout);
  return ok;
}

int qvt_status(qv_status got, qv_status want, const char *what, const char *file, int line) {
  int ok = qvt_check(got == want, what, file, line);
  if (!ok) {
    char msg[512];
    size_t len = 0;
    qv_last_error(msg, sizeof msg, &len);
    printf("#   got %s, want %s; last error: %s\n", qv_status_str(got), qv_status_str(want), msg);
  }
  return ok;
}

const char *qvt_tmpdir(const char *tag) {
  static char paths[64][256];
  static int next;
  char *p = paths[next++ % 64];
  const char *base = getenv("TMPDIR");
  snprintf(p, 256, "%s/qv-ctest-%d-%s-%d", base ? base : "/tmp", (int)getpid(), tag, next);
  qvt_rmtree(p);
  return p;
}

void qvt_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  char child[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    qvt_rmtree(child);
  }
  closedir(d);
  rmdir(path);
}

const char *qvt_errmsg(void) {
  static _Thread_local char buf[4096];
  size_t len = 0;
  buf[0] = 0;
  qv_last_error(buf, sizeof buf, &len);
  return buf;
}

int qvt_contains(const char *hay, const char *needle) {
  return hay != NULL && needle != NULL && strstr(hay, needle) != NULL;
}

qv_options qvt_options(qv_sync sync, uint64_t checkpoint_bytes) {
  qv_options o;
  qv_options_init(&o);
  o.sync = sync;
  o.checkpoint_bytes = checkpoint_bytes;
  return o;
}

qv_status qvt_open(const char *path, qv_sync sync, uint32_t busy_ms, qv_db **out) {
  qv_options o = qvt_options(sync, 0);
  if (busy_ms) o.busy_timeout_ms = busy_ms;
  return qv_open(path, &o, out);
}

/* What a node (`edges` 0) or edge cursor yields before QV_DONE, or UINT64_MAX on an error;
 * frees the cursor. */
static uint64_t count_and_free(qv_cursor *c, int edges) {
  uint64_t n = 0;
  qv_node_id id;
  qv_edge e;
  qv_status s;
  while ((s = edges ? qv_cursor_next_edge(c, &e) : qv_cursor_next_node(c, &id)) == QV_OK) n++;
  qv_cursor_free(c);
  return s == QV_DONE ? n : UINT64_MAX;
}

uint64_t qvt_count_nodes(qv_txn *txn, const char *label) {
  qv_cursor *c = NULL;
  return qv_nodes(txn, label, &c) == QV_OK ? count_and_free(c, 0) : UINT64_MAX;
}

uint64_t qvt_count_edges(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type) {
  qv_cursor *c = NULL;
  return qv_edges(txn, node, dir, type, &c) == QV_OK ? count_and_free(c, 1) : UINT64_MAX;
}

qv_value qvt_int(int64_t i) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_INT;
  v.as.i = i;
  return v;
}

qv_value qvt_bytes(const void *ptr, size_t len) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_BYTES;
  v.as.bytes.ptr = ptr;
  v.as.bytes.len = len;
  return v;
}

/* A string value is laid out as a bytes value (without the NUL); only its type differs. */
qv_value qvt_str(const char *s) {
  qv_value v = qvt_bytes(s, strlen(s));
  v.type = QV_TYPE_STRING;
  return v;
}

const char *qvt_fresh_db_at(const char *tag, qv_options o, qv_db **db, const char *file,
                            int line) {
  const char *path = qvt_tmpdir(tag);
  *db = NULL;
  qvt_status(qv_open(path, &o, db), QV_OK, "qvt_fresh_db: qv_open", file, line);
  return path;
}

void qvt_reopen_at(qv_db **db, const char *path, qv_sync sync, const char *file, int line) {
  qvt_status(qv_close(*db), QV_OK, "qvt_reopen: qv_close", file, line);
  *db = NULL;
  qvt_status(qvt_open(path, sync, 0, db), QV_OK, "qvt_reopen: qv_open", file, line);
}

qv_txn *qvt_begin_at(qv_db *db, uint32_t flags, const char *file, int line) {
  qv_txn *t = NULL;
  qvt_status(qv_txn_begin(db, flags, &t), QV_OK, "qvt_begin: qv_txn_begin", file, line);
  return t;
}

qv_db_stats qvt_stats_at(qv_db *db, const char *file, int line) {
  qv_db_stats st;
  memset(&st, 0, sizeof st);
  qvt_status(qv_stats(db, &st), QV_OK, "qvt_stats: qv_stats", file, line);
  return st;
}

void qvt_check_clean_at(qv_db *db, const char *file, int line) {
  qv_check_report rep;
  memset(&rep, 0, sizeof rep);
  if (qvt_status(qv_check(db, &rep), QV_OK, "qv_check", file, line) &&
      !qvt_check(rep.problems == 0, "qv_check finds no problem", file, line))
    printf("#   %llu problem(s), first: %s\n", (unsigned long long)rep.problems,
           rep.first_problem);
}

void qvt_finish_at(qv_db *db, const char *path, const char *file, int line) {
  qvt_check_clean_at(db, file, line);
  qvt_status(qv_close(db), QV_OK, "qvt_finish: qv_close", file, line);
  qvt_rmtree(path);
}

uint8_t *qvt_filled_at(size_t len, uint8_t fill, const char *file, int line) {
  uint8_t *p = malloc(len);
  if (qvt_check(p != NULL, "qvt_filled: malloc", file, line)) memset(p, fill, len);
  return p;
}

qv_node_id qvt_commit_node_at(qv_db *db, const char *label, const char *file, int line) {
  qv_txn *t = qvt_begin_at(db, 0, file, line);
  qv_node_id n = 0;
  qvt_status(qv_node_insert(t, label, &n), QV_OK, "qvt_commit_node: qv_node_insert", file, line);
  qvt_status(qv_txn_commit(t), QV_OK, "qvt_commit_node: qv_txn_commit", file, line);
  return n;
}

void qvt_check_counts_at(qv_db *db, uint64_t nodes, uint64_t edges, const char *what,
                         const char *file, int line) {
  qv_db_stats st = qvt_stats_at(db, file, line);
  if (!qvt_check(st.nodes == nodes && st.edges == edges, what, file, line))
    printf("#   %llu node(s), %llu edge(s)\n", (unsigned long long)st.nodes,
           (unsigned long long)st.edges);
}

void qvt_check_degree_at(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type,
                         uint64_t want, const char *what, const char *file, int line) {
  uint64_t d = UINT64_MAX; /* a value qv_degree must overwrite */
  qvt_status(qv_degree(txn, node, dir, type, &d), QV_OK, "qv_degree", file, line);
  if (!qvt_check(d == want, what, file, line)) printf("#   degree %llu\n", (unsigned long long)d);
}

void qvt_check_open_fails_at(const char *path, uint32_t flags, qv_status want,
                             const char *what, const char *file, int line) {
  qv_db *const garbage = (qv_db *)(uintptr_t)0xdeadbeefu;
  qv_options o;
  qv_options_init(&o);
  o.flags = flags;
  qv_db *db = garbage;
  qvt_status(qv_open(path, &o, &db), want, what, file, line);
  qvt_check(db == NULL, "qv_open's out-parameter is NULL", file, line);
  if (db != NULL && db != garbage) qv_close(db); /* it opened after all */
}

double qvt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int qvt_under_valgrind(void) {
  /* valgrind preloads its vgpreload_*.so into the program it runs. */
  return qvt_contains(getenv("LD_PRELOAD"), "vgpreload");
}

int qvt_read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

pid_t qvt_fork_with_pipe(int *fd) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  pid_t pid = fork();
  close(pid == 0 ? fds[0] : fds[1]);
  *fd = pid == 0 ? fds[1] : fds[0];
  return pid;
}

int qvt_run_child(void (*child)(const char *, int), const char *path, void *out, size_t n) {
  int fd;
  pid_t pid = qvt_fork_with_pipe(&fd);
  if (pid == 0) {
    child(path, fd);
    _exit(127);
  }
  int got = qvt_read_full(fd, out, n);
  close(fd);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (!CHECK(got == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
    printf("#   child status %d signal %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return got == 1;
}
