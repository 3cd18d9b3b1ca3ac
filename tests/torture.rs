//! Kill -9 torture test of the C ABI.
//!
//! Each round spawns this test binary as a child process (`torture_child`), which opens the
//! database through the C API and runs a seeded random workload: node and edge inserts,
//! node deletes with and without QV_DETACH (QV_CONSTRAINT expected when edges remain), edge
//! deletes, property sets of every value type (some tens of KiB) and unsets on nodes and
//! edges, savepoints rolled back and released, whole transactions rolled back, explicit
//! checkpoints, and occasional transactions of several MiB that spill to the log and span
//! segments (small `checkpoint_bytes` and `segment_bytes`). Some rounds also keep a read
//! transaction open across commits (checkpoints held back to its snapshot, which it checks),
//! run a thread that calls qv_checkpoint in a loop, and keep interning new labels and edge
//! types. Within its write transactions the child reads records back and compares them with
//! its model. Before each `qv_txn_commit` the child prints `pre N` with the generator's
//! state and the ids the engine handed out in the transaction, and after QV_OK `ack N`.
//!
//! The parent kills the child with SIGKILL at a random moment (after a delay, at the n-th
//! ack, just after a commit started, during a large transaction or an explicit checkpoint,
//! or even while it opens the database), then reopens the database through the C API and
//! compares the complete graph (nodes with labels and every property, edges with ends, type
//! and every property) with a model obtained by replaying the same seeded generator: every
//! acknowledged transaction must be there with exactly its effects, nothing of a later one,
//! except that the one transaction whose commit was in flight may be wholly present or
//! wholly absent. `qv_check` must pass. Sync modes NORMAL and OFF are included: a kill -9
//! is not a power loss, so there too every acknowledged commit must survive (a failure says
//! whether the recovered state is at least a prefix of the acknowledged ones). The dump
//! also cross-checks incoming cursors, degrees, qv_edge_get and ids that must not exist.
//! The parent verifies read-write (repairing the log; sometimes checkpointing and closing
//! and reopening too) or read-only (the next child then recovers the crashed log itself, and
//! must find the verified graph).
//!
//! Rounds continue on the recovered database or start a fresh one. Environment:
//! `QUIVER_TORTURE_SEED` (master seed, hex or decimal), `QUIVER_TORTURE_ROUNDS` (default
//! 200), `QUIVER_TORTURE_SECONDS=N` (long mode: run rounds until N seconds have passed).
//! A failure prints the master seed, the round, the round's seed and keeps the database
//! directory.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::ffi::{
    QV_CONSTRAINT, QV_DETACH, QV_OK, QV_OPEN_CREATE, QV_OPEN_READ_ONLY, QV_SYNC_FULL,
    QV_SYNC_NORMAL, QV_SYNC_OFF, QV_TXN_READ_ONLY,
};
use quiver::testing::SplitMix64;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use support::capi::{Db, Edge, Graph, Node, Txn, Val, dump, mix, options, status_name};
use support::{RngExt as _, Scratch, dir_size, env_u64, try_copy_dir};

const ENV_DB: &str = "QUIVER_TORTURE_CHILD_DB";
const ENV_SEED: &str = "QUIVER_TORTURE_CHILD_SEED";
/// Set for a child that only opens the database (and is killed, maybe while recovering).
const ENV_OPEN_ONLY: &str = "QUIVER_TORTURE_CHILD_OPEN_ONLY";
const CHILD_TEST: &str = "torture_child";
const TAG: &str = "QVT ";

const LONG_LABEL: &str = "LongLabel-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-\
                          0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-end";
const LABELS: [&str; 5] = ["Person", "City", "Thing", "Ωmega", LONG_LABEL];
const TYPES: [&str; 4] = ["KNOWS", "IN", "LIKES", "→next"];
/// Besides the fixed labels and edge types, `Lbl-N` and `T-N` for N below this: new
/// identifiers keep being interned (StringInsert frames, also in savepoint sections that
/// are rolled back and in spilled transactions).
const DYNAMIC_NAMES: usize = 300;
const KEYS: [&str; 7] = ["k0", "k1", "k2", "k3", "name", "blob", "ключ"];
/// Keys the large values of big transactions go to.
const BIG_KEYS: [usize; 3] = [0, 4, 5];
const SAVEPOINTS: [&str; 3] = ["a", "b", "sp-c"];

fn sync_name(s: u32) -> &'static str {
    match s {
        QV_SYNC_FULL => "FULL",
        QV_SYNC_NORMAL => "NORMAL",
        _ => "OFF",
    }
}

// ---------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Debug)]
struct NodeM {
    label: usize,
    props: BTreeMap<usize, Val>,
    /// Incident edges (a self-loop counts twice).
    deg: u32,
}

#[derive(Clone, Debug)]
struct EdgeM {
    src: u64,
    dst: u64,
    ty: usize,
    props: BTreeMap<usize, Val>,
}

/// The graph as the workload believes it is. The generator picks records by position in
/// `nodes` and `edges`, never by id value, so it makes the same choices whatever ids the
/// engine hands out (the parent replays rolled-back transactions with made-up ids).
#[derive(Clone, Default)]
struct Model {
    nodes: Vec<u64>,
    node: HashMap<u64, NodeM>,
    edges: Vec<u64>,
    edge: HashMap<u64, EdgeM>,
}

/// Adds record `id` (which must not be live) to the model's positions and records.
fn insert_new<T>(ids: &mut Vec<u64>, records: &mut HashMap<u64, T>, id: u64, rec: T, what: &str) {
    assert!(
        !records.contains_key(&id),
        "{what} id {id} handed out while live"
    );
    ids.push(id);
    records.insert(id, rec);
}

fn index_of(names: &[&str], s: &str, what: &str) -> Result<usize, String> {
    names
        .iter()
        .position(|n| *n == s)
        .ok_or_else(|| format!("unknown {what} {s:?} in the database"))
}

/// The name of label or edge type `i`: a fixed one, or `{prefix}N`.
fn name_of(fixed: &[&str], prefix: &str, i: usize) -> String {
    match fixed.get(i) {
        Some(n) => n.to_string(),
        None => format!("{prefix}{}", i - fixed.len()),
    }
}

fn name_index(fixed: &[&str], prefix: &str, s: &str, what: &str) -> Result<usize, String> {
    if let Some(n) = s.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok()) {
        if n < DYNAMIC_NAMES && s == format!("{prefix}{n}") {
            return Ok(fixed.len() + n);
        }
    }
    index_of(fixed, s, what)
}

fn props_m(p: &BTreeMap<String, Val>) -> Result<BTreeMap<usize, Val>, String> {
    p.iter()
        .map(|(k, v)| Ok((index_of(&KEYS, k, "property key")?, v.clone())))
        .collect()
}

fn props_d(p: &BTreeMap<usize, Val>) -> BTreeMap<String, Val> {
    p.iter()
        .map(|(k, v)| (KEYS[*k].to_string(), v.clone()))
        .collect()
}

impl Model {
    /// The model of a dumped graph; records in id order.
    fn from_graph(g: &Graph) -> Result<Model, String> {
        let mut m = Model::default();
        for (id, n) in &g.nodes {
            m.nodes.push(*id);
            m.node.insert(
                *id,
                NodeM {
                    label: name_index(&LABELS, "Lbl-", &n.label, "label")?,
                    props: props_m(&n.props)?,
                    deg: 0,
                },
            );
        }
        for (id, e) in &g.edges {
            m.edges.push(*id);
            m.edge.insert(
                *id,
                EdgeM {
                    src: e.src,
                    dst: e.dst,
                    ty: name_index(&TYPES, "T-", &e.etype, "edge type")?,
                    props: props_m(&e.props)?,
                },
            );
            for end in [e.src, e.dst] {
                m.node
                    .get_mut(&end)
                    .ok_or_else(|| format!("edge {id} has a missing end {end}"))?
                    .deg += 1;
            }
        }
        Ok(m)
    }

