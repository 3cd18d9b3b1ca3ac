//! The one place where memory maps are made and read.
//!
//! SAFETY (the argument for every `unsafe` block in this file):
//! A [`Mapping`] is a read-only `MAP_SHARED` map of a Quiver data file. The engine reads
//! through it only bytes below the file's durable length, and only bytes that no one writes
//! while a reader may look at them: the checkpoint writes a record (with `pwrite`, never
//! through the map) only when every live reader finds that record in the in-memory version
//! map instead (ARCHITECTURE.md, "Checkpoint"), and property blobs are written once, into
//! space no record points to yet, and never rewritten. Quiver holds an exclusive `flock`
//! on the database, so no cooperating process truncates or writes the files behind the
//! map. A process that ignores the lock and truncates a file can still make reads fault
//! (SIGBUS), as with LMDB and SQLite's mmap mode; the README says so.

use crate::error::{Error, Result};
use std::fs::File;

/// A read-only map of (a prefix of the address space of) a data file.
pub struct Mapping {
    map: Option<memmap2::Mmap>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `file` (which may be longer than the file).
    pub(crate) fn new(file: &File, len: usize, path: &std::path::Path) -> Result<Mapping> {
        if len == 0 {
            return Ok(Mapping { map: None, len: 0 });
        }
        // SAFETY: see the module comment: nothing writes the bytes we read through this map
        // while they may be read, and reads stay below the file's length.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }
            .map_err(|e| Error::io("mmap", path, e))?;
        Ok(Mapping {
            map: Some(map),
            len,
        })
    }

    /// How many bytes are mapped (not all of them need be inside the file).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes `off..off + n`. The caller guarantees they lie inside the file.
    pub fn bytes(&self, off: u64, n: usize) -> Option<&[u8]> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(n)?;
        self.map.as_ref().and_then(|m| m.get(start..end))
    }
}
