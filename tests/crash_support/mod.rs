//! Support for `tests/crash.rs`: a SplitMix64 generator, an in-memory model of the graph,
//! a deterministic mixed workload that drives a database and the model side by side
//! (recording the model after every acknowledged commit and the sync count at which the
//! commit returned), a reader that dumps a whole database, and directory helpers.

#![allow(dead_code, reason = "not every test uses every helper")]

use quiver::testing::FaultStorage;
use quiver::{Database, Dir, Error, Options, Txn, Value, ValueRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64: a small, fast, deterministic generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// A property value compared bit for bit (so NaN equals itself and -0.0 differs from 0.0).
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

/// A node of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct MNode {
    /// Label.
    pub label: String,
    /// Properties.
    pub props: BTreeMap<String, V>,
}

/// An edge of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct MEdge {
    /// Source node.
    pub src: u64,
    /// Destination node.
    pub dst: u64,
    /// Edge type.
    pub etype: String,
    /// Properties.
    pub props: BTreeMap<String, V>,
}

/// The whole graph: live nodes and live edges by id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Live nodes.
    pub nodes: BTreeMap<u64, MNode>,
    /// Live edges.
    pub edges: BTreeMap<u64, MEdge>,
}

impl Graph {
    /// Edges with `node` as source or destination.
    pub fn incident(&self, node: u64) -> Vec<u64> {
        self.edges
            .iter()
            .filter(|(_, e)| e.src == node || e.dst == node)
            .map(|(id, _)| *id)
            .collect()
    }

    /// A short description of how `self` differs from `other` (empty when equal).
    pub fn diff(&self, other: &Graph) -> String {
        let mut out = Vec::new();
        for (id, n) in &self.nodes {
            match other.nodes.get(id) {
                None => out.push(format!("node {id} only on the left")),
                Some(m) if m != n => out.push(format!("node {id}: {n:?} vs {m:?}")),
                _ => {}
            }
        }
        for id in other.nodes.keys() {
            if !self.nodes.contains_key(id) {
                out.push(format!("node {id} only on the right"));
            }
        }
        for (id, e) in &self.edges {
            match other.edges.get(id) {
                None => out.push(format!("edge {id} only on the left")),
                Some(f) if f != e => out.push(format!("edge {id}: {e:?} vs {f:?}")),
                _ => {}
            }
        }
        for id in other.edges.keys() {
            if !self.edges.contains_key(id) {
                out.push(format!("edge {id} only on the right"));
            }
        }
        let n = out.len();
        out.truncate(6);
        if n > 6 {
            out.push(format!("... {} more", n - 6));
        }
        out.join("; ")
    }
}

fn name(c: &std::ffi::CStr) -> String {
    c.to_str().expect("identifier is UTF-8").to_string()
}

/// Reads the whole graph a transaction sees through the public API: nodes with labels and
/// every property, edges (from the outgoing chains) with endpoints, type and every
/// property. Cross-checks the incoming chains and point lookups on the way.
pub fn read_txn(t: &Txn) -> quiver::Result<Graph> {
    let mut g = Graph::default();
    let mut ids = Vec::new();
    let mut c = t.nodes(None)?;
    while let Some(id) = c.next(t)? {
        ids.push(id);
    }
    let mut incoming = BTreeMap::new();
    for &id in &ids {
        let label = name(t.node_label(id)?);
        let mut props = BTreeMap::new();
        for (k, v) in t.node_props(id)? {
            props.insert(name(k), V(v.to_owned()));
        }
        for (k, v) in &props {
            let got = t.node_prop(id, k)?.map(|v| V(v.to_owned()));
            assert_eq!(got.as_ref(), Some(v), "node {id} prop {k}: point lookup");
        }
        g.nodes.insert(id, MNode { label, props });
        let mut c = t.edges(id, Dir::Out, None)?;
        while let Some(e) = c.next(t)? {
            assert_eq!(e.src, id, "edge {} in node {id}'s outgoing chain", e.id);
            let mut props = BTreeMap::new();
            for (k, v) in t.edge_props(e.id)? {
                props.insert(name(k), V(v.to_owned()));
            }
            for (k, v) in &props {
                let got = t.edge_prop(e.id, k)?.map(|v| V(v.to_owned()));
                assert_eq!(
                    got.as_ref(),
                    Some(v),
                    "edge {} prop {k}: point lookup",
                    e.id
                );
            }
            let etype = name(t.name_of(e.etype)?);
            let prev = g.edges.insert(
                e.id,
                MEdge {
                    src: e.src,
                    dst: e.dst,
                    etype,
                    props,
                },
            );
            assert!(prev.is_none(), "edge {} yielded twice", e.id);
        }
        let mut c = t.edges(id, Dir::In, None)?;
        while let Some(e) = c.next(t)? {
            assert_eq!(e.dst, id, "edge {} in node {id}'s incoming chain", e.id);
            incoming.insert(e.id, (e.src, e.dst));
        }
    }
    let outgoing: BTreeMap<u64, (u64, u64)> = g
        .edges
        .iter()
        .map(|(id, e)| (*id, (e.src, e.dst)))
        .collect();
    assert_eq!(outgoing, incoming, "outgoing and incoming chains disagree");
    Ok(g)
}

