//! The boundary every export goes through: `ffi_guard!`, which turns the body's result into
//! a status, keeps a failure's message for `qv_last_error` and turns a panic into
//! QV_INTERNAL; the one mapping from engine errors to statuses; the last-error message.

use super::codes::{
    QV_BUSY, QV_CONSTRAINT, QV_CORRUPT, QV_FORMAT, QV_FULL, QV_INTERNAL, QV_INTERRUPTED,
    QV_INVALID_ARGUMENT, QV_IO, QV_LOCKED, QV_MISUSE, QV_NOT_FOUND, QV_NULL_ARGUMENT, QV_POISONED,
    QV_READ_ONLY,
};
use super::types::qv_status;
use crate::error::Error;
use crate::txn::Shared;
use std::cell::RefCell;
use std::sync::Arc;

/// A failed call: its status and message.
#[derive(Debug)]
pub(crate) struct Fail {
    pub status: qv_status,
    pub msg: String,
}

/// The one mapping from engine errors to statuses.
impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let status = match &e {
            Error::NotFound(_) => QV_NOT_FOUND,
            Error::InvalidArgument(_) => QV_INVALID_ARGUMENT,
            Error::Misuse(_) => QV_MISUSE,
            Error::Busy(_) => QV_BUSY,
            Error::Locked(_) => QV_LOCKED,
            Error::ReadOnly(_) => QV_READ_ONLY,
            Error::Constraint(_) => QV_CONSTRAINT,
            Error::Io { .. } => QV_IO,
            Error::Full { .. } => QV_FULL,
            Error::Corrupt(_) => QV_CORRUPT,
            Error::Format(_) => QV_FORMAT,
            Error::Poisoned(_) => QV_POISONED,
            Error::Internal(_) => QV_INTERNAL,
            Error::Interrupted(_) => QV_INTERRUPTED,
        };
        Fail {
            status,
            msg: e.to_string(),
        }
    }
}

pub(crate) fn null(what: &str) -> Fail {
    Fail {
        status: QV_NULL_ARGUMENT,
        msg: format!("{what} is NULL"),
    }
}

pub(crate) fn invalid(msg: String) -> Fail {
    Fail {
        status: QV_INVALID_ARGUMENT,
        msg,
    }
}

pub(crate) fn misuse(msg: &str) -> Fail {
    Fail {
        status: QV_MISUSE,
        msg: msg.to_string(),
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_last_error(msg: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
}

pub(crate) fn with_last_error<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|e| f(&e.borrow()))
}

/// Runs an export's body: `Ok` becomes its status (QV_OK, or QV_DONE for cursors), an
/// error becomes its status with the message stored for `qv_last_error`, and a panic
/// becomes QV_INTERNAL and poisons the database that `on_panic` names.
pub(crate) fn run(
    on_panic: impl FnOnce() -> Option<Arc<Shared>>,
    body: impl FnOnce() -> Result<qv_status, Fail>,
) -> qv_status {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(s)) => s,
        Ok(Err(f)) => {
            set_last_error(f.msg);
            f.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let msg = format!("internal error (panic: {what}); the database handle is poisoned");
            if let Some(shared) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(on_panic))
                .ok()
                .flatten()
            {
                shared.poison(&msg);
            }
            set_last_error(msg);
            QV_INTERNAL
        }
    }
}

/// Wraps the body of every `extern "C"` function (see [`run`]); the body returns
/// `Result<qv_status, Fail>`. What a panic poisons:
/// - `ffi_guard!(txn, { .. })` or `ffi_guard!(c, { .. })`: the database of that
///   transaction or cursor handle, looked up only after the panic (the body must not free
///   the handle);
/// - `ffi_guard!(poison = shared, { .. })`: a database looked up before the body ran, for
///   the calls that consume their handle;
/// - `ffi_guard!({ .. })`: nothing.
macro_rules! ffi_guard {
    ($body:block) => {
        $crate::ffi::boundary::run(|| None, move || $body)
    };
    (poison = $shared:expr, $body:block) => {{
        let shared = $shared;
        $crate::ffi::boundary::run(move || shared, move || $body)
    }};
    ($handle:ident, $body:block) => {{
        let handle = $handle;
        $crate::ffi::boundary::run(
            // SAFETY: the handle is NULL or live (the header's contract), and still live
            // after a panic, since the body does not free it.
            move || unsafe { $crate::ffi::handle::Poison::database(handle) },
            move || $body,
        )
    }};
}
pub(crate) use ffi_guard;
