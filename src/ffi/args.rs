//! The arguments of the exports: one macro per pointer shape, holding the one `unsafe`
//! that shape needs, and the checks of what the pointers point to.
//!
//! Every export checks its arguments in the same order, so a caller gets the same status
//! for the same mistakes everywhere:
//! 1. `clear!` every out-parameter, so the caller can clean up unconditionally;
//! 2. check every required pointer for NULL, in argument order (the `*_arg!` macros): a
//!    NULL gives QV_NULL_ARGUMENT (`"<name> is NULL"`) whatever else is wrong;
//! 3. validate what the pointers point to, in argument order (an identifier's UTF-8, a
//!    value: [`CStrArg::ident`], [`ValueArg::get`]), then the plain arguments (flags,
//!    direction, capacity), then the state of a handle (a cursor whose transaction has
//!    ended: `qv_cursor::live`);
//! 4. call the engine.
//!
//! The macros may only be used in the exports: they rely on what the header's conventions
//! ask of every C caller, which is why each export is an `unsafe fn`. A handle is NULL or
//! live and not used by another thread during the call; a string is NUL-terminated; an
//! out-pointer is NULL or writable; a value's string or bytes cover their length; a buffer
//! holds `cap` elements. Each `unsafe` block names the promise it relies on.

use super::boundary::{Fail, invalid};
use super::codes::{
    QV_TYPE_BOOL, QV_TYPE_BYTES, QV_TYPE_FLOAT, QV_TYPE_INT, QV_TYPE_NULL, QV_TYPE_STRING,
};
use super::types::{qv_bytes, qv_prop, qv_value, qv_value_as};
use crate::format::ValueRef;
use crate::validate::MAX_VALUE_LEN;
use std::ffi::CStr;
use std::mem::MaybeUninit;

/// Sets out-parameter `$p` to `$zero` unless it is NULL.
macro_rules! clear {
    ($p:ident, $zero:expr) => {{
        let (p, zero) = ($p, $zero);
        if !p.is_null() {
            // SAFETY: an out-pointer is NULL or writable.
            unsafe { p.write(zero) };
        }
    }};
}

/// `&mut T` from out-parameter `$p` (cleared already), or QV_NULL_ARGUMENT.
macro_rules! out_arg {
    ($p:ident) => {{
        let p = $p;
        // SAFETY: an out-pointer is NULL or writable, and only this call writes it.
        unsafe { p.as_mut() }.ok_or_else(|| $crate::ffi::boundary::null(stringify!($p)))?
    }};
}

/// `&mut qv_txn` from a transaction handle, or QV_NULL_ARGUMENT.
macro_rules! txn_arg {
    ($p:ident) => {{
        let p: *mut $crate::ffi::qv_txn = $p;
        // SAFETY: a handle is NULL or live, and no other thread uses it during the call.
        unsafe { p.as_mut() }.ok_or_else(|| $crate::ffi::boundary::null("txn"))?
    }};
}

/// `&qv_db` from a database handle, or QV_NULL_ARGUMENT.
macro_rules! db_arg {
    ($p:ident) => {{
        let p: *const $crate::ffi::qv_db = $p;
        // SAFETY: a handle is NULL or live; a database handle is shared between threads.
        unsafe { p.as_ref() }.ok_or_else(|| $crate::ffi::boundary::null("db"))?
    }};
}

/// `&mut qv_cursor` from a cursor handle, or QV_NULL_ARGUMENT. Its transaction may have
/// ended: `qv_cursor::live` checks that.
macro_rules! cursor_arg {
    ($p:ident) => {{
        let p: *mut $crate::ffi::qv_cursor = $p;
        // SAFETY: a handle is NULL or live (the cursor itself, which outlives its
        // transaction), and no other thread uses it during the call.
        unsafe { p.as_mut() }.ok_or_else(|| $crate::ffi::boundary::null("cursor"))?
    }};
}

/// A required string argument ([`CStrArg`]), or QV_NULL_ARGUMENT; `$what` names it in
/// messages (default: the parameter's name).
macro_rules! cstr_arg {
    ($p:ident) => {
        $crate::ffi::args::cstr_arg!($p, stringify!($p))
    };
    ($p:ident, $what:expr) => {
        $crate::ffi::args::opt_cstr_arg!($p, $what)
            .ok_or_else(|| $crate::ffi::boundary::null($what))?
    };
}

