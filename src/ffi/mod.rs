//! Layer 6: the C ABI. No storage logic lives here: each export checks its arguments,
//! calls the Rust API and converts the result. Every export is a plain
//! `pub unsafe extern "C" fn` whose body is wrapped by `ffi_guard!`.
//!
//! `codes` holds every number of the ABI, `types` the C structs, `handle` the opaque
//! handles (the only raw handle casts), `boundary` the guard and the error mapping, and
//! `args` the argument checks in the order every export follows; `db`, `txn` and `graph`
//! are the exports.

// Every export has the same safety contract, stated once at the top of the header for C
// readers: handles are NULL or live and not used by two threads at once, strings are
// NUL-terminated, value pointers cover their lengths, out-pointers are NULL or writable.
#![expect(
    clippy::missing_safety_doc,
    reason = "the contract of every export is the header's conventions, stated once for C readers"
)]

pub(crate) mod args;
pub(crate) mod boundary;
/// The numbers of the C ABI (statuses, flags, directions, value types, sync modes) and
/// their names and meanings, written once; build.rs writes the header's enums from them.
pub mod codes;
pub mod db;
pub mod graph;
pub mod handle;
pub mod txn;
pub mod types;

pub use codes::*;
pub use handle::{qv_cursor, qv_db, qv_txn};
pub use types::*;
