//! Argument validation and limits: what every front end (the Rust API, the graph layer,
//! the write path, the C ABI) checks before anything is logged. Low in the layers (it
//! needs only `error` and the value type of `format`), so no layer reaches up for it.

use crate::error::{Error, Result};
use crate::format::ValueRef;

include!("limits.rs");

/// Checks an identifier: non-empty, at most [`MAX_IDENT_LEN`] bytes, no NUL.
pub fn check_ident(s: &str, what: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidArgument(format!("{what} is empty")));
    }
    if s.len() > MAX_IDENT_LEN {
        return Err(Error::InvalidArgument(format!(
            "{what} is {} bytes; the limit is {MAX_IDENT_LEN}",
            s.len()
        )));
    }
    if s.as_bytes().contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "{what} contains a NUL byte"
        )));
    }
    Ok(())
}

/// Checks a value: a string or bytes value at most [`MAX_VALUE_LEN`] bytes.
pub fn check_value(v: &ValueRef<'_>) -> Result<()> {
    let n = match v {
        ValueRef::Str(s) => s.len(),
        ValueRef::Bytes(b) => b.len(),
        _ => 0,
    };
    if n > MAX_VALUE_LEN {
        return Err(Error::InvalidArgument(format!(
            "value is {n} bytes; the limit is {MAX_VALUE_LEN}"
        )));
    }
    Ok(())
}
