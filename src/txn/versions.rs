//! The version map: every record version committed since the last checkpoint, keyed by
//! record id, each tagged with the id of the transaction that committed it. A reader at
//! snapshot S takes the newest version not newer than S; with none, it reads the data
//! file, which then holds the right version (see `checkpoint`).

use crate::store::{Edge, IdMap, Node};

/// Versions of one record. The newest is held inline, so the common case (one version)
/// costs no allocation and a lookup touches one map entry.
pub struct Chain<T> {
    newest: (u64, T),
    /// Older versions, oldest first.
    older: Vec<(u64, T)>,
}

/// A record version's memory, as the map counts it for its budget.
pub trait Weigh: Sized {
    /// Heap bytes this version owns besides the record itself (in-memory blob and list).
    fn weight(&self) -> usize;
}

impl Weigh for Node {
    fn weight(&self) -> usize {
        self.mem_bytes()
    }
}

impl Weigh for Edge {
    fn weight(&self) -> usize {
        self.mem_bytes()
    }
}

/// What older versions hold: each its entry in the chain's vector and its heap bytes.
fn weigh<T: Weigh>(older: &[(u64, T)]) -> usize {
    older
        .iter()
        .map(|(_, r)| size_of::<(u64, T)>() + r.weight())
        .sum()
}

impl<T: Weigh> Chain<T> {
    fn push(&mut self, v: (u64, T)) {
        let prev = std::mem::replace(&mut self.newest, v);
        self.older.push(prev);
    }

    /// Drops the versions no snapshot from `keep_from` on can read: those older than the
    /// newest one not newer than `keep_from`. Returns the bytes they held (see [`weigh`]).
    fn forget_before(&mut self, keep_from: u64) -> usize {
        let n = if self.newest.0 <= keep_from {
            self.older.len()
        } else {
            self.older
                .iter()
                .rposition(|(v, _)| *v <= keep_from)
                .unwrap_or(0)
        };
        let dropped = weigh(&self.older[..n]);
        self.older.drain(..n);
        dropped
    }

    /// Drops every version not newer than `upto` and returns the bytes they held, or
    /// None when none is left (the caller removes the chain).
    fn prune(&mut self, upto: u64) -> Option<usize> {
        if self.newest.0 <= upto {
            return None;
        }
        // Versions are oldest first: those not newer than `upto` are a prefix.
        let n = self.older.partition_point(|(v, _)| *v <= upto);
        let dropped = weigh(&self.older[..n]);
        self.older.drain(..n);
        Some(dropped)
    }

    /// What the chain holds besides its slot in the map's table.
    fn weight(&self) -> usize {
        self.newest.1.weight() + weigh(&self.older)
    }
}

/// What the version map holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Records with at least one version.
    pub records: usize,
    /// The memory their versions hold (see [`Weigh`]).
    pub bytes: usize,
}

/// The memory of `map`'s table: a slot and a control byte per bucket (the table keeps its
/// size when a prune empties it, until the map is dropped).
fn table_bytes<T>(map: &IdMap<Chain<T>>) -> usize {
    // The table has a bucket for every 7/8 of capacity.
    map.capacity() / 7 * 8 * (size_of::<(u64, Chain<T>)>() + 1)
}

/// Records with their ids.
pub type Newest<T> = Vec<(u64, T)>;

/// Committed record versions not yet pruned by a checkpoint.
#[derive(Default)]
pub struct Versions {
    /// Node versions.
    pub nodes: IdMap<Chain<Node>>,
    /// Edge versions.
    pub edges: IdMap<Chain<Edge>>,
    /// What the chains hold besides their slots in the tables: every version's heap
    /// bytes ([`Weigh::weight`]) and every older version's entry (see [`weigh`]).
    bytes: usize,
}

fn at<T: Clone>(chain: &Chain<T>, snap: u64) -> Option<T> {
    if chain.newest.0 <= snap {
        return Some(chain.newest.1.clone());
    }
    chain
        .older
        .iter()
        .rev()
        .find(|(v, _)| *v <= snap)
        .map(|(_, r)| r.clone())
}

/// What a prune took out of one map: the records left with no version, and the map's old
/// table when it moved to a smaller one.
struct Gone<T> {
    _chains: Vec<Chain<T>>,
    _table: Option<IdMap<Chain<T>>>,
}

