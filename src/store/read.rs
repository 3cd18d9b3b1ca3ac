//! Reading and verifying what the data files hold: one routine per kind of thing (node
//! record, edge record, property blob), used by snapshot reads and by recovery alike.
//! Each returns the decoded thing or a `Corrupt` error naming the file and offset; what a
//! missing or empty slot means is the caller's to say (recovery: "not created yet" above
//! the checkpoint's ids; a snapshot: always corruption).

use super::{DataFile, Store};
use crate::error::{Error, Result};
use crate::format::adj::{AdjList, AdjView};
use crate::format::props::{PropBlob, unseal};
use crate::format::record::{EDGE_SIZE, FLAG_EMPTY, NODE_SIZE};
use crate::format::{DecodeError, EdgeRec, NodeRec};
use crate::io::Mapping;
use std::sync::Arc;

/// The mappings one reader reads the data files through, taken together when it starts.
/// A mapping covers more than its file, and old mappings stay valid until the database
/// closes, so bytes read through them never move.
#[derive(Clone)]
pub struct Maps {
    /// Of `nodes`.
    pub nodes: Arc<Mapping>,
    /// Of `edges`.
    pub edges: Arc<Mapping>,
    /// Of `props`.
    pub heap: Arc<Mapping>,
}

impl Store {
    /// The newest mapping of each data file.
    pub fn maps(&self) -> Maps {
        Maps {
            nodes: self.nodes.current(),
            edges: self.edges.current(),
            heap: self.heap.current(),
        }
    }

    /// Node record `id` through `maps`: None when its slot is empty (never committed) or
    /// past the end of the file.
    pub fn read_node(&self, maps: &Maps, id: u64) -> Result<Option<NodeRec>> {
        read_record(
            &self.nodes,
            &maps.nodes,
            "node",
            id,
            NODE_SIZE,
            NodeRec::decode,
            |r| r.flags,
        )
    }

    /// Edge record `id` through `maps`: None when its slot is empty or past the end.
    pub fn read_edge(&self, maps: &Maps, id: u64) -> Result<Option<EdgeRec>> {
        read_record(
            &self.edges,
            &maps.edges,
            "edge",
            id,
            EDGE_SIZE,
            EdgeRec::decode,
            |r| r.flags,
        )
    }

