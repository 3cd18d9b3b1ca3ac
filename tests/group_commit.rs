//! Group commit (sync mode FULL): a commit returns only once an fsync covers it; commits
//! that wait together share one fsync; a commit becomes visible to new readers only once
//! it is durable, while the next write transaction already builds on it; a failed fsync
//! fails every commit that waited for it and poisons the handle.
//!
//! The database runs on [`FaultStorage`], whose durable image is what a power loss would
//! leave, and whose `on_sync` hook runs right before each sync (`completed` false) and
//! right after each successful one. The hook is told the sync's number, not its file; with
//! the default thresholds (64 MiB between checkpoints, 64 MiB segments) and small commits,
//! every sync after the open is a group-commit fsync of the log (creating the database and
//! closing it sync too, so hooks are set after the open and cleared before the close).
//!
//! 1. `a_commit_is_durable_when_it_returns`: the durable image taken right after a commit
//!    returns holds it (and every commit that returned before).
//! 2. `concurrent_commits_share_fsyncs`: 200 concurrent commits need far fewer than 200
//!    fsyncs.
//! 3. `a_commit_is_visible_once_durable_and_the_next_writer_builds_on_it`, and
//!    `a_reader_begun_during_an_automatic_checkpoint_keeps_its_snapshot` (a reader that
//!    begins while a pending commit is being checkpointed).
//! 4. `a_failed_fsync_fails_every_commit_it_was_to_cover`,
//!    `commits_racing_a_failed_fsync_return_ok_only_if_durable_before_it`, and
//!    `a_writer_open_across_a_failed_fsync_cannot_commit` (a checkpoint's fsync after the
//!    failure must not make a commit look durable).

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::{FaultKind, FaultStorage};
use quiver::{Database, Dir, Options, SyncMode, Txn, ValueRef};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};
use support::{Scratch, assert_clean, assert_err, node_ids, open_fault, variant};

/// How long a test waits for a step another thread must reach before calling it a hang.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// In a sync hook: tells the test the hook was reached, then waits until the test
/// releases it (or gives up, so that a failing test cannot hang; the test then fails on
/// what it observes). Never panics: a panic here, inside a sync of a database being
/// dropped while a failed test unwinds, would abort the whole test binary.
fn hold_until_released(reached: &mpsc::Sender<()>, release: &mpsc::Receiver<()>) {
    if reached.send(()).is_ok() {
        let _ = release.recv_timeout(STEP_TIMEOUT);
    }
}

/// Installs a sync hook on `fs` that stops at sync `k` (right after it completes if
/// `completed`, else right before it starts) until the test sends on the returned sender,
/// and tells the test through the returned receiver that it got there. The hook also
/// records every sync numbered above `late_after` that completes.
fn hold_sync(
    fs: &FaultStorage,
    k: u64,
    completed: bool,
    late_after: u64,
) -> (mpsc::Receiver<()>, mpsc::Sender<()>, Arc<Mutex<Vec<u64>>>) {
    let (reached_tx, reached) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let late_syncs = Arc::new(Mutex::new(Vec::new()));
    let late = Arc::clone(&late_syncs);
    let mut hold = Some((reached_tx, release_rx));
    fs.on_sync(move |_, n, done| {
        if n == k && done == completed {
            if let Some((tx, rx)) = hold.take() {
                hold_until_released(&tx, &rx);
            }
        } else if n > late_after && done {
            late.lock().unwrap().push(n);
        }
    });
    (reached, release, late_syncs)
}

/// Sync mode FULL with the default thresholds.
fn full() -> Options {
    Options {
        sync: SyncMode::Full,
        ..Options::default()
    }
}

/// Creates a database in `dir` on fault storage, to share between threads.
fn open_shared(dir: &Path, opts: &Options) -> (FaultStorage, Arc<Database>) {
    let (fs, db) = open_fault(dir, opts);
    (fs, Arc::new(db))
}

/// A fresh database (sync mode FULL) on fault storage in a new scratch directory, to share
/// between threads.
fn fresh_shared(tag: &str) -> (Scratch, FaultStorage, Arc<Database>) {
    let s = Scratch::new(tag);
    let (fs, db) = open_shared(&s.path("db"), &full());
    (s, fs, db)
}

