//! Records as the engine holds them in memory: like the on-disk ones, except that the
//! properties may be a blob in memory (written since the last checkpoint).

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

/// A node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// FLAG_* of the record.
    pub flags: u32,
    /// Label string id.
    pub label: u32,
    /// First outgoing edge.
    pub out_head: u64,
    /// First incoming edge.
    pub in_head: u64,
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
    /// Next edge out of src.
    pub next_out: u64,
    /// Previous edge out of src.
    pub prev_out: u64,
    /// Next edge into dst.
    pub next_in: u64,
    /// Previous edge into dst.
    pub prev_in: u64,
    /// Properties.
    pub props: Props,
}

impl Node {
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
            out_head: r.out_head,
            in_head: r.in_head,
            props: Props::from_disk(r.props),
        }
    }

    /// For the data file, with the blob at heap offset `props`.
    pub fn to_disk(&self, props: u64) -> NodeRec {
        NodeRec {
            flags: self.flags,
            label: self.label,
            out_head: self.out_head,
            in_head: self.in_head,
            props,
        }
    }
}

impl Edge {
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
            next_out: r.next_out,
            prev_out: r.prev_out,
            next_in: r.next_in,
            prev_in: r.prev_in,
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
            next_out: self.next_out,
            prev_out: self.prev_out,
            next_in: self.next_in,
            prev_in: self.prev_in,
            props,
        }
    }
}
