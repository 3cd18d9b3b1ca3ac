//! Fixed-size node and edge records, stored at `id * size` in the `nodes` and `edges`
//! files. Sizes divide 512, so a record never straddles a sector.
//!
//! ```text
//! node (32 bytes)                      edge (64 bytes)
//! 0  u32 flags                          0  u32 flags
//! 4  u32 label (string id)              4  u32 type (string id)
//! 8  u64 first outgoing edge (0: none)  8  u64 src node
//! 16 u64 first incoming edge            16 u64 dst node
//! 24 u64 props (heap offset, 0: none)   24 u64 next edge out of src
//!                                       32 u64 previous edge out of src
//!                                       40 u64 next edge into dst
//!                                       48 u64 previous edge into dst
//!                                       56 u64 props (heap offset, 0: none)
//! ```
//! flags: 0 = slot never committed, 1 = live, 2 = deleted. Ids start at 1; slot 0 of each
//! file is unused.

use super::bytes::{DecodeError, Reader};

/// Bytes per node record.
pub const NODE_SIZE: usize = 32;
/// Bytes per edge record.
pub const EDGE_SIZE: usize = 64;

/// Record state: never committed.
pub const FLAG_EMPTY: u32 = 0;
/// Record state: live.
pub const FLAG_LIVE: u32 = 1;
/// Record state: deleted (the id is never reused).
pub const FLAG_DELETED: u32 = 2;

/// A node record as stored; `props` is a heap offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeRec {
    /// FLAG_EMPTY, FLAG_LIVE or FLAG_DELETED.
    pub flags: u32,
    /// Label string id.
    pub label: u32,
    /// First edge of the outgoing chain.
    pub out_head: u64,
    /// First edge of the incoming chain.
    pub in_head: u64,
    /// Heap offset of the property blob (0: none).
    pub props: u64,
}

/// An edge record as stored; `props` is a heap offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeRec {
    /// FLAG_EMPTY, FLAG_LIVE or FLAG_DELETED.
    pub flags: u32,
    /// Edge type string id.
    pub etype: u32,
    /// Source node.
    pub src: u64,
    /// Destination node.
    pub dst: u64,
    /// Next edge out of `src`.
    pub next_out: u64,
    /// Previous edge out of `src`.
    pub prev_out: u64,
    /// Next edge into `dst`.
    pub next_in: u64,
    /// Previous edge into `dst`.
    pub prev_in: u64,
    /// Heap offset of the property blob (0: none).
    pub props: u64,
}

fn check_flags(flags: u32) -> Result<u32, DecodeError> {
    match flags {
        FLAG_EMPTY | FLAG_LIVE | FLAG_DELETED => Ok(flags),
        _ => Err(DecodeError::Invalid("record flags")),
    }
}

impl NodeRec {
    /// Encodes to 32 bytes.
    pub fn encode(&self) -> [u8; NODE_SIZE] {
        let mut b = [0u8; NODE_SIZE];
        b[0..4].copy_from_slice(&self.flags.to_le_bytes());
        b[4..8].copy_from_slice(&self.label.to_le_bytes());
        b[8..16].copy_from_slice(&self.out_head.to_le_bytes());
        b[16..24].copy_from_slice(&self.in_head.to_le_bytes());
        b[24..32].copy_from_slice(&self.props.to_le_bytes());
        b
    }

    /// Decodes 32 bytes.
    pub fn decode(b: &[u8]) -> Result<NodeRec, DecodeError> {
        let mut r = Reader::new(b);
        Ok(NodeRec {
            flags: check_flags(r.u32()?)?,
            label: r.u32()?,
            out_head: r.u64()?,
            in_head: r.u64()?,
            props: r.u64()?,
        })
    }
}

impl EdgeRec {
    /// Encodes to 64 bytes.
    pub fn encode(&self) -> [u8; EDGE_SIZE] {
        let mut b = [0u8; EDGE_SIZE];
        b[0..4].copy_from_slice(&self.flags.to_le_bytes());
        b[4..8].copy_from_slice(&self.etype.to_le_bytes());
        let words = [
            self.src,
            self.dst,
            self.next_out,
            self.prev_out,
            self.next_in,
            self.prev_in,
            self.props,
        ];
        for (i, w) in words.iter().enumerate() {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Decodes 64 bytes.
    pub fn decode(b: &[u8]) -> Result<EdgeRec, DecodeError> {
        let mut r = Reader::new(b);
        Ok(EdgeRec {
            flags: check_flags(r.u32()?)?,
            etype: r.u32()?,
            src: r.u64()?,
            dst: r.u64()?,
            next_out: r.u64()?,
            prev_out: r.u64()?,
            next_in: r.u64()?,
            prev_in: r.u64()?,
            props: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let n = NodeRec {
            flags: FLAG_LIVE,
            label: 3,
            out_head: 9,
            in_head: 10,
            props: 4096,
        };
        assert_eq!(NodeRec::decode(&n.encode()).unwrap(), n);
        let e = EdgeRec {
            flags: FLAG_DELETED,
            etype: 1,
            src: 2,
            dst: 3,
            next_out: 4,
            prev_out: 5,
            next_in: 6,
            prev_in: 7,
            props: 8,
        };
        assert_eq!(EdgeRec::decode(&e.encode()).unwrap(), e);
        assert!(NodeRec::decode(&[7u8; 32]).is_err());
        assert!(EdgeRec::decode(&[0u8; 63]).is_err());
    }
}
