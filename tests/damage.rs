//! Damaged databases that were not closed: committed transactions still in the log,
//! several log segments, a checkpoint behind them. Each copy is damaged once, in one file
//! (deleted, emptied, garbage appended, a range zeroed or overwritten with garbage, a
//! 4 KiB block copied over another, two segments' names swapped), then opened with
//! default options (create included). Every copy must end in one of:
//! - open succeeds and reads back exactly the committed graph;
//! - `Corrupt`, `Format` or `Io` naming the damaged file, at open, in `check_integrity` or
//!   in a read; when open refuses, every file is left exactly as it was;
//! - damage inside the last transaction of the last segment, read as a torn tail: the
//!   graph of every commit but the last.
//!
//! Never `Ok` with another graph, never a panic, never data destroyed on disk: after a
//! successful open the database is closed and opened again and must still read the same.
//! The first four tests are the regression tests of the findings they name.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::SplitMix64;
use quiver::{Database, Error, Options, ValueRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{Graph, Scratch, commit_node, dump, read_dir_bytes, read_txn, write_dir_bytes};

fn options() -> Options {
    Options {
        segment_bytes: 4096,
        // No automatic checkpoint: `build` takes one half-way, explicitly.
        checkpoint_bytes: 1 << 30,
        checkpoint_interval: None,
        ..Options::default()
    }
}

/// Where the last transaction's frames lie: its segment file and byte range there.
#[derive(Clone, Debug)]
struct LastTxn {
    segment: String,
    start: u64,
    end: u64,
}

/// A database left as a kill -9 leaves it (every commit fsynced, nothing closed).
struct Image {
    dir: PathBuf,
    /// The graph after every commit but the last, and after the last.
    before_last: Graph,
    full: Graph,
    last: LastTxn,
}

fn wal_files(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("wal-"))
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect()
}

/// Builds a graph over `txns` small transactions (new labels, types and keys along the
/// way, property updates, deletions) with a checkpoint half-way, then one last transaction
/// larger than 4 KiB (so no 4 KiB block copy covers both its start and what vouches for
/// the one before), and abandons the handle without closing it: the data files hold the
/// first half, the log (several segments) the second.
fn build(s: &Scratch, name: &str, txns: usize) -> Image {
    let live = s.path(&format!("{name}-live"));
    let db = Database::open(&live, &options()).unwrap();
    let mut nodes: Vec<u64> = Vec::new();
    for i in 0..txns {
        let mut t = db.begin_write().unwrap();
        for j in 0..3 {
            let id = t.insert_node(&format!("L{}", (i + j) % 7)).unwrap();
            t.set_node_prop(id, "i", ValueRef::Int((i * 10 + j) as i64))
                .unwrap();
            t.set_node_prop(
                id,
                &format!("k{}", i % 5),
                ValueRef::Str(&"x".repeat(i % 40)),
            )
            .unwrap();
            nodes.push(id);
        }
        let n = nodes.len();
        for j in 0..4 {
            let (a, b) = (nodes[(i * 7 + j) % n], nodes[(i * 3 + j * 5) % n]);
            if let Ok(e) = t.insert_edge(a, b, &format!("T{}", (i + j) % 4)) {
                t.set_edge_prop(e, "w", ValueRef::Float(j as f64 / 2.0))
                    .unwrap();
            }
        }
        if i % 4 == 3 {
            let victim = nodes.remove((i * 13) % nodes.len());
            t.delete_node(victim, true).unwrap();
        }
        if i % 3 == 1 {
            t.set_node_prop(nodes[i % nodes.len()], "i", ValueRef::Bool(true))
                .unwrap();
        }
        t.commit().unwrap();
        if i == txns / 2 {
            db.checkpoint().unwrap();
        }
    }
    let before_last = dump(&db.begin_read().unwrap());
    let before = wal_files(&live);
    let mut t = db.begin_write().unwrap();
    let id = t.insert_node("Last").unwrap();
    t.set_node_prop(id, "big", ValueRef::Bytes(&[0xAB; 5000]))
        .unwrap();
    t.insert_edge(id, nodes[0], "LAST").unwrap();
    t.commit().unwrap();
    let full = dump(&db.begin_read().unwrap());
    let after = wal_files(&live);
    let (segment, end) = after
        .iter()
        .next_back()
        .map(|(n, l)| (n.clone(), *l))
        .unwrap();
    let start = match before.get(&segment) {
        Some(&len) => len,
        None => 64,
    };
    assert!(after.len() >= 3, "want several log segments: {after:?}");
    assert!(
        end - start > 4096,
        "the last transaction is {} bytes",
        end - start
    );
    // A crash: the handle is never closed, so the log still holds the commits since the
    // last checkpoint. The copy is what the disk holds (every commit was fsynced).
    std::mem::forget(db);
    let dir = s.path(&format!("{name}-image"));
    write_dir_bytes(&dir, &read_dir_bytes(&live));
    // The undamaged image recovers every commit since the checkpoint from the log.
    let check = s.path(&format!("{name}-check"));
    write_dir_bytes(&check, &read_dir_bytes(&dir));
    let db = Database::open(&check, &Options::default()).unwrap();
    assert!(
        db.last_recovery().txns_replayed as usize >= txns / 2,
        "{:?}",
        db.last_recovery()
    );
    assert_eq!(dump(&db.begin_read().unwrap()), full);
    db.close().unwrap();
    Image {
        dir,
        before_last,
        full,
        last: LastTxn {
            segment,
            start,
            end,
        },
    }
}

