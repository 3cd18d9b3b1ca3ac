//! Hot backup (`Database::backup`, `qv_backup`): the copy opens with exactly the commits up
//! to its start, with a writer committing and checkpointing throughout; compact copies
//! leave superseded blobs out; a cancel, an existing destination or a failing destination
//! disk leaves nothing behind and never poisons the source; a power loss during the copy
//! leaves either no database or the whole copy.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::{FaultKind, FaultStorage, backup_into};
use quiver::{BackupOptions, Database, Error, Options, ValueRef};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::{Scratch, assert_clean, fresh};

fn digest(db: &Database) -> [u8; 32] {
    db.begin_read().unwrap().digest().unwrap()
}

fn plain() -> BackupOptions<'static> {
    BackupOptions::default()
}

fn compact() -> BackupOptions<'static> {
    BackupOptions {
        compact: true,
        progress: None,
    }
}

/// Every value type, updates (superseded blobs), deletions, a checkpoint half-way and
/// commits after it (blobs still in memory).
fn build(db: &Database) {
    let big = vec![7u8; 3000];
    let mut t = db.begin_write().unwrap();
    for i in 0..200 {
        let n = t
            .insert_node(if i % 2 == 0 { "Even" } else { "Odd" })
            .unwrap();
        t.set_node_prop(n, "i", ValueRef::Int(i)).unwrap();
        t.set_node_prop(n, "blob", ValueRef::Bytes(&big)).unwrap();
    }
    for i in 1..200u64 {
        let e = t.insert_edge(i, i + 1, "NEXT").unwrap();
        t.set_edge_prop(e, "w", ValueRef::Float(-0.0)).unwrap();
    }
    t.commit().unwrap();
    db.checkpoint().unwrap();
    let mut t = db.begin_write().unwrap();
    for n in 1..=200u64 {
        t.set_node_prop(n, "s", ValueRef::Str("after the checkpoint"))
            .unwrap();
    }
    t.set_node_prop(1, "nan", ValueRef::Float(f64::NAN))
        .unwrap();
    t.set_node_prop(1, "inf", ValueRef::Float(f64::INFINITY))
        .unwrap();
    t.set_node_prop(1, "null", ValueRef::Null).unwrap();
    t.set_node_prop(1, "empty", ValueRef::Str("")).unwrap();
    t.set_node_prop(1, "yes", ValueRef::Bool(true)).unwrap();
    t.delete_node(100, true).unwrap();
    t.delete_edge(5).unwrap();
    t.commit().unwrap();
}

/// A fresh database holding what `build` commits, and its digest.
#[track_caller]
fn fresh_built(tag: &str) -> (Scratch, PathBuf, Database, [u8; 32]) {
    let (s, path, db) = fresh(tag);
    build(&db);
    let want = digest(&db);
    (s, path, db, want)
}

/// The source of a failed backup is untouched and still writable.
#[track_caller]
fn assert_source_intact(db: &Database, want: [u8; 32]) {
    db.check_poisoned().unwrap();
    assert_eq!(digest(db), want);
    support::commit_node(db, "After");
}

fn file_len(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name)).unwrap().len()
}

/// Opens a copy; it must replay nothing, pass the integrity check and hold `want`.
fn check_copy(path: &Path, want: [u8; 32]) -> Database {
    let copy = Database::open(path, &Options::default()).unwrap();
    assert_eq!(
        copy.last_recovery().txns_replayed,
        0,
        "a copy is checkpointed"
    );
    assert_clean(&copy);
    assert_eq!(digest(&copy), want, "the copy holds the source's content");
    copy
}

