/* GW1 (../shared/WORKLOAD.md) benchmark: the interface between the driver (gw1.c), which
 * owns the workload, the timing, the checksums and the output, and one storage system
 * (gw1_<system>.c), which owns how the graph is stored.
 *
 * The driver generates every random number before any phase starts, computes the expected
 * checksums from a plain in-memory graph, and calls the functions below. A system refers to
 * its nodes by a "ref" (its own node id; for systems that key nodes by workload index the ref
 * is the index). The driver keeps the index <-> ref table and maps refs back to indices for
 * every checksum, so checksums compare across systems.
 *
 * Every function reports failure by calling gw_die(), which prints the message and exits
 * non-zero: a benchmark run that hits an error is not a result.
 */
#ifndef GW1_H
#define GW1_H

#include <stddef.h>
#include <stdint.h>

/* ---------- provided by the driver ---------- */

/* Prints "<system>: <message>" to stderr and exits with status 2. */
void gw_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A growable array of refs. */
typedef struct gw_vec {
  uint64_t *v;
  size_t len, cap;
} gw_vec;
void gw_vec_push(gw_vec *a, uint64_t x);

/* The workload's properties. Node index i: label "Person", age = i % 100 (int64),
 * name = "p" + decimal(i) (string). Edge j: type "KNOWS", since = 2000 + j % 25 (int64).
 * Edges created by W2/W6 transactions take the next edge numbers after the M loaded edges. */
static inline int64_t gw_age(uint64_t index) { return (int64_t)(index % 100); }
static inline int64_t gw_since(uint64_t edge_index) { return 2000 + (int64_t)(edge_index % 25); }
/* Writes "p<index>" into buf (at least 24 bytes); returns its length. */
size_t gw_name(uint64_t index, char *buf);

/* LS and UR (gw1.c's header): node index i of the labelled graph has label gw_label(i)
 * ("Label0".."Label7", number i % GW_LABELS), the same age and name as a GW1 node, and in
 * update round r (1..5) the name gw_round_name(i, r) = "p<i>-r<r>": one length per node
 * across rounds. */
enum { GW_LABELS = 8 };
static inline unsigned gw_label_num(uint64_t index) { return (unsigned)(index % GW_LABELS); }
/* "Label<k>" for label number k (static string). */
const char *gw_label_name(unsigned k);
static inline const char *gw_label(uint64_t index) { return gw_label_name(gw_label_num(index)); }
/* Writes "p<index>-r<round>" into buf (at least GW_ROUND_NAME_CAP bytes); returns its length. */
enum { GW_ROUND_NAME_CAP = 32 };
size_t gw_round_name(uint64_t index, int round, char *buf);

/* One loaded edge: its endpoints as refs (the driver maps indices to refs first). */
typedef struct gw_edge {
  uint64_t src, dst;
} gw_edge;

/* ---------- implemented by each system ---------- */

/* The name printed in the first column: "quiver", "sqlite", "lmdb", "rocksdb". */
extern const char *const SYS_NAME;

typedef struct sys sys;

/* Opens the database in directory `dir` (which exists), creating it when `create` is set.
 * Every commit must be durable when it returns (the system's fsync-at-commit setting). */
sys *sys_open(const char *dir, int create);
/* Clean close: everything is flushed, the handle is freed. */
void sys_close(sys *s);
/* A handle for one more thread on the same database (W2 with 8 threads); the system decides
 * whether it is a new connection or the same one. Closed by sys_detach before sys_close. */
sys *sys_attach(sys *s);
void sys_detach(sys *t);

/* W1: inserts nodes with workload indices [from, to) in one durable transaction, with both
 * properties, and stores each node's ref in refs[index]. */
void sys_load_nodes(sys *s, uint64_t from, uint64_t to, uint64_t *refs);
/* W1: inserts edges e[0..n) (edge numbers first .. first + n) in one durable transaction,
 * each with its "since" property. */
void sys_load_edges(sys *s, const gw_edge *e, size_t n, uint64_t first);

/* W2, W2x8 and W6: one durable transaction that inserts node `index` (label and both
 * properties) and edge number `edge_index` from it to the node `dst_ref`. Returns the new
 * node's ref. Thread-safe across handles from sys_attach. */
uint64_t sys_small_txn(sys *s, uint64_t index, uint64_t dst_ref, uint64_t edge_index);

/* W3, W4, W5, W6's check, W7's re-run, W8: reads run between sys_read_begin and
 * sys_read_end, all on one snapshot. */
void sys_read_begin(sys *s);
void sys_read_end(sys *s);
/* The age property of node `ref`. */
int64_t sys_read_age(sys *s, uint64_t ref);
/* Appends the ref of the destination of every outgoing edge of node `ref` to `out`. */
void sys_out(sys *s, uint64_t ref, gw_vec *out);
/* Whether node `ref` exists with name "p<index>" (W6's check). */
int sys_has_node(sys *s, uint64_t ref, uint64_t index);

/* W7: deletes nodes refs[0..n) with every edge into or out of them, in one durable
 * transaction. */
void sys_delete_nodes(sys *s, const uint64_t *refs, size_t n);

/* ---------- LS and UR: the labelled graph (a database of its own) ---------- */

/* Inserts nodes [from, to) of the labelled graph, each with label gw_label(i) and both
 * properties, in one durable transaction, and stores each node's ref in refs[index]. */
void sys_load_labelled(sys *s, uint64_t from, uint64_t to, uint64_t *refs);

/* Called once per node of a label scan with its ref and properties; `name` (not
 * NUL-terminated) is valid only during the call. */
typedef void (*gw_node_fn)(void *ctx, uint64_t ref, int64_t age, const char *name, size_t len);

/* LS: calls fn for every node with label gw_label_name(label), reading its age and name,
 * between sys_read_begin and sys_read_end (one snapshot). Order is the system's. */
void sys_scan_label(sys *s, unsigned label, gw_node_fn fn, void *ctx);

/* UR: sets the name of nodes [from, to) of the labelled graph (node index i has ref
 * refs[i]) to gw_round_name(i, round), in one durable transaction; nothing else changes. */
void sys_rename(sys *s, uint64_t from, uint64_t to, const uint64_t *refs, int round);

#endif
