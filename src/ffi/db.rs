//! Opening, closing, checkpointing, checking and inspecting a database; status names,
//! error messages and the version.

use super::args::{clear, cstr_arg, db_arg, out_arg};
use super::boundary::{Fail, ffi_guard, invalid, with_last_error};
use super::codes::{
    QV_BACKUP_COMPACT, QV_BUFFER_TOO_SMALL, QV_CORRUPT, QV_NULL_ARGUMENT, QV_OK, QV_OPEN_CREATE,
    QV_OPEN_READ_ONLY, QV_OPEN_UNTIMED_CHECKPOINTS, QV_SYNC_FULL, QV_SYNC_NORMAL, QV_SYNC_OFF,
    STATUS,
};
use super::handle::{db_from_raw, db_into_raw, qv_db};
use super::types::{
    qv_check_report, qv_db_stats, qv_options, qv_progress_fn, qv_recovery_stats, qv_status,
};
use crate::options::{Options, SyncMode};
use crate::{BackupOptions, Database, Error};
use std::ffi::{CStr, OsStr, c_char, c_void};
use std::os::unix::ffi::OsStrExt;
use std::ptr::null_mut;
use std::time::Duration;

/// Fills `opts` with the defaults: struct_size = sizeof(qv_options), flags =
/// QV_OPEN_CREATE, sync = QV_SYNC_FULL, busy_timeout_ms = 5000, checkpoint_bytes = 0
/// (64 MiB), segment_bytes = 0 (64 MiB). Does nothing when `opts` is NULL. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_options_init(opts: *mut qv_options) {
    let _ = ffi_guard!({
        clear!(opts, default_options());
        Ok(QV_OK)
    });
}

fn default_options() -> qv_options {
    qv_options {
        struct_size: size_of::<qv_options>() as u32,
        flags: QV_OPEN_CREATE,
        sync: QV_SYNC_FULL,
        busy_timeout_ms: 5000,
        checkpoint_bytes: 0,
        segment_bytes: 0,
    }
}

/// Reads a caller's qv_options, which may be older (shorter) than ours.
///
/// # Safety
/// `p` is NULL or points to at least `struct_size` readable bytes.
unsafe fn read_options(p: *const qv_options) -> Result<Options, Fail> {
    let mut o = default_options();
    if !p.is_null() {
        // SAFETY: the first field is always present.
        let size = unsafe { (p as *const u32).read_unaligned() } as usize;
        if size < 8 {
            return Err(invalid(format!(
                "qv_options.struct_size is {size}; call qv_options_init first"
            )));
        }
        let n = size.min(size_of::<qv_options>());
        // SAFETY: the caller's struct has `size` >= n readable bytes; ours has n writable.
        unsafe {
            std::ptr::copy_nonoverlapping(p as *const u8, &mut o as *mut qv_options as *mut u8, n)
        };
    }
    if o.flags & !(QV_OPEN_CREATE | QV_OPEN_READ_ONLY | QV_OPEN_UNTIMED_CHECKPOINTS) != 0 {
        return Err(invalid(format!(
            "unknown qv_options.flags bits {:#x}",
            o.flags
        )));
    }
    let sync = match o.sync {
        QV_SYNC_FULL => SyncMode::Full,
        QV_SYNC_NORMAL => SyncMode::Normal,
        QV_SYNC_OFF => SyncMode::Off,
        s => return Err(invalid(format!("unknown qv_options.sync {s}"))),
    };
    let d = Options::default();
    let opts = Options {
        create: o.flags & QV_OPEN_CREATE != 0,
        read_only: o.flags & QV_OPEN_READ_ONLY != 0,
        sync,
        busy_timeout: Duration::from_millis(o.busy_timeout_ms as u64),
        checkpoint_bytes: if o.checkpoint_bytes == 0 {
            d.checkpoint_bytes
        } else {
            o.checkpoint_bytes
        },
        segment_bytes: if o.segment_bytes == 0 {
            d.segment_bytes
        } else {
            o.segment_bytes
        },
        checkpoint_interval: if o.flags & QV_OPEN_UNTIMED_CHECKPOINTS != 0 {
            None
        } else {
            d.checkpoint_interval
        },
        ..d
    };
    opts.validate().map_err(|e| match e {
        Error::InvalidArgument(m) => invalid(format!("qv_options.{m} (or 0: the default)")),
        e => e.into(),
    })?;
    Ok(opts)
}

