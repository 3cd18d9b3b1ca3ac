//! The opaque handles, and the only place where raw handle pointers are cast.
//!
//! `qv_db` owns a [`Database`], whose state is shared (`Arc`) with every transaction, so a
//! transaction keeps the database alive; `qv_txn` and `qv_cursor` are boxed. A cursor
//! refers to its transaction through a raw pointer guarded by a shared `alive` flag that
//! the transaction clears when it ends: a cursor never dereferences a freed transaction.

#![expect(
    non_camel_case_types,
    reason = "C names, so the header needs no renames"
)]

use super::boundary::{Fail, misuse};
use crate::Database;
use crate::graph::{EdgeCursor, NodeCursor, PropCursor};
use crate::txn::{Shared, Txn};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An open database (thread-safe).
pub struct qv_db {
    pub(crate) db: Database,
}

/// A transaction (one thread at a time).
pub struct qv_txn {
    pub(crate) txn: Txn,
    pub(crate) alive: Arc<AtomicBool>,
}

pub(crate) enum CursorKind {
    Edge(EdgeCursor),
    Node(NodeCursor),
    Prop(PropCursor),
}

/// A cursor over edges or nodes; belongs to its transaction.
pub struct qv_cursor {
    pub(crate) txn: *mut qv_txn,
    pub(crate) alive: Arc<AtomicBool>,
    pub(crate) kind: CursorKind,
}

/// Moves a database into a handle for C.
pub(crate) fn db_into_raw(db: Database) -> *mut qv_db {
    Box::into_raw(Box::new(qv_db { db }))
}

/// Takes a database handle back from C.
///
/// # Safety
/// `p` came from [`db_into_raw`] and is not used again.
pub(crate) unsafe fn db_from_raw(p: *mut qv_db) -> Box<qv_db> {
    // SAFETY: guaranteed by the caller.
    unsafe { Box::from_raw(p) }
}

/// Moves a transaction into a handle for C.
pub(crate) fn txn_into_raw(txn: Txn) -> *mut qv_txn {
    Box::into_raw(Box::new(qv_txn {
        txn,
        alive: Arc::new(AtomicBool::new(true)),
    }))
}

/// Takes a transaction handle back from C (commit, rollback); its cursors become stale.
///
/// # Safety
/// `p` came from [`txn_into_raw`] and is not used again.
pub(crate) unsafe fn txn_from_raw(p: *mut qv_txn) -> Txn {
    // SAFETY: guaranteed by the caller.
    let b = unsafe { Box::from_raw(p) };
    b.alive.store(false, Ordering::Release);
    b.txn
}

/// Moves a cursor into a handle for C.
pub(crate) fn cursor_into_raw(txn: &mut qv_txn, kind: CursorKind) -> *mut qv_cursor {
    let alive = Arc::clone(&txn.alive);
    Box::into_raw(Box::new(qv_cursor { txn, alive, kind }))
}

/// Frees a cursor handle.
///
/// # Safety
/// `p` is NULL or came from [`cursor_into_raw`] and is not used again.
pub(crate) unsafe fn cursor_free(p: *mut qv_cursor) {
    if !p.is_null() {
        // SAFETY: guaranteed by the caller.
        drop(unsafe { Box::from_raw(p) });
    }
}

impl qv_cursor {
    /// The cursor's state and its transaction; QV_MISUSE once the transaction has ended.
    pub(crate) fn live(&mut self) -> Result<(&mut CursorKind, &Txn), Fail> {
        if !self.alive.load(Ordering::Acquire) {
            return Err(misuse(
                "the cursor's transaction has ended; only qv_cursor_free is allowed",
            ));
        }
        // SAFETY: `alive` is true, so the transaction has not been committed or rolled
        // back and its handle is still allocated; the header forbids using a transaction
        // and its cursors from two threads at once, so nothing else uses it now.
        let t = unsafe { &*self.txn };
        Ok((&mut self.kind, &t.txn))
    }
}

/// A handle through which a panic in an export poisons the database (`ffi_guard!`).
pub(crate) trait Poison {
    /// The database of the handle, if it has one still open.
    ///
    /// # Safety
    /// The handle is NULL or live.
    unsafe fn database(self) -> Option<Arc<Shared>>;
}

impl Poison for *mut qv_txn {
    unsafe fn database(self) -> Option<Arc<Shared>> {
        // SAFETY: guaranteed by the caller.
        unsafe { self.as_ref() }.map(|t| Arc::clone(t.txn.shared()))
    }
}

impl Poison for *mut qv_cursor {
    unsafe fn database(self) -> Option<Arc<Shared>> {
        // SAFETY: guaranteed by the caller.
        let c = unsafe { self.as_ref() }?;
        if !c.alive.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `alive` is true, so the transaction handle is still allocated.
        unsafe { c.txn.database() }
    }
}
