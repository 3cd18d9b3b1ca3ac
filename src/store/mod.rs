//! Layer 2: the data files. `nodes` and `edges` hold fixed records at id-computed offsets,
//! `props` is a heap of property blobs with a free list, `strings` the interned identifiers,
//! and `meta` the two checksummed checkpoint slots. Data files are read through memory
//! maps and written only by the checkpoint (with pwrite).

mod adjacency;
pub mod apply;
mod datafile;
mod free;
mod idmap;
mod labels;
mod pages;
mod read;
mod records;
mod strings;

pub use adjacency::Adjacency;
pub use apply::{RecordStore, apply_frame};
pub use datafile::DataFile;
#[cfg(feature = "testing")]
pub use free::minus;
pub use free::{BlobRef, Delta, Extents, FreeSpace};
pub use idmap::{IdMap, NameMap};
pub use labels::{LabelIndex, read_chunk};
pub use pages::PageReads;
pub use read::Maps;
pub use records::{Adj, Edge, Node, Props};
pub use strings::StringTable;

use crate::error::{Error, Result};
use crate::format::Meta;
use crate::format::meta::{META_LEN, META_SLOT_OFFSETS, MetaError};
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::io::{Mapping, Storage, StorageFile, read_exact_at};
use std::sync::Arc;

/// Bytes at the start of the heap file; offset 0 therefore never names a blob.
pub const HEAP_HEADER: &[u8; 16] = b"QVHEAP01\0\0\0\0\0\0\0\0";

/// File names inside the database directory.
pub mod names {
    /// The two checkpoint slots.
    pub const META: &str = "meta";
    /// Node records.
    pub const NODES: &str = "nodes";
    /// Edge records.
    pub const EDGES: &str = "edges";
    /// Property blobs.
    pub const PROPS: &str = "props";
    /// Interned strings.
    pub const STRINGS: &str = "strings";
    /// The label index.
    pub const LABELS: &str = "labels";
}

/// The open data files.
pub struct Store {
    meta_file: Arc<dyn StorageFile>,
    /// Node records.
    pub nodes: DataFile,
    /// Edge records.
    pub edges: DataFile,
    /// Property blobs.
    pub heap: DataFile,
    /// Label index chunks.
    pub labels: DataFile,
    strings_file: Arc<dyn StorageFile>,
}

/// What [`Store::open`] found.
pub enum Opened {
    /// An existing database and its newest valid checkpoint.
    Existing(Box<Store>, Meta, StringTable),
    /// The meta file is empty: the database was never completely created.
    Uncreated(Arc<dyn StorageFile>),
}

