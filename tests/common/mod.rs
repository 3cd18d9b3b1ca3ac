//! Helpers shared by the API, concurrency and model tests: scratch directories and a
//! full dump of the graph as one transaction sees it.

#![allow(dead_code, reason = "each test crate uses a different subset")]

use quiver::{Database, Dir, Error, Txn, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A scratch directory removed on drop.
pub struct Scratch {
    pub root: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "qv-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Scratch { root }
    }

    /// The path of a database directory inside the scratch directory.
    pub fn db(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Asserts that `db` passes its integrity check.
pub fn assert_clean(db: &Database) {
    let r = db.check_integrity().unwrap();
    assert_eq!(r.problems, 0, "integrity check: {}", r.first_problem);
}

/// Asserts `r` is the error `want` names (by variant).
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: Result<T, Error>, want: &str) {
    let name = match &r {
        Ok(v) => panic!("expected {want}, got Ok({v:?})"),
        Err(e) => variant(e),
    };
    assert_eq!(name, want, "expected {want}, got {:?}", r.err());
}

/// The variant name of an error.
pub fn variant(e: &Error) -> &'static str {
    match e {
        Error::NotFound(_) => "NotFound",
        Error::InvalidArgument(_) => "InvalidArgument",
        Error::Misuse(_) => "Misuse",
        Error::Busy(_) => "Busy",
        Error::Locked(_) => "Locked",
        Error::ReadOnly(_) => "ReadOnly",
        Error::Constraint(_) => "Constraint",
        Error::Io { .. } => "Io",
        Error::Full { .. } => "Full",
        Error::Corrupt(_) => "Corrupt",
        Error::Format(_) => "Format",
        Error::Poisoned(_) => "Poisoned",
        Error::Internal(_) => "Internal",
    }
}

/// Ids a node cursor yields.
pub fn node_ids(t: &Txn, label: Option<&str>) -> Vec<u64> {
    try_node_ids(t, label).unwrap()
}

/// [`node_ids`], returning the first error a read reports.
pub fn try_node_ids(t: &Txn, label: Option<&str>) -> Result<Vec<u64>, Error> {
    let mut c = t.nodes(label)?;
    let mut v = Vec::new();
    while let Some(id) = c.next(t)? {
        v.push(id);
    }
    Ok(v)
}

/// Ids an edge cursor yields, in cursor order.
pub fn edge_ids(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Vec<u64> {
    try_edge_ids(t, node, dir, etype).unwrap()
}

/// [`edge_ids`], returning the first error a read reports.
pub fn try_edge_ids(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Result<Vec<u64>, Error> {
    let mut c = t.edges(node, dir, etype)?;
    let mut v = Vec::new();
    while let Some(e) = c.next(t)? {
        v.push(e.id);
    }
    Ok(v)
}

/// Same, sorted.
pub fn edge_set(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Vec<u64> {
    let mut v = edge_ids(t, node, dir, etype);
    v.sort_unstable();
    v
}

/// A node as a dump holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDump {
    pub label: String,
    pub props: BTreeMap<String, Value>,
    pub out: Vec<u64>,
    pub inc: Vec<u64>,
    pub both: Vec<u64>,
}

/// An edge as a dump holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeDump {
    pub src: u64,
    pub dst: u64,
    pub etype: String,
    pub props: BTreeMap<String, Value>,
}

/// The whole graph as one transaction sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dump {
    pub nodes: BTreeMap<u64, NodeDump>,
    pub edges: BTreeMap<u64, EdgeDump>,
}

/// Reads the whole graph through the public API: every node (labels, properties, adjacency
/// in each direction) and every edge reached from them (endpoints, type, and the
/// properties among `edge_keys`; the API has no call listing an edge's keys). Edge
/// cursors must agree with `get_edge`, and both ends of an edge must list it.
pub fn dump(t: &Txn, edge_keys: &[&str]) -> Dump {
    try_dump(t, edge_keys).unwrap()
}

/// [`dump`], returning the first error a read reports (damaged files are reported there).
pub fn try_dump(t: &Txn, edge_keys: &[&str]) -> Result<Dump, Error> {
    let mut d = Dump::default();
    for id in try_node_ids(t, None)? {
        let label = t.node_label(id)?.to_str().unwrap().to_string();
        let props = t
            .node_props(id)?
            .into_iter()
            .map(|(k, v)| (k.to_str().unwrap().to_string(), v.to_owned()))
            .collect();
        let mut out = Vec::new();
        let mut c = t.edges(id, Dir::Out, None)?;
        while let Some(e) = c.next(t)? {
            assert_eq!(e.src, id, "edge {} in node {id}'s outgoing list", e.id);
            assert_eq!(t.get_edge(e.id)?, e);
            out.push(e.id);
            d.edges.entry(e.id).or_insert_with(|| EdgeDump {
                src: e.src,
                dst: e.dst,
                etype: t.name_of(e.etype).unwrap().to_str().unwrap().to_string(),
                props: BTreeMap::new(),
            });
            for k in edge_keys {
                if let Some(v) = t.edge_prop(e.id, k)? {
                    let ed = d.edges.get_mut(&e.id).unwrap();
                    ed.props.insert(k.to_string(), v.to_owned());
                }
            }
        }
        out.sort_unstable();
        let mut inc = try_edge_ids(t, id, Dir::In, None)?;
        inc.sort_unstable();
        let mut both = try_edge_ids(t, id, Dir::Both, None)?;
        both.sort_unstable();
        for dir in [Dir::Out, Dir::In, Dir::Both] {
            assert_eq!(
                t.degree(id, dir, None)?,
                try_edge_ids(t, id, dir, None)?.len() as u64
            );
        }
        d.nodes.insert(
            id,
            NodeDump {
                label,
                props,
                out,
                inc,
                both,
            },
        );
    }
    for (id, n) in &d.nodes {
        for e in &n.inc {
            assert_eq!(d.edges[e].dst, *id, "edge {e} in node {id}'s incoming list");
        }
        let mut both: Vec<u64> = n.out.iter().chain(&n.inc).copied().collect();
        both.sort_unstable();
        both.dedup();
        assert_eq!(n.both, both, "node {id}: Both is Out ∪ In, each edge once");
    }
    Ok(d)
}

/// Opens (creating) a database with default options.
pub fn open(path: &Path) -> Database {
    Database::open(path, &quiver::Options::default()).unwrap()
}