#[test]
fn copies_hold_the_source_content_and_compact_drops_garbage() {
    let (s, path, db, want) = fresh_built("backup-content");
    let stats = db.stats();
    let full = s.path("full");
    let small = s.path("small");
    let r = db.backup(&full, plain()).unwrap();
    assert_eq!((r.nodes, r.edges), (stats.nodes, stats.edges));
    assert_eq!(r.lsn, stats.last_commit_lsn);
    let r_small = db.backup(&small, compact()).unwrap();

    // The report counts what was written, not the estimate: the data files' sizes less
    // their unwritten slot 0, the same in both copies.
    let unwritten: Vec<u64> = [(&full, r.bytes), (&small, r_small.bytes)]
        .iter()
        .map(|(dir, bytes)| {
            let files = ["props", "nodes", "edges", "strings"].map(|f| file_len(dir, f));
            files.iter().sum::<u64>() - bytes
        })
        .collect();
    assert!(
        unwritten[0] == unwritten[1] && unwritten[0] <= 256,
        "{unwritten:?}"
    );
    for dir in [&full, &small] {
        let copy = check_copy(dir, want);
        // Ids continue where the source's do.
        let mut t = copy.begin_write().unwrap();
        let mut u = db.begin_write().unwrap();
        assert_eq!(t.insert_node("New").unwrap(), u.insert_node("New").unwrap());
        assert_eq!(
            t.insert_edge(1, 2, "NEW").unwrap(),
            u.insert_edge(1, 2, "NEW").unwrap()
        );
        u.rollback();
        t.rollback();
        copy.close().unwrap();
    }
    // The second commit superseded every blob of the first: the compact copy leaves them out.
    let (full_heap, small_heap) = (file_len(&full, "props"), file_len(&small, "props"));
    assert!(
        small_heap * 3 < full_heap * 2,
        "compact heap {small_heap} bytes, plain copy's {full_heap}"
    );
    // A copy of a copy, and a copy of a read-only handle, hold the same content.
    let copy = Database::open(&small, &Options::default()).unwrap();
    copy.backup(s.path("again"), plain()).unwrap();
    drop(copy);
    check_copy(&s.path("again"), want);
    db.close().unwrap();
    let ro = Database::open(
        &path,
        &Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    ro.backup(s.path("from-read-only"), compact()).unwrap();
    check_copy(&s.path("from-read-only"), want);
}

#[test]
fn a_copy_holds_exactly_the_commits_before_it_while_a_writer_commits_throughout() {
    let (s, _path, db) = {
        let s = Scratch::new("backup-hot");
        let path = s.path("db");
        let opts = Options {
            // Checkpoints run during the copies, moving blobs past what they copy verbatim.
            checkpoint_bytes: 64 << 10,
            ..Options::default()
        };
        let db = Database::open(&path, &opts).unwrap();
        (s, path, Arc::new(db))
    };
    // Node 1 counts commits; commit k sets it to k, inserts node k + 1 with "k" = k and
    // rewrites the string of node (k % 50) + 1.
    let mut t = db.begin_write().unwrap();
    let counter = t.insert_node("Counter").unwrap();
    t.set_node_prop(counter, "n", ValueRef::Int(0)).unwrap();
    t.commit().unwrap();
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, committed, stop) = (Arc::clone(&db), Arc::clone(&committed), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let mut t = db.begin_write().unwrap();
                t.set_node_prop(1, "n", ValueRef::Int(k as i64)).unwrap();
                let n = t.insert_node("Item").unwrap();
                t.set_node_prop(n, "k", ValueRef::Int(k as i64)).unwrap();
                let text = format!("rewritten by commit {k} {}", "x".repeat(200));
                t.set_node_prop(k % 50 + 2, "s", ValueRef::Str(&text)).ok();
                t.commit().unwrap();
                committed.store(k, Ordering::Release);
            }
        })
    };
    while committed.load(Ordering::Acquire) < 300 {
        std::thread::yield_now();
    }
    for round in 0..6 {
        let dest = s.path(&format!("copy{round}"));
        let before = committed.load(Ordering::Acquire);
        // The progress callback waits until the writer has committed 20 more times, so
        // commits (and checkpoints) certainly happen during the copy.
        let mut waited = false;
        let mut progress = |_done: u64, _total: u64| {
            if !waited {
                let start = committed.load(Ordering::Acquire);
                while committed.load(Ordering::Acquire) < start + 20 {
                    std::thread::yield_now();
                }
                waited = true;
            }
            true
        };
        db.backup(
            &dest,
            BackupOptions {
                compact: round % 2 == 1,
                progress: Some(&mut progress),
            },
        )
        .unwrap();
        let after = committed.load(Ordering::Acquire);
        let copy = Database::open(&dest, &Options::default()).unwrap();
        assert_clean(&copy);
        let t = copy.begin_read().unwrap();
        let Some(ValueRef::Int(n)) = t.node_prop(1, "n").unwrap() else {
            panic!("the counter is missing");
        };
        let n = n as u64;
        assert!(
            before <= n && n + 20 <= after,
            "round {round}: the copy holds commit {n}; {before} were committed when the \
             backup started and {after} when it ended, 20 of them during the copy"
        );
        // Exactly commits 1..=n: their nodes, nothing after.
        assert_eq!(t.live_counts(), (n + 1, 0), "round {round}");
        for k in 1..=n {
            assert_eq!(
                t.node_prop(k + 1, "k").unwrap(),
                Some(ValueRef::Int(k as i64))
            );
        }
        assert!(
            t.node_label(n + 2).is_err(),
            "a later commit's node is absent"
        );
        for j in 0..50u64 {
            // The newest commit k <= n with k % 50 == j rewrote node j + 2.
            let last = (1..=n).rev().find(|k| k % 50 == j);
            let want = last.map(|k| format!("rewritten by commit {k} {}", "x".repeat(200)));
            let got = t.node_prop(j + 2, "s").unwrap().map(|v| match v {
                ValueRef::Str(s) => s.to_string(),
                other => panic!("{other:?}"),
            });
            assert_eq!(got, want, "round {round}: node {}", j + 2);
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// Entries of `dir` (the hidden temporary directories of a backup included).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_cancel_or_a_bad_destination_leaves_nothing_and_the_source_usable() {
    let (s, path, db, want) = fresh_built("backup-cancel");
    let root = path.parent().unwrap().to_path_buf();
    let before = entries(&root);
    for stop_at in [1, 2, 3] {
        let mut calls = 0;
        let mut cancel = |_: u64, _: u64| {
            calls += 1;
            calls < stop_at
        };
        let r = db.backup(
            s.path("cancelled"),
            BackupOptions {
                compact: stop_at == 2,
                progress: Some(&mut cancel),
            },
        );
        assert!(matches!(r, Err(Error::Interrupted(_))), "{r:?}");
        assert_eq!(entries(&root), before, "nothing is left behind");
    }
    // A backup killed mid-copy leaves its hidden directory: the next backup to the same
    // destination removes those of processes that are gone, and keeps a running one's.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = root.join(format!(".cancelled.qvbackup-{dead}-0"));
    let running = root.join(".cancelled.qvbackup-1-0");
    for dir in [&stale, &running] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("props"), b"partial").unwrap();
    }
    db.backup(s.path("cancelled"), plain()).unwrap();
    assert!(!stale.exists(), "a dead process's leftover is removed");
    assert!(running.exists(), "a running process's directory is kept");
    std::fs::remove_dir_all(&running).unwrap();
    // An existing destination (even an empty directory) is refused and left as it was.
    std::fs::create_dir(s.path("exists")).unwrap();
    std::fs::write(s.path("exists/keep"), b"mine").unwrap();
    let r = db.backup(s.path("exists"), plain());
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    assert_eq!(std::fs::read(s.path("exists/keep")).unwrap(), b"mine");
    let r = db.backup(s.path("no/such/parent"), plain());
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    assert_source_intact(&db, want);
}

