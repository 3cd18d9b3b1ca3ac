// Package quiver is the Go interface to Quiver, an embedded, crash-safe property-graph
// storage engine: nodes with a label and typed properties, directed typed edges with
// properties, ACID transactions with one writer and any number of snapshot readers, a
// write-ahead log and crash recovery, in a directory on local disk.
//
// It calls the C library (libquiver) through cgo and links the installed library through
// pkg-config (quiver.pc): set PKG_CONFIG_PATH to $PREFIX/lib/pkgconfig when the library is
// installed under a prefix pkg-config does not search, and LD_LIBRARY_PATH to
// $PREFIX/lib when the loader does not search it either.
//
// # Transactions
//
// DB.Update runs a function in the write transaction and commits it if the function
// returns nil; DB.View runs one in a read transaction on a snapshot. DB.Begin gives a Tx
// to end by hand with Commit or Rollback. One write transaction exists at a time per
// database (another waits up to Options.BusyTimeout, then gets ErrBusy); readers never
// block the writer, nor it them.
//
// # Concurrency and lifetimes
//
// A *DB is safe for any number of goroutines. A *Tx is meant for one goroutine at a time;
// a Tx shared by mistake is serialized by a mutex. A closed DB and an ended Tx answer
// every call with an error (ErrClosed, ErrTxDone) instead of crashing. DB.Close with
// transactions still open returns ErrBusy and leaves the DB open. A Tx that is never
// ended is rolled back when it is garbage-collected, and that is logged as a bug; a DB
// that is never closed is closed when it is garbage-collected (also logged). Do not rely
// on either: the garbage collector may run late or never.
//
// # Backup
//
// DB.Backup(dest, compact) copies the database, as of the latest commit when it is
// called, into a new database directory at dest while other goroutines keep reading and
// committing: a hot backup that blocks no writer (like a read transaction, it holds
// checkpoints back while it runs). The copy opens with Open like any database, with every
// commit up to that point, the same node and edge ids, and nothing later. With compact
// it holds live data only (superseded and deleted property values take no space).
//
// dest must not exist (ErrInvalidArgument) and its parent directory must (ErrNotFound).
// The copy is written into a hidden directory beside dest, ".NAME.qvbackup-PID-N", made
// durable, and renamed to dest: on any failure nothing appears at dest and the hidden
// directory is removed. A process killed during a backup may leave the hidden directory
// behind (unfinished, or finished but never renamed); the next backup to the same dest
// removes it once its process is gone. A failure writing the copy (ErrIO, ErrFull) never
// poisons the source DB. The library can cancel a backup from a
// progress callback (ErrInterrupted); this package's Backup has no progress callback, so
// it runs to its end.
//
// # Values
//
// Property values given may be nil, bool, any Go integer type (within int64), float32,
// float64, string or []byte; anything else gives ErrInvalidArgument. Values read back are
// nil (a stored null), bool, int64, float64, string or []byte, always copied out of the
// library's memory: they stay valid after the transaction ends. An unset property gives
// ErrNotFound, which tells it apart from a stored null.
//
// # Errors
//
// Every failure is an *Error carrying the operation, the library's status and the
// library's message for that very call (read inside the same C call, so a goroutine that
// moves between OS threads never sees another call's message). Use errors.Is with the
// sentinels: errors.Is(err, quiver.ErrNotFound).
//
// Identifiers (labels, edge types, property keys, savepoint names) are UTF-8, 1 to 1024
// bytes, without NUL bytes; the library checks all of that except the NUL, which this
// package refuses itself.
package quiver
