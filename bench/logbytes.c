/* Log bytes per insert: 100,000 node inserts in one transaction, then 100,000 edge inserts
 * in another, the log's growth divided by the count. With argument 1 each carries GW1's
 * properties (a node `name` and `age`, an edge `since`); with 0, none. Checkpoints are
 * pushed out of the way, so the log only grows.
 *
 *   make -C bench build/logbytes && bench/build/logbytes /tmp/lb 1   (the directory must not exist) */
#include <dirent.h>
#include <quiver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { N = 100000 };

static long long log_bytes(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  long long total = 0;
  char path[4096];
  struct stat st;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "wal-", 4) == 0) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (stat(path, &st) == 0) total += st.st_size;
    }
  closedir(d);
  return total;
}

static void ok(qv_status s, const char *what) {
  if (s != QV_OK) {
    fprintf(stderr, "%s: %s\n", what, qv_status_str(s));
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIR 0|1\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int with_props = atoi(argv[2]);
  qv_options o;
  qv_options_init(&o);
  o.checkpoint_bytes = 1ULL << 40;
  o.segment_bytes = 1ULL << 40;
  qv_db *db;
  ok(qv_open(dir, &o, &db), "qv_open");
  qv_node_id *ids = malloc(N * sizeof *ids);
  qv_txn *t;
  long long b0 = log_bytes(dir);
  ok(qv_txn_begin(db, 0, &t), "begin");
  for (int i = 0; i < N; i++) {
    qv_prop p[2];
    memset(p, 0, sizeof p);
    p[0].key = "name";
    p[0].value.type = QV_TYPE_STRING;
    p[0].value.as.bytes.ptr = (const uint8_t *)"person-123456";
    p[0].value.as.bytes.len = 13;
    p[1].key = "age";
    p[1].value.type = QV_TYPE_INT;
    p[1].value.as.i = i % 90;
    ok(qv_node_insert_with(t, "Person", p, with_props ? 2 : 0, &ids[i]), "node insert");
  }
  ok(qv_txn_commit(t), "commit");
  long long b1 = log_bytes(dir);
  ok(qv_txn_begin(db, 0, &t), "begin");
  for (int i = 0; i < N; i++) {
    qv_prop p[1];
    memset(p, 0, sizeof p);
    p[0].key = "since";
    p[0].value.type = QV_TYPE_INT;
    p[0].value.as.i = 2000 + i % 20;
    qv_edge_id e;
    ok(qv_edge_insert_with(t, ids[i], ids[(i * 7919) % N], "KNOWS", p, with_props ? 1 : 0, &e),
       "edge insert");
  }
  ok(qv_txn_commit(t), "commit");
  long long b2 = log_bytes(dir);
  printf("properties %s: node %.1f bytes/insert, edge %.1f bytes/insert\n", with_props ? "yes" : "no",
         (b1 - b0) / (double)N, (b2 - b1) / (double)N);
  free(ids);
  return qv_close(db) == QV_OK ? 0 : 1;
}