#[test]
fn a_failing_destination_never_poisons_the_source() {
    let (s, _path, db, want) = fresh_built("backup-faults");
    let mut failures = 0;
    for (kind, on_sync) in [
        (FaultKind::Enospc, false),
        (FaultKind::Eio, false),
        (FaultKind::Eio, true),
    ] {
        for n in 1.. {
            let dir = s.path(&format!("fault-{failures}"));
            let fs = FaultStorage::open(&dir).unwrap();
            if on_sync {
                fs.fail_sync_at(n, kind);
            } else {
                fs.fail_write_at(n, kind);
            }
            match backup_into(&db, Arc::new(fs.clone()), plain()) {
                Ok(_) => break,
                Err(Error::Full { .. }) if kind == FaultKind::Enospc => {}
                Err(Error::Io { .. }) if kind == FaultKind::Eio => {}
                Err(e) => panic!("failure {n} ({kind:?}, sync: {on_sync}): {e}"),
            }
            failures += 1;
            db.check_poisoned().unwrap();
        }
    }
    assert!(failures > 10, "only {failures} injected failures");
    assert_source_intact(&db, want);
}

#[test]
fn a_power_loss_during_the_copy_leaves_no_database_or_the_whole_copy() {
    let (s, _path, db, want) = fresh_built("backup-power");
    // A power-loss image before and after every sync of the copy, three ways each (every
    // unsynced write lost, or a random part of them kept, torn at sectors).
    let fs = FaultStorage::open(&s.path("copy")).unwrap();
    let images = s.path("images");
    std::fs::create_dir(&images).unwrap();
    let dir = images.clone();
    fs.on_sync(move |fs, k, completed| {
        for seed in 0..3 {
            let image = dir.join(format!("sync{k}-{completed}-{seed}"));
            if seed == 0 {
                fs.write_durable_image(&image).unwrap();
            } else {
                fs.write_power_loss_image(&image, seed).unwrap();
            }
        }
    });
    backup_into(&db, Arc::new(fs.clone()), plain()).unwrap();
    fs.clear_sync_hook();
    let syncs = fs.syncs();
    let (mut whole, mut none) = (0, 0);
    let never_create = Options {
        create: false,
        ..Options::default()
    };
    for image in entries(&images) {
        match Database::open(images.join(&image), &never_create) {
            Ok(copy) => {
                assert_eq!(digest(&copy), want, "{image}");
                assert_clean(&copy);
                whole += 1;
            }
            // No database: the meta slot that makes the copy one is not there yet.
            Err(Error::Corrupt(m) | Error::NotFound(m)) if m.contains("meta") => none += 1,
            Err(e) => panic!("{image}: neither the copy nor no database: {e}"),
        }
    }
    println!("{syncs} syncs: {whole} images hold the copy, {none} hold no database");
    // The last sync (the meta slot's) completed: its images hold the whole copy.
    assert!(whole >= 3, "{whole}");
    assert!(none > whole, "{none}");
}
