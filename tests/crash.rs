//! Crash-safety and recovery tests.
//!
//! Every scenario drives a real database through [`FaultStorage`], which keeps the
//! *durable image* (what a power loss would leave) and injects failures, and compares what
//! recovery rebuilds with an in-memory model of the graph after each acknowledged commit
//! (`support::workload`). Each recovered database must also pass `check_integrity`.
//!
//! 1. `durable_image_sweep`: a power loss after every sync of a mixed workload.
//! 2. `crash_during_recovery`: a power loss after every sync of recovery itself.
//! 3. `failed_write_and_sync`: EIO / ENOSPC on the Nth write and the Nth sync.
//! 4. `torn_tail`: the last transaction cut at every byte; garbage after the last frame.
//! 5. `damaged_middle_frame`: a flipped byte before durable frames is corruption.
//! 6. `aborted_spilled_transactions`, `incomplete_transaction`: spilled-then-aborted,
//!    spilled savepoint rollback, and a large uncommitted transaction made durable by
//!    segment rolls.
//! 7. `resumed_log_after_process_crash`: a tail replayed after a process crash is not
//!    claimed durable before it is.

#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use quiver::testing::{FaultKind, FaultStorage, SplitMix64};
use quiver::{Database, Error, Options, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::workload::{
    History, Spec, Workload, assert_no_failures, continue_after, open_and_read, recovers_to,
    small_opts,
};
use support::{
    Graph, Node, Scratch, V, add_edge, add_node, assert_clean, copy_dir, log_end, open_fault,
    read_graph, segments, set_edge, set_node,
};

// ---------------------------------------------------------------------------------------
// 1. Durable-image sweep
// ---------------------------------------------------------------------------------------

const SWEEP: Spec = Spec {
    seed: 0x5EED_0001,
    steps: 115,
    checkpoint_every: 29,
};

/// Runs `spec` on a fresh database in `dir`; with `freeze_at`, the durable image stops
/// after that sync and the run ends as soon as it has happened.
fn run_fresh(
    dir: &Path,
    opts: &Options,
    spec: Spec,
    freeze_at: Option<u64>,
) -> (FaultStorage, Database, Workload) {
    let fs = FaultStorage::open(dir).expect("fault storage");
    if let Some(k) = freeze_at {
        fs.freeze_after_sync(k);
    }
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), opts).expect("create");
    let mut w = Workload::new(spec);
    if opts.checkpoint_thread {
        w.settle_bytes = Some(opts.checkpoint_bytes);
    }
    let stop_at = freeze_at.unwrap_or(u64::MAX);
    w.run(&db, &fs, &mut || fs.syncs() >= stop_at)
        .expect("workload without faults");
    (fs, db, w)
}

/// The working directory of case `name` and the directory its durable image goes to.
fn case_dirs(s: &Scratch, name: &str) -> (PathBuf, PathBuf) {
    (s.path(name), s.path(&format!("{name}-image")))
}

/// A power loss after each sync of a mixed workload (creation and close included): the
/// durable image must open to exactly the state after some number of commits, no fewer
/// than had been acknowledged when that sync happened, and stay usable.
#[test]
fn durable_image_sweep() {
    durable_image_sweep_with("sweep", &small_opts());
}

/// The same sweep with the automatic checkpoints run by the checkpoint thread (each commit
/// that wakes it waits until it has finished, so the fsyncs come in the same order every
/// run): a power loss after each sync of a background checkpoint.
#[test]
fn durable_image_sweep_checkpoint_thread() {
    let opts = Options {
        checkpoint_thread: true,
        // Only commits wake it: a timed checkpoint would come at a different point in
        // each run.
        checkpoint_interval: None,
        ..small_opts()
    };
    durable_image_sweep_with("sweep-thread", &opts);
}

fn durable_image_sweep_with(tag: &str, opts: &Options) {
    let s = Scratch::new(tag);
    let opts = opts.clone();
    let (fs, db, w) = run_fresh(&s.path("base"), &opts, SWEEP, None);
    assert_eq!(read_graph(&db).expect("read"), w.model);
    assert_clean(&db);
    let nsegs = segments(&s.path("base"))
        .last()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string());
    db.close().expect("close");
    let total = fs.syncs();
    let base: History = w.hist;
    eprintln!(
        "{tag}: {} commits, {} rollbacks, {} explicit and {} automatic checkpoints, last segment {:?}, {} syncs",
        base.acked(),
        base.rollbacks,
        base.checkpoints,
        base.auto_checkpoints,
        nsegs,
        total
    );
    assert!(
        base.checkpoints >= 2 && base.auto_checkpoints >= 2,
        "explicit and automatic checkpoints must happen"
    );
    assert!(
        nsegs.unwrap().as_str() >= "wal-0000000000000004",
        "segments must roll"
    );
    drop(fs);

    let mut failures = Vec::new();
    for k in 1..=total {
        let (dir, img) = case_dirs(&s, &format!("k{k}"));
        let (fs, db, w) = run_fresh(&dir, &opts, SWEEP, Some(k));
        assert_eq!(
            w.hist.syncs[..],
            base.syncs[..w.hist.syncs.len()],
            "the workload must be deterministic"
        );
        drop(db);
        fs.write_durable_image(&img).expect("durable image");
        drop(fs);
        let _ = std::fs::remove_dir_all(&dir);
        let lo = base.acked_by_sync(k);
        let what = format!("power loss after sync {k} of {total} ({lo} commits acknowledged)");
        let r = open_and_read(&img, &opts, &what).and_then(|(db, g)| {
            // At most one more: a commit whose own fsync was sync k but which returned
            // later (an automatic checkpoint ran after it). Nothing after it was synced.
            match base.find(&g, lo, lo + 1) {
                Some(_) => continue_after(db, &g, &img, &opts, &what),
                None => {
                    let near = base.states.get(lo).map(|st| st.diff(&g)).unwrap_or_default();
                    Err(format!(
                        "{what}: recovered graph ({} nodes, {} edges) is the state after neither {lo} nor {} commits; vs state {lo}: {near}",
                        lo + 1,
                        g.nodes.len(),
                        g.edges.len()
                    ))
                }
            }
        });
        if let Err(e) = r {
            failures.push(e);
        }
        let _ = std::fs::remove_dir_all(&img);
    }
    assert_no_failures(&failures, total as usize);
}

