//! The boundary: the one macro that wraps every export, the mapping from engine errors to
//! statuses, the thread-local last-error message, and argument conversion.

use super::types::{qv_status, qv_type, qv_value};
use crate::error::Error;
use crate::format::ValueRef;
use crate::txn::Shared;
use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::sync::Arc;

#[expect(
    dead_code,
    reason = "ENUMS and FLAGS are for build.rs; the library uses STATUS_CODES"
)]
mod codes {
    include!("codes.rs");
}
pub(crate) use codes::STATUS_CODES;

macro_rules! status {
    ($($name:ident = $v:expr),* $(,)?) => { $(pub(crate) const $name: qv_status = $v;)* };
}
status! {
    QV_OK = 0, QV_DONE = 1, QV_NOT_FOUND = 2, QV_NULL_ARGUMENT = 10, QV_INVALID_ARGUMENT = 11,
    QV_MISUSE = 12, QV_BUFFER_TOO_SMALL = 13, QV_BUSY = 20, QV_LOCKED = 21, QV_READ_ONLY = 22,
    QV_CONSTRAINT = 23, QV_IO = 30, QV_FULL = 31, QV_CORRUPT = 32, QV_FORMAT = 33,
    QV_POISONED = 40, QV_INTERNAL = 41,
}

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
        0 => ValueRef::Null,
        // SAFETY: read the first byte as an integer rather than as `bool`, so a C caller's
        // out-of-range byte cannot be an invalid Rust bool.
        1 => ValueRef::Bool(unsafe { *(std::ptr::addr_of!(v.as_) as *const u8) } != 0),
        // SAFETY: plain data member.
        2 => ValueRef::Int(unsafe { v.as_.i }),
        // SAFETY: plain data member.
        3 => ValueRef::Float(unsafe { v.as_.f }),
        4 => ValueRef::Str(std::str::from_utf8(bytes()?).map_err(|e| {
            invalid(format!(
                "string value is not valid UTF-8 (byte {})",
                e.valid_up_to()
            ))
        })?),
        5 => ValueRef::Bytes(bytes()?),
        other => return Err(invalid(format!("unknown value type {other}"))),
    })
}

/// Converts an engine value for C (strings and bytes are borrowed, not copied).
pub(crate) fn value_out(v: ValueRef<'_>) -> qv_value {
    use super::types::{qv_bytes, qv_value_as};
    let (type_, as_) = match v {
        ValueRef::Null => (0, qv_value_as { i: 0 }),
        ValueRef::Bool(b) => (1, qv_value_as { b }),
        ValueRef::Int(i) => (2, qv_value_as { i }),
        ValueRef::Float(f) => (3, qv_value_as { f }),
        ValueRef::Str(s) => (
            4,
            qv_value_as {
                bytes: qv_bytes {
                    ptr: s.as_ptr(),
                    len: s.len(),
                },
            },
        ),
        ValueRef::Bytes(b) => (
            5,
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
        type_: 0,
        as_: qv_value_as {
            bytes: qv_bytes {
                ptr: std::ptr::null(),
                len: 0,
            },
        },
    }
}

/// The name of status `s`, NUL-terminated and static.
pub(crate) fn status_name(s: qv_status) -> &'static CStr {
    // The names are generated with their NUL in `STATUS_NAMES_Z`.
    STATUS_NAMES_Z
        .iter()
        .zip(STATUS_CODES)
        .find(|(_, (_, v, _))| *v == s)
        .map(|(z, _)| *z)
        .unwrap_or(c"QV_UNKNOWN")
}

const STATUS_NAMES_Z: [&CStr; 17] = [
    c"QV_OK",
    c"QV_DONE",
    c"QV_NOT_FOUND",
    c"QV_NULL_ARGUMENT",
    c"QV_INVALID_ARGUMENT",
    c"QV_MISUSE",
    c"QV_BUFFER_TOO_SMALL",
    c"QV_BUSY",
    c"QV_LOCKED",
    c"QV_READ_ONLY",
    c"QV_CONSTRAINT",
    c"QV_IO",
    c"QV_FULL",
    c"QV_CORRUPT",
    c"QV_FORMAT",
    c"QV_POISONED",
    c"QV_INTERNAL",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_tables_agree() {
        assert_eq!(STATUS_NAMES_Z.len(), STATUS_CODES.len());
        for (z, (name, _, _)) in STATUS_NAMES_Z.iter().zip(STATUS_CODES) {
            assert_eq!(z.to_str().unwrap(), *name);
        }
        assert_eq!(status_name(QV_CORRUPT).to_str().unwrap(), "QV_CORRUPT");
        assert_eq!(status_name(999).to_str().unwrap(), "QV_UNKNOWN");
    }
}