impl Store {
    /// Takes the lock on `meta` and opens the files of the database in `fs`.
    ///
    /// A database may be (re)created only when nothing was ever committed in it: `meta`
    /// missing, empty or without a valid slot over data files and log segments that are
    /// all still empty ([`never_written`]). Any other missing or unreadable `meta`, and any
    /// missing data file, is damage: `Corrupt` naming the file, and nothing is written.
    pub fn open(fs: &dyn Storage, create: bool) -> Result<Opened> {
        let meta_file = match fs.open_file(names::META, false) {
            Ok(f) => f,
            Err(Error::NotFound(_)) => {
                if !never_written(fs)? {
                    return Err(Error::Corrupt(format!(
                        "{}: missing, but the database holds data (log frames or data-file \
                         contents); it was not recreated",
                        fs.root().join(names::META).display()
                    )));
                }
                if !create {
                    return Err(Error::NotFound(format!(
                        "{}: not a Quiver database (no meta file)",
                        fs.root().display()
                    )));
                }
                fs.open_file(names::META, true)?
            }
            Err(e) => return Err(e),
        };
        if !meta_file.try_lock()? {
            return Err(Error::Locked(format!(
                "{}: the database is open elsewhere (in this process or another); close it first",
                fs.root().display()
            )));
        }
        let meta = if meta_file.len()? == 0 {
            Err(Error::Corrupt(format!(
                "{}: empty",
                meta_file.path().display()
            )))
        } else {
            read_meta(&*meta_file)
        };
        let meta = match meta {
            Ok(m) => m,
            // Checked again under the lock: another process may have been creating it.
            Err(Error::Corrupt(why)) => {
                if !never_written(fs)? {
                    return Err(Error::Corrupt(format!(
                        "{why}, but the database holds data (log frames or data-file contents); \
                         it was not recreated"
                    )));
                }
                if !create {
                    return Err(Error::Corrupt(format!(
                        "{}: no valid meta slot and no data (creation never finished); \
                         open with QV_OPEN_CREATE to recreate",
                        meta_file.path().display()
                    )));
                }
                return Ok(Opened::Uncreated(meta_file));
            }
            Err(e) => return Err(e),
        };
        let open = |name: &str| -> Result<Arc<dyn StorageFile>> {
            match fs.open_file(name, false) {
                Err(Error::NotFound(_)) => Err(Error::Corrupt(format!(
                    "{}: missing (the meta file names a checkpoint that needs it)",
                    fs.root().join(name).display()
                ))),
                r => r,
            }
        };
        let strings_file = open(names::STRINGS)?;
        let strings = StringTable::load(&*strings_file, meta.string_count, meta.strings_len)?;
        let heap = open(names::PROPS)?;
        if read_vec(&*heap, 0, HEAP_HEADER.len())? != HEAP_HEADER {
            return Err(Error::Corrupt(format!(
                "{} offset 0: not a Quiver property heap (bad header)",
                heap.path().display()
            )));
        }
        let nodes = open(names::NODES)?;
        let edges = open(names::EDGES)?;
        let labels = open(names::LABELS)?;
        // Every record and blob the checkpoint covers was written (and fsynced) before the
        // meta slot naming it, so a shorter file lost checkpointed data.
        let checked = |f: Arc<dyn StorageFile>, need: u64, what: &str| -> Result<DataFile> {
            let len = f.len()?;
            if len < need {
                return Err(Error::Corrupt(format!(
                    "{}: {len} bytes long, but the checkpoint covers {need} bytes of {what}",
                    f.path().display()
                )));
            }
            DataFile::open_len(f, len)
        };
        let store = Store {
            nodes: checked(
                nodes,
                record_bytes(meta.next_node, NODE_SIZE),
                "node records",
            )?,
            edges: checked(
                edges,
                record_bytes(meta.next_edge, EDGE_SIZE),
                "edge records",
            )?,
            heap: checked(heap, meta.heap_len, "property heap bytes")?,
            labels: checked(labels, meta.labels_len, "label index bytes")?,
            meta_file,
            strings_file,
        };
        Ok(Opened::Existing(Box::new(store), meta, strings))
    }

    /// Creates the (empty) data files of a new database, each made durable. The caller
    /// then fsyncs the directory and only then writes the first meta slot, which is what
    /// makes the database exist.
    pub fn create(
        fs: &dyn Storage,
        meta_file: Arc<dyn StorageFile>,
    ) -> Result<(Store, StringTable)> {
        let mk = |name: &str| -> Result<Arc<dyn StorageFile>> {
            let f = fs.open_file(name, true)?;
            f.set_len(0)?;
            Ok(f)
        };
        let heap = mk(names::PROPS)?;
        heap.write_at(HEAP_HEADER, 0)?;
        let files = [
            mk(names::NODES)?,
            mk(names::EDGES)?,
            heap,
            mk(names::STRINGS)?,
            mk(names::LABELS)?,
        ];
        for f in &files {
            f.sync()?;
        }
        let [nodes, edges, heap, strings_file, labels] = files;
        let store = Store {
            meta_file,
            nodes: DataFile::open(nodes)?,
            edges: DataFile::open(edges)?,
            heap: DataFile::open(heap)?,
            labels: DataFile::open(labels)?,
            strings_file,
        };
        Ok((store, StringTable::new()))
    }

    /// Whether both meta slots hold `meta` (generations aside): the state a clean close
    /// leaves, which a close that finds nothing new need not write again.
    pub(crate) fn meta_slots_hold(&self, meta: &Meta) -> bool {
        let same = |m: Meta| {
            Meta { generation: 0, ..m }
                == Meta {
                    generation: 0,
                    ..*meta
                }
        };
        META_SLOT_OFFSETS.iter().all(|&off| {
            let mut b = [0u8; META_LEN];
            self.meta_file
                .read_at(&mut b, off)
                .is_ok_and(|n| Meta::decode(&b[..n]).is_ok_and(same))
        })
    }

