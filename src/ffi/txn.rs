//! Transactions and savepoints.

use super::args::{clear, cstr_arg, db_arg, out_arg, slice_arg, txn_arg};
use super::boundary::{ffi_guard, invalid, null};
use super::codes::{QV_OK, QV_TXN_READ_ONLY};
use super::handle::{Poison, qv_db, qv_txn, txn_from_raw, txn_into_raw};
use super::types::qv_status;
use std::ffi::c_char;
use std::ptr::null_mut;

/// Begins a transaction. With `flags` = QV_TXN_READ_ONLY it is a read transaction on a
/// snapshot of everything committed so far, which it sees for its whole life, however
/// long it runs; it never blocks nor waits for the writer. With `flags` = 0 it is the
/// write transaction: one at a time per database, so this waits up to busy_timeout_ms for
/// the current writer (or a checkpoint) to finish, then returns QV_BUSY. A write
/// transaction reads its own writes. End it with qv_txn_commit or qv_txn_rollback.
/// Returns QV_OK, QV_BUSY, QV_READ_ONLY (write on a read-only database), QV_POISONED,
/// QV_INVALID_ARGUMENT (unknown flags). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_txn_begin(
    db: *mut qv_db,
    flags: u32,
    out: *mut *mut qv_txn,
) -> qv_status {
    ffi_guard!({
        clear!(out, null_mut());
        let (h, out) = (db_arg!(db), out_arg!(out));
        if flags & !QV_TXN_READ_ONLY != 0 {
            return Err(invalid(format!("unknown transaction flags {flags:#x}")));
        }
        let txn = if flags & QV_TXN_READ_ONLY != 0 {
            h.db.begin_read()?
        } else {
            h.db.begin_write()?
        };
        *out = txn_into_raw(txn);
        Ok(QV_OK)
    })
}

/// Commits the transaction and frees it, whatever the outcome. For a write transaction
/// the commit is durable when this returns QV_OK (with sync QV_SYNC_FULL); on failure
/// nothing of it is visible, now or after reopening. Committing a read transaction just
/// ends it. Cursors of the transaction become stale (free them with qv_cursor_free).
/// Returns QV_NULL_ARGUMENT for NULL, else QV_OK or the failure (QV_IO, QV_FULL poison
/// the handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_txn_commit(txn: *mut qv_txn) -> qv_status {
    // SAFETY: NULL or a live handle; read before the body frees it.
    ffi_guard!(poison = unsafe { txn.database() }, {
        if txn.is_null() {
            return Err(null("txn"));
        }
        // SAFETY: a live handle from qv_txn_begin, which the caller gives up (commit
        // consumes it, also on failure).
        unsafe { txn_from_raw(txn) }.commit()?;
        Ok(QV_OK)
    })
}

/// Abandons the transaction and frees it: nothing it wrote remains, in memory or on disk.
/// qv_txn_rollback(NULL) does nothing. Its cursors become stale.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_txn_rollback(txn: *mut qv_txn) {
    if txn.is_null() {
        return;
    }
    // SAFETY: a live handle; read before the body frees it.
    let _ = ffi_guard!(poison = unsafe { txn.database() }, {
        // SAFETY: a live handle from qv_txn_begin, which the caller gives up.
        unsafe { txn_from_raw(txn) }.rollback();
        Ok(QV_OK)
    });
}

/// Starts a savepoint called `name` in a write transaction. Names may repeat (the most
/// recent of a name is meant). Savepoints still open at commit are committed with the
/// transaction. Returns QV_OK, QV_INVALID_ARGUMENT (empty, too long or not UTF-8),
/// QV_READ_ONLY in a read transaction.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_savepoint(txn: *mut qv_txn, name: *const c_char) -> qv_status {
    ffi_guard!(txn, {
        let (t, name) = (txn_arg!(txn), cstr_arg!(name));
        t.txn.savepoint(name.ident()?)?;
        Ok(QV_OK)
    })
}

/// Undoes everything the transaction did after the most recent savepoint called `name`;
/// the savepoint stays (it can be rolled back to again). Values returned earlier in the
/// transaction become invalid. Returns QV_OK, QV_NOT_FOUND (no such savepoint),
/// QV_READ_ONLY in a read transaction, QV_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_rollback_to(txn: *mut qv_txn, name: *const c_char) -> qv_status {
    ffi_guard!(txn, {
        let (t, name) = (txn_arg!(txn), cstr_arg!(name));
        t.txn.rollback_to(name.ident()?)?;
        Ok(QV_OK)
    })
}

/// Removes the most recent savepoint called `name` and every later one; their changes
/// stay in the transaction. Returns QV_OK, QV_NOT_FOUND, QV_READ_ONLY,
/// QV_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_release(txn: *mut qv_txn, name: *const c_char) -> qv_status {
    ffi_guard!(txn, {
        let (t, name) = (txn_arg!(txn), cstr_arg!(name));
        t.txn.release(name.ident()?)?;
        Ok(QV_OK)
    })
}

/// Writes the content digest (SHA-256) of the transaction's snapshot into the 32 bytes at
/// `out` (zeroed first, and left zero on failure): equal for two databases exactly when
/// they hold the same live nodes and edges, ids included, with the same labels, types and
/// properties, whatever their history. It is SHA-256 of this encoding (integers
/// little-endian; str = u64 byte length, then the bytes):
///   "quiver-digest-v1\n";
///   per live node in ascending id: 'N', u64 id, str label, u32 n, n properties;
///   per live edge in ascending id: 'E', u64 id, u64 src, u64 dst, str type, u32 n,
///   n properties;
///   a property (sorted by key bytes): str key, u8 QV_TYPE_*, then nothing (null), u8 0/1
///   (bool), i64 (int), the double's 8 bytes as stored (float: -0.0 and each NaN differ
///   from the others), str (string, bytes).
/// A write transaction's digest includes its own writes. Reads every record: time in
/// proportion to the database. Returns QV_OK, QV_CORRUPT (a record fails its check).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_digest(txn: *mut qv_txn, out: *mut u8) -> qv_status {
    ffi_guard!(txn, {
        const LEN: usize = 32;
        if !out.is_null() {
            // SAFETY: a non-NULL `out` holds 32 writable bytes (the contract above).
            unsafe { std::ptr::write_bytes(out, 0, LEN) };
        }
        let t = txn_arg!(txn);
        let out = slice_arg!(out, LEN);
        for (b, d) in out.iter_mut().zip(t.txn.digest()?) {
            b.write(d);
        }
        Ok(QV_OK)
    })
}
