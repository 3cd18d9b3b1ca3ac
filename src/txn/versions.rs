//! The version map: every record version committed since the last checkpoint, keyed by
//! record id, each tagged with the id of the transaction that committed it. A reader at
//! snapshot S takes the newest version not newer than S; with none, it reads the data
//! file, which then holds the right version (see `checkpoint`).

use crate::store::{Edge, IdMap, Node};

/// Versions of one record, oldest first.
type Chain<T> = Vec<(u64, T)>;

/// Records with their ids, sorted by id.
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
    chain
        .iter()
        .rev()
        .find(|(v, _)| *v <= snap)
        .map(|(_, r)| r.clone())
}

fn prune<T>(map: &mut IdMap<Chain<T>>, upto: u64) {
    map.retain(|_, chain| {
        chain.retain(|(v, _)| *v > upto);
        !chain.is_empty()
    });
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

    /// Adds the records written by transaction `txn`.
    pub fn publish(&mut self, txn: u64, nodes: IdMap<Node>, edges: IdMap<Edge>) {
        self.nodes.reserve(nodes.len());
        for (id, n) in nodes {
            self.nodes.entry(id).or_default().push((txn, n));
        }
        self.edges.reserve(edges.len());
        for (id, e) in edges {
            self.edges.entry(id).or_default().push((txn, e));
        }
    }

    /// The newest version not newer than `snap` of every record that has one, sorted by id.
    pub fn newest_upto(&self, snap: u64) -> (Newest<Node>, Newest<Edge>) {
        let mut n: Vec<(u64, Node)> = self
            .nodes
            .iter()
            .filter_map(|(id, c)| at(c, snap).map(|r| (*id, r)))
            .collect();
        let mut e: Vec<(u64, Edge)> = self
            .edges
            .iter()
            .filter_map(|(id, c)| at(c, snap).map(|r| (*id, r)))
            .collect();
        n.sort_unstable_by_key(|(id, _)| *id);
        e.sort_unstable_by_key(|(id, _)| *id);
        (n, e)
    }

    /// Drops every version not newer than `upto` (the data file now holds them).
    pub fn prune(&mut self, upto: u64) {
        prune(&mut self.nodes, upto);
        prune(&mut self.edges, upto);
    }

    /// Whether no version is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }
}
