//! Layer 0: the only code that talks to the operating system.
//!
//! [`Storage`] is a directory of files; [`StorageFile`] is one file. The engine reaches the
//! disk only through these traits, so crash tests are just another backend:
//! [`RealStorage`] is the real one, [`FaultStorage`] wraps it to keep a "durable image"
//! (what a power loss would leave) and to fail the Nth write or sync.

#[cfg(any(test, feature = "testing"))]
mod fault;
mod map;
mod real;
#[cfg(any(test, feature = "testing"))]
mod splitmix;

#[cfg(any(test, feature = "testing"))]
pub use fault::{FaultKind, FaultStorage};
pub use map::Mapping;
pub use real::RealStorage;
#[cfg(any(test, feature = "testing"))]
pub use splitmix::SplitMix64;

use crate::error::Result;
use std::path::Path;
use std::sync::Arc;

/// A directory holding one database's files.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The directory's path (for messages).
    fn root(&self) -> &Path;
    /// Opens `name` in the directory, creating it (empty) when `create` is set and it is
    /// missing. A created file is durable only after [`Storage::sync_dir`].
    fn open_file(&self, name: &str, create: bool) -> Result<Arc<dyn StorageFile>>;
    /// Whether `name` exists.
    fn exists(&self, name: &str) -> bool;
    /// Removes `name`. Durable only after [`Storage::sync_dir`].
    fn remove(&self, name: &str) -> Result<()>;
    /// The names of the files in the directory.
    fn list(&self) -> Result<Vec<String>>;
    /// Makes creations and removals in the directory durable (fsync of the directory).
    fn sync_dir(&self) -> Result<()>;
}

/// One open file.
pub trait StorageFile: Send + Sync {
    /// The file's path (for messages).
    fn path(&self) -> &Path;
    /// Reads up to `buf.len()` bytes at `off`; returns how many were read (short at EOF).
    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize>;
    /// Writes all of `buf` at `off`, growing the file when needed.
    fn write_at(&self, buf: &[u8], off: u64) -> Result<()>;
    /// The current length.
    fn len(&self) -> Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends the file to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;
    /// Makes the contents and length durable (fdatasync).
    fn sync(&self) -> Result<()>;
    /// Maps `len` bytes read-only; `len` may exceed the file's length, but only bytes
    /// within the length may be read.
    fn map(&self, len: usize) -> Result<Mapping>;
    /// Takes an exclusive advisory lock (flock) without waiting; false if held elsewhere.
    fn try_lock(&self) -> Result<bool>;
}

/// Reads exactly `buf.len()` bytes at `off`, or fails with `Corrupt` naming the file.
pub fn read_exact_at(file: &dyn StorageFile, buf: &mut [u8], off: u64) -> Result<()> {
    let n = file.read_at(buf, off)?;
    if n < buf.len() {
        return Err(crate::Error::Corrupt(format!(
            "{}: expected {} bytes at offset {}, file ends after {}",
            file.path().display(),
            buf.len(),
            off,
            n
        )));
    }
    Ok(())
}
