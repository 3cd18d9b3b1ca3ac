//! The integrity check: every invariant the engine keeps, verified on the latest snapshot.

use crate::error::{Error, Result};
use crate::format::record::FLAG_DELETED;
use crate::graph::NodeCursor;
use crate::store::{Adj, FreeSpace, Props};
use crate::txn::Txn;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// What `check_integrity` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Node slots examined.
    pub nodes_checked: u64,
    /// Edge slots examined.
    pub edges_checked: u64,
    /// Problems found.
    pub problems: u64,
    /// The first problem ("" when none).
    pub first_problem: String,
}

impl CheckReport {
    fn problem(&mut self, msg: impl FnOnce() -> String) {
        if self.problems == 0 {
            self.first_problem = msg();
        }
        self.problems += 1;
    }

    /// A record read: damage becomes a problem (and `None`); other errors end the check.
    fn read<T>(&mut self, r: Result<Option<T>>) -> Result<Option<T>> {
        match r {
            Err(Error::Corrupt(m)) => {
                self.problem(|| m);
                Ok(None)
            }
            other => other,
        }
    }
}

/// Checks node `node`'s adjacency: a blob in the heap must verify and lie outside free
/// space; each entry must name a live edge with these endpoints and this type. Returns the
/// number of outgoing and incoming entries.
fn check_adj(
    txn: &Txn,
    r: &mut CheckReport,
    node: u64,
    adj: &Adj,
    free: &mut Arc<FreeSpace>,
) -> Result<(u64, u64)> {
    let who = || format!("node {node}");
    let list = match adj {
        Adj::None => return Ok((0, 0)),
        Adj::Mem(l) => Arc::clone(l),
        Adj::Heap(off) => {
            let store = &txn.shared().store;
            match store.read_adj(&store.heap.current(), *off) {
                Ok(l) => {
                    overlap_free(txn, r, *off, "adjacency", free, &who);
                    Arc::new(l)
                }
                Err(e) => {
                    r.problem(|| format!("{}: {e}", who()));
                    return Ok((0, 0));
                }
            }
        }
    };
    if list.is_empty() {
        r.problem(|| format!("node {node}: an empty adjacency list is stored"));
    }
    let mut counts = [0u64; 2];
    let view = list.view();
    for out in [true, false] {
        let dir = if out { "outgoing" } else { "incoming" };
        for g in view.groups(out) {
            for (id, nbr) in (g.start..g.start + g.count).map(|i| view.entry(i)) {
                counts[usize::from(!out)] += 1;
                let e = match r.read(txn.edge(id))? {
                    Some(e) if e.is_live() => e,
                    _ => {
                        r.problem(|| format!("node {node}: {dir} edge {id} does not exist"));
                        continue;
                    }
                };
                let (this, other) = if out { (e.src, e.dst) } else { (e.dst, e.src) };
                if (this, other, e.etype) != (node, nbr, g.etype) {
                    r.problem(|| {
                        format!(
                            "node {node}: {dir} entry (edge {id}, neighbour {nbr}, type {}) \
                             does not match the edge ({} -> {}, type {})",
                            g.etype, e.src, e.dst, e.etype
                        )
                    });
                }
            }
        }
    }
    Ok((counts[0], counts[1]))
}

