//! Quiver: an embedded, crash-safe property-graph storage engine.
//!
//! Layers (each uses only those below it; ARCHITECTURE.md explains them):
//! `io` (OS access) → `format` (bytes) → `wal`, `store` (log and data files) → `recovery`
//! → `txn` (snapshots, writer, commit, checkpoint) → `graph` (nodes, edges, properties)
//! → `db` (the Rust API) → `ffi` (the C ABI).

pub mod db;
pub mod error;
pub mod format;
pub mod graph;
pub mod io;
pub mod options;
pub mod recovery;
pub mod store;
pub mod txn;
pub mod wal;

pub use db::{Database, Stats};
pub use error::{Error, Result};
pub use format::{Value, ValueRef};
pub use graph::{CheckReport, Dir, EdgeCursor, EdgeInfo, NodeCursor, PropCursor};
pub use options::{Options, SyncMode};
pub use txn::{RecoveryStats, Txn};
pub mod ffi;
