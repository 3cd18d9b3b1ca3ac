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

impl<T> Chain<T> {
    fn push(&mut self, v: (u64, T)) {
        let prev = std::mem::replace(&mut self.newest, v);
        self.older.push(prev);
    }

    /// Drops the versions no snapshot from `keep_from` on can read: those older than the
    /// newest one not newer than `keep_from`.
    fn forget_before(&mut self, keep_from: u64) {
        if self.newest.0 <= keep_from {
            self.older.clear();
        } else if let Some(i) = self.older.iter().rposition(|(v, _)| *v <= keep_from) {
            self.older.drain(..i);
        }
    }

    /// Drops every version not newer than `upto`; false when none is left.
    fn prune(&mut self, upto: u64) -> bool {
        if self.newest.0 <= upto {
            return false;
        }
        self.older.retain(|(v, _)| *v > upto);
        true
    }
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

/// Takes out of `map` the records left with no version newer than `upto`.
fn prune<T>(map: &mut IdMap<Chain<T>>, upto: u64) -> Vec<Chain<T>> {
    let gone: Vec<u64> = map
        .iter_mut()
        .filter_map(|(id, chain)| (!chain.prune(upto)).then_some(*id))
        .collect();
    gone.iter().filter_map(|id| map.remove(id)).collect()
}

/// The versions a prune took out of the map, to be dropped once the map's lock (and the
/// checkpoint's) is released: freeing a few hundred thousand versions takes long enough
/// to hold up the readers and the writer that wait for the lock.
#[must_use = "dropping the pruned versions where the lock is held is what this avoids"]
pub struct Pruned {
    _nodes: Vec<Chain<Node>>,
    _edges: Vec<Chain<Edge>>,
}

fn publish<T>(map: &mut IdMap<Chain<T>>, txn: u64, records: IdMap<T>, keep_from: u64) {
    map.reserve(records.len());
    for (id, r) in records {
        match map.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let chain = e.get_mut();
                chain.push((txn, r));
                chain.forget_before(keep_from);
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
    /// Returns how many records the map holds versions of now.
    pub fn publish(
        &mut self,
        txn: u64,
        nodes: IdMap<Node>,
        edges: IdMap<Edge>,
        keep_from: u64,
    ) -> usize {
        publish(&mut self.nodes, txn, nodes, keep_from);
        publish(&mut self.edges, txn, edges, keep_from);
        self.nodes.len() + self.edges.len()
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
        Pruned {
            _nodes: prune(&mut self.nodes, upto),
            _edges: prune(&mut self.edges, upto),
        }
    }
}
