//! Power-loss tests: at a crash point, everything synced survives and an arbitrary subset of
//! the writes not yet synced, some torn at 512-byte sectors (the model is documented in
//! `src/io/fault.rs`, `FaultStorage::write_power_loss_image`).
//!
//! 1. `power_loss_image_model`: the simulation itself: what an image may and may not
//!    contain, on a hand-made history.
//! 2. `power_loss_sweep`: the reference workload of `tests/crash.rs` (`support::workload`),
//!    run once; right before and right after every sync (creation and close included),
//!    several power-loss images of that moment (`QUIVER_POWERLOSS_SEEDS`, default 4). Each
//!    must open (no `Corrupt`), pass `check_integrity`, hold exactly the graph after `c`
//!    commits for some `c` no smaller than the commits whose commit frame had been synced
//!    (and no larger than the commits of the whole run), and take one more commit, a close
//!    and a reopen.
//! 3. `power_loss_sweep_sync_off`: the same sweep in sync mode OFF, where commits since the
//!    last checkpoint may be lost but recovery must still reach the state after some
//!    number of commits, with no corruption (README, "Durability: sync modes").
//!
//! Environment: `QUIVER_TEST_DIR` (scratch directory; `/dev/shm` is faster),
//! `QUIVER_POWERLOSS_SEEDS` (images per crash point), `QUIVER_POWERLOSS_WORKLOAD` (another
//! seed for the workload's generator), `QUIVER_POWERLOSS_ONLY=k` (only sync
//! point `k`; its images are kept, untouched, beside the recovered copies, with the
//! choices that made them printed), `QUIVER_CRASH_ALL` (print every failure).

#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

use quiver::Options;
use quiver::testing::{FaultStorage, SplitMix64, Storage as _};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::workload::{
    History, REFERENCE, Workload, assert_no_failures, continue_after, open_and_read, reference_opts,
};
use support::{Graph, Scratch, assert_clean, copy_dir, env_u64, read_graph};

// ---------------------------------------------------------------------------------------
// 1. The model
// ---------------------------------------------------------------------------------------

