//! Options for opening a database, and their validation (one place for the Rust API and
//! the C ABI, which maps its zeros to the defaults first).

use crate::error::{Error, Result};
use std::time::Duration;

/// Smallest log segment size accepted.
pub const MIN_SEGMENT_BYTES: u64 = 4096;

/// The default [`Options::checkpoint_memory`].
pub const DEFAULT_CHECKPOINT_MEMORY: usize = 1 << 30;

/// When the log is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Every commit fsyncs the log before it returns: a returned commit survives power loss.
    #[default]
    Full,
    /// Commits do not wait for an fsync: the checkpoint thread fsyncs the log once a
    /// second while commits are unsynced (without it, a commit fsyncs when the last fsync
    /// is more than a second old); checkpoints and close fsync too. A power loss may lose
    /// the commits of about the last second, never corrupts.
    Normal,
    /// Never fsync the log; checkpoints still fsync the data files. A process crash loses
    /// nothing (the OS has the writes); a power loss may lose any commit since the last
    /// checkpoint.
    Off,
}

/// How to open a database.
#[derive(Debug, Clone)]
pub struct Options {
    /// Create the database if missing.
    pub create: bool,
    /// Open for reading only: no write transactions, no checkpoints, files not modified.
    pub read_only: bool,
    /// When commits are made durable.
    pub sync: SyncMode,
    /// How long a writer waits for the writer lock before `Busy`.
    pub busy_timeout: Duration,
    /// Checkpoint automatically once this much log has been written since the last one
    /// (with the checkpoint thread, also once commits have changed 2^18 records since).
    pub checkpoint_bytes: u64,
    /// With the checkpoint thread: checkpoint also once commits not yet checkpointed have
    /// waited this long since the last checkpoint, and at least twice as long as that
    /// checkpoint took, and when the writer goes idle while commits wait (None: only by
    /// `checkpoint_bytes`).
    pub checkpoint_interval: Option<Duration>,
    /// Run automatic checkpoints (and sync mode NORMAL's timed fsync) on a thread of the
    /// library, so that no commit and no close waits for one. Without it a commit that
    /// passes `checkpoint_bytes` runs the checkpoint itself (the tests that replay one
    /// exact sequence of fsyncs use this).
    pub checkpoint_thread: bool,
    /// A log segment is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// With the checkpoint thread: a commit that leaves the version map (the committed
    /// changes not yet checkpointed, held in memory) holding more than this many bytes
    /// (counted as allocated, within about 10%; [`Stats::version_bytes`](crate::Stats))
    /// waits, before it returns, until the thread has finished a checkpoint. This
    /// bounds the memory of a writer that commits faster than checkpoints keep up (a bulk
    /// load), as a write stall does in RocksDB. An open reader holds checkpoints back, and
    /// with them what this can free.
    pub checkpoint_memory: usize,
}

impl Options {
    /// Checks the options: `segment_bytes` at least [`MIN_SEGMENT_BYTES`] (smaller would
    /// roll a segment on nearly every append), `checkpoint_bytes` not 0.
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(Error::InvalidArgument(format!(
                "segment_bytes is {}; the minimum is {MIN_SEGMENT_BYTES}",
                self.segment_bytes
            )));
        }
        if self.checkpoint_interval.is_some_and(|d| d.is_zero()) {
            return Err(Error::InvalidArgument(
                "checkpoint_interval is 0; it must be positive".into(),
            ));
        }
        if self.checkpoint_bytes == 0 {
            return Err(Error::InvalidArgument(
                "checkpoint_bytes is 0; it must be positive".into(),
            ));
        }
        Ok(())
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            create: true,
            read_only: false,
            sync: SyncMode::Full,
            busy_timeout: Duration::from_millis(5000),
            checkpoint_bytes: 64 << 20,
            checkpoint_interval: Some(Duration::from_millis(100)),
            checkpoint_thread: true,
            segment_bytes: 64 << 20,
            checkpoint_memory: DEFAULT_CHECKPOINT_MEMORY,
        }
    }
}
