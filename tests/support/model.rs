//! The graph model the tests compare a database with: [`Graph`] (live nodes and edges by
//! id, each with every property), [`read_txn`] (the whole graph one transaction sees
//! through the public API, cross-checked on the way) and [`compare`] (that graph, plus
//! label scans, point reads and typed adjacency, against a model).
//!
//! It uses nothing but `quiver` and `std`, so the fuzz target `api_model` includes this
//! file as it is (`#[path]`).

#![allow(dead_code, reason = "each test crate uses a different subset")]

use quiver::{Database, Dir, Error, Txn, Value};
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt::Debug;

/// A property value compared bit for bit (NaN equals itself; 0.0 and -0.0 differ).
#[derive(Debug, Clone)]
pub struct V(pub Value);

impl PartialEq for V {
    fn eq(&self, other: &V) -> bool {
        match (&self.0, &other.0) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }
}

/// A node: its label and properties. `P` is the property value (the C ABI tests keep
/// their own).
#[derive(Debug, Clone, PartialEq)]
pub struct Node<P = V> {
    pub label: String,
    pub props: BTreeMap<String, P>,
}

impl<P> Node<P> {
    /// A node without properties.
    pub fn new(label: &str) -> Node<P> {
        Node {
            label: label.to_string(),
            props: BTreeMap::new(),
        }
    }
}

/// An edge: its ends, type and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge<P = V> {
    pub src: u64,
    pub dst: u64,
    pub etype: String,
    pub props: BTreeMap<String, P>,
}

impl<P> Edge<P> {
    /// An edge without properties.
    pub fn new(src: u64, dst: u64, etype: &str) -> Edge<P> {
        Edge {
            src,
            dst,
            etype: etype.to_string(),
            props: BTreeMap::new(),
        }
    }
}

/// The whole graph: live nodes and live edges by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph<P = V> {
    pub nodes: BTreeMap<u64, Node<P>>,
    pub edges: BTreeMap<u64, Edge<P>>,
}

impl<P> Default for Graph<P> {
    fn default() -> Graph<P> {
        Graph {
            nodes: BTreeMap::new(),
            edges: BTreeMap::new(),
        }
    }
}

impl<P> Graph<P> {
    /// Edges of node `n` in direction `dir` (of type `etype`, if given), in id order; a
    /// self-loop once.
    pub fn adjacent(&self, n: u64, dir: Dir, etype: Option<&str>) -> Vec<u64> {
        self.edges
            .iter()
            .filter(|(_, e)| match dir {
                Dir::Out => e.src == n,
                Dir::In => e.dst == n,
                Dir::Both => e.src == n || e.dst == n,
            })
            .filter(|(_, e)| etype.is_none_or(|t| e.etype == t))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether node `n` has any edge.
    pub fn has_edges(&self, n: u64) -> bool {
        self.edges.values().any(|e| e.src == n || e.dst == n)
    }

    /// Removes node `n` and its edges (a detaching delete).
    pub fn remove_node(&mut self, n: u64) {
        self.edges.retain(|_, e| e.src != n && e.dst != n);
        self.nodes.remove(&n);
    }

    /// The properties of live node (`on_node`) or edge `id`.
    pub fn props_mut(&mut self, on_node: bool, id: u64) -> &mut BTreeMap<String, P> {
        if on_node {
            &mut self.nodes.get_mut(&id).expect("live node").props
        } else {
            &mut self.edges.get_mut(&id).expect("live edge").props
        }
    }
}

impl<P: PartialEq + Debug> Graph<P> {
    /// How `got` differs from `self`, the expected graph: the counts, then at most 12
    /// differing records.
    pub fn diff(&self, got: &Graph<P>) -> String {
        fn records<T: PartialEq + Debug>(
            kind: &str,
            want: &BTreeMap<u64, T>,
            got: &BTreeMap<u64, T>,
            out: &mut Vec<String>,
        ) {
            let ids: std::collections::BTreeSet<&u64> = want.keys().chain(got.keys()).collect();
            for id in ids {
                match (want.get(id), got.get(id)) {
                    (Some(a), Some(b)) if a == b => {}
                    (Some(a), Some(b)) => {
                        out.push(format!("{kind} {id}: expected {a:?}, got {b:?}"))
                    }
                    (Some(a), None) => out.push(format!("{kind} {id}: expected {a:?}, missing")),
                    (None, Some(b)) => out.push(format!("{kind} {id}: unexpected {b:?}")),
                    (None, None) => {}
                }
            }
        }
        let mut out = Vec::new();
        records("node", &self.nodes, &got.nodes, &mut out);
        records("edge", &self.edges, &got.edges, &mut out);
        let n = out.len();
        out.truncate(12);
        if n > 12 {
            out.push(format!("... {} more differences", n - 12));
        }
        format!(
            "expected {} nodes {} edges, got {} nodes {} edges; {n} differences:\n  {}",
            self.nodes.len(),
            self.edges.len(),
            got.nodes.len(),
            got.edges.len(),
            out.join("\n  ")
        )
    }
}

/// A value for a trace line: long strings and bytes by their length.
pub fn short(v: &Value) -> String {
    match v {
        Value::Bytes(b) if b.len() > 16 => format!("Bytes(len {})", b.len()),
        Value::String(s) if s.len() > 24 => format!("String(len {})", s.len()),
        other => format!("{other:?}"),
    }
}

/// The variant name of an error ("NotFound", "Corrupt", ...).
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
        Error::Interrupted(_) => "Interrupted",
    }
}