/// Takes out of `map` the records left with no version newer than `upto`; returns them
/// (with the old table, see [`Gone`]) and the bytes of every version dropped.
fn prune<T: Weigh>(map: &mut IdMap<Chain<T>>, upto: u64) -> (Gone<T>, usize) {
    let mut dropped = 0;
    let gone: Vec<u64> = map
        .iter_mut()
        .filter_map(|(id, chain)| match chain.prune(upto) {
            Some(b) => {
                dropped += b;
                None
            }
            None => Some(*id),
        })
        .collect();
    let chains: Vec<Chain<T>> = gone.iter().filter_map(|id| map.remove(id)).collect();
    dropped += chains.iter().map(Chain::weight).sum::<usize>();
    // A table never shrinks by itself: one that a checkpoint left mostly empty moves to a
    // smaller one, so the memory a load's peak made it take is not held (and counted)
    // from then on. The old table is freed outside the lock too.
    let old = (map.capacity() >= 1024 && map.len() * SHRINK <= map.capacity()).then(|| {
        let mut fresh = IdMap::with_capacity_and_hasher(map.len() * 2, Default::default());
        fresh.extend(map.drain());
        std::mem::replace(map, fresh)
    });
    let gone = Gone {
        _chains: chains,
        _table: old,
    };
    (gone, dropped)
}

/// A prune moves the map to a smaller table when it fills at most 1/SHRINK of its own
/// (of at least 1,024 records).
const SHRINK: usize = 4;

/// The versions a prune took out of the map, to be dropped once the map's lock (and the
/// checkpoint's) is released: freeing a few hundred thousand versions takes long enough
/// to hold up the readers and the writer that wait for the lock.
#[must_use = "dropping the pruned versions where the lock is held is what this avoids"]
pub struct Pruned {
    _nodes: Gone<Node>,
    _edges: Gone<Edge>,
}

/// Adds `records` as versions of `txn`, keeping `bytes` (the map's count) up to date.
fn publish<T: Weigh>(
    map: &mut IdMap<Chain<T>>,
    txn: u64,
    records: IdMap<T>,
    keep_from: u64,
    bytes: &mut usize,
) {
    map.reserve(records.len());
    for (id, r) in records {
        *bytes += r.weight();
        match map.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let chain = e.get_mut();
                chain.push((txn, r));
                *bytes += size_of::<(u64, T)>();
                *bytes -= chain.forget_before(keep_from);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Chain {
                    newest: (txn, r),
                    older: Vec::new(),
                });
            }
        }
    }
}

impl Versions {
    /// Node `id` as of `snap`, if a version not newer than `snap` is held.
    pub fn node(&self, id: u64, snap: u64) -> Option<Node> {
        self.nodes.get(&id).and_then(|c| at(c, snap))
    }

    /// Edge `id` as of `snap`.
    pub fn edge(&self, id: u64, snap: u64) -> Option<Edge> {
        self.edges.get(&id).and_then(|c| at(c, snap))
    }

    /// Adds the records written by transaction `txn`. Every snapshot that may still be
    /// read (by a reader, a writer or a checkpoint) is at or after `keep_from`, so the
    /// older versions of the records it writes that no such snapshot reads are dropped
    /// now rather than at the next checkpoint: between checkpoints, a record written by
    /// many transactions keeps one version per snapshot in use, not one per write.
    /// Returns how many records the map holds versions of now, and the bytes they hold.
    pub fn publish(
        &mut self,
        txn: u64,
        nodes: IdMap<Node>,
        edges: IdMap<Edge>,
        keep_from: u64,
    ) -> Held {
        publish(&mut self.nodes, txn, nodes, keep_from, &mut self.bytes);
        publish(&mut self.edges, txn, edges, keep_from, &mut self.bytes);
        self.held()
    }

    /// How many records the map holds versions of, and the bytes they hold: the chains'
    /// count plus the tables as allocated (a slot and a control byte per bucket).
    pub fn held(&self) -> Held {
        Held {
            records: self.nodes.len() + self.edges.len(),
            bytes: self.bytes + table_bytes(&self.nodes) + table_bytes(&self.edges),
        }
    }

    /// The newest version not newer than `snap` of every record that has one, in no
    /// particular order (sorting is left to the caller, after the lock is released).
    pub fn newest_upto(&self, snap: u64) -> (Newest<Node>, Newest<Edge>) {
        let n: Vec<(u64, Node)> = self
            .nodes
            .iter()
            .filter_map(|(id, c)| at(c, snap).map(|r| (*id, r)))
            .collect();
        let e: Vec<(u64, Edge)> = self
            .edges
            .iter()
            .filter_map(|(id, c)| at(c, snap).map(|r| (*id, r)))
            .collect();
        (n, e)
    }

