//! The deterministic crash workload (`tests/crash.rs`, `tests/powerloss.rs`): a mixed
//! workload that drives a database and the model side by side, recording the model after
//! every acknowledged commit and the sync count at which the commit returned
//! ([`commit_recorded`] records other workloads' commits the same way); and the checks a
//! recovered database must pass (the graph, integrity and counts on open; one more commit
//! and a reopen after).

use super::RngExt as _;
use super::model::{
    Graph, add_edge, add_node, check_clean, check_counts, read_graph, set_edge, set_node,
    unset_prop,
};
use quiver::testing::{FaultStorage, SplitMix64};
use quiver::{Database, Error, Options, SyncMode, Txn, Value};
use std::collections::BTreeMap;
use std::path::Path;

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
    /// A history that starts at `model`, with the sync count of `fs` now.
    pub fn start(model: &Graph, fs: &FaultStorage) -> History {
        History {
            states: vec![model.clone()],
            syncs: vec![fs.syncs()],
            ..History::default()
        }
    }

    /// Records an acknowledged commit that left the graph as `model`.
    pub fn record(&mut self, model: &Graph, fs: &FaultStorage) {
        self.states.push(model.clone());
        self.syncs.push(fs.syncs());
    }

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

    /// [`History::find`], or why not: the difference from the state after `lo` commits.
    pub fn find_or_explain(&self, g: &Graph, lo: usize, hi: usize) -> Result<usize, String> {
        self.find(g, lo, hi).ok_or_else(|| {
            let near = self.states.get(lo).map(|st| st.diff(g)).unwrap_or_default();
            format!(
                "the recovered graph ({} nodes, {} edges) is the state after no number of \
                 commits in {lo}..={hi}; vs state {lo}: {near}",
                g.nodes.len(),
                g.edges.len()
            )
        })
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
/// sync FULL, automatic checkpoints every 16 KiB of log run by the committing thread (so
/// the sequence of fsyncs is the same every run), segments of 8 KiB.
pub fn reference_opts() -> quiver::Options {
    quiver::Options {
        sync: quiver::SyncMode::Full,
        checkpoint_bytes: 16 << 10,
        checkpoint_thread: false,
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
    /// With a checkpoint thread: after a commit that leaves at least this much log since
    /// the last checkpoint (the thread is woken), wait until the thread has checkpointed
    /// it ([`settle`]), so that the fsyncs come in the same order every run.
    pub settle_bytes: Option<u64>,
}

/// Waits until the checkpoint thread has checkpointed every commit, when the log since
/// the last checkpoint has reached `bytes` (it was woken); returns at once otherwise, or
/// when the handle is poisoned. Panics after a minute.
pub fn settle(db: &Database, bytes: u64) {
    let st = db.stats();
    if st.last_commit_lsn - st.checkpoint_lsn < bytes {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while db.stats().checkpoint_lsn < st.last_commit_lsn {
        if db.check_poisoned().is_err() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint thread did not checkpoint within a minute: {st:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
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
            settle_bytes: None,
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
            self.hist = History::start(&self.model, fs);
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
        if let Some(bytes) = self.settle_bytes {
            settle(db, bytes);
        }
        if db.stats().checkpoint_lsn != ckpt {
            self.hist.auto_checkpoints += 1;
        }
        self.model = w;
        self.hist.record(&self.model, fs);
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
        let id = add_node(t, w, &label)?;
        let key = self.fresh_name("k");
        let v = self.value();
        set_node(t, w, id, &key, v)?;
        if let Some(&dst) = w.nodes.keys().next() {
            let etype = self.fresh_name("T");
            add_edge(t, w, id, dst, &etype)?;
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

    /// The id of a random record of `records` (None if there is none).
    fn pick_id<T>(&mut self, records: &BTreeMap<u64, T>) -> Option<u64> {
        if records.is_empty() {
            return None;
        }
        let i = self.rng.below(records.len() as u64) as usize;
        records.keys().nth(i).copied()
    }

    fn pick_node(&mut self, w: &Graph) -> Option<u64> {
        self.pick_id(&w.nodes)
    }

    fn pick_edge(&mut self, w: &Graph) -> Option<u64> {
        self.pick_id(&w.edges)
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
        set_node(t, w, id, "data", v)
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
            add_node(t, w, &label)?;
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
            add_edge(t, w, src, dst, &etype)?;
        } else if r < 47 {
            if let Some(e) = self.pick_edge(w) {
                t.delete_edge(e)?;
                w.edges.remove(&e);
            }
        } else if r < 53 || (crowded && r < 60) {
            let id = self.pick_node(w).expect("nodes");
            if w.has_edges(id) && self.rng.chance(30) {
                match t.delete_node(id, false) {
                    Err(Error::Constraint(_)) => {}
                    other => panic!("delete_node without detach on a node with edges: {other:?}"),
                }
            }
            t.delete_node(id, true)?;
            w.remove_node(id);
        } else if r < 75 {
            let id = self.pick_node(w).expect("nodes");
            let (k, v) = (self.key(), self.value());
            set_node(t, w, id, &k, v)?;
        } else if r < 82 {
            let id = self.pick_node(w).expect("nodes");
            let k = match w.nodes[&id].props.keys().next() {
                Some(k) if self.rng.chance(70) => k.clone(),
                _ => self.rng.pick(&KEYS).to_string(),
            };
            unset_prop(t, w, true, id, &k)?;
        } else if r < 94 {
            if let Some(e) = self.pick_edge(w) {
                let (k, v) = (self.key(), self.value());
                set_edge(t, w, e, &k, v)?;
            }
        } else if let Some(e) = self.pick_edge(w) {
            let k = match w.edges[&e].props.keys().next() {
                Some(k) if self.rng.chance(70) => k.clone(),
                _ => self.rng.pick(&KEYS).to_string(),
            };
            unset_prop(t, w, false, e, &k)?;
        }
        Ok(())
    }
}

/// Runs `ops` in one write transaction on `db`, applied to the transaction and to a copy
/// of `model`; once the commit returns, the copy becomes `model` and `hist` records it. On
/// an error nothing is recorded and `model` is unchanged (the transaction rolls back as it
/// is dropped). For workloads other than [`Workload`] that are checked against a
/// [`History`] (`tests/space.rs`).
pub fn commit_recorded(
    db: &Database,
    fs: &FaultStorage,
    model: &mut Graph,
    hist: &mut History,
    ops: impl FnOnce(&mut Txn, &mut Graph) -> quiver::Result<()>,
) -> quiver::Result<()> {
    let mut t = db.begin_write()?;
    let mut w = model.clone();
    ops(&mut t, &mut w)?;
    hist.attempted += 1;
    t.commit()?;
    *model = w;
    hist.record(model, fs);
    Ok(())
}

/// Opens `dir`, returning the recovered graph and the database (integrity checked).
pub fn open_and_read(dir: &Path, opts: &Options, what: &str) -> Result<(Database, Graph), String> {
    let db = Database::open(dir, opts).map_err(|e| format!("{what}: open failed: {e}"))?;
    let g = read_graph(&db).map_err(|e| format!("{what}: reading the graph failed: {e}"))?;
    check_clean(&db).map_err(|e| format!("{what}: {e}"))?;
    check_counts(&db, &g).map_err(|e| format!("{what}: {e}"))?;
    Ok((db, g))
}

/// Opens `dir` as [`open_and_read`] does and asserts that it recovered exactly `want`.
#[track_caller]
pub fn recovers_to(dir: &Path, opts: &Options, what: &str, want: &Graph) -> Database {
    let (db, got) = open_and_read(dir, opts, what).unwrap_or_else(|e| panic!("{e}"));
    assert!(got == *want, "{what}: {}", want.diff(&got));
    db
}

/// Opens `dir` as [`open_and_read`] does (`what` says when) and requires exactly `want`.
pub fn reopens_to(dir: &Path, opts: &Options, what: &str, want: &Graph) -> Result<(), String> {
    let (db, got) = open_and_read(dir, opts, what)?;
    drop(db);
    if got != *want {
        return Err(format!("{what}: the graph differs: {}", want.diff(&got)));
    }
    Ok(())
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
    reopens_to(
        dir,
        opts,
        &format!("{what} (recovery, a commit, a reopen)"),
        &want,
    )
}

/// Panics with the first of `failures` (all of them printed with `QUIVER_CRASH_ALL` set),
/// if there are any, out of `runs` runs.
#[track_caller]
pub fn assert_no_failures(failures: &[String], runs: usize) {
    if std::env::var_os("QUIVER_CRASH_ALL").is_some() {
        for f in failures {
            eprintln!("FAILURE: {f}");
        }
    }
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(12).map(String::as_str).collect();
        panic!(
            "{} of {runs} runs failed; the first ones:\n  {}",
            failures.len(),
            shown.join("\n  ")
        );
    }
}

/// Small thresholds: automatic checkpoints every 16 KiB of log, run by the committing
/// thread (so a workload's fsyncs come in the same order every run), segments of 8 KiB.
pub fn small_opts() -> Options {
    Options {
        sync: SyncMode::Full,
        checkpoint_bytes: 16 << 10,
        checkpoint_thread: false,
        segment_bytes: 8 << 10,
        ..Options::default()
    }
}
