package quiver

import (
	"fmt"
	"log"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyncMode says when commits are made durable (qv_sync).
type SyncMode int

const (
	// SyncFull: every commit syncs the log before returning; a returned commit survives
	// power loss. The default.
	SyncFull SyncMode = 0
	// SyncNormal: a commit syncs the log only when the last sync is over a second old;
	// power loss may lose about a second of commits, never corrupts.
	SyncNormal SyncMode = 1
	// SyncOff: commits never sync the log (checkpoints and Close do); a process crash
	// loses nothing, power loss may lose the commits since the last checkpoint.
	SyncOff SyncMode = 2
)

// Options for Open. The zero value (or a nil *Options) gives the defaults: create the
// database if missing, read-write, SyncFull, a 5 s busy timeout.
type Options struct {
	ReadOnly        bool
	NoCreate        bool          // no database at path: ErrNotFound instead of creating one
	Sync            SyncMode      // SyncFull (default), SyncNormal, SyncOff
	BusyTimeout     time.Duration // how long a writer waits for the current one; 0 = 5 s (rounded up to ms)
	CheckpointBytes uint64        // checkpoint once this much log was written; 0 = the library's default (64 MiB)
	SegmentBytes    uint64        // start a new log segment past this size; 0 = the library's default (64 MiB)
	// UntimedCheckpoints keeps only the size rules for automatic checkpoints (CheckpointBytes
	// of log, or 2^18 nodes and edges changed, since the last one): no checkpoint once
	// commits have waited a tenth of a second, nor when the writer goes idle
	// (QV_OPEN_UNTIMED_CHECKPOINTS).
	UntimedCheckpoints bool
}

// DB is an open database. It is safe for any number of goroutines.
type DB struct {
	state   *dbState
	cleanup runtime.Cleanup
}

// dbState is what the DB's cleanup needs; it must not point back at the DB.
type dbState struct {
	mu   sync.RWMutex // C calls on ptr hold it for reading; Close holds it for writing
	ptr  *cDB         // nil once closed
	open atomic.Int64 // transactions begun and not yet ended
	path string
}

// Version returns the library's version, "MAJOR.MINOR.PATCH".
func Version() string { return cVersion() }

// Open opens the database directory at path, creating it unless opts says NoCreate or
// ReadOnly, and runs crash recovery. A nil opts means the defaults. A database may be open
// only once at a time (another Open of the same path, from this process or another, gives
// ErrLocked until the first is closed).
func Open(path string, opts *Options) (*DB, error) {
	const op = "Open"
	if opts == nil {
		opts = &Options{}
	}
	if strings.IndexByte(path, 0) >= 0 {
		return nil, invalidArg(op, "the path contains a NUL byte")
	}
	flags := uint32(0)
	if !opts.NoCreate && !opts.ReadOnly {
		flags |= openCreate
	}
	if opts.ReadOnly {
		flags |= openReadOnly
	}
	if opts.UntimedCheckpoints {
		flags |= openUntimedCheckpoints
	}
	busyMS, err := busyMillis(opts.BusyTimeout)
	if err != nil {
		return nil, err
	}
	ptr, err := cOpen(path, flags, int(opts.Sync), busyMS, opts.CheckpointBytes, opts.SegmentBytes)
	if err != nil {
		return nil, err
	}
	st := &dbState{ptr: ptr, path: path}
	db := &DB{state: st}
	db.cleanup = runtime.AddCleanup(db, closeUnreachableDB, st)
	return db, nil
}

func busyMillis(d time.Duration) (uint32, error) {
	switch {
	case d == 0:
		return 5000, nil
	case d < 0:
		return 0, invalidArg("Open", fmt.Sprintf("BusyTimeout %v is negative", d))
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		return 0, invalidArg("Open", fmt.Sprintf("BusyTimeout %v is longer than %d ms", d, uint32(math.MaxUint32)))
	}
	return uint32(ms), nil
}

// closeUnreachableDB closes a DB that the program dropped without Close. Every Tx keeps
// its DB reachable, so no transaction is open by then.
func closeUnreachableDB(st *dbState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil || st.open.Load() != 0 {
		return
	}
	log.Printf("quiver: the DB for %s was never closed; closing it as it is garbage-collected", st.path)
	if err := cClose("Close", st.ptr); err != nil {
		log.Printf("quiver: closing %s: %v", st.path, err)
	}
	st.ptr = nil
}

// Path returns the path the database was opened with.
func (db *DB) Path() string { return db.state.path }

// Close runs a final checkpoint and closes the database. It returns an error with
// ErrBusy, and leaves the DB open, while transactions are still open; closing a closed DB
// is a no-op that returns nil. Any other failure still closes the DB (committed data is
// safe in the log).
func (db *DB) Close() error {
	st := db.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return nil
	}
	if n := st.open.Load(); n > 0 {
		return &Error{Op: "Close", Status: StatusBusy,
			Msg: fmt.Sprintf("%d transaction(s) still open: commit or roll them back first", n)}
	}
	err := cClose("Close", st.ptr)
	if e, ok := err.(*Error); ok && e.Status == StatusBusy {
		return err // the handle stays valid
	}
	st.ptr = nil
	db.cleanup.Stop()
	return err
}

// with runs f on the C handle under the read lock, or returns ErrClosed.
func (db *DB) with(op string, f func(p *cDB) error) error {
	return withLocked(db.state, op, closedError, func(st *dbState) error { return f(st.ptr) })
}

// dbState is a lockedState: C calls share the handle, Close excludes them.
func (st *dbState) lock()      { st.mu.RLock() }
func (st *dbState) unlock()    { st.mu.RUnlock() }
func (st *dbState) live() bool { return st.ptr != nil }