    /// The property blob at heap offset `off`, read through `map` and verified.
    pub fn read_blob<'m>(&self, map: &'m Mapping, off: u64) -> Result<PropBlob<'m>> {
        let bytes = self.blob_bytes(map, off)?;
        PropBlob::parse(bytes)
            .map(|(b, _)| b)
            .map_err(|e| self.bad_blob(off, &e.to_string()))
    }

    /// The property blob at heap offset `off`, read through `map`, its checksum verified
    /// but not its entries ([`PropBlob::parse_sealed`]).
    pub fn read_sealed_blob<'m>(&self, map: &'m Mapping, off: u64) -> Result<PropBlob<'m>> {
        let bytes = self.blob_bytes(map, off)?;
        PropBlob::parse_sealed(bytes)
            .map(|(b, _)| b)
            .map_err(|e| self.bad_blob(off, &e.to_string()))
    }

    /// The property blob at heap offset `off`, read through `map`, whose checksum an earlier
    /// [`Store::read_blob`] or [`Store::read_sealed_blob`] of the same reader verified (a
    /// blob a snapshot names never changes while the snapshot lives): only its header is
    /// read, so its entries are as checked as they were then.
    pub fn read_verified_blob<'m>(&self, map: &'m Mapping, off: u64) -> Result<PropBlob<'m>> {
        let bytes = self.blob_bytes(map, off)?;
        PropBlob::parse_verified(bytes)
            .map(|(b, _)| b)
            .map_err(|e| self.bad_blob(off, &e.to_string()))
    }

    /// The encoded bytes (header included) of the blob at heap offset `off`, read through
    /// `map`; their length is checked, their contents are not (see [`Store::read_blob`]).
    pub fn blob_bytes<'m>(&self, map: &'m Mapping, off: u64) -> Result<&'m [u8]> {
        let heap = &self.heap;
        let header = heap
            .read(map, off, 8)
            .ok_or_else(|| self.bad_blob(off, "offset past the end of the heap"))?;
        let n = PropBlob::total_len(header).map_err(|e| self.bad_blob(off, &e.to_string()))?;
        heap.read(map, off, n)
            .ok_or_else(|| self.bad_blob(off, &format!("blob of {n} bytes runs past the end")))
    }

    /// The body of the adjacency blob at heap offset `off`, read through `map`, its CRC
    /// and directory checked ([`AdjView::parse`]).
    pub fn adj_body<'m>(&self, map: &'m Mapping, off: u64) -> Result<AdjView<'m>> {
        let bytes = self.blob_bytes(map, off)?;
        unseal(bytes)
            .and_then(|(body, _, _)| AdjView::parse(body))
            .map_err(|e| self.bad_adj(off, &e.to_string()))
    }

    /// The body of the adjacency blob at heap offset `off`, read through `map`, its CRC
    /// checked (the directory is not: see [`Store::adj_body`]).
    pub fn adj_body_unparsed<'m>(&self, map: &'m Mapping, off: u64) -> Result<&'m [u8]> {
        let bytes = self.blob_bytes(map, off)?;
        unseal(bytes)
            .map(|(body, _, _)| body)
            .map_err(|e| self.bad_adj(off, &e.to_string()))
    }

    /// The adjacency blob at heap offset `off`, read through `map`, decoded and checked
    /// completely ([`AdjList::decode_body`]).
    pub fn read_adj(&self, map: &Mapping, off: u64) -> Result<AdjList> {
        let bytes = self.blob_bytes(map, off)?;
        unseal(bytes)
            .and_then(|(body, _, _)| AdjList::decode_body(body))
            .map_err(|e| self.bad_adj(off, &e.to_string()))
    }

    fn bad_adj(&self, off: u64, why: &str) -> Error {
        bad_adj(self, off, why)
    }

    /// A `Corrupt` error for the property blob at heap offset `off`.
    pub fn bad_blob(&self, off: u64, why: &str) -> Error {
        Error::Corrupt(format!(
            "{} offset {off}: property blob: {why}",
            self.heap.path().display()
        ))
    }

    /// A `Corrupt` error for the empty or missing slot of record `id` that must exist.
    pub fn missing_record(&self, what: &str, id: u64, why: &str) -> Error {
        let (file, size) = match what {
            "node" => (&self.nodes, NODE_SIZE),
            _ => (&self.edges, EDGE_SIZE),
        };
        Error::Corrupt(format!(
            "{} offset {}: {what} {id}: {why} (the file has {} bytes)",
            file.path().display(),
            id * size as u64,
            file.len()
        ))
    }
}

/// A `Corrupt` error for the adjacency blob at heap offset `off` of `store`.
pub(super) fn bad_adj(store: &Store, off: u64, why: &str) -> Error {
    Error::Corrupt(format!(
        "{} offset {off}: adjacency blob: {why}",
        store.heap.path().display()
    ))
}

/// Reads and decodes slot `id` of `file` through `map`, or through the file's newest
/// mapping when the file has grown past `map`.
fn read_record<R>(
    file: &DataFile,
    map: &Mapping,
    what: &str,
    id: u64,
    size: usize,
    decode: fn(&[u8], u64) -> std::result::Result<R, DecodeError>,
    flags: fn(&R) -> u32,
) -> Result<Option<R>> {
    let off = id * size as u64;
    if let Some(b) = file.read(map, off, size) {
        return decode_record(file, what, id, Some(b), decode, flags);
    }
    let newest = file.current();
    decode_record(file, what, id, file.read(&newest, off, size), decode, flags)
}

/// Decodes slot `id` of `file` from its `bytes` (None: past the end of the file): None
/// for an empty slot, `Corrupt` naming the file and offset for one that does not decode.
pub(super) fn decode_record<R>(
    file: &DataFile,
    what: &str,
    id: u64,
    bytes: Option<&[u8]>,
    decode: fn(&[u8], u64) -> std::result::Result<R, DecodeError>,
    flags: fn(&R) -> u32,
) -> Result<Option<R>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let off = id * bytes.len() as u64;
    match decode(bytes, id) {
        Ok(r) if flags(&r) == FLAG_EMPTY => Ok(None),
        Ok(r) => Ok(Some(r)),
        Err(e) => Err(Error::Corrupt(format!(
            "{} offset {off}: {what} {id}: {e}",
            file.path().display()
        ))),
    }
}