    fn node_d(n: &NodeM) -> Node {
        Node {
            label: name_of(&LABELS, "Lbl-", n.label),
            props: props_d(&n.props),
        }
    }

    fn edge_d(e: &EdgeM) -> Edge {
        Edge {
            src: e.src,
            dst: e.dst,
            etype: name_of(&TYPES, "T-", e.ty),
            props: props_d(&e.props),
        }
    }

    fn to_graph(&self) -> Graph {
        Graph {
            nodes: self
                .node
                .iter()
                .map(|(id, n)| (*id, Model::node_d(n)))
                .collect(),
            edges: self
                .edge
                .iter()
                .map(|(id, e)| (*id, Model::edge_d(e)))
                .collect(),
        }
    }

    /// Removes the node at position `i` and its edges.
    fn remove_node(&mut self, i: usize) {
        let id = self.nodes.remove(i);
        let n = self.node.remove(&id).unwrap();
        if n.deg > 0 {
            let edge = &mut self.edge;
            let node = &mut self.node;
            self.edges.retain(|e| {
                let x = &edge[e];
                if x.src != id && x.dst != id {
                    return true;
                }
                for end in [x.src, x.dst] {
                    if end != id {
                        node.get_mut(&end).unwrap().deg -= 1;
                    }
                }
                edge.remove(e);
                false
            });
        }
    }

    /// Removes the edge at position `i`.
    fn remove_edge(&mut self, i: usize) -> u64 {
        let id = self.edges.remove(i);
        let e = self.edge.remove(&id).unwrap();
        for end in [e.src, e.dst] {
            self.node.get_mut(&end).unwrap().deg -= 1;
        }
        id
    }
}

// ---------------------------------------------------------------------------------------
// The workload: one generator, run against the engine by the child and against nothing by
// the parent.

/// What the generator does to the database. The child's implementation calls the C API;
/// the parent's only supplies ids (those the child reported, or made-up ones).
trait Backend {
    fn begin(&mut self, t: u64, big: bool);
    fn node_insert(&mut self, label: &str) -> u64;
    fn edge_insert(&mut self, src: u64, dst: u64, ty: &str) -> u64;
    /// `constraint`: QV_CONSTRAINT is expected (the node has edges, no QV_DETACH).
    fn node_delete(&mut self, id: u64, detach: bool, constraint: bool);
    fn edge_delete(&mut self, id: u64);
    fn set(&mut self, edge: bool, id: u64, key: &str, v: &Val);
    fn unset(&mut self, edge: bool, id: u64, key: &str);
    fn savepoint(&mut self, name: &str);
    fn rollback_to(&mut self, name: &str);
    fn release(&mut self, name: &str);
    /// Reads node `id` in the transaction and compares it with the model.
    fn verify_node(&mut self, id: u64, want: &NodeM);
    /// Reads edge `id` in the transaction and compares it with the model.
    fn verify_edge(&mut self, id: u64, want: &EdgeM);
    /// `check` is the generator's state, which the parent compares with its replay.
    fn commit(&mut self, t: u64, check: u64);
    fn rollback(&mut self, t: u64);
    fn checkpoint(&mut self, t: u64);
    /// Begins a read transaction, held across the next write transactions (it holds
    /// checkpoints back to its snapshot).
    fn reader_begin(&mut self);
    /// Reads node `id` through the read transaction and compares it with its snapshot.
    fn reader_check(&mut self, id: u64, want: &NodeM);
    fn reader_end(&mut self);
}

/// Per-round parameters, all derived from the round seed (the child gets only the seed).
#[derive(Clone, Debug)]
struct Cfg {
    sync: u32,
    checkpoint_bytes: u64,
    segment_bytes: u64,
    /// Chance per transaction of a large one, in 1/1000.
    big_permille: u64,
    ckpt_pct: u64,
    /// Chance per transaction of starting a long read transaction.
    reader_pct: u64,
    rollback_pct: u64,
    ops_max: u64,
    /// The child closes the database and exits after this many transactions.
    max_txns: u64,
    /// A thread of the child calls qv_checkpoint every this many microseconds (0: none).
    bg_ckpt_us: u64,
}

impl Cfg {
    fn new(seed: u64) -> Cfg {
        let mut r = SplitMix64(mix(seed, 1));
        Cfg {
            sync: match r.below(20) {
                0..=2 => QV_SYNC_NORMAL,
                3..=5 => QV_SYNC_OFF,
                _ => QV_SYNC_FULL,
            },
            checkpoint_bytes: [256 << 10, 256 << 10, 256 << 10, 64 << 10, 16 << 10, 1 << 20]
                [r.below(6) as usize],
            segment_bytes: [64 << 10, 64 << 10, 4096, 16 << 10][r.below(4) as usize],
            big_permille: [0, 0, 8, 20][r.below(4) as usize],
            ckpt_pct: [0, 2, 6][r.below(3) as usize],
            reader_pct: [0, 3, 10][r.below(3) as usize],
            rollback_pct: [4, 10][r.below(2) as usize],
            ops_max: [4, 10, 24][r.below(3) as usize],
            max_txns: if r.chance(8) {
                r.range(1, 150)
            } else {
                1 << 40
            },
            bg_ckpt_us: [0, 0, 0, 300, 3000][r.below(5) as usize],
        }
    }

    fn options(&self, flags: u32) -> quiver::ffi::types::qv_options {
        options(flags, self.sync, self.checkpoint_bytes, self.segment_bytes)
    }
}

/// Bytes of length `len`: a random 509-byte pattern repeated, stamped every 4 KiB so that
/// no two places look alike. Cheap even in a debug build.
fn gen_bytes(r: &mut SplitMix64, len: usize) -> Arc<[u8]> {
    let seed = r.next_u64();
    let mut chunk = Vec::with_capacity(512);
    while chunk.len() < 509 {
        chunk.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    chunk.truncate(509.min(len));
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = (len - v.len()).min(chunk.len());
        v.extend_from_slice(&chunk[..n]);
    }
    let mut i = 0;
    while i + 8 <= len {
        v[i..i + 8].copy_from_slice(&(seed ^ i as u64).to_le_bytes());
        i += 4096;
    }
    v.into()
}

/// UTF-8 text of about `len` bytes (multi-byte characters at the start, then ASCII).
fn gen_text(r: &mut SplitMix64, len: usize) -> Arc<[u8]> {
    const CHARS: [&str; 10] = ["a", "Z", " ", "é", "ß", "日本", "🦀", "\u{0}", "\n", "Ω"];
    let mut s = String::new();
    while s.len() < len.min(24) {
        s.push_str(CHARS[r.below(CHARS.len() as u64) as usize]);
    }
    if s.len() < len {
        let chunk: String = (0..97)
            .map(|_| (b'a' + r.below(26) as u8) as char)
            .collect();
        while s.len() < len {
            let n = (len - s.len()).min(chunk.len());
            s.push_str(&chunk[..n]);
        }
    }
    Arc::from(s.into_bytes())
}

