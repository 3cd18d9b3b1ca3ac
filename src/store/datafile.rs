//! One memory-mapped data file.

use crate::error::Result;
use crate::io::{Mapping, StorageFile};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Smallest mapping made (address space only; nothing is read until touched).
const MIN_MAP: u64 = 64 << 20;

/// A data file with its mappings. A mapping covers more than the file, so growth rarely
/// needs a new one; old mappings are kept until the file is closed, because readers may
/// hold slices into them.
pub struct DataFile {
    file: Arc<dyn StorageFile>,
    maps: RwLock<Vec<Arc<Mapping>>>,
    /// The file's length: bytes below it may be read through a mapping.
    len: AtomicU64,
}

fn map_len_for(len: u64) -> Result<usize> {
    let want = len.saturating_mul(2).max(MIN_MAP).next_power_of_two();
    usize::try_from(want)
        .map_err(|_| crate::Error::InvalidArgument("data file too large for this platform".into()))
}

impl DataFile {
    /// Maps `file`.
    pub fn open(file: Arc<dyn StorageFile>) -> Result<DataFile> {
        let len = file.len()?;
        DataFile::open_len(file, len)
    }

    /// Maps `file`, whose length the caller just read as `len`.
    pub fn open_len(file: Arc<dyn StorageFile>, len: u64) -> Result<DataFile> {
        let map = file.map(map_len_for(len)?)?;
        Ok(DataFile {
            file,
            maps: RwLock::new(vec![Arc::new(map)]),
            len: AtomicU64::new(len),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The newest mapping.
    pub fn current(&self) -> Arc<Mapping> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            maps.last()
                .unwrap_or_else(|| unreachable!("a DataFile always has a mapping")),
        )
    }

    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// `n` bytes at `off` through `map`, or None when they are not inside both the file and
    /// the mapping (the caller then tries [`DataFile::current`]).
    pub fn read<'m>(&self, map: &'m Mapping, off: u64, n: usize) -> Option<&'m [u8]> {
        if off.checked_add(n as u64)? > self.len() {
            return None;
        }
        map.bytes(off, n)
    }

    /// Reads up to `buf.len()` bytes at `off` from the file itself (`pread`), not through a
    /// mapping; returns how many were read.
    pub fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize> {
        self.file.read_at(buf, off)
    }

    /// Grows the file to at least `len` bytes, mapping more when needed.
    pub fn grow_to(&self, len: u64) -> Result<()> {
        if len <= self.len() {
            return Ok(());
        }
        self.file.set_len(len)?;
        if len > self.current().len() as u64 {
            let map = self.file.map(map_len_for(len)?)?;
            self.maps
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .push(Arc::new(map));
        }
        self.len.store(len, Ordering::Release);
        Ok(())
    }

    /// Writes `bytes` at `off` (inside the grown length).
    pub fn write_at(&self, bytes: &[u8], off: u64) -> Result<()> {
        self.file.write_at(bytes, off)
    }

    /// The length of the file on disk right now (may exceed [`DataFile::len`] after a
    /// checkpoint that crashed before its meta update).
    pub fn physical_len(&self) -> Result<u64> {
        self.file.len()
    }

    /// fdatasync.
    pub fn sync(&self) -> Result<()> {
        self.file.sync()
    }
}
