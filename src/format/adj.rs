//! Adjacency blobs: all edges of one node, both directions, in one immutable heap blob,
//! so that a scan reads consecutive bytes.
//!
//! ```text
//! 0   u32  body length B            (the framing of every heap blob, `props::seal`)
//! 4   u32  CRC32 of bytes 0..4 and the body
//! 8   body:
//!     0  u32  G: outgoing groups      4  u32  H: incoming groups
//!     8  (G + H) x { u32 type | u32 count }   outgoing groups, then incoming ones,
//!                                             each run by type id, ascending
//!        then the entries, group after group: count x { u48 edge | u48 neighbour },
//!        by edge id, ascending (12 bytes each)
//! ```
//! A group exists only for a type with at least one edge, and an edge id appears at most
//! once per direction. Because the order is fixed by ids, the blob of a given set of edges
//! is the same whatever the history that produced it. A node without edges names no blob.

use super::bytes::{DecodeError, PutLe, Reader};

/// Bytes per entry.
pub const ENTRY: usize = 12;

/// The edges of one type in one direction: (edge id, neighbour), by edge id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// Edge type string id.
    pub etype: u32,
    /// (edge id, neighbour node id), ascending by edge id.
    pub edges: Vec<(u64, u64)>,
}

/// A node's adjacency in memory: groups by type, for each direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdjList {
    /// Edges leaving the node.
    pub out: Vec<Group>,
    /// Edges entering the node.
    pub inc: Vec<Group>,
}

impl AdjList {
    /// Whether the node has no edges.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty() && self.inc.is_empty()
    }

    fn side(&mut self, out: bool) -> &mut Vec<Group> {
        if out { &mut self.out } else { &mut self.inc }
    }

    /// Adds edge `edge` of type `etype` to neighbour `nbr`; adding one already there
    /// changes nothing (so replaying an insert over a newer state is harmless).
    pub fn add(&mut self, out: bool, etype: u32, edge: u64, nbr: u64) {
        let side = self.side(out);
        let g = match side.binary_search_by_key(&etype, |g| g.etype) {
            Ok(g) => g,
            Err(at) => {
                side.insert(
                    at,
                    Group {
                        etype,
                        edges: Vec::new(),
                    },
                );
                at
            }
        };
        let edges = &mut side[g].edges;
        // New edges have the highest id so far: the common case is a push.
        match edges.last() {
            Some(&(last, _)) if last >= edge => {
                if let Err(at) = edges.binary_search_by_key(&edge, |e| e.0) {
                    edges.insert(at, (edge, nbr));
                }
            }
            _ => edges.push((edge, nbr)),
        }
    }

    /// Removes edge `edge` of type `etype`; removing one not there changes nothing.
    pub fn remove(&mut self, out: bool, etype: u32, edge: u64) {
        let side = self.side(out);
        if let Ok(g) = side.binary_search_by_key(&etype, |g| g.etype) {
            let edges = &mut side[g].edges;
            if let Ok(at) = edges.binary_search_by_key(&edge, |e| e.0) {
                edges.remove(at);
                if edges.is_empty() {
                    side.remove(g);
                }
            }
        }
    }

    /// Number of entries, both directions.
    pub fn len(&self) -> usize {
        self.out
            .iter()
            .chain(&self.inc)
            .map(|g| g.edges.len())
            .sum()
    }

    /// The blob body (without the length and CRC header).
    pub fn encode_body(&self) -> Vec<u8> {
        let groups = self.out.len() + self.inc.len();
        let mut b = Vec::with_capacity(8 + 8 * groups + ENTRY * self.len());
        b.put_u32(self.out.len() as u32);
        b.put_u32(self.inc.len() as u32);
        for g in self.out.iter().chain(&self.inc) {
            b.put_u32(g.etype);
            b.put_u32(g.edges.len() as u32);
        }
        for g in self.out.iter().chain(&self.inc) {
            for &(edge, nbr) in &g.edges {
                b.extend_from_slice(&edge.to_le_bytes()[..6]);
                b.extend_from_slice(&nbr.to_le_bytes()[..6]);
            }
        }
        b
    }

    /// Decodes a body, checking everything the format promises: the sizes, types strictly
    /// ascending, no empty group, edge ids strictly ascending and no id zero.
    pub fn decode_body(body: &[u8]) -> Result<AdjList, DecodeError> {
        let v = AdjView::parse(body)?;
        let mut list = AdjList::default();
        for out in [true, false] {
            let mut prev_type = None;
            for g in v.groups(out) {
                if g.count == 0 {
                    return Err(DecodeError::Invalid("adjacency: empty group"));
                }
                if prev_type.is_some_and(|t| t >= g.etype) {
                    return Err(DecodeError::Invalid("adjacency: types out of order"));
                }
                prev_type = Some(g.etype);
                let mut edges = Vec::with_capacity(g.count);
                for i in g.start..g.start + g.count {
                    let (edge, nbr) = v.entry(i);
                    if edge == 0 || nbr == 0 {
                        return Err(DecodeError::Invalid("adjacency: id zero"));
                    }
                    if edges.last().is_some_and(|&(e, _)| e >= edge) {
                        return Err(DecodeError::Invalid("adjacency: edges out of order"));
                    }
                    edges.push((edge, nbr));
                }
                list.side(out).push(Group {
                    etype: g.etype,
                    edges,
                });
            }
        }
        Ok(list)
    }
}