/// Opens the database directory at `path` (creating it when `opts->flags` has
/// QV_OPEN_CREATE and it is missing) and runs recovery. `opts` may be NULL for the
/// defaults. On success `*out` is a handle to close with qv_close.
///
/// A handle opened for writing starts one thread of the library, the checkpoint thread,
/// with its first write transaction (at open, when recovery replayed commits). It runs
/// the automatic checkpoints, so that no commit waits for one: when the log
/// written since the last checkpoint passes checkpoint_bytes, or commits have changed
/// 262,144 (2^18) nodes and edges since then (a detached delete logs a few bytes and
/// changes every edge of the node and every neighbour); once commits have waited a
/// tenth of a second since the last checkpoint and twice as long as it took; and
/// once no write transaction is open and nothing has been committed for about 50 ms while
/// commits wait (the last two unless QV_OPEN_UNTIMED_CHECKPOINTS). In QV_SYNC_NORMAL it
/// also fsyncs the log once a second while commits are unsynced, whether
/// or not more commits come. A checkpoint it cannot write (an I/O error) poisons the
/// handle: the next call returns QV_POISONED. Readers hold it back as they hold back
/// qv_checkpoint; while they do, the log grows past checkpoint_bytes. The one commit that
/// waits for a checkpoint is one that leaves more than 1 GiB of committed changes in
/// memory, not yet checkpointed (a bulk load committing faster than checkpoints run): it
/// returns once the thread has finished one, so that memory stays bounded.
///
/// Returns QV_OK; QV_NOT_FOUND (no database and no QV_OPEN_CREATE); QV_LOCKED (open
/// elsewhere, in this process or another); QV_CORRUPT, QV_FORMAT, QV_IO, QV_FULL;
/// QV_INVALID_ARGUMENT for bad options. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_open(
    path: *const c_char,
    opts: *const qv_options,
    out: *mut *mut qv_db,
) -> qv_status {
    ffi_guard!({
        clear!(out, null_mut());
        let (path, out) = (cstr_arg!(path), out_arg!(out));
        if path.s.is_empty() {
            return Err(invalid("path is empty".into()));
        }
        // SAFETY: `opts` is NULL or a qv_options of at least struct_size bytes (the
        // header's contract for versioned structs).
        let opts = unsafe { read_options(opts) }?;
        *out = db_into_raw(Database::open(OsStr::from_bytes(path.s.to_bytes()), &opts)?);
        Ok(QV_OK)
    })
}

/// Closes the database: stops the checkpoint thread (waiting for a checkpoint it has
/// under way), checkpoints what is left, then releases the files and the lock. A close
/// with nothing committed since the database was last closed cleanly writes nothing. With
/// transactions still open it returns QV_BUSY and the handle stays valid. Any other
/// outcome frees the handle, even a failure (committed data is safe in the log).
/// qv_close(NULL) returns QV_OK. Do not use the handle from other threads meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_close(db: *mut qv_db) -> qv_status {
    if db.is_null() {
        return QV_OK;
    }
    ffi_guard!({
        let open = db_arg!(db).db.open_txns();
        if open > 0 {
            return Err(Error::Busy(format!(
                "{open} transaction(s) still open; end them before qv_close"
            ))
            .into());
        }
        // SAFETY: a live handle from qv_open, which the caller gives up (closing consumes
        // it, also on failure).
        unsafe { db_from_raw(db) }.db.close()?;
        Ok(QV_OK)
    })
}

/// Moves committed changes from the log into the data files, as far as open read
/// transactions allow (a reader's snapshot holds back what it may still read), then
/// retires log segments. Waits for the writer lock like a writer (QV_BUSY after
/// busy_timeout_ms); call it from a thread that holds no write transaction.
/// Returns QV_OK, QV_BUSY, QV_READ_ONLY, QV_POISONED or an I/O status. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_checkpoint(db: *mut qv_db) -> qv_status {
    ffi_guard!({
        db_arg!(db).db.checkpoint()?;
        Ok(QV_OK)
    })
}

