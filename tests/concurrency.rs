//! Concurrency: snapshot isolation under a committing, checkpointing writer; the writer
//! lock's busy timeout; many readers with one writer; the database lock within this process
//! and against another process.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::SplitMix64;
use quiver::{Database, Dir, Options, SyncMode, Txn, ValueRef};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};
use support::{
    RngExt as _, Scratch, assert_clean, assert_err, commit_node, dump, edge_ids, fresh, node_ids,
    open,
};

/// Sets its flag when dropped, so helper threads stop also when the test panics.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn small_checkpoints() -> Options {
    Options {
        checkpoint_bytes: 64 << 10,
        ..Options::default()
    }
}

/// One long read transaction stays on its snapshot while a writer commits a few hundred
/// transactions (inserts, deletes, property changes, growing the heap) and checkpoints run,
/// both automatic (64 KiB) and explicit; the writer finishes while the reader is open.
#[test]
fn a_long_reader_keeps_its_snapshot_while_the_writer_commits_and_checkpoints() {
    let s = Scratch::new("long-reader");
    let db = Arc::new(Database::open(s.path("db"), &small_checkpoints()).unwrap());
    let mut rng = SplitMix64::new(0x5EED);
    let mut t = db.begin_write().unwrap();
    let mut nodes: Vec<u64> = (0..120).map(|_| t.insert_node("N").unwrap()).collect();
    for (i, n) in nodes.iter().enumerate() {
        t.set_node_prop(*n, "v", ValueRef::Int(i as i64)).unwrap();
        t.set_node_prop(*n, "s", ValueRef::Str(&"x".repeat(i % 50)))
            .unwrap();
    }
    let mut edges = Vec::new();
    for _ in 0..300 {
        let (a, b) = (*rng.pick(&nodes), *rng.pick(&nodes));
        let e = t.insert_edge(a, b, "E").unwrap();
        t.set_edge_prop(e, "w", ValueRef::Int(e as i64)).unwrap();
        edges.push(e);
    }
    t.commit().unwrap();
    let ckpt_before = db.stats().checkpoint_lsn;

    let reader_ready = Arc::new(Barrier::new(2));
    let writer_done = Arc::new(AtomicBool::new(false));
    let done_guard = SetOnDrop(Arc::clone(&writer_done));
    let reader = {
        let (db, ready, done) = (
            Arc::clone(&db),
            Arc::clone(&reader_ready),
            Arc::clone(&writer_done),
        );
        std::thread::spawn(move || {
            let t = db.begin_read().unwrap();
            let first = dump(&t);
            let count = node_ids(&t, None).len();
            ready.wait();
            let mut passes = 0u64;
            loop {
                // Read the flag before the pass, so the last pass starts after the writer's
                // last commit and checkpoint.
                let finished = done.load(Ordering::Acquire);
                assert_eq!(node_ids(&t, None).len(), count, "pass {passes}: node count");
                let now = dump(&t);
                assert!(
                    now == first,
                    "pass {passes}: the snapshot changed under a reader: {}",
                    first.diff(&now)
                );
                passes += 1;
                if finished {
                    break;
                }
            }
            assert!(db.stats().readers >= 1);
            (first, passes)
        })
    };

    reader_ready.wait();
    let (tx, rx) = mpsc::channel();
    let writer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let started = Instant::now();
            let big = "b".repeat(3000);
            for i in 0..300u64 {
                let mut t = db.begin_write().unwrap();
                for _ in 0..2 {
                    let n = t.insert_node("N").unwrap();
                    t.set_node_prop(n, "s", ValueRef::Str(&big)).unwrap();
                    // New edges change the chain heads of existing nodes.
                    let old = *rng.pick(&nodes);
                    edges.push(t.insert_edge(n, old, "E").unwrap());
                    edges.push(t.insert_edge(old, n, "E").unwrap());
                    nodes.push(n);
                }
                for _ in 0..3 {
                    let n = *rng.pick(&nodes);
                    t.set_node_prop(n, "v", ValueRef::Int(-(i as i64))).unwrap();
                }
                let e = *rng.pick(&edges);
                if t.get_edge(e).is_ok() {
                    t.set_edge_prop(e, "w", ValueRef::Str("changed")).unwrap();
                    if i % 2 == 0 {
                        t.delete_edge(e).unwrap();
                    }
                }
                if i % 10 == 0 {
                    let n = nodes.swap_remove(rng.below(nodes.len() as u64) as usize);
                    t.delete_node(n, true).unwrap();
                }
                t.commit().unwrap();
                if i % 25 == 0 {
                    db.checkpoint().unwrap();
                }
            }
            db.checkpoint().unwrap();
            tx.send(started.elapsed()).unwrap();
        })
    };
    // The writer must finish while the reader is open: it never waits for readers.
    let took = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the writer did not finish its commits while the reader was open");
    writer.join().unwrap();
    assert!(
        db.stats().checkpoint_lsn > ckpt_before,
        "a checkpoint ran beneath the reader"
    );
    drop(done_guard);
    let (first, passes) = reader.join().unwrap();
    println!("writer: 300 commits in {took:?}; reader: {passes} full passes");

    // The commits are there for a new reader; the checkpoint catches up once no reader
    // holds it back.
    let t = db.begin_read().unwrap();
    assert_ne!(dump(&t), first);
    assert!(node_ids(&t, None).len() > first.nodes.len());
    drop(t);
    db.checkpoint().unwrap();
    let st = db.stats();
    assert_eq!(st.checkpoint_lsn, st.last_commit_lsn);
    assert_clean(&db);
}