/// The byte range of one damage in one file, for deciding whether a torn tail may be
/// the answer.
#[derive(Clone, Copy)]
enum Span {
    /// The whole file (deleted, emptied, renamed).
    Whole,
    /// Bytes from this offset on.
    From(u64),
    /// Nothing that was there before (bytes appended).
    Appended,
}

/// How one damaged copy ended; `Err` is a failure of the test.
fn judge(dir: &Path, files: &[&str], span: Span, img: &Image) -> Result<&'static str, String> {
    let names_file = |m: &str| files.iter().any(|f| m.contains(f));
    let torn_ok = files.len() == 1
        && files[0] == img.last.segment
        && matches!(span, Span::From(at) if at >= img.last.start && at < img.last.end);
    let before = read_dir_bytes(dir);
    let outcome = std::panic::catch_unwind(|| -> Result<&'static str, String> {
        let db = match Database::open(dir, &Options::default()) {
            Ok(db) => db,
            Err(e @ (Error::Corrupt(_) | Error::Format(_) | Error::Io { .. })) => {
                if !names_file(&e.to_string()) {
                    return Err(format!("open failed without naming {files:?}: {e}"));
                }
                if read_dir_bytes(dir) != before {
                    return Err(format!("open failed ({e}) but changed the files"));
                }
                return Ok("refused at open");
            }
            Err(e) => return Err(format!("open failed with {e}")),
        };
        let report = db.check_integrity();
        match &report {
            Ok(r) if r.problems > 0 => {
                return if names_file(&r.first_problem) {
                    Ok("reported by check")
                } else {
                    Err(format!(
                        "check's problem names no damaged file: {}",
                        r.first_problem
                    ))
                };
            }
            Err(e) if names_file(&e.to_string()) => return Ok("reported by check"),
            Err(e) => return Err(format!("check failed without naming the file: {e}")),
            Ok(_) => {}
        }
        let got = match read_txn(&db.begin_read().unwrap()) {
            Ok(g) => g,
            Err(e) if names_file(&e.to_string()) => return Ok("reported by a read"),
            Err(e) => return Err(format!("a read failed without naming the file: {e}")),
        };
        let verdict = if got == img.full {
            "intact"
        } else if got == img.before_last && torn_ok {
            "torn tail"
        } else {
            return Err("opened with a different graph".into());
        };
        db.close().unwrap();
        let again = Database::open(dir, &Options::default())
            .map_err(|e| format!("reopen after a good open failed: {e}"))?;
        let got2 = dump(&again.begin_read().unwrap());
        if got2 != got {
            return Err("the second open reads another graph".into());
        }
        again.close().unwrap();
        Ok(verdict)
    });
    match outcome {
        Ok(r) => r,
        Err(_) => Err("panicked".into()),
    }
}