/// `r` as a test failure message, naming the call.
pub fn ok<T>(r: Result<T, Error>, what: &str) -> Result<T, String> {
    r.map_err(|e| format!("{what}: unexpected error {}: {e}", variant(&e)))
}

/// `r` must be the error named `want` (by variant), or succeed when `want` is None.
pub fn expect<T: Debug>(r: Result<T, Error>, want: Option<&str>, what: &str) -> Result<(), String> {
    match (&r, want) {
        (Ok(_), None) => Ok(()),
        (Err(e), Some(w)) if variant(e) == w => Ok(()),
        (Err(e), _) => Err(format!(
            "{what}: expected {want:?}, got {}: {e}",
            variant(e)
        )),
        (Ok(v), Some(w)) => Err(format!("{what}: expected {w}, got Ok({v:?})")),
    }
}

/// Asserts `r` is the error named `want` (by variant).
#[track_caller]
pub fn assert_err<T: Debug>(r: Result<T, Error>, want: &str) {
    if let Err(m) = expect(r, Some(want), "the call") {
        panic!("{m}");
    }
}

/// Ids a node cursor yields, in cursor order.
pub fn try_node_ids(t: &Txn, label: Option<&str>) -> quiver::Result<Vec<u64>> {
    let mut c = t.nodes(label)?;
    let mut v = Vec::new();
    while let Some(id) = c.next(t)? {
        v.push(id);
    }
    Ok(v)
}

/// [`try_node_ids`], panicking on an error.
#[track_caller]
pub fn node_ids(t: &Txn, label: Option<&str>) -> Vec<u64> {
    try_node_ids(t, label).expect("node cursor")
}