// ---------------------------------------------------------------------------------------
// 2. Crash inside recovery
// ---------------------------------------------------------------------------------------

/// An image that needs replay (commits after the last checkpoint), with a torn tail after
/// the last frame and a segment file whose header never became durable. Recovery cuts and
/// removes (both fsynced); a power loss after each of its syncs (and of the checkpoint at
/// close that follows) must leave an image that recovers to the same state.
#[test]
fn crash_during_recovery() {
    let s = Scratch::new("recovery");
    let opts = small_opts();
    let spec = Spec {
        seed: 0x5EED_0002,
        steps: 40,
        checkpoint_every: 0,
    };
    let (fs, db, w) = run_fresh(&s.path("src"), &opts, spec, None);
    db.checkpoint().expect("checkpoint");
    let mut g = w.model.clone();
    let mut prev = None;
    for i in 0..4 {
        let mut t = db.begin_write().unwrap();
        let id = add_node(&mut t, &mut g, "Tail").unwrap();
        set_node(&mut t, &mut g, id, "i", Value::Int(i)).unwrap();
        set_node(&mut t, &mut g, id, "b", Value::Bytes(vec![i as u8; 100])).unwrap();
        if let Some(p) = prev {
            add_edge(&mut t, &mut g, p, id, "NEXT").unwrap();
        }
        prev = Some(id);
        t.commit().unwrap();
    }
    let st = db.stats();
    assert!(
        st.checkpoint_lsn < st.last_commit_lsn,
        "commits after the checkpoint: {st:?}"
    );
    let img0 = s.path("img0");
    fs.write_durable_image(&img0).unwrap();
    drop(db);
    drop(fs);

    // The torn tail and a headerless segment after the last one.
    let segs = segments(&img0);
    let last = segs.last().unwrap().clone();
    let mut rng = SplitMix64::new(7);
    let garbage = rng.bytes(37);
    let mut bytes = std::fs::read(&last).unwrap();
    // The garbage right after the last frame, where the writer's preallocated zeros were.
    bytes.truncate(log_end(&last) as usize);
    bytes.extend_from_slice(&garbage);
    std::fs::write(&last, &bytes).unwrap();
    let num = u64::from_str_radix(&last.file_name().unwrap().to_str().unwrap()[4..], 16).unwrap();
    let extra = img0.join(format!("wal-{:016x}", num + 1));
    // A successor whose creation was cut short (its header never reached the disk): a roll
    // that did not finish, dropped with the tail.
    std::fs::write(&extra, [0u8; 64]).unwrap();

    // Clean recovery of a copy: the reference.
    let refdir = s.path("ref");
    copy_dir(&img0, &refdir);
    let db = recovers_to(&refdir, &opts, "clean recovery", &g);
    let g0 = g;
    let rs = db.last_recovery();
    eprintln!("recovery of the image: {rs:?}");
    assert_eq!(rs.txns_replayed, 4, "{rs:?}");
    assert_eq!(rs.txns_discarded, 0, "{rs:?}");
    assert_eq!(rs.bytes_truncated, 37 + 64, "{rs:?}");
    assert_eq!(
        (rs.nodes, rs.edges, rs.props),
        (4, 3, 8),
        "the tail's frames: {rs:?}"
    );
    // Recovery removed the headerless segment and cut the tail (a clean close would then
    // start a fresh segment, possibly under the same name).
    assert!(
        !refdir.join(extra.file_name().unwrap()).exists(),
        "the headerless segment is removed"
    );
    assert_eq!(
        std::fs::metadata(refdir.join(last.file_name().unwrap()))
            .unwrap()
            .len(),
        bytes.len() as u64 - 37,
        "the torn tail is cut"
    );
    drop(db);

    // Syncs recovery performs (and the close after it).
    let cdir = s.path("count");
    copy_dir(&img0, &cdir);
    let (fs, db) = open_fault(&cdir, &opts);
    let n_open = fs.syncs();
    db.close().unwrap();
    let n_total = fs.syncs();
    eprintln!("recovery: {n_open} syncs in open, {n_total} with the close");
    assert!(
        n_open >= 2,
        "recovery fsyncs the cut segment and the directory"
    );
    drop(fs);

    let mut failures = Vec::new();
    for j in 1..=n_total {
        let (dir, img) = case_dirs(&s, &format!("j{j}"));
        copy_dir(&img0, &dir);
        let fs = FaultStorage::open(&dir).unwrap();
        fs.freeze_after_sync(j);
        let db = quiver::testing::open_storage(Arc::new(fs.clone()), &opts).unwrap();
        assert_eq!(read_graph(&db).unwrap(), g0);
        drop(db);
        fs.write_durable_image(&img).unwrap();
        drop(fs);
        let what = format!("power loss after recovery sync {j} of {n_total}");
        let r = open_and_read(&img, &opts, &what).and_then(|(db, got)| {
            if got != g0 {
                return Err(format!("{what}: graph differs: {}", g0.diff(&got)));
            }
            continue_after(db, &got, &img, &opts, &what)
        });
        if let Err(e) = r {
            failures.push(e);
        }
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&img);
    }
    assert_no_failures(&failures, n_total as usize);
}

