/* A tiny TAP-style harness: one line per check, a summary line at the end. */
#ifndef QV_C_TESTS_HARNESS_H
#define QV_C_TESTS_HARNESS_H

#include "quiver.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Records one check; prints "ok N - what" or "not ok N - what (file:line)". */
int qvt_check(int ok, const char *what, const char *file, int line);
/* Records a status check: prints the status names and qv_last_error() on failure. */
int qvt_status(qv_status got, qv_status want, const char *what, const char *file, int line);
/* A fresh, empty directory path under the temp dir (not created); static storage per call slot. */
const char *qvt_tmpdir(const char *tag);
/* Removes a directory tree (a database). */
void qvt_rmtree(const char *path);

/* This thread's qv_last_error() message (copied into thread-local storage). */
const char *qvt_errmsg(void);
/* Whether `hay` contains `needle` (NULL-safe). */
int qvt_contains(const char *hay, const char *needle);
/* qv_options_init's options except `sync` and `checkpoint_bytes`. */
qv_options qvt_options(qv_sync sync, uint64_t checkpoint_bytes);
/* Opens `path` with the default options except `sync` and `busy_ms` (0 = default). */
qv_status qvt_open(const char *path, qv_sync sync, uint32_t busy_ms, qv_db **out);
/* Number of nodes a qv_nodes cursor yields, or UINT64_MAX on an error. */
uint64_t qvt_count_nodes(qv_txn *txn, const char *label);
/* Number of edges a qv_edges cursor yields, or UINT64_MAX on an error. */
uint64_t qvt_count_edges(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type);
/* An int / string value. */
qv_value qvt_int(int64_t i);
qv_value qvt_str(const char *s);
/* A bytes value over `len` bytes at `ptr`. */
qv_value qvt_bytes(const void *ptr, size_t len);
/* Milliseconds on a monotonic clock. */
double qvt_now_ms(void);
/* Whether the tests run under valgrind (which makes them many times slower): tests that
 * scale with a graph's size use a smaller one there. */
int qvt_under_valgrind(void);
/* Reads exactly `n` bytes from `fd` (retrying on EINTR): 1 when it got them, 0 at end of
 * file before any byte, -1 on an error or a short read. */
int qvt_read_full(int fd, void *buf, size_t n);
/* fork() with a pipe for the child's reports: in the child (0 returned) *fd is the pipe's
 * write end, in the parent (the child's pid returned) its read end. Children only ever
 * open a database themselves and leave with _exit(). */
pid_t qvt_fork_with_pipe(int *fd);
/* Runs child(path, write end of a pipe) in a forked process (it leaves with _exit()), reads
 * the `n` bytes it reports into `out`, and waits for it: it must have reported them and
 * exited with status 0 (a failed check otherwise). Returns whether the report came whole. */
int qvt_run_child(void (*child)(const char *, int), const char *path, void *out, size_t n);

/* Set-up and tear-down steps that check what they do; each is a macro over a qvt_*_at
 * function, so that a failure names the caller's file and line. */
const char *qvt_fresh_db_at(const char *tag, qv_options o, qv_db **db, const char *file,
                            int line);
void qvt_reopen_at(qv_db **db, const char *path, qv_sync sync, const char *file, int line);
qv_txn *qvt_begin_at(qv_db *db, uint32_t flags, const char *file, int line);
qv_db_stats qvt_stats_at(qv_db *db, const char *file, int line);
void qvt_check_clean_at(qv_db *db, const char *file, int line);
void qvt_finish_at(qv_db *db, const char *path, const char *file, int line);
uint8_t *qvt_filled_at(size_t len, uint8_t fill, const char *file, int line);
qv_node_id qvt_commit_node_at(qv_db *db, const char *label, const char *file, int line);
void qvt_check_counts_at(qv_db *db, uint64_t nodes, uint64_t edges, const char *what,
                         const char *file, int line);
void qvt_check_degree_at(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type,
                         uint64_t want, const char *what, const char *file, int line);