/// The graph of the latest snapshot of `db`.
pub fn read_graph(db: &Database) -> quiver::Result<Graph> {
    let t = db.begin_read()?;
    read_txn(&t)
}

/// Asserts that `db`'s integrity check finds nothing.
#[track_caller]
pub fn assert_clean(db: &Database, what: &str) {
    let r = db.check_integrity().expect("check_integrity runs");
    assert_eq!(
        r.problems, 0,
        "{what}: integrity check: {} problem(s), first: {}",
        r.problems, r.first_problem
    );
}

/// A scratch directory, removed on drop unless the test failed.
pub struct Scratch {
    /// Its path.
    pub root: PathBuf,
}

impl Scratch {
    /// A new empty scratch directory (under `$QUIVER_CRASH_DIR` if set, else the system
    /// temporary directory).
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = std::env::var_os("QUIVER_CRASH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let root = base.join(format!(
            "qv-crash-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create scratch directory");
        Scratch { root }
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        } else {
            eprintln!("scratch directory kept: {}", self.root.display());
        }
    }
}

/// Copies the files of directory `src` into a new directory `dst` (replacing it).
pub fn copy_dir(src: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir") {
        let e = e.expect("dir entry");
        std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy");
    }
}

/// The log segment files in `dir`, sorted by name (that is, by number).
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("wal-"))
        })
        .collect();
    v.sort();
    v
}

/// What a workload run recorded.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// `states[c]`: the model after `c` acknowledged commits (`states[0]`: at the start).
    pub states: Vec<Graph>,
    /// `syncs[c]`: `fs.syncs()` when commit `c` returned (`syncs[0]`: at the start).
    pub syncs: Vec<u64>,
    /// Commits attempted (called), acknowledged or not.
    pub attempted: usize,
    /// Explicit checkpoints that returned.
    pub checkpoints: usize,
    /// Transactions rolled back explicitly.
    pub rollbacks: usize,
    /// Commits after which the checkpoint LSN moved (an automatic checkpoint ran).
    pub auto_checkpoints: usize,
}

impl History {
    /// Commits acknowledged so far.
    pub fn acked(&self) -> usize {
        self.states.len() - 1
    }

    /// Commits acknowledged by the time the `k`th sync happened.
    pub fn acked_by_sync(&self, k: u64) -> usize {
        self.syncs[1..].iter().filter(|&&s| s <= k).count()
    }

    /// The `c` in `lo..=hi` with `states[c] == g`, preferring the highest.
    pub fn find(&self, g: &Graph, lo: usize, hi: usize) -> Option<usize> {
        (lo..=hi.min(self.acked()))
            .rev()
            .find(|&c| self.states[c] == *g)
    }
}

