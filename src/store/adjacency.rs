//! A node's adjacency as a reader holds it: the list in memory, or the verified blob in a
//! heap mapping, read in place. Cursors keep one of these and walk its body.

use super::{Adj, Store};
use crate::error::{Error, Result};
use crate::format::adj::AdjList;
use crate::io::Mapping;
use std::sync::Arc;

/// The body of a node without edges: no groups.
const EMPTY: &[u8] = &[0; 8];

/// Where a node's adjacency body is. A body in the heap had its CRC checked when this was
/// opened (its directory is for the reader to parse, as the edge cursor does once); a
/// body in memory was built by the engine. Neither changes while it is held.
#[derive(Clone)]
pub enum Adjacency {
    /// No edges.
    Empty,
    /// A list in memory (written since the last checkpoint).
    Mem(Arc<AdjList>),
    /// A blob in the heap, its CRC checked when this was made.
    Map {
        /// The mapping it was read through (kept alive; a snapshot's blobs never change).
        map: Arc<Mapping>,
        /// Heap offset of the body (past the blob's length and CRC).
        at: u64,
        /// Length of the body.
        len: usize,
    },
}

impl Adjacency {
    /// The adjacency `adj` names; one in the heap is read through `map` (which covers
    /// it) and its CRC is checked.
    pub fn open(store: &Store, map: &Arc<Mapping>, adj: &Adj) -> Result<Adjacency> {
        match adj {
            Adj::None => Ok(Adjacency::Empty),
            Adj::Mem(l) => Ok(Adjacency::Mem(Arc::clone(l))),
            Adj::Heap(off) => {
                let body = store.adj_body_unparsed(map, *off)?;
                Ok(Adjacency::Map {
                    map: Arc::clone(map),
                    at: off + 8,
                    len: body.len(),
                })
            }
        }
    }

    /// The body.
    pub fn body(&self) -> Result<&[u8]> {
        match self {
            Adjacency::Empty => Ok(EMPTY),
            Adjacency::Mem(l) => Ok(l.body()),
            Adjacency::Map { map, at, len } => map.bytes(*at, *len).ok_or_else(|| {
                Error::Internal(format!("adjacency body at heap offset {at} not mapped"))
            }),
        }
    }
}