/// Hot backup: copies the database as of the latest commit when the call starts (what a
/// read transaction begun now would see) into `dest_path`, which must not exist yet (its
/// parent directory must). Other threads keep reading and committing meanwhile; like a
/// read transaction, the backup holds checkpoints back until it ends. The result is a
/// closed, checkpointed database that qv_open opens with every commit up to that point and
/// nothing after it (same node and edge ids, an empty log). `flags`: 0 or
/// QV_BACKUP_COMPACT, which writes only live data (no superseded or deleted property
/// blobs; deleted ids keep their record slot, as ids are never reused). `progress` (may be
/// NULL) is called on this thread with (user, bytes written, estimated total); a non-zero
/// return stops the backup with QV_INTERRUPTED.
///
/// The copy is written into a hidden directory beside `dest_path`
/// (".NAME.qvbackup-PID-N"), made durable (every file, then the directory), and renamed to
/// `dest_path`. On any failure or cancel that directory is removed and `dest_path` never
/// appears; a process killed during a backup may leave the hidden directory (an unfinished
/// copy, or a finished one if the kill came after its last progress call, never renamed):
/// the next backup to the same `dest_path` removes those whose process no longer runs, and
/// they may be deleted by hand. A failure writing the copy (QV_IO, QV_FULL) never poisons
/// `db`. Returns QV_OK, QV_NULL_ARGUMENT (db or dest_path NULL), QV_INVALID_ARGUMENT
/// (dest_path empty or existing, an unknown flag), QV_NOT_FOUND (no parent directory), QV_INTERRUPTED, QV_IO, QV_FULL,
/// QV_CORRUPT (a record of the source fails its check), QV_POISONED. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_backup(
    db: *mut qv_db,
    dest_path: *const c_char,
    flags: u32,
    progress: qv_progress_fn,
    user: *mut c_void,
) -> qv_status {
    ffi_guard!({
        let (h, dest) = (db_arg!(db), cstr_arg!(dest_path));
        if dest.s.is_empty() {
            return Err(invalid("dest_path is empty".into()));
        }
        if flags & !QV_BACKUP_COMPACT != 0 {
            return Err(invalid(format!("unknown qv_backup flags {flags:#x}")));
        }
        let mut report = |done: u64, total: u64| match progress {
            // SAFETY: the caller passes a callback that may be called with its `user`.
            Some(f) => (unsafe { f(user, done, total) }) == 0,
            None => true,
        };
        h.db.backup(
            OsStr::from_bytes(dest.s.to_bytes()),
            BackupOptions {
                compact: flags & QV_BACKUP_COMPACT != 0,
                progress: Some(&mut report),
            },
        )?;
        Ok(QV_OK)
    })
}

/// Checks every invariant of the latest committed state (edge endpoints exist, adjacency
/// chains agree both ways, counts match, property blobs and identifiers verify) and fills
/// `*out`. Returns QV_OK when no problem was found, QV_CORRUPT when some were (the report
/// says how many and the first; qv_last_error has it too). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_check(db: *mut qv_db, out: *mut qv_check_report) -> qv_status {
    ffi_guard!({
        clear!(out, qv_check_report::default());
        let (h, out) = (db_arg!(db), out_arg!(out));
        let r = h.db.check_integrity()?;
        *out = qv_check_report::from(&r);
        if r.problems > 0 {
            return Err(Fail {
                status: QV_CORRUPT,
                msg: format!(
                    "integrity check found {} problem(s); first: {}",
                    r.problems, r.first_problem
                ),
            });
        }
        Ok(QV_OK)
    })
}

/// Fills `*out` with what recovery did when this handle was opened. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_last_recovery(
    db: *const qv_db,
    out: *mut qv_recovery_stats,
) -> qv_status {
    ffi_guard!({
        clear!(out, qv_recovery_stats::default());
        let (h, out) = (db_arg!(db), out_arg!(out));
        *out = h.db.last_recovery().into();
        Ok(QV_OK)
    })
}

/// Fills `*out` with counts (as of the latest commit), file sizes, log positions and the
/// number of open read transactions. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_stats(db: *const qv_db, out: *mut qv_db_stats) -> qv_status {
    ffi_guard!({
        clear!(out, qv_db_stats::default());
        let (h, out) = (db_arg!(db), out_arg!(out));
        *out = h.db.stats().into();
        Ok(QV_OK)
    })
}

/// The name of status `s` ("QV_NOT_FOUND"...), or "QV_UNKNOWN" for a number that is not
/// a status. Never NULL; the string is static. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn qv_status_str(s: qv_status) -> *const c_char {
    status_name(s).as_ptr()
}

/// The name of status `s`, from the code table.
fn status_name(s: qv_status) -> &'static CStr {
    STATUS
        .iter()
        .find(|c| c.value == s)
        .map_or(c"QV_UNKNOWN", |c| c.name)
}

/// Copies the message of the last failed call on this thread into `buf` (truncated to
/// `cap - 1` bytes and NUL-terminated when `cap > 0`) and sets `*len` to the message's
/// full length without the NUL. Returns QV_BUFFER_TOO_SMALL when `*len >= cap`, else
/// QV_OK; QV_NULL_ARGUMENT when `len` is NULL, or `buf` is NULL with `cap > 0`. Before any
/// failure the message is "". It does not change the stored message, and successful calls
/// do not clear it. Thread-safe (the message is per thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_last_error(buf: *mut c_char, cap: usize, len: *mut usize) -> qv_status {
    // Not through ffi_guard!, which would replace the message it reports.
    clear!(len, 0);
    if len.is_null() || (buf.is_null() && cap > 0) {
        return QV_NULL_ARGUMENT;
    }
    with_last_error(|msg| {
        let bytes = msg.as_bytes();
        if cap > 0 {
            let n = bytes.len().min(cap - 1);
            // SAFETY: a buffer holds `cap` writable bytes; we write n + 1 <= cap.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf as *mut u8, n);
                *buf.add(n) = 0;
            }
        }
        // SAFETY: checked non-NULL above; an out-pointer is writable.
        unsafe { *len = bytes.len() };
        if bytes.len() >= cap {
            QV_BUFFER_TOO_SMALL
        } else {
            QV_OK
        }
    })
}

