//! Quiver: an embedded, crash-safe property-graph storage engine.
//!
//! Layers (each uses only those below it; ARCHITECTURE.md explains them):
//! `io` (OS access) → `format` (bytes) → `wal`, `store` (log and data files) → `recovery`
//! → `txn` (snapshots, writer, commit) → `graph` (nodes, edges, properties) → `db` (the
//! Rust API) → `ffi` (the C ABI).

pub mod error;
pub mod format;
pub mod io;

pub use error::{Error, Result};
