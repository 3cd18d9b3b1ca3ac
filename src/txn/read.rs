//! The read side of every transaction: a snapshot and how it finds a record (the version
//! map, then the data file through the mappings taken when the transaction began), and the
//! borrowed bytes it hands out.
//!
//! Returned strings and bytes borrow from allocations this reader keeps alive ("pins"):
//! a property blob in memory, a newer mapping of the heap, an interned name. The four
//! `unsafe` blocks below extend a borrow from a pinned `Arc` to the reader's own borrow.
//! That is sound because an `Arc`'s contents never move, and the pins are only emptied by
//! `clear_pins` (which takes `&mut self`, so no borrow of the reader is alive then) or when
//! the reader is dropped; names are never removed before the drop.

use super::Snapshot;
use super::shared::{Shared, read};
use crate::error::{Error, Result};
use crate::format::ValueRef;
use crate::format::adj::AdjList;
use crate::format::props::PropBlob;
use crate::io::Mapping;
use crate::store::{Adj, Adjacency, Edge, Maps, Node, Props};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Arc;

/// A pinned allocation whose bytes a transaction has handed out.
enum Pin {
    Blob(Arc<[u8]>),
    Map(#[expect(dead_code, reason = "held only to keep the mapping alive")] Arc<Mapping>),
}

/// The read side of every transaction.
pub struct SnapshotReader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) snap: Snapshot,
    maps: Maps,
    /// Allocations whose bytes were returned; kept until the next write or the end.
    pins: RefCell<Vec<Pin>>,
    /// Names whose pointers were returned; kept until the end.
    names: RefCell<HashMap<u32, Arc<CStr>>>,
    /// The last node read: a scan reads a node, then its properties, each of which reads
    /// the node again (the snapshot never changes, so neither does the node).
    last_node: RefCell<Option<(u64, Node)>>,
    /// Heap offset of the last blob whose checksum passed (0: none), and whether all its
    /// entries were checked too: a blob the snapshot names is never rewritten while the
    /// snapshot lives ("Space reuse").
    verified_blob: Cell<(u64, bool)>,
    /// The last few committed names looked up and their ids (an id never changes once
    /// committed), so reading the same keys node after node skips the shared table's lock
    /// and hash.
    key_ids: RefCell<Vec<(Box<str>, u32)>>,
    /// The last name returned and its id.
    last_name: RefCell<Option<(u32, Arc<CStr>)>>,
}

impl SnapshotReader {
    pub(super) fn new(shared: Arc<Shared>, snap: Snapshot) -> SnapshotReader {
        let maps = shared.store.maps();
        SnapshotReader {
            shared,
            snap,
            maps,
            pins: RefCell::new(Vec::new()),
            names: RefCell::new(HashMap::new()),
            last_node: RefCell::new(None),
            verified_blob: Cell::new((0, false)),
            key_ids: RefCell::new(Vec::new()),
            last_name: RefCell::new(None),
        }
    }

    /// The id of the committed string `name`, if any.
    pub(crate) fn committed_string_id(&self, name: &str) -> Option<u32> {
        const KEEP: usize = 8;
        if let Some((_, id)) = self.key_ids.borrow().iter().find(|(n, _)| &**n == name) {
            return Some(*id);
        }
        let id = read(&self.shared.strings).id(name)?;
        let mut cache = self.key_ids.borrow_mut();
        if cache.len() == KEEP {
            cache.remove(0);
        }
        cache.push((name.into(), id));
        Some(id)
    }

    /// Node `id` as committed in this snapshot.
    pub(crate) fn node(&self, id: u64) -> Result<Option<Node>> {
        if id == 0 || id >= self.snap.next_node {
            return Ok(None);
        }
        if let Some((last, n)) = &*self.last_node.borrow() {
            if *last == id {
                return Ok(Some(n.clone()));
            }
        }
        let n = match read(&self.shared.versions).node(id, self.snap.txn) {
            Some(n) => n,
            None => {
                let r = self.shared.store.read_node(&self.maps, id)?;
                Node::from_disk(&r.ok_or_else(|| self.missing("node", id))?)
            }
        };
        *self.last_node.borrow_mut() = Some((id, n.clone()));
        Ok(Some(n))
    }