/// Cursors of a read transaction walk the records lazily: a cursor half way through must
/// finish on its snapshot although, between two steps, the writer deletes and inserts edges
/// of the same node, deletes neighbours, and checkpoints move the snapshot into the files.
#[test]
fn a_read_cursor_keeps_its_snapshot_across_commits_and_checkpoints() {
    let s = Scratch::new("cursor-snap");
    let db = Database::open(s.path("db"), &small_checkpoints()).unwrap();
    let mut t = db.begin_write().unwrap();
    let hub = t.insert_node("Hub").unwrap();
    let spokes: Vec<u64> = (0..150).map(|_| t.insert_node("Spoke").unwrap()).collect();
    for (i, n) in spokes.iter().enumerate() {
        t.insert_edge(hub, *n, "OUT").unwrap();
        if i % 3 == 0 {
            t.insert_edge(*n, hub, "IN").unwrap();
        }
        if i % 10 == 0 {
            t.insert_edge(hub, hub, "SELF").unwrap();
        }
    }
    t.commit().unwrap();

    let r = db.begin_read().unwrap();
    let want_edges: Vec<u64> = edge_ids(&r, hub, Dir::Both, None);
    let want_typed: Vec<u64> = edge_ids(&r, hub, Dir::In, Some("IN"));
    let want_nodes = node_ids(&r, None);
    let mut ec = r.edges(hub, Dir::Both, None).unwrap();
    let mut tc = r.edges(hub, Dir::In, Some("IN")).unwrap();
    let mut nc = r.nodes(None).unwrap();
    let (mut got_edges, mut got_typed, mut got_nodes) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = SplitMix64::new(7);
    for round in 0..8 {
        for _ in 0..30 {
            if let Some(e) = ec.next().unwrap() {
                got_edges.push(e.id);
            }
            if let Some(n) = nc.next(&r).unwrap() {
                got_nodes.push(n);
            }
        }
        if let Some(e) = tc.next().unwrap() {
            got_typed.push(e.id);
        }
        let mut w = db.begin_write().unwrap();
        let live: Vec<u64> = edge_ids(&w, hub, Dir::Both, None);
        for e in live.iter().filter(|_| rng.below(3) == 0) {
            w.delete_edge(*e).unwrap();
        }
        for _ in 0..20 {
            let n = w.insert_node("Spoke").unwrap();
            w.insert_edge(hub, n, "OUT").unwrap();
            w.insert_edge(n, hub, "IN").unwrap();
        }
        w.insert_edge(hub, hub, "SELF").unwrap();
        let victim = spokes[round * 7];
        w.delete_node(victim, true).unwrap();
        w.set_node_prop(hub, "round", ValueRef::Int(round as i64))
            .unwrap();
        w.commit().unwrap();
        db.checkpoint().unwrap();
    }
    while let Some(e) = ec.next().unwrap() {
        got_edges.push(e.id);
    }
    while let Some(e) = tc.next().unwrap() {
        got_typed.push(e.id);
    }
    while let Some(n) = nc.next(&r).unwrap() {
        got_nodes.push(n);
    }
    assert_eq!(got_edges, want_edges);
    assert_eq!(got_typed, want_typed);
    assert_eq!(got_nodes, want_nodes);
    assert_eq!(r.node_prop(hub, "round").unwrap(), None);
    drop(r);
    db.checkpoint().unwrap();
    let st = db.stats();
    assert_eq!(st.checkpoint_lsn, st.last_commit_lsn);
    assert_clean(&db);
}