/// Runs `body(th)` for each `th` in `0..threads`, each on a thread of its own, all released
/// together from a barrier so that their commits race; returns the results in thread order.
fn race<T: Send>(threads: i64, body: impl Fn(i64) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(threads as usize);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                let (start, body) = (&start, &body);
                scope.spawn(move || {
                    start.wait();
                    body(th)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The tag of a commit: which thread made it, and its number on that thread.
fn tag(thread: i64, seq: i64) -> i64 {
    thread * 1000 + seq
}

/// Commits one node labelled `N` whose property `k` is `tag`.
fn commit_tagged(db: &Database, tag: i64) -> quiver::Result<u64> {
    let mut t = db.begin_write()?;
    let id = t.insert_node("N")?;
    t.set_node_prop(id, "k", ValueRef::Int(tag))?;
    t.commit()?;
    Ok(id)
}

/// [`commit_tagged`] on a new thread.
fn commit_in_thread(db: &Arc<Database>, tag: i64) -> std::thread::JoinHandle<quiver::Result<()>> {
    let db = Arc::clone(db);
    std::thread::spawn(move || commit_tagged(&db, tag).map(|_| ()))
}

/// Integer property `key` of node `id`, None when the node or the property is missing.
fn int_prop(t: &Txn, id: u64, key: &str) -> Option<i64> {
    match t.node_prop(id, key) {
        Ok(Some(ValueRef::Int(v))) => Some(v),
        Ok(None) | Err(_) => None,
        Ok(Some(other)) => panic!("node {id}: {key} is {other:?}"),
    }
}

/// Whether node `id` is live in what `t` sees (id 0: not known yet, so not seen).
fn sees(t: &Txn, id: u64) -> bool {
    id != 0 && t.node_label(id).is_ok()
}

/// The tags (property `k` of every `N` node) of the database in `dir`, opened read-only
/// with real storage (recovery replays the log in memory), after an integrity check.
fn tags_in(dir: &Path) -> BTreeSet<i64> {
    let ro = Options {
        read_only: true,
        create: false,
        ..Options::default()
    };
    let db = Database::open(dir, &ro)
        .unwrap_or_else(|e| panic!("{}: open read-only: {e}", dir.display()));
    assert_clean(&db);
    let t = db.begin_read().unwrap();
    node_ids(&t, Some("N"))
        .into_iter()
        .map(|id| int_prop(&t, id, "k").unwrap_or_else(|| panic!("node {id} has no tag")))
        .collect()
}

/// Panics naming the tags of `want` missing from `got`.
#[track_caller]
fn assert_holds(got: &BTreeSet<i64>, want: &[i64], what: &str) {
    let missing: Vec<i64> = want.iter().filter(|t| !got.contains(t)).copied().collect();
    assert!(
        missing.is_empty(),
        "{what}: commits {missing:?} returned Ok but are missing"
    );
}

// ---------------------------------------------------------------------------------------
// 1. Durable on return
// ---------------------------------------------------------------------------------------

/// No commit is reported before it is durable. 8 threads commit 40 transactions each;
/// right after a commit returns, its thread takes the durable image (what a power loss at
/// that moment would leave). Each image, reopened, must hold that commit and every commit
/// that had returned (on any thread) before the image was taken. The hook slows every
/// fsync a little before and after it runs, widening the windows in which a commit could
/// be reported before its fsync began, or counted as covered by an fsync that began
/// before it was appended.
#[test]
fn a_commit_is_durable_when_it_returns() {
    const THREADS: i64 = 8;
    const COMMITS: i64 = 40;
    let (s, fs, db) = fresh_shared("gc-durable");
    fs.on_sync(|_, _, _| std::thread::sleep(Duration::from_micros(200)));
    let acked = Mutex::new(Vec::new());
    let images = Mutex::new(Vec::new());
    race(THREADS, |th| {
        for i in 0..COMMITS {
            let k = tag(th, i);
            commit_tagged(&db, k).unwrap();
            // Every commit in `want` has returned before the image is taken.
            let want = {
                let mut a = acked.lock().unwrap();
                a.push(k);
                a.clone()
            };
            let img = s.root.join(format!("img-{k}"));
            fs.write_durable_image(&img).unwrap();
            images.lock().unwrap().push((img, want));
        }
    });
    fs.clear_sync_hook();
    let images = images.into_inner().unwrap();
    assert_eq!(images.len(), (THREADS * COMMITS) as usize);
    for (img, want) in &images {
        let got = tags_in(img);
        assert_holds(&got, want, &format!("durable image {}", img.display()));
        // Nothing but committed tags (a commit may be durable before it returns).
        let all: BTreeSet<i64> = (0..THREADS)
            .flat_map(|th| (0..COMMITS).map(move |i| tag(th, i)))
            .collect();
        assert!(got.is_subset(&all), "{}: unknown tags", img.display());
    }
}

// ---------------------------------------------------------------------------------------
// 2. Shared fsyncs
// ---------------------------------------------------------------------------------------

/// Commits that wait together share an fsync. Every sync is slowed to 2 ms (the hook, before
/// each sync); 8 threads commit 25 transactions each. A commit appended while a leader
/// fsyncs is covered by the next fsync with every other commit appended meanwhile, so the
/// 200 commits need far fewer than 200 fsyncs (each fsync covers at most one commit per
/// thread, so at least 25). Fails if each commit fsyncs alone. Every commit is then in the
/// durable image.
#[test]
fn concurrent_commits_share_fsyncs() {
    const THREADS: i64 = 8;
    const COMMITS: i64 = 25;
    let (s, fs, db) = fresh_shared("gc-share");
    fs.on_sync(|_, _, completed| {
        if !completed {
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let before = fs.syncs();
    let t0 = Instant::now();
    race(THREADS, |th| {
        for i in 0..COMMITS {
            commit_tagged(&db, tag(th, i)).unwrap();
        }
    });
    let syncs = fs.syncs() - before;
    let commits = (THREADS * COMMITS) as u64;
    eprintln!(
        "{commits} commits, {syncs} fsyncs, {:.0} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    fs.clear_sync_hook();
    assert!(
        syncs >= commits / THREADS as u64,
        "{syncs} fsyncs for {commits} commits: some commit returned without an fsync"
    );
    assert!(
        syncs < 150,
        "{syncs} fsyncs for {commits} concurrent commits: commits do not share fsyncs"
    );
    let img = s.path("image");
    fs.write_durable_image(&img).unwrap();
    let want: Vec<i64> = (0..THREADS)
        .flat_map(|th| (0..COMMITS).map(move |i| tag(th, i)))
        .collect();
    assert_eq!(tags_in(&img), want.iter().copied().collect::<BTreeSet<_>>());
}

// ---------------------------------------------------------------------------------------
// 3. Visibility
// ---------------------------------------------------------------------------------------

/// A commit becomes visible to new readers only once an fsync covers it, while the next
/// write transaction already builds on it. Deterministic: the hook holds the first fsync
/// (the leader's, for commit X by thread L) until the test has looked. A reader begun
/// during that fsync (in the hook, and on the test thread) does not see X. A write
/// transaction begun by thread W meanwhile sees X and commits Y with an edge X -> Y;
/// appended after X's fsync began, Y is not covered by it and waits (W has not returned
/// when X's fsync is released) for the next fsync, during which X is visible and Y is not.
/// After both commits returned, a new reader sees X, Y and the edge.
#[test]
fn a_commit_is_visible_once_durable_and_the_next_writer_builds_on_it() {
    let (s, fs, db) = fresh_shared("gc-visible");
    // Node ids of X and Y, 0 until known.
    let ids = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    // What a reader begun at each fsync saw: (X, Y).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (in_fsync_tx, in_fsync) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    {
        // Weak: the hook lives in the storage the database holds.
        let weak = Arc::downgrade(&db);
        let (ids, seen) = (Arc::clone(&ids), Arc::clone(&seen));
        let mut hold = Some((in_fsync_tx, release_rx));
        fs.on_sync(move |_, _, completed| {
            let Some(db) = weak.upgrade() else { return };
            if completed {
                return;
            }
            // begin_read takes only the commit state's lock, which no fsync holds. (A
            // failure leaves `seen` short, which the test reports.)
            let Ok(r) = db.begin_read() else { return };
            let x = sees(&r, ids[0].load(Ordering::Acquire));
            let y = sees(&r, ids[1].load(Ordering::Acquire));
            r.rollback();
            seen.lock().unwrap().push((x, y));
            if let Some((tx, rx)) = hold.take() {
                hold_until_released(&tx, &rx);
            }
        });
    }

    let l_done = Arc::new(AtomicBool::new(false));
    let l = {
        let (db, ids, l_done) = (Arc::clone(&db), Arc::clone(&ids), Arc::clone(&l_done));
        std::thread::spawn(move || {
            let mut t = db.begin_write().unwrap();
            let x = t.insert_node("N").unwrap();
            t.set_node_prop(x, "k", ValueRef::Int(1)).unwrap();
            ids[0].store(x, Ordering::Release);
            let r = t.commit();
            l_done.store(true, Ordering::Release);
            r
        })
    };
    in_fsync
        .recv_timeout(STEP_TIMEOUT)
        .expect("X's commit reaches its fsync");
    let x = ids[0].load(Ordering::Acquire);
    assert!(
        !l_done.load(Ordering::Acquire),
        "X returned before its fsync"
    );
    let r = db.begin_read().unwrap();
    assert!(!sees(&r, x), "a reader sees X during its fsync");
    r.rollback();

    let (appending_tx, appending) = mpsc::channel();
    let w_done = Arc::new(AtomicBool::new(false));
    let w = {
        let (db, fs, ids, w_done) = (
            Arc::clone(&db),
            fs.clone(),
            Arc::clone(&ids),
            Arc::clone(&w_done),
        );
        std::thread::spawn(move || {
            let mut t = db.begin_write().unwrap();
            let saw_x = sees(&t, x);
            let y = t.insert_node("N").unwrap();
            t.set_node_prop(y, "k", ValueRef::Int(2)).unwrap();
            if saw_x {
                t.insert_edge(x, y, "E").unwrap();
            }
            ids[1].store(y, Ordering::Release);
            // The frames are buffered until the commit appends them: one write.
            appending_tx.send(fs.writes()).unwrap();
            let r = t.commit();
            w_done.store(true, Ordering::Release);
            (saw_x, r)
        })
    };
    let writes_before = appending
        .recv_timeout(STEP_TIMEOUT)
        .expect("W begins while X waits for its fsync");
    let deadline = Instant::now() + STEP_TIMEOUT;
    while fs.writes() == writes_before {
        assert!(
            Instant::now() < deadline,
            "Y's commit frame is never appended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let y = ids[1].load(Ordering::Acquire);
    let r = db.begin_read().unwrap();
    assert!(
        !sees(&r, x) && !sees(&r, y),
        "a reader sees X or Y before any fsync completed"
    );
    r.rollback();
    // Y waits for an fsync that has not started (X's began before Y was appended).
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !w_done.load(Ordering::Acquire),
        "Y returned before its fsync"
    );
    release.send(()).unwrap();

    l.join().unwrap().unwrap();
    let (saw_x, wr) = w.join().unwrap();
    assert!(
        saw_x,
        "a write transaction begun while X waits does not see X"
    );
    wr.unwrap();
    fs.clear_sync_hook();
    assert_eq!(
        *seen.lock().unwrap(),
        [(false, false), (true, false)],
        "(X, Y) as seen by a reader begun at each fsync: X's, then Y's"
    );
    let r = db.begin_read().unwrap();
    assert!(
        sees(&r, x) && sees(&r, y),
        "X and Y are visible after their commits"
    );
    assert_eq!(r.degree(x, Dir::Out, Some("E")).unwrap(), 1);
    assert_eq!(int_prop(&r, y, "k"), Some(2));
    r.rollback();
    let img = s.path("image");
    fs.write_durable_image(&img).unwrap();
    assert_eq!(tags_in(&img), BTreeSet::from([1, 2]));
}

/// A read transaction, and the value it read when it began.
type Stashed = (Txn, Option<i64>);

/// A reader begun while an automatic checkpoint fsyncs the log keeps its snapshot. In sync
/// mode FULL the commit that triggers the checkpoint (checkpoint_bytes 1: every commit) is
/// still pending, not visible, while the checkpoint picks the state to write; a reader
/// begun during the checkpoint's log fsync (the hook) gets the older visible snapshot,
/// where node n has v = 1. After the checkpoint has written v = 2 into the data file and
/// pruned older versions, that reader must still read v = 1. (The checkpoint runs in the
/// committing thread here; with the checkpoint thread it never fsyncs the log in FULL.)
#[test]
fn a_reader_begun_during_an_automatic_checkpoint_keeps_its_snapshot() {
    let s = Scratch::new("gc-ckpt-reader");
    let opts = Options {
        checkpoint_bytes: 1,
        checkpoint_thread: false,
        ..full()
    };
    let (fs, db) = open_shared(&s.path("db"), &opts);
    let mut t = db.begin_write().unwrap();
    let n = t.insert_node("N").unwrap();
    t.set_node_prop(n, "v", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();
    let st = db.stats();
    assert_eq!(
        st.checkpoint_lsn, st.last_commit_lsn,
        "v = 1 is checkpointed"
    );

    // The reader begun at the first sync of the next commit (the checkpoint's log fsync),
    // and what it read then.
    let stash: Arc<Mutex<Option<Stashed>>> = Arc::new(Mutex::new(None));
    {
        let weak = Arc::downgrade(&db);
        let stash = Arc::clone(&stash);
        fs.on_sync(move |_, _, completed| {
            let mut slot = stash.lock().unwrap();
            if completed || slot.is_some() {
                return;
            }
            let Some(db) = weak.upgrade() else { return };
            let Ok(r) = db.begin_read() else { return };
            let v = int_prop(&r, n, "v");
            *slot = Some((r, v));
        });
    }
    let mut t = db.begin_write().unwrap();
    t.set_node_prop(n, "v", ValueRef::Int(2)).unwrap();
    t.commit().unwrap();
    fs.clear_sync_hook();
    // (Whether that checkpoint wrote v = 2 depends on whether it counted the reader.)
    let (r, during) = stash
        .lock()
        .unwrap()
        .take()
        .expect("the second commit synced");
    assert_eq!(
        during,
        Some(1),
        "a reader begun during the checkpoint's log fsync sees v = 2 before it is durable"
    );
    assert_eq!(
        int_prop(&r, n, "v"),
        during,
        "a reader begun during the checkpoint's log fsync (snapshot {}) changed its \
         mind once the checkpoint wrote the data file",
        r.snapshot_txn()
    );
    r.rollback();
    db.checkpoint().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(int_prop(&r, n, "v"), Some(2));
}

// ---------------------------------------------------------------------------------------
// 4. A failed fsync
// ---------------------------------------------------------------------------------------

/// What one attempt to commit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The commit returned Ok.
    Committed(i64),
    /// begin_write or a write before the commit failed (error variant).
    Refused(&'static str),
    /// The commit itself failed (error variant).
    Failed(i64, &'static str),
}

/// Begins, writes and commits the node tagged `k`.
fn attempt(db: &Database, k: i64) -> Outcome {
    let mut t = match db.begin_write() {
        Ok(t) => t,
        Err(e) => return Outcome::Refused(variant(&e)),
    };
    let wrote = t
        .insert_node("N")
        .and_then(|id| t.set_node_prop(id, "k", ValueRef::Int(k)));
    if let Err(e) = wrote {
        return Outcome::Refused(variant(&e));
    }
    match t.commit() {
        Ok(()) => Outcome::Committed(k),
        Err(e) => Outcome::Failed(k, variant(&e)),
    }
}

/// A failed fsync fails every commit it was to cover. Deterministic: thread P commits and
/// leads an fsync; right after that fsync has completed (the hook, while P still leads,
/// so no other fsync can start), five threads commit one node each. Their five commits are
/// appended and wait for the next fsync, which one of them leads and which fails with
/// EIO: that leader's commit returns the I/O error and the four others Poisoned, none Ok
/// (they are not durable); P's commit, durable before, returns Ok. The handle is poisoned,
/// no fsync completes afterwards, the durable image holds exactly the commits that
/// returned Ok, and the files, reopened, hold them too.
#[test]
fn a_failed_fsync_fails_every_commit_it_was_to_cover() {
    const WAITERS: i64 = 5;
    let (s, fs, db) = fresh_shared("gc-fail-group");
    let dir = s.path("db");
    commit_tagged(&db, 1).unwrap();
    let p_sync = fs.syncs() + 1;
    let (synced, release, late_syncs) = hold_sync(&fs, p_sync, true, p_sync + 1);
    let p = commit_in_thread(&db, 2);
    synced
        .recv_timeout(STEP_TIMEOUT)
        .expect("P's fsync completes");
    let writes_before = fs.writes();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || attempt(&db, tag(1, i)))
        })
        .collect();
    // Each commit appends its buffered frames in one write.
    let deadline = Instant::now() + STEP_TIMEOUT;
    while fs.writes() < writes_before + WAITERS as u64 {
        assert!(
            Instant::now() < deadline,
            "the waiters' commits are never appended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    fs.fail_sync_at(1, FaultKind::Eio);
    release.send(()).unwrap();
    p.join().unwrap().unwrap();
    let outcomes: Vec<Outcome> = waiters.into_iter().map(|t| t.join().unwrap()).collect();
    let late = late_syncs.lock().unwrap().clone();
    fs.clear_sync_hook();
    let io = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_, "Io")))
        .count();
    let poisoned = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_, "Poisoned")))
        .count();
    assert_eq!(
        (io, poisoned),
        (1, WAITERS as usize - 1),
        "the failed fsync's leader gets the I/O error, the commits it covered Poisoned: \
         {outcomes:?}"
    );
    assert_err(db.check_poisoned(), "Poisoned");
    assert_err(db.begin_write().map(|_| ()), "Poisoned");
    assert_err(db.begin_read().map(|_| ()), "Poisoned");
    assert_eq!(
        late,
        Vec::<u64>::new(),
        "fsyncs completed after the failed one"
    );

    drop(db);
    let img = s.path("image");
    fs.write_durable_image(&img).unwrap();
    drop(fs);
    assert_eq!(tags_in(&img), BTreeSet::from([1, 2]), "the durable image");
    let db = Database::open(&dir, &full()).unwrap();
    assert_clean(&db);
    drop(db);
    assert_holds(&tags_in(&dir), &[1, 2], "the files reopened");
}

/// Commits racing a failed fsync never return Ok unless durable before it. Six threads
/// commit until one of their calls fails; the 8th fsync (a group-commit leader's) fails
/// with EIO, after the hook has held it 20 ms so that other commits are appended and wait
/// meanwhile. Exactly one commit, the leader's, returns the I/O error; every other failure
/// is Poisoned, at least one commit that waited fails, and the handle is poisoned. No
/// commit returns Ok unless it was durable before the failed fsync (it is in the durable
/// image taken as that fsync began), no fsync completes after it, and reopening the
/// durable image, and the files as they are, shows every commit that returned Ok.
#[test]
fn commits_racing_a_failed_fsync_return_ok_only_if_durable_before_it() {
    const THREADS: i64 = 6;
    let (s, fs, db) = fresh_shared("gc-fail");
    let dir = s.path("db");
    let mut ok = Vec::new();
    for i in 0..5 {
        commit_tagged(&db, tag(99, i)).unwrap();
        ok.push(tag(99, i));
    }
    let fail_k = fs.syncs() + 8;
    let at_failure = s.path("at-failure");
    let late_syncs = Arc::new(Mutex::new(Vec::new()));
    {
        let (at_failure, late_syncs) = (at_failure.clone(), Arc::clone(&late_syncs));
        fs.on_sync(move |fs, k, completed| {
            if k == fail_k && !completed {
                // (On failure the image is missing, and the test fails opening it.)
                let _ = fs.write_durable_image(&at_failure);
                std::thread::sleep(Duration::from_millis(20));
            } else if k > fail_k && completed {
                late_syncs.lock().unwrap().push(k);
            }
        });
    }
    fs.fail_sync_at(8, FaultKind::Eio);
    let outcomes: Vec<Outcome> = race(THREADS, |th| {
        let mut out = Vec::new();
        for i in 0..200 {
            let o = attempt(&db, tag(th, i));
            out.push(o);
            if !matches!(o, Outcome::Committed(_)) {
                break;
            }
        }
        out
    })
    .into_iter()
    .flatten()
    .collect();
    fs.clear_sync_hook();

    ok.extend(outcomes.iter().filter_map(|o| match o {
        Outcome::Committed(k) => Some(*k),
        _ => None,
    }));
    let io: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_, "Io")))
        .collect();
    assert_eq!(
        io.len(),
        1,
        "exactly one commit (the failed fsync's leader) gets the I/O error: {outcomes:?}"
    );
    let others: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !matches!(o, Outcome::Committed(_) | Outcome::Failed(_, "Io")))
        .collect();
    assert!(
        others.iter().all(|o| matches!(
            o,
            Outcome::Refused("Poisoned") | Outcome::Failed(_, "Poisoned")
        )),
        "every other failure is Poisoned: {outcomes:?}"
    );
    assert!(
        others.iter().any(|o| matches!(o, Outcome::Failed(..))),
        "no commit was waiting when the fsync failed: {outcomes:?}"
    );
    assert_eq!(others.len(), THREADS as usize - 1, "{outcomes:?}");
    assert_err(db.check_poisoned(), "Poisoned");
    assert_err(db.begin_write().map(|_| ()), "Poisoned");
    assert_err(db.begin_read().map(|_| ()), "Poisoned");
    assert_eq!(
        *late_syncs.lock().unwrap(),
        Vec::<u64>::new(),
        "fsyncs completed after the failed one"
    );

    assert_holds(
        &tags_in(&at_failure),
        &ok,
        "durable image as the failed fsync began",
    );
    drop(db);
    let now = s.path("durable-now");
    fs.write_durable_image(&now).unwrap();
    drop(fs);
    assert_holds(&tags_in(&now), &ok, "durable image after the failure");
    // The files as the process left them (the page cache holds every append).
    let db = Database::open(&dir, &full()).unwrap();
    assert_clean(&db);
    drop(db);
    assert_holds(&tags_in(&dir), &ok, "the files reopened");
}