    /// Drops every version not newer than `upto` (the data file now holds them); the
    /// records left with none are returned, to be freed outside the lock.
    pub fn prune(&mut self, upto: u64) -> Pruned {
        let (nodes, n) = prune(&mut self.nodes, upto);
        let (edges, e) = prune(&mut self.edges, upto);
        self.bytes -= n + e;
        Pruned {
            _nodes: nodes,
            _edges: edges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::adj::AdjList;
    use crate::store::{Adj, Props};
    use std::sync::Arc;

    fn node(blob: usize) -> Node {
        Node {
            props: Props::Mem(vec![0u8; blob].into()),
            ..Node::default()
        }
    }

    fn edge(blob: usize) -> Edge {
        Edge {
            props: if blob == 0 {
                Props::None
            } else {
                Props::Mem(Arc::from(vec![1u8; blob]))
            },
            ..Edge::default()
        }
    }

    /// The count the map keeps, recomputed from every version it holds and its tables.
    fn recount(v: &Versions) -> usize {
        v.nodes.values().map(Chain::weight).sum::<usize>()
            + v.edges.values().map(Chain::weight).sum::<usize>()
            + table_bytes(&v.nodes)
            + table_bytes(&v.edges)
    }

    fn nodes(list: &[(u64, usize)]) -> IdMap<Node> {
        list.iter().map(|&(id, b)| (id, node(b))).collect()
    }

    fn edges(list: &[(u64, usize)]) -> IdMap<Edge> {
        list.iter().map(|&(id, b)| (id, edge(b))).collect()
    }

    #[test]
    fn the_byte_count_follows_publish_forget_and_prune() {
        let mut v = Versions::default();
        assert_eq!(v.held(), Held::default());
        // Txn 1: two nodes and an edge, no reader older than it.
        let h = v.publish(1, nodes(&[(0, 100), (1, 0)]), edges(&[(0, 10)]), 1);
        assert_eq!(h.records, 3);
        assert_eq!(
            h.bytes,
            node(100).weight()
                + node(0).weight()
                + edge(10).weight()
                + table_bytes(&v.nodes)
                + table_bytes(&v.edges)
        );
        assert_eq!(h.bytes, recount(&v));
        // Txn 2 rewrites node 0 while a reader holds snapshot 1: both versions stay.
        let h = v.publish(2, nodes(&[(0, 300)]), IdMap::default(), 1);
        assert_eq!(h.bytes, recount(&v));
        assert_eq!(v.nodes[&0].older.len(), 1);
        // Txn 3 rewrites it again, the oldest reader still at 1: every version stays (a
        // snapshot at 2 may be open too).
        let h = v.publish(3, nodes(&[(0, 50)]), edges(&[(0, 0), (7, 20)]), 1);
        assert_eq!(v.nodes[&0].older.len(), 2);
        assert_eq!(h.bytes, recount(&v));
        assert_eq!(h.records, 4);
        // No reader left: the next write of node 0 forgets every older version.
        let h = v.publish(4, nodes(&[(0, 60)]), IdMap::default(), 4);
        assert_eq!(v.nodes[&0].older.len(), 0);
        assert_eq!(h.bytes, recount(&v));
        // A checkpoint up to 3 drops what it covers: node 1, edges 0 and 7 go whole.
        let before = v.held().bytes;
        let _ = v.prune(3);
        assert_eq!(v.held().bytes, recount(&v));
        assert_eq!(v.held().records, 1);
        assert!(v.held().bytes < before);
        // Up to 4: nothing is left; the tables are what remains counted.
        let _ = v.prune(4);
        assert_eq!(v.held().records, 0);
        assert_eq!(v.held().bytes, recount(&v));
        assert_eq!(
            v.held().bytes,
            table_bytes(&v.nodes) + table_bytes(&v.edges)
        );
    }

    #[test]
    fn a_prune_that_empties_most_of_a_table_moves_to_a_smaller_one() {
        let mut v = Versions::default();
        let many: Vec<(u64, usize)> = (0..10_000).map(|id| (id, 8)).collect();
        let _ = v.publish(1, nodes(&many), IdMap::default(), 1);
        let _ = v.publish(2, nodes(&[(5, 8), (6, 8)]), IdMap::default(), 2);
        let big = v.nodes.capacity();
        assert!(big >= 10_000);
        let _ = v.prune(1);
        assert_eq!(v.nodes.len(), 2);
        assert!(
            v.nodes.capacity() < 100,
            "capacity {} after the prune",
            v.nodes.capacity()
        );
        assert_eq!(v.held().bytes, recount(&v));
        assert!(v.held().bytes < 10_000, "{} bytes held", v.held().bytes);
    }

    #[test]
    fn a_version_weighs_what_it_allocates() {
        assert_eq!(node(0).weight(), 16);
        assert_eq!(node(1000).weight(), 1016);
        assert_eq!(edge(0).weight(), 0);
        let on_disk = Node {
            props: Props::Heap(4096),
            adj: Adj::Heap(8192),
            ..Node::default()
        };
        assert_eq!(on_disk.weight(), 0);
        let list = AdjList::default();
        let with_list = Node {
            adj: Adj::Mem(Arc::new(list.clone())),
            ..Node::default()
        };
        assert_eq!(
            with_list.weight(),
            16 + size_of::<AdjList>() + list.capacity()
        );
    }
}
