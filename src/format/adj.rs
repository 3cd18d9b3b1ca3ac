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
//! A group exists only for a type with at least one edge, and holds an edge id at most
//! once. (That an edge is in one group only, the one of its type, is for `qv_check` to
//! verify: it holds every entry against the edge record.) Because the order is fixed by ids, the blob of a given set of edges
//! is the same whatever the history that produced it. A node without edges names no blob.

#[cfg(any(test, feature = "testing"))]
use super::bytes::PutLe;
use super::bytes::{DecodeError, Reader};

/// Bytes per entry.
pub const ENTRY: usize = 12;

/// The edges of one type in one direction: (edge id, neighbour), by edge id. (A decoded
/// form for tests and the fuzz targets; the engine keeps lists encoded, as [`AdjList`].)
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// Edge type string id.
    pub etype: u32,
    /// (edge id, neighbour node id), ascending by edge id.
    pub edges: Vec<(u64, u64)>,
}

/// A node's adjacency in memory: the blob body itself, changed in place, so that the
/// list costs one allocation, 12 bytes an edge, and nothing to encode at a checkpoint.
/// Every `AdjList` holds a body that [`AdjList::decode_body`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjList {
    body: Vec<u8>,
}

impl Default for AdjList {
    fn default() -> AdjList {
        AdjList { body: vec![0; 8] }
    }
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn entry_bytes(edge: u64, nbr: u64) -> [u8; ENTRY] {
    let mut e = [0u8; ENTRY];
    e[..6].copy_from_slice(&edge.to_le_bytes()[..6]);
    e[6..].copy_from_slice(&nbr.to_le_bytes()[..6]);
    e
}

/// Where one edge is, or would go, in a body.
struct Place {
    /// Directory index of the type's group (where it would be inserted, if absent).
    group: usize,
    /// Whether the group exists.
    group_found: bool,
    /// Entry index of the edge (where it would be inserted, if absent).
    entry: usize,
    /// Whether the edge is there.
    found: bool,
}

impl AdjList {
    /// Whether the node has no edges.
    pub fn is_empty(&self) -> bool {
        get32(&self.body, 0) == 0 && get32(&self.body, 4) == 0
    }

    /// Bytes allocated for the body (its capacity, at least its length).
    pub fn capacity(&self) -> usize {
        self.body.capacity()
    }

    /// The encoded body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, read in place.
    pub fn view(&self) -> AdjView<'_> {
        AdjView {
            body: &self.body,
            out_groups: get32(&self.body, 0) as usize,
            in_groups: get32(&self.body, 4) as usize,
        }
    }

    /// Number of entries, both directions.
    #[cfg(any(test, feature = "testing"))]
    pub fn len(&self) -> usize {
        let v = self.view();
        (self.body.len() - v.entries_at()) / ENTRY
    }

