//! The boundary: the one macro that wraps every export, the mapping from engine errors to
//! statuses, the thread-local last-error message, and argument conversion.

use super::codes::{
    QV_BUSY, QV_CONSTRAINT, QV_CORRUPT, QV_FORMAT, QV_FULL, QV_INTERNAL, QV_INVALID_ARGUMENT,
    QV_IO, QV_LOCKED, QV_MISUSE, QV_NOT_FOUND, QV_NULL_ARGUMENT, QV_POISONED, QV_READ_ONLY,
    QV_TYPE_BOOL, QV_TYPE_BYTES, QV_TYPE_FLOAT, QV_TYPE_INT, QV_TYPE_NULL, QV_TYPE_STRING, STATUS,
};
use super::types::{qv_status, qv_type, qv_value};
use crate::error::Error;
use crate::format::ValueRef;
use crate::txn::Shared;
use std::cell::RefCell;
use std::ffi::{CStr, c_char};
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

/// Wraps the body of every `extern "C"` function (see [`run`]). The first argument names
/// the database to poison after a panic; the body returns `Result<qv_status, Fail>`.
macro_rules! ffi_guard {
    ($on_panic:expr, $body:block) => {
        $crate::ffi::guard::run($on_panic, move || $body)
    };
}
pub(crate) use ffi_guard;

/// Sets an out-pointer to `value` when it is not NULL (used to clear outs first thing).
///
/// # Safety
/// `p` is NULL or valid for a write of `T`.
pub(crate) unsafe fn clear<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: guaranteed by the caller.
        unsafe { p.write(value) };
    }
}

/// Borrows an out-pointer, or fails with QV_NULL_ARGUMENT.
///
/// # Safety
/// `p` is NULL or valid for writes of `T` for `'a`.
pub(crate) unsafe fn out<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: guaranteed by the caller.
    unsafe { p.as_mut() }.ok_or_else(|| null(what))
}

/// A required identifier: non-NULL, UTF-8 (the engine checks empty and length).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn ident<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: guaranteed by the caller.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        invalid(format!(
            "{what} is not valid UTF-8 (byte {})",
            e.valid_up_to()
        ))
    })
}

/// An optional identifier (NULL = none).
///
/// # Safety
/// As [`ident`].
pub(crate) unsafe fn opt_ident<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: guaranteed by the caller.
    unsafe { ident(p, what) }.map(Some)
}

/// Converts a C value into the engine's form, validating its type, pointer and UTF-8.
///
/// # Safety
/// `v.as.bytes` (for strings and bytes) describes `len` readable bytes, valid for `'a`.
pub(crate) unsafe fn value_in<'a>(v: &qv_value) -> Result<ValueRef<'a>, Fail> {
    let t: qv_type = v.type_;
    let bytes = || -> Result<&'a [u8], Fail> {
        // SAFETY: every member of the union is plain data; reading `bytes` of any bit
        // pattern is defined.
        let b = unsafe { v.as_.bytes };
        if b.len > crate::validate::MAX_VALUE_LEN {
            return Err(invalid(format!(
                "value is {} bytes; the limit is {} (QV_MAX_VALUE_LEN)",
                b.len,
                crate::validate::MAX_VALUE_LEN
            )));
        }
        if b.ptr.is_null() {
            return if b.len == 0 {
                Ok(&[])
            } else {
                Err(invalid("value ptr is NULL with len > 0".into()))
            };
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`; len is bounded.
        Ok(unsafe { std::slice::from_raw_parts(b.ptr, b.len) })
    };
    Ok(match t {
        QV_TYPE_NULL => ValueRef::Null,
        // SAFETY: read the first byte as an integer rather than as `bool`, so a C caller's
        // out-of-range byte cannot be an invalid Rust bool.
        QV_TYPE_BOOL => ValueRef::Bool(unsafe { *(std::ptr::addr_of!(v.as_) as *const u8) } != 0),
        // SAFETY: plain data member.
        QV_TYPE_INT => ValueRef::Int(unsafe { v.as_.i }),
        // SAFETY: plain data member.
        QV_TYPE_FLOAT => ValueRef::Float(unsafe { v.as_.f }),
        QV_TYPE_STRING => ValueRef::Str(std::str::from_utf8(bytes()?).map_err(|e| {
            invalid(format!(
                "string value is not valid UTF-8 (byte {})",
                e.valid_up_to()
            ))
        })?),
        QV_TYPE_BYTES => ValueRef::Bytes(bytes()?),
        other => return Err(invalid(format!("unknown value type {other}"))),
    })
}

/// Converts an engine value for C (strings and bytes are borrowed, not copied).
pub(crate) fn value_out(v: ValueRef<'_>) -> qv_value {
    use super::types::{qv_bytes, qv_value_as};
    let (type_, as_) = match v {
        ValueRef::Null => (QV_TYPE_NULL, qv_value_as { i: 0 }),
        ValueRef::Bool(b) => (QV_TYPE_BOOL, qv_value_as { b }),
        ValueRef::Int(i) => (QV_TYPE_INT, qv_value_as { i }),
        ValueRef::Float(f) => (QV_TYPE_FLOAT, qv_value_as { f }),
        ValueRef::Str(s) => (
            QV_TYPE_STRING,
            qv_value_as {
                bytes: qv_bytes {
                    ptr: s.as_ptr(),
                    len: s.len(),
                },
            },
        ),
        ValueRef::Bytes(b) => (
            QV_TYPE_BYTES,
            qv_value_as {
                bytes: qv_bytes {
                    ptr: b.as_ptr(),
                    len: b.len(),
                },
            },
        ),
    };
    qv_value { type_, as_ }
}

/// A cleared value (type NULL, zero payload).
pub(crate) fn value_zero() -> qv_value {
    use super::types::{qv_bytes, qv_value_as};
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

/// The name of status `s`, NUL-terminated and static; "QV_UNKNOWN" for other numbers.
pub(crate) fn status_name(s: qv_status) -> &'static CStr {
    STATUS
        .iter()
        .find(|c| c.value == s)
        .map_or(c"QV_UNKNOWN", |c| c.name)
}