/// Parameters of the mixed workload.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Seed of the generator.
    pub seed: u64,
    /// Steps (transactions and explicit checkpoints).
    pub steps: usize,
    /// Every this many steps, an explicit checkpoint (0: never).
    pub checkpoint_every: usize,
}

/// The reference workload: the same parameters as `durable_image_sweep` in
/// `tests/crash.rs` (115 steps, an explicit checkpoint every 29).
pub const REFERENCE: Spec = Spec {
    seed: 0x5EED_0001,
    steps: 115,
    checkpoint_every: 29,
};

/// The options the reference workload runs with (as `small_opts` in `tests/crash.rs`):
/// sync FULL, automatic checkpoints every 16 KiB of log, segments of 8 KiB.
pub fn reference_opts() -> quiver::Options {
    quiver::Options {
        sync: quiver::SyncMode::Full,
        checkpoint_bytes: 16 << 10,
        segment_bytes: 8 << 10,
        ..quiver::Options::default()
    }
}

const LABELS: [&str; 3] = ["Person", "City", "Thing"];
const ETYPES: [&str; 3] = ["KNOWS", "LIVES_IN", "LIKES"];
const KEYS: [&str; 6] = ["name", "age", "score", "flag", "data", "note"];
const CHARS: [&str; 8] = ["a", "b", "z", "0", " ", "é", "日", "🦀"];

/// The deterministic mixed workload: the same `Spec` on a fresh database issues the same
/// calls and gets the same ids, so runs can be compared sync by sync.
pub struct Workload {
    rng: SplitMix64,
    spec: Spec,
    fresh: u64,
    /// The committed model.
    pub model: Graph,
    /// What was recorded.
    pub hist: History,
}

impl Workload {
    /// A workload that has not started.
    pub fn new(spec: Spec) -> Workload {
        Workload {
            rng: SplitMix64::new(spec.seed),
            spec,
            fresh: 0,
            model: Graph::default(),
            hist: History::default(),
        }
    }

    /// Runs the workload on `db` (backed by `fs`, whose counters are recorded). Before
    /// each step `stop` may end the run early (returning Ok). The first error is returned
    /// as is; whatever was acknowledged before it is in `self.hist`.
    pub fn run(
        &mut self,
        db: &Database,
        fs: &FaultStorage,
        stop: &mut dyn FnMut() -> bool,
    ) -> quiver::Result<()> {
        if self.hist.states.is_empty() {
            self.hist.states.push(self.model.clone());
            self.hist.syncs.push(fs.syncs());
        }
        for step in 0..self.spec.steps {
            if stop() {
                return Ok(());
            }
            self.step(db, fs, step)?;
        }
        Ok(())
    }

    /// One step: a transaction of some kind, or a checkpoint.
    fn step(&mut self, db: &Database, fs: &FaultStorage, step: usize) -> quiver::Result<()> {
        let every = self.spec.checkpoint_every;
        if every > 0 && step % every == every - 1 {
            db.checkpoint()?;
            self.hist.checkpoints += 1;
            return Ok(());
        }
        let mut t = db.begin_write()?;
        let mut w = self.model.clone();
        match step % 17 {
            // A transaction rolled back as a whole.
            5 => {
                for _ in 0..self.rng.range(1, 5) {
                    self.op(&mut t, &mut w)?;
                }
                t.rollback();
                self.hist.rollbacks += 1;
                return Ok(());
            }
            // Savepoints, rolled back and released in several patterns.
            3 | 10 | 14 => self.savepoints(&mut t, &mut w)?,
            // Large values, so the log grows quickly (segments roll, checkpoints start).
            1 | 8 | 12 => {
                for _ in 0..self.rng.range(1, 3) {
                    self.big_op(&mut t, &mut w)?;
                }
                for _ in 0..self.rng.range(0, 3) {
                    self.op(&mut t, &mut w)?;
                }
            }
            _ => {
                for _ in 0..self.rng.range(1, 6) {
                    self.op(&mut t, &mut w)?;
                }
            }
        }
        self.hist.attempted += 1;
        let ckpt = db.stats().checkpoint_lsn;
        t.commit()?;
        if db.stats().checkpoint_lsn != ckpt {
            self.hist.auto_checkpoints += 1;
        }
        self.model = w;
        self.hist.states.push(self.model.clone());
        self.hist.syncs.push(fs.syncs());
        Ok(())
    }

