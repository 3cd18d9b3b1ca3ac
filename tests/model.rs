//! Model-based randomized test: random operations run against the engine and against a
//! simple in-memory model of the graph, with commits, rollbacks, savepoints, checkpoints,
//! readers held across commits, clean reopens and reopens from a crash image. After every
//! transaction the whole graph read through the API must equal the model.
//!
//! `QV_MODEL_SEED=<n>` replays one seed; `QV_MODEL_OPS=<n>` changes the number of operations.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::{FaultStorage, SplitMix64};
use quiver::{Database, Dir, Options, Txn, Value, ValueRef};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use support::{
    Edge, Graph, Names, Node, RngExt as _, Scratch, assert_clean, check_counts, compare, env_u64,
    expect, open_fault, set_prop, short, unset_prop,
};

const LABELS: [&str; 4] = ["A", "B", "Ünïcode", "D"];
const TYPES: [&str; 3] = ["X", "Y", "Z"];
const KEYS: [&str; 5] = ["k1", "k2", "k3", "name", "blob"];
const SAVEPOINTS: [&str; 3] = ["s1", "s2", "s3"];
const NAMES: Names<'static> = Names {
    labels: &LABELS,
    types: &TYPES,
    keys: &KEYS,
};

fn value(rng: &mut SplitMix64) -> Value {
    match rng.below(100) {
        0..=7 => Value::Null,
        8..=17 => Value::Bool(rng.chance(50)),
        18..=37 => Value::Int(match rng.below(4) {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => rng.next_u64() as i64 % 1000,
        }),
        38..=49 => Value::Float((rng.next_u64() as i64 % 100_000) as f64 / 7.0),
        50..=74 => {
            let alphabet = ['a', 'z', ' ', 'é', '日', '🦀', '\0'];
            let n = rng.below(20);
            Value::String((0..n).map(|_| *rng.pick(&alphabet)).collect())
        }
        75..=97 => Value::Bytes((0..rng.below(40)).map(|_| rng.next_u64() as u8).collect()),
        // Now and then a large value (64 to 320 KiB) grows the heap file.
        _ => {
            let n = (64 << 10) + rng.below(256 << 10) as usize;
            let b = rng.next_u64() as u8;
            Value::Bytes((0..n).map(|i| b.wrapping_add(i as u8)).collect())
        }
    }
}

struct Savepoint {
    name: &'static str,
    graph: Graph,
    issued: Issued,
}

/// The open transaction as the model sees it.
struct TxnState {
    graph: Graph,
    issued: Issued,
    savepoints: Vec<Savepoint>,
}

/// Ids handed out by the open transaction (undone by rollback_to, like the graph).
#[derive(Clone, Default)]
struct Issued {
    nodes: BTreeSet<u64>,
    edges: BTreeSet<u64>,
}

struct Run {
    rng: SplitMix64,
    scratch: Scratch,
    dir: PathBuf,
    fs: FaultStorage,
    db: Option<Database>,
    opts: Options,
    committed: Graph,
    /// Ids of committed transactions: never handed out again.
    spent_nodes: BTreeSet<u64>,
    spent_edges: BTreeSet<u64>,
    trace: VecDeque<String>,
    reopens: u64,
    stats: BTreeMap<&'static str, u64>,
}

impl Run {
    fn log(&mut self, s: String) {
        if self.trace.len() == 60 {
            self.trace.pop_front();
        }
        self.trace.push_back(s);
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_insert(0) += 1;
    }

    fn db(&self) -> &Database {
        self.db.as_ref().unwrap()
    }

    /// Closes and reopens: cleanly, or from the durable image (a power loss now).
    fn reopen(&mut self) -> Result<(), String> {
        self.reopens += 1;
        if self.rng.chance(50) {
            self.log("reopen (clean)".into());
            self.count("reopen clean");
            self.db.take().unwrap().close().map_err(|e| e.to_string())?;
        } else {
            self.log("reopen (crash image)".into());
            self.count("reopen crash");
            let next = self.scratch.path(&format!("db{}", self.reopens));
            self.fs.write_durable_image(&next).unwrap();
            drop(self.db.take());
            let _ = std::fs::remove_dir_all(&self.dir);
            self.dir = next;
        }
        let (fs, db) = open_fault(&self.dir, &self.opts);
        self.fs = fs;
        self.db = Some(db);
        Ok(())
    }

    fn step_outside_txn(&mut self) -> Result<(), String> {
        match self.rng.below(100) {
            0..=9 => {
                self.log("checkpoint".into());
                self.count("checkpoint");
                self.db().checkpoint().map_err(|e| e.to_string())?;
            }
            10..=13 => self.reopen()?,
            14..=16 => self.backup("between transactions")?,
            _ => {}
        }
        Ok(())
    }

