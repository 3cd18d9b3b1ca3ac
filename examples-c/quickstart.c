/*
 * quickstart.c: a first tour of Quiver's C API.
 *
 *   1. open (create) a database in a directory,
 *   2. insert a small graph of people in one write transaction,
 *   3. read it back: labels, properties, out-edges, degrees,
 *   4. show snapshot isolation: a read transaction keeps seeing the graph as it was when
 *      it began, while a write transaction commits changes,
 *   5. close the database and remove its directory.
 *
 * Usage: quickstart [DIR]   (DIR must not exist yet; default: a fresh directory in /tmp)
 *
 * Every call that can fail returns a qv_status; CHECK() stops the program with the status
 * name and the library's detailed message when one is not QV_OK.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quiver.h"

/* ---- error handling ----------------------------------------------------------------- */

static void check(qv_status st, const char *call, int line) {
  if (st == QV_OK) return;
  char msg[1024];
  size_t len = 0;
  qv_last_error(msg, sizeof msg, &len); /* a longer message is truncated, still NUL-ended */
  fprintf(stderr, "quickstart.c:%d: %s failed with %s: %s\n", line, call, qv_status_str(st),
          msg);
  exit(1);
}
#define CHECK(call) check((call), #call, __LINE__)

/* ---- small helpers ------------------------------------------------------------------ */

static qv_value str_value(const char *s) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_STRING;
  v.as.bytes.ptr = (const uint8_t *)s;
  v.as.bytes.len = strlen(s);
  return v;
}

static qv_value int_value(int64_t i) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_INT;
  v.as.i = i;
  return v;
}

static qv_value bool_value(bool b) {
  qv_value v;
  memset(&v, 0, sizeof v);
  v.type = QV_TYPE_BOOL;
  v.as.b = b;
  return v;
}

/* Prints the string property `key` of `node`. The bytes point into the database and are
 * not NUL-terminated, hence "%.*s". */
static void print_name(qv_txn *txn, qv_node_id node) {
  qv_value v;
  CHECK(qv_node_get(txn, node, "name", &v));
  printf("%.*s", (int)v.as.bytes.len, (const char *)v.as.bytes.ptr);
}

static int64_t get_int(qv_txn *txn, qv_node_id node, const char *key) {
  qv_value v;
  CHECK(qv_node_get(txn, node, key, &v));
  return v.as.i;
}

/* Counts the nodes labelled `label` by walking a node cursor. */
static uint64_t count_nodes(qv_txn *txn, const char *label) {
  qv_cursor *cur = NULL;
  CHECK(qv_nodes(txn, label, &cur));
  uint64_t n = 0;
  qv_node_id id;
  qv_status st;
  while ((st = qv_cursor_next_node(cur, &id)) == QV_OK) n++;
  if (st != QV_DONE) CHECK(st);
  qv_cursor_free(cur);
  return n;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  return remove(path);
}

/* Removes a directory and everything in it. */
static void remove_tree(const char *path) {
  if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) perror(path);
}

static int print_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  if (type == FTW_F) printf("    %-22s %6lld bytes\n", path + ftw->base, (long long)sb->st_size);
  return 0;
}

/* ---- the tour ----------------------------------------------------------------------- */