// ---------------------------------------------------------------------------------------
// 3. Failed writes and syncs
// ---------------------------------------------------------------------------------------

const FAULTS: Spec = Spec {
    seed: 0x5EED_0003,
    steps: 30,
    checkpoint_every: 9,
};

#[derive(Debug, Clone, Copy)]
enum Op {
    Write,
    Sync,
}

/// Whether `e` is the injected failure of `kind`, naming a file of the database in `root`.
fn injected(e: &Error, kind: FaultKind, root: &Path) -> Result<(), String> {
    let path = match (kind, e) {
        (FaultKind::Eio, Error::Io { path, .. })
        | (FaultKind::Enospc, Error::Full { path, .. }) => path,
        _ => {
            return Err(format!(
                "expected the injected {kind:?} as Io/Full, got {e:?}"
            ));
        }
    };
    let msg = e.to_string();
    if !path.starts_with(root) || !msg.contains(&path.display().to_string()) {
        return Err(format!(
            "the error does not name a file of {}: {msg}",
            root.display()
        ));
    }
    Ok(())
}

/// Whether `r` is `Poisoned`, naming the original failure.
fn poisoned<T>(
    r: quiver::Result<T>,
    kind: FaultKind,
    root: &Path,
    call: &str,
) -> Result<(), String> {
    match r {
        Err(Error::Poisoned(m)) => {
            let why = match kind {
                FaultKind::Eio => "I/O error",
                FaultKind::Enospc => "disk full",
            };
            if m.contains(why) && m.contains(&root.display().to_string()) {
                Ok(())
            } else {
                Err(format!("{call}: Poisoned does not name the failure: {m}"))
            }
        }
        Err(e) => Err(format!("{call}: expected Poisoned, got {e:?}")),
        Ok(_) => Err(format!("{call}: expected Poisoned, got Ok")),
    }
}