    fn place(&self, out: bool, etype: u32, edge: u64) -> Place {
        let v = self.view();
        let (first, n) = if out {
            (0, v.out_groups)
        } else {
            (v.out_groups, v.in_groups)
        };
        let mut start: usize = (0..first)
            .map(|g| get32(&self.body, 12 + 8 * g) as usize)
            .sum();
        for g in first..first + n {
            let t = get32(&self.body, 8 + 8 * g);
            let count = get32(&self.body, 12 + 8 * g) as usize;
            if t == etype {
                // Edge ids ascend within the group: binary search.
                let (mut lo, mut hi) = (start, start + count);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match v.entry(mid).0.cmp(&edge) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => {
                            return Place {
                                group: g,
                                group_found: true,
                                entry: mid,
                                found: true,
                            };
                        }
                    }
                }
                return Place {
                    group: g,
                    group_found: true,
                    entry: lo,
                    found: false,
                };
            }
            if t > etype {
                return Place {
                    group: g,
                    group_found: false,
                    entry: start,
                    found: false,
                };
            }
            start += count;
        }
        Place {
            group: first + n,
            group_found: false,
            entry: start,
            found: false,
        }
    }

    /// Adds edge `edge` of type `etype` to neighbour `nbr`; adding one already there
    /// changes nothing (so replaying an insert over a newer state is harmless).
    pub fn add(&mut self, out: bool, etype: u32, edge: u64, nbr: u64) {
        let p = self.place(out, etype, edge);
        if p.found {
            return;
        }
        let at = self.view().entries_at() + ENTRY * p.entry;
        self.body.splice(at..at, entry_bytes(edge, nbr));
        let dir = 8 + 8 * p.group;
        if p.group_found {
            let c = get32(&self.body, dir + 4);
            put32(&mut self.body, dir + 4, c + 1);
        } else {
            let mut d = [0u8; 8];
            d[..4].copy_from_slice(&etype.to_le_bytes());
            d[4..].copy_from_slice(&1u32.to_le_bytes());
            self.body.splice(dir..dir, d);
            let k = if out { 0 } else { 4 };
            let n = get32(&self.body, k);
            put32(&mut self.body, k, n + 1);
        }
    }

    /// Removes edge `edge` of type `etype`; removing one not there changes nothing.
    pub fn remove(&mut self, out: bool, etype: u32, edge: u64) {
        let p = self.place(out, etype, edge);
        if !p.found {
            return;
        }
        let at = self.view().entries_at() + ENTRY * p.entry;
        self.body.drain(at..at + ENTRY);
        let dir = 8 + 8 * p.group;
        let c = get32(&self.body, dir + 4);
        if c > 1 {
            put32(&mut self.body, dir + 4, c - 1);
        } else {
            self.body.drain(dir..dir + 8);
            let k = if out { 0 } else { 4 };
            let n = get32(&self.body, k);
            put32(&mut self.body, k, n - 1);
        }
    }

    /// The blob body (without the length and CRC header).
    #[cfg(any(test, feature = "testing"))]
    pub fn encode_body(&self) -> Vec<u8> {
        self.body.clone()
    }

    /// The list with these groups (each as [`AdjList::decode_body`] requires).
    #[cfg(any(test, feature = "testing"))]
    pub fn from_groups(out: &[Group], inc: &[Group]) -> AdjList {
        let groups = out.len() + inc.len();
        let mut b = Vec::with_capacity(8 + 8 * groups);
        b.put_u32(out.len() as u32);
        b.put_u32(inc.len() as u32);
        for g in out.iter().chain(inc) {
            b.put_u32(g.etype);
            b.put_u32(g.edges.len() as u32);
        }
        for g in out.iter().chain(inc) {
            for &(edge, nbr) in &g.edges {
                b.extend_from_slice(&entry_bytes(edge, nbr));
            }
        }
        AdjList { body: b }
    }

    /// The groups of each direction, decoded: [outgoing, incoming].
    #[cfg(any(test, feature = "testing"))]
    pub fn groups(&self) -> [Vec<Group>; 2] {
        let v = self.view();
        [true, false].map(|out| {
            v.groups(out)
                .map(|g| Group {
                    etype: g.etype,
                    edges: (g.start..g.start + g.count).map(|i| v.entry(i)).collect(),
                })
                .collect()
        })
    }

    /// Checks a body against everything the format promises (the sizes, types strictly
    /// ascending, no empty group, edge ids strictly ascending and no id zero) and keeps it.
    pub fn decode_body(body: &[u8]) -> Result<AdjList, DecodeError> {
        let v = AdjView::parse(body)?;
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
                let mut prev_edge = 0;
                for i in g.start..g.start + g.count {
                    let (edge, nbr) = v.entry(i);
                    if edge == 0 || nbr == 0 {
                        return Err(DecodeError::Invalid("adjacency: id zero"));
                    }
                    if prev_edge >= edge {
                        return Err(DecodeError::Invalid("adjacency: edges out of order"));
                    }
                    prev_edge = edge;
                }
            }
        }
        Ok(AdjList {
            body: body.to_vec(),
        })
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

    /// Number of outgoing groups (they come first in the directory).
    pub fn out_groups(&self) -> usize {
        self.out_groups
    }

    /// Number of groups, both directions.
    pub fn group_count(&self) -> usize {
        self.out_groups + self.in_groups
    }

    /// Group `k` of the directory (outgoing ones first): (type, entry count).
    pub fn group(&self, k: usize) -> (u32, usize) {
        dir_entry(self.body, k)
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

/// Directory entry `k` of a body whose directory has more than `k` entries (one that
/// [`AdjView::parse`] accepted): (type, entry count).
#[inline]
pub fn dir_entry(body: &[u8], k: usize) -> (u32, usize) {
    (get32(body, 8 + 8 * k), get32(body, 12 + 8 * k) as usize)
}

/// Decodes one 12-byte entry: (edge id, neighbour).
#[inline]
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
        let [out, inc] = l.groups();
        assert_eq!(out.iter().map(|g| g.etype).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(out[1].edges, [(7, 9), (10, 2)]);
        assert_eq!(inc[0].edges, [(12, 1)], "adding twice keeps one");
        assert_eq!(AdjList::from_groups(&out, &inc), l);
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
        assert_eq!(m.groups()[0].len(), 1, "an emptied group goes");
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
