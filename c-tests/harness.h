/* A tiny TAP-style harness: one line per check, a summary line at the end. */
#ifndef QV_C_TESTS_HARNESS_H
#define QV_C_TESTS_HARNESS_H

#include "quiver.h"

#include <stdio.h>

/* Records one check; prints "ok N - what" or "not ok N - what (file:line)". */
int qvt_check(int ok, const char *what, const char *file, int line);
/* Records a status check: prints the status names and qv_last_error() on failure. */
int qvt_status(qv_status got, qv_status want, const char *what, const char *file, int line);
/* A fresh, empty directory path under the temp dir (not created); static storage per call slot. */
const char *qvt_tmpdir(const char *tag);
/* Removes a directory tree (a database). */
void qvt_rmtree(const char *path);

#define CHECK(cond) qvt_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_STATUS(expr, want) qvt_status((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_OK(expr) CHECK_STATUS((expr), QV_OK)

/* Every test file defines its tests with this signature and lists them in main.c. */
typedef void (*qvt_fn)(void);

#endif
