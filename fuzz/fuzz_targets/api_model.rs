//! Model-based fuzzing of the Rust API: a sequence of calls decoded from the input runs
//! against `quiver::Database` (in a scratch directory, through `FaultStorage` so that a power
//! loss can be simulated) and against a small in-memory model of the graph.
//!
//! Input: one configuration byte (sync mode, segment and checkpoint sizes), then operations,
//! each an opcode byte followed by the argument bytes it reads (missing bytes read as 0):
//! node and edge inserts and deletes, property sets and unsets, savepoints, rollback_to,
//! release, commit, rollback, checkpoints, a reader held across commits, clean close and
//! reopen, reopen after a crash (a power loss: from the durable image that `FaultStorage`
//! keeps; or a process crash: from the files as they are), misuse and invalid arguments.
//!
//! After every commit, the whole graph read through the API (labels, properties, adjacency
//! in every direction and by type, degrees, label scans, counts) must equal the model. After
//! a power loss the recovered graph must equal one of the states a power loss may leave:
//! with sync FULL the last commit; with sync OFF any commit since the last explicit
//! checkpoint, clean close or open (or an automatic checkpoint taken with no reader open).
//! After a process crash, in either mode, the last commit.
//! Any mismatch, any error other than the one the model expects, or any integrity problem
//! panics with the last operations.
#![no_main]

/// The graph model, the full read of a transaction and the comparison the Rust tests use.
#[path = "../../tests/support/model.rs"]
mod model;
/// Copies of database directories, as the Rust tests make them.
#[path = "../../tests/support/scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;
use model::{
    Edge, Graph, Names, Node, V, check_clean, check_counts, compare, expect, ok, read_props,
    read_txn, short, utf8, variant,
};
use quiver::testing::FaultStorage;
use quiver::{Database, Dir, Options, SyncMode, Txn, Value, ValueRef};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const LABELS: [&str; 4] = ["A", "B", "Ünïcode", "D"];
const TYPES: [&str; 3] = ["X", "Y", "Z"];
/// Keys overlap with a label and a type: all three share one string table.
const KEYS: [&str; 5] = ["k1", "k2", "A", "X", "ключ"];
const SAVEPOINTS: [&str; 3] = ["s1", "s2", "s3"];
const DIRS: [Dir; 3] = [Dir::Out, Dir::In, Dir::Both];
const NAMES: Names<'static> = Names {
    labels: &LABELS,
    types: &TYPES,
    keys: &KEYS,
};

/// Bounds that keep one input fast.
const MAX_OPS: usize = 300;
const MAX_NODES: usize = 40;
const MAX_EDGES: usize = 80;

