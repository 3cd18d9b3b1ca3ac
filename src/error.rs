//! The engine's one error type. The C layer maps it to `qv_status` in one place
//! (`impl From<Error> for Fail` in `ffi`).

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A node or edge (or savepoint) named by the call does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An argument is malformed: empty or invalid identifier, a limit exceeded.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call is not allowed in this state (for example a cursor after its transaction).
    #[error("misuse: {0}")]
    Misuse(String),
    /// The writer lock was not obtained within the busy timeout.
    #[error("busy: {0}")]
    Busy(String),
    /// The database is open elsewhere (this process or another).
    #[error("locked: {0}")]
    Locked(String),
    /// A write was attempted in a read-only transaction or database.
    #[error("read-only: {0}")]
    ReadOnly(String),
    /// A constraint would be violated (deleting a node that still has edges).
    #[error("constraint: {0}")]
    Constraint(String),
    /// An operating-system I/O error.
    #[error("I/O error: {op} {path}: {source}")]
    Io {
        /// What was being done ("write", "fsync", ...).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The disk is full (ENOSPC, EDQUOT).
    #[error("disk full: {op} {path}: {source}")]
    Full {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// On-disk bytes fail a check.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The files are of an unknown format version.
    #[error("unsupported format: {0}")]
    Format(String),
    /// An earlier write or fsync failed (or a panic happened); reopen the database.
    #[error("poisoned: {0}")]
    Poisoned(String),
    /// A bug in Quiver.
    #[error("internal error: {0}")]
    Internal(String),
    /// A progress callback asked to stop (a backup was cancelled).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Error {
    /// Wraps an OS error, classifying ENOSPC/EDQUOT as [`Error::Full`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        let path = path.into();
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => Error::Full { op, path, source },
            _ => Error::Io { op, path, source },
        }
    }

    /// True for the errors after which the database must be poisoned.
    pub(crate) fn is_io(&self) -> bool {
        matches!(self, Error::Io { .. } | Error::Full { .. })
    }
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