/// Tallies outcomes per damage kind and collects failures.
#[derive(Default)]
struct Tally {
    runs: BTreeMap<String, BTreeMap<&'static str, usize>>,
    failures: Vec<String>,
}

impl Tally {
    fn run(
        &mut self,
        s: &Scratch,
        img: &Image,
        kind: &str,
        files: &[&str],
        span: Span,
        damage: impl FnOnce(&Path),
    ) {
        let dir = s.path("case");
        write_dir_bytes(&dir, &read_dir_bytes(&img.dir));
        damage(&dir);
        match judge(&dir, files, span, img) {
            Ok(v) => {
                let file = if files[0].starts_with("wal-") {
                    "wal"
                } else {
                    files[0]
                };
                *self
                    .runs
                    .entry(format!("{kind} in {file}"))
                    .or_default()
                    .entry(v)
                    .or_default() += 1
            }
            Err(m) => self.failures.push(format!("{kind} {files:?}: {m}")),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn finish(self) {
        for (kind, verdicts) in &self.runs {
            eprintln!("{kind}: {verdicts:?}");
        }
        assert!(
            self.failures.is_empty(),
            "{} damaged copies failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let p = dir.join(file);
    let mut b = std::fs::read(&p).unwrap();
    f(&mut b);
    std::fs::write(&p, &b).unwrap();
}

fn open_err(dir: &Path) -> Error {
    match Database::open(dir, &Options::default()) {
        Ok(_) => panic!("{}: opened", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_or_empty_meta_is_corrupt_and_nothing_is_rewritten() {
    let s = Scratch::new("damage-meta");
    let img = build(&s, "m", 40);
    for how in ["deleted", "emptied"] {
        let dir = s.path(how);
        write_dir_bytes(&dir, &read_dir_bytes(&img.dir));
        if how == "deleted" {
            std::fs::remove_file(dir.join("meta")).unwrap();
        } else {
            std::fs::write(dir.join("meta"), b"").unwrap();
        }
        let before = read_dir_bytes(&dir);
        let e = open_err(&dir);
        assert!(
            matches!(&e, Error::Corrupt(m) if m.contains("meta")),
            "{how}: {e}"
        );
        let ro = Options {
            read_only: true,
            ..Options::default()
        };
        let e = Database::open(&dir, &ro).err().unwrap();
        assert!(
            matches!(&e, Error::Corrupt(m) if m.contains("meta")),
            "{how}, read-only: {e}"
        );
        assert!(
            read_dir_bytes(&dir) == before,
            "{how}: open changed the files"
        );
    }
    // A database in which nothing was ever committed may still be created over.
    let fresh = s.path("fresh");
    Database::open(&fresh, &options()).unwrap().close().unwrap();
    std::fs::remove_file(fresh.join("meta")).unwrap();
    let db = Database::open(&fresh, &Options::default()).unwrap();
    commit_node(&db, "A");
    db.close().unwrap();
    let db = Database::open(&fresh, &Options::default()).unwrap();
    assert_eq!(support::node_ids(&db.begin_read().unwrap(), None).len(), 1);
    db.close().unwrap();
}

#[test]
fn zeroed_string_entries_never_read_as_identifiers() {
    let s = Scratch::new("damage-strings");
    let img = build(&s, "s", 40);
    let strings = std::fs::read(img.dir.join("strings")).unwrap();
    assert!(strings.len() > 64);
    // Entry boundaries: u32 length | u32 CRC | bytes.
    let mut entries = Vec::new();
    let mut at = 0;
    while at < strings.len() {
        let n = u32::from_le_bytes(strings[at..at + 4].try_into().unwrap()) as usize;
        entries.push((at, 8 + n));
        at += 8 + n;
    }
    let mut last_type = None;
    for (i, &(at, len)) in entries.iter().enumerate() {
        if strings[at + 8] == b'T' {
            last_type = Some(i);
        }
        let _ = len;
    }
    let mut cases: Vec<(usize, usize)> = vec![entries[entries.len() - 1], entries[0]];
    cases.push(entries[last_type.unwrap()]);
    for (at, len) in cases {
        let dir = s.path(&format!("zero{at}"));
        write_dir_bytes(&dir, &read_dir_bytes(&img.dir));
        edit(&dir, "strings", |b| b[at..at + len].fill(0));
        let e = open_err(&dir);
        assert!(
            matches!(&e, Error::Corrupt(m) if m.contains("strings")),
            "entry at {at} zeroed: {e}"
        );
    }
}

#[test]
fn garbage_after_a_segment_that_is_not_the_last_keeps_the_last_one() {
    let s = Scratch::new("damage-wal-garbage");
    let img = build(&s, "g", 40);
    let segs: Vec<String> = wal_files(&img.dir).into_keys().collect();
    for victim in &segs[..segs.len() - 1] {
        for n in [8usize, 3000] {
            let dir = s.path("case");
            write_dir_bytes(&dir, &read_dir_bytes(&img.dir));
            edit(&dir, victim, |b| {
                b.extend(SplitMix64::new(n as u64).bytes(n))
            });
            let db = Database::open(&dir, &Options::default())
                .unwrap_or_else(|e| panic!("{victim} + {n} bytes of garbage: {e}"));
            assert_eq!(
                dump(&db.begin_read().unwrap()),
                img.full,
                "{victim} + {n} bytes of garbage"
            );
            db.close().unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn a_missing_data_file_is_corrupt_not_not_found() {
    let s = Scratch::new("damage-missing");
    let img = build(&s, "d", 40);
    for file in ["nodes", "edges", "props", "strings", "labels"] {
        let dir = s.path(file);
        write_dir_bytes(&dir, &read_dir_bytes(&img.dir));
        std::fs::remove_file(dir.join(file)).unwrap();
        let e = open_err(&dir);
        assert!(
            matches!(&e, Error::Corrupt(m) if m.contains(file)),
            "{file} deleted: {e}"
        );
    }
}

/// Every damage kind on every file of the image.
#[test]
fn every_damage_kind_in_every_file() {
    let s = Scratch::new("damage-sweep");
    let img = build(&s, "w", 60);
    let files: BTreeMap<String, Vec<u8>> = read_dir_bytes(&img.dir);
    let segs: Vec<String> = wal_files(&img.dir).into_keys().collect();
    eprintln!(
        "image: {} segments {:?}; last transaction {:?}",
        segs.len(),
        wal_files(&img.dir),
        img.last
    );
    let mut rng = SplitMix64::new(42);
    let mut t = Tally::default();
    for (name, bytes) in &files {
        let f = name.as_str();
        let len = bytes.len();
        t.run(&s, &img, "delete", &[f], Span::Whole, |d| {
            std::fs::remove_file(d.join(f)).unwrap()
        });
        t.run(&s, &img, "empty", &[f], Span::Whole, |d| {
            std::fs::write(d.join(f), b"").unwrap()
        });
        let garbage = rng.bytes(3000);
        t.run(&s, &img, "append garbage", &[f], Span::Appended, |d| {
            edit(d, f, |b| b.extend_from_slice(&garbage))
        });
        // 64-byte ranges at 24 places through the file, and its last 64 bytes.
        let mut offsets: Vec<usize> = (0..24).map(|k| len * k / 24).collect();
        offsets.push(len.saturating_sub(64));
        offsets.dedup();
        for at in offsets.into_iter().filter(|&a| a < len) {
            let end = (at + 64).min(len);
            t.run(&s, &img, "zero range", &[f], Span::From(at as u64), |d| {
                edit(d, f, |b| b[at..end].fill(0))
            });
            let g = rng.bytes(end - at);
            t.run(
                &s,
                &img,
                "garbage range",
                &[f],
                Span::From(at as u64),
                |d| edit(d, f, |b| b[at..end].copy_from_slice(&g)),
            );
        }
        // One 4 KiB block over another: each block over the next and the next over it.
        let blocks = len.div_ceil(4096);
        for k in 0..blocks.saturating_sub(1) {
            for (from, to) in [(k, k + 1), (k + 1, k)] {
                let (src, dst) = (from * 4096, to * 4096);
                let n = 4096.min(len - src).min(len - dst);
                t.run(
                    &s,
                    &img,
                    "4 KiB block copy",
                    &[f],
                    Span::From(dst as u64),
                    |d| edit(d, f, |b| b.copy_within(src..src + n, dst)),
                );
            }
        }
    }
    for w in segs.windows(2) {
        let (a, b) = (w[0].as_str(), w[1].as_str());
        t.run(&s, &img, "swap segment names", &[a, b], Span::Whole, |d| {
            let tmp = d.join("swap.tmp");
            std::fs::rename(d.join(a), &tmp).unwrap();
            std::fs::rename(d.join(b), d.join(a)).unwrap();
            std::fs::rename(&tmp, d.join(b)).unwrap();
        });
    }
    t.finish();
}

/// Open does not read the label index: a labels file whose first chunk header is damaged
/// opens, serves reads by id, and is reported, naming the file, by the first label scan
/// and by `check_integrity`; a checkpoint refuses before it writes anything.
#[test]
fn a_damaged_label_index_is_reported_when_first_read() {
    let s = Scratch::new("damage-labels-lazy");
    let dir = s.path("db");
    let opts = options();
    let db = Database::open(&dir, &opts).unwrap();
    let mut t = db.begin_write().unwrap();
    let ids: Vec<u64> = (0..20).map(|_| t.insert_node("Doc").unwrap()).collect();
    t.commit().unwrap();
    db.close().unwrap();
    edit(&dir, "labels", |b| {
        b[..4].copy_from_slice(&u32::MAX.to_le_bytes())
    });

    let db = Database::open(&dir, &opts).unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.node_label(ids[3]).unwrap().to_str().unwrap(), "Doc");
    match r.nodes(Some("Doc")).map(|_| ()) {
        Err(Error::Corrupt(m)) => assert!(m.contains("labels"), "{m}"),
        other => panic!("a label scan over a damaged index: {other:?}"),
    }
    drop(r);
    let report = db.check_integrity().unwrap();
    assert!(
        report.problems > 0 && report.first_problem.contains("labels"),
        "{report:?}"
    );
    commit_node(&db, "Doc");
    let before = read_dir_bytes(&dir);
    match db.checkpoint() {
        Err(Error::Corrupt(m)) => assert!(m.contains("labels"), "{m}"),
        other => panic!("a checkpoint over a damaged index: {other:?}"),
    }
    // Like any checkpoint that finds damage, it poisons the handle: nothing more is
    // written through it, close included, and the commit stays in the log.
    assert!(matches!(db.begin_write(), Err(Error::Poisoned(_))));
    db.close().unwrap();
    let after = read_dir_bytes(&dir);
    for name in ["nodes", "edges", "props", "labels", "meta", "strings"] {
        assert!(
            before[name] == after[name],
            "the refused checkpoint changed {name}"
        );
    }
    let db = Database::open(&dir, &opts).unwrap();
    assert_eq!(db.last_recovery().txns_replayed, 1);
    assert_eq!(db.begin_read().unwrap().live_counts(), (21, 0));
}
