// The numbers of the C ABI: statuses, sync modes, directions, value types and flags. Each
// is written once, on one line with its name and meaning; `codes!` makes that line a
// `pub const` and an entry of a table. The library uses the constants and the status
// names, build.rs (which `include!`s this file, so it holds only data and that macro)
// writes the header's enums and macros from the tables, and the tests import the
// constants. Numbers are part of the ABI and are never reused.

/// One enumerator or flag: its C name, number and meaning (the header's comment on it).
#[derive(Clone, Copy, Debug)]
pub struct Code {
    /// The C name, NUL-terminated (`qv_status_str` returns it).
    pub name: &'static ::std::ffi::CStr,
    /// The number.
    pub value: u32,
    /// What it means.
    pub meaning: &'static str,
}

/// A C enumeration: its type name, the header's comment above it, and its enumerators.
#[derive(Clone, Copy, Debug)]
pub struct Enum {
    /// The C type (`qv_status`).
    pub c_type: &'static str,
    /// The comment above it in the header.
    pub doc: &'static str,
    /// The enumerators, in header order.
    pub codes: &'static [Code],
}

/// Declares `NAME = number: "meaning",` lines as constants, and lists them in a table.
macro_rules! codes {
    ($(#[$attr:meta])* $table:ident = [$($name:ident = $value:literal: $meaning:literal,)*]) => {
        $(#[doc = $meaning] pub const $name: u32 = $value;)*
        $(#[$attr])*
        pub const $table: &[Code] = &[$(Code {
            name: match ::std::ffi::CStr::from_bytes_with_nul(
                concat!(stringify!($name), "\0").as_bytes(),
            ) {
                Ok(name) => name,
                Err(_) => panic!("a code's name holds a NUL byte"),
            },
            value: $name,
            meaning: $meaning,
        }),*];
    };
}

codes! {
    /// Every `qv_status`.
    STATUS = [
        QV_OK = 0: "success",
        QV_DONE = 1: "the cursor is exhausted",
        QV_NOT_FOUND = 2: "no such node, edge, savepoint or database",
        QV_NULL_ARGUMENT = 10: "a required pointer argument is NULL",
        QV_INVALID_ARGUMENT = 11: "malformed argument: empty or invalid UTF-8 identifier, \
            bad value, limit exceeded, unknown flag",
        QV_MISUSE = 12: "call not allowed now (a cursor after its transaction ended)",
        QV_BUFFER_TOO_SMALL = 13: "the buffer cannot hold the result; the needed length was \
            stored",
        QV_BUSY = 20: "the writer lock was not obtained within busy_timeout_ms, or \
            transactions are still open at qv_close",
        QV_LOCKED = 21: "the database is open elsewhere (this process or another)",
        QV_READ_ONLY = 22: "a write in a read-only transaction or database",
        QV_CONSTRAINT = 23: "a constraint would be violated (deleting a node that has edges)",
        QV_INTERRUPTED = 24: "a progress callback asked to stop (qv_backup); nothing was \
            left behind",
        QV_IO = 30: "an I/O error; after a failed write or fsync of the database the handle \
            is poisoned (a failed write of a qv_backup copy does not poison it)",
        QV_FULL = 31: "the disk is full; the handle is poisoned (unless the disk that filled \
            is a qv_backup destination's)",
        QV_CORRUPT = 32: "on-disk data fails a check",
        QV_FORMAT = 33: "the database has an unknown format version",
        QV_POISONED = 40: "an earlier failure poisoned this handle; close and reopen",
        QV_INTERNAL = 41: "a bug in Quiver (a caught panic); the handle is poisoned",
    ]
}

codes! {
    /// Every `qv_sync`.
    SYNC_MODES = [
        QV_SYNC_FULL = 0: "every commit fdatasyncs the log before returning: a returned \
            commit survives power loss (default)",
        QV_SYNC_NORMAL = 1: "commits do not wait for an fsync: the checkpoint thread \
            fdatasyncs the log once a second while commits are unsynced; qv_checkpoint and \
            qv_close fsync too: power loss may lose the commits since the last fsync (about a \
            second of activity), never corrupts",
        QV_SYNC_OFF = 2: "commits never fsync the log (checkpoints and qv_close do): a process \
            crash loses nothing, power loss may lose commits since the last checkpoint, never \
            corrupts",
    ]
}

codes! {
    /// Every `qv_dir`.
    DIRECTIONS = [
        QV_OUT = 1: "edges leaving the node",
        QV_IN = 2: "edges entering the node",
        QV_BOTH = 3: "both; a self-loop is yielded and counted once",
    ]
}

codes! {
    /// Every `qv_type`.
    VALUE_TYPES = [
        QV_TYPE_NULL = 0: "null (stored; unlike an unset key)",
        QV_TYPE_BOOL = 1: "as.b",
        QV_TYPE_INT = 2: "as.i",
        QV_TYPE_FLOAT = 3: "as.f",
        QV_TYPE_STRING = 4: "as.bytes: UTF-8, not NUL-terminated",
        QV_TYPE_BYTES = 5: "as.bytes",
    ]
}

codes! {
    /// The flag bits, in header order (each group starts again at 1).
    FLAGS = [
        QV_OPEN_CREATE = 1: "qv_options.flags: create the database if missing (set by \
            qv_options_init)",
        QV_OPEN_READ_ONLY = 2: "qv_options.flags: open for reading only",
        QV_OPEN_UNTIMED_CHECKPOINTS = 4: "qv_options.flags: checkpoint automatically only \
            by size, when the log passes checkpoint_bytes or commits have changed 2^18 nodes \
            and edges (by default also once commits have waited a tenth of a second, and when \
            the writer is idle)",
        QV_TXN_READ_ONLY = 1: "qv_txn_begin flags: a read-only (snapshot) transaction",
        QV_DETACH = 1: "qv_node_delete flags: delete the node's edges too",
        QV_BACKUP_COMPACT = 1: "qv_backup flags: write live data only (no superseded or \
            deleted property blobs)",
    ]
}

/// The C enumerations, in header order.
pub const ENUMS: &[Enum] = &[
    Enum {
        c_type: "qv_status",
        doc: "Status codes returned by every fallible function. Numbers are never reused.",
        codes: STATUS,
    },
    Enum {
        c_type: "qv_sync",
        doc: "When commits are made durable (qv_options.sync).",
        codes: SYNC_MODES,
    },
    Enum {
        c_type: "qv_dir",
        doc: "Edge direction relative to a node.",
        codes: DIRECTIONS,
    },
    Enum {
        c_type: "qv_type",
        doc: "Type tag of a qv_value.",
        codes: VALUE_TYPES,
    },
];
