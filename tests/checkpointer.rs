//! The checkpoint thread: automatic checkpoints and sync mode NORMAL's timed fsync run on a
//! thread of the library, never in a commit.
//!
//! The database runs on [`FaultStorage`], whose durable image is what a power loss would
//! leave, and whose `on_sync` hook runs right before each sync (`completed` false) on the
//! thread that syncs.
//!
//! 1. `checkpoints_run_off_the_commit_path`: the committing thread fsyncs only the log
//!    (one fsync per commit); every checkpoint fsync happens on the checkpoint thread.
//! 2. `a_timed_checkpoint_needs_no_further_commit`,
//!    `an_idle_writer_is_checkpointed_without_waiting_for_the_timer` and
//!    `sync_normal_fsyncs_within_a_second_without_another_commit`.
//! 3. `a_commit_during_a_background_checkpoint_keeps_its_snapshot_whole`: a commit made
//!    while the thread fsyncs the log for its checkpoint must not take versions out of
//!    the snapshot being written (a power loss right after that checkpoint recovers).
//! 4. `a_failed_background_checkpoint_poisons_the_handle`.
//! 5. `a_clean_reopen_writes_nothing_until_its_first_commit`: opening a cleanly closed
//!    database, reading and closing again writes and fsyncs nothing; the first commit
//!    starts the thread, which checkpoints it with no close and no explicit call.
//! 6. `many_records_wake_the_thread_whatever_the_log_size`: a commit that leaves versions
//!    of 2^18 records waiting wakes the thread, however little log they took.
//! 7. `Options::checkpoint_memory`: a writer faster than checkpoints keeps the version
//!    map within the budget (`a_writer_faster_than_checkpoints_stays_within_checkpoint_memory`);
//!    a reader that holds checkpoints back does not hang commits over it
//!    (`a_reader_holding_checkpoints_back_does_not_hang_commits_over_budget`); a failed
//!    checkpoint ends a commit's wait (`a_failed_checkpoint_ends_a_commit_waiting_for_memory`).
//!
//! The power-loss sweep over every fsync of background checkpoints is
//! `durable_image_sweep_checkpoint_thread` in `tests/crash.rs`; the kill -9 torture runs
//! with the thread (the C API's default).

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::{FaultKind, FaultStorage};
use quiver::{Database, Error, Options, SyncMode, ValueRef};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::workload::settle;
use support::{Scratch, assert_clean, open_fault};

/// How long a test waits for the checkpoint thread before calling it a hang.
const WAIT: Duration = Duration::from_secs(30);

/// Polls `cond` every millisecond until it holds; panics (naming `what`) after [`WAIT`].
#[track_caller]
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn int_prop(db: &Database, id: u64, key: &str) -> Option<i64> {
    let r = db.begin_read().unwrap();
    match r.node_prop(id, key).unwrap() {
        Some(ValueRef::Int(v)) => Some(v),
        None => None,
        Some(v) => panic!("{key} of node {id} is {v:?}"),
    }
}

/// Commits a node with property v = `v` and a 1 KiB blob; returns its id.
fn commit_node(db: &Database, v: i64) -> u64 {
    let mut t = db.begin_write().unwrap();
    let id = t.insert_node("N").unwrap();
    t.set_node_prop(id, "v", ValueRef::Int(v)).unwrap();
    t.set_node_prop(id, "pad", ValueRef::Bytes(&[7; 1024]))
        .unwrap();
    t.commit().unwrap();
    id
}