void qvt_check_open_fails_at(const char *path, uint32_t flags, qv_status want,
                             const char *what, const char *file, int line);

/* Opens a new database in a fresh temp directory with `sync` (the other options default)
 * into *db; returns the directory. */
#define qvt_fresh_db(tag, sync, db) qvt_fresh_db_with((tag), qvt_options((sync), 0), (db))
/* The same with the options `o` (a qv_options value). */
#define qvt_fresh_db_with(tag, o, db) qvt_fresh_db_at((tag), (o), (db), __FILE__, __LINE__)
/* How most tests begin: declares `qv_db *db`, a new database in a fresh temp directory
 * opened with QV_SYNC_NORMAL (the other options default), `const char *path`, that
 * directory, and `qv_txn *w`, a write transaction begun on it (NULL if that fails). */
#define QVT_FRESH_WRITE(tag, db, path, w)                      \
  qv_db *db = NULL;                                            \
  const char *path = qvt_fresh_db((tag), QV_SYNC_NORMAL, &db); \
  qv_txn *w = qvt_begin(db, 0)
/* Closes *db and opens `path` again with `sync`. */
#define qvt_reopen(db, path, sync) qvt_reopen_at((db), (path), (sync), __FILE__, __LINE__)
/* Begins a transaction (`flags`: 0 or QV_TXN_READ_ONLY); NULL if that fails. */
#define qvt_begin(db, flags) qvt_begin_at((db), (flags), __FILE__, __LINE__)
/* The database's statistics (zeroed if qv_stats fails). */
#define qvt_stats(db) qvt_stats_at((db), __FILE__, __LINE__)
/* qv_check runs and finds no problem. */
#define qvt_check_clean(db) qvt_check_clean_at((db), __FILE__, __LINE__)
/* The end of a test: qv_check finds no problem, the database closes, its directory goes. */
#define qvt_finish(db, path) qvt_finish_at((db), (path), __FILE__, __LINE__)
/* `len` bytes of `fill` from malloc, for the caller to free; NULL (a failed check) when
 * out of memory. */
#define qvt_filled(len, fill) qvt_filled_at((len), (fill), __FILE__, __LINE__)
/* Commits one new node labelled `label`; returns its id. */
#define qvt_commit_node(db, label) qvt_commit_node_at((db), (label), __FILE__, __LINE__)

/* Two checks: qv_stats succeeds, and it counts `nodes` live nodes and `edges` live edges. */
#define CHECK_COUNTS(db, nodes, edges)                                                     \
  qvt_check_counts_at((db), (nodes), (edges), "qv_stats counts " #nodes " node(s), " #edges \
                      " edge(s)", __FILE__, __LINE__)
/* Two checks: qv_degree(txn, node, dir, type) succeeds, and the degree is `want`. */
#define CHECK_DEGREE(txn, node, dir, type, want)                                       \
  qvt_check_degree_at((txn), (node), (dir), (type), (want),                            \
                      "qv_degree(" #txn ", " #node ", " #dir ", " #type ") == " #want, \
                      __FILE__, __LINE__)
/* Two checks: qv_open(path) with the default options except `flags` returns `want`, and it
 * sets its out-parameter to NULL. */
#define CHECK_OPEN_FAILS(path, flags, want)                                                \
  qvt_check_open_fails_at((path), (flags), (want), "qv_open(" #path ", " #flags ") is " #want, \
                          __FILE__, __LINE__)

#define CHECK(cond) qvt_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_STATUS(expr, want) qvt_status((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_OK(expr) CHECK_STATUS((expr), QV_OK)
/* The last error message of this thread contains `needle`. */
#define CHECK_ERR_HAS(needle)                                                              \
  qvt_check(qvt_contains(qvt_errmsg(), (needle)), "last error contains \"" needle "\"", \
            __FILE__, __LINE__)

/* Every test file defines its tests with this signature and lists them in main.c. */
typedef void (*qvt_fn)(void);

#endif
