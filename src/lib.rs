//! Quiver: an embedded, crash-safe property-graph storage engine.
//!
//! Layers (each uses only those below it; ARCHITECTURE.md explains them):
//! `io` (OS access) → `format` (bytes) → `wal`, `store` (log and data files) → `recovery`
//! → `txn` (snapshots, writer, commit, checkpoint) → `graph` (nodes, edges, properties)
//! → `db` (the Rust API) → `ffi` (the C ABI).

mod db;
mod error;
mod format;
mod graph;
mod io;
mod options;
mod recovery;
mod store;
mod txn;
mod validate;
mod wal;

pub mod ffi;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;

pub use db::{BackupOptions, BackupReport, Database, Stats};
pub use error::{Error, Result};
pub use format::{Value, ValueRef};
pub use graph::{CheckReport, Dir, EdgeCursor, EdgeInfo, NodeCursor, PropCursor};
pub use options::{DEFAULT_CHECKPOINT_MEMORY, MIN_SEGMENT_BYTES, Options, SyncMode};
pub use recovery::RecoveryStats;
pub use txn::Txn;