/// A call on the database, timed in another thread.
type DbCall = Box<dyn FnOnce(&Database) -> Result<(), quiver::Error> + Send>;

#[test]
fn a_second_writer_gets_busy_after_the_busy_timeout() {
    let s = Scratch::new("busy");
    let path = s.path("db");
    let opts = Options {
        busy_timeout: Duration::from_millis(100),
        ..Options::default()
    };
    let db = Arc::new(Database::open(&path, &opts).unwrap());
    let mut w = db.begin_write().unwrap();
    let a = w.insert_node("N").unwrap();
    let timed = |f: DbCall| {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let start = Instant::now();
            let r = f(&db);
            (r, start.elapsed())
        })
        .join()
        .unwrap()
    };
    let (r, took) = timed(Box::new(|db| db.begin_write().map(|_| ())));
    assert_err(r, "Busy");
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_secs(2),
        "Busy after {took:?}"
    );
    // A checkpoint waits for the writer lock like a writer.
    let (r, took) = timed(Box::new(|db| db.checkpoint()));
    assert_err(r, "Busy");
    assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(2));
    // Readers do not wait.
    let (r, took) = timed(Box::new(|db| db.begin_read().map(|_| ())));
    r.unwrap();
    assert!(took < Duration::from_secs(1), "begin_read took {took:?}");
    // The failed attempts did not disturb the open writer.
    w.set_node_prop(a, "k", ValueRef::Int(1)).unwrap();
    w.commit().unwrap();
    assert_eq!(
        db.begin_read().unwrap().node_prop(a, "k").unwrap(),
        Some(ValueRef::Int(1))
    );
    assert_clean(&db);
    drop(db);

    // A writer waiting within its timeout gets the lock when the holder ends.
    let opts = Options {
        busy_timeout: Duration::from_secs(20),
        ..Options::default()
    };
    let db = Arc::new(Database::open(&path, &opts).unwrap());
    let w = db.begin_write().unwrap();
    let start = Instant::now();
    let waiter = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            let mut t = db.begin_write().unwrap();
            let took = start.elapsed();
            t.insert_node("Waited").unwrap();
            t.commit().unwrap();
            took
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    drop(w); // rollback releases the lock
    let took = waiter.join().unwrap();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(10),
        "waited {took:?}"
    );
    assert_eq!(node_ids(&db.begin_read().unwrap(), Some("Waited")).len(), 1);
    assert_clean(&db);
}