/// The durable image of `fs` (what a power loss now leaves) opens with nothing to replay,
/// node `id` having v = 5, and checks clean.
#[track_caller]
fn assert_image_needs_no_replay(fs: &FaultStorage, s: &Scratch, opts: &Options, id: u64) {
    fs.write_durable_image(&s.path("image")).unwrap();
    let copy = Database::open(s.path("image"), opts).unwrap();
    assert_eq!(copy.last_recovery().txns_replayed, 0);
    assert_eq!(int_prop(&copy, id, "v"), Some(5));
    assert_clean(&copy);
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn checkpoints_run_off_the_commit_path() {
    let s = Scratch::new("ckpt-thread-off-path");
    let opts = Options {
        sync: SyncMode::Full,
        checkpoint_bytes: 8 << 10,
        checkpoint_interval: None,
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let me = thread_name();
    let syncs: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let syncs = Arc::clone(&syncs);
        fs.on_sync(move |_, _, completed| {
            if !completed {
                syncs.lock().unwrap().push(thread_name());
            }
        });
    }
    let start_lsn = db.stats().checkpoint_lsn;
    let mut checkpoints = 0;
    const COMMITS: usize = 60;
    for i in 0..COMMITS {
        let before = db.stats().checkpoint_lsn;
        commit_node(&db, i as i64);
        settle(&db, opts.checkpoint_bytes);
        checkpoints += usize::from(db.stats().checkpoint_lsn != before);
    }
    fs.clear_sync_hook();
    let syncs = syncs.lock().unwrap().clone();
    let mine = syncs.iter().filter(|n| **n == me).count();
    let theirs = syncs.iter().filter(|n| *n == "quiver-checkpoint").count();
    eprintln!(
        "{COMMITS} commits, {checkpoints} checkpoints; fsyncs: {mine} by the committing thread, \
         {theirs} by the checkpoint thread, {} in all",
        syncs.len()
    );
    assert!(
        checkpoints >= 5,
        "60 KiB of commits at 8 KiB per checkpoint: {checkpoints} checkpoints"
    );
    assert!(db.stats().checkpoint_lsn > start_lsn);
    assert_eq!(
        mine, COMMITS,
        "the committing thread fsyncs the log once per commit and nothing else"
    );
    assert_eq!(
        mine + theirs,
        syncs.len(),
        "no other thread syncs: {syncs:?}"
    );
    assert!(
        theirs >= 4 * checkpoints,
        "each checkpoint fsyncs at least the heap, the record files and the meta file"
    );
    assert_clean(&db);
    db.close().unwrap();
}

#[test]
fn a_timed_checkpoint_needs_no_further_commit() {
    let s = Scratch::new("ckpt-thread-timed");
    let opts = Options {
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let id = commit_node(&db, 5);
    // A write transaction open throughout: the writer is not idle, so only the timer can
    // start the checkpoint.
    let busy = db.begin_write().unwrap();
    wait_for("the timed checkpoint", || {
        let st = db.stats();
        st.checkpoint_lsn == st.last_commit_lsn
    });
    drop(busy);
    // What a power loss now leaves needs no replay.
    assert_image_needs_no_replay(&fs, &s, &opts, id);
}

#[test]
fn an_idle_writer_is_checkpointed_without_waiting_for_the_timer() {
    let s = Scratch::new("ckpt-thread-idle");
    let opts = Options {
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: Some(Duration::from_secs(3600)),
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let id = commit_node(&db, 5);
    // While a write transaction is open the writer is not idle: nothing is checkpointed
    // (the thread looks every 50 ms; this spans several looks).
    let busy = db.begin_write().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let st = db.stats();
    assert!(
        st.checkpoint_lsn < st.last_commit_lsn,
        "checkpointed while a write transaction was open"
    );
    drop(busy);
    wait_for("the idle checkpoint", || {
        let st = db.stats();
        st.checkpoint_lsn == st.last_commit_lsn
    });
    assert_image_needs_no_replay(&fs, &s, &opts, id);
}

#[test]
fn sync_normal_fsyncs_within_a_second_without_another_commit() {
    let s = Scratch::new("ckpt-thread-normal");
    let opts = Options {
        sync: SyncMode::Normal,
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: None,
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let before = fs.syncs();
    let committed = Instant::now();
    let id = commit_node(&db, 9);
    wait_for("the timed fsync of the log", || {
        fs.syncs() > before && fs.unsynced() == (0, 0)
    });
    let took = committed.elapsed();
    fs.write_durable_image(&s.path("image")).unwrap();
    let copy = Database::open(s.path("image"), &opts).unwrap();
    assert_eq!(
        int_prop(&copy, id, "v"),
        Some(9),
        "the commit is durable once the thread has fsynced (after {took:?})"
    );
    assert_eq!(copy.last_recovery().txns_replayed, 1, "no checkpoint ran");
    assert_clean(&copy);
}

/// The version map's size that wakes the thread (`CHECKPOINT_RECORDS` in src/txn/write.rs).
const CHECKPOINT_RECORDS: u64 = 1 << 18;

/// Commits `n` nodes in one transaction (a few log bytes each).
fn commit_nodes(db: &Database, n: u64) {
    let mut t = db.begin_write().unwrap();
    for _ in 0..n {
        t.insert_node("N").unwrap();
    }
    t.commit().unwrap();
}

#[test]
fn many_records_wake_the_thread_whatever_the_log_size() {
    let s = Scratch::new("ckpt-thread-records");
    let opts = Options {
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: None,
        ..Options::default()
    };
    let db = Database::open(s.path("db"), &opts).unwrap();
    // Short of the threshold: nothing else may start a checkpoint, so none runs.
    commit_nodes(&db, CHECKPOINT_RECORDS - 10);
    std::thread::sleep(Duration::from_millis(300));
    let st = db.stats();
    assert_eq!(st.checkpoint_lsn, 0, "checkpointed below the threshold");
    // Past it: the commit wakes the thread, which checkpoints everything.
    commit_nodes(&db, 10);
    wait_for("the checkpoint the version map's size asks for", || {
        let st = db.stats();
        st.checkpoint_lsn == st.last_commit_lsn
    });
    let r = db.begin_read().unwrap();
    assert_eq!(r.live_counts(), (CHECKPOINT_RECORDS, 0));
    drop(r);
    db.close().unwrap();
    let db = Database::open(s.path("db"), &opts).unwrap();
    assert_eq!(db.last_recovery().txns_replayed, 0);
    assert_clean(&db);
}

#[test]
fn a_commit_during_a_background_checkpoint_keeps_its_snapshot_whole() {
    let s = Scratch::new("ckpt-thread-floor");
    // Sync mode OFF: a checkpoint fsyncs the log up to the snapshot it writes (C0) after
    // choosing it; it chooses again after that fsync (a reader may have begun), and if
    // more commits came, fsyncs again before it collects that snapshot's versions.
    let opts = Options {
        sync: SyncMode::Off,
        checkpoint_bytes: 1,
        checkpoint_interval: None,
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let db = Arc::new(db);
    let first_ckpt = db.stats().checkpoint_lsn;
    // The node (id 1, the first of a fresh database) is created with v = 1. At the
    // checkpoint's first log fsync, v = 2 is committed (so the checkpoint writes that
    // snapshot and fsyncs again); at that second fsync v = 3 and v = 4 (versions newer
    // than the snapshot being written, which must not take v = 2, or the node, out of
    // it). At the first fsync after that checkpoint is done, the power-loss image.
    let stage = Arc::new(Mutex::new(0));
    let image = s.path("image");
    {
        let weak = Arc::downgrade(&db);
        let stage = Arc::clone(&stage);
        let image = image.clone();
        fs.on_sync(move |fs, _, completed| {
            if completed || thread_name() != "quiver-checkpoint" {
                return;
            }
            let Some(db) = weak.upgrade() else { return };
            let mut st = stage.lock().unwrap();
            let set = |v: i64| -> bool {
                let Ok(mut t) = db.begin_write() else {
                    return false;
                };
                t.set_node_prop(1, "v", ValueRef::Int(v)).is_ok() && t.commit().is_ok()
            };
            // Two commits at the second fsync: the second drops the versions older than
            // the first's unless the checkpoint holds them.
            *st = match *st {
                0 if set(2) => 1,
                1 if set(3) && set(4) => 2,
                2 if db.stats().checkpoint_lsn > first_ckpt
                    && fs.write_durable_image(&image).is_ok() =>
                {
                    3
                }
                n => n,
            };
        });
    }
    let id = commit_node(&db, 1);
    assert_eq!(id, 1);
    wait_for("the image after the first checkpoint", || {
        *stage.lock().unwrap() == 3
    });
    fs.clear_sync_hook();
    assert_eq!(int_prop(&db, id, "v"), Some(4));
    // A hook call that began before the hook was cleared may still hold the handle for a
    // moment (it upgrades its weak reference first): wait for it to let go.
    let deadline = Instant::now() + WAIT;
    let mut db = db;
    let db = loop {
        match Arc::try_unwrap(db) {
            Ok(db) => break db,
            Err(shared) => {
                assert!(Instant::now() < deadline, "the sync hook kept the handle");
                db = shared;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    db.close().unwrap();

    // The image: the first checkpoint (the node, v = 2) and the log after it, where v = 3
    // and v = 4 were written before the checkpoint's second log fsync.
    let copy = Database::open(&image, &Options::default())
        .unwrap_or_else(|e| panic!("the image after the first checkpoint does not open: {e}"));
    assert_eq!(int_prop(&copy, id, "v"), Some(4));
    let r = copy.begin_read().unwrap();
    assert_eq!(
        r.node_prop(id, "pad").unwrap(),
        Some(ValueRef::Bytes(&[7; 1024]))
    );
    drop(r);
    assert_clean(&copy);
}

#[test]
fn a_failed_background_checkpoint_poisons_the_handle() {
    let s = Scratch::new("ckpt-thread-fail");
    let opts = Options {
        sync: SyncMode::Full,
        checkpoint_bytes: 4 << 10,
        checkpoint_interval: None,
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let a = commit_node(&db, 1);
    // The next commit's own fsync succeeds; the checkpoint it wakes fails its first.
    fs.fail_sync_at(2, FaultKind::Eio);
    let mut t = db.begin_write().unwrap();
    let b = t.insert_node("N").unwrap();
    t.set_node_prop(b, "pad", ValueRef::Bytes(&[1; 8192]))
        .unwrap();
    t.commit().unwrap();
    wait_for("the failed checkpoint to poison the handle", || {
        db.check_poisoned().is_err()
    });
    let e = db.begin_write().err().unwrap();
    assert!(matches!(e, Error::Poisoned(_)), "{e}");
    assert!(
        e.to_string().contains("fdatasync") && e.to_string().contains("props"),
        "names the failed call and file: {e}"
    );
    fs.write_durable_image(&s.path("image")).unwrap();
    let _ = db.close();
    let copy = Database::open(s.path("image"), &Options::default()).unwrap();
    assert_eq!(int_prop(&copy, a, "v"), Some(1));
    let r = copy.begin_read().unwrap();
    assert!(r.node_label(b).is_ok(), "the acknowledged commit survives");
    drop(r);
    assert_clean(&copy);
}

#[test]
fn a_clean_reopen_writes_nothing_until_its_first_commit() {
    let s = Scratch::new("ckpt-thread-clean-reopen");
    let opts = Options {
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    let dir = s.path("db");
    let (_, db) = open_fault(&dir, &opts);
    let first = commit_node(&db, 5);
    db.close().unwrap();

    // Open, read, close: the log holds nothing past the checkpoint and both meta slots
    // name it, so there is nothing to fsync at open and nothing to write at close.
    let (fs, db) = open_fault(&dir, &opts);
    assert_eq!(int_prop(&db, first, "v"), Some(5));
    db.close().unwrap();
    assert_eq!((fs.writes(), fs.syncs()), (0, 0), "writes and syncs");

    // The first commit starts the checkpoint thread, which checkpoints it on its own.
    let (fs, db) = open_fault(&dir, &opts);
    let second = commit_node(&db, 5);
    wait_for("the timed checkpoint after the first commit", || {
        let st = db.stats();
        st.checkpoint_lsn == st.last_commit_lsn
    });
    assert_image_needs_no_replay(&fs, &s, &opts, second);
    db.close().unwrap();

    // A close after commits writes again, and the result reopens whole.
    let (_, db) = open_fault(&dir, &opts);
    assert_eq!(int_prop(&db, first, "v"), Some(5));
    assert_eq!(int_prop(&db, second, "v"), Some(5));
    assert_clean(&db);
}

/// Commits `n` nodes with a 1 KiB property each, in one transaction.
fn commit_padded(db: &Database, n: u64) {
    let mut t = db.begin_write().unwrap();
    for _ in 0..n {
        let id = t.insert_node("N").unwrap();
        t.set_node_prop(id, "pad", ValueRef::Bytes(&[3; 1024]))
            .unwrap();
    }
    t.commit().unwrap();
}

/// Runs `f` on a thread and waits for it; panics (naming `what`) if it has not returned
/// after [`WAIT`], or if it panicked.
#[track_caller]
fn finishes(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        tx.send(()).unwrap();
    });
    if rx.recv_timeout(WAIT).is_err() {
        assert!(t.is_finished(), "{what}: hung for {WAIT:?}");
    }
    t.join().unwrap();
}

/// Options where only `checkpoint_memory` (1 MiB) starts a checkpoint in these tests.
fn budget_opts() -> Options {
    Options {
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: None,
        checkpoint_memory: 1 << 20,
        ..Options::default()
    }
}

#[test]
fn a_writer_faster_than_checkpoints_stays_within_checkpoint_memory() {
    let s = Scratch::new("ckpt-thread-budget");
    let opts = budget_opts();
    let db = Database::open(s.path("db"), &opts).unwrap();
    // One transaction's versions: 100 nodes of about 1.1 KiB in memory each.
    commit_padded(&db, 100);
    let one = db.stats().version_bytes;
    assert!(
        (100_000..200_000).contains(&one),
        "one transaction holds {one} bytes"
    );
    // 20 MiB of commits against a 1 MiB budget: a commit that leaves the map over it
    // returns once a checkpoint has emptied it, so the map never holds much more.
    let mut peak = 0;
    for _ in 0..180 {
        commit_padded(&db, 100);
        let st = db.stats();
        peak = peak.max(st.version_bytes);
        assert!(
            st.version_bytes <= opts.checkpoint_memory as u64 + 2 * one,
            "the map holds {} bytes past a budget of {}",
            st.version_bytes,
            opts.checkpoint_memory
        );
    }
    assert!(peak > opts.checkpoint_memory as u64 / 2, "peak {peak}");
    let st = db.stats();
    assert!(st.checkpoint_lsn > 0, "the budget started checkpoints");
    let r = db.begin_read().unwrap();
    assert_eq!(r.live_counts(), (18_100, 0));
    drop(r);
    db.close().unwrap();
    let db = Database::open(s.path("db"), &opts).unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.live_counts(), (18_100, 0));
    drop(r);
    assert_clean(&db);
}

/// A reader holds checkpoints back, and with them what the budget can free: commits past
/// the budget still return (each waits for one checkpoint, which has nothing it may
/// write), and the map shrinks back once the reader ends.
#[test]
fn a_reader_holding_checkpoints_back_does_not_hang_commits_over_budget() {
    let s = Scratch::new("ckpt-thread-budget-reader");
    let opts = budget_opts();
    let db = Arc::new(Database::open(s.path("db"), &opts).unwrap());
    commit_padded(&db, 10);
    let reader = db.begin_read().unwrap();
    let writer = Arc::clone(&db);
    finishes("commits over the budget behind a reader", move || {
        for _ in 0..40 {
            commit_padded(&writer, 100);
        }
    });
    let held = db.stats().version_bytes;
    assert!(
        held > 4 * opts.checkpoint_memory as u64,
        "the reader's snapshot keeps versions: {held} bytes"
    );
    assert_eq!(
        reader.live_counts(),
        (10, 0),
        "the reader's snapshot is whole"
    );
    drop(reader);
    commit_padded(&db, 1);
    let held = db.stats().version_bytes;
    assert!(
        held <= opts.checkpoint_memory as u64,
        "the reader gone, the next commit's checkpoint frees the map: {held} bytes"
    );
    let r = db.begin_read().unwrap();
    assert_eq!(r.live_counts(), (4_011, 0));
    drop(r);
    assert_clean(&db);
}

/// A checkpoint that fails while a commit waits for it ends the wait: the commit (durable
/// before it waited) returns, and the handle is poisoned.
#[test]
fn a_failed_checkpoint_ends_a_commit_waiting_for_memory() {
    let s = Scratch::new("ckpt-thread-budget-fail");
    let opts = Options {
        sync: SyncMode::Full,
        ..budget_opts()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    // The commit's own fsync is the first; the checkpoint it waits for fails its first.
    fs.fail_sync_at(2, FaultKind::Eio);
    let db = Arc::new(db);
    let writer = Arc::clone(&db);
    finishes("a commit waiting for a failed checkpoint", move || {
        let mut t = writer.begin_write().unwrap();
        for _ in 0..1000 {
            let id = t.insert_node("N").unwrap();
            t.set_node_prop(id, "pad", ValueRef::Bytes(&[3; 1024]))
                .unwrap();
        }
        t.commit().unwrap();
    });
    assert!(matches!(db.check_poisoned(), Err(Error::Poisoned(_))));
    fs.write_durable_image(&s.path("image")).unwrap();
    let copy = Database::open(s.path("image"), &Options::default()).unwrap();
    let t = copy.begin_read().unwrap();
    assert_eq!(
        t.live_counts(),
        (1000, 0),
        "the acknowledged commit survives"
    );
    drop(t);
    assert_clean(&copy);
}
