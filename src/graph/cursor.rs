//! Cursors over a node's edges, over all nodes, and over one record's properties.
//!
//! In a read transaction a cursor walks the records lazily: its snapshot never changes.
//! In a write transaction it collects its results when opened, so writes made later in
//! the transaction (deleting while iterating, say) do not change what it yields.

use crate::error::{Error, Result};
use crate::format::ValueRef;
use crate::format::adj::{AdjView, ENTRY, decode_entry, dir_entry};
use crate::store::{Adjacency, LabelIndex, Node, Props, read_chunk};
use crate::txn::Txn;
use std::ffi::CStr;
use std::sync::Arc;

/// Everything a cursor yields from here on: how a cursor in a write transaction takes its
/// results when opened, so later writes in the transaction do not change them.
fn drain<T>(mut next: impl FnMut() -> Result<Option<T>>) -> Result<std::vec::IntoIter<T>> {
    let mut all = Vec::new();
    while let Some(x) = next()? {
        all.push(x);
    }
    Ok(all.into_iter())
}

/// Direction of edges relative to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Edges leaving the node.
    Out,
    /// Edges entering the node.
    In,
    /// Both; a self-loop is yielded once.
    Both,
}

/// An edge as a cursor yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeInfo {
    /// Edge id.
    pub id: u64,
    /// Source node.
    pub src: u64,
    /// Destination node.
    pub dst: u64,
    /// Type string id (`Txn::name_of` gives the name).
    pub etype: u32,
}

enum EdgeState {
    /// Walking the node's adjacency body, group after group of the directory.
    Scan(Scan),
    List(std::vec::IntoIter<EdgeInfo>),
}

/// A scan of an adjacency body.
struct Scan {
    adj: Adjacency,
    pos: ScanPos,
}

/// Where a scan of an adjacency body is.
struct ScanPos {
    /// Only groups of this type (None: all).
    etype: Option<u32>,
    /// Groups below this directory index are outgoing.
    out_groups: usize,
    /// Byte offset of the first entry in the body.
    entries_at: usize,
    /// The next directory index to look at, and where to stop.
    group: usize,
    last_group: usize,
    /// Entry index of the first entry of `group`.
    start: usize,
    /// The group being read: outgoing?, type, next entry index, end.
    cur: (bool, u32, usize, usize),
}

/// A cursor over the edges of one node: outgoing ones, then incoming ones, each by type
/// id and then by edge id.
pub struct EdgeCursor {
    node: u64,
    dir: Dir,
    state: EdgeState,
}

impl EdgeCursor {
    pub(crate) fn open(
        txn: &Txn,
        node: u64,
        n: &Node,
        dir: Dir,
        etype: Option<u32>,
    ) -> Result<EdgeCursor> {
        let adj = txn.adjacency(&n.adj)?;
        // The one check of the directory (a heap blob's CRC was checked when it was read):
        // every directory and entry index used below is then inside the body.
        let v = AdjView::parse(adj.body()?).map_err(|e| {
            Error::Corrupt(format!(
                "node {node}'s adjacency blob passes its CRC but: {e}"
            ))
        })?;
        let (first, last) = match dir {
            Dir::Out => (0, v.out_groups()),
            Dir::In => (v.out_groups(), v.group_count()),
            Dir::Both => (0, v.group_count()),
        };
        // A type never stored (id 0) matches nothing.
        let last = if etype == Some(0) { first } else { last };
        let start = (0..first).map(|k| v.group(k).1).sum();
        let pos = ScanPos {
            etype,
            out_groups: v.out_groups(),
            entries_at: v.entries_at(),
            group: first,
            last_group: last,
            start,
            cur: (true, 0, 0, 0),
        };
        let scan = Scan { adj, pos };
        let mut c = EdgeCursor {
            node,
            dir,
            state: EdgeState::Scan(scan),
        };
        if txn.is_write() {
            let all = drain(|| c.next())?;
            c.state = EdgeState::List(all);
        }
        Ok(c)
    }