/// The power-loss image on a hand-made history: synced data always survives; every other
/// sector of a file holds one of the versions the page cache gave it (never a later write
/// without the earlier writes to the same sector); unsynced creations and removals go
/// either way; a frozen model ignores what follows the freeze. Over many seeds every
/// outcome shows up.
#[test]
fn power_loss_image_model() {
    let s = Scratch::new("plmodel");
    let dir = s.path("db");
    let fs = FaultStorage::open(&dir).unwrap();
    // "a": 1500 bytes of 'A', synced, name synced.
    let a = fs.open_file("a", true).unwrap();
    a.write_at(&[b'A'; 1500], 0).unwrap();
    a.sync().unwrap();
    // "gone": synced, name synced, then removed.
    let gone = fs.open_file("gone", true).unwrap();
    gone.write_at(b"old", 0).unwrap();
    gone.sync().unwrap();
    fs.sync_dir().unwrap();
    fs.remove("gone").unwrap();
    // Unsynced: 'B' over 100..1200 (sectors 0, 1, 2), 'C' over 1100..1300 (sector 2), then
    // a write past the end (sectors 3 and 4: grows the file to 2100).
    a.write_at(&[b'B'; 1100], 100).unwrap();
    a.write_at(&[b'C'; 200], 1100).unwrap();
    a.write_at(&[b'D'; 600], 1500).unwrap();
    // "new": created, written, never synced.
    let new = fs.open_file("new", true).unwrap();
    new.write_at(b"fresh", 0).unwrap();
    assert_eq!(fs.unsynced(), (4, 2));

    let durable = s.path("durable");
    fs.write_durable_image(&durable).unwrap();
    assert_eq!(std::fs::read(durable.join("a")).unwrap(), vec![b'A'; 1500]);
    assert_eq!(std::fs::read(durable.join("gone")).unwrap(), b"old");
    assert!(!durable.join("new").exists());

    // The page cache's versions of each sector of "a".
    let cur: Vec<u8> = {
        let mut v = vec![b'A'; 2100];
        v[100..1200].fill(b'B');
        v[1100..1300].fill(b'C');
        v[1500..2100].fill(b'D');
        v
    };
    let after_b = {
        let mut v = vec![b'A'; 1500];
        v[100..1200].fill(b'B');
        v
    };
    let after_c = {
        let mut v = after_b.clone();
        v[1100..1300].fill(b'C');
        v
    };
    let old = vec![b'A'; 1500];
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..400u64 {
        let img = s.path(&format!("img{seed}"));
        let log = fs.write_power_loss_image(&img, seed).unwrap();
        let got = std::fs::read(img.join("a")).unwrap();
        let what = format!("seed {seed}: {log}");
        assert!(
            [1500, 1536, 2048, 2100].contains(&got.len()),
            "{what}: length {}",
            got.len()
        );
        for (i, sector) in got.chunks(512).enumerate() {
            let lo = i * 512;
            let versions: Vec<&[u8]> = [&old[..], &after_b[..], &after_c[..], &cur[..]]
                .iter()
                .filter(|v| v.len() > lo)
                .map(|v| &v[lo..(lo + 512).min(v.len())])
                .collect();
            // A version cut short by an older length, or followed by zeros (a newer
            // length reached the disk, the sector's newer data did not); past every
            // version's end: zeros or 'D's.
            let ok = versions.iter().any(|v| {
                let n = sector.len().min(v.len());
                sector[..n] == v[..n] && sector[n..].iter().all(|&b| b == 0)
            }) || sector.iter().all(|&b| b == 0 || b == b'D');
            assert!(ok, "{what}: sector {i} is no version of it: {sector:?}");
            seen.insert(format!("sector {i}: {:?}", &sector[..1]));
        }
        assert_eq!(&got[..100], &[b'A'; 100][..], "{what}: never written");
        if got[1100] == b'C' {
            assert_eq!(&got[1024..1100], &[b'B'; 76][..], "{what}: C without B");
        }
        match std::fs::read(img.join("new")) {
            Ok(b) => {
                // Empty, written, or grown to its new length without its data.
                assert!(
                    b.is_empty() || b == b"fresh" || b == [0; 5],
                    "{what}: new is {b:?}"
                );
                seen.insert(format!("new {:?}", String::from_utf8_lossy(&b)));
            }
            Err(_) => {
                seen.insert("new absent".into());
            }
        }
        match std::fs::read(img.join("gone")) {
            Ok(b) => {
                assert_eq!(b, b"old", "{what}");
                seen.insert("gone kept".into());
            }
            Err(_) => {
                seen.insert("gone absent".into());
            }
        }
        seen.insert(format!("a length {}", got.len()));
        seen.insert(format!(
            "a sector 2 {:?}",
            (got[1100] as char, got[1250] as char)
        ));
        std::fs::remove_dir_all(&img).unwrap();
    }
    for want in [
        "new absent",
        "new \"\"",
        "new \"fresh\"",
        "new \"\\0\\0\\0\\0\\0\"",
        "gone kept",
        "gone absent",
        "a length 1500",
        "a length 1536",
        "a length 2048",
        "a length 2100",
        "a sector 2 ('A', 'A')",
        "a sector 2 ('B', 'A')",
        "a sector 2 ('C', 'C')",
    ] {
        assert!(seen.contains(want), "never seen: {want}; seen: {seen:?}");
    }
    // The same seed gives the same image.
    let (x, y) = (s.path("x"), s.path("y"));
    assert_eq!(
        fs.write_power_loss_image(&x, 7).unwrap(),
        fs.write_power_loss_image(&y, 7).unwrap()
    );
    assert_eq!(
        std::fs::read(x.join("a")).unwrap(),
        std::fs::read(y.join("a")).unwrap()
    );

    // A sync makes everything of that file durable; a directory sync, every name.
    a.sync().unwrap();
    fs.sync_dir().unwrap();
    assert_eq!(fs.unsynced(), (1, 0));
    // Frozen after the next sync: later writes are in no image.
    fs.freeze_after_sync(1);
    new.sync().unwrap();
    a.write_at(b"late", 0).unwrap();
    a.sync().unwrap();
    assert_eq!(fs.unsynced(), (0, 0));
    for seed in 0..20u64 {
        let img = s.path(&format!("frozen{seed}"));
        fs.write_power_loss_image(&img, seed).unwrap();
        assert_eq!(std::fs::read(img.join("a")).unwrap(), cur);
        assert_eq!(std::fs::read(img.join("new")).unwrap(), b"fresh");
        assert!(!img.join("gone").exists());
    }
}