    /// Edge `id` as committed in this snapshot.
    pub(crate) fn edge(&self, id: u64) -> Result<Option<Edge>> {
        if id == 0 || id >= self.snap.next_edge {
            return Ok(None);
        }
        if let Some(e) = read(&self.shared.versions).edge(id, self.snap.txn) {
            return Ok(Some(e));
        }
        let r = self.shared.store.read_edge(&self.maps, id)?;
        Ok(Some(Edge::from_disk(
            &r.ok_or_else(|| self.missing("edge", id))?,
        )))
    }

    /// Every id below the snapshot's bound was committed (rolled-back ids are handed out
    /// again before any commit), and a committed record is in the version map until a
    /// checkpoint has written it; so an empty or missing slot in the file is corruption.
    fn missing(&self, what: &str, id: u64) -> Error {
        self.shared.store.missing_record(
            what,
            id,
            "the slot of a committed record is empty or missing",
        )
    }

    /// The property blob `props` names, borrowed for as long as this transaction is not
    /// written to.
    pub(crate) fn blob<'t>(&'t self, props: &Props) -> Result<PropBlob<'t>> {
        match props {
            Props::None => Ok(PropBlob::EMPTY),
            Props::Mem(b) => PropBlob::parse(self.pin_blob(b))
                .map(|(b, _)| b)
                .map_err(|e| Error::Internal(format!("in-memory property blob: {e}"))),
            Props::Heap(off) => {
                let store = &self.shared.store;
                let map = self.blob_map();
                let (at, entries_checked) = self.verified_blob.get();
                if at != *off {
                    let b = store.read_blob(map, *off)?;
                    self.verified_blob.set((*off, true));
                    return Ok(b);
                }
                let b = store.read_verified_blob(map, *off)?;
                if !entries_checked {
                    b.check_entries()
                        .map_err(|e| store.bad_blob(*off, &e.to_string()))?;
                    self.verified_blob.set((*off, true));
                }
                Ok(b)
            }
        }
    }

    /// Property `key` of the blob `props` names, borrowed as [`SnapshotReader::blob`]'s
    /// values are. It checks what it reads, at less cost than [`SnapshotReader::blob`]
    /// followed by `get`: a heap blob's checksum (once per blob, as there), and of its
    /// entries only those up to `key`, each checked as it is decoded. An in-memory blob's
    /// checksum is not checked again: the engine made it, from checked values or from a
    /// log frame whose checksum and blob passed when the frame was decoded.
    pub(crate) fn prop<'t>(&'t self, props: &Props, key: u32) -> Result<Option<ValueRef<'t>>> {
        let off = match props {
            Props::None => return Ok(None),
            Props::Mem(b) => {
                return PropBlob::parse_verified(self.pin_blob(b))
                    .and_then(|(b, _)| b.find(key))
                    .map_err(|e| Error::Internal(format!("in-memory property blob: {e}")));
            }
            Props::Heap(off) => off,
        };
        let store = &self.shared.store;
        let map = self.blob_map();
        let b = if self.verified_blob.get().0 == *off {
            store.read_verified_blob(map, *off)?
        } else {
            let b = store.read_sealed_blob(map, *off)?;
            self.verified_blob.set((*off, false));
            b
        };
        b.find(key)
            .map_err(|e| store.bad_blob(*off, &e.to_string()))
    }

    /// The heap mapping to read a blob through, borrowed for as long as this transaction
    /// is not written to: the reader's own, or the newest one (pinned) when a checkpoint
    /// since this transaction began has grown the heap past it.
    fn blob_map(&self) -> &Mapping {
        let heap = &self.shared.store.heap;
        if self.maps.heap.len() as u64 >= heap.len() {
            &self.maps.heap
        } else {
            self.pin_map(heap.current())
        }
    }

    /// The heap mapping to read a blob this snapshot names through: the reader's own, or
    /// a newer one when a checkpoint since it began has grown the heap past it.
    fn heap_map(&self) -> Arc<Mapping> {
        let heap = &self.shared.store.heap;
        if self.maps.heap.len() as u64 >= heap.len() {
            Arc::clone(&self.maps.heap)
        } else {
            heap.current()
        }
    }

    /// The adjacency `adj` names, for a cursor to keep.
    pub(crate) fn adjacency(&self, adj: &Adj) -> Result<Adjacency> {
        Adjacency::open(&self.shared.store, &self.heap_map(), adj)
    }

    /// The body length of the adjacency blob at heap offset `off` (its CRC unchecked).
    pub(crate) fn adj_blob_len(&self, off: u64) -> Result<usize> {
        let n = self.shared.store.blob_bytes(&self.heap_map(), off)?.len();
        Ok(n.saturating_sub(crate::format::props::BLOB_HEADER))
    }

    /// The adjacency blob at heap offset `off`, decoded (a write is about to change it).
    pub(crate) fn load_adj(&self, off: u64) -> Result<AdjList> {
        self.shared.store.read_adj(&self.heap_map(), off)
    }

    /// Keeps `map` alive until the transaction ends and borrows it.
    fn pin_map(&self, map: Arc<Mapping>) -> &Mapping {
        let ptr: *const Mapping = Arc::as_ptr(&map);
        self.pins.borrow_mut().push(Pin::Map(map));
        // SAFETY: `map` is pinned (module documentation).
        unsafe { &*ptr }
    }

    /// Keeps `blob` alive until the next write or the end of the transaction and borrows
    /// its bytes.
    fn pin_blob<'t>(&'t self, blob: &Arc<[u8]>) -> &'t [u8] {
        let ptr: *const [u8] = Arc::as_ptr(blob);
        let mut pins = self.pins.borrow_mut();
        // Repeated reads of the same blob pin it once.
        if !matches!(pins.last(), Some(Pin::Blob(b)) if Arc::ptr_eq(b, blob)) {
            pins.push(Pin::Blob(Arc::clone(blob)));
        }
        // SAFETY: `blob` is pinned (module documentation).
        unsafe { &*ptr }
    }

    /// Forgets returned values (a write makes them invalid, as the C API documents).
    pub(crate) fn clear_pins(&mut self) {
        self.pins.get_mut().clear();
    }

    /// The name of string `id`, valid until the transaction ends.
    pub(crate) fn name_of<'t>(&'t self, id: u32, pending: Option<&Arc<CStr>>) -> Result<&'t CStr> {
        // A scan asks for the same type or label name entry after entry.
        if let Some((last, name)) = &*self.last_name.borrow() {
            if *last == id {
                let ptr: *const CStr = Arc::as_ptr(name);
                // SAFETY: `names` holds this Arc too, until the reader is dropped (module
                // documentation); ids never change their name.
                return Ok(unsafe { &*ptr });
            }
        }
        let mut names = self.names.borrow_mut();
        let arc = match names.get(&id) {
            Some(a) => Arc::clone(a),
            None => {
                let a = match pending {
                    Some(p) => Arc::clone(p),
                    None => read(&self.shared.strings)
                        .name(id)
                        .cloned()
                        .ok_or_else(|| {
                            Error::Corrupt(format!("string id {id} is not in the string table"))
                        })?,
                };
                names.insert(id, Arc::clone(&a));
                a
            }
        };
        let ptr: *const CStr = Arc::as_ptr(&arc);
        *self.last_name.borrow_mut() = Some((id, Arc::clone(&arc)));
        // SAFETY: `names` holds this Arc until the reader is dropped (module documentation).
        Ok(unsafe { &*ptr })
    }
}