/// A write transaction open across a failed fsync cannot report a commit durable. While
/// the leader's fsync for commit A is held (the hook), thread B begins a write transaction
/// (the handle is not poisoned yet) and writes a node with a 100 KiB property, enough to
/// make its commit run an automatic checkpoint (checkpoint_bytes 64 KiB). A's fsync then
/// fails with EIO, poisoning the handle. B's commit must fail: after a failed fsync a
/// later fsync may return success without the pages the failed one lost (A's frames,
/// which precede B's in the log), so no fsync after the failure can make B durable, and
/// none should complete.
#[test]
fn a_writer_open_across_a_failed_fsync_cannot_commit() {
    let s = Scratch::new("gc-fail-ckpt");
    let opts = Options {
        checkpoint_bytes: 64 << 10,
        ..full()
    };
    let (fs, db) = open_shared(&s.path("db"), &opts);
    commit_tagged(&db, 1).unwrap();
    let fail_k = fs.syncs() + 1;
    let (in_fsync, release, late_syncs) = hold_sync(&fs, fail_k, false, fail_k);
    fs.fail_sync_at(1, FaultKind::Eio);
    let a = commit_in_thread(&db, 2);
    in_fsync
        .recv_timeout(STEP_TIMEOUT)
        .expect("A's commit reaches its fsync");
    let mut b = db.begin_write().unwrap();
    let id = b.insert_node("N").unwrap();
    b.set_node_prop(id, "k", ValueRef::Int(3)).unwrap();
    let pad = "x".repeat(100 << 10);
    b.set_node_prop(id, "pad", ValueRef::Str(&pad)).unwrap();
    release.send(()).unwrap();
    assert_err(a.join().unwrap(), "Io");
    assert_err(db.check_poisoned(), "Poisoned");
    let r = b.commit();
    let late = late_syncs.lock().unwrap().clone();
    fs.clear_sync_hook();
    assert!(
        r.is_err(),
        "B's commit returned Ok after the fsync before it failed (fsyncs completed since: {late:?})"
    );
    assert_eq!(
        late,
        Vec::<u64>::new(),
        "fsyncs completed after the failed one"
    );
}