struct Gen {
    r: SplitMix64,
    cfg: Cfg,
    /// The open read transaction: write transactions left before it ends, and the model
    /// of its snapshot.
    reader: Option<(u64, Model)>,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            r: SplitMix64(mix(seed, 2)),
            cfg: Cfg::new(seed),
            reader: None,
        }
    }

    fn len(&mut self) -> usize {
        match self.r.below(100) {
            0..=1 => self.r.range(8 << 10, 48 << 10) as usize,
            2..=9 => 0,
            _ => self.r.below(40) as usize,
        }
    }

    fn val(&mut self) -> Val {
        let r = &mut self.r;
        match r.below(6) {
            0 => Val::Null,
            1 => Val::Bool(r.below(2) == 1),
            2 => Val::Int(match r.below(5) {
                0 => r.below(100) as i64,
                1 => i64::MIN,
                2 => i64::MAX,
                _ => r.next_u64() as i64,
            }),
            3 => Val::Float(
                match r.below(7) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => f64::INFINITY,
                    3 => f64::NAN,
                    4 => f64::MIN_POSITIVE,
                    _ => (r.next_u64() >> 11) as f64 / 3.0 - 1e15,
                }
                .to_bits(),
            ),
            4 => {
                let n = self.len();
                Val::Str(gen_text(&mut self.r, n))
            }
            _ => {
                let n = self.len();
                Val::Bytes(gen_bytes(&mut self.r, n))
            }
        }
    }

    fn pick(&mut self, n: usize) -> usize {
        self.r.below(n as u64) as usize
    }

    fn insert_node(&mut self, m: &mut Model, be: &mut impl Backend) {
        let l = if self.r.chance(20) {
            LABELS.len() + self.pick(DYNAMIC_NAMES)
        } else {
            self.pick(LABELS.len())
        };
        let id = be.node_insert(&name_of(&LABELS, "Lbl-", l));
        let node = NodeM {
            label: l,
            props: BTreeMap::new(),
            deg: 0,
        };
        insert_new(&mut m.nodes, &mut m.node, id, node, "node");
    }

    fn insert_edge(&mut self, m: &mut Model, be: &mut impl Backend) {
        if m.nodes.is_empty() {
            return self.insert_node(m, be);
        }
        let src = m.nodes[self.pick(m.nodes.len())];
        let dst = if self.r.chance(8) {
            src
        } else {
            m.nodes[self.pick(m.nodes.len())]
        };
        let ty = if self.r.chance(10) {
            TYPES.len() + self.pick(DYNAMIC_NAMES)
        } else {
            self.pick(TYPES.len())
        };
        let id = be.edge_insert(src, dst, &name_of(&TYPES, "T-", ty));
        let edge = EdgeM {
            src,
            dst,
            ty,
            props: BTreeMap::new(),
        };
        insert_new(&mut m.edges, &mut m.edge, id, edge, "edge");
        m.node.get_mut(&src).unwrap().deg += 1;
        m.node.get_mut(&dst).unwrap().deg += 1;
    }

    fn delete_node(&mut self, m: &mut Model, be: &mut impl Backend) {
        if m.nodes.is_empty() {
            return self.insert_node(m, be);
        }
        let i = self.pick(m.nodes.len());
        let id = m.nodes[i];
        let has_edges = m.node[&id].deg > 0;
        let detach = self.r.below(2) == 0;
        if has_edges && !detach {
            be.node_delete(id, false, true);
        } else {
            be.node_delete(id, detach, false);
            m.remove_node(i);
        }
    }

    fn delete_edge(&mut self, m: &mut Model, be: &mut impl Backend) {
        if m.edges.is_empty() {
            return self.insert_edge(m, be);
        }
        let i = self.pick(m.edges.len());
        let id = m.remove_edge(i);
        be.edge_delete(id);
    }

    /// A random record: (is edge, id), or None when the graph is empty.
    fn target(&mut self, m: &Model, edge: bool) -> Option<(bool, u64)> {
        if edge && !m.edges.is_empty() {
            Some((true, m.edges[self.pick(m.edges.len())]))
        } else if !m.nodes.is_empty() {
            Some((false, m.nodes[self.pick(m.nodes.len())]))
        } else {
            None
        }
    }

    fn props_of(m: &mut Model, edge: bool, id: u64) -> &mut BTreeMap<usize, Val> {
        if edge {
            &mut m.edge.get_mut(&id).unwrap().props
        } else {
            &mut m.node.get_mut(&id).unwrap().props
        }
    }

    fn set_prop(&mut self, m: &mut Model, be: &mut impl Backend, edge: bool) {
        let Some((edge, id)) = self.target(m, edge) else {
            return self.insert_node(m, be);
        };
        let k = self.pick(KEYS.len());
        let v = self.val();
        be.set(edge, id, KEYS[k], &v);
        Gen::props_of(m, edge, id).insert(k, v);
    }

    fn unset_prop(&mut self, m: &mut Model, be: &mut impl Backend, edge: bool) {
        let Some((edge, id)) = self.target(m, edge) else {
            return self.insert_node(m, be);
        };
        let k = self.pick(KEYS.len());
        be.unset(edge, id, KEYS[k]);
        Gen::props_of(m, edge, id).remove(&k);
    }

    /// A value of tens of KiB on a random record (large transactions).
    fn big_set(&mut self, m: &mut Model, be: &mut impl Backend) -> usize {
        // Large values go to the first few records only, so that the database does not
        // accumulate them (every property read parses the record's whole blob).
        let (edge, id) = if self.r.chance(30) && !m.edges.is_empty() {
            (true, m.edges[self.pick(m.edges.len().min(3))])
        } else if !m.nodes.is_empty() {
            (false, m.nodes[self.pick(m.nodes.len().min(3))])
        } else {
            self.insert_node(m, be);
            return 0;
        };
        let k = BIG_KEYS[self.pick(BIG_KEYS.len())];
        let n = self.r.range(24 << 10, 64 << 10) as usize;
        let v = if self.r.below(2) == 0 {
            Val::Bytes(gen_bytes(&mut self.r, n))
        } else {
            Val::Str(gen_text(&mut self.r, n))
        };
        be.set(edge, id, KEYS[k], &v);
        Gen::props_of(m, edge, id).insert(k, v);
        n
    }

    fn savepoint_op(
        &mut self,
        m: &mut Model,
        be: &mut impl Backend,
        sps: &mut Vec<(&'static str, Model)>,
    ) {
        let x = self.r.below(10);
        if sps.is_empty() || x < 4 {
            let name = SAVEPOINTS[self.pick(SAVEPOINTS.len())];
            be.savepoint(name);
            sps.push((name, m.clone()));
        } else if x < 8 {
            // The most recent savepoint of a name is the one meant.
            let name = sps[self.pick(sps.len())].0;
            let i = sps.iter().rposition(|s| s.0 == name).unwrap();
            sps.truncate(i + 1);
            *m = sps[i].1.clone();
            be.rollback_to(name);
        } else {
            let name = sps[self.pick(sps.len())].0;
            let i = sps.iter().rposition(|s| s.0 == name).unwrap();
            sps.truncate(i);
            be.release(name);
        }
    }

    fn verify(&mut self, m: &Model, be: &mut impl Backend) {
        if !m.edges.is_empty() && self.r.below(2) == 0 {
            let id = m.edges[self.pick(m.edges.len())];
            be.verify_edge(id, &m.edge[&id]);
        } else if !m.nodes.is_empty() {
            let id = m.nodes[self.pick(m.nodes.len())];
            be.verify_node(id, &m.node[&id]);
        }
    }

    fn op(&mut self, m: &mut Model, be: &mut impl Backend, sps: &mut Vec<(&'static str, Model)>) {
        match self.r.below(100) {
            0..=11 => self.insert_node(m, be),
            12..=27 => self.insert_edge(m, be),
            28..=33 => self.delete_node(m, be),
            34..=42 => self.delete_edge(m, be),
            43..=62 => self.set_prop(m, be, false),
            63..=67 => self.unset_prop(m, be, false),
            68..=83 => self.set_prop(m, be, true),
            84..=87 => self.unset_prop(m, be, true),
            88..=94 => self.savepoint_op(m, be, sps),
            _ => self.verify(m, be),
        }
    }

    /// Transaction number `t`: generated, run on `be`, and applied to `m` (unless it ends
    /// in a rollback), possibly followed by an explicit checkpoint.
    fn txn(&mut self, t: u64, m: &mut Model, be: &mut impl Backend) {
        if self.reader.is_none() && self.r.chance(self.cfg.reader_pct) {
            be.reader_begin();
            self.reader = Some((self.r.range(1, 40), m.clone()));
        }
        let big = self.r.below(1000) < self.cfg.big_permille;
        let rollback = self.r.chance(self.cfg.rollback_pct);
        let start = rollback.then(|| m.clone());
        be.begin(t, big);
        let mut sps = Vec::new();
        if big {
            let budget = self.r.range(4_600_000, 8_000_000) as usize;
            let mut spent = 0;
            while spent < budget {
                match self.r.below(100) {
                    0..=79 => spent += self.big_set(m, be),
                    80..=94 => self.op(m, be, &mut sps),
                    _ => self.savepoint_op(m, be, &mut sps),
                }
            }
        } else {
            let n = self.r.range(1, self.cfg.ops_max);
            for _ in 0..n {
                self.op(m, be, &mut sps);
            }
        }
        match start {
            Some(s) => {
                be.rollback(t);
                *m = s;
            }
            None => be.commit(t, self.r.0),
        }
        if self.r.chance(self.cfg.ckpt_pct) {
            be.checkpoint(t);
        }
        if let Some((left, snap)) = &mut self.reader {
            *left -= 1;
            if *left == 0 {
                for _ in 0..3 {
                    if !snap.nodes.is_empty() {
                        let id = snap.nodes[self.r.below(snap.nodes.len() as u64) as usize];
                        be.reader_check(id, &snap.node[&id]);
                    }
                }
                be.reader_end();
                self.reader = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The child.

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{TAG}{line}\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

struct ChildBackend {
    db: Db,
    txn: Option<Txn>,
    reader: Option<Txn>,
    t: u64,
    ids: Vec<u64>,
}

impl ChildBackend {
    fn txn(&mut self) -> &mut Txn {
        self.txn.as_mut().unwrap()
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("child, transaction {}: {what}", self.t)
    }
}

impl Backend for ChildBackend {
    fn begin(&mut self, t: u64, big: bool) {
        self.t = t;
        if big {
            say(&format!("big {t}"));
        }
        self.ids.clear();
        match self.db.begin(0) {
            Ok(x) => self.txn = Some(x),
            Err(f) => self.fail(f),
        }
    }

    fn node_insert(&mut self, label: &str) -> u64 {
        match self.txn().node_insert(label) {
            Ok(id) => {
                self.ids.push(id);
                id
            }
            Err(f) => self.fail(f),
        }
    }

    fn edge_insert(&mut self, src: u64, dst: u64, ty: &str) -> u64 {
        match self.txn().edge_insert(src, dst, ty) {
            Ok(id) => {
                self.ids.push(id);
                id
            }
            Err(f) => self.fail(f),
        }
    }

    fn node_delete(&mut self, id: u64, detach: bool, constraint: bool) {
        let flags = if detach { QV_DETACH } else { 0 };
        let s = self.txn().node_delete(id, flags);
        let want = if constraint { QV_CONSTRAINT } else { QV_OK };
        if s != want {
            self.fail(format!(
                "qv_node_delete({id}, {flags}) returned {}, expected {} ({})",
                status_name(s),
                status_name(want),
                support::capi::last_error()
            ));
        }
    }

    fn edge_delete(&mut self, id: u64) {
        if let Err(f) = self.txn().edge_delete(id) {
            self.fail(f)
        }
    }

    fn set(&mut self, edge: bool, id: u64, key: &str, v: &Val) {
        let r = if edge {
            self.txn().edge_set(id, key, v)
        } else {
            self.txn().node_set(id, key, v)
        };
        if let Err(f) = r {
            self.fail(f)
        }
    }

    fn unset(&mut self, edge: bool, id: u64, key: &str) {
        let r = if edge {
            self.txn().edge_unset(id, key)
        } else {
            self.txn().node_unset(id, key)
        };
        if let Err(f) = r {
            self.fail(f)
        }
    }

    fn savepoint(&mut self, name: &str) {
        if let Err(f) = self.txn().savepoint(name) {
            self.fail(f)
        }
    }

    fn rollback_to(&mut self, name: &str) {
        if let Err(f) = self.txn().rollback_to(name) {
            self.fail(f)
        }
    }

    fn release(&mut self, name: &str) {
        if let Err(f) = self.txn().release(name) {
            self.fail(f)
        }
    }

    fn verify_node(&mut self, id: u64, want: &NodeM) {
        let label = self.txn().node_label(id).map_err(|f| f.to_string());
        let props = self.txn().props(false, id, &KEYS);
        let want = Model::node_d(want);
        match (label, props) {
            (Ok(Some(label)), Ok(props)) if label == want.label && props == want.props => {}
            (l, p) => self.fail(format!(
                "reading node {id} in its write transaction: got label {l:?} props {p:?}, expected {want:?}"
            )),
        }
    }

    fn verify_edge(&mut self, id: u64, want: &EdgeM) {
        let e = self.txn().edge_get(id).map_err(|f| f.to_string());
        let props = self.txn().props(true, id, &KEYS);
        let want = Model::edge_d(want);
        match (e, props) {
            (Ok(Some(e)), Ok(props))
                if (e.src, e.dst, e.ty.as_str()) == (want.src, want.dst, want.etype.as_str())
                    && props == want.props => {}
            (e, p) => self.fail(format!(
                "reading edge {id} in its write transaction: got {e:?} props {p:?}, expected {want:?}"
            )),
        }
    }

    fn commit(&mut self, t: u64, check: u64) {
        let ids: Vec<String> = self.ids.iter().map(|i| i.to_string()).collect();
        say(&format!("pre {t} {check:x} {}", ids.join(",")));
        if let Err(f) = self.txn.take().unwrap().commit() {
            self.fail(f)
        }
        say(&format!("ack {t}"));
    }

    fn rollback(&mut self, _t: u64) {
        self.txn.take().unwrap().rollback();
    }

    fn checkpoint(&mut self, t: u64) {
        say(&format!("ckpt {t}"));
        if let Err(f) = self.db.checkpoint() {
            self.fail(f)
        }
    }

    fn reader_begin(&mut self) {
        match self.db.begin(QV_TXN_READ_ONLY) {
            Ok(r) => self.reader = Some(r),
            Err(f) => self.fail(f),
        }
    }

    fn reader_check(&mut self, id: u64, want: &NodeM) {
        let r = self.reader.as_mut().unwrap();
        let label = r.node_label(id).map_err(|f| f.to_string());
        let props = r.props(false, id, &KEYS);
        let want = Model::node_d(want);
        match (label, props) {
            (Ok(Some(label)), Ok(props)) if label == want.label && props == want.props => {}
            (l, p) => self.fail(format!(
                "reading node {id} in a long read transaction: got label {l:?} props {p:?}, \
                 expected {want:?} (its snapshot)"
            )),
        }
    }

    fn reader_end(&mut self) {
        if let Err(f) = self.reader.take().unwrap().commit() {
            self.fail(f)
        }
    }
}

/// Dumps the graph the latest committed state holds (a read transaction).
fn dump_db(db: &Db, probe: (u64, u64)) -> Result<Graph, String> {
    let mut t = db.begin(QV_TXN_READ_ONLY).map_err(|f| f.to_string())?;
    let g = dump(&mut t, &KEYS, probe.0, probe.1);
    t.rollback();
    g
}

/// Run by [`kill9_torture`] in a child process: opens the database, reports the graph it
/// found, and runs the round's workload until killed (or until `max_txns`, then closes).
#[test]
#[ignore = "helper, run as a child process by kill9_torture"]
fn torture_child() {
    let Ok(path) = std::env::var(ENV_DB) else {
        eprintln!("{CHILD_TEST} only runs as the child of kill9_torture");
        return;
    };
    let seed = u64::from_str_radix(&std::env::var(ENV_SEED).unwrap(), 16).unwrap();
    let mut work = Gen::new(seed);
    // The leading newline separates the lines from the test harness's "test ... " prefix.
    println!();
    say("opening");
    let db = match Db::open(Path::new(&path), &work.cfg.options(QV_OPEN_CREATE)) {
        Ok(db) => db,
        Err(f) => panic!("child: open failed: {f}"),
    };
    say("opened");
    if let Err(e) = db.check() {
        panic!("child: after open: {e}");
    }
    let g = dump_db(&db, (0, 0)).unwrap_or_else(|e| panic!("child: dump after open: {e}"));
    let mut m = Model::from_graph(&g).unwrap();
    say(&format!(
        "ready {:016x} {} {}",
        g.hash(),
        g.nodes.len(),
        g.edges.len()
    ));
    if std::env::var(ENV_OPEN_ONLY).is_ok() {
        // The parent kills this child; it only had to open (and recover) the database.
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let mut be = ChildBackend {
        db,
        txn: None,
        reader: None,
        t: 0,
        ids: Vec::new(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let checkpointer = (work.cfg.bg_ckpt_us > 0).then(|| {
        let (db, stop, us) = (be.db.share(), Arc::clone(&stop), work.cfg.bg_ckpt_us);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_micros(us));
                if let Err(f) = db.checkpoint() {
                    panic!("child: background checkpoint: {f}");
                }
            }
        })
    });
    let started = Instant::now();
    let mut t = 0;
    while t < work.cfg.max_txns && started.elapsed() < Duration::from_secs(30) {
        work.txn(t, &mut m, &mut be);
        t += 1;
    }
    if let Some(r) = be.reader.take() {
        r.rollback();
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(c) = checkpointer {
        c.join().unwrap();
    }
    say("closing");
    if let Err(f) = be.db.close() {
        panic!("child: close: {f}");
    }
    say(&format!("done {t}"));
}

// ---------------------------------------------------------------------------------------
// The parent: what the child said.

#[derive(Debug)]
struct Pre {
    check: u64,
    ids: Vec<u64>,
}

#[derive(Debug, Default)]
struct Said {
    ready: Option<u64>,
    pre: BTreeMap<u64, Pre>,
    acks: Vec<u64>,
    big: Vec<u64>,
    ckpt: Vec<u64>,
    opening: bool,
    opened: bool,
    closing: bool,
    done: Option<u64>,
}

enum Event {
    Ready,
    Pre,
    Ack,
    Big,
    Ckpt,
    Closing,
    Done,
    Other,
}

impl Said {
    fn take(&mut self, line: &str) -> Result<Event, String> {
        let line = line.trim_end();
        let Some(at) = line.find(TAG) else {
            return Ok(Event::Other);
        };
        let bad = || format!("unparsable child line {line:?}");
        let w: Vec<&str> = line[at + TAG.len()..].split(' ').collect();
        let num = |i: usize| -> Result<u64, String> {
            w.get(i).and_then(|s| s.parse().ok()).ok_or_else(bad)
        };
        Ok(match w[0] {
            "ready" => {
                self.ready = Some(
                    w.get(1)
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or_else(bad)?,
                );
                Event::Ready
            }
            "pre" => {
                let t = num(1)?;
                let check = w
                    .get(2)
                    .and_then(|s| u64::from_str_radix(s, 16).ok())
                    .ok_or_else(bad)?;
                let ids = match w.get(3) {
                    Some(s) if !s.is_empty() => s
                        .split(',')
                        .map(|x| x.parse().map_err(|_| bad()))
                        .collect::<Result<Vec<u64>, String>>()?,
                    _ => Vec::new(),
                };
                self.pre.insert(t, Pre { check, ids });
                Event::Pre
            }
            "ack" => {
                self.acks.push(num(1)?);
                Event::Ack
            }
            "big" => {
                self.big.push(num(1)?);
                Event::Big
            }
            "ckpt" => {
                self.ckpt.push(num(1)?);
                Event::Ckpt
            }
            "opening" => {
                self.opening = true;
                Event::Other
            }
            "opened" => {
                self.opened = true;
                Event::Other
            }
            "closing" => {
                self.closing = true;
                Event::Closing
            }
            "done" => {
                self.done = Some(num(1)?);
                Event::Done
            }
            _ => return Err(bad()),
        })
    }
}

/// The parent's backend: no database, only ids. A transaction the child reported (a `pre`
/// line) gets the ids the engine gave it; others (rolled back, or never committed) get
/// made-up ids that no real record has.
struct Replay<'a> {
    said: &'a Said,
    ids: VecDeque<u64>,
    fake: u64,
    err: Option<String>,
}

impl<'a> Replay<'a> {
    /// A replay of what the child said, with made-up ids beyond what it reported.
    fn new(said: &'a Said) -> Replay<'a> {
        Replay {
            said,
            ids: VecDeque::new(),
            fake: 1 << 62,
            err: None,
        }
    }

    fn id(&mut self) -> u64 {
        self.ids.pop_front().unwrap_or_else(|| {
            self.fake += 1;
            self.fake
        })
    }
}

impl Backend for Replay<'_> {
    fn begin(&mut self, t: u64, _big: bool) {
        self.ids = self
            .said
            .pre
            .get(&t)
            .map(|p| p.ids.iter().copied().collect())
            .unwrap_or_default();
    }
    fn node_insert(&mut self, _label: &str) -> u64 {
        self.id()
    }
    fn edge_insert(&mut self, _src: u64, _dst: u64, _ty: &str) -> u64 {
        self.id()
    }
    fn node_delete(&mut self, _id: u64, _detach: bool, _constraint: bool) {}
    fn edge_delete(&mut self, _id: u64) {}
    fn set(&mut self, _edge: bool, _id: u64, _key: &str, _v: &Val) {}
    fn unset(&mut self, _edge: bool, _id: u64, _key: &str) {}
    fn savepoint(&mut self, _name: &str) {}
    fn rollback_to(&mut self, _name: &str) {}
    fn release(&mut self, _name: &str) {}
    fn verify_node(&mut self, _id: u64, _want: &NodeM) {}
    fn verify_edge(&mut self, _id: u64, _want: &EdgeM) {}
    fn commit(&mut self, t: u64, check: u64) {
        let Some(p) = self.said.pre.get(&t) else {
            // Replay stops at the last transaction the child reported.
            if self.err.is_none() {
                self.err = Some(format!(
                    "replay diverged: transaction {t} commits here but the child did not report it"
                ));
            }
            return;
        };
        if self.err.is_none() && (p.check != check || !self.ids.is_empty()) {
            self.err = Some(format!(
                "replay diverged from the child at transaction {t}: generator state {check:x} vs \
                 the child's {:x}, {} unused ids",
                p.check,
                self.ids.len()
            ));
        }
    }
    fn rollback(&mut self, t: u64) {
        if self.err.is_none() && self.said.pre.contains_key(&t) {
            self.err = Some(format!(
                "replay diverged: transaction {t} rolls back here but the child committed it"
            ));
        }
    }
    fn checkpoint(&mut self, _t: u64) {}
    fn reader_begin(&mut self) {}
    fn reader_check(&mut self, _id: u64, _want: &NodeM) {}
    fn reader_end(&mut self) {}
}

/// The states the database may be in after the kill: after the last acknowledged
/// transaction, or (if one was in flight) after that one too.
struct Expected {
    acked: Graph,
    inflight: Option<(u64, Graph)>,
    /// Transactions acknowledged.
    acks: u64,
}

/// On a mismatch: which earlier state the recovered graph is, if any ("a prefix of the
/// acknowledged transactions": lost commits, but a consistent state).
fn prefix_of(start: &Graph, seed: u64, said: &Said, got: &Graph) -> String {
    if got == start {
        return "it equals the state before the round's first transaction (every commit of \
                the round was lost)"
            .into();
    }
    let (Ok(mut m), Some(end)) = (Model::from_graph(start), said.pre.keys().last().copied()) else {
        return "it is no earlier state either".into();
    };
    let mut work = Gen::new(seed);
    let mut be = Replay::new(said);
    for t in 0..=end {
        work.txn(t, &mut m, &mut be);
        if said.pre.contains_key(&t) && m.to_graph() == *got {
            return format!(
                "it equals the state after transaction {t}: a prefix, the acknowledged \
                 transactions after it were lost"
            );
        }
    }
    "it is no earlier state either (not a prefix)".into()
}

fn expected(start: &Graph, seed: u64, said: &Said) -> Result<Expected, String> {
    for w in said.acks.windows(2) {
        if w[0] >= w[1] {
            return Err(format!("acks out of order: {:?}", said.acks));
        }
    }
    let last_ack = said.acks.last().copied();
    for a in &said.acks {
        if !said.pre.contains_key(a) {
            return Err(format!("ack {a} without its pre line"));
        }
    }
    let inflight = said
        .pre
        .keys()
        .copied()
        .filter(|t| Some(*t) > last_ack)
        .collect::<Vec<_>>();
    if inflight.len() > 1 || said.pre.len() != said.acks.len() + inflight.len() {
        return Err(format!(
            "more than one transaction in flight: pre {:?}, acks {:?}",
            said.pre.keys().collect::<Vec<_>>(),
            said.acks
        ));
    }
    let inflight = inflight.first().copied();
    let mut m = Model::from_graph(start)?;
    let mut work = Gen::new(seed);
    let mut be = Replay::new(said);
    let mut acked = last_ack.is_none().then(|| start.clone());
    let mut fly = None;
    let end = inflight.or(last_ack);
    if let Some(end) = end {
        for t in 0..=end {
            work.txn(t, &mut m, &mut be);
            if let Some(e) = be.err.take() {
                return Err(e);
            }
            if Some(t) == last_ack {
                acked = Some(m.to_graph());
            }
            if Some(t) == inflight {
                fly = Some((t, m.to_graph()));
            }
        }
    }
    Ok(Expected {
        acked: acked.unwrap(),
        inflight: fly,
        acks: said.acks.len() as u64,
    })
}

// ---------------------------------------------------------------------------------------
// The parent: rounds.

/// When the parent kills the child.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// This long after spawning (maybe while it opens and recovers the database).
    AfterSpawn(Duration),
    /// This long after the child reported the database open.
    AfterReady(Duration),
    /// This long after the n-th acknowledgement.
    AfterAck(usize, Duration),
    /// This long after the n-th `pre` line (a commit in flight, maybe its checkpoint).
    AfterPre(usize, Duration),
    /// This long after the first large transaction began.
    InBig(Duration),
    /// This long after the first explicit checkpoint began.
    InCheckpoint(Duration),
    /// This long after the child began to close the database (it stops after
    /// `Cfg::max_txns`).
    InClose(Duration),
}

impl Plan {
    fn new(r: &mut SplitMix64, cfg: &Cfg) -> Plan {
        let us = |r: &mut SplitMix64, max: u64| Duration::from_micros(r.below(max));
        if cfg.max_txns < 1 << 40 && r.chance(50) {
            return Plan::InClose(us(r, 30_000));
        }
        match r.below(100) {
            0..=4 => Plan::AfterSpawn(us(r, 40_000)),
            5..=39 => Plan::AfterReady(us(r, 150_000)),
            40..=49 => Plan::AfterReady(us(r, 400_000)),
            50..=62 => Plan::AfterAck(r.range(1, 100) as usize, us(r, 2_000)),
            63..=77 => Plan::AfterPre(r.range(1, 100) as usize, us(r, 3_000)),
            78..=89 if cfg.big_permille > 0 => Plan::InBig(us(r, 300_000)),
            90..=99 if cfg.ckpt_pct > 0 => Plan::InCheckpoint(us(r, 4_000)),
            _ => Plan::AfterReady(us(r, 120_000)),
        }
    }
}

#[derive(Debug, Default)]
struct Totals {
    rounds: u64,
    acks: u64,
    inflight_present: u64,
    inflight_absent: u64,
    clean_exits: u64,
    killed_before_ready: u64,
    killed_in_big: u64,
    killed_in_ckpt: u64,
    killed_in_close: u64,
    recovery_kills: u64,
    recovery_kills_before_ready: u64,
    recovery_kills_in_open: u64,
    fresh: u64,
    ro_verifies: u64,
    replayed: u64,
    truncated: u64,
    by_sync: [u64; 3],
    t_child: Duration,
    t_replay: Duration,
    t_verify: Duration,
    max_nodes: usize,
}

/// A child process killed when dropped.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Round<'a> {
    seed: u64,
    path: &'a Path,
    /// The verified state the database holds (empty for a fresh one).
    start: &'a Graph,
    /// Whether the database existed (and was verified) before this round.
    existed: bool,
    /// Children that only open the database, killed at random moments (often while they
    /// recover it), before the one that runs the workload.
    recovery_kills: u64,
}

fn spawn_child(path: &Path, seed: u64, open_only: bool) -> Result<ChildGuard, String> {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        CHILD_TEST,
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ENV_DB, path)
    .env(ENV_SEED, format!("{seed:x}"))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if open_only {
        c.env(ENV_OPEN_ONLY, "1");
    }
    Ok(ChildGuard(c.spawn().map_err(|e| format!("spawn: {e}"))?))
}

/// Children that open the database and are killed just after they call qv_open (within
/// 5 ms, often while recovery runs; now and then up to 50 ms). Each that got the database
/// open must have found the verified graph.
fn recovery_kills(rd: &Round<'_>, pr: &mut SplitMix64, tot: &mut Totals) -> Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    for i in 0..rd.recovery_kills {
        let mut child = spawn_child(rd.path, rd.seed, true)?;
        let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
        let mut out = String::new();
        while !out.contains("QVT opening") {
            match stdout.read_line(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let max = if pr.chance(20) { 50_000 } else { 5_000 };
        std::thread::sleep(Duration::from_micros(pr.below(max)));
        let _ = child.0.kill();
        let _ = stdout.read_to_string(&mut out);
        let mut err = String::new();
        let status = child.0.wait().map_err(|e| format!("wait: {e}"))?;
        let _ = child.0.stderr.take().unwrap().read_to_string(&mut err);
        if status.signal() != Some(9) {
            return Err(format!(
                "opening child {i} (killed during recovery) failed ({status}); stderr:\n{err}\n\
                 stdout:\n{out}"
            ));
        }
        let mut said = Said::default();
        for line in out.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            said.take(line)?;
        }
        tot.recovery_kills += 1;
        if said.opening && !said.opened {
            tot.recovery_kills_in_open += 1;
        }
        match said.ready {
            None => tot.recovery_kills_before_ready += 1,
            Some(h) if h != rd.start.hash() => {
                return Err(format!(
                    "opening child {i}: the database holds a graph (hash {h:016x}) other than the \
                     verified one (hash {:016x})",
                    rd.start.hash()
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks the reopened database against the expected states; returns the graph it holds.
#[expect(
    clippy::too_many_arguments,
    reason = "the round's parts, passed from one call site"
)]
fn verify(
    db: &Db,
    rd: &Round<'_>,
    exp: &Expected,
    said: &Said,
    plan: Plan,
    read_only: bool,
    pr: &mut SplitMix64,
    tot: &mut Totals,
) -> Result<(Graph, (u64, u64)), String> {
    let rec = db.last_recovery();
    tot.replayed += rec.txns_replayed;
    tot.truncated += rec.bytes_truncated;
    db.check()
        .map_err(|e| format!("after recovery (replayed {}): {e}", rec.txns_replayed))?;
    let probe = |g: &Graph| {
        (
            g.nodes.keys().last().copied().unwrap_or(0) + 8,
            g.edges.keys().last().copied().unwrap_or(0) + 8,
        )
    };
    let mut pb = probe(&exp.acked);
    if let Some((_, g)) = &exp.inflight {
        pb = (pb.0.max(probe(g).0), pb.1.max(probe(g).1));
    }
    let got = dump_db(db, pb).map_err(|e| format!("dump after recovery: {e}"))?;
    let recovered = format!(
        "recovery: {} txns replayed, {} discarded, {} bytes truncated",
        rec.txns_replayed, rec.txns_discarded, rec.bytes_truncated
    );
    if got == exp.acked {
        if exp.inflight.is_some() {
            tot.inflight_absent += 1;
        }
    } else if exp.inflight.as_ref().is_some_and(|(_, g)| *g == got) {
        tot.inflight_present += 1;
    } else {
        let mut msg = format!(
            "the recovered graph is not the acknowledged state ({} acks, last {:?}; {recovered}; \
             killed by plan {plan:?}):\n{}",
            exp.acks,
            said.acks.last(),
            exp.acked.diff(&got)
        );
        if let Some((t, g)) = &exp.inflight {
            msg += &format!(
                "\nnor the state with transaction {t} (in flight):\n{}",
                g.diff(&got)
            );
        }
        msg += &format!("\n{}", prefix_of(rd.start, rd.seed, said, &got));
        return Err(msg);
    }
    tot.acks += exp.acks;
    if read_only {
        tot.ro_verifies += 1;
    } else if pr.chance(25) {
        // A checkpoint of the recovered state, then the same graph again.
        db.checkpoint()
            .map_err(|f| format!("checkpoint after recovery: {f}"))?;
        db.check()
            .map_err(|e| format!("after recovery and checkpoint: {e}"))?;
        let again = dump_db(db, pb).map_err(|e| format!("dump after checkpoint: {e}"))?;
        if again != got {
            return Err(format!(
                "a checkpoint after recovery changed the graph:\n{}",
                got.diff(&again)
            ));
        }
    }
    Ok((got, pb))
}

/// One round: run the child, kill it, verify. Returns the verified state and whether it
/// was verified read-only (leaving the crashed log for the next child to recover).
fn run_round(rd: &Round<'_>, tot: &mut Totals) -> Result<(Graph, bool), String> {
    let cfg = Cfg::new(rd.seed);
    let mut pr = SplitMix64(mix(rd.seed, 3));
    let plan = Plan::new(&mut pr, &cfg);
    recovery_kills(rd, &mut pr, tot)?;
    let mut child = spawn_child(rd.path, rd.seed, false)?;
    let spawned = Instant::now();
    let (tx, rx) = mpsc::channel::<String>();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdout.read_until(b'\n', &mut buf) {
                // A line cut short by the kill has no newline: it was not said.
                Ok(0) | Err(_) => return,
                Ok(_) if buf.last() != Some(&b'\n') => return,
                Ok(_) => {
                    if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut stderr = child.0.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut said = Said::default();
    let mut lines = Vec::new();
    // Wait for the plan's trigger (or the end of the child's output, or a deadline).
    let mut trigger: Option<Duration> = match plan {
        Plan::AfterSpawn(d) => Some(d),
        _ => None,
    };
    let mut ready_at = None;
    let mut eof = false;
    let mut n_pre = 0;
    let mut killed_in = "";
    while trigger.is_none() {
        let limit = match ready_at {
            Some(r) => r + Duration::from_millis(1500),
            None => spawned + Duration::from_secs(20),
        };
        let now = Instant::now();
        if now >= limit {
            if ready_at.is_none() {
                return Err(format!(
                    "the child did not open the database within 20 s; output: {lines:?}"
                ));
            }
            trigger = Some(Duration::ZERO);
            break;
        }
        let line = match rx.recv_timeout(limit - now) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                eof = true;
                break;
            }
        };
        let ev = said.take(&line)?;
        lines.push(line);
        match (ev, plan) {
            (Event::Ready, _) => {
                ready_at = Some(Instant::now());
                if let Plan::AfterReady(d) = plan {
                    trigger = Some(d);
                }
            }
            (Event::Ack, Plan::AfterAck(n, d)) if said.acks.len() >= n => trigger = Some(d),
            (Event::Pre, Plan::AfterPre(n, d)) => {
                n_pre += 1;
                if n_pre >= n {
                    trigger = Some(d);
                }
            }
            (Event::Big, Plan::InBig(d)) => {
                trigger = Some(d);
                killed_in = "big";
            }
            (Event::Ckpt, Plan::InCheckpoint(d)) => {
                trigger = Some(d);
                killed_in = "ckpt";
            }
            (Event::Closing, Plan::InClose(d)) => {
                trigger = Some(d);
                killed_in = "close";
            }
            _ => {}
        }
    }
    if !eof {
        std::thread::sleep(trigger.unwrap_or_default());
        let _ = child.0.kill();
    }
    let status = child.0.wait().map_err(|e| format!("wait: {e}"))?;
    for line in rx.iter() {
        said.take(&line)?;
        lines.push(line);
    }
    reader.join().unwrap();
    let child_err = err_reader.join().unwrap();
    let tail = |lines: &[String]| {
        let n = lines.len().saturating_sub(6);
        lines[n..].concat()
    };
    if status.success() {
        if said.done.is_none() {
            return Err(format!(
                "the child exited without finishing; stdout tail:\n{}",
                tail(&lines)
            ));
        }
        tot.clean_exits += 1;
    } else {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            return Err(format!(
                "the child failed ({status}); stderr:\n{child_err}\nstdout tail:\n{}",
                tail(&lines)
            ));
        }
    }
    match said.ready {
        None => tot.killed_before_ready += 1,
        Some(h) if h != rd.start.hash() => {
            return Err(format!(
                "the child opened the database and found a graph (hash {h:016x}) other than the \
                 verified one (hash {:016x}, {} nodes, {} edges)",
                rd.start.hash(),
                rd.start.nodes.len(),
                rd.start.edges.len()
            ));
        }
        Some(_) => {}
    }
    tot.t_child += spawned.elapsed();
    let t0 = Instant::now();
    let exp = expected(rd.start, rd.seed, &said)?;
    tot.t_replay += t0.elapsed();
    let t0 = Instant::now();
    // Did the kill land inside the large transaction or the checkpoint it waited for?
    if killed_in == "big" && said.big.last().is_some_and(|b| !said.acks.contains(b)) {
        tot.killed_in_big += 1;
    }
    if killed_in == "ckpt" && said.ckpt.last() == said.acks.last() {
        tot.killed_in_ckpt += 1;
    }
    if killed_in == "close" && said.done.is_none() {
        tot.killed_in_close += 1;
    }

    // Verify: reopen through the C API (read-only now and then, when the database exists
    // for sure), check, dump, compare.
    let read_only = rd.existed && pr.chance(40);
    let flags = if read_only {
        QV_OPEN_READ_ONLY
    } else {
        QV_OPEN_CREATE
    };
    let opts = options(flags, QV_SYNC_FULL, cfg.checkpoint_bytes, cfg.segment_bytes);
    // A copy of the files as the kill left them, for whoever investigates a failure (the
    // verification's recovery repairs the log in place).
    let image = rd.path.with_file_name("crash-image");
    let _ = std::fs::remove_dir_all(&image);
    let note = if dir_size(rd.path) <= 32 << 20 && try_copy_dir(rd.path, &image).is_ok() {
        format!("\nthe files as the kill left them: {}", image.display())
    } else {
        String::new()
    };
    let db = Db::open(rd.path, &opts).map_err(|f| format!("reopen after the kill: {f}{note}"))?;
    let (got, pb) = match verify(&db, rd, &exp, &said, plan, read_only, &mut pr, tot) {
        Ok(g) => g,
        Err(e) => {
            // Leave the files as they are (no final checkpoint) for whoever investigates.
            std::mem::forget(db);
            return Err(format!("{e}{note}"));
        }
    };
    db.close()
        .map_err(|f| format!("close after verifying: {f}"))?;
    if !read_only && pr.chance(15) {
        // Closed cleanly (final checkpoint): the same graph once more.
        let db = Db::open(rd.path, &opts).map_err(|f| format!("second reopen: {f}"))?;
        db.check()
            .map_err(|e| format!("after a clean close: {e}"))?;
        let again = dump_db(&db, pb).map_err(|e| format!("dump after a clean close: {e}"))?;
        if again != got {
            return Err(format!(
                "close and reopen changed the graph:\n{}",
                got.diff(&again)
            ));
        }
        db.close().map_err(|f| format!("second close: {f}"))?;
    }
    tot.t_verify += t0.elapsed();
    tot.max_nodes = tot.max_nodes.max(got.nodes.len());
    tot.rounds += 1;
    tot.by_sync[cfg.sync as usize] += 1;
    Ok((got, read_only))
}

#[test]
fn kill9_torture() {
    let master = env_u64("QUIVER_TORTURE_SEED").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        mix(t.as_nanos() as u64, std::process::id() as u64)
    });
    let seconds = env_u64("QUIVER_TORTURE_SECONDS");
    let rounds = env_u64("QUIVER_TORTURE_ROUNDS").unwrap_or(200);
    eprintln!(
        "torture: master seed {master:#x} (QUIVER_TORTURE_SEED={master:#x} repeats the workloads; \
         kill timing is not reproducible)"
    );
    let scratch = Scratch::new(&format!("torture-{master:016x}"));
    let root = scratch.root.clone();
    let started = Instant::now();
    let mut tot = Totals::default();
    let mut state: Option<Graph> = None;
    let mut db_no = 0u64;
    // Whether the last verification left the crashed log as it was (read-only open).
    let mut crashed_log = false;
    let mut path = root.join("db-0");
    let mut round = 0u64;
    loop {
        match seconds {
            Some(s) if started.elapsed() >= Duration::from_secs(s) => break,
            None if round >= rounds => break,
            _ => {}
        }
        let seed = mix(master, round);
        let mut pr = SplitMix64(mix(seed, 4));
        // Fresh databases now and then, and whenever the graph has grown large (the
        // verification reads every property, which costs time in a debug build).
        let too_big = state.as_ref().is_some_and(|g| {
            g.nodes.len() > 700 || g.prop_bytes() > (3 << 20) || dir_size(&path) > (64 << 20)
        });
        if state.is_none() || too_big || pr.chance(12) {
            let _ = std::fs::remove_dir_all(&path);
            db_no += 1;
            path = root.join(format!("db-{db_no}"));
            state = None;
            crashed_log = false;
            tot.fresh += 1;
        }
        let existed = state.is_some();
        let start = state.take().unwrap_or_default();
        let rd = Round {
            seed,
            path: &path,
            start: &start,
            existed,
            recovery_kills: if crashed_log && pr.chance(50) {
                pr.range(1, 3)
            } else {
                u64::from(pr.chance(4))
            },
        };
        match run_round(&rd, &mut tot) {
            Ok((g, ro)) => {
                state = Some(g);
                crashed_log = ro;
            }
            Err(e) => {
                let cfg = Cfg::new(seed);
                panic!(
                    "torture FAILED: master seed {master:#x}, round {round}, round seed {seed:#x}, \
                     sync {}, {cfg:?}\ndatabase kept at {}\n{e}",
                    sync_name(cfg.sync),
                    path.display()
                );
            }
        }
        round += 1;
    }
    let el = started.elapsed();
    eprintln!(
        "torture: {} rounds ({} FULL, {} NORMAL, {} OFF) in {:.1} s, {} databases; {} acknowledged \
         transactions verified; in-flight commit present {} / absent {}; {} clean exits, {} kills \
         before the database was open, {} inside large transactions, {} inside explicit \
         checkpoints, {} while closing; {} read-only verifications; {} children killed while \
         opening the crashed database ({} inside qv_open, {} before the dump was done); recovery replayed {} transactions, truncated {} \
         bytes",
        tot.rounds,
        tot.by_sync[0],
        tot.by_sync[1],
        tot.by_sync[2],
        el.as_secs_f64(),
        tot.fresh,
        tot.acks,
        tot.inflight_present,
        tot.inflight_absent,
        tot.clean_exits,
        tot.killed_before_ready,
        tot.killed_in_big,
        tot.killed_in_ckpt,
        tot.killed_in_close,
        tot.ro_verifies,
        tot.recovery_kills,
        tot.recovery_kills_in_open,
        tot.recovery_kills_before_ready,
        tot.replayed,
        tot.truncated
    );
    eprintln!(
        "torture: time in children {:.1} s, replay {:.1} s, verification {:.1} s; largest graph {} nodes",
        tot.t_child.as_secs_f64(),
        tot.t_replay.as_secs_f64(),
        tot.t_verify.as_secs_f64(),
        tot.max_nodes
    );
    drop(scratch);
}
