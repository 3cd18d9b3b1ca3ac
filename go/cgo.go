package quiver

// All of the package's cgo is in this file: the C shims in the preamble and one thin Go
// wrapper per shim. The other files see only the wrappers and the handle aliases below.
//
// Why shims:
//   - qv_last_error is per OS thread and a goroutine may move between threads between two
//     cgo calls, so every shim reads the message itself, in the same C call as the failure,
//     and hands it back malloc'ed (qvgo_err); the wrapper copies it and frees it.
//   - Results come back as small structs returned by value, so no Go variable has its
//     address passed to C (which would move it to the heap).
//   - Identifiers arrive as Go strings (_GoString_) and are NUL-terminated in C, on the
//     stack up to QV_MAX_IDENT_LEN bytes: no C.CString, nothing to leak. The Go side has
//     already refused identifiers that contain a NUL byte.
//   - qv_value is a union, which cgo sees as bytes: values cross as flat fields instead.
//   - CreateNode and CreateEdge pass their properties as an array of qvgo_kv (integers
//     only: offsets into one byte arena holding the keys and payloads); the shim builds
//     the qv_prop array, whose pointers Go could not pass, on the C stack.
//
// cgo pointer rules: Go pointers passed to C point only at memory that holds no Go
// pointers ([]byte and string contents, the qvgo_kv array and its arena, []C.qv_edge
// and []uint64 buffers whose pointer fields C fills with C pointers, C structs written by
// C), and C keeps none of them after the call returns.

