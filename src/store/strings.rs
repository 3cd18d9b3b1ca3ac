//! The string table: labels, edge types and property keys, interned as u32 ids starting
//! at 1. The `strings` file holds entries `u32 len | u32 CRC32 | bytes`, in id order; the
//! CRC covers the length field and the bytes, so a zeroed entry never verifies.

use crate::error::{Error, Result};
use crate::format::Reader;
use crate::io::StorageFile;
use std::ffi::{CStr, CString};
use std::sync::Arc;

/// Interned identifiers. Each name is a NUL-terminated string on the heap, so the pointer
/// handed to C stays put for the life of the table.
#[derive(Default)]
pub struct StringTable {
    names: Vec<Arc<CStr>>,
    index: super::NameMap<u32>,
}

impl StringTable {
    /// An empty table.
    pub fn new() -> StringTable {
        StringTable::default()
    }

    /// Loads `count` strings from the first `len` bytes of `file`. The entries must verify
    /// and end exactly at `len`; an empty identifier (which no write creates) is damage.
    pub fn load(file: &dyn StorageFile, count: u64, len: u64) -> Result<StringTable> {
        let bytes = super::read_vec(
            file,
            0,
            usize::try_from(len).map_err(|_| Error::Corrupt("strings file too large".into()))?,
        )?;
        let mut t = StringTable::new();
        let mut r = Reader::new(&bytes);
        let bad = |what: String| Error::Corrupt(format!("{}: {what}", file.path().display()));
        for i in 0..count {
            let at = r.pos();
            let entry = (|| {
                let n = r.u32()?;
                let crc = r.u32()?;
                let b = r.take(n as usize)?;
                Ok::<_, crate::format::DecodeError>((n, crc, b))
            })();
            let (n, crc, b) =
                entry.map_err(|e| bad(format!("string {} at offset {at}: {e}", i + 1)))?;
            if entry_crc(n, b) != crc {
                return Err(bad(format!(
                    "string {} at offset {at}: checksum mismatch",
                    i + 1
                )));
            }
            let s = std::str::from_utf8(b)
                .map_err(|_| bad(format!("string {} at offset {at}: not UTF-8", i + 1)))?;
            if s.is_empty() {
                return Err(bad(format!(
                    "string {} at offset {at}: invalid identifier",
                    i + 1
                )));
            }
            t.push(s).map_err(|_| {
                bad(format!(
                    "string {} at offset {at}: invalid identifier",
                    i + 1
                ))
            })?;
        }
        if r.pos() as u64 != len {
            return Err(bad(format!(
                "{count} strings end at offset {}, but the checkpoint records {len} bytes",
                r.pos()
            )));
        }
        Ok(t)
    }

    /// Number of strings.
    pub fn len(&self) -> u64 {
        self.names.len() as u64
    }

    /// The id of `name`.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> Option<&Arc<CStr>> {
        self.names.get((id as usize).checked_sub(1)?)
    }

    /// Adds `name` as id `len() + 1`.
    pub fn push(&mut self, name: &str) -> Result<u32> {
        let c = CString::new(name)
            .map_err(|_| Error::InvalidArgument("identifier contains NUL".into()))?;
        self.push_arc(name, Arc::from(c))
    }

    /// Adds an already allocated name as id `len() + 1`.
    pub fn push_arc(&mut self, name: &str, c: Arc<CStr>) -> Result<u32> {
        let id = u32::try_from(self.names.len() + 1)
            .map_err(|_| Error::InvalidArgument("too many distinct identifiers".into()))?;
        self.names.push(c);
        self.index.insert(name.into(), id);
        Ok(id)
    }

    /// Sets id `id` to `name` (recovery replay); ids must arrive in order or repeat.
    pub fn assign(&mut self, id: u32, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(Error::Corrupt(format!("string {id} logged empty")));
        }
        match self.name(id) {
            Some(existing) if existing.to_bytes() == name.as_bytes() => Ok(()),
            Some(_) => Err(Error::Corrupt(format!(
                "string {id} logged twice with different names"
            ))),
            None if id as u64 == self.len() + 1 => self.push(name).map(|_| ()),
            None => Err(Error::Corrupt(format!(
                "string {id} logged before string {}",
                self.len() + 1
            ))),
        }
    }

    /// Encodes entries with ids above `from` (a count) for the strings file.
    pub fn encode_from(&self, from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for c in self.names.iter().skip(from as usize) {
            let b = c.to_bytes();
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(&entry_crc(b.len() as u32, b).to_le_bytes());
            out.extend_from_slice(b);
        }
        out
    }
}

/// CRC32 of an entry's length field followed by its bytes.
fn entry_crc(len: u32, bytes: &[u8]) -> u32 {
    let mut h = crate::format::crc::Crc::new();
    h.update(&len.to_le_bytes());
    h.update(bytes);
    h.finalize()
}