/// One run with the `n`th write or sync (after creation) failing.
fn fault_run(s: &Scratch, base: &History, op: Op, kind: FaultKind, n: u64) -> Result<(), String> {
    let opts = small_opts();
    let tag = format!("{op:?}-{kind:?}-{n}");
    let (dir, img) = case_dirs(s, &tag);
    let (fs, mut db) = open_fault(&dir, &opts);
    let target = match op {
        Op::Write => {
            fs.fail_write_at(n, kind);
            fs.writes() + n
        }
        Op::Sync => {
            fs.fail_sync_at(n, kind);
            fs.syncs() + n
        }
    };
    let fired = |fs: &FaultStorage| match op {
        Op::Write => fs.writes() >= target,
        Op::Sync => fs.syncs() >= target,
    };
    let what = format!("{op:?} {n} fails with {kind:?}");
    let mut w = Workload::new(FAULTS);
    let r = w.run(&db, &fs, &mut || fired(&fs));
    let in_close = r.is_ok() && !fired(&fs);
    let r = if in_close { db.try_close() } else { r };
    if !fired(&fs) {
        return Err(format!(
            "{what}: the fault never fired (the workload is not deterministic?)"
        ));
    }
    match &r {
        Err(Error::Poisoned(_)) => {
            // Reported by the call after the one that failed (a failed automatic checkpoint
            // does not fail the commit that started it).
            poisoned(r, kind, &dir, "the call after the failure")
                .map_err(|e| format!("{what}: {e}"))?
        }
        Err(e) => injected(e, kind, &dir).map_err(|e| format!("{what}: {e}"))?,
        Ok(()) => {}
    }
    // From now on the handle refuses work: Poisoned after a failure in the workload; after
    // a failed close the handle is closed (Misuse) and holds nothing that could retry.
    // (A violation is reported, and the reopen checks below still run.)
    let mut problems = Vec::new();
    for (call, res) in [
        ("begin_write", db.begin_write().map(drop)),
        ("begin_read", db.begin_read().map(drop)),
        ("checkpoint", db.checkpoint()),
    ] {
        let r = match res {
            Err(Error::Misuse(m)) if in_close && m.contains("closed") => Ok(()),
            res => poisoned(res, kind, &dir, call),
        };
        if let Err(e) = r {
            let at = if in_close { "close" } else { "the workload" };
            problems.push(format!("{what} (failure in {at}): {e}"));
            break;
        }
    }
    drop(db);
    fs.write_durable_image(&img).map_err(|e| e.to_string())?;
    drop(fs);
    let (lo, hi) = (w.hist.acked(), w.hist.attempted);
    for (d, which) in [(&dir, "the directory"), (&img, "the durable image")] {
        let what = format!("{what}: reopening {which} ({lo} commits acknowledged)");
        let (db, g) = open_and_read(d, &opts, &what)?;
        if base.find(&g, lo, hi).is_none() {
            return Err(format!(
                "{what}: the graph is no state after {lo}..={hi} commits; vs state {lo}: {}",
                base.states[lo].diff(&g)
            ));
        }
        continue_after(db, &g, d, &opts, &what)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&img);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// EIO and ENOSPC on every write and every sync of a workload (close included): the
/// failing call reports Io/Full naming the file (or, for a failed automatic checkpoint,
/// the next call reports Poisoned naming it), the handle refuses work from then on
/// (Poisoned; Misuse once a failed close has closed it), and both the directory and the
/// durable image reopen with every acknowledged commit and accept new ones.
#[test]
fn failed_write_and_sync() {
    let s = Scratch::new("faults");
    let opts = small_opts();
    let (fs, mut db) = open_fault(&s.path("base"), &opts);
    let (w0, s0) = (fs.writes(), fs.syncs());
    let mut w = Workload::new(FAULTS);
    w.run(&db, &fs, &mut || false).unwrap();
    db.try_close().unwrap();
    let (nw, ns) = (fs.writes() - w0, fs.syncs() - s0);
    let base = w.hist;
    eprintln!(
        "faults: {} commits, {} checkpoints + {} automatic; {nw} writes, {ns} syncs",
        base.acked(),
        base.checkpoints,
        base.auto_checkpoints
    );
    drop(db);
    let mut failures = Vec::new();
    let mut runs = 0;
    for kind in [FaultKind::Eio, FaultKind::Enospc] {
        for (op, total) in [(Op::Write, nw), (Op::Sync, ns)] {
            for n in 1..=total {
                runs += 1;
                if let Err(e) = fault_run(&s, &base, op, kind, n) {
                    failures.push(e);
                }
            }
        }
    }
    assert_no_failures(&failures, runs);
}

// ---------------------------------------------------------------------------------------
// 4. Torn tail
// ---------------------------------------------------------------------------------------

/// Commits five transactions (no checkpoint after creation) and returns the durable image,
/// the states after each commit, and the log length after each commit.
fn five_commits(s: &Scratch, opts: &Options) -> (PathBuf, Vec<Graph>, Vec<u64>) {
    let dir = s.path("src");
    let (fs, db) = open_fault(&dir, opts);
    let seg = segments(&dir)[0].clone();
    let mut g = Graph::default();
    let mut states = vec![g.clone()];
    let mut lens = vec![log_end(&seg)];
    let mut ids = Vec::new();
    for i in 0..5u8 {
        let mut t = db.begin_write().unwrap();
        let a = add_node(&mut t, &mut g, "Person").unwrap();
        set_node(&mut t, &mut g, a, "name", Value::String(format!("p{i}"))).unwrap();
        set_node(&mut t, &mut g, a, "age", Value::Int(20 + i as i64)).unwrap();
        if let Some(&b) = ids.last() {
            let e = add_edge(&mut t, &mut g, a, b, "KNOWS").unwrap();
            set_edge(&mut t, &mut g, e, "w", Value::Float(0.5)).unwrap();
        }
        if i == 4 {
            set_node(&mut t, &mut g, a, "flag", Value::Bool(true)).unwrap();
            set_node(&mut t, &mut g, a, "raw", Value::Bytes(vec![0xAB; 24])).unwrap();
            set_node(&mut t, &mut g, a, "nil", Value::Null).unwrap();
        }
        ids.push(a);
        t.commit().unwrap();
        states.push(g.clone());
        lens.push(log_end(&seg));
    }
    let img = s.path("img");
    fs.write_durable_image(&img).unwrap();
    drop(db);
    assert_eq!(segments(&img).len(), 1);
    assert_eq!(log_end(&segments(&img)[0]), lens[5]);
    (img, states, lens)
}

/// A segment is extended with zeros 256 KiB at a time ahead of its frames (so a commit's
/// fsync does not change the file's size). After a crash, recovery reads the zeros as the
/// log's end: every commit replayed, nothing cut, the zeros kept; the next commit goes
/// right after the last frame, and the one after a second crash is found too.
#[test]
fn preallocated_zeros_end_the_log() {
    const PREALLOC: u64 = 256 << 10;
    let s = Scratch::new("prealloc");
    let opts = Options {
        checkpoint_interval: None,
        ..Options::default()
    };
    let (img, states, lens) = five_commits(&s, &opts);
    let seg = segments(&img)[0].clone();
    let len = std::fs::metadata(&seg).unwrap().len();
    assert!(
        len % PREALLOC == 0 && len > lens[5],
        "the segment is {len} bytes, its frames end at {}",
        lens[5]
    );
    let tail = std::fs::read(&seg).unwrap();
    assert!(
        tail[lens[5] as usize..].iter().all(|&b| b == 0),
        "zeros after the frames"
    );

    let db = recovers_to(&img, &opts, "preallocated tail", &states[5]);
    let rs = db.last_recovery();
    assert_eq!((rs.txns_replayed, rs.bytes_truncated), (5, 0), "{rs:?}");
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        len,
        "the zeros are kept"
    );
    let mut g = states[5].clone();
    let mut t = db.begin_write().unwrap();
    add_node(&mut t, &mut g, "After").unwrap();
    t.commit().unwrap();
    // A process crash: the files as they are.
    let crashed = s.path("crashed");
    copy_dir(&img, &crashed);
    drop(db);
    let at = log_end(&segments(&crashed)[0]);
    assert!(at > lens[5], "the commit went after the last frame ({at})");
    let db = recovers_to(&crashed, &opts, "a commit into preallocated space", &g);
    let rs = db.last_recovery();
    assert_eq!((rs.txns_replayed, rs.bytes_truncated), (6, 0), "{rs:?}");
    assert_clean(&db);
}