/// The writer's invariants: node `meta` holds the number of live accounts ("count"), of
/// live edges ("edges") and the commit number ("gen"); the balances of the accounts sum
/// to zero; every edge joins two accounts.
fn check_invariants(t: &Txn, meta: u64) -> u64 {
    let int = |v: Option<ValueRef<'_>>| match v {
        Some(ValueRef::Int(i)) => i,
        other => panic!("expected an Int, got {other:?}"),
    };
    let count = int(t.node_prop(meta, "count").unwrap());
    let edges = int(t.node_prop(meta, "edges").unwrap());
    let generation = int(t.node_prop(meta, "gen").unwrap());
    let accts = node_ids(t, Some("Acct"));
    assert_eq!(accts.len() as i64, count, "gen {generation}: account count");
    let mut sum = 0i64;
    let mut out_edges = 0i64;
    for a in &accts {
        sum += int(t.node_prop(*a, "bal").unwrap());
        assert!(int(t.node_prop(*a, "gen").unwrap()) <= generation);
        let mut c = t.edges(*a, Dir::Out, None).unwrap();
        while let Some(e) = c.next().unwrap() {
            out_edges += 1;
            assert_eq!(t.node_label(e.dst).unwrap().to_str().unwrap(), "Acct");
            assert!(int(t.edge_prop(e.id, "gen").unwrap()) <= generation);
        }
    }
    assert_eq!(sum, 0, "gen {generation}: balances");
    assert_eq!(out_edges, edges, "gen {generation}: edge count");
    generation as u64
}