// ---------------------------------------------------------------------------------------
// 2. The sweep
// ---------------------------------------------------------------------------------------

/// One power-loss image to check.
struct Job {
    /// The sync point.
    k: u64,
    /// Taken after sync `k` completed (else right before it started).
    done: bool,
    /// The generator's seed.
    seed: u64,
    /// Where the image is.
    dir: PathBuf,
    /// The choices that made it.
    log: String,
    /// Unsynced (file operations, directory operations) at that moment.
    unsynced: (usize, usize),
}

impl Job {
    fn name(&self) -> String {
        format!(
            "{} sync {} (seed {:#018x})",
            if self.done { "after" } else { "before" },
            self.k,
            self.seed
        )
    }
}

/// What the workers found.
#[derive(Default)]
struct Tally {
    failures: Vec<String>,
    images: usize,
    /// Images taken while something was unsynced.
    with_unsynced: usize,
    /// Images that recovered more commits than the lower bound.
    beyond_lo: usize,
}

/// The seed of image `i` at a crash point (so a failure can be reproduced).
fn seed_of(k: u64, done: bool, i: u64) -> u64 {
    SplitMix64::new(0x51EE_D000 ^ (k << 20) ^ (u64::from(done) << 16) ^ i).next_u64()
}

/// Checks one image: recovery, integrity, the graph against the history, and life after.
fn check(
    job: &Job,
    base: &History,
    opts: &Options,
    promise: Promise,
    keep: bool,
) -> Result<bool, String> {
    if keep {
        copy_dir(&job.dir, &job.dir.with_extension("orig"));
    }
    // Sync FULL: the commits whose commit frame was synced by then (a commit returns
    // right after its fsync, or after the automatic checkpoint that follows it).
    let lo = match (promise, job.done) {
        (Promise::Consistent, _) => 0,
        (Promise::Synced, true) => base.acked_by_sync(job.k),
        (Promise::Synced, false) => base.acked_by_sync(job.k - 1),
    };
    let hi = base.acked();
    let (db, g) = open_and_read(&job.dir, opts, "power-loss image")?;
    let c = base.find_or_explain(&g, lo, hi)?;
    continue_after(db, &g, &job.dir, opts, "power-loss image")?;
    Ok(c > lo)
}

fn worker(
    rx: Arc<Mutex<Receiver<Job>>>,
    base: Arc<History>,
    tally: Arc<Mutex<Tally>>,
    opts: Options,
    promise: Promise,
) {
    let keep = std::env::var_os("QUIVER_POWERLOSS_ONLY").is_some();
    loop {
        let Ok(job) = rx.lock().unwrap().recv() else {
            return;
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(&job, &base, &opts, promise, keep)
        }))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {msg}"))
        });
        if keep {
            eprintln!("{}: {r:?}\n  choices:\n{}", job.name(), job.log);
        }
        let mut t = tally.lock().unwrap();
        t.images += 1;
        if job.unsynced != (0, 0) {
            t.with_unsynced += 1;
        }
        match r {
            Ok(beyond) => t.beyond_lo += usize::from(beyond),
            Err(e) => {
                let mut log = job.log.clone();
                if log.len() > 1500 {
                    let mut n = 1500;
                    while !log.is_char_boundary(n) {
                        n -= 1;
                    }
                    log.truncate(n);
                    log.push_str(" ...");
                }
                t.failures.push(format!(
                    "{}: {e}\n    unsynced {:?}; image choices:\n{log}",
                    job.name(),
                    job.unsynced
                ));
            }
        }
        drop(t);
        if !keep {
            let _ = std::fs::remove_dir_all(&job.dir);
        }
    }
}