// ---------------------------------------------------------------------------------------
// The input

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next byte; 0 once the input is used up.
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for x in &mut v {
            *x = self.u8();
        }
        u64::from_le_bytes(v)
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[usize::from(self.u8()) % v.len()]
    }

    fn value(&mut self) -> Value {
        let b = self.u8();
        match b % 8 {
            0 => Value::Null,
            1 => Value::Bool(b & 0x80 != 0),
            2 => Value::Int(match (b >> 3) % 4 {
                0 => i64::MIN,
                1 => i64::MAX,
                2 => i64::from(self.u8()) - 128,
                _ => self.u64() as i64,
            }),
            3 => Value::Float(f64::from_bits(self.u64())),
            4 | 5 => {
                let alphabet = ["a", "z", " ", "é", "日", "🦀", "\0"];
                let n = self.u8() % 16;
                Value::String((0..n).map(|_| self.pick(&alphabet)).collect())
            }
            6 => {
                let n = self.u8() % 40;
                Value::Bytes((0..n).map(|_| self.u8()).collect())
            }
            // Now and then a larger value (up to 16 KiB): segments roll, the heap grows.
            _ => {
                let n = usize::from(self.u8()) * 64;
                let s = self.u8();
                Value::Bytes((0..n).map(|i| s.wrapping_add(i as u8)).collect())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The model

/// The model's graph and the ids the next inserts get (None: not known, after a power
/// loss).
#[derive(Clone, Debug, Default)]
struct State {
    graph: Graph,
    next_node: Option<u64>,
    next_edge: Option<u64>,
}

impl Deref for State {
    type Target = Graph;

    fn deref(&self) -> &Graph {
        &self.graph
    }
}

impl DerefMut for State {
    fn deref_mut(&mut self) -> &mut Graph {
        &mut self.graph
    }
}

/// Checks an id handed out for a new node or edge and advances the expected next id.
fn take_id(next: &mut Option<u64>, live: bool, got: u64, what: &str) -> Result<(), String> {
    let ok = match *next {
        Some(n) => got == n,
        None => got != 0 && !live,
    };
    if !ok {
        return Err(format!("new {what} got id {got}, model expects {next:?}"));
    }
    *next = Some(got + 1);
    Ok(())
}

/// A live id (most bytes) or one that names nothing.
fn pick_id(input: &mut Bytes<'_>, live: &[u64], next: Option<u64>) -> u64 {
    let b = input.u8();
    if b < 0xE0 && !live.is_empty() {
        return live[usize::from(b) % live.len()];
    }
    match b % 5 {
        0 => 0,
        1 => u64::MAX,
        2 => 1 << 48,
        // The next id to be handed out, or one that was handed out but is not live now.
        3 => next.unwrap_or(1_000_000),
        _ => (1..).find(|i| !live.contains(i)).unwrap_or(1) + u64::from(b % 3),
    }
}

fn node_ids(g: &Graph) -> Vec<u64> {
    g.nodes.keys().copied().collect()
}

fn edge_ids(g: &Graph) -> Vec<u64> {
    g.edges.keys().copied().collect()
}

/// Everything `t` shows must equal `g`. Without `full`, each node's typed adjacency is
/// sampled (one type) to keep the per-commit check cheap.
fn compare_state(t: &Txn, g: &Graph, full: bool) -> Result<(), String> {
    let mut by_id = |id: u64| id as usize;
    compare(
        t,
        g,
        &NAMES,
        (!full).then_some(&mut by_id as &mut dyn FnMut(u64) -> usize),
    )
}

// ---------------------------------------------------------------------------------------
// The run

struct TxnModel {
    g: State,
    savepoints: Vec<(&'static str, State)>,
}

struct Run<'a> {
    input: Bytes<'a>,
    root: PathBuf,
    dir: PathBuf,
    images: u32,
    opts: Options,
    fs: FaultStorage,
    db: Option<Database>,
    w: Option<(Txn, TxnModel)>,
    reader: Option<(Txn, Graph)>,
    committed: State,
    /// The states a power loss now may leave, oldest first (the last is `committed`).
    durable: Vec<State>,
    checkpoint_lsn: u64,
    trace: Vec<String>,
}

fn scratch_root() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = match std::env::var_os("QUIVER_FUZZ_TMP") {
        Some(p) => PathBuf::from(p),
        None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
        None => std::env::temp_dir(),
    };
    base.join(format!(
        "qv-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn open_db(dir: &Path, opts: &Options) -> Result<(FaultStorage, Database), String> {
    let fs = FaultStorage::open(dir).map_err(|e| format!("FaultStorage::open: {e}"))?;
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), opts)
        .map_err(|e| format!("open {}: {}: {e}", dir.display(), variant(&e)))?;
    Ok((fs, db))
}

impl Run<'_> {
    fn log(&mut self, s: String) {
        self.trace.push(s);
    }

    fn db(&self) -> &Database {
        self.db.as_ref().expect("open")
    }

    fn sync_full(&self) -> bool {
        self.opts.sync == SyncMode::Full
    }

    /// The open write transaction, begun if there is none.
    fn wtxn(&mut self) -> Result<&mut (Txn, TxnModel), String> {
        if self.w.is_none() {
            let t = ok(self.db().begin_write(), "begin_write")?;
            self.log("begin_write".into());
            let g = self.committed.clone();
            self.w = Some((
                t,
                TxnModel {
                    g,
                    savepoints: Vec::new(),
                },
            ));
        }
        Ok(self.w.as_mut().expect("just set"))
    }

    /// Checks a fresh reader, the stats and (when due) the integrity of the committed state.
    fn check_committed(&mut self, integrity: bool) -> Result<(), String> {
        let r = ok(self.db().begin_read(), "begin_read")?;
        compare_state(&r, &self.committed, integrity)
            .map_err(|e| format!("committed state: {e}"))?;
        drop(r);
        check_counts(self.db(), &self.committed)?;
        if integrity {
            check_clean(self.db())?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), String> {
        let Some((t, m)) = self.w.take() else {
            return Ok(());
        };
        self.log(format!("commit ({} savepoints open)", m.savepoints.len()));
        ok(t.commit(), "commit")?;
        self.committed = m.g;
        let lsn = self.db().stats().checkpoint_lsn;
        // With FULL every commit is durable; an automatic checkpoint with no reader open
        // covers every commit (its first step syncs the log).
        if self.sync_full() || (lsn != self.checkpoint_lsn && self.reader.is_none()) {
            self.durable.clear();
        }
        self.checkpoint_lsn = lsn;
        self.durable.push(self.committed.clone());
        self.check_committed(false)
    }

    fn rollback(&mut self, how: u8) -> Result<(), String> {
        let Some((t, _)) = self.w.take() else {
            return Ok(());
        };
        self.log(format!(
            "rollback ({})",
            if how & 1 == 0 { "call" } else { "drop" }
        ));
        if how & 1 == 0 {
            t.rollback();
        } else {
            drop(t);
        }
        check_counts(self.db(), &self.committed).map_err(|e| format!("after rollback: {e}"))
    }

    fn checkpoint(&mut self) -> Result<(), String> {
        let r = self.db().checkpoint();
        self.log(format!("checkpoint -> {:?}", r.as_ref().map_err(variant)));
        if self.w.is_some() {
            // The write transaction holds the writer lock; busy_timeout is 0.
            return expect(r, Some("Busy"), "checkpoint during a write transaction");
        }
        ok(r, "checkpoint")?;
        // An explicit checkpoint makes every commit durable, readers or not.
        self.durable = vec![self.committed.clone()];
        self.checkpoint_lsn = self.db().stats().checkpoint_lsn;
        Ok(())
    }

    fn reader_op(&mut self, b: u8) -> Result<(), String> {
        match self.reader.take() {
            None => {
                let t = ok(self.db().begin_read(), "begin_read")?;
                self.log("reader: begin".into());
                self.reader = Some((t, self.committed.graph.clone()));
            }
            Some((t, g)) => {
                self.log("reader: compare".into());
                compare_state(&t, &g, true)
                    .map_err(|e| format!("reader held across commits: {e}"))?;
                match b % 3 {
                    0 => self.reader = Some((t, g)),
                    1 => ok(t.commit(), "reader commit")?,
                    _ => drop(t),
                }
            }
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), String> {
        let open = usize::from(self.w.is_some()) + usize::from(self.reader.is_some());
        if open > 0 {
            let r = self.db.as_mut().expect("open").try_close();
            self.log(format!(
                "close with {open} transaction(s) open -> {:?}",
                r.as_ref().map_err(variant)
            ));
            expect(r, Some("Busy"), "close with transactions open")?;
            if self.db().open_txns() != open {
                return Err(format!(
                    "open_txns {} after a refused close, {open} open",
                    self.db().open_txns()
                ));
            }
            return Ok(());
        }
        self.log("close and reopen".into());
        ok(self.db.take().expect("open").close(), "close")?;
        let (fs, db) = open_db(&self.dir, &self.opts)?;
        self.fs = fs;
        self.db = Some(db);
        let rec = self.db().last_recovery();
        if rec.txns_replayed != 0 || rec.txns_discarded != 0 || rec.bytes_truncated != 0 {
            return Err(format!(
                "recovery after a clean close did something: {rec:?}"
            ));
        }
        self.durable = vec![self.committed.clone()];
        self.checkpoint_lsn = self.db().stats().checkpoint_lsn;
        self.check_committed(true)
    }

    /// A crash now, then a reopen: a power loss (`kill` false: what the storage says is
    /// durable survives) or a process crash (`kill` true: every write survives, as the OS
    /// has it, so nothing committed may be lost).
    fn crash(&mut self, kill: bool) -> Result<(), String> {
        self.images += 1;
        let img = self.root.join(format!("db{}", self.images));
        if kill {
            // The files as they are now: a process crash leaves them so.
            scratch::try_copy_dir(&self.dir, &img)
                .map_err(|e| format!("copy {} to {}: {e}", self.dir.display(), img.display()))?;
            self.durable = vec![self.committed.clone()];
        } else {
            self.fs
                .write_durable_image(&img)
                .map_err(|e| format!("write_durable_image: {e}"))?;
        }
        let what = if kill { "process crash" } else { "power loss" };
        self.log(format!(
            "{what} (write txn open: {}, reader open: {}; {} acceptable state(s))",
            self.w.is_some(),
            self.reader.is_some(),
            self.durable.len()
        ));
        self.w = None;
        self.reader = None;
        drop(self.db.take());
        let _ = std::fs::remove_dir_all(&self.dir);
        self.dir = img;
        let (fs, db) =
            open_db(&self.dir, &self.opts).map_err(|e| format!("after a {what}: {e}"))?;
        self.fs = fs;
        self.db = Some(db);
        let r = ok(self.db().begin_read(), "begin_read")?;
        let got = read_txn(&r).map_err(|e| format!("after a {what}: {e}"))?;
        drop(r);
        let matches: Vec<&State> = self.durable.iter().filter(|g| g.graph == got).collect();
        let Some(first) = matches.first() else {
            let last = self.durable.last().cloned().unwrap_or_default();
            return Err(format!(
                "after a {what} the graph is none of the {} acceptable state(s); against the \
                 latest commit:\n{}",
                self.durable.len(),
                last.diff(&got)
            ));
        };
        let mut g = State {
            graph: got,
            ..State::default()
        };
        g.next_node = first
            .next_node
            .filter(|_| matches.iter().all(|m| m.next_node == first.next_node));
        g.next_edge = first
            .next_edge
            .filter(|_| matches.iter().all(|m| m.next_edge == first.next_edge));
        self.committed = g;
        self.durable = vec![self.committed.clone()];
        self.checkpoint_lsn = self.db().stats().checkpoint_lsn;
        self.check_committed(true)
    }

    fn insert_node(&mut self) -> Result<(), String> {
        let label = self.input.pick(&LABELS);
        let (t, m) = self.wtxn()?;
        if m.g.nodes.len() >= MAX_NODES {
            return Ok(());
        }
        let id = ok(t.insert_node(label), "insert_node")?;
        let live = m.g.nodes.contains_key(&id);
        take_id(&mut m.g.next_node, live, id, "node")?;
        m.g.nodes.insert(id, Node::new(label));
        self.log(format!("insert_node {label} -> {id}"));
        Ok(())
    }

    fn insert_edge(&mut self) -> Result<(), String> {
        self.wtxn()?;
        let (t, m) = self.w.as_mut().expect("open");
        if m.g.edges.len() >= MAX_EDGES {
            return Ok(());
        }
        let live = node_ids(&m.g);
        let src = pick_id(&mut self.input, &live, m.g.next_node);
        let dst = pick_id(&mut self.input, &live, m.g.next_node);
        let ty = self.input.pick(&TYPES);
        let r = t.insert_edge(src, dst, ty);
        let desc = format!(
            "insert_edge {src}->{dst} {ty} -> {:?}",
            r.as_ref().map_err(variant)
        );
        if !(m.g.nodes.contains_key(&src) && m.g.nodes.contains_key(&dst)) {
            self.trace.push(desc);
            return expect(r, Some("NotFound"), "insert_edge naming a missing node");
        }
        let id = ok(r, "insert_edge")?;
        let live = m.g.edges.contains_key(&id);
        take_id(&mut m.g.next_edge, live, id, "edge")?;
        m.g.edges.insert(id, Edge::new(src, dst, ty));
        self.trace.push(desc);
        Ok(())
    }

    fn delete_edge(&mut self) -> Result<(), String> {
        self.wtxn()?;
        let (t, m) = self.w.as_mut().expect("open");
        let id = pick_id(&mut self.input, &edge_ids(&m.g), m.g.next_edge);
        let r = t.delete_edge(id);
        self.trace.push(format!(
            "delete_edge {id} -> {:?}",
            r.as_ref().map_err(variant)
        ));
        if m.g.edges.remove(&id).is_none() {
            return expect(r, Some("NotFound"), "delete_edge of a missing edge");
        }
        ok(r, "delete_edge")
    }

    fn delete_node(&mut self) -> Result<(), String> {
        self.wtxn()?;
        let (t, m) = self.w.as_mut().expect("open");
        let id = pick_id(&mut self.input, &node_ids(&m.g), m.g.next_node);
        let detach = self.input.u8() & 1 == 1;
        let r = t.delete_node(id, detach);
        self.trace.push(format!(
            "delete_node {id} detach={detach} -> {:?}",
            r.as_ref().map_err(variant)
        ));
        if !m.g.nodes.contains_key(&id) {
            return expect(r, Some("NotFound"), "delete_node of a missing node");
        }
        if !detach && m.g.has_edges(id) {
            return expect(r, Some("Constraint"), "delete_node of a node with edges");
        }
        ok(r, "delete_node")?;
        m.g.remove_node(id);
        Ok(())
    }

    fn set_prop(&mut self, set: bool) -> Result<(), String> {
        self.wtxn()?;
        let (t, m) = self.w.as_mut().expect("open");
        let on_node = self.input.u8() & 1 == 0;
        let id = if on_node {
            pick_id(&mut self.input, &node_ids(&m.g), m.g.next_node)
        } else {
            pick_id(&mut self.input, &edge_ids(&m.g), m.g.next_edge)
        };
        let key = self.input.pick(&KEYS);
        let value = if set { Some(self.input.value()) } else { None };
        let r = match (on_node, &value) {
            (true, Some(v)) => t.set_node_prop(id, key, v.as_ref()),
            (false, Some(v)) => t.set_edge_prop(id, key, v.as_ref()),
            (true, None) => t.unset_node_prop(id, key),
            (false, None) => t.unset_edge_prop(id, key),
        };
        let what = if on_node { "node" } else { "edge" };
        self.trace.push(format!(
            "{} {what} {id} {key} {} -> {:?}",
            if set { "set" } else { "unset" },
            value.as_ref().map(short).unwrap_or_default(),
            r.as_ref().map_err(variant)
        ));
        let live = if on_node {
            m.g.nodes.contains_key(&id)
        } else {
            m.g.edges.contains_key(&id)
        };
        if !live {
            return expect(r, Some("NotFound"), "property of a missing record");
        }
        ok(r, "set/unset property")?;
        let props = m.g.props_mut(on_node, id);
        match value {
            Some(v) => props.insert(key.to_string(), V(v)),
            None => props.remove(key),
        };
        Ok(())
    }

    /// Reads one node and one edge through the open write transaction (read-your-writes).
    fn point_read(&mut self) -> Result<(), String> {
        let Some((t, m)) = self.w.as_mut() else {
            return Ok(());
        };
        let n = pick_id(&mut self.input, &node_ids(&m.g), m.g.next_node);
        let e = pick_id(&mut self.input, &edge_ids(&m.g), m.g.next_edge);
        self.trace.push(format!("point reads node {n} edge {e}"));
        let g = &m.g;
        match g.nodes.get(&n) {
            None => {
                expect(
                    t.node_label(n),
                    Some("NotFound"),
                    "node_label of a missing node",
                )?;
                expect(
                    t.node_prop(n, "k1").map(|_| ()),
                    Some("NotFound"),
                    "node_prop of a missing node",
                )?;
                expect(
                    t.degree(n, Dir::Both, None),
                    Some("NotFound"),
                    "degree of a missing node",
                )?;
                expect(
                    t.edges(n, Dir::Out, None).map(|_| ()),
                    Some("NotFound"),
                    "edges of a missing node",
                )?;
            }
            Some(node) => {
                let l = utf8(ok(t.node_label(n), "node_label")?, "label")?;
                if l != node.label {
                    return Err(format!("label of node {n}: {l:?}, model {:?}", node.label));
                }
                let p = read_props(t, true, n)?;
                if p != node.props {
                    return Err(format!(
                        "properties of node {n}: {p:?}, model {:?}",
                        node.props
                    ));
                }
                for dir in DIRS {
                    let d = ok(t.degree(n, dir, None), "degree")?;
                    if d != g.adjacent(n, dir, None).len() as u64 {
                        return Err(format!(
                            "degree of node {n} {dir:?}: {d}, model {:?}",
                            g.adjacent(n, dir, None)
                        ));
                    }
                }
            }
        }
        match g.edges.get(&e) {
            None => {
                expect(
                    t.get_edge(e),
                    Some("NotFound"),
                    "get_edge of a missing edge",
                )?;
                expect(
                    t.edge_prop(e, "k1").map(|_| ()),
                    Some("NotFound"),
                    "edge_prop of a missing edge",
                )?;
            }
            Some(edge) => {
                let info = ok(t.get_edge(e), "get_edge")?;
                let ty = utf8(ok(t.name_of(info.etype), "name_of")?, "type")?;
                if (info.src, info.dst, ty.as_str()) != (edge.src, edge.dst, edge.etype.as_str()) {
                    return Err(format!("edge {e}: {info:?} type {ty:?}, model {edge:?}"));
                }
                for k in KEYS {
                    let v = ok(t.edge_prop(e, k), "edge_prop")?.map(|v| V(v.to_owned()));
                    if v.as_ref() != edge.props.get(k) {
                        return Err(format!(
                            "edge {e} key {k}: {v:?}, model {:?}",
                            edge.props.get(k)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn savepoint(&mut self) -> Result<(), String> {
        let name = self.input.pick(&SAVEPOINTS);
        let (t, m) = self.wtxn()?;
        ok(t.savepoint(name), "savepoint")?;
        m.savepoints.push((name, m.g.clone()));
        self.log(format!("savepoint {name}"));
        Ok(())
    }

    fn rollback_to(&mut self, release: bool) -> Result<(), String> {
        let name = self.input.pick(&SAVEPOINTS);
        let (t, m) = self.wtxn()?;
        let r = if release {
            t.release(name)
        } else {
            t.rollback_to(name)
        };
        let desc = format!(
            "{} {name} -> {:?}",
            if release { "release" } else { "rollback_to" },
            r.as_ref().map_err(variant)
        );
        let found = m.savepoints.iter().rposition(|(n, _)| *n == name);
        let res = match found {
            None => expect(r, Some("NotFound"), "savepoint that does not exist"),
            Some(i) => {
                if release {
                    m.savepoints.truncate(i);
                } else {
                    m.savepoints.truncate(i + 1);
                    m.g = m.savepoints[i].1.clone();
                }
                ok(r, "rollback_to/release")
            }
        };
        self.log(desc);
        res
    }

    fn delete_while_iterating(&mut self) -> Result<(), String> {
        self.wtxn()?;
        let (t, m) = self.w.as_mut().expect("open");
        let live = node_ids(&m.g);
        if live.is_empty() {
            return Ok(());
        }
        let n = live[usize::from(self.input.u8()) % live.len()];
        let ty = match self.input.u8() % 4 {
            0 => None,
            i => Some(TYPES[usize::from(i) - 1]),
        };
        let dir = self.input.pick(&DIRS);
        self.trace.push(format!(
            "delete edges of {n} {dir:?} {ty:?} while iterating"
        ));
        let mut c = ok(t.edges(n, dir, ty), "edges")?;
        let mut seen = Vec::new();
        while let Some(e) = ok(c.next(), "cursor next")? {
            seen.push(e.id);
            ok(t.delete_edge(e.id), "delete_edge while iterating")?;
        }
        seen.sort_unstable();
        let want = m.g.adjacent(n, dir, ty);
        if seen != want {
            return Err(format!("cursor yielded {seen:?}, model {want:?}"));
        }
        for e in want {
            m.g.edges.remove(&e);
        }
        Ok(())
    }

    fn compare_in_txn(&mut self) -> Result<(), String> {
        let Some((t, m)) = &self.w else {
            return Ok(());
        };
        compare_state(t, &m.g, false).map_err(|e| format!("inside the write transaction: {e}"))?;
        self.log("compare inside the write transaction".into());
        Ok(())
    }

    /// Calls the engine must refuse, leaving everything as it was.
    fn misuse(&mut self) -> Result<(), String> {
        let b = self.input.u8();
        self.log(format!("misuse {}", b % 9));
        match b % 9 {
            0 => {
                let (t, _) = self.wtxn()?;
                expect(t.insert_node(""), Some("InvalidArgument"), "empty label")
            }
            1 => {
                let long = "L".repeat(1025);
                let (t, _) = self.wtxn()?;
                expect(
                    t.insert_node(&long),
                    Some("InvalidArgument"),
                    "1025-byte label",
                )
            }
            2 => {
                self.wtxn()?;
                let (t, m) = self.w.as_mut().expect("open");
                let n = pick_id(&mut self.input, &node_ids(&m.g), m.g.next_node);
                // Arguments are checked before the record is looked up.
                expect(
                    t.set_node_prop(n, "k\0", ValueRef::Int(1)),
                    Some("InvalidArgument"),
                    "key with a NUL",
                )
            }
            3 => {
                let (t, _) = self.wtxn()?;
                expect(
                    t.savepoint(""),
                    Some("InvalidArgument"),
                    "empty savepoint name",
                )
            }
            4 => {
                if self.w.is_some() {
                    expect(
                        self.db().begin_write().map(|_| ()),
                        Some("Busy"),
                        "second writer",
                    )
                } else {
                    Ok(())
                }
            }
            5 => {
                if let Some((t, _)) = self.reader.as_mut() {
                    return expect(t.insert_node("A"), Some("ReadOnly"), "insert in a reader");
                }
                let mut t = ok(self.db().begin_read(), "begin_read")?;
                expect(t.insert_node("A"), Some("ReadOnly"), "insert in a reader")?;
                expect(t.savepoint("s1"), Some("ReadOnly"), "savepoint in a reader")
            }
            6 => {
                let (t, _) = self.wtxn()?;
                expect(
                    t.edges(1, Dir::Both, Some("")).map(|_| ()),
                    Some("InvalidArgument"),
                    "empty edge type",
                )?;
                expect(
                    t.nodes(Some("")).map(|_| ()),
                    Some("InvalidArgument"),
                    "empty label filter",
                )
            }
            7 => {
                // Unsetting a key never interned is a no-op.
                self.wtxn()?;
                let (t, m) = self.w.as_mut().expect("open");
                match m.g.nodes.keys().next().copied() {
                    Some(n) => ok(
                        t.unset_node_prop(n, "never-set-key"),
                        "unset of an unknown key",
                    ),
                    None => Ok(()),
                }
            }
            _ => {
                let r = Database::open(&self.dir, &self.opts);
                expect(
                    r.map(|_| ()),
                    Some("Locked"),
                    "second open of an open database",
                )
            }
        }
    }

    fn step(&mut self) -> Result<(), String> {
        let op = self.input.u8();
        match op % 24 {
            0..=2 => self.insert_node(),
            3..=5 => self.insert_edge(),
            6 => self.delete_edge(),
            7 => self.delete_node(),
            8..=9 => self.set_prop(true),
            10 => self.set_prop(false),
            11 => self.point_read(),
            12 => self.savepoint(),
            13 => self.rollback_to(false),
            14 => self.rollback_to(true),
            15..=16 => self.commit(),
            17 => {
                let how = self.input.u8();
                self.rollback(how)
            }
            18 => self.checkpoint(),
            19 => {
                let b = self.input.u8();
                self.reader_op(b)
            }
            20 => self.reopen(),
            21 => {
                let b = self.input.u8();
                self.crash(b & 1 == 1)
            }
            22 => match op / 24 % 3 {
                0 => self.compare_in_txn(),
                1 => self.delete_while_iterating(),
                _ => self.misuse(),
            },
            _ => self.misuse(),
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        if let Some((t, g)) = self.reader.take() {
            compare_state(&t, &g, true).map_err(|e| format!("reader at the end: {e}"))?;
        }
        self.w = None;
        self.log("end: rollback, integrity check, close, reopen".into());
        self.check_committed(true)?;
        self.reopen()?;
        ok(self.db.take().expect("open").close(), "final close")
    }
}

fn run(data: &[u8]) {
    let Some((&cfg, ops)) = data.split_first() else {
        return;
    };
    let opts = Options {
        create: true,
        read_only: false,
        sync: if cfg & 1 == 1 {
            SyncMode::Full
        } else {
            SyncMode::Off
        },
        busy_timeout: Duration::ZERO,
        segment_bytes: [4096, 6144, 8192, 1 << 16][usize::from(cfg >> 1) & 3],
        checkpoint_bytes: [1024, 4096, 32 << 10, 1 << 20][usize::from(cfg >> 3) & 3],
        // The model learns of an automatic checkpoint when the commit that ran it returns
        // (what it may keep across a power loss depends on that): checkpoints in the
        // committing thread. The checkpoint thread has tests of its own.
        checkpoint_interval: None,
        checkpoint_thread: false,
        // Only the checkpoint thread applies it.
        checkpoint_memory: quiver::DEFAULT_CHECKPOINT_MEMORY,
    };
    let root = scratch_root();
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let dir = root.join("db0");
    let (fs, db) = open_db(&dir, &opts).unwrap_or_else(|e| panic!("create: {e}"));
    let graph = State {
        next_node: Some(1),
        next_edge: Some(1),
        ..State::default()
    };
    let mut r = Run {
        input: Bytes { data: ops, pos: 0 },
        root: root.clone(),
        dir,
        images: 0,
        checkpoint_lsn: db.stats().checkpoint_lsn,
        opts,
        fs,
        db: Some(db),
        w: None,
        reader: None,
        committed: graph.clone(),
        durable: vec![graph],
        trace: vec![format!("config {cfg:#04x}")],
    };
    let mut n = 0;
    let mut result = Ok(());
    while !r.input.done() && n < MAX_OPS {
        result = r.step();
        if result.is_err() {
            break;
        }
        n += 1;
    }
    if result.is_ok() {
        result = r.finish();
    }
    if let Err(e) = result {
        let start = r.trace.len().saturating_sub(80);
        panic!(
            "model mismatch after {n} operations ({:?}, segment_bytes {}, checkpoint_bytes {}): \
             {e}\nlast operations:\n  {}",
            r.opts.sync,
            r.opts.segment_bytes,
            r.opts.checkpoint_bytes,
            r.trace[start..].join("\n  ")
        );
    }
    drop(r);
    let _ = std::fs::remove_dir_all(&root);
}

fuzz_target!(|data: &[u8]| run(data));