    fn savepoints(&mut self, t: &mut Txn, w: &mut Graph) -> quiver::Result<()> {
        let mut stack: Vec<(&'static str, Graph)> = Vec::new();
        let pattern = self.rng.below(3);
        let ops = |me: &mut Workload, t: &mut Txn, w: &mut Graph| -> quiver::Result<()> {
            for _ in 0..me.rng.range(1, 3) {
                me.op(t, w)?;
            }
            Ok(())
        };
        let rollback_to = |t: &mut Txn,
                           w: &mut Graph,
                           stack: &mut Vec<(&'static str, Graph)>,
                           n: &'static str| {
            let i = stack.iter().rposition(|(s, _)| *s == n).expect("savepoint");
            *w = stack[i].1.clone();
            stack.truncate(i + 1);
            t.rollback_to(n)
        };
        let release = |t: &mut Txn, stack: &mut Vec<(&'static str, Graph)>, n: &'static str| {
            let i = stack.iter().rposition(|(s, _)| *s == n).expect("savepoint");
            stack.truncate(i);
            t.release(n)
        };
        ops(self, t, w)?;
        t.savepoint("a")?;
        stack.push(("a", w.clone()));
        match pattern {
            0 => {
                ops(self, t, w)?;
                rollback_to(t, w, &mut stack, "a")?;
                ops(self, t, w)?;
                release(t, &mut stack, "a")?;
            }
            1 => {
                ops(self, t, w)?;
                t.savepoint("b")?;
                stack.push(("b", w.clone()));
                ops(self, t, w)?;
                release(t, &mut stack, "b")?;
                ops(self, t, w)?;
                rollback_to(t, w, &mut stack, "a")?;
                ops(self, t, w)?;
            }
            _ => {
                ops(self, t, w)?;
                t.savepoint("b")?;
                stack.push(("b", w.clone()));
                // New identifiers interned after the savepoint are un-interned again.
                self.fresh_ops(t, w)?;
                rollback_to(t, w, &mut stack, "b")?;
                ops(self, t, w)?;
                release(t, &mut stack, "a")?;
                ops(self, t, w)?;
            }
        }
        // Unknown savepoints are NotFound and change nothing.
        assert!(matches!(t.rollback_to("nope"), Err(Error::NotFound(_))));
        Ok(())
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    /// Operations that intern new strings.
    fn fresh_ops(&mut self, t: &mut Txn, w: &mut Graph) -> quiver::Result<()> {
        let label = self.fresh_name("L");
        let id = t.insert_node(&label)?;
        w.nodes.insert(
            id,
            MNode {
                label,
                props: BTreeMap::new(),
            },
        );
        let key = self.fresh_name("k");
        let v = self.value();
        t.set_node_prop(id, &key, v.as_ref())?;
        w.nodes.get_mut(&id).expect("node").props.insert(key, V(v));
        if let Some(&dst) = w.nodes.keys().next() {
            let etype = self.fresh_name("T");
            let e = t.insert_edge(id, dst, &etype)?;
            w.edges.insert(
                e,
                MEdge {
                    src: id,
                    dst,
                    etype,
                    props: BTreeMap::new(),
                },
            );
        }
        Ok(())
    }

    /// A random value of a random type.
    pub fn value(&mut self) -> Value {
        match self.rng.below(6) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.chance(50)),
            2 => Value::Int(self.rng.next_u64() as i64),
            3 => Value::Float(match self.rng.below(8) {
                0 => f64::NAN,
                1 => -0.0,
                2 => f64::INFINITY,
                3 => f64::MIN_POSITIVE,
                _ => (self.rng.next_u64() >> 11) as f64 / (1u64 << 20) as f64 - 4e9,
            }),
            4 => {
                let n = self.rng.range(0, 20);
                let s: String = (0..n).map(|_| *self.rng.pick(&CHARS)).collect();
                Value::String(s)
            }
            _ => {
                let n = self.rng.range(0, 40) as usize;
                Value::Bytes(self.rng.bytes(n))
            }
        }
    }

    fn pick_node(&mut self, w: &Graph) -> Option<u64> {
        if w.nodes.is_empty() {
            return None;
        }
        let i = self.rng.below(w.nodes.len() as u64) as usize;
        w.nodes.keys().nth(i).copied()
    }

    fn pick_edge(&mut self, w: &Graph) -> Option<u64> {
        if w.edges.is_empty() {
            return None;
        }
        let i = self.rng.below(w.edges.len() as u64) as usize;
        w.edges.keys().nth(i).copied()
    }

    fn key(&mut self) -> String {
        if self.rng.chance(3) {
            self.fresh_name("k")
        } else {
            self.rng.pick(&KEYS).to_string()
        }
    }

    /// A property write of a large string or bytes value.
    fn big_op(&mut self, t: &mut Txn, w: &mut Graph) -> quiver::Result<()> {
        let Some(id) = self.pick_node(w) else {
            return self.op(t, w);
        };
        let n = self.rng.range(1000, 4000) as usize;
        let v = if self.rng.chance(50) {
            Value::String((0..n).map(|_| *self.rng.pick(&CHARS)).collect())
        } else {
            Value::Bytes(self.rng.bytes(n))
        };
        t.set_node_prop(id, "data", v.as_ref())?;
        w.nodes
            .get_mut(&id)
            .expect("node")
            .props
            .insert("data".into(), V(v));
        Ok(())
    }

    /// One random graph operation, applied to the transaction and to the model `w`.
    pub fn op(&mut self, t: &mut Txn, w: &mut Graph) -> quiver::Result<()> {
        let r = self.rng.below(100);
        let crowded = w.nodes.len() > 30;
        if w.nodes.len() < 3 || (r < 20 && !crowded) {
            let label = if self.rng.chance(4) {
                self.fresh_name("L")
            } else {
                self.rng.pick(&LABELS).to_string()
            };
            let id = t.insert_node(&label)?;
            w.nodes.insert(
                id,
                MNode {
                    label,
                    props: BTreeMap::new(),
                },
            );
        } else if r < 40 {
            let src = self.pick_node(w).expect("nodes");
            let dst = if self.rng.chance(10) {
                src
            } else {
                self.pick_node(w).expect("nodes")
            };
            let etype = if self.rng.chance(4) {
                self.fresh_name("T")
            } else {
                self.rng.pick(&ETYPES).to_string()
            };
            let id = t.insert_edge(src, dst, &etype)?;
            w.edges.insert(
                id,
                MEdge {
                    src,
                    dst,
                    etype,
                    props: BTreeMap::new(),
                },
            );
        } else if r < 47 {
            if let Some(e) = self.pick_edge(w) {
                t.delete_edge(e)?;
                w.edges.remove(&e);
            }
        } else if r < 53 || (crowded && r < 60) {
            let id = self.pick_node(w).expect("nodes");
            let inc = w.incident(id);
            if !inc.is_empty() && self.rng.chance(30) {
                match t.delete_node(id, false) {
                    Err(Error::Constraint(_)) => {}
                    other => panic!("delete_node without detach on a node with edges: {other:?}"),
                }
            }
            t.delete_node(id, true)?;
            for e in inc {
                w.edges.remove(&e);
            }
            w.nodes.remove(&id);
        } else if r < 75 {
            let id = self.pick_node(w).expect("nodes");
            let (k, v) = (self.key(), self.value());
            t.set_node_prop(id, &k, v.as_ref())?;
            w.nodes.get_mut(&id).expect("node").props.insert(k, V(v));
        } else if r < 82 {
            let id = self.pick_node(w).expect("nodes");
            let k = match w.nodes[&id].props.keys().next() {
                Some(k) if self.rng.chance(70) => k.clone(),
                _ => self.rng.pick(&KEYS).to_string(),
            };
            t.unset_node_prop(id, &k)?;
            w.nodes.get_mut(&id).expect("node").props.remove(&k);
        } else if r < 94 {
            if let Some(e) = self.pick_edge(w) {
                let (k, v) = (self.key(), self.value());
                t.set_edge_prop(e, &k, v.as_ref())?;
                w.edges.get_mut(&e).expect("edge").props.insert(k, V(v));
            }
        } else if let Some(e) = self.pick_edge(w) {
            let k = match w.edges[&e].props.keys().next() {
                Some(k) if self.rng.chance(70) => k.clone(),
                _ => self.rng.pick(&KEYS).to_string(),
            };
            t.unset_edge_prop(e, &k)?;
            w.edges.get_mut(&e).expect("edge").props.remove(&k);
        }
        Ok(())
    }
}

/// Sets `key` of node `id` to `v` in the transaction and in the model.
pub fn set_node(t: &mut Txn, w: &mut Graph, id: u64, key: &str, v: Value) -> quiver::Result<()> {
    t.set_node_prop(id, key, v.as_ref())?;
    w.nodes
        .get_mut(&id)
        .expect("node in model")
        .props
        .insert(key.to_string(), V(v));
    Ok(())
}

/// Inserts a node in the transaction and in the model.
pub fn add_node(t: &mut Txn, w: &mut Graph, label: &str) -> quiver::Result<u64> {
    let id = t.insert_node(label)?;
    w.nodes.insert(
        id,
        MNode {
            label: label.to_string(),
            props: BTreeMap::new(),
        },
    );
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
    w.edges.insert(
        id,
        MEdge {
            src,
            dst,
            etype: etype.to_string(),
            props: BTreeMap::new(),
        },
    );
    Ok(id)
}

/// A value reference to a string (shorthand).
pub fn s(v: &str) -> ValueRef<'_> {
    ValueRef::Str(v)
}