/// One group of an encoded body: its type and where its entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupAt {
    /// Edge type string id.
    pub etype: u32,
    /// Index of its first entry among all entries of the body.
    pub start: usize,
    /// Number of entries.
    pub count: usize,
}

/// An encoded body read in place. [`AdjView::parse`] checks that the directory and the
/// entries fit the bytes exactly, so reading any entry it lists cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct AdjView<'a> {
    body: &'a [u8],
    out_groups: usize,
    in_groups: usize,
}

impl<'a> AdjView<'a> {
    /// Checks the directory against the body's length.
    pub fn parse(body: &'a [u8]) -> Result<AdjView<'a>, DecodeError> {
        let mut r = Reader::new(body);
        let out_groups = r.u32()? as usize;
        let in_groups = r.u32()? as usize;
        let groups = out_groups
            .checked_add(in_groups)
            .filter(|g| *g <= body.len() / 8)
            .ok_or(DecodeError::Invalid("adjacency: group count"))?;
        let mut entries = 0u64;
        for _ in 0..groups {
            let _etype = r.u32()?;
            entries += u64::from(r.u32()?);
        }
        let want = 8 + 8 * groups as u64 + ENTRY as u64 * entries;
        if body.len() as u64 != want {
            return Err(DecodeError::Invalid("adjacency: length"));
        }
        Ok(AdjView {
            body,
            out_groups,
            in_groups,
        })
    }

    /// Byte offset of the first entry within the body.
    pub fn entries_at(&self) -> usize {
        8 + 8 * (self.out_groups + self.in_groups)
    }

    /// The groups of one direction, in order.
    pub fn groups(&self, out: bool) -> impl Iterator<Item = GroupAt> + use<'a> {
        let body = self.body;
        let (skip, take) = if out {
            (0, self.out_groups)
        } else {
            (self.out_groups, self.in_groups)
        };
        // Entries of the groups before `skip`.
        let field = move |g: usize, k: usize| {
            let at = 8 + 8 * g + 4 * k;
            u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]])
        };
        let mut start: usize = (0..skip).map(|g| field(g, 1) as usize).sum();
        (skip..skip + take).map(move |g| {
            let count = field(g, 1) as usize;
            let at = GroupAt {
                etype: field(g, 0),
                start,
                count,
            };
            start += count;
            at
        })
    }

    /// Entry `i`: (edge id, neighbour).
    pub fn entry(&self, i: usize) -> (u64, u64) {
        decode_entry(&self.body[self.entries_at() + ENTRY * i..][..ENTRY])
    }
}

/// Decodes one 12-byte entry: (edge id, neighbour).
pub fn decode_entry(b: &[u8]) -> (u64, u64) {
    let w = |at: usize| {
        let mut x = [0u8; 8];
        x[..6].copy_from_slice(&b[at..at + 6]);
        u64::from_le_bytes(x)
    };
    (w(0), w(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::record::MAX_48;

    fn sample() -> AdjList {
        let mut l = AdjList::default();
        l.add(true, 5, 10, 2);
        l.add(true, 3, 11, 4);
        l.add(true, 5, 7, 9);
        l.add(false, 5, 12, 1);
        l.add(false, 5, 12, 1);
        l.add(true, 3, MAX_48, MAX_48);
        l
    }

    #[test]
    fn lists_keep_order_and_round_trip() {
        let l = sample();
        assert_eq!(l.out.iter().map(|g| g.etype).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(l.out[1].edges, [(7, 9), (10, 2)]);
        assert_eq!(l.inc[0].edges, [(12, 1)], "adding twice keeps one");
        assert_eq!(l.len(), 5);
        let body = l.encode_body();
        assert_eq!(AdjList::decode_body(&body).unwrap(), l);
        let v = AdjView::parse(&body).unwrap();
        let ins: Vec<GroupAt> = v.groups(false).collect();
        assert_eq!(
            ins,
            [GroupAt {
                etype: 5,
                start: 4,
                count: 1
            }]
        );
        assert_eq!(v.entry(4), (12, 1));
        let mut m = l.clone();
        m.remove(true, 3, 11);
        m.remove(true, 3, MAX_48);
        m.remove(true, 9, 1);
        assert_eq!(m.out.len(), 1, "an emptied group goes");
        m.remove(true, 5, 7);
        m.remove(true, 5, 10);
        m.remove(false, 5, 12);
        assert!(m.is_empty());
    }

    #[test]
    fn damaged_bodies_are_refused() {
        let body = sample().encode_body();
        for n in 0..body.len() {
            assert!(AdjList::decode_body(&body[..n]).is_err(), "cut at {n}");
        }
        let mut b = body.clone();
        b.push(0);
        assert!(AdjList::decode_body(&b).is_err(), "trailing byte");
        // Types out of order: swap the two outgoing groups' type ids.
        let mut b = body.clone();
        b[8..12].copy_from_slice(&9u32.to_le_bytes());
        assert!(AdjList::decode_body(&b).is_err());
        // An edge id of zero.
        let mut b = body.clone();
        let at = AdjView::parse(&body).unwrap().entries_at();
        b[at..at + 6].fill(0);
        assert!(AdjList::decode_body(&b).is_err());
        // Counts that overflow the body.
        let mut b = body;
        b[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(AdjList::decode_body(&b).is_err());
    }
}
