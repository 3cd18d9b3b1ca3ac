//! Recovery's reads of the data files: `pread`, rather than through the mappings.
//!
//! A process that has just opened the database has none of the mapped pages in its page
//! table, so its first touch of each is a page fault, which also maps the pages around it:
//! 2.5 to 5 µs on the benchmark machine, where a `pread` of the bytes takes under
//! 1 µs. Replay reads a few scattered records and lists per transaction (the destination
//! node of each new edge, its adjacency list), nearly every one on a page of its own, so
//! it reads each with a `pread` of its own bytes. (Keeping whole pages read this way costs
//! as much again: each fresh 4 KiB of the process's own memory is a page fault too.)
//! Whatever
//! recovery reads here goes through the same decoders and checks as a snapshot's reads
//! (`read.rs`), with the same messages.

use super::read::{bad_adj, decode_record};
use super::{DataFile, Store};
use crate::error::Result;
use crate::format::adj::AdjList;
use crate::format::props::{PropBlob, unseal};
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::format::{DecodeError, EdgeRec, NodeRec};

/// Bytes read first for a blob: its header, and the whole of most blobs.
const BLOB_GUESS: usize = 256;

/// One data file, read by `pread`.
struct Pages<'a> {
    file: &'a DataFile,
}

impl<'a> Pages<'a> {
    fn new(file: &'a DataFile) -> Pages<'a> {
        Pages { file }
    }

    /// The `n` bytes at `off`, or None when they are not all below the file's length.
    fn read(&self, off: u64, n: usize) -> Result<Option<Vec<u8>>> {
        if off
            .checked_add(n as u64)
            .is_none_or(|e| e > self.file.len())
        {
            return Ok(None);
        }
        let mut out = vec![0u8; n];
        let got = self.file.read_at(&mut out, off)?;
        // Shorter than the length says (the file shrank under us): as if missing.
        Ok((got == n).then_some(out))
    }

    /// Up to `n` bytes at `off`, as many as lie below the file's length.
    fn read_upto(&self, off: u64, n: usize) -> Result<Vec<u8>> {
        let avail = self.file.len().saturating_sub(off).min(n as u64) as usize;
        let mut out = vec![0u8; avail];
        let got = self.file.read_at(&mut out, off)?;
        out.truncate(got);
        Ok(out)
    }

    /// Slot `id` of the file's `size`-byte `what` records, read and decoded as
    /// [`decode_record`] does: None when the slot is empty or not all below the file's
    /// length.
    fn record<R>(
        &self,
        what: &str,
        id: u64,
        size: usize,
        decode: fn(&[u8], u64) -> std::result::Result<R, DecodeError>,
        flags: fn(&R) -> u32,
    ) -> Result<Option<R>> {
        let bytes = self.read(id * size as u64, size)?;
        decode_record(self.file, what, id, bytes.as_deref(), decode, flags)
    }
}

/// Recovery's reader of one store's data files (see the module comment).
pub struct PageReads<'a> {
    store: &'a Store,
    nodes: Pages<'a>,
    edges: Pages<'a>,
    heap: Pages<'a>,
}

impl<'a> PageReads<'a> {
    /// A reader of `store` with nothing read yet.
    pub fn new(store: &'a Store) -> PageReads<'a> {
        PageReads {
            store,
            nodes: Pages::new(&store.nodes),
            edges: Pages::new(&store.edges),
            heap: Pages::new(&store.heap),
        }
    }

    /// As [`Store::read_node`].
    pub fn node(&self, id: u64) -> Result<Option<NodeRec>> {
        self.nodes
            .record("node", id, NODE_SIZE, NodeRec::decode, |r| r.flags)
    }

    /// As [`Store::read_edge`].
    pub fn edge(&self, id: u64) -> Result<Option<EdgeRec>> {
        self.edges
            .record("edge", id, EDGE_SIZE, EdgeRec::decode, |r| r.flags)
    }

    /// As [`Store::blob_bytes`], copied: one `pread` for most blobs, two for long ones.
    pub fn blob_bytes(&self, off: u64) -> Result<Vec<u8>> {
        let mut bytes = self.heap.read_upto(off, BLOB_GUESS)?;
        if bytes.len() < 8 {
            return Err(self.store.bad_blob(off, "offset past the end of the heap"));
        }
        let n = PropBlob::total_len(&bytes[..8])
            .map_err(|e| self.store.bad_blob(off, &e.to_string()))?;
        if n <= bytes.len() {
            bytes.truncate(n);
            return Ok(bytes);
        }
        self.heap.read(off, n)?.ok_or_else(|| {
            self.store
                .bad_blob(off, &format!("blob of {n} bytes runs past the end"))
        })
    }

    /// As [`Store::read_adj`].
    pub fn adj(&self, off: u64) -> Result<AdjList> {
        let bytes = self.blob_bytes(off)?;
        unseal(&bytes)
            .and_then(|(body, _, _)| AdjList::decode_body(body))
            .map_err(|e| bad_adj(self.store, off, &e.to_string()))
    }

    /// The property blob at `off`, verified as [`Store::read_blob`] does, with `key` set to
    /// `value` (or removed): the encoded result.
    pub fn blob_with(
        &self,
        off: u64,
        key: u32,
        value: Option<crate::format::ValueRef<'_>>,
    ) -> Result<Vec<u8>> {
        let bytes = self.blob_bytes(off)?;
        PropBlob::parse(&bytes)
            .map(|(b, _)| b.with(key, value))
            .map_err(|e| self.store.bad_blob(off, &e.to_string()))
    }
}