/// The reference workload on a fresh database in `dir` (created, run, closed); returns
/// the history and the syncs performed.
fn run_reference(fs: &FaultStorage, opts: &Options) -> (History, Graph) {
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), opts).expect("create");
    let mut spec = REFERENCE;
    if let Some(seed) = env_u64("QUIVER_POWERLOSS_WORKLOAD") {
        spec.seed = seed;
    }
    let mut w = Workload::new(spec);
    w.run(&db, fs, &mut || false)
        .expect("workload without faults");
    assert_eq!(read_graph(&db).expect("read"), w.model);
    assert_clean(&db);
    db.close().expect("close");
    (w.hist, w.model)
}

/// What recovery must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Promise {
    /// Sync FULL: every commit whose commit frame had been fsynced.
    Synced,
    /// Sync OFF: nothing in particular (any commit since the last checkpoint may go), but
    /// still a consistent state after some number of commits, never corruption.
    Consistent,
}

/// Runs the reference workload with `opts` twice: once for the history, once imaging every
/// sync point (before and after, `QUIVER_POWERLOSS_SEEDS` images each), checked by two
/// workers. Panics with the first failures.
fn sweep(tag: &str, opts: &Options, promise: Promise) {
    let started = Instant::now();
    let s = Scratch::new(tag);
    let seeds = env_u64("QUIVER_POWERLOSS_SEEDS").unwrap_or(4).max(1);
    let only = env_u64("QUIVER_POWERLOSS_ONLY");

    // The reference run, for the history (the workload is deterministic).
    let fs = FaultStorage::open(&s.path("base")).expect("fault storage");
    let (base, _) = run_reference(&fs, opts);
    let total = fs.syncs();
    drop(fs);
    let _ = std::fs::remove_dir_all(s.path("base"));
    let base = Arc::new(base);

    // The same run again, imaging every sync point on the way; two workers check.
    let (tx, rx) = sync_channel::<Job>(16);
    let rx = Arc::new(Mutex::new(rx));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (rx, base, tally) = (rx.clone(), base.clone(), tally.clone());
            let opts = opts.clone();
            std::thread::spawn(move || worker(rx, base, tally, opts, promise))
        })
        .collect();
    let fs = FaultStorage::open(&s.path("run")).expect("fault storage");
    let images = s.root.clone();
    fs.on_sync(move |fs, k, done| {
        if only.is_some_and(|o| o != k) {
            return;
        }
        let unsynced = fs.unsynced();
        for i in 0..seeds {
            let seed = seed_of(k, done, i);
            let dir = images.join(format!(
                "k{k}-{}-{i}",
                if done { "after" } else { "before" }
            ));
            let log = fs
                .write_power_loss_image(&dir, seed)
                .expect("power-loss image");
            let job = Job {
                k,
                done,
                seed,
                dir,
                log,
                unsynced,
            };
            if tx.send(job).is_err() {
                return;
            }
        }
    });
    let (hist, _) = run_reference(&fs, opts);
    assert_eq!(fs.syncs(), total, "the workload must be deterministic");
    assert_eq!(hist.syncs, base.syncs, "the workload must be deterministic");
    fs.clear_sync_hook();
    drop(fs);
    for w in workers {
        w.join().expect("worker");
    }
    let t = tally.lock().unwrap();
    eprintln!(
        "{tag} ({:?}): {} commits, {total} sync points x 2 (before, after) x {seeds} seeds = {} images ({} with unsynced operations; {} recovered more than the synced commits), {:.1?}",
        opts.sync,
        base.acked(),
        t.images,
        t.with_unsynced,
        t.beyond_lo,
        started.elapsed()
    );
    if only.is_none() {
        assert_eq!(
            t.images as u64,
            total * 2 * seeds,
            "every image was checked"
        );
    }
    assert_no_failures(&t.failures, t.images);
}

/// Sync FULL: a power loss right before and right after every sync of the reference
/// workload, with several random choices of what else reached the disk each time. Every
/// commit whose commit frame was synced survives.
#[test]
fn power_loss_sweep() {
    sweep("powerloss", &reference_opts(), Promise::Synced);
}

/// Sync OFF, the same sweep: commits since the last checkpoint may be lost, but recovery
/// must still reach the state after some number of commits, with no corruption (README,
/// "Durability: sync modes").
#[test]
fn power_loss_sweep_sync_off() {
    let opts = Options {
        sync: quiver::SyncMode::Off,
        ..reference_opts()
    };
    sweep("powerloss-off", &opts, Promise::Consistent);
}