    /// Writes `meta` into slot `generation % 2` and fsyncs the meta file.
    pub fn write_meta(&self, meta: &Meta) -> Result<()> {
        let off = META_SLOT_OFFSETS[(meta.generation % 2) as usize];
        self.meta_file.write_at(&meta.encode(), off)?;
        self.meta_file.sync()
    }

    /// Appends `strings[from..]` to the strings file at `at`; returns the new length.
    pub fn append_strings(&self, table: &StringTable, from: u64, at: u64) -> Result<u64> {
        let bytes = table.encode_from(from);
        self.strings_file.write_at(&bytes, at)?;
        Ok(at + bytes.len() as u64)
    }

    /// Appends the label index chunks of `by_label` (label -> increasing node ids) to the
    /// `labels` file at `at`; returns each chunk's (label, offset, length) and the new
    /// length. Not synced.
    pub fn append_labels(
        &self,
        by_label: &std::collections::BTreeMap<u32, Vec<u64>>,
        at: u64,
    ) -> Result<(Vec<labels::Added>, u64)> {
        let mut bytes = Vec::new();
        let mut added = Vec::with_capacity(by_label.len());
        for (label, ids) in by_label {
            let chunk = crate::format::labels::encode_chunk(*label, ids);
            added.push((*label, at + bytes.len() as u64, chunk.len()));
            bytes.extend_from_slice(&chunk);
        }
        let end = at + bytes.len() as u64;
        if !bytes.is_empty() {
            self.labels.grow_to(end)?;
            self.labels.write_at(&bytes, at)?;
        }
        Ok((added, end))
    }

    /// fsyncs the strings file.
    pub fn sync_strings(&self) -> Result<()> {
        self.strings_file.sync()
    }

    /// The newest valid meta slot on disk now.
    pub fn current_meta(&self) -> Result<Meta> {
        read_meta(&*self.meta_file)
    }

    /// The free list `meta` names, read and verified (see [`Store::free_list_base`]).
    pub fn free_list(&self, meta: &Meta) -> std::result::Result<FreeSpace, String> {
        Ok(self
            .free_list_base(meta)?
            .map(|(f, _)| f)
            .unwrap_or_default())
    }

    /// The free list `meta` names and the full list it is or is a delta from (None when
    /// the slot names no list). Each blob must be where it is named, with the CRC it is
    /// named with, the slot's a full list or a delta from a full list, and every extent
    /// inside the heap past its header.
    pub fn free_list_base(
        &self,
        meta: &Meta,
    ) -> std::result::Result<Option<(FreeSpace, FreeBase)>, String> {
        if meta.free_off == 0 {
            return Ok(None);
        }
        let map = self.heap.current();
        let (lo, hi) = (HEAP_HEADER.len() as u64, meta.heap_len);
        let top = BlobRef {
            off: meta.free_off,
            len: meta.free_len,
            crc: meta.free_crc,
        };
        let body = self.free_blob(&map, top, "the meta slot")?;
        let at = top.off;
        if !Delta::is_delta(body) {
            let extents = FreeSpace::decode_extents(body, lo, hi)
                .map_err(|e| format!("free list at {at}: {e}"))?;
            let base = FreeBase {
                blob: top,
                extents,
                delta: None,
                diff: Some(Default::default()),
            };
            return Ok(Some((FreeSpace::from_extents(&base.extents), base)));
        }
        let d = Delta::decode_body(body, lo, hi).map_err(|e| format!("free list at {at}: {e}"))?;
        let base_at = d.base.off;
        let base_body = self.free_blob(&map, d.base, "the delta list")?;
        let extents = FreeSpace::decode_extents(base_body, lo, hi)
            .map_err(|e| format!("free list at {base_at} (the base of the delta at {at}): {e}"))?;
        let list = d
            .apply(&extents)
            .map_err(|e| format!("free list at {at}: {e} (at {base_at})"))?;
        let base = FreeBase {
            blob: d.base,
            extents,
            delta: Some((top.off, top.len, d.extent_count())),
            diff: Some((d.added, d.removed)),
        };
        Ok(Some((list, base)))
    }