/// Several reader threads check the writer's invariants, and that their snapshot stays
/// put, for a few seconds while one writer commits, rolls back and checkpoints.
#[test]
fn many_readers_and_one_writer_keep_the_invariants() {
    let s = Scratch::new("stress");
    let path = s.path("db");
    let opts = Options {
        sync: SyncMode::Off,
        ..small_checkpoints()
    };
    let db = Arc::new(Database::open(&path, &opts).unwrap());
    let mut t = db.begin_write().unwrap();
    let meta = t.insert_node("Meta").unwrap();
    for (k, v) in [("count", 0), ("edges", 0), ("gen", 0)] {
        t.set_node_prop(meta, k, ValueRef::Int(v)).unwrap();
    }
    t.commit().unwrap();

    let run_for = Duration::from_secs(3);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_guard = SetOnDrop(Arc::clone(&stop));
    let commits = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for r in 0..4u64 {
        let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
        readers.push(std::thread::spawn(move || {
            let mut rng = SplitMix64::new(r);
            let (mut txns, mut max_gen) = (0u64, 0u64);
            while !stop.load(Ordering::Acquire) {
                let t = db.begin_read().unwrap();
                let g = check_invariants(&t, meta);
                assert!(g >= max_gen, "a later reader saw an older snapshot");
                max_gen = g;
                // Hold the snapshot across some commits and checkpoints: nothing moves.
                let first = dump(&t);
                std::thread::sleep(Duration::from_millis(rng.below(20)));
                assert_eq!(check_invariants(&t, meta), g);
                assert!(dump(&t) == first, "snapshot at gen {g} moved");
                txns += 1;
            }
            (txns, max_gen)
        }));
    }

    let writer = {
        let (db, commits) = (Arc::clone(&db), Arc::clone(&commits));
        std::thread::spawn(move || {
            let mut rng = SplitMix64::new(0xC0FFEE);
            let mut accts: Vec<u64> = Vec::new();
            let mut edges: Vec<u64> = Vec::new();
            let mut generation = 0i64;
            let filler = vec![0x5Au8; 2048];
            let deadline = Instant::now() + run_for;
            while Instant::now() < deadline {
                let mut t = db.begin_write().unwrap();
                // Garbage that breaks every invariant, undone by a savepoint or a rollback.
                t.savepoint("junk").unwrap();
                let j = t.insert_node("Acct").unwrap();
                t.set_node_prop(meta, "count", ValueRef::Int(-1)).unwrap();
                t.set_node_prop(j, "blob", ValueRef::Bytes(&filler))
                    .unwrap();
                if rng.below(8) == 0 {
                    t.rollback();
                    continue;
                }
                t.rollback_to("junk").unwrap();
                generation += 1;
                let g = ValueRef::Int(generation);
                // Open an account, with an edge from an old one.
                if accts.len() < 8 || rng.below(3) == 0 {
                    let n = t.insert_node("Acct").unwrap();
                    t.set_node_prop(n, "bal", ValueRef::Int(0)).unwrap();
                    t.set_node_prop(n, "gen", g).unwrap();
                    t.set_node_prop(n, "pad", ValueRef::Bytes(&filler)).unwrap();
                    if let Some(&old) = accts.get(rng.below(accts.len().max(1) as u64) as usize) {
                        let e = t.insert_edge(old, n, "T").unwrap();
                        t.set_edge_prop(e, "gen", g).unwrap();
                        edges.push(e);
                    }
                    accts.push(n);
                }
                // Transfers.
                for _ in 0..3 {
                    let (a, b) = (*rng.pick(&accts), *rng.pick(&accts));
                    let x = rng.below(100) as i64;
                    let bal = |t: &Txn, n| match t.node_prop(n, "bal").unwrap() {
                        Some(ValueRef::Int(i)) => i,
                        v => panic!("{v:?}"),
                    };
                    let (ba, bb) = (bal(&t, a), bal(&t, b));
                    t.set_node_prop(a, "bal", ValueRef::Int(ba - x)).unwrap();
                    let bb = if a == b { ba - x } else { bb };
                    t.set_node_prop(b, "bal", ValueRef::Int(bb + x)).unwrap();
                    t.set_node_prop(a, "gen", g).unwrap();
                    let e = t.insert_edge(a, b, "T").unwrap();
                    t.set_edge_prop(e, "gen", g).unwrap();
                    edges.push(e);
                }
                // Drop an edge; close an account (its balance moves to another).
                if rng.below(2) == 0 && !edges.is_empty() {
                    let e = edges.swap_remove(rng.below(edges.len() as u64) as usize);
                    t.delete_edge(e).unwrap();
                }
                if accts.len() > 8 && rng.below(4) == 0 {
                    let gone = accts.swap_remove(rng.below(accts.len() as u64) as usize);
                    let heir = *rng.pick(&accts);
                    let bal = |t: &Txn, n| match t.node_prop(n, "bal").unwrap() {
                        Some(ValueRef::Int(i)) => i,
                        v => panic!("{v:?}"),
                    };
                    let moved = bal(&t, gone) + bal(&t, heir);
                    t.set_node_prop(heir, "bal", ValueRef::Int(moved)).unwrap();
                    t.delete_node(gone, true).unwrap();
                    edges.retain(|e| t.get_edge(*e).is_ok());
                }
                t.set_node_prop(meta, "count", ValueRef::Int(accts.len() as i64))
                    .unwrap();
                t.set_node_prop(meta, "edges", ValueRef::Int(edges.len() as i64))
                    .unwrap();
                t.set_node_prop(meta, "gen", g).unwrap();
                t.commit().unwrap();
                commits.fetch_add(1, Ordering::Relaxed);
                if generation % 20 == 0 {
                    db.checkpoint().unwrap();
                }
            }
            generation
        })
    };
    let last_gen = writer.join().unwrap();
    drop(stop_guard);
    let mut total = 0;
    for r in readers {
        let (txns, max_gen) = r.join().unwrap();
        assert!(max_gen <= last_gen as u64);
        total += txns;
    }
    let n = commits.load(Ordering::Relaxed);
    println!("writer: {n} commits in {run_for:?}; readers: {total} read transactions");
    assert!(n >= 50, "the writer made only {n} commits in {run_for:?}");
    assert!(
        total >= 20,
        "the readers made only {total} read transactions"
    );
    assert_eq!(
        check_invariants(&db.begin_read().unwrap(), meta),
        last_gen as u64
    );
    assert_clean(&db);
    drop(db);
    let db = Database::open(&path, &opts).unwrap();
    assert_eq!(
        check_invariants(&db.begin_read().unwrap(), meta),
        last_gen as u64
    );
    assert_clean(&db);
}