    /// Backs up the database (compacting or not), opens the copy and compares it with the
    /// committed model: a write transaction open meanwhile must not show in it.
    fn backup(&mut self, when: &str) -> Result<(), String> {
        let compact = self.rng.chance(50);
        self.log(format!("backup (compact: {compact}) {when}"));
        self.count("backup");
        let dest = self.scratch.path(&format!("backup{}", self.rng.next_u64()));
        let opts = quiver::BackupOptions {
            compact,
            progress: None,
        };
        self.db()
            .backup(&dest, opts)
            .map_err(|e| format!("backup {when}: {e}"))?;
        let copy = Database::open(&dest, &Options::default()).map_err(|e| e.to_string())?;
        let replayed = copy.last_recovery().txns_replayed;
        compare(&copy.begin_read().unwrap(), &self.committed, &NAMES, None)
            .map_err(|e| format!("backup {when}: {e}"))?;
        assert_clean(&copy);
        copy.close().map_err(|e| e.to_string())?;
        std::fs::remove_dir_all(&dest).map_err(|e| e.to_string())?;
        if replayed != 0 {
            return Err(format!(
                "opening a backup replayed {replayed} transaction(s)"
            ));
        }
        Ok(())
    }

    /// One write transaction of random operations, ended by commit or rollback.
    fn txn(&mut self) -> Result<(), String> {
        // Sometimes a reader holds the previous state across the transaction.
        let old_reader = if self.rng.chance(15) {
            Some((self.db().begin_read().unwrap(), self.committed.clone()))
        } else {
            None
        };
        let mut t = self.db().begin_write().map_err(|e| e.to_string())?;
        let mut st = TxnState {
            graph: self.committed.clone(),
            issued: Issued::default(),
            savepoints: Vec::new(),
        };
        let len = 1 + self.rng.below(25);
        for _ in 0..len {
            self.op(&mut t, &mut st)?;
        }
        if self.rng.chance(4) {
            self.backup("during a write transaction")?;
        }
        if self.rng.chance(75) {
            self.log(format!("commit ({} savepoints open)", st.savepoints.len()));
            self.count("commit");
            t.commit().map_err(|e| format!("commit: {e}"))?;
            self.committed = st.graph;
            self.spent_nodes.extend(st.issued.nodes);
            self.spent_edges.extend(st.issued.edges);
        } else {
            self.log("rollback".into());
            self.count("rollback");
            if self.rng.chance(50) {
                t.rollback();
            } else {
                drop(t);
            }
        }
        if let Some((r, old)) = old_reader {
            if self.rng.chance(50) {
                self.db().checkpoint().map_err(|e| e.to_string())?;
            }
            compare(&r, &old, &NAMES, None)
                .map_err(|e| format!("reader held across the transaction: {e}"))?;
        }
        let r = self.db().begin_read().unwrap();
        compare(&r, &self.committed, &NAMES, None)?;
        check_counts(self.db(), &self.committed)
    }