/// Checks every node and edge visible to `txn`, and the heap's free list.
pub fn check(txn: &Txn) -> Result<CheckReport> {
    let mut r = CheckReport::default();
    let snap = txn.snapshot();
    // The list the newest meta slot names must verify; the list the next checkpoint will
    // place blobs in (that one, less what a recovery took out of it) must hold no blob
    // this snapshot names (see ARCHITECTURE.md, "Space reuse").
    let shared = txn.shared();
    let store = &shared.store;
    if let Err(e) = store.current_meta().map(|m| store.free_list(&m))? {
        r.problem(|| format!("{}: {e}", store.heap.path().display()));
    }
    let mut free = shared.free_list();
    let (mut live_nodes, mut live_edges, mut in_chains, mut out_chains) = (0u64, 0u64, 0u64, 0u64);
    let mut by_label: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for id in 1..snap.next_node {
        r.nodes_checked += 1;
        let Some(n) = r.read(txn.node(id))? else {
            continue;
        };
        if n.flags == FLAG_DELETED {
            if n.adj != Adj::None {
                r.problem(|| format!("deleted node {id} still has edges"));
            }
            continue;
        }
        live_nodes += 1;
        by_label.entry(n.label).or_default().push(id);
        if txn.name_of(n.label).is_err() {
            r.problem(|| format!("node {id}: label id {} is not in the string table", n.label));
        }
        check_props(txn, &mut r, &n.props, &mut free, || format!("node {id}"));
        let (o, i) = check_adj(txn, &mut r, id, &n.adj, &mut free)?;
        out_chains += o;
        in_chains += i;
    }
    for id in 1..snap.next_edge {
        r.edges_checked += 1;
        let Some(e) = r.read(txn.edge(id))? else {
            continue;
        };
        if !e.is_live() {
            continue;
        }
        live_edges += 1;
        for (end, what) in [(e.src, "source"), (e.dst, "destination")] {
            if !r.read(txn.node(end))?.is_some_and(|n| n.is_live()) {
                r.problem(|| format!("edge {id}: {what} node {end} does not exist"));
            }
        }
        if txn.name_of(e.etype).is_err() {
            r.problem(|| format!("edge {id}: type id {} is not in the string table", e.etype));
        }
        check_props(txn, &mut r, &e.props, &mut free, || format!("edge {id}"));
    }
    if out_chains != live_edges || in_chains != live_edges {
        r.problem(|| {
            format!(
                "{live_edges} live edges, but {out_chains} in outgoing adjacency lists and \
                 {in_chains} in incoming ones"
            )
        });
    }
    // The label index finds exactly the live nodes of each label, in id order (and reads
    // cleanly for labels whose nodes are all gone).
    match shared.label_index() {
        Ok(ix) => {
            for label in ix.labels() {
                by_label.entry(label).or_default();
            }
        }
        Err(Error::Corrupt(m)) => r.problem(|| m),
        Err(e) => return Err(e),
    }
    for (label, want) in &by_label {
        let got = NodeCursor::open(txn, Some(*label)).and_then(|mut c| {
            let mut v = Vec::new();
            while let Some(id) = c.next(txn)? {
                v.push(id);
            }
            Ok(v)
        });
        match got {
            Ok(got) if got == *want => {}
            Ok(got) => {
                let (g, w): (HashSet<&u64>, HashSet<&u64>) =
                    (got.iter().collect(), want.iter().collect());
                let missing = want.iter().find(|id| !g.contains(id));
                let extra = got.iter().find(|id| !w.contains(id));
                r.problem(|| {
                    format!(
                        "{}: label {label}: the index finds {} nodes, a scan {} (first missing \
                         {missing:?}, first extra {extra:?})",
                        store.labels.path().display(),
                        got.len(),
                        want.len()
                    )
                });
            }
            Err(Error::Corrupt(m)) => r.problem(|| m),
            Err(e) => return Err(e),
        }
    }
    if (live_nodes, live_edges) != (snap.live_nodes, snap.live_edges) {
        r.problem(|| {
            format!(
                "counted {live_nodes} nodes and {live_edges} edges; the snapshot says {} and {}",
                snap.live_nodes, snap.live_edges
            )
        });
    }
    Ok(r)
}

fn check_props(
    txn: &Txn,
    r: &mut CheckReport,
    props: &Props,
    free: &mut Arc<FreeSpace>,
    who: impl Fn() -> String,
) {
    match txn.blob(props) {
        Ok(b) => {
            // A blob that verifies must not lie in free space.
            if let Props::Heap(off) = props {
                overlap_free(txn, r, *off, "property", free, &who);
            }
            let mut seen = std::collections::HashSet::new();
            for (k, _) in b.iter() {
                if txn.name_of(k).is_err() {
                    r.problem(|| {
                        format!("{}: property key id {k} is not in the string table", who())
                    });
                }
                if !seen.insert(k) {
                    r.problem(|| format!("{}: property key {k} appears twice", who()));
                }
            }
        }
        Err(e) => r.problem(|| format!("{}: {e}", who())),
    }
}

/// Reports a verified heap blob that lies (partly) in space the free list calls free.
fn overlap_free(
    txn: &Txn,
    r: &mut CheckReport,
    off: u64,
    kind: &str,
    free: &mut Arc<FreeSpace>,
    who: &impl Fn() -> String,
) {
    {
        let store = &txn.shared().store;
        if let Ok(b) = store.blob_bytes(&store.heap.current(), off) {
            let n = b.len() as u64;
            if free.overlaps(off, n) {
                // A checkpoint may have completed since the list was read (and placed this
                // blob in space its predecessor's list called free): the newest list is
                // the one to hold against a record read now.
                *free = txn.shared().free_list();
            }
            if free.overlaps(off, n) {
                r.problem(|| {
                    format!(
                        "{}: {}: its {kind} blob at offset {off} ({} bytes) lies in space \
                         the free list calls free",
                        store.heap.path().display(),
                        who(),
                        b.len()
                    )
                });
            }
        }
    }
}