int main(int argc, char **argv) {
  char tmpdir[] = "/tmp/quiver-quickstart-XXXXXX";
  char pathbuf[sizeof tmpdir + 16];
  const char *path;
  const char *tmp_parent = NULL;

  if (argc > 1) {
    path = argv[1];
    struct stat sb;
    if (stat(path, &sb) == 0) {
      fprintf(stderr, "%s already exists; give a path that does not exist yet "
                      "(this example removes its database at the end).\n", path);
      return 1;
    }
  } else {
    if (mkdtemp(tmpdir) == NULL) {
      perror("mkdtemp");
      return 1;
    }
    snprintf(pathbuf, sizeof pathbuf, "%s/graph", tmpdir);
    path = pathbuf;
    tmp_parent = tmpdir;
  }

  printf("Quiver %s quickstart.\n\n", qv_version());

  /* 1. Open. qv_options_init fills in the defaults: create the database if it is missing,
   * and sync mode FULL (every commit is on disk before qv_txn_commit returns). */
  qv_options opts;
  qv_options_init(&opts);
  qv_db *db = NULL;
  CHECK(qv_open(path, &opts, &db));
  printf("Opened a new database in %s (a database is a directory of files).\n", path);

  /* 2. Insert people and their relations in one write transaction. Nothing of it is
   * visible to anyone else until qv_txn_commit returns QV_OK. */
  static const struct { const char *name; int64_t age; bool likes_tea; } people[] = {
      {"Alice", 34, true}, {"Bob", 29, false}, {"Carol", 41, true}, {"Dave", 25, false}};
  enum { ALICE, BOB, CAROL, DAVE, NPEOPLE };
  qv_node_id id[NPEOPLE];

  qv_txn *txn = NULL;
  CHECK(qv_txn_begin(db, 0, &txn)); /* flags 0: a write transaction */
  for (int i = 0; i < NPEOPLE; i++) {
    CHECK(qv_node_insert(txn, "Person", &id[i])); /* the engine assigns the id */
    qv_value name = str_value(people[i].name);
    qv_value age = int_value(people[i].age);
    qv_value tea = bool_value(people[i].likes_tea);
    CHECK(qv_node_set(txn, id[i], "name", &name));
    CHECK(qv_node_set(txn, id[i], "age", &age));
    CHECK(qv_node_set(txn, id[i], "likes_tea", &tea));
  }
  static const struct { int src, dst; const char *type; int64_t since; } rels[] = {
      {ALICE, BOB, "KNOWS", 2015},   {ALICE, CAROL, "KNOWS", 2019},
      {BOB, CAROL, "KNOWS", 2020},   {CAROL, ALICE, "WORKS_WITH", 2021},
      {DAVE, ALICE, "KNOWS", 2023}};
  for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
    qv_edge_id e;
    CHECK(qv_edge_insert(txn, id[rels[i].src], id[rels[i].dst], rels[i].type, &e));
    qv_value since = int_value(rels[i].since);
    CHECK(qv_edge_set(txn, e, "since", &since)); /* edges have properties too */
  }
  CHECK(qv_txn_commit(txn)); /* commit frees the transaction handle, success or not */
  txn = NULL;
  printf("Inserted %d people and %zu relations in one transaction, then committed it.\n\n",
         NPEOPLE, sizeof rels / sizeof rels[0]);

  /* 3. Read the graph back in a read transaction (flags QV_TXN_READ_ONLY). */
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &txn));
  const char *label = NULL;
  CHECK(qv_node_label(txn, id[ALICE], &label)); /* valid until the transaction ends */
  printf("Node %" PRIu64 " has label %s, name ", id[ALICE], label);
  print_name(txn, id[ALICE]);
  printf(", age %" PRId64 ".\n", get_int(txn, id[ALICE], "age"));

  printf("Walking the edges that leave Alice:\n");
  qv_cursor *cur = NULL;
  CHECK(qv_edges(txn, id[ALICE], QV_OUT, NULL, &cur)); /* NULL type: edges of any type */
  qv_edge edge;
  qv_status st;
  while ((st = qv_cursor_next_edge(cur, &edge)) == QV_OK) {
    qv_value since;
    CHECK(qv_edge_get_prop(txn, edge.id, "since", &since));
    printf("  edge %" PRIu64 ": Alice -%s-> ", edge.id, edge.type);
    print_name(txn, edge.dst);
    printf(" (since %" PRId64 ")\n", since.as.i);
  }
  if (st != QV_DONE) CHECK(st); /* QV_DONE means the cursor is exhausted */
  qv_cursor_free(cur);

  uint64_t out_deg, in_deg, both_deg, knows_out;
  CHECK(qv_degree(txn, id[ALICE], QV_OUT, NULL, &out_deg));
  CHECK(qv_degree(txn, id[ALICE], QV_IN, NULL, &in_deg));
  CHECK(qv_degree(txn, id[ALICE], QV_BOTH, NULL, &both_deg));
  CHECK(qv_degree(txn, id[ALICE], QV_OUT, "KNOWS", &knows_out));
  printf("Alice's degree: %" PRIu64 " out, %" PRIu64 " in, %" PRIu64 " in total; she KNOWS %"
         PRIu64 " people.\n", out_deg, in_deg, both_deg, knows_out);

  printf("Who points at Alice:\n");
  CHECK(qv_edges(txn, id[ALICE], QV_IN, NULL, &cur));
  while ((st = qv_cursor_next_edge(cur, &edge)) == QV_OK) {
    printf("  ");
    print_name(txn, edge.src);
    printf(" -%s-> Alice\n", edge.type);
  }
  if (st != QV_DONE) CHECK(st);
  qv_cursor_free(cur);

  qv_value missing;
  st = qv_node_get(txn, id[ALICE], "email", &missing);
  printf("Reading a property that was never set gives %s.\n\n", qv_status_str(st));
  if (st != QV_NOT_FOUND) return 1;
  qv_txn_rollback(txn); /* ending a read transaction: rollback or commit, same effect */
  txn = NULL;

  /* 4. Snapshot isolation. A read transaction sees what was committed when it began, for
   * its whole life. Readers and the writer do not block each other. */
  printf("Snapshot isolation:\n");
  qv_txn *reader = NULL;
  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &reader));
  printf("  A reader begins: it sees %" PRIu64 " people, and Bob is %" PRId64 ".\n",
         count_nodes(reader, "Person"), get_int(reader, id[BOB], "age"));

  qv_txn *writer = NULL;
  CHECK(qv_txn_begin(db, 0, &writer));
  qv_node_id erin;
  CHECK(qv_node_insert(writer, "Person", &erin));
  qv_value erin_name = str_value("Erin");
  CHECK(qv_node_set(writer, erin, "name", &erin_name));
  qv_edge_id e;
  CHECK(qv_edge_insert(writer, id[ALICE], erin, "KNOWS", &e));
  qv_value bob_age = int_value(30);
  CHECK(qv_node_set(writer, id[BOB], "age", &bob_age));
  CHECK(qv_txn_commit(writer));
  writer = NULL;
  printf("  Meanwhile a writer adds Erin, makes Alice know her, sets Bob's age to 30, and "
         "commits.\n");

  uint64_t reader_deg;
  CHECK(qv_degree(reader, id[ALICE], QV_OUT, NULL, &reader_deg));
  printf("  The reader still sees %" PRIu64 " people, Bob still %" PRId64
         ", Alice with %" PRIu64 " out-edges.\n",
         count_nodes(reader, "Person"), get_int(reader, id[BOB], "age"), reader_deg);
  if (count_nodes(reader, "Person") != NPEOPLE || reader_deg != out_deg) {
    fprintf(stderr, "snapshot changed under the reader\n");
    return 1;
  }
  qv_txn_rollback(reader);
  reader = NULL;

  CHECK(qv_txn_begin(db, QV_TXN_READ_ONLY, &reader));
  uint64_t new_deg;
  CHECK(qv_degree(reader, id[ALICE], QV_OUT, NULL, &new_deg));
  printf("  A reader that begins now sees %" PRIu64 " people, Bob %" PRId64
         ", Alice with %" PRIu64 " out-edges.\n\n",
         count_nodes(reader, "Person"), get_int(reader, id[BOB], "age"), new_deg);
  if (count_nodes(reader, "Person") != NPEOPLE + 1 || new_deg != out_deg + 1) {
    fprintf(stderr, "the new reader does not see the commit\n");
    return 1;
  }
  qv_txn_rollback(reader);
  reader = NULL;

  /* 5. Integrity check, statistics, close. */
  qv_check_report report;
  CHECK(qv_check(db, &report));
  qv_db_stats stats;
  CHECK(qv_stats(db, &stats));
  printf("qv_check found %" PRIu64 " problems; the database holds %" PRIu64 " nodes and %"
         PRIu64 " edges.\n", report.problems, stats.nodes, stats.edges);

  CHECK(qv_close(db)); /* checkpoints the log into the data files, releases the lock */
  db = NULL;
  printf("Closed the database. Its directory holds:\n");
  nftw(path, print_entry, 16, FTW_PHYS);

  remove_tree(path);
  if (tmp_parent != NULL) remove_tree(tmp_parent);
  printf("Removed %s. Done.\n", tmp_parent != NULL ? tmp_parent : path);
  return 0;
}
