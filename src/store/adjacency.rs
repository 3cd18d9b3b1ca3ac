//! A node's adjacency as a reader holds it: the list in memory, or the verified blob in a
//! heap mapping, read in place. Cursors keep one of these and walk its groups.

use super::{Adj, Store};
use crate::error::{Error, Result};
use crate::format::adj::{AdjList, ENTRY, GroupAt, decode_entry};
use crate::io::Mapping;
use std::sync::Arc;

/// A run of entries to visit: one group of one direction.
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    /// Outgoing (true) or incoming.
    pub out: bool,
    /// Edge type string id.
    pub etype: u32,
    /// Index of the group within its direction (lists in memory).
    group: usize,
    /// Index of its first entry within the blob (blobs in the heap).
    start: usize,
    /// Number of entries.
    pub count: usize,
}

/// Where the entries are.
#[derive(Clone)]
pub enum Adjacency {
    /// A list in memory (written since the last checkpoint), or none.
    Mem(Arc<AdjList>),
    /// A blob in the heap, checked when this was made.
    Map {
        /// The mapping it was read through (kept alive; a snapshot's blobs never change).
        map: Arc<Mapping>,
        /// Heap offset of the first entry.
        entries: u64,
        /// The groups of each direction.
        out: Vec<GroupAt>,
        /// Incoming groups.
        inc: Vec<GroupAt>,
    },
}

impl Adjacency {
    /// The adjacency `adj` names; one in the heap is read through `map` (which covers
    /// it) and its CRC and directory are checked.
    pub fn open(store: &Store, map: &Arc<Mapping>, adj: &Adj) -> Result<Adjacency> {
        match adj {
            Adj::None => Ok(Adjacency::Mem(Arc::default())),
            Adj::Mem(l) => Ok(Adjacency::Mem(Arc::clone(l))),
            Adj::Heap(off) => {
                let v = store.adj_body(map, *off)?;
                Ok(Adjacency::Map {
                    map: Arc::clone(map),
                    entries: off + 8 + v.entries_at() as u64,
                    out: v.groups(true).collect(),
                    inc: v.groups(false).collect(),
                })
            }
        }
    }

    /// The groups to visit for direction `out` (true: outgoing), of type `etype` only when
    /// given.
    pub fn segments(&self, out: bool, etype: Option<u32>, into: &mut Vec<Seg>) {
        let keep = |t: u32| etype.is_none_or(|e| e == t);
        match self {
            Adjacency::Mem(l) => {
                let side = if out { &l.out } else { &l.inc };
                for (group, g) in side.iter().enumerate() {
                    if keep(g.etype) {
                        into.push(Seg {
                            out,
                            etype: g.etype,
                            group,
                            start: 0,
                            count: g.edges.len(),
                        });
                    }
                }
            }
            Adjacency::Map { out: o, inc, .. } => {
                for g in if out { o } else { inc } {
                    if keep(g.etype) {
                        into.push(Seg {
                            out,
                            etype: g.etype,
                            group: 0,
                            start: g.start,
                            count: g.count,
                        });
                    }
                }
            }
        }
    }

    /// Entry `i` of `seg` (i < seg.count): (edge id, neighbour).
    pub fn entry(&self, seg: &Seg, i: usize) -> Result<(u64, u64)> {
        match self {
            Adjacency::Mem(l) => {
                let side = if seg.out { &l.out } else { &l.inc };
                Ok(side[seg.group].edges[i])
            }
            Adjacency::Map { map, entries, .. } => {
                let at = entries + (ENTRY * (seg.start + i)) as u64;
                map.bytes(at, ENTRY).map(decode_entry).ok_or_else(|| {
                    Error::Internal(format!("adjacency entry at heap offset {at} not mapped"))
                })
            }
        }
    }
}
