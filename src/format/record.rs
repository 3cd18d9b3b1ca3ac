//! Fixed-size node and edge records, stored at `id * size` in the `nodes` and `edges`
//! files. Sizes divide 512, so a record never straddles a sector. Ids and heap offsets are
//! stored in 48 bits (2^48 - 1 at most), which leaves room for a CRC32 in every record.
//!
//! ```text
//! node (32 bytes)                        edge (32 bytes)
//! 0  u8  flags                           0  u8  flags
//! 1  u8  0                               1  u8  0
//! 2  u48 adjacency (heap offset, 0: no   2  u48 src node
//!        edges)                          8  u48 dst node
//! 8  u48 0                               14 u48 props (heap offset, 0: none)
//! 14 u48 props (heap offset, 0: none)    20 u32 type (string id)
//! 20 u32 label (string id)               24 u32 0
//! 24 u32 0                               28 u32 CRC32 (see below)
//! 28 u32 CRC32 (see below)
//! ```
//! A node's edges, both directions, are one adjacency blob in the props heap
//! (`format::adj`); the edge record holds no links.
//! The CRC covers the record's id (u64, little-endian) followed by the bytes before it, so
//! a record that verifies is also in its own slot: one copied or written to another slot
//! fails its check, as a log frame at the wrong position does.
//! flags: 0 = slot never committed (the whole record is zero, with no CRC), 1 = live,
//! 2 = deleted. Ids start at 1; slot 0 of each file is unused.

use super::bytes::DecodeError;

/// Bytes per node record.
pub const NODE_SIZE: usize = 32;
/// Bytes per edge record.
pub const EDGE_SIZE: usize = 32;
/// Largest id or heap offset a record can hold.
pub const MAX_48: u64 = (1 << 48) - 1;

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
    /// Heap offset of the adjacency blob (0: no edges).
    pub adj: u64,
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
    /// Heap offset of the property blob (0: none).
    pub props: u64,
}

fn put48(b: &mut [u8], at: usize, v: u64) {
    debug_assert!(v <= MAX_48, "{v} does not fit 48 bits");
    b[at..at + 6].copy_from_slice(&v.to_le_bytes()[..6]);
}

fn get48(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..6].copy_from_slice(&b[at..at + 6]);
    u64::from_le_bytes(w)
}

fn get32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The CRC of record `id` whose bytes before the CRC field are `body`: one CRC call over
/// id and body copied together, which costs about half as much as two updates would for
/// these few bytes.
fn record_crc(id: u64, body: &[u8]) -> u32 {
    const _: () = assert!(NODE_SIZE <= 64 && EDGE_SIZE <= 64);
    let mut buf = [0u8; 8 + 60];
    let n = 8 + body.len();
    buf[..8].copy_from_slice(&id.to_le_bytes());
    buf[8..n].copy_from_slice(body);
    let mut h = super::crc::Crc::new();
    h.update(&buf[..n]);
    h.finalize()
}

/// Checks length, the empty-slot rule, the CRC and the reserved bytes; returns the flags.
fn check<const N: usize>(b: &[u8], id: u64, is_edge: bool) -> Result<u32, DecodeError> {
    if b.len() < N {
        return Err(DecodeError::Truncated {
            at: 0,
            need: N,
            have: b.len(),
        });
    }
    let b = &b[..N];
    let flags = b[0] as u32;
    if flags == FLAG_EMPTY {
        return if b.iter().all(|&x| x == 0) {
            Ok(FLAG_EMPTY)
        } else {
            Err(DecodeError::Invalid(
                "record: empty flags with non-zero contents",
            ))
        };
    }
    let stored = get32(b, N - 4);
    let computed = record_crc(id, &b[..N - 4]);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    // The reserved bytes, all zero: byte 1 and bytes 24..28 of both records, and bytes
    // 8..14 of a node.
    let node_only = if is_edge { 0 } else { get48(b, 8) };
    if b[1] != 0 || get32(b, 24) != 0 || node_only != 0 {
        return Err(DecodeError::Invalid("record reserved bytes"));
    }
    match flags {
        FLAG_LIVE | FLAG_DELETED => Ok(flags),
        _ => Err(DecodeError::Invalid("record flags")),
    }
}

fn seal<const N: usize>(mut b: [u8; N], flags: u32, id: u64) -> [u8; N] {
    if flags == FLAG_EMPTY {
        return [0u8; N];
    }
    b[0] = flags as u8;
    let crc = record_crc(id, &b[..N - 4]);
    b[N - 4..].copy_from_slice(&crc.to_le_bytes());
    b
}

