//! Types shared with C. Their Rust names are their C names, so the header needs no
//! renames. The enumerations are plain `u32` here, because a C caller may pass any
//! number; build.rs writes their C `enum` definitions from `codes.rs`.

#![expect(
    non_camel_case_types,
    reason = "C names, so the header needs no renames"
)]

use super::codes::QV_TYPE_NULL;
use crate::{CheckReport, RecoveryStats, Stats};
use std::ffi::{c_char, c_int, c_void};

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

/// qv_backup's progress callback: called on the calling thread with the bytes written so
/// far and an estimate of the total (which may change; the last call, once the copy is
/// complete, has done == total, the bytes written); a non-zero return cancels.
pub type qv_progress_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, done: u64, total: u64) -> c_int>;

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
    /// Node frames (inserts, deletes) replayed from the log.
    pub nodes: u64,
    /// Edge frames (inserts, deletes) replayed from the log.
    pub edges: u64,
    /// Property frames (sets, unsets) replayed from the log.
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
    /// QV_OPEN_CREATE (set by qv_options_init), QV_OPEN_READ_ONLY,
    /// QV_OPEN_UNTIMED_CHECKPOINTS.
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

/// A cleared value: QV_TYPE_NULL, with a NULL pointer and length 0 in the payload.
impl Default for qv_value {
    fn default() -> qv_value {
        qv_value {
            type_: QV_TYPE_NULL,
            as_: qv_value_as {
                bytes: qv_bytes {
                    ptr: std::ptr::null(),
                    len: 0,
                },
            },
        }
    }
}

/// A cleared edge: ids 0, type NULL.
impl Default for qv_edge {
    fn default() -> qv_edge {
        qv_edge {
            id: 0,
            src: 0,
            dst: 0,
            type_: std::ptr::null(),
        }
    }
}

/// A cleared property: key NULL, a cleared value.
impl Default for qv_prop {
    fn default() -> qv_prop {
        qv_prop {
            key: std::ptr::null(),
            value: qv_value::default(),
        }
    }
}

/// An empty report: zero counts, no problem.
impl Default for qv_check_report {
    fn default() -> qv_check_report {
        qv_check_report {
            nodes_checked: 0,
            edges_checked: 0,
            problems: 0,
            first_problem: [0; 256],
        }
    }
}

impl From<&CheckReport> for qv_check_report {
    /// The first problem is cut to 255 bytes at a character boundary.
    fn from(r: &CheckReport) -> qv_check_report {
        let mut out = qv_check_report {
            nodes_checked: r.nodes_checked,
            edges_checked: r.edges_checked,
            problems: r.problems,
            ..qv_check_report::default()
        };
        let mut n = r.first_problem.len().min(255);
        while !r.first_problem.is_char_boundary(n) {
            n -= 1;
        }
        for (d, s) in out
            .first_problem
            .iter_mut()
            .zip(&r.first_problem.as_bytes()[..n])
        {
            *d = *s as c_char;
        }
        out
    }
}

impl From<RecoveryStats> for qv_recovery_stats {
    fn from(r: RecoveryStats) -> qv_recovery_stats {
        qv_recovery_stats {
            txns_replayed: r.txns_replayed,
            txns_discarded: r.txns_discarded,
            nodes: r.nodes,
            edges: r.edges,
            props: r.props,
            wal_bytes_scanned: r.wal_bytes_scanned,
            bytes_truncated: r.bytes_truncated,
            micros: r.micros,
        }
    }
}

impl From<Stats> for qv_db_stats {
    fn from(s: Stats) -> qv_db_stats {
        qv_db_stats {
            nodes: s.nodes,
            edges: s.edges,
            data_bytes: s.data_bytes,
            wal_bytes: s.wal_bytes,
            last_commit_lsn: s.last_commit_lsn,
            checkpoint_lsn: s.checkpoint_lsn,
            readers: s.readers,
        }
    }
}