    /// The next edge, or None at the end.
    #[expect(
        clippy::should_implement_trait,
        reason = "Result<Option<_>> like the other cursors' next, not Option<Result<_>>"
    )]
    pub fn next(&mut self) -> Result<Option<EdgeInfo>> {
        match &mut self.state {
            EdgeState::List(it) => Ok(it.next()),
            EdgeState::Scan(s) => Ok(s.pos.step(s.adj.body()?, self.node, self.dir)),
        }
    }

    /// Passes up to `max` next edges to `f`, as that many calls of
    /// [`next`](Self::next) would yield them, and returns how many; fewer than `max`
    /// only at the end. Finds the adjacency body once, not once per edge.
    pub fn next_many(
        &mut self,
        max: usize,
        mut f: impl FnMut(EdgeInfo) -> Result<()>,
    ) -> Result<usize> {
        let mut n = 0;
        match &mut self.state {
            EdgeState::List(it) => {
                for e in it.take(max) {
                    f(e)?;
                    n += 1;
                }
            }
            EdgeState::Scan(s) => {
                let body = s.adj.body()?;
                while n < max {
                    let Some(e) = s.pos.step(body, self.node, self.dir) else {
                        break;
                    };
                    f(e)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }
    /// The number of edges left, without reading them when no self-loop can be skipped.
    pub fn count(mut self) -> Result<u64> {
        if let EdgeState::Scan(Scan { adj, pos: s }) = &self.state {
            if self.dir != Dir::Both && s.cur.2 == s.cur.3 {
                let body = adj.body()?;
                return Ok((s.group..s.last_group)
                    .map(|k| dir_entry(body, k))
                    .filter(|(t, _)| s.etype.is_none_or(|e| e == *t))
                    .map(|(_, n)| n as u64)
                    .sum());
            }
        }
        let mut n = 0;
        while self.next()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// The remaining edge ids.
    pub fn collect_ids(mut self) -> Result<Vec<u64>> {
        let mut v = Vec::new();
        while let Some(e) = self.next()? {
            v.push(e.id);
        }
        Ok(v)
    }
}

impl ScanPos {
    /// The next edge of `node` in `body` (the body the scan was opened on), or None at
    /// the end.
    #[inline(always)]
    fn step(&mut self, body: &[u8], node: u64, dir: Dir) -> Option<EdgeInfo> {
        loop {
            let (out, etype, next, end) = &mut self.cur;
            if *next < *end {
                let at = self.entries_at + ENTRY * *next;
                let (id, nbr) = decode_entry(&body[at..at + ENTRY]);
                *next += 1;
                if *out {
                    return Some(EdgeInfo {
                        id,
                        src: node,
                        dst: nbr,
                        etype: *etype,
                    });
                }
                if dir == Dir::Both && nbr == node {
                    continue; // a self-loop, already yielded as outgoing
                }
                return Some(EdgeInfo {
                    id,
                    src: nbr,
                    dst: node,
                    etype: *etype,
                });
            }
            if self.group == self.last_group {
                return None;
            }
            let k = self.group;
            self.group += 1;
            let (t, count) = dir_entry(body, k);
            let first = self.start;
            self.start += count;
            if self.etype.is_none_or(|e| e == t) {
                self.cur = (k < self.out_groups, t, first, first + count);
            }
        }
    }
}

enum NodeState {
    Scan {
        next: u64,
        bound: u64,
    },
    List(std::vec::IntoIter<u64>),
    /// A label's chunks in the label index (ids below `index.bound`), then a scan of the
    /// slots from there to `bound` (nodes added since the index's checkpoint).
    Index {
        index: Arc<LabelIndex>,
        chunk: usize,
        ids: std::vec::IntoIter<u64>,
        bound: u64,
    },
}

/// A cursor over live nodes in id order.
pub struct NodeCursor {
    label: Option<u32>,
    state: NodeState,
}

impl NodeCursor {
    pub(crate) fn open(txn: &Txn, label: Option<u32>) -> Result<NodeCursor> {
        let bound = if label == Some(0) {
            0
        } else {
            txn.node_bound()
        };
        let state = match label {
            Some(l) if l != 0 => NodeState::Index {
                index: txn.shared().label_index()?,
                chunk: 0,
                ids: Vec::new().into_iter(),
                bound,
            },
            _ => NodeState::Scan { next: 1, bound },
        };
        let mut c = NodeCursor { label, state };
        if txn.is_write() {
            let all = drain(|| c.next(txn))?;
            c.state = NodeState::List(all);
        }
        Ok(c)
    }

    /// The next node id, or None at the end.
    pub fn next(&mut self, txn: &Txn) -> Result<Option<u64>> {
        if let NodeState::Index {
            index,
            chunk,
            ids,
            bound,
        } = &mut self.state
        {
            let label = self.label.unwrap_or(0);
            loop {
                if let Some(id) = ids.next() {
                    if let Some(n) = txn.node(id)? {
                        if n.is_live() && n.label == label {
                            return Ok(Some(id));
                        }
                    }
                    continue;
                }
                let Some(&(off, n)) = index.chunks(label).get(*chunk) else {
                    break;
                };
                *chunk += 1;
                let file = &txn.shared().store.labels;
                *ids = read_chunk(file, &file.current(), off, n, label)?.into_iter();
            }
            // Every node the index lists has an id below its bound; the rest are scanned.
            self.state = NodeState::Scan {
                next: index.bound,
                bound: *bound,
            };
        }
        match &mut self.state {
            NodeState::Index { .. } => Ok(None),
            NodeState::List(it) => Ok(it.next()),
            NodeState::Scan { next, bound } => {
                while *next < *bound {
                    let id = *next;
                    *next += 1;
                    if let Some(n) = txn.node(id)? {
                        if n.is_live() && self.label.is_none_or(|l| l == n.label) {
                            return Ok(Some(id));
                        }
                    }
                }
                Ok(None)
            }
        }
    }
}

/// A cursor over the properties of one node or edge as they were when it was opened, in
/// the order they were last set (setting a key again moves it to the end).
///
/// It keeps the record's property blob (immutable once written) and an entry index, and
/// finds entry i by walking the blob: listing n properties costs O(n^2) entry decodes,
/// which stays small for the handful of properties a record carries.
pub struct PropCursor {
    props: Props,
    next: usize,
}

impl PropCursor {
    pub(crate) fn open(props: Props) -> PropCursor {
        PropCursor { props, next: 0 }
    }

    /// The next key and value, or None at the end. The value borrows from `txn` as
    /// [`Txn::node_prop`] values do.
    pub fn next<'t>(&mut self, txn: &'t Txn) -> Result<Option<(&'t CStr, ValueRef<'t>)>> {
        let blob = txn.blob(&self.props)?;
        let Some((key, value)) = blob.iter().nth(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        Ok(Some((txn.name_of(key)?, value)))
    }
}