impl NodeRec {
    /// Encodes to 32 bytes, for the slot of node `id`.
    pub fn encode(&self, id: u64) -> [u8; NODE_SIZE] {
        let mut b = [0u8; NODE_SIZE];
        put48(&mut b, 2, self.adj);
        put48(&mut b, 14, self.props);
        b[20..24].copy_from_slice(&self.label.to_le_bytes());
        seal(b, self.flags, id)
    }

    /// Decodes the 32 bytes of node `id`'s slot, verifying the CRC.
    pub fn decode(b: &[u8], id: u64) -> Result<NodeRec, DecodeError> {
        let flags = check::<NODE_SIZE>(b, id, false)?;
        Ok(NodeRec {
            flags,
            label: get32(b, 20),
            adj: get48(b, 2),
            props: get48(b, 14),
        })
    }
}

impl EdgeRec {
    /// Encodes to 32 bytes, for the slot of edge `id`.
    pub fn encode(&self, id: u64) -> [u8; EDGE_SIZE] {
        let mut b = [0u8; EDGE_SIZE];
        put48(&mut b, 2, self.src);
        put48(&mut b, 8, self.dst);
        put48(&mut b, 14, self.props);
        b[20..24].copy_from_slice(&self.etype.to_le_bytes());
        seal(b, self.flags, id)
    }

    /// Decodes the 32 bytes of edge `id`'s slot, verifying the CRC.
    pub fn decode(b: &[u8], id: u64) -> Result<EdgeRec, DecodeError> {
        let flags = check::<EDGE_SIZE>(b, id, true)?;
        Ok(EdgeRec {
            flags,
            etype: get32(b, 20),
            src: get48(b, 2),
            dst: get48(b, 8),
            props: get48(b, 14),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_crc_is_the_crc_of_id_then_body() {
        let mut body = [0u8; 28];
        for (i, x) in body.iter_mut().enumerate() {
            *x = (i as u8).wrapping_mul(37) ^ 0x5a;
        }
        for id in [0, 1, 5, 0x1234_5678_9abc, u64::MAX] {
            let mut h = crc32fast::Hasher::new();
            h.update(&id.to_le_bytes());
            h.update(&body);
            assert_eq!(record_crc(id, &body), h.finalize(), "id {id}");
        }
    }

    #[test]
    fn records_round_trip_and_detect_damage() {
        let n = NodeRec {
            flags: FLAG_LIVE,
            label: 3,
            adj: 9,
            props: MAX_48,
        };
        assert_eq!(NodeRec::decode(&n.encode(5), 5).unwrap(), n);
        assert!(
            NodeRec::decode(&n.encode(5), 6).is_err(),
            "node in another slot"
        );
        let e = EdgeRec {
            flags: FLAG_DELETED,
            etype: 1,
            src: 2,
            dst: 3,
            props: MAX_48,
        };
        assert_eq!(EdgeRec::decode(&e.encode(5), 5).unwrap(), e);
        assert!(
            EdgeRec::decode(&e.encode(5), 4).is_err(),
            "edge in another slot"
        );
        assert_eq!(NodeRec::decode(&[0u8; 32], 1).unwrap(), NodeRec::default());
        assert!(EdgeRec::decode(&[0u8; 31], 1).is_err());
        let (nb, eb) = (n.encode(5), e.encode(5));
        for i in 0..NODE_SIZE * 8 {
            let mut d = nb;
            d[i / 8] ^= 1 << (i % 8);
            assert!(NodeRec::decode(&d, 5).is_err(), "node bit {i}");
        }
        for i in 0..EDGE_SIZE * 8 {
            let mut d = eb;
            d[i / 8] ^= 1 << (i % 8);
            assert!(EdgeRec::decode(&d, 5).is_err(), "edge bit {i}");
        }
        // A reserved byte set under a valid CRC (the fuzzer's find: node byte 25).
        for (at, edge) in [
            (1, false),
            (8, false),
            (13, false),
            (25, false),
            (1, true),
            (25, true),
        ] {
            let r = if edge {
                e.encode(5).to_vec()
            } else {
                n.encode(5).to_vec()
            };
            let mut d = r.clone();
            d[at] = 0xfa;
            let crc = record_crc(5, &d[..28]);
            d[28..].copy_from_slice(&crc.to_le_bytes());
            let refused = if edge {
                EdgeRec::decode(&d, 5).is_err()
            } else {
                NodeRec::decode(&d, 5).is_err()
            };
            assert!(refused, "reserved byte {at} accepted (edge: {edge})");
        }
        let mut z = nb;
        z[4..20].fill(0);
        assert!(NodeRec::decode(&z, 5).is_err(), "zeroed range");
    }
}