/// An optional string argument: `None` for NULL.
macro_rules! opt_cstr_arg {
    ($p:ident) => {
        $crate::ffi::args::opt_cstr_arg!($p, stringify!($p))
    };
    ($p:ident, $what:expr) => {{
        let p: *const std::ffi::c_char = $p;
        (!p.is_null()).then(|| $crate::ffi::args::CStrArg {
            // SAFETY: a string is NULL (excluded here) or NUL-terminated, and stays
            // valid during the call.
            s: unsafe { std::ffi::CStr::from_ptr(p) },
            what: $what,
        })
    }};
}

/// A value argument ([`ValueArg`]), or QV_NULL_ARGUMENT.
macro_rules! value_arg {
    ($p:ident) => {{
        let p: *const $crate::ffi::qv_value = $p;
        // SAFETY: a value is NULL or readable, and its string or bytes cover their
        // length; both stay valid during the call.
        unsafe { p.as_ref().map(|v| $crate::ffi::args::ValueArg::new(v)) }
            .ok_or_else(|| $crate::ffi::boundary::null("value"))?
    }};
}

/// The `$len` elements of out-buffer `$p`, not yet initialized, or QV_NULL_ARGUMENT.
macro_rules! slice_arg {
    ($p:ident, $len:ident) => {{
        let (p, len): (_, usize) = ($p, $len);
        if p.is_null() {
            return Err($crate::ffi::boundary::null(stringify!($p)));
        }
        // SAFETY: a buffer is NULL (excluded here) or holds `len` writable elements, which
        // only this call uses; C need not have initialized them.
        unsafe { std::slice::from_raw_parts_mut($crate::ffi::args::uninit(p), len) }
    }};
}

/// The `$n` properties at `$p` (NULL allowed only when `$n` is 0), or QV_NULL_ARGUMENT;
/// [`props_in`] validates them.
macro_rules! props_arg {
    ($p:ident, $n:ident) => {{
        let (p, n): (*const $crate::ffi::qv_prop, usize) = ($p, $n);
        if n == 0 {
            &[][..]
        } else if p.is_null() {
            return Err($crate::ffi::boundary::null(stringify!($p)));
        } else {
            // SAFETY: an input array is NULL (excluded here) or holds `n` readable
            // elements that stay valid during the call.
            unsafe { std::slice::from_raw_parts(p, n) }
        }
    }};
}

pub(crate) use {
    clear, cstr_arg, cursor_arg, db_arg, opt_cstr_arg, out_arg, props_arg, slice_arg, txn_arg,
    value_arg,
};

/// The properties of an insert, checked in order: each key non-NULL (QV_NULL_ARGUMENT) and
/// UTF-8, each value as [`ValueArg::get`] checks it.
///
/// # Safety
/// Each key is NULL or NUL-terminated, and each string or bytes value covers its length,
/// for as long as `props` is borrowed (what the header asks of every C caller).
pub(crate) unsafe fn props_in(props: &[qv_prop]) -> Result<Vec<(&str, ValueRef<'_>)>, Fail> {
    let mut out = Vec::with_capacity(props.len());
    for (i, p) in props.iter().enumerate() {
        if p.key.is_null() {
            return Err(super::boundary::null(&format!("props[{i}].key")));
        }
        // SAFETY: a non-NULL key is NUL-terminated (this function's contract).
        let s = unsafe { CStr::from_ptr(p.key) };
        let key = CStrArg {
            s,
            what: "property key",
        };
        // SAFETY: the value's string or bytes cover their length (this function's contract).
        let value = unsafe { ValueArg::new(&p.value) }.get()?;
        out.push((key.ident()?, value));
    }
    Ok(out)
}

/// A string argument, checked non-NULL; [`ident`](Self::ident) validates it.
#[derive(Clone, Copy)]
pub(crate) struct CStrArg<'a> {
    pub(crate) s: &'a CStr,
    /// The argument's name, for messages.
    pub(crate) what: &'static str,
}

