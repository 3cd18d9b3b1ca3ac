/* A tiny TAP-style harness: one line per check, a summary line at the end. */
#ifndef QV_C_TESTS_HARNESS_H
#define QV_C_TESTS_HARNESS_H

#include "quiver.h"

#include <stdint.h>
#include <stdio.h>

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
/* Opens `path` with the default options except `sync` and `busy_ms` (0 = default). */
qv_status qvt_open(const char *path, qv_sync sync, uint32_t busy_ms, qv_db **out);
/* Number of nodes a qv_nodes cursor yields, or UINT64_MAX on an error. */
uint64_t qvt_count_nodes(qv_txn *txn, const char *label);
/* Number of edges a qv_edges cursor yields, or UINT64_MAX on an error. */
uint64_t qvt_count_edges(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type);
/* An int / string value. */
qv_value qvt_int(int64_t i);
qv_value qvt_str(const char *s);
/* Milliseconds on a monotonic clock. */
double qvt_now_ms(void);

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
