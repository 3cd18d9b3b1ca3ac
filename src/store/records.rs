//! Records as the engine holds them in memory: like the on-disk ones, except that the
//! properties and the adjacency may be in memory (written since the last checkpoint).

use crate::format::adj::AdjList;
use crate::format::record::{FLAG_DELETED, FLAG_LIVE};
use crate::format::{EdgeRec, NodeRec};
use std::sync::Arc;

/// Where a record's property blob is.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Props {
    /// No properties.
    #[default]
    None,
    /// In the heap file at this offset.
    Heap(u64),
    /// In memory (not yet checkpointed); the encoded blob, header included.
    Mem(Arc<[u8]>),
}

impl Props {
    fn from_disk(off: u64) -> Props {
        if off == 0 {
            Props::None
        } else {
            Props::Heap(off)
        }
    }
}

/// Where a node's adjacency is.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Adj {
    /// No edges.
    #[default]
    None,
    /// An adjacency blob in the heap file at this offset.
    Heap(u64),
    /// In memory (not yet checkpointed); never empty.
    Mem(Arc<AdjList>),
}

impl Adj {
    fn from_disk(off: u64) -> Adj {
        if off == 0 { Adj::None } else { Adj::Heap(off) }
    }
}

/// A node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// FLAG_* of the record.
    pub flags: u32,
    /// Label string id.
    pub label: u32,
    /// Its edges.
    pub adj: Adj,
    /// Properties.
    pub props: Props,
}

/// An edge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edge {
    /// FLAG_* of the record.
    pub flags: u32,
    /// Type string id.
    pub etype: u32,
    /// Source node.
    pub src: u64,
    /// Destination node.
    pub dst: u64,
    /// Properties.
    pub props: Props,
}

/// An `Arc`'s two reference counts, allocated with what it holds.
const ARC_COUNTS: usize = 2 * size_of::<usize>();

impl Props {
    fn mem_bytes(&self) -> usize {
        match self {
            Props::Mem(b) => ARC_COUNTS + b.len(),
            _ => 0,
        }
    }
}

impl Node {
    /// The heap memory this version owns besides the record itself, as the version map
    /// counts it for its budget: an in-memory property blob and adjacency list, as
    /// allocated (a list shared with another version is counted with each).
    pub fn mem_bytes(&self) -> usize {
        let adj = match &self.adj {
            Adj::Mem(l) => ARC_COUNTS + size_of::<AdjList>() + l.capacity(),
            _ => 0,
        };
        adj + self.props.mem_bytes()
    }

    /// Whether the node exists.
    pub fn is_live(&self) -> bool {
        self.flags == FLAG_LIVE
    }

    /// A deleted node (its slot is never reused).
    pub fn deleted() -> Node {
        Node {
            flags: FLAG_DELETED,
            ..Node::default()
        }
    }

    /// From the data file.
    pub fn from_disk(r: &NodeRec) -> Node {
        Node {
            flags: r.flags,
            label: r.label,
            adj: Adj::from_disk(r.adj),
            props: Props::from_disk(r.props),
        }
    }

    /// For the data file, with the adjacency blob at heap offset `adj` and the property
    /// blob at `props`.
    pub fn to_disk(&self, adj: u64, props: u64) -> NodeRec {
        NodeRec {
            flags: self.flags,
            label: self.label,
            adj,
            props,
        }
    }
}

impl Edge {
    /// The heap memory this version owns besides the record (see [`Node::mem_bytes`]).
    pub fn mem_bytes(&self) -> usize {
        self.props.mem_bytes()
    }

    /// Whether the edge exists.
    pub fn is_live(&self) -> bool {
        self.flags == FLAG_LIVE
    }

    /// From the data file.
    pub fn from_disk(r: &EdgeRec) -> Edge {
        Edge {
            flags: r.flags,
            etype: r.etype,
            src: r.src,
            dst: r.dst,
            props: Props::from_disk(r.props),
        }
    }

    /// For the data file, with the blob at heap offset `props`.
    pub fn to_disk(&self, props: u64) -> EdgeRec {
        EdgeRec {
            flags: self.flags,
            etype: self.etype,
            src: self.src,
            dst: self.dst,
            props,
        }
    }
}