/// Ids an edge cursor yields, in cursor order.
pub fn try_edge_ids(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> quiver::Result<Vec<u64>> {
    let mut c = t.edges(node, dir, etype)?;
    let mut v = Vec::new();
    while let Some(e) = c.next()? {
        v.push(e.id);
    }
    Ok(v)
}

/// [`try_edge_ids`], panicking on an error.
#[track_caller]
pub fn edge_ids(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Vec<u64> {
    try_edge_ids(t, node, dir, etype).expect("edge cursor")
}

/// [`edge_ids`], sorted.
#[track_caller]
pub fn edge_set(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Vec<u64> {
    let mut v = edge_ids(t, node, dir, etype);
    v.sort_unstable();
    v
}

/// An identifier the engine returned, as a `String` (an error if it is not UTF-8).
pub fn utf8(c: &CStr, what: &str) -> Result<String, String> {
    c.to_str()
        .map(str::to_owned)
        .map_err(|_| format!("{what}: not UTF-8: {c:?}"))
}

/// Every property of node (`on_node`) or edge `id`, each also read back by its key.
pub fn read_props(t: &Txn, on_node: bool, id: u64) -> Result<BTreeMap<String, V>, String> {
    let what = format!("{} {id}", if on_node { "node" } else { "edge" });
    let pairs = ok(
        if on_node {
            t.node_props(id)
        } else {
            t.edge_props(id)
        },
        &what,
    )?;
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        let k = utf8(k, &what)?;
        let v = V(v.to_owned());
        let point = if on_node {
            t.node_prop(id, &k)
        } else {
            t.edge_prop(id, &k)
        };
        let point = ok(point, &format!("{what} key {k}"))?.map(|v| V(v.to_owned()));
        if point.as_ref() != Some(&v) {
            return Err(format!(
                "{what} key {k}: listed as {v:?}, read as {point:?}"
            ));
        }
        if m.insert(k.clone(), v).is_some() {
            return Err(format!("{what}: key {k:?} listed twice"));
        }
    }
    Ok(m)
}

/// Reads the whole graph `t` sees through the public API: the nodes (in id order) with
/// their labels and every property, the edges (from the outgoing chains) with their ends,
/// types and every property. On the way it checks that point reads agree with the
/// listings, `get_edge` with the cursors, the incoming chains with the outgoing ones, the
/// `Both` cursor with `Out` ∪ `In` (each edge once), and degrees with the cursors. A read
/// error (a damaged file is reported there) or a disagreement is the `Err`.
pub fn read_txn(t: &Txn) -> Result<Graph, String> {
    let mut g = Graph::default();
    let ids = ok(try_node_ids(t, None), "node cursor")?;
    if !ids.is_sorted_by(|a, b| a < b) {
        return Err(format!("the node cursor is not in id order: {ids:?}"));
    }
    let mut incoming = BTreeMap::new();
    for &id in &ids {
        let what = format!("node {id}");
        let label = utf8(ok(t.node_label(id), &what)?, &what)?;
        let props = read_props(t, true, id)?;
        g.nodes.insert(id, Node { label, props });
        let mut out = Vec::new();
        let mut c = ok(t.edges(id, Dir::Out, None), &what)?;
        while let Some(e) = ok(c.next(), &what)? {
            let ewhat = format!("edge {}", e.id);
            let info = ok(t.get_edge(e.id), &ewhat)?;
            if info != e || e.src != id {
                return Err(format!(
                    "node {id}'s outgoing cursor gives {e:?}, get_edge {info:?}"
                ));
            }
            let etype = utf8(ok(t.name_of(e.etype), &ewhat)?, &ewhat)?;
            let props = read_props(t, false, e.id)?;
            let edge = Edge {
                src: e.src,
                dst: e.dst,
                etype,
                props,
            };
            if g.edges.insert(e.id, edge).is_some() {
                return Err(format!(
                    "edge {} yielded twice by the outgoing cursors",
                    e.id
                ));
            }
            out.push(e.id);
        }
        let mut c = ok(t.edges(id, Dir::In, None), &what)?;
        let mut inc = Vec::new();
        while let Some(e) = ok(c.next(), &what)? {
            if e.dst != id {
                return Err(format!("node {id}'s incoming cursor gives {e:?}"));
            }
            incoming.insert(e.id, (e.src, e.dst));
            inc.push(e.id);
        }
        let mut both = ok(try_edge_ids(t, id, Dir::Both, None), &what)?;
        both.sort_unstable();
        let mut union: Vec<u64> = out.iter().chain(&inc).copied().collect();
        union.sort_unstable();
        union.dedup();
        if both != union {
            return Err(format!(
                "node {id}: Both yields {both:?}, Out ∪ In is {union:?}"
            ));
        }
        for (dir, n) in [
            (Dir::Out, out.len()),
            (Dir::In, inc.len()),
            (Dir::Both, both.len()),
        ] {
            let d = ok(t.degree(id, dir, None), &what)?;
            if d != n as u64 {
                return Err(format!(
                    "node {id}: degree {dir:?} is {d}, the cursor yields {n}"
                ));
            }
        }
    }
    let outgoing: BTreeMap<u64, (u64, u64)> = g
        .edges
        .iter()
        .map(|(id, e)| (*id, (e.src, e.dst)))
        .collect();
    if outgoing != incoming {
        return Err(format!(
            "the outgoing and incoming chains disagree: {outgoing:?} vs {incoming:?}"
        ));
    }
    Ok(g)
}

/// The graph of the latest snapshot of `db`.
pub fn read_graph(db: &Database) -> Result<Graph, String> {
    read_txn(&ok(db.begin_read(), "begin_read")?)
}

/// [`read_txn`], panicking on an error.
#[track_caller]
pub fn dump(t: &Txn) -> Graph {
    read_txn(t).unwrap_or_else(|e| panic!("reading the graph: {e}"))
}

/// The names a workload uses: [`compare`] scans each label and reads each key of every
/// record (whether set or not), and follows each edge type.
#[derive(Clone, Copy)]
pub struct Names<'a> {
    pub labels: &'a [&'a str],
    pub types: &'a [&'a str],
    pub keys: &'a [&'a str],
}