impl<'a> CStrArg<'a> {
    /// The string as an identifier: UTF-8 (the engine checks empty and length).
    pub(crate) fn ident(self) -> Result<&'a str, Fail> {
        // Identifiers are mostly ASCII, which a plain byte test checks faster than UTF-8
        // validation does for strings this short.
        let b = self.s.to_bytes();
        if b.iter().all(u8::is_ascii) {
            // SAFETY: ASCII bytes are valid UTF-8.
            return Ok(unsafe { std::str::from_utf8_unchecked(b) });
        }
        self.s.to_str().map_err(|e| {
            invalid(format!(
                "{} is not valid UTF-8 (byte {})",
                self.what,
                e.valid_up_to()
            ))
        })
    }
}

/// A value argument, checked non-NULL; [`get`](Self::get) validates it.
#[derive(Clone, Copy)]
pub(crate) struct ValueArg<'a>(&'a qv_value);

impl<'a> ValueArg<'a> {
    /// # Safety
    /// If `v` is a string or bytes value, its pointer covers its length for `'a`.
    pub(crate) unsafe fn new(v: &'a qv_value) -> ValueArg<'a> {
        ValueArg(v)
    }

    /// The value in the engine's form, after checking its type, length, pointer and UTF-8.
    pub(crate) fn get(self) -> Result<ValueRef<'a>, Fail> {
        let v = self.0;
        // SAFETY: each arm reads the member its type names, which the caller wrote; an
        // i64 or f64 takes any bits, and the bool is read as its byte, so a C byte other
        // than 0 or 1 is no invalid Rust bool.
        let scalar = unsafe {
            match v.type_ {
                QV_TYPE_NULL => Some(ValueRef::Null),
                QV_TYPE_BOOL => Some(ValueRef::Bool(*(&raw const v.as_).cast::<u8>() != 0)),
                QV_TYPE_INT => Some(ValueRef::Int(v.as_.i)),
                QV_TYPE_FLOAT => Some(ValueRef::Float(v.as_.f)),
                _ => None,
            }
        };
        if let Some(scalar) = scalar {
            return Ok(scalar);
        }
        match v.type_ {
            QV_TYPE_STRING => std::str::from_utf8(self.bytes()?)
                .map(ValueRef::Str)
                .map_err(|e| {
                    invalid(format!(
                        "string value is not valid UTF-8 (byte {})",
                        e.valid_up_to()
                    ))
                }),
            QV_TYPE_BYTES => self.bytes().map(ValueRef::Bytes),
            other => Err(invalid(format!("unknown value type {other}"))),
        }
    }

    /// The bytes of a string or bytes value.
    fn bytes(self) -> Result<&'a [u8], Fail> {
        // SAFETY: only called for a string or bytes value, whose member is `bytes`.
        let b = unsafe { self.0.as_.bytes };
        if b.len > MAX_VALUE_LEN {
            return Err(invalid(format!(
                "value is {} bytes; the limit is {MAX_VALUE_LEN} (QV_MAX_VALUE_LEN)",
                b.len
            )));
        }
        if b.ptr.is_null() {
            return if b.len == 0 {
                Ok(&[])
            } else {
                Err(invalid("value ptr is NULL with len > 0".into()))
            };
        }
        // SAFETY: `ptr` covers `len` readable bytes for 'a (see `new`).
        Ok(unsafe { std::slice::from_raw_parts(b.ptr, b.len) })
    }
}

/// An engine value for C; strings and bytes are borrowed, not copied.
pub(crate) fn value_out(v: ValueRef<'_>) -> qv_value {
    let bytes = |b: &[u8]| qv_value_as {
        bytes: qv_bytes {
            ptr: b.as_ptr(),
            len: b.len(),
        },
    };
    let (type_, as_) = match v {
        ValueRef::Null => return qv_value::default(),
        ValueRef::Bool(b) => (QV_TYPE_BOOL, qv_value_as { b }),
        ValueRef::Int(i) => (QV_TYPE_INT, qv_value_as { i }),
        ValueRef::Float(f) => (QV_TYPE_FLOAT, qv_value_as { f }),
        ValueRef::Str(s) => (QV_TYPE_STRING, bytes(s.as_bytes())),
        ValueRef::Bytes(b) => (QV_TYPE_BYTES, bytes(b)),
    };
    qv_value { type_, as_ }
}

/// `p` as a pointer to elements not yet initialized.
pub(crate) fn uninit<T>(p: *mut T) -> *mut MaybeUninit<T> {
    p.cast()
}