/// Opens `dir`, returning the recovered graph and the database (integrity checked).
pub fn open_and_read(dir: &Path, opts: &Options, what: &str) -> Result<(Database, Graph), String> {
    let db = Database::open(dir, opts).map_err(|e| format!("{what}: open failed: {e}"))?;
    let g = read_graph(&db).map_err(|e| format!("{what}: reading the graph failed: {e}"))?;
    let r = db
        .check_integrity()
        .map_err(|e| format!("{what}: check_integrity failed: {e}"))?;
    if r.problems != 0 {
        return Err(format!(
            "{what}: integrity check found {} problem(s): {}",
            r.problems, r.first_problem
        ));
    }
    let st = db.stats();
    if (st.nodes, st.edges) != (g.nodes.len() as u64, g.edges.len() as u64) {
        return Err(format!(
            "{what}: stats count {} nodes and {} edges, the graph has {} and {}",
            st.nodes,
            st.edges,
            g.nodes.len(),
            g.edges.len()
        ));
    }
    Ok((db, g))
}

/// After recovery to `g`: one more commit, a clean close, a reopen, and the result must be
/// `g` plus that commit. Proves the log and data files are usable after recovery.
pub fn continue_after(
    db: Database,
    g: &Graph,
    dir: &Path,
    opts: &Options,
    what: &str,
) -> Result<(), String> {
    let mut want = g.clone();
    let r: quiver::Result<()> = (|| {
        let mut t = db.begin_write()?;
        let id = add_node(&mut t, &mut want, "After")?;
        set_node(
            &mut t,
            &mut want,
            id,
            "after",
            Value::String("recovery".into()),
        )?;
        if let Some(&other) = g.nodes.keys().next() {
            add_edge(&mut t, &mut want, id, other, "AFTER")?;
        }
        t.commit()?;
        db.close()
    })();
    r.map_err(|e| format!("{what}: commit after recovery failed: {e}"))?;
    let (db, got) = open_and_read(dir, opts, &format!("{what} (reopened after a commit)"))?;
    drop(db);
    if got != want {
        return Err(format!(
            "{what}: after recovery + commit + reopen the graph differs: {}",
            got.diff(&want)
        ));
    }
    Ok(())
}