/// The library version, "MAJOR.MINOR.PATCH" (equal to QV_VERSION_STRING of the header it
/// was built with). Static; never NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn qv_version() -> *const c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::super::codes::{ENUMS, FLAGS, STATUS};
    use super::*;
    use std::collections::BTreeSet;

    /// The numbers are the ABI: each one pinned here as the C tests pin them in C.
    #[test]
    fn codes_keep_their_numbers() {
        let pinned: &[(&str, &[(&str, u32)])] = &[
            (
                "qv_status",
                &[
                    ("QV_OK", 0),
                    ("QV_DONE", 1),
                    ("QV_NOT_FOUND", 2),
                    ("QV_NULL_ARGUMENT", 10),
                    ("QV_INVALID_ARGUMENT", 11),
                    ("QV_MISUSE", 12),
                    ("QV_BUFFER_TOO_SMALL", 13),
                    ("QV_BUSY", 20),
                    ("QV_LOCKED", 21),
                    ("QV_READ_ONLY", 22),
                    ("QV_CONSTRAINT", 23),
                    ("QV_INTERRUPTED", 24),
                    ("QV_IO", 30),
                    ("QV_FULL", 31),
                    ("QV_CORRUPT", 32),
                    ("QV_FORMAT", 33),
                    ("QV_POISONED", 40),
                    ("QV_INTERNAL", 41),
                ],
            ),
            (
                "qv_sync",
                &[
                    ("QV_SYNC_FULL", 0),
                    ("QV_SYNC_NORMAL", 1),
                    ("QV_SYNC_OFF", 2),
                ],
            ),
            ("qv_dir", &[("QV_OUT", 1), ("QV_IN", 2), ("QV_BOTH", 3)]),
            (
                "qv_type",
                &[
                    ("QV_TYPE_NULL", 0),
                    ("QV_TYPE_BOOL", 1),
                    ("QV_TYPE_INT", 2),
                    ("QV_TYPE_FLOAT", 3),
                    ("QV_TYPE_STRING", 4),
                    ("QV_TYPE_BYTES", 5),
                ],
            ),
            (
                "flags",
                &[
                    ("QV_OPEN_CREATE", 1),
                    ("QV_OPEN_READ_ONLY", 2),
                    ("QV_OPEN_UNTIMED_CHECKPOINTS", 4),
                    ("QV_TXN_READ_ONLY", 1),
                    ("QV_DETACH", 1),
                    ("QV_BACKUP_COMPACT", 1),
                ],
            ),
        ];
        let tables = ENUMS
            .iter()
            .map(|e| (e.c_type, e.codes))
            .chain([("flags", FLAGS)]);
        let got: Vec<(&str, Vec<(&str, u32)>)> = tables
            .map(|(t, codes)| {
                let codes = codes.iter().map(|c| (c.name.to_str().unwrap(), c.value));
                (t, codes.collect())
            })
            .collect();
        let want: Vec<(&str, Vec<(&str, u32)>)> = pinned
            .iter()
            .map(|(t, codes)| (*t, codes.to_vec()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn codes_are_distinct() {
        let mut names = BTreeSet::new();
        for e in ENUMS {
            let values: BTreeSet<u32> = e.codes.iter().map(|c| c.value).collect();
            assert_eq!(values.len(), e.codes.len(), "{} repeats a number", e.c_type);
        }
        for c in ENUMS.iter().flat_map(|e| e.codes).chain(FLAGS) {
            assert!(names.insert(c.name), "{:?} is declared twice", c.name);
        }
    }

    #[test]
    fn every_status_has_its_name() {
        for c in STATUS {
            // SAFETY: qv_status_str returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(qv_status_str(c.value)) };
            assert_eq!(name, c.name);
        }
        for s in [3, 9, 14, 42, 999, u32::MAX] {
            assert_eq!(status_name(s), c"QV_UNKNOWN");
        }
        assert_eq!(status_name(QV_CORRUPT), c"QV_CORRUPT");
    }
}