    /// The body of the free-list blob `blob` names, verified against it.
    fn free_blob<'m>(
        &self,
        map: &'m Mapping,
        blob: BlobRef,
        named_by: &str,
    ) -> std::result::Result<&'m [u8], String> {
        let at = blob.off;
        let n = usize::try_from(blob.len).map_err(|_| "free list length out of range")?;
        let bytes = self.heap.read(map, at, n).ok_or_else(|| {
            format!("free list at {at} ({n} bytes) runs past the end of the heap")
        })?;
        let (body, crc, total) =
            crate::format::props::unseal(bytes).map_err(|e| format!("free list at {at}: {e}"))?;
        if crc != blob.crc || total != n {
            return Err(format!(
                "free list at {at}: the blob there ({total} bytes, CRC {crc:#x}) is not the \
                 one {named_by} names ({n} bytes, CRC {:#x})",
                blob.crc
            ));
        }
        Ok(body)
    }
}

/// The full free list a checkpoint writes deltas from.
#[derive(Debug, Clone)]
pub struct FreeBase {
    /// Its blob.
    pub blob: BlobRef,
    /// Its extents, sorted.
    pub extents: Vec<(u64, u64)>,
    /// The delta on top of it that the meta slot names, if any: (offset, length, extents
    /// it records).
    pub delta: Option<(u64, u64, usize)>,
    /// The list the next checkpoint starts from, as (added, removed) against `extents`,
    /// when known (not after open took claims out of it): the next delta is then worked
    /// out from it and what that checkpoint changes ([`Delta::advance`]).
    pub diff: Option<(Extents, Extents)>,
}

/// Whether the database in `fs` holds nothing but what creation writes before its first
/// meta slot: empty data files and log segments with no frame. A meta file without a valid
/// slot is then a creation cut short (a torn first meta write), not a damaged database.
fn never_written(fs: &dyn Storage) -> Result<bool> {
    let len = |name: &str| -> Result<u64> {
        match fs.open_file(name, false) {
            Ok(f) => f.len(),
            Err(Error::NotFound(_)) => Ok(0),
            Err(e) => Err(e),
        }
    };
    for name in [names::NODES, names::EDGES, names::STRINGS, names::LABELS] {
        if len(name)? != 0 {
            return Ok(false);
        }
    }
    if len(names::PROPS)? > HEAP_HEADER.len() as u64 {
        return Ok(false);
    }
    for name in fs.list()? {
        if crate::format::frame::parse_segment_name(&name).is_some()
            && len(&name)? > crate::format::frame::SEGMENT_HEADER as u64
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn read_meta(f: &dyn StorageFile) -> Result<Meta> {
    let mut best: Option<Meta> = None;
    let mut problems = Vec::new();
    for off in META_SLOT_OFFSETS {
        let mut b = [0u8; META_LEN];
        let n = f.read_at(&mut b, off)?;
        match Meta::decode(&b[..n]) {
            Ok(m) => {
                if best.is_none_or(|x| m.generation > x.generation) {
                    best = Some(m);
                }
            }
            Err(MetaError::Version(v)) => {
                return Err(Error::Format(format!(
                    "{}: format version {v}; this library reads version {}",
                    f.path().display(),
                    crate::format::meta::FORMAT_VERSION
                )));
            }
            Err(MetaError::Bad(e)) => problems.push(format!("slot at offset {off}: {e}")),
        }
    }
    best.ok_or_else(|| {
        Error::Corrupt(format!(
            "{}: no valid meta slot ({})",
            f.path().display(),
            problems.join("; ")
        ))
    })
}

/// Bytes a records file must hold when ids below `next_id` were committed (id 0 unused).
fn record_bytes(next_id: u64, size: usize) -> u64 {
    if next_id <= 1 {
        0
    } else {
        next_id.saturating_mul(size as u64)
    }
}

/// Reads `n` bytes at `off` of a file that must hold them.
pub fn read_vec(f: &dyn StorageFile, off: u64, n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    read_exact_at(f, &mut v, off)?;
    Ok(v)
}