/// Everything `t` shows must equal `want`: the whole graph ([`read_txn`]), the live
/// counts, the scan of each label, each key of each record read by name, and each node's
/// edges and degree in every direction, untyped and by type. With `sample`, one edge type
/// per node (the one `sample(node id)` picks) instead of every type.
pub fn compare(
    t: &Txn,
    want: &Graph,
    names: &Names<'_>,
    mut sample: Option<&mut dyn FnMut(u64) -> usize>,
) -> Result<(), String> {
    let got = read_txn(t)?;
    if got != *want {
        return Err(format!(
            "the graph differs from the model: {}",
            want.diff(&got)
        ));
    }
    let counts = t.live_counts();
    if counts != (want.nodes.len() as u64, want.edges.len() as u64) {
        return Err(format!(
            "live counts {counts:?}, model {:?}",
            (want.nodes.len(), want.edges.len())
        ));
    }
    for &l in names.labels {
        let model: Vec<u64> = want
            .nodes
            .iter()
            .filter(|(_, n)| n.label == l)
            .map(|(id, _)| *id)
            .collect();
        let engine = ok(try_node_ids(t, Some(l)), "label scan")?;
        if engine != model {
            return Err(format!(
                "nodes labelled {l}: engine {engine:?}, model {model:?}"
            ));
        }
    }
    let same = |engine: Option<quiver::ValueRef<'_>>, model: Option<&V>, what: String| {
        let engine = engine.map(|v| V(v.to_owned()));
        if engine.as_ref() == model {
            Ok(())
        } else {
            Err(format!("{what}: engine {engine:?}, model {model:?}"))
        }
    };
    for (&id, node) in &want.nodes {
        for &k in names.keys {
            let what = format!("node {id} key {k}");
            same(ok(t.node_prop(id, k), &what)?, node.props.get(k), what)?;
        }
        let types: Vec<Option<&str>> = match sample.as_mut() {
            None => [None]
                .into_iter()
                .chain(names.types.iter().map(|t| Some(*t)))
                .collect(),
            Some(pick) => vec![None, Some(names.types[pick(id) % names.types.len()])],
        };
        for dir in [Dir::Out, Dir::In, Dir::Both] {
            for &ty in &types {
                let model = want.adjacent(id, dir, ty);
                let what = format!("edges of node {id} {dir:?} {ty:?}");
                let mut engine = ok(try_edge_ids(t, id, dir, ty), &what)?;
                engine.sort_unstable();
                let degree = ok(t.degree(id, dir, ty), &what)?;
                if engine != model || degree != model.len() as u64 {
                    return Err(format!(
                        "{what}: engine {engine:?} (degree {degree}), model {model:?}"
                    ));
                }
            }
        }
    }
    for (&id, edge) in &want.edges {
        for &k in names.keys {
            let what = format!("edge {id} key {k}");
            same(ok(t.edge_prop(id, k), &what)?, edge.props.get(k), what)?;
        }
    }
    Ok(())
}

/// The node and edge counts of `db`'s stats must be those of `want`.
pub fn check_counts(db: &Database, want: &Graph) -> Result<(), String> {
    let st = db.stats();
    let model = (want.nodes.len() as u64, want.edges.len() as u64);
    if (st.nodes, st.edges) != model {
        return Err(format!(
            "stats count {:?} nodes and edges, the model {model:?}",
            (st.nodes, st.edges)
        ));
    }
    Ok(())
}

/// `db`'s integrity check must find nothing.
pub fn check_clean(db: &Database) -> Result<(), String> {
    let r = ok(db.check_integrity(), "check_integrity")?;
    if r.problems != 0 {
        return Err(format!(
            "integrity check: {} problem(s), first: {}",
            r.problems, r.first_problem
        ));
    }
    Ok(())
}

/// Inserts a node labelled `label` in the transaction and in the model.
pub fn add_node(t: &mut Txn, w: &mut Graph, label: &str) -> quiver::Result<u64> {
    let id = t.insert_node(label)?;
    w.nodes.insert(id, Node::new(label));
    Ok(id)
}

/// Inserts an edge in the transaction and in the model.
pub fn add_edge(
    t: &mut Txn,
    w: &mut Graph,
    src: u64,
    dst: u64,
    etype: &str,
) -> quiver::Result<u64> {
    let id = t.insert_edge(src, dst, etype)?;
    w.edges.insert(id, Edge::new(src, dst, etype));
    Ok(id)
}

/// Sets property `key` of node (`on_node`) or edge `id` to `v`, in the transaction and in
/// the model.
pub fn set_prop(
    t: &mut Txn,
    w: &mut Graph,
    on_node: bool,
    id: u64,
    key: &str,
    v: Value,
) -> quiver::Result<()> {
    if on_node {
        t.set_node_prop(id, key, v.as_ref())?;
    } else {
        t.set_edge_prop(id, key, v.as_ref())?;
    }
    w.props_mut(on_node, id).insert(key.to_string(), V(v));
    Ok(())
}

/// [`set_prop`] on a node.
pub fn set_node(t: &mut Txn, w: &mut Graph, id: u64, key: &str, v: Value) -> quiver::Result<()> {
    set_prop(t, w, true, id, key, v)
}

/// [`set_prop`] on an edge.
pub fn set_edge(t: &mut Txn, w: &mut Graph, id: u64, key: &str, v: Value) -> quiver::Result<()> {
    set_prop(t, w, false, id, key, v)
}

/// Unsets property `key` of node (`on_node`) or edge `id`, in the transaction and in the
/// model.
pub fn unset_prop(
    t: &mut Txn,
    w: &mut Graph,
    on_node: bool,
    id: u64,
    key: &str,
) -> quiver::Result<()> {
    if on_node {
        t.unset_node_prop(id, key)?;
    } else {
        t.unset_edge_prop(id, key)?;
    }
    w.props_mut(on_node, id).remove(key);
    Ok(())
}
