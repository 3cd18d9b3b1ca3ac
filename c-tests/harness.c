#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

qv_status qvt_open(const char *path, qv_sync sync, uint32_t busy_ms, qv_db **out) {
  qv_options o;
  qv_options_init(&o);
  o.sync = sync;
  if (busy_ms) o.busy_timeout_ms = busy_ms;
  return qv_open(path, &o, out);
}

uint64_t qvt_count_nodes(qv_txn *txn, const char *label) {
  qv_cursor *c = NULL;
  if (qv_nodes(txn, label, &c) != QV_OK) return UINT64_MAX;
  uint64_t n = 0;
  qv_node_id id;
  qv_status s;
  while ((s = qv_cursor_next_node(c, &id)) == QV_OK) n++;
  qv_cursor_free(c);
  return s == QV_DONE ? n : UINT64_MAX;
}

uint64_t qvt_count_edges(qv_txn *txn, qv_node_id node, qv_dir dir, const char *type) {
  qv_cursor *c = NULL;
  if (qv_edges(txn, node, dir, type, &c) != QV_OK) return UINT64_MAX;
  uint64_t n = 0;
  qv_edge e;
  qv_status s;
  while ((s = qv_cursor_next_edge(c, &e)) == QV_OK) n++;
  qv_cursor_free(c);
  return s == QV_DONE ? n : UINT64_MAX;
}

qv_value qvt_int(int64_t i) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_INT;
  v.as.i = i;
  return v;
}

qv_value qvt_str(const char *s) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_STRING;
  v.as.bytes.ptr = (const uint8_t *)s;
  v.as.bytes.len = strlen(s);
  return v;
}

double qvt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