/*
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <quiver.h>

// noescape: no shim keeps a pointer it was given. nocallback: none calls back into Go.
#cgo noescape qvgo_set
#cgo nocallback qvgo_set
#cgo noescape qvgo_insert_with
#cgo nocallback qvgo_insert_with
#cgo noescape qvgo_next_edges
#cgo nocallback qvgo_next_edges
#cgo noescape qvgo_next_nodes
#cgo nocallback qvgo_next_nodes
#cgo noescape qvgo_check
#cgo nocallback qvgo_check
#cgo noescape qvgo_stats
#cgo nocallback qvgo_stats
#cgo noescape qvgo_last_recovery
#cgo nocallback qvgo_last_recovery
#cgo noescape qvgo_digest
#cgo nocallback qvgo_digest

// A status and, on failure, the malloc'ed message of that very call (freed by Go).
typedef struct { qv_status st; char *err; } qvgo_st;
typedef struct { qv_status st; char *err; uint64_t u; } qvgo_u64;
typedef struct { qv_status st; char *err; void *h; } qvgo_ptr;
typedef struct { qv_status st; char *err; const char *s; } qvgo_str;
typedef struct { qv_status st; char *err; qv_edge e; } qvgo_edge;
typedef struct { qv_status st; char *err; size_t n; } qvgo_n;
typedef struct {
	qv_status st; char *err;
	int type; int64_t i; double f; const uint8_t *p; size_t n;
} qvgo_val;

// A status the library never returns: the shim itself failed to allocate memory.
#define QVGO_NOMEM 1000

// The message of the last failed call on this thread, malloc'ed; NULL if out of memory.
static char *qvgo_err(void) {
	char small[256];
	size_t n = 0;
	if (qv_last_error(small, sizeof small, &n) != QV_OK && n < sizeof small) return NULL;
	char *m = malloc(n + 1);
	if (m == NULL) return NULL;
	if (n < sizeof small) memcpy(m, small, n + 1);
	else qv_last_error(m, n + 1, &n);
	return m;
}
#define QVGO_FAILED(r) do { if ((r).st != QV_OK && (r).st != QV_DONE) (r).err = qvgo_err(); } while (0)

// The result of a call that returns only its status st: call it straight after that call.
static qvgo_st qvgo_status(qv_status st) {
	qvgo_st r = {st, NULL};
	QVGO_FAILED(r);
	return r;
}

// A NUL-terminated copy of s: in buf (QV_MAX_IDENT_LEN + 1 bytes) when it fits, else
// malloc'ed (the library then refuses it as too long, with its own message). NULL only
// when out of memory. Release with qvgo_cstr_done.
static const char *qvgo_cstr(_GoString_ s, char *buf) {
	size_t n = _GoStringLen(s);
	char *p = n <= QV_MAX_IDENT_LEN ? buf : malloc(n + 1);
	if (p == NULL) return NULL;
	if (n > 0) memcpy(p, _GoStringPtr(s), n);
	p[n] = 0;
	return p;
}
static void qvgo_cstr_done(const char *p, const char *buf) {
	if (p != buf) free((void *)p);
}
#define QVGO_IDENT(name, s) \
	char name##_buf[QV_MAX_IDENT_LEN + 1]; \
	const char *name = qvgo_cstr(s, name##_buf)
#define QVGO_NOMEM_IF_NULL(r, p) do { if ((p) == NULL) { (r).st = QVGO_NOMEM; return (r); } } while (0)
// The body of a shim that takes one identifier: makes `name`, the C copy of the Go string
// s, runs the statements that follow (which set r.st and may use `name`), releases the
// copy and reads the message of a failure. Returns r from the shim when out of memory.
#define QVGO_WITH_IDENT(r, name, s, ...) do { \
	QVGO_IDENT(name, s); \
	QVGO_NOMEM_IF_NULL(r, name); \
	__VA_ARGS__; \
	qvgo_cstr_done(name, name##_buf); \
	QVGO_FAILED(r); \
} while (0)
// An empty type or label means "any": NULL for the library. (The Go side refused NUL
// bytes, so only the empty string starts with one.)
static const char *qvgo_any(const char *ident) { return ident[0] != 0 ? ident : NULL; }

static const char *qvgo_version(void) { return qv_version(); }

static qvgo_ptr qvgo_open(_GoString_ path, uint32_t flags, int sync, uint32_t busy_ms,
                          uint64_t checkpoint_bytes, uint64_t segment_bytes) {
	qvgo_ptr r = {0};
	qv_options o;
	qv_options_init(&o);
	o.flags = flags;
	o.sync = (qv_sync)sync;
	o.busy_timeout_ms = busy_ms;
	o.checkpoint_bytes = checkpoint_bytes;
	o.segment_bytes = segment_bytes;
	qv_db *db = NULL;
	QVGO_WITH_IDENT(r, p, path, r.st = qv_open(p, &o, &db));
	r.h = db;
	return r;
}

static qvgo_st qvgo_close(qv_db *db) {
	return qvgo_status(qv_close(db));
}

static qvgo_st qvgo_checkpoint(qv_db *db) {
	return qvgo_status(qv_checkpoint(db));
}

static qvgo_st qvgo_check(qv_db *db, qv_check_report *out) {
	return qvgo_status(qv_check(db, out));
}

static qvgo_st qvgo_stats(qv_db *db, qv_db_stats *out) {
	return qvgo_status(qv_stats(db, out));
}

static qvgo_st qvgo_last_recovery(qv_db *db, qv_recovery_stats *out) {
	return qvgo_status(qv_last_recovery(db, out));
}

// A backup's progress, shared with Go (C memory, read and written with atomics on both
// sides): the callback's calls so far and its last (done, total), and two requests from
// Go: cancel (the callback returns non-zero, so qv_backup stops with QV_INTERRUPTED) and
// hold_at (when not 0, call number hold_at and later ones wait until it is 0 again or
// cancel is set, keeping the backup where it is).
typedef struct {
	uint64_t calls, done, total, hold_at;
	int32_t cancel;
} qvgo_progress;

static int qvgo_on_progress(void *user, uint64_t done, uint64_t total) {
	qvgo_progress *p = user;
	__atomic_store_n(&p->done, done, __ATOMIC_SEQ_CST);
	__atomic_store_n(&p->total, total, __ATOMIC_SEQ_CST);
	uint64_t call = __atomic_add_fetch(&p->calls, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint64_t at = __atomic_load_n(&p->hold_at, __ATOMIC_SEQ_CST);
		if (at == 0 || call < at || __atomic_load_n(&p->cancel, __ATOMIC_SEQ_CST)) break;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return __atomic_load_n(&p->cancel, __ATOMIC_SEQ_CST) != 0;
}

// qv_backup; progress may be NULL (no callback).
static qvgo_st qvgo_backup(qv_db *db, _GoString_ dest, uint32_t flags, qvgo_progress *progress) {
	qvgo_st r = {0};
	QVGO_WITH_IDENT(r, d, dest,
		r.st = qv_backup(db, d, flags, progress != NULL ? qvgo_on_progress : NULL, progress));
	return r;
}

static qvgo_ptr qvgo_begin(qv_db *db, uint32_t flags) {
	qvgo_ptr r = {0};
	qv_txn *t = NULL;
	r.st = qv_txn_begin(db, flags, &t);
	r.h = t;
	QVGO_FAILED(r);
	return r;
}

static qvgo_st qvgo_commit(qv_txn *t) {
	return qvgo_status(qv_txn_commit(t));
}

static qvgo_st qvgo_node_delete(qv_txn *t, uint64_t id, uint32_t flags) {
	return qvgo_status(qv_node_delete(t, id, flags));
}

static qvgo_str qvgo_node_label(qv_txn *t, uint64_t id) {
	qvgo_str r = {0};
	r.st = qv_node_label(t, id, &r.s);
	QVGO_FAILED(r);
	return r;
}

static qvgo_st qvgo_edge_delete(qv_txn *t, uint64_t id) {
	return qvgo_status(qv_edge_delete(t, id));
}

static qvgo_edge qvgo_edge_get(qv_txn *t, uint64_t id) {
	qvgo_edge r = {0};
	r.st = qv_edge_get(t, id, &r.e);
	QVGO_FAILED(r);
	return r;
}

// The qv_value of a flat value: type, then i (bool and int), f or p/n (string and
// bytes, which the library copies).
static void qvgo_value(qv_value *v, int type, int64_t i, double f, const void *p, size_t n) {
	memset(v, 0, sizeof *v);
	v->type = (qv_type)type;
	switch (type) {
	case QV_TYPE_BOOL: v->as.b = i != 0; break;
	case QV_TYPE_INT: v->as.i = i; break;
	case QV_TYPE_FLOAT: v->as.f = f; break;
	case QV_TYPE_STRING:
	case QV_TYPE_BYTES: v->as.bytes.ptr = (const uint8_t *)p; v->as.bytes.len = n; break;
	default: break;
	}
}

// Sets property key of node (edge == 0) or edge (edge != 0) id.
static qvgo_st qvgo_set(int edge, qv_txn *t, uint64_t id, _GoString_ key, int type,
                        int64_t i, double f, const void *p, size_t n) {
	qvgo_st r = {0};
	qv_value v;
	qvgo_value(&v, type, i, f, p, n);
	QVGO_WITH_IDENT(r, k, key, r.st = edge ? qv_edge_set(t, id, k, &v) : qv_node_set(t, id, k, &v));
	return r;
}

// One property of qvgo_insert_with, flat: no pointers, only offsets into its arena, so
// that Go can pass an array of them from its own memory. key is the offset of a
// NUL-terminated key; a string or bytes value is n bytes at offset p.
typedef struct {
	uint64_t key, p, n;
	int64_t i;
	double f;
	int32_t type;
} qvgo_kv;

// The qv_props of qvgo_insert_with live on the C stack up to this many.
#define QVGO_STACK_PROPS 16

// Creates a node with label name (edge == 0) or an edge src -> dst of type name, with the
// n properties kvs (keys and payloads in arena): one qv_node_insert_with or
// qv_edge_insert_with call, so a refused property leaves nothing behind.
static qvgo_u64 qvgo_insert_with(int edge, qv_txn *t, uint64_t src, uint64_t dst, _GoString_ name,
                                 const qvgo_kv *kvs, size_t n, const char *arena) {
	qvgo_u64 r = {0};
	QVGO_IDENT(nm, name);
	QVGO_NOMEM_IF_NULL(r, nm);
	qv_prop stack[QVGO_STACK_PROPS];
	qv_prop *props = n <= QVGO_STACK_PROPS ? stack : malloc(n * sizeof *props);
	if (props == NULL) {
		qvgo_cstr_done(nm, nm_buf);
		r.st = QVGO_NOMEM;
		return r;
	}
	for (size_t j = 0; j < n; j++) {
		const qvgo_kv *kv = &kvs[j];
		props[j].key = arena + kv->key;
		qvgo_value(&props[j].value, kv->type, kv->i, kv->f, kv->n > 0 ? arena + kv->p : NULL, kv->n);
	}
	uint64_t id = 0;
	r.st = edge ? qv_edge_insert_with(t, src, dst, nm, props, n, &id)
	            : qv_node_insert_with(t, nm, props, n, &id);
	if (props != stack) free(props);
	qvgo_cstr_done(nm, nm_buf);
	QVGO_FAILED(r);
	r.u = id;
	return r;
}

static void qvgo_flatten(const qv_value *v, qvgo_val *r) {
	r->type = (int)v->type;
	switch (v->type) {
	case QV_TYPE_BOOL: r->i = v->as.b; break;
	case QV_TYPE_INT: r->i = v->as.i; break;
	case QV_TYPE_FLOAT: r->f = v->as.f; break;
	case QV_TYPE_STRING:
	case QV_TYPE_BYTES: r->p = v->as.bytes.ptr; r->n = v->as.bytes.len; break;
	default: break;
	}
}

static qvgo_val qvgo_get(int edge, qv_txn *t, uint64_t id, _GoString_ key) {
	qvgo_val r = {0};
	qv_value v;
	memset(&v, 0, sizeof v);
	QVGO_WITH_IDENT(r, k, key, r.st = edge ? qv_edge_get_prop(t, id, k, &v) : qv_node_get(t, id, k, &v));
	if (r.st == QV_OK) qvgo_flatten(&v, &r);
	return r;
}

static qvgo_st qvgo_unset(int edge, qv_txn *t, uint64_t id, _GoString_ key) {
	qvgo_st r = {0};
	QVGO_WITH_IDENT(r, k, key, r.st = edge ? qv_edge_unset(t, id, k) : qv_node_unset(t, id, k));
	return r;
}

static qvgo_ptr qvgo_edges(qv_txn *t, uint64_t node, int dir, _GoString_ type) {
	qvgo_ptr r = {0};
	qv_cursor *c = NULL;
	QVGO_WITH_IDENT(r, ty, type, r.st = qv_edges(t, node, (qv_dir)dir, qvgo_any(ty), &c));
	r.h = c;
	return r;
}

static qvgo_ptr qvgo_nodes(qv_txn *t, _GoString_ label) {
	qvgo_ptr r = {0};
	qv_cursor *c = NULL;
	QVGO_WITH_IDENT(r, l, label, r.st = qv_nodes(t, qvgo_any(l), &c));
	r.h = c;
	return r;
}

static qvgo_u64 qvgo_degree(qv_txn *t, uint64_t node, int dir, _GoString_ type) {
	qvgo_u64 r = {0};
	uint64_t n = 0;
	QVGO_WITH_IDENT(r, ty, type, r.st = qv_degree(t, node, (qv_dir)dir, qvgo_any(ty), &n));
	r.u = n;
	return r;
}

// Batch reads (API 0.2): QV_OK with n > 0, or QV_DONE with n == 0 at the end.
static qvgo_n qvgo_next_edges(qv_cursor *c, qv_edge *buf, size_t cap) {
	qvgo_n r = {0};
	r.st = qv_cursor_next_edges(c, buf, cap, &r.n);
	QVGO_FAILED(r);
	return r;
}

static qvgo_n qvgo_next_nodes(qv_cursor *c, uint64_t *buf, size_t cap) {
	qvgo_n r = {0};
	r.st = qv_cursor_next_nodes(c, buf, cap, &r.n);
	QVGO_FAILED(r);
	return r;
}

// A cursor over every property of a node (edge == 0) or an edge.
static qvgo_ptr qvgo_props(int edge, qv_txn *t, uint64_t id) {
	qvgo_ptr r = {0};
	qv_cursor *c = NULL;
	r.st = edge ? qv_edge_props(t, id, &c) : qv_node_props(t, id, &c);
	r.h = c;
	QVGO_FAILED(r);
	return r;
}

// The next property: QV_OK, or QV_DONE at the end. key is valid until the transaction
// ends; a string or bytes value until the next write.
typedef struct {
	qvgo_val v;
	const char *key;
} qvgo_prop;

static qvgo_prop qvgo_next_prop(qv_cursor *c) {
	qvgo_prop r;
	memset(&r, 0, sizeof r);
	qv_prop p;
	memset(&p, 0, sizeof p);
	r.v.st = qv_cursor_next_prop(c, &p);
	if (r.v.st == QV_OK) {
		r.key = p.key;
		qvgo_flatten(&p.value, &r.v);
	}
	QVGO_FAILED(r.v);
	return r;
}

static qvgo_st qvgo_digest(qv_txn *t, uint8_t *out) {
	return qvgo_status(qv_digest(t, out));
}

// op: 0 savepoint, 1 rollback to, 2 release.
static qvgo_st qvgo_savepoint(int op, qv_txn *t, _GoString_ name) {
	qvgo_st r = {0};
	QVGO_WITH_IDENT(r, n, name,
		r.st = op == 0 ? qv_savepoint(t, n) : op == 1 ? qv_rollback_to(t, n) : qv_release(t, n));
	return r;
}
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// The C handles, for the files that do not import "C".
type (
	cDB     = C.qv_db
	cTxn    = C.qv_txn
	cCursor = C.qv_cursor
	cEdge   = C.qv_edge
	cChar   = C.char
)

// A status the binding makes up (the library never returns it): a shim could not
// allocate memory.
const statusNoMemory = C.QVGO_NOMEM

// Library constants that the Go side needs.
const (
	openCreate             = C.QV_OPEN_CREATE
	openReadOnly           = C.QV_OPEN_READ_ONLY
	openUntimedCheckpoints = C.QV_OPEN_UNTIMED_CHECKPOINTS
	txnReadOnly            = C.QV_TXN_READ_ONLY
	detachFlag             = C.QV_DETACH
	maxIdentLen            = C.QV_MAX_IDENT_LEN
	typeNull               = C.QV_TYPE_NULL
	typeBool               = C.QV_TYPE_BOOL
	typeInt                = C.QV_TYPE_INT
	typeFloat              = C.QV_TYPE_FLOAT
	typeString             = C.QV_TYPE_STRING
	typeBytes              = C.QV_TYPE_BYTES
	headerVer              = C.QV_VERSION_STRING
	compactFlag            = C.QV_BACKUP_COMPACT
)

// fail turns a shim's failure into an *Error, copying and freeing its message; nil for
// QV_OK (and QV_DONE, which is not a failure).
func fail(op string, st C.qv_status, msg *C.char) error {
	if st == C.QV_OK || st == C.QV_DONE {
		return nil
	}
	e := &Error{Op: op, Status: int(st)}
	switch {
	case msg != nil:
		e.Msg = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	case int(st) == statusNoMemory:
		e.Status = StatusInternal
		e.Msg = "out of memory in the Go binding"
	default:
		e.Msg = "(no message: out of memory copying it)"
	}
	return e
}

func cVersion() string { return C.GoString(C.qv_version()) }

// cVersionPtr is one plain cgo crossing (for the benchmark of the crossing itself).
func cVersionPtr() unsafe.Pointer { return unsafe.Pointer(C.qvgo_version()) }

func cStatusName(st int) string { return C.GoString(C.qv_status_str(C.qv_status(st))) }

func cOpen(path string, flags uint32, sync int, busyMS uint32, checkpointBytes, segmentBytes uint64) (*cDB, error) {
	r := C.qvgo_open(path, C.uint32_t(flags), C.int(sync), C.uint32_t(busyMS),
		C.uint64_t(checkpointBytes), C.uint64_t(segmentBytes))
	if err := fail("Open", r.st, r.err); err != nil {
		return nil, err
	}
	return (*cDB)(r.h), nil
}

func cClose(op string, db *cDB) error {
	r := C.qvgo_close(db)
	return fail(op, r.st, r.err)
}

func cCheckpoint(db *cDB) error {
	r := C.qvgo_checkpoint(db)
	return fail("Checkpoint", r.st, r.err)
}

func cCheck(db *cDB) (CheckReport, error) {
	var rep C.qv_check_report
	r := C.qvgo_check(db, &rep)
	out := CheckReport{
		NodesChecked: uint64(rep.nodes_checked),
		EdgesChecked: uint64(rep.edges_checked),
		Problems:     uint64(rep.problems),
		FirstProblem: C.GoString(&rep.first_problem[0]),
	}
	return out, fail("Check", r.st, r.err)
}

func cStats(db *cDB) (Stats, error) {
	var s C.qv_db_stats
	r := C.qvgo_stats(db, &s)
	return Stats{
		Nodes:         uint64(s.nodes),
		Edges:         uint64(s.edges),
		DataBytes:     uint64(s.data_bytes),
		WALBytes:      uint64(s.wal_bytes),
		LastCommitLSN: uint64(s.last_commit_lsn),
		CheckpointLSN: uint64(s.checkpoint_lsn),
		Readers:       uint64(s.readers),
	}, fail("Stats", r.st, r.err)
}

func cLastRecovery(db *cDB) (RecoveryStats, error) {
	var s C.qv_recovery_stats
	r := C.qvgo_last_recovery(db, &s)
	return RecoveryStats{
		TxnsReplayed:   uint64(s.txns_replayed),
		TxnsDiscarded:  uint64(s.txns_discarded),
		Nodes:          uint64(s.nodes),
		Edges:          uint64(s.edges),
		Props:          uint64(s.props),
		WALBytesRead:   uint64(s.wal_bytes_scanned),
		BytesTruncated: uint64(s.bytes_truncated),
		Micros:         uint64(s.micros),
	}, fail("LastRecovery", r.st, r.err)
}

// cBackup runs qv_backup, with qvgo_on_progress reporting to p unless p is nil.
func cBackup(db *cDB, dest string, flags uint32, p *backupProgress) error {
	var cp *C.qvgo_progress
	if p != nil {
		cp = p.c
	}
	r := C.qvgo_backup(db, dest, C.uint32_t(flags), cp)
	return fail("Backup", r.st, r.err)
}

// backupProgress is a running backup's qvgo_progress, in C memory: what the progress
// callback saw, and the requests it obeys. Its methods may be called from any goroutine
// while the backup runs. Free it with free once the backup returned.
type backupProgress struct{ c *C.qvgo_progress }

func newBackupProgress() *backupProgress {
	c := (*C.qvgo_progress)(C.calloc(1, C.size_t(unsafe.Sizeof(C.qvgo_progress{}))))
	if c == nil {
		panic("quiver: out of memory for a backup's progress")
	}
	return &backupProgress{c: c}
}

func (p *backupProgress) free() { C.free(unsafe.Pointer(p.c)) }

// seen returns how many times the callback was called and its last (done, total).
func (p *backupProgress) seen() (calls, done, total uint64) {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.c.calls))),
		atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.c.done))),
		atomic.LoadUint64((*uint64)(unsafe.Pointer(&p.c.total)))
}

// cancel makes the callback's next (or current) call stop the backup (QV_INTERRUPTED).
func (p *backupProgress) cancel() { atomic.StoreInt32((*int32)(unsafe.Pointer(&p.c.cancel)), 1) }

// holdAt makes the callback's call number n and later ones wait (until holdAt(0) or
// cancel); n = 0 holds nothing.
func (p *backupProgress) holdAt(n uint64) {
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&p.c.hold_at)), n)
}

func cBegin(db *cDB, flags uint32) (*cTxn, error) {
	r := C.qvgo_begin(db, C.uint32_t(flags))
	if err := fail("Begin", r.st, r.err); err != nil {
		return nil, err
	}
	return (*cTxn)(r.h), nil
}

func cCommit(t *cTxn) error {
	r := C.qvgo_commit(t)
	return fail("Commit", r.st, r.err)
}

func cRollback(t *cTxn) { C.qv_txn_rollback(t) }

// insertBuf is a transaction's scratch space for cInsertWith (used with its mutex held):
// the flat properties and the arena holding their keys and payloads, kept between calls
// so that a create allocates nothing here.
type insertBuf struct {
	kvs   []C.qvgo_kv
	arena []byte
}

// insertArenaKeep is the largest arena kept for the next create; a bigger one (a large
// value) is dropped after its call.
const insertArenaKeep = 64 << 10

// cInsertWith creates a node with label name (edge false) or an edge src -> dst of type
// name, with the properties kvs (checked by encodeProps), in one C call: keys and
// payloads are copied into b's arena, which holds no Go pointers, and cross with an
// array of offsets.
func cInsertWith(op string, edge bool, t *cTxn, b *insertBuf, src, dst NodeID, name string, kvs []keyValue) (uint64, error) {
	b.kvs, b.arena = b.kvs[:0], b.arena[:0]
	for i := range kvs {
		v := &kvs[i].val
		kv := C.qvgo_kv{key: C.uint64_t(len(b.arena)), i: C.int64_t(v.i), f: C.double(v.f), _type: C.int32_t(v.typ)}
		b.arena = append(append(b.arena, kvs[i].key...), 0)
		if v.n > 0 {
			kv.p, kv.n = C.uint64_t(len(b.arena)), C.uint64_t(v.n)
			b.arena = append(b.arena, unsafe.Slice((*byte)(v.p), v.n)...)
		}
		b.kvs = append(b.kvs, kv)
	}
	var pkv *C.qvgo_kv
	var arena *C.char
	if len(b.kvs) > 0 {
		pkv, arena = &b.kvs[0], (*C.char)(unsafe.Pointer(&b.arena[0]))
	}
	r := C.qvgo_insert_with(cBool(edge), t, C.uint64_t(src), C.uint64_t(dst), name, pkv, C.size_t(len(b.kvs)), arena)
	if cap(b.arena) > insertArenaKeep {
		b.arena = nil
	}
	return uint64(r.u), fail(op, r.st, r.err)
}

func cNodeDelete(op string, t *cTxn, id NodeID, flags uint32) error {
	r := C.qvgo_node_delete(t, C.uint64_t(id), C.uint32_t(flags))
	return fail(op, r.st, r.err)
}

// cNodeLabel returns the label's C string, valid until the transaction ends.
func cNodeLabel(t *cTxn, id NodeID) (*C.char, error) {
	r := C.qvgo_node_label(t, C.uint64_t(id))
	return r.s, fail("Label", r.st, r.err)
}

func cEdgeDelete(op string, t *cTxn, id EdgeID) error {
	r := C.qvgo_edge_delete(t, C.uint64_t(id))
	return fail(op, r.st, r.err)
}

func cEdgeGet(t *cTxn, id EdgeID) (cEdge, error) {
	r := C.qvgo_edge_get(t, C.uint64_t(id))
	return r.e, fail("Edge", r.st, r.err)
}

// edgeFields reads a qv_edge: ids and the C string of its type.
func edgeFields(e *cEdge) (EdgeID, NodeID, NodeID, *C.char) {
	return EdgeID(e.id), NodeID(e.src), NodeID(e.dst), e._type
}

func goString(s *C.char) string { return C.GoString(s) }

// cSet stores v (checked by encodeValue) as property key of a node or an edge.
func cSet(op string, edge bool, t *cTxn, id uint64, key string, v *value) error {
	r := C.qvgo_set(cBool(edge), t, C.uint64_t(id), key, C.int(v.typ), C.int64_t(v.i),
		C.double(v.f), v.p, C.size_t(v.n))
	return fail(op, r.st, r.err)
}

// cGet reads property key of a node or an edge, copying strings and bytes out of the
// library's memory before returning.
func cGet(op string, edge bool, t *cTxn, id uint64, key string) (any, error) {
	r := C.qvgo_get(cBool(edge), t, C.uint64_t(id), key)
	if err := fail(op, r.st, r.err); err != nil {
		return nil, err
	}
	return decodeValue(int(r._type), int64(r.i), float64(r.f), unsafe.Pointer(r.p), int(r.n)), nil
}

func cUnset(op string, edge bool, t *cTxn, id uint64, key string) error {
	r := C.qvgo_unset(cBool(edge), t, C.uint64_t(id), key)
	return fail(op, r.st, r.err)
}

func cEdges(t *cTxn, node NodeID, dir Dir, typ string) (*cCursor, error) {
	r := C.qvgo_edges(t, C.uint64_t(node), C.int(dir), typ)
	return (*cCursor)(r.h), fail("Edges", r.st, r.err)
}

func cNodes(t *cTxn, label string) (*cCursor, error) {
	r := C.qvgo_nodes(t, label)
	return (*cCursor)(r.h), fail("Nodes", r.st, r.err)
}

func cCursorFree(c *cCursor) { C.qv_cursor_free(c) }

// edgeBuffer is a batch buffer in C memory: qv_edge holds a pointer, so a Go-allocated
// buffer would make cgo's pointer check walk all of it on every call. Free it with
// freeEdgeBuffer.
func edgeBuffer(n int) []cEdge {
	p := C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(cEdge{})))
	if p == nil {
		panic("quiver: out of memory for an edge buffer")
	}
	return unsafe.Slice((*cEdge)(p), n)
}

func freeEdgeBuffer(buf []cEdge) { C.free(unsafe.Pointer(&buf[0])) }

// cNextEdges fills buf (len > 0) and returns how many it filled; 0 at the end. The type
// strings in buf stay valid until the transaction ends.
func cNextEdges(c *cCursor, buf []cEdge) (int, error) {
	r := C.qvgo_next_edges(c, &buf[0], C.size_t(len(buf)))
	return int(r.n), fail("Edges", r.st, r.err)
}

// cNextNodes fills buf (len > 0) and returns how many it filled; 0 at the end.
func cNextNodes(c *cCursor, buf []uint64) (int, error) {
	r := C.qvgo_next_nodes(c, (*C.uint64_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return int(r.n), fail("Nodes", r.st, r.err)
}

func cProps(op string, edge bool, t *cTxn, id uint64) (*cCursor, error) {
	r := C.qvgo_props(cBool(edge), t, C.uint64_t(id))
	return (*cCursor)(r.h), fail(op, r.st, r.err)
}

// cNextProp returns the cursor's next property (key as the library's C string, value
// copied out), or ok == false at the end.
func cNextProp(op string, c *cCursor) (key *cChar, v any, ok bool, err error) {
	r := C.qvgo_next_prop(c)
	if err := fail(op, r.v.st, r.v.err); err != nil {
		return nil, nil, false, err
	}
	if r.v.st == C.QV_DONE {
		return nil, nil, false, nil
	}
	return r.key, decodeValue(int(r.v._type), int64(r.v.i), float64(r.v.f), unsafe.Pointer(r.v.p), int(r.v.n)), true, nil
}

func cDegree(t *cTxn, node NodeID, dir Dir, typ string) (uint64, error) {
	r := C.qvgo_degree(t, C.uint64_t(node), C.int(dir), typ)
	return uint64(r.u), fail("Degree", r.st, r.err)
}

func cDigest(t *cTxn) ([32]byte, error) {
	var d [32]byte
	r := C.qvgo_digest(t, (*C.uint8_t)(unsafe.Pointer(&d[0])))
	return d, fail("Digest", r.st, r.err)
}

// Savepoint operations, as qvgo_savepoint numbers them.
const (
	spSet = iota
	spRollbackTo
	spRelease
)

func cSavepoint(op string, which int, t *cTxn, name string) error {
	r := C.qvgo_savepoint(C.int(which), t, name)
	return fail(op, r.st, r.err)
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// goStringN and goBytes copy n bytes of library memory at p.
func goStringN(p unsafe.Pointer, n int) string { return C.GoStringN((*C.char)(p), C.int(n)) }
func goBytes(p unsafe.Pointer, n int) []byte   { return C.GoBytes(p, C.int(n)) }