// lockedState is dbState or txState: a C handle, the lock held around every call on it,
// and whether the handle is live (not closed or ended), read with the lock held.
type lockedState interface {
	lock()
	unlock()
	live() bool
}

// withLocked runs f(st) with st's lock held, or returns gone(op) once st is not live:
// the body of DB.with and Tx.with.
func withLocked[S lockedState](st S, op string, gone func(op string) error, f func(S) error) error {
	st.lock()
	defer st.unlock()
	if !st.live() {
		return gone(op)
	}
	return f(st)
}

// withHandle is what DB and Tx have in common: with, which runs f on the C handle (S)
// under the lock, or returns the error for a closed DB or an ended Tx.
type withHandle[S any] interface {
	with(op string, f func(S) error) error
}

// withResult is h.with for a call that returns a result besides the error; the result is
// returned also when the error is not nil (Check's report comes with ErrCorrupt).
func withResult[H withHandle[S], S, T any](h H, op string, f func(S) (T, error)) (T, error) {
	var out T
	err := h.with(op, func(s S) (err error) {
		out, err = f(s)
		return err
	})
	return out, err
}

// Begin starts a transaction: the write transaction when writable (one at a time per
// database: Begin waits up to BusyTimeout for the current writer, then returns ErrBusy),
// else a read transaction on a snapshot of everything committed so far. End it with
// Commit or Rollback; prefer Update and View, which always do.
func (db *DB) Begin(writable bool) (*Tx, error) {
	return withResult(db, "Begin", func(p *cDB) (*Tx, error) {
		flags := uint32(0)
		if !writable {
			flags = txnReadOnly
		}
		t, err := cBegin(p, flags)
		if err != nil {
			return nil, err
		}
		db.state.open.Add(1)
		return newTx(db, t, writable), nil
	})
}

// Update runs fn in a write transaction and commits it if fn returns nil. If fn returns
// an error, or panics, the transaction is rolled back (and the panic goes on). fn must not
// commit or roll back the transaction itself.
func (db *DB) Update(fn func(tx *Tx) error) error {
	tx, err := db.Begin(true)
	if err != nil {
		return err
	}
	ended := false
	defer func() {
		if !ended {
			_ = tx.Rollback()
		}
	}()
	err = fn(tx)
	ended = true
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// View runs fn in a read transaction (a snapshot), which is always ended afterwards; it
// returns fn's error.
func (db *DB) View(fn func(tx *Tx) error) error {
	tx, err := db.Begin(false)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// Checkpoint moves committed changes from the log into the data files, as far as open
// read transactions allow. It waits for the writer lock like a writer, so do not call it
// from a goroutine that holds a write transaction.
func (db *DB) Checkpoint() error {
	return db.with("Checkpoint", cCheckpoint)
}

// CheckReport is the result of Check.
type CheckReport struct {
	NodesChecked, EdgesChecked, Problems uint64
	FirstProblem                         string // "" when none
}

// Check verifies every invariant of the latest committed state. When it finds problems
// it returns the report together with an error with ErrCorrupt.
func (db *DB) Check() (CheckReport, error) {
	return withResult(db, "Check", cCheck)
}

// Stats are counts (as of the latest commit), file sizes and log positions.
type Stats struct {
	Nodes, Edges, DataBytes, WALBytes, LastCommitLSN, CheckpointLSN, Readers uint64
}

// Stats returns the database's counts and sizes.
func (db *DB) Stats() (Stats, error) {
	return withResult(db, "Stats", cStats)
}

// RecoveryStats says what recovery did when the database was opened.
type RecoveryStats struct {
	TxnsReplayed   uint64 // committed transactions replayed from the log
	TxnsDiscarded  uint64 // aborted or incomplete transactions discarded
	Nodes          uint64 // node frames (inserts, deletes) replayed from the log
	Edges          uint64 // edge frames (inserts, deletes) replayed from the log
	Props          uint64 // property frames (sets, unsets) replayed from the log
	WALBytesRead   uint64 // log bytes read
	BytesTruncated uint64 // bytes of a torn log tail cut off
	Micros         uint64 // time recovery took
}

// LastRecovery returns what recovery did when this DB was opened.
func (db *DB) LastRecovery() (RecoveryStats, error) {
	return withResult(db, "LastRecovery", cLastRecovery)
}

// Backup copies the database, as of the latest commit when Backup is called, into a new
// database at dest, while other goroutines keep reading and committing (like a read
// transaction, a running backup holds checkpoints back). dest must not exist
// (ErrInvalidArgument) and its parent directory must (ErrNotFound). compact writes live
// data only: no superseded or deleted property values. The copy is written into a hidden
// directory beside dest (".NAME.qvbackup-PID-N"), made durable and renamed to dest, so on
// any failure nothing appears at dest (a process killed meanwhile may leave the hidden
// directory, which the next backup to dest removes). A failure writing the copy (ErrIO, ErrFull) does not
// poison db. See the package documentation, "Backup".
func (db *DB) Backup(dest string, compact bool) error {
	return db.backup(dest, compact, nil)
}

// backup is Backup with a progress record (nil for none), through which the tests watch,
// hold and cancel it.
func (db *DB) backup(dest string, compact bool, p *backupProgress) error {
	if strings.IndexByte(dest, 0) >= 0 {
		return invalidArg("Backup", "the destination path contains a NUL byte")
	}
	flags := uint32(0)
	if compact {
		flags = compactFlag
	}
	return db.with("Backup", func(c *cDB) error { return cBackup(c, dest, flags, p) })
}