/// The last transaction cut at every byte: it is absent, the earlier ones present, the cut
/// bytes counted; the log continues from there. Garbage after the last frame is cut too.
#[test]
fn torn_tail() {
    let s = Scratch::new("torn");
    // No timed or idle checkpoint during the five commits: every one is replayed.
    let opts = Options {
        checkpoint_interval: None,
        ..Options::default()
    };
    let (img, states, lens) = five_commits(&s, &opts);
    let (l0, l1) = (lens[4], lens[5]);
    // The commit frame is the last. A frame's extent includes its zero padding (the
    // padding is written by the same write as the frame), so a cut anywhere before the
    // padded end leaves the commit torn.
    let bytes = std::fs::read(segments(&img)[0].clone()).unwrap();
    let (cstart, clen) = *frames_in(&bytes, l0, l1).last().unwrap();
    let complete = (cstart + clen).div_ceil(8) * 8;
    assert_eq!(
        complete, l1,
        "the transaction ends at its commit frame's padded end"
    );
    eprintln!(
        "the last transaction spans log bytes {l0}..{l1}; its commit frame ends at {complete}"
    );
    let mut failures = Vec::new();
    for off in l0..l1 {
        let dir = s.path(&format!("cut{off}"));
        copy_dir(&img, &dir);
        let seg = segments(&dir)[0].clone();
        let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(off).unwrap();
        drop(f);
        let what = format!("log cut at byte {off}");
        // What is left of the transaction is cut, unless it is all zeros (the first bytes
        // of a frame whose CRC starts with them), which recovery reads as preallocated
        // space, keeps, and overwrites with the next frame.
        let zeros = bytes[l0 as usize..off as usize].iter().all(|&b| b == 0);
        let (want, replayed) = (&states[4], 4);
        let (cut, left) = if zeros { (0, off) } else { (off - l0, l0) };
        let r = open_and_read(&dir, &opts, &what).and_then(|(db, g)| {
            let rs = db.last_recovery();
            if g != *want {
                return Err(format!("{what}: {}", want.diff(&g)));
            }
            if rs.bytes_truncated != cut || rs.txns_replayed != replayed || rs.txns_discarded > 1 {
                return Err(format!("{what}: implausible recovery stats {rs:?}"));
            }
            let len = std::fs::metadata(&seg).unwrap().len();
            if len != left {
                return Err(format!(
                    "{what}: the segment is {len} bytes after recovery, not {left}"
                ));
            }
            if (off - l0) % 16 == 1 {
                return continue_after(db, &g, &dir, &opts, &what);
            }
            // A checkpoint, then a process crash (the files as they are, no close): the
            // next open starts from that checkpoint.
            db.checkpoint()
                .map_err(|e| format!("{what}: checkpoint after recovery: {e}"))?;
            let crashed = s.path(&format!("cut{off}-crashed"));
            copy_dir(&dir, &crashed);
            drop(db);
            let what = format!("{what}, recovered, checkpointed, crashed");
            let (db, g) = open_and_read(&crashed, &opts, &what)?;
            drop(db);
            let _ = std::fs::remove_dir_all(&crashed);
            if g != *want {
                return Err(format!("{what}: {}", want.diff(&g)));
            }
            Ok(())
        });
        if let Err(e) = r {
            failures.push(e);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_no_failures(&failures, (l1 - l0) as usize);

    // Garbage after the last frame: random bytes, preallocated zeros, and a stale copy of
    // the last transaction (valid frames at the wrong LSN).
    let last_txn =
        std::fs::read(segments(&img)[0].clone()).unwrap()[l0 as usize..l1 as usize].to_vec();
    let mut rng = SplitMix64::new(4);
    for (name, garbage) in [
        ("random", rng.bytes(77)),
        ("zeros", vec![0u8; 4096]),
        ("stale", last_txn),
    ] {
        let dir = s.path(&format!("garbage-{name}"));
        copy_dir(&img, &dir);
        let seg = segments(&dir)[0].clone();
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes.truncate(l1 as usize);
        bytes.extend_from_slice(&garbage);
        std::fs::write(&seg, &bytes).unwrap();
        let what = format!("{name} garbage after the last frame");
        let db = recovers_to(&dir, &opts, &what, &states[5]);
        let rs = db.last_recovery();
        // Zeros are preallocated space: kept, and overwritten by the next frame.
        let (cut, len) = if name == "zeros" {
            (0, l1 + garbage.len() as u64)
        } else {
            (garbage.len() as u64, l1)
        };
        assert_eq!(rs.bytes_truncated, cut, "{what}: {rs:?}");
        assert_eq!(rs.txns_replayed, 5, "{what}: {rs:?}");
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len(),
            len,
            "{what}: cut back"
        );
        continue_after(db, &states[5], &dir, &opts, &what).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// 5. A damaged frame before durable frames
// ---------------------------------------------------------------------------------------

/// Frames of the log in `bytes[from..to]`: (offset, unpadded length).
fn frames_in(bytes: &[u8], from: u64, to: u64) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    let mut off = from;
    while off < to {
        let o = off as usize;
        let len = u32::from_le_bytes(bytes[o + 4..o + 8].try_into().unwrap()) as u64;
        assert!(len >= 25, "frame length at {off}");
        v.push((off, len));
        off += len.div_ceil(8) * 8;
    }
    assert_eq!(off, to, "frames end at the commit");
    v
}

/// With sync FULL, transactions A, B, C committed; any byte of A's frames flipped is
/// reported as corruption naming the segment and offset (B's Begin proves A was durable),
/// never silently cut. The zero padding after a frame is checked too.
#[test]
fn damaged_middle_frame() {
    let s = Scratch::new("damage");
    // No timed or idle checkpoint during the five commits: every one is replayed.
    let opts = Options {
        checkpoint_interval: None,
        ..Options::default()
    };
    let (img, _, lens) = five_commits(&s, &opts);
    let seg = segments(&img)[0].clone();
    let seg_name = seg.file_name().unwrap().to_str().unwrap().to_string();
    let bytes = std::fs::read(&seg).unwrap();
    // A is the first transaction; B..E follow.
    let (a0, a1) = (lens[0], lens[1]);
    let frames = frames_in(&bytes, a0, a1);
    let mut failures = Vec::new();
    let mut corrupt = 0;
    for pos in a0..a1 {
        let (start, len) = *frames.iter().rev().find(|(o, _)| *o <= pos).unwrap();
        let dir = s.path(&format!("flip{pos}"));
        copy_dir(&img, &dir);
        let mut b = bytes.clone();
        b[pos as usize] ^= 0xFF;
        std::fs::write(dir.join(&seg_name), &b).unwrap();
        let what = format!("byte {pos} flipped (frame at {start}, {len} bytes)");
        match Database::open(&dir, &opts) {
            Err(Error::Corrupt(m)) => {
                corrupt += 1;
                if !m.contains(&seg_name) || !m.contains(&format!("offset {start}")) {
                    failures.push(format!(
                        "{what}: the message does not name {seg_name} offset {start}: {m}"
                    ));
                }
            }
            Ok(db) => failures.push(format!(
                "{what}: opened with {:?} and {} nodes instead of failing as corrupt",
                db.last_recovery(),
                read_graph(&db).map(|g| g.nodes.len()).unwrap_or(0)
            )),
            Err(e) => failures.push(format!("{what}: expected Corrupt, got {e:?}")),
        }
        // The failed open must not have changed the files.
        if std::fs::read(dir.join(&seg_name)).unwrap() != b {
            failures.push(format!("{what}: the failed open modified the segment"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!("{corrupt} of {} flips reported as corruption", a1 - a0);
    assert_no_failures(&failures, (a1 - a0) as usize);
}

// ---------------------------------------------------------------------------------------
// 6. Committed, aborted and incomplete transactions
// ---------------------------------------------------------------------------------------

const BIG: usize = 64 << 10;

fn big_value(i: usize) -> Value {
    let mut rng = SplitMix64::new(i as u64);
    let mut v = rng.bytes(64);
    v.resize(BIG, i as u8);
    Value::Bytes(v)
}

/// Writes `count` nodes with a 64 KiB property each in `t` (not in any model).
fn write_big(t: &mut quiver::Txn, count: usize) -> quiver::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for i in 0..count {
        let id = t.insert_node("Big")?;
        t.set_node_prop(id, "blob", big_value(i).as_ref())?;
        ids.push(id);
    }
    Ok(ids)
}

/// A transaction that spilled more than 4 MiB to the log and then rolled back is discarded
/// (its Abort frame is in the log); a savepoint rolled back after its section spilled is
/// dropped from the replay; the committed transactions around them replay exactly.
#[test]
fn aborted_spilled_transactions() {
    let s = Scratch::new("aborted");
    // Only the explicit checkpoint: a timed or idle one between the transactions would
    // leave fewer of them to replay.
    let opts = Options {
        checkpoint_interval: None,
        ..Options::default()
    };
    let dir = s.path("src");
    let (fs, db) = open_fault(&dir, &opts);
    let mut g = Graph::default();
    // T1, then a checkpoint: T1 is in the data files.
    let mut t = db.begin_write().unwrap();
    let a = add_node(&mut t, &mut g, "Person").unwrap();
    let b = add_node(&mut t, &mut g, "Person").unwrap();
    set_node(&mut t, &mut g, a, "name", Value::String("a".into())).unwrap();
    t.commit().unwrap();
    db.checkpoint().unwrap();
    // T2: one node, two props.
    let mut t = db.begin_write().unwrap();
    let c = add_node(&mut t, &mut g, "City").unwrap();
    set_node(&mut t, &mut g, c, "name", Value::String("c".into())).unwrap();
    set_node(&mut t, &mut g, b, "age", Value::Int(7)).unwrap();
    t.commit().unwrap();
    // Aborted: > 4 MiB spilled, then rollback.
    let wal_before = db.stats().wal_bytes;
    let mut t = db.begin_write().unwrap();
    write_big(&mut t, 70).unwrap();
    t.set_node_prop(a, "name", Value::String("aborted".into()).as_ref())
        .unwrap();
    t.delete_node(b, true).unwrap();
    t.rollback();
    // T3: one edge with a prop.
    let mut t = db.begin_write().unwrap();
    let e = add_edge(&mut t, &mut g, a, c, "LIVES_IN").unwrap();
    set_edge(&mut t, &mut g, e, "since", Value::Int(2001)).unwrap();
    t.commit().unwrap();
    // The log grew by the spilled frames (and T3) though nothing of them was published.
    let spilled = db.stats().wal_bytes - wal_before;
    assert!(
        spilled >= 4 << 20,
        "the aborted transaction spilled {spilled} bytes to the log"
    );
    // T4: a savepoint whose section spills, rolled back; then one prop.
    let mut t = db.begin_write().unwrap();
    t.savepoint("s").unwrap();
    let gone = write_big(&mut t, 70).unwrap();
    t.set_node_prop(c, "name", Value::String("rolled back".into()).as_ref())
        .unwrap();
    t.rollback_to("s").unwrap();
    assert!(
        t.node_prop(gone[0], "blob").is_err(),
        "rolled-back node is gone"
    );
    set_node(&mut t, &mut g, c, "pop", Value::Float(1.5)).unwrap();
    t.release("s").unwrap();
    t.commit().unwrap();
    assert_eq!(read_graph(&db).unwrap(), g);
    let img = s.path("img");
    fs.write_durable_image(&img).unwrap();
    drop(db);
    drop(fs);

    let db = recovers_to(&img, &opts, "aborted", &g);
    let rs = db.last_recovery();
    eprintln!("aborted: {rs:?}");
    assert_eq!(
        rs.txns_replayed, 3,
        "T2, T3, T4 since the checkpoint: {rs:?}"
    );
    assert_eq!(rs.txns_discarded, 1, "the aborted transaction: {rs:?}");
    assert_eq!(
        (rs.nodes, rs.edges, rs.props),
        (1, 1, 4),
        "frames of T2..T4: {rs:?}"
    );
    assert_eq!(rs.bytes_truncated, 0, "{rs:?}");
    assert!(rs.wal_bytes_scanned >= 8 << 20, "{rs:?}");
    continue_after(db, &g, &img, &opts, "aborted").unwrap();
    // The directory itself, reopened after the clean close.
    recovers_to(&dir, &opts, "aborted, directory", &g);
}

/// A large transaction whose frames became durable because the log rolled to new segments
/// (each roll fsyncs the previous segment), with the power lost before its commit: it is
/// discarded, the commits before it replay, the log is cut and continues. The same
/// transaction, committed, survives a reopen.
#[test]
fn incomplete_transaction() {
    let s = Scratch::new("incomplete");
    // No timed or idle checkpoint between the transactions (see above).
    let opts = Options {
        segment_bytes: 1 << 20,
        checkpoint_interval: None,
        ..Options::default()
    };
    let dir = s.path("src");
    let (fs, db) = open_fault(&dir, &opts);
    let mut g = Graph::default();
    let mut t = db.begin_write().unwrap();
    let a = add_node(&mut t, &mut g, "Person").unwrap();
    t.commit().unwrap();
    db.checkpoint().unwrap();
    let mut t = db.begin_write().unwrap();
    let b = add_node(&mut t, &mut g, "Person").unwrap();
    add_edge(&mut t, &mut g, a, b, "KNOWS").unwrap();
    set_node(&mut t, &mut g, b, "name", Value::String("b".into())).unwrap();
    t.commit().unwrap();
    let before = g.clone();

    let mut t = db.begin_write().unwrap();
    let ids = write_big(&mut t, 150).unwrap();
    let img = s.path("img");
    fs.write_durable_image(&img).unwrap();
    t.commit().unwrap();
    for (i, id) in ids.iter().enumerate() {
        g.nodes.insert(
            *id,
            Node {
                label: "Big".into(),
                props: [("blob".to_string(), V(big_value(i)))].into(),
            },
        );
    }
    drop(db);
    drop(fs);

    let segs = segments(&img);
    let first_len = std::fs::metadata(&segs[0]).unwrap().len();
    eprintln!("incomplete: image segments {segs:?}, first {first_len} bytes");
    assert!(
        segs.len() >= 2 && first_len > 4 << 20,
        "the spilled frames are durable"
    );

    let db = recovers_to(&img, &opts, "incomplete", &before);
    let rs = db.last_recovery();
    eprintln!("incomplete: {rs:?}");
    assert_eq!(rs.txns_replayed, 1, "{rs:?}");
    assert_eq!(rs.txns_discarded, 1, "{rs:?}");
    assert_eq!((rs.nodes, rs.edges, rs.props), (1, 1, 1), "{rs:?}");
    assert!(rs.bytes_truncated > 4 << 20, "{rs:?}");
    assert_eq!(
        segments(&img).len(),
        1,
        "segments after the valid end are removed"
    );
    continue_after(db, &before, &img, &opts, "incomplete").unwrap();

    recovers_to(&dir, &opts, "committed big transaction", &g);
}

// ---------------------------------------------------------------------------------------
// 7. A log tail replayed after a process crash is not yet durable
// ---------------------------------------------------------------------------------------

/// Transaction A's frames reach the log file but the process dies in A's fsync (never
/// acknowledged): A is in the page cache, not on the disk. The next process opens the
/// files as the page cache holds them and replays A; the log resumes, and B's `Begin`
/// frame records how much of the log is durable. A power loss during B's commit fsync may
/// have written back B's pages but not A's (dirty pages go to disk in no particular
/// order). What is on disk then is what the second process had made durable before B's
/// fsync (tracked by `FaultStorage`) plus B's pages. Neither A nor B was acknowledged, so
/// recovery must open with T1..T3 (and A and B if their frames are intact); it must not
/// call the never-durable bytes corruption.
#[test]
fn resumed_log_after_process_crash() {
    let s = Scratch::new("resume");
    let opts = Options::default();
    let dir = s.path("p1");
    let (fs, db) = open_fault(&dir, &opts);
    let mut g = Graph::default();
    for i in 0..3 {
        let mut t = db.begin_write().unwrap();
        let id = add_node(&mut t, &mut g, "T").unwrap();
        set_node(&mut t, &mut g, id, "i", Value::Int(i)).unwrap();
        t.commit().unwrap();
    }
    let after_t3 = g.clone();
    // A: written, but its fsync never completes.
    fs.fail_sync_at(1, FaultKind::Eio);
    let mut t = db.begin_write().unwrap();
    let a = add_node(&mut t, &mut g, "A").unwrap();
    set_node(&mut t, &mut g, a, "text", Value::String("a".repeat(9000))).unwrap();
    assert!(matches!(t.commit(), Err(Error::Io { .. })));
    let after_a = g.clone();
    drop(db);
    let p2 = s.path("p2");
    fs.write_durable_image(&p2).unwrap();
    drop(fs);
    let seg_name = segments(&dir)[0].file_name().unwrap().to_owned();
    let a_end = log_end(&dir.join(&seg_name));
    assert!(log_end(&p2.join(&seg_name)) < a_end, "A is not durable");

    // The second process: the disk holds p1's durable image; the page cache also holds A.
    let fs = FaultStorage::open(&p2).unwrap();
    copy_dir(&dir, &p2);
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), &opts).unwrap();
    assert_eq!(read_graph(&db).unwrap(), after_a, "A is replayed");
    let before_b = s.path("before-b");
    fs.write_durable_image(&before_b).unwrap();
    let mut t = db.begin_write().unwrap();
    add_node(&mut t, &mut g, "B").unwrap();
    t.commit().unwrap();
    let after_b = g.clone();
    let with_b = std::fs::read(p2.join(&seg_name)).unwrap();
    drop(db);
    drop(fs);

    // The power loss during B's fsync: what was durable before it, plus B's pages.
    let crashed = s.path("crashed");
    copy_dir(&before_b, &crashed);
    let mut bytes = std::fs::read(crashed.join(&seg_name)).unwrap();
    bytes.resize(with_b.len(), 0);
    let first_b_page = (a_end / 4096 * 4096) as usize;
    assert!(
        first_b_page as u64 > a_end - 9000,
        "A spans pages before B's"
    );
    bytes[first_b_page..].copy_from_slice(&with_b[first_b_page..]);
    std::fs::write(crashed.join(&seg_name), &bytes).unwrap();
    let (db, got) = open_and_read(&crashed, &opts, "power loss during B's commit").unwrap();
    assert!(
        got == after_t3 || got == after_a || got == after_b,
        "{}",
        after_t3.diff(&got)
    );
    continue_after(db, &got, &crashed, &opts, "after the power loss").unwrap();
}