    /// Mostly the name of an open savepoint, sometimes any name.
    fn savepoint_name(&mut self, open: &[Savepoint]) -> &'static str {
        if !open.is_empty() && self.rng.chance(80) {
            self.rng.pick(open).name
        } else {
            SAVEPOINTS[self.rng.below(SAVEPOINTS.len() as u64) as usize]
        }
    }

    fn live_node(&mut self, g: &Graph) -> Option<u64> {
        let ids: Vec<u64> = g.nodes.keys().copied().collect();
        (!ids.is_empty()).then(|| *self.rng.pick(&ids))
    }

    fn live_edge(&mut self, g: &Graph) -> Option<u64> {
        let ids: Vec<u64> = g.edges.keys().copied().collect();
        (!ids.is_empty()).then(|| *self.rng.pick(&ids))
    }

    /// An id that names no live node (or edge) of `g`.
    fn missing_id(&mut self, live: &BTreeSet<u64>, spent: &BTreeSet<u64>) -> u64 {
        let dead: Vec<u64> = spent.difference(live).copied().collect();
        match self.rng.below(3) {
            0 if !dead.is_empty() => *self.rng.pick(&dead),
            1 => 0,
            _ => 1_000_000 + self.rng.below(1000),
        }
    }

    fn check_new_id(&self, id: u64, live: bool, spent: &BTreeSet<u64>) -> Result<(), String> {
        if id == 0 || live || spent.contains(&id) {
            return Err(format!(
                "new id {id} (0, live, or of a committed transaction)"
            ));
        }
        Ok(())
    }

    fn op(&mut self, t: &mut Txn, st: &mut TxnState) -> Result<(), String> {
        let TxnState {
            graph: g,
            issued,
            savepoints: sps,
        } = st;
        let crowded = g.nodes.len() > 120;
        let roll = self.rng.below(100);
        match roll {
            // Insert a node.
            0..=11 if !crowded || roll < 4 => {
                let label = *self.rng.pick(&LABELS);
                let id = t.insert_node(label).map_err(|e| e.to_string())?;
                self.log(format!("insert_node {label} -> {id}"));
                self.count("insert_node");
                self.check_new_id(id, g.nodes.contains_key(&id), &self.spent_nodes)?;
                issued.nodes.insert(id);
                g.nodes.insert(id, Node::new(label));
            }
            // Insert an edge (a self-loop now and then).
            0..=29 => {
                let (Some(src), Some(other)) = (self.live_node(g), self.live_node(g)) else {
                    return Ok(());
                };
                let dst = if self.rng.chance(15) { src } else { other };
                let etype = *self.rng.pick(&TYPES);
                let id = t.insert_edge(src, dst, etype).map_err(|e| e.to_string())?;
                self.log(format!("insert_edge {src}->{dst} {etype} -> {id}"));
                self.count("insert_edge");
                self.check_new_id(id, g.edges.contains_key(&id), &self.spent_edges)?;
                issued.edges.insert(id);
                g.edges.insert(id, Edge::new(src, dst, etype));
            }
            // Delete an edge.
            30..=37 => {
                let Some(e) = self.live_edge(g) else {
                    return Ok(());
                };
                self.log(format!("delete_edge {e}"));
                self.count("delete_edge");
                t.delete_edge(e)
                    .map_err(|err| format!("delete_edge {e}: {err}"))?;
                g.edges.remove(&e);
            }
            // Delete a node, detached or not.
            38..=44 => {
                let Some(n) = self.live_node(g) else {
                    return Ok(());
                };
                let detach = self.rng.chance(60);
                let r = t.delete_node(n, detach);
                self.log(format!("delete_node {n} detach={detach} -> {r:?}"));
                if !detach && g.has_edges(n) {
                    self.count("delete_node constraint");
                    expect(r, Some("Constraint"), "delete_node of a node with edges")?;
                } else {
                    self.count("delete_node");
                    expect(r, None, "delete_node")?;
                    g.remove_node(n);
                }
            }
            // Set or unset a property (set or not).
            45..=68 => {
                let set = roll <= 62;
                let key = *self.rng.pick(&KEYS);
                let v = set.then(|| value(&mut self.rng));
                let on_node = self.rng.chance(60);
                let target = if on_node {
                    self.live_node(g)
                } else {
                    self.live_edge(g)
                };
                let Some(id) = target else {
                    return Ok(());
                };
                let r = match v {
                    Some(v) => {
                        self.log(format!("set {} {id} {key} = {}", kind(on_node), short(&v)));
                        self.count("set");
                        set_prop(t, g, on_node, id, key, v)
                    }
                    None => {
                        self.log(format!("unset {} {id} {key}", kind(on_node)));
                        self.count("unset");
                        unset_prop(t, g, on_node, id, key)
                    }
                };
                r.map_err(|e| e.to_string())?;
            }
            // Calls naming records that do not exist: NotFound, no effect.
            69..=72 => {
                let live: BTreeSet<u64> = g.nodes.keys().copied().collect();
                let n = self.missing_id(&live, &self.spent_nodes.clone());
                let live_e: BTreeSet<u64> = g.edges.keys().copied().collect();
                let e = self.missing_id(&live_e, &self.spent_edges.clone());
                self.log(format!("missing node {n} edge {e}"));
                self.count("not found");
                let nf = Some("NotFound");
                let any = self.live_node(g).unwrap_or(n);
                expect(t.insert_edge(n, any, "X"), nf, "insert_edge from it")?;
                expect(t.insert_edge(any, n, "Y"), nf, "insert_edge to it")?;
                expect(t.delete_node(n, true), nf, "delete_node")?;
                expect(
                    t.set_node_prop(n, "k1", ValueRef::Int(1)),
                    nf,
                    "set_node_prop",
                )?;
                expect(t.unset_node_prop(n, "k1"), nf, "unset_node_prop")?;
                expect(t.node_label(n), nf, "node_label")?;
                expect(t.degree(n, Dir::Both, None), nf, "degree")?;
                expect(t.delete_edge(e), nf, "delete_edge")?;
                expect(t.get_edge(e), nf, "get_edge")?;
                expect(
                    t.set_edge_prop(e, "k1", ValueRef::Null),
                    nf,
                    "set_edge_prop",
                )?;
                expect(t.edge_prop(e, "k1"), nf, "edge_prop")?;
            }
            // Savepoints.
            73..=77 => {
                let name = *self.rng.pick(&SAVEPOINTS);
                self.log(format!("savepoint {name}"));
                self.count("savepoint");
                t.savepoint(name).map_err(|e| e.to_string())?;
                sps.push(Savepoint {
                    name,
                    graph: g.clone(),
                    issued: issued.clone(),
                });
            }
            // Roll back to a savepoint (78..=81) or release one.
            78..=83 => {
                let call = if roll < 82 { "rollback_to" } else { "release" };
                let name = self.savepoint_name(sps);
                let r = if roll < 82 {
                    t.rollback_to(name)
                } else {
                    t.release(name)
                };
                self.log(format!("{call} {name} -> {r:?}"));
                match sps.iter().rposition(|s| s.name == name) {
                    Some(i) if roll < 82 => {
                        self.count(call);
                        expect(r, None, call)?;
                        sps.truncate(i + 1);
                        *g = sps[i].graph.clone();
                        *issued = sps[i].issued.clone();
                    }
                    Some(i) => {
                        self.count(call);
                        expect(r, None, call)?;
                        sps.truncate(i);
                    }
                    None => expect(r, Some("NotFound"), "an unknown savepoint")?,
                }
            }
            // Read-your-writes: the transaction sees the model, now.
            84..=87 => {
                self.log("compare inside the write transaction".into());
                self.count("compare in txn");
                let rng = &mut self.rng;
                let mut pick = |_| rng.below(TYPES.len() as u64) as usize;
                compare(t, g, &NAMES, Some(&mut pick))
                    .map_err(|e| format!("in the transaction: {e}"))?;
            }
            // Delete while iterating over a cursor opened earlier.
            88..=90 => {
                let Some(n) = self.live_node(g) else {
                    return Ok(());
                };
                let ty = if self.rng.chance(50) {
                    None
                } else {
                    Some(*self.rng.pick(&TYPES))
                };
                self.log(format!("delete edges of {n} {ty:?} while iterating"));
                self.count("delete while iterating");
                let mut c = t.edges(n, Dir::Both, ty).unwrap();
                let mut seen = Vec::new();
                while let Some(e) = c.next().unwrap() {
                    seen.push(e.id);
                    t.delete_edge(e.id)
                        .map_err(|err| format!("edge {}: {err}", e.id))?;
                }
                seen.sort_unstable();
                let want = g.adjacent(n, Dir::Both, ty);
                if seen != want {
                    return Err(format!("cursor yielded {seen:?}, model {want:?}"));
                }
                for e in want {
                    g.edges.remove(&e);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn kind(on_node: bool) -> &'static str {
    if on_node { "node" } else { "edge" }
}

fn run(seed: u64, ops: u64) {
    let scratch = Scratch::new("model");
    let dir = scratch.path("db0");
    let opts = Options {
        checkpoint_bytes: 256 << 10,
        segment_bytes: 1 << 20,
        ..Options::default()
    };
    let (fs, db) = open_fault(&dir, &opts);
    let mut r = Run {
        rng: SplitMix64::new(seed),
        scratch,
        dir,
        fs,
        db: Some(db),
        opts,
        committed: Graph::default(),
        spent_nodes: BTreeSet::new(),
        spent_edges: BTreeSet::new(),
        trace: VecDeque::new(),
        reopens: 0,
        stats: BTreeMap::new(),
    };
    let started = std::time::Instant::now();
    let mut done = 0;
    let mut txns = 0;
    while done < ops {
        let before = r.stats.values().sum::<u64>();
        // A panic inside (an unexpected engine error) is reported like a mismatch.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            r.txn().and_then(|_| r.step_outside_txn())
        }))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(format!("panic: {}", msg.unwrap_or_default()))
        });
        if let Err(e) = result {
            let trace: Vec<String> = r.trace.iter().cloned().collect();
            panic!(
                "model mismatch with seed {seed} (QV_MODEL_SEED={seed}) after {txns} transactions: \
                 {e}\nlast operations:\n  {}",
                trace.join("\n  ")
            );
        }
        txns += 1;
        done += r.stats.values().sum::<u64>() - before;
    }
    let report = r.db().check_integrity().unwrap();
    assert_eq!(report.problems, 0, "seed {seed}: {}", report.first_problem);
    r.reopen().unwrap();
    compare(&r.db().begin_read().unwrap(), &r.committed, &NAMES, None)
        .unwrap_or_else(|e| panic!("seed {seed}: after the final reopen: {e}"));
    assert_clean(r.db());
    println!(
        "seed {seed}: {txns} transactions, {} nodes, {} edges at the end, {:?}; {:?}",
        r.committed.nodes.len(),
        r.committed.edges.len(),
        started.elapsed(),
        r.stats
    );
}

#[test]
fn random_operations_match_the_model() {
    let ops = env_u64("QV_MODEL_OPS").unwrap_or(1500);
    let seeds = match env_u64("QV_MODEL_SEED") {
        Some(s) => vec![s],
        None => vec![1, 0xDEC0DE, 20260321],
    };
    for seed in seeds {
        println!("seed {seed}");
        run(seed, ops);
    }
}
