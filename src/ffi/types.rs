//! Types shared with C. Their Rust names are their C names, so the header needs no
//! renames. The enumerations are plain `u32` here, because a C caller may pass any
//! number; build.rs writes their C `enum` definitions from `codes.rs`.

#![allow(non_camel_case_types)]

use std::ffi::c_char;

/// A status code (see the `qv_status` enum in the header).
pub type qv_status = u32;
/// A sync mode (see the `qv_sync` enum in the header).
pub type qv_sync = u32;
/// An edge direction (see the `qv_dir` enum in the header).
pub type qv_dir = u32;
/// A value type tag (see the `qv_type` enum in the header).
pub type qv_type = u32;

/// A node id. Ids start at 1; 0 is never a valid id.
pub type qv_node_id = u64;
/// An edge id. Ids start at 1; 0 is never a valid id.
pub type qv_edge_id = u64;

/// Pointer + length of a string or bytes value. For strings the bytes are UTF-8 and not
/// NUL-terminated. ptr may be NULL only when len is 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_bytes {
    /// First byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// The payload of a qv_value; which member is meaningful depends on qv_value.type.
#[repr(C)]
#[derive(Clone, Copy)]
pub union qv_value_as {
    /// QV_TYPE_BOOL.
    pub b: bool,
    /// QV_TYPE_INT.
    pub i: i64,
    /// QV_TYPE_FLOAT.
    pub f: f64,
    /// QV_TYPE_STRING and QV_TYPE_BYTES.
    pub bytes: qv_bytes,
}

/// A tagged property value.
///
/// cbindgen:field-names=[type, as]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_value {
    /// One of the QV_TYPE_* values.
    pub type_: qv_type,
    /// The payload.
    pub as_: qv_value_as,
}

/// An edge, as qv_edge_get and qv_cursor_next_edge return it.
///
/// cbindgen:field-names=[id, src, dst, type]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_edge {
    /// Edge id.
    pub id: qv_edge_id,
    /// Source node.
    pub src: qv_node_id,
    /// Destination node.
    pub dst: qv_node_id,
    /// Edge type, NUL-terminated; valid until the transaction ends.
    pub type_: *const c_char,
}

/// A property: its key and value, as qv_cursor_next_prop lists it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_prop {
    /// The key, NUL-terminated UTF-8; valid until the transaction ends.
    pub key: *const c_char,
    /// The value; strings and bytes stay valid as a qv_node_get value does.
    pub value: qv_value,
}

/// What recovery did when the database was opened (qv_last_recovery).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct qv_recovery_stats {
    /// Committed transactions replayed from the log.
    pub txns_replayed: u64,
    /// Aborted or incomplete transactions discarded.
    pub txns_discarded: u64,
    /// Node records written back by replay.
    pub nodes: u64,
    /// Edge records written back by replay.
    pub edges: u64,
    /// Property changes written back by replay.
    pub props: u64,
    /// Log bytes read.
    pub wal_bytes_scanned: u64,
    /// Bytes of a torn log tail cut off.
    pub bytes_truncated: u64,
    /// Time recovery took, in microseconds.
    pub micros: u64,
}

/// Counts and sizes (qv_stats). Fields are only ever added at the end.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct qv_db_stats {
    /// Live nodes, as of the latest commit.
    pub nodes: u64,
    /// Live edges, as of the latest commit.
    pub edges: u64,
    /// Bytes of the data files on disk.
    pub data_bytes: u64,
    /// Bytes of the write-ahead log on disk.
    pub wal_bytes: u64,
    /// Log position just past the latest commit.
    pub last_commit_lsn: u64,
    /// Log position the last checkpoint covers.
    pub checkpoint_lsn: u64,
    /// Read transactions open now.
    pub readers: u64,
}

/// The result of qv_check.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_check_report {
    /// Node slots examined.
    pub nodes_checked: u64,
    /// Edge slots examined.
    pub edges_checked: u64,
    /// Problems found.
    pub problems: u64,
    /// The first problem, NUL-terminated (truncated to 255 bytes); "" when none.
    pub first_problem: [c_char; 256],
}

/// Options for qv_open. Initialize with qv_options_init, then change fields.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qv_options {
    /// Set by qv_options_init to sizeof(qv_options); lets the struct grow compatibly.
    pub struct_size: u32,
    /// QV_OPEN_CREATE (set by qv_options_init) and/or QV_OPEN_READ_ONLY.
    pub flags: u32,
    /// A qv_sync value; default QV_SYNC_FULL.
    pub sync: qv_sync,
    /// How long qv_txn_begin (write) and qv_checkpoint wait for the writer lock; default 5000.
    pub busy_timeout_ms: u32,
    /// Checkpoint automatically once the log written since the last checkpoint passes
    /// this many bytes; 0 means the default, 64 MiB.
    pub checkpoint_bytes: u64,
    /// Start a new log segment file once the current one passes this many bytes; 0 means
    /// the default, 64 MiB. (Added in 0.1.0; older callers' shorter structs get 0.)
    pub segment_bytes: u64,
}
