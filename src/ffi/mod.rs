//! Layer 6: the C ABI. No storage logic lives here: each export checks its arguments,
//! calls the Rust API and converts the result. Every export is a plain
//! `pub unsafe extern "C" fn` whose body is wrapped by `ffi_guard!`.

pub mod db;
pub mod graph;
pub(crate) mod guard;
pub mod handle;
pub mod txn;
pub mod types;

pub use handle::{qv_cursor, qv_db, qv_txn};
pub use types::*;