#[test]
fn a_second_open_in_this_process_is_locked() {
    let (s, path, db) = fresh("lock-self");
    commit_node(&db, "N");
    let ro = Options {
        read_only: true,
        create: false,
        ..Options::default()
    };
    for p in [path.clone(), path.join("."), s.root.join(".").join("db")] {
        assert_err(
            Database::open(&p, &Options::default()).map(|_| ()),
            "Locked",
        );
        assert_err(Database::open(&p, &ro).map(|_| ()), "Locked");
    }
    // The failed opens did not disturb the open handle.
    assert_eq!(node_ids(&db.begin_read().unwrap(), None).len(), 1);
    db.close().unwrap();
    let db = Database::open(&path, &ro).unwrap();
    assert_err(
        Database::open(&path, &Options::default()).map(|_| ()),
        "Locked",
    );
    drop(db);
    let db = open(&path);
    assert_clean(&db);
}

const CHILD_DB: &str = "QV_CONCURRENCY_CHILD_DB";
const CHILD_MODE: &str = "QV_CONCURRENCY_CHILD_MODE";

/// Run by [`another_process_gets_locked`] in a child process: with mode "locked" the open
/// must fail with Locked; with "hold" it opens the database, prints CHILD-HOLDS-DB and keeps it open
/// until its stdin closes; with "ok" it opens the database and checks it.
#[test]
#[ignore = "helper, run as a child process by another_process_gets_locked"]
fn child_opens_db() {
    let path = std::env::var(CHILD_DB).expect("run by another_process_gets_locked");
    let mode = std::env::var(CHILD_MODE).unwrap();
    let ro = Options {
        read_only: true,
        create: false,
        ..Options::default()
    };
    match mode.as_str() {
        "locked" => {
            assert_err(
                Database::open(&path, &Options::default()).map(|_| ()),
                "Locked",
            );
            assert_err(Database::open(&path, &ro).map(|_| ()), "Locked");
        }
        "hold" => {
            let db = Database::open(&path, &Options::default()).unwrap();
            println!("\nCHILD-HOLDS-DB");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).unwrap() > 0 {}
            db.close().unwrap();
        }
        "ok" => {
            let db = Database::open(&path, &Options::default()).unwrap();
            assert_eq!(
                node_ids(&db.begin_read().unwrap(), Some("FromParent")).len(),
                1
            );
            assert_clean(&db);
        }
        other => panic!("unknown mode {other}"),
    }
    println!("CHILD-DONE {mode}");
}

fn child(path: &std::path::Path, mode: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        "child_opens_db",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_DB, path)
    .env(CHILD_MODE, mode);
    c
}

fn run_child(path: &std::path::Path, mode: &str) {
    let out = child(path, mode).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("CHILD-DONE {mode}")),
        "child ({mode}) failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn another_process_gets_locked() {
    let (_s, path, db) = fresh("lock-proc");
    commit_node(&db, "FromParent");
    run_child(&path, "locked");
    db.close().unwrap();
    run_child(&path, "ok");

    // The other way round: the child holds it, this process is locked out.
    let mut holder = child(&path, "hold")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(line) if line.as_ref().unwrap().contains("CHILD-HOLDS-DB") => break,
            Some(_) => {}
            None => panic!("the child exited before holding the database"),
        }
    }
    assert_err(
        Database::open(&path, &Options::default()).map(|_| ()),
        "Locked",
    );
    drop(holder.stdin.take()); // the child closes and exits
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(holder.wait().unwrap().success());
    assert!(
        rest.iter().any(|l| l.contains("CHILD-DONE hold")),
        "{rest:?}"
    );
    let db = open(&path);
    assert_clean(&db);
}
