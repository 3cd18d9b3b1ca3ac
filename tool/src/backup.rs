//! `backup`, `verify` and `compact`, on the engine's hot backup (`Database::backup`).
//!
//! A backup is built in a hidden work directory beside DEST (`.DEST.quiver-backup-PID`):
//! the engine's copy, then the copy's digest (read back from the copy itself), then the
//! manifest `backup.json` inside it; only then is it renamed to DEST without replacing
//! anything (RENAME_NOREPLACE) and the parent directory fsynced. So DEST appears complete,
//! manifest included, or not at all.
//!
//! Compact holds DB open (read-only: the engine's exclusive lock, and no writes, so no
//! checkpoint at close can touch a path that has been swapped), writes a compact copy into
//! `.DB.quiver-compact-PID`, checks it and compares its digest with DB's, then exchanges
//! the two directories in one step (RENAME_EXCHANGE), fsyncs the parent and removes the
//! original. DB is therefore a complete database at every instant: the original before
//! the exchange, the verified copy after it. A run killed outright leaves the work
//! directory (a copy or the original, never needed again), and the next compact or
//! backup to the same name removes it once its process is gone.

use crate::fail::Fail;
use crate::inspect::{check_failure, file_sizes, human, integrity, size};
use crate::stage::{open_read_only, parent_dir, remove_abandoned, sync_dir};
use quiver::{BackupOptions, BackupReport, Database};
use rustix::fs::{CWD, RenameFlags, renameat_with};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The manifest's name inside a backup.
pub const MANIFEST: &str = "backup.json";
/// The manifest's `format` and `version`.
const MANIFEST_FORMAT: &str = "quiver-backup";
const MANIFEST_VERSION: u64 = 1;

/// Test hook for the kill and interrupt tests in tool/tests/cli.rs: in a debug build,
/// `QUIVER_TEST_PAUSE=STEP` stops the command at STEP (`copying`, `copied`, `verified`,
/// `swapped`) after saying `quiver: paused at STEP` on stderr, so that a test can SIGKILL
/// it exactly there; it goes on once SIGINT or SIGTERM has come (so a test can also see a
/// cancel). Release builds ignore the variable.
fn pause_point(step: &str, stop: &Interrupt) {
    if cfg!(debug_assertions) && std::env::var_os("QUIVER_TEST_PAUSE").is_some_and(|v| v == step) {
        eprintln!("quiver: paused at {step}");
        while !stop.raised() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM, caught while a command can still stop cleanly: the copy
/// is cancelled through its progress callback and the work directory removed. A second
/// signal ends the process at once (the default action).
struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    fn install() -> Result<Interrupt, Fail> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag before this signal sets it.
            signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag))
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&flag)))
                .map_err(|e| Fail::Internal(format!("installing a signal handler: {e}")))?;
        }
        Ok(Interrupt(flag))
    }

    fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Err(Interrupted) once a signal came.
    fn check(&self, what: &str) -> Result<(), Fail> {
        if self.raised() {
            return Err(interrupted(what));
        }
        Ok(())
    }
}

fn interrupted(what: &str) -> Fail {
    Fail::Engine(quiver::Error::Interrupted(format!(
        "{what} stopped on SIGINT or SIGTERM; nothing was left behind"
    )))
}

/// A work directory beside `dest`, removed when dropped unless kept.
struct Work {
    path: PathBuf,
    keep: bool,
}

impl Work {
    /// `.NAME.quiver-TAG-PID` beside `dest`, first removing those of dead processes (and
    /// the engine's own hidden directories inside their names, `..NAME.quiver-TAG-PID.…`).
    fn beside(dest: &Path, tag: &str) -> Result<Work, Fail> {
        let name = dest
            .file_name()
            .ok_or_else(|| Fail::Misuse(format!("{}: not a directory name", dest.display())))?;
        let prefix = format!(".{}.quiver-{tag}-", name.to_string_lossy());
        remove_abandoned(dest, &prefix);
        remove_abandoned(dest, &format!(".{prefix}"));
        let path = parent_dir(dest).join(format!("{prefix}{}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).map_err(|e| Fail::io("remove", &path, e))?;
        }
        Ok(Work { path, keep: false })
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Runs the engine's backup of `db` into `dest` behind a byte progress bar named `what`;
/// a signal cancels it (the engine then leaves nothing at `dest`). Returns the report and
/// how long the copy took.
fn copy(
    db: &Database,
    dest: &Path,
    compact: bool,
    what: &str,
    quiet: bool,
    stop: &Interrupt,
) -> Result<(BackupReport, Duration), Fail> {
    let bar = crate::progress::bar(what, 0, true, quiet);
    let mut paused = false;
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
        if done > 0 && !paused {
            paused = true;
            pause_point("copying", stop);
        }
        !stop.raised()
    };
    let started = Instant::now();
    let result = db.backup(
        dest,
        BackupOptions {
            compact,
            progress: Some(&mut progress),
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(report) => Ok((report, started.elapsed())),
        Err(quiver::Error::Interrupted(_)) if stop.raised() => {
            Err(interrupted(&format!("the {what}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The content digest of `db`'s latest commit, in hex, behind a spinner.
fn digest_hex(db: &Database, quiet: bool) -> Result<String, Fail> {
    let spinner = crate::progress::spinner("digest", quiet);
    let digest = db.begin_read()?.digest()?;
    spinner.finish_and_clear();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Renames `from` to `to` with `flags` (RENAME_NOREPLACE or RENAME_EXCHANGE).
fn rename(from: &Path, to: &Path, flags: RenameFlags) -> Result<(), rustix::io::Errno> {
    renameat_with(CWD, from, CWD, to, flags)
}

/// What `backup.json` records (TOOLS.md: verify compares the copy with it).
struct Manifest {
    source: String,
    created: String,
    last_txn: u64,
    lsn: u64,
    nodes: u64,
    edges: u64,
    bytes: u64,
    digest: String,
    compact: bool,
}

impl Manifest {
    fn to_json(&self) -> Json {
        json!({
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "quiver": env!("CARGO_PKG_VERSION"),
            "source": self.source,
            "created": self.created,
            "last_txn": self.last_txn,
            "lsn": self.lsn,
            "nodes": self.nodes,
            "edges": self.edges,
            "bytes": self.bytes,
            "digest": self.digest,
            "compact": self.compact,
        })
    }

    /// Reads `DEST/backup.json`; the error names what is wrong with it.
    fn read(dest: &Path) -> Result<Manifest, String> {
        let path = dest.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("manifest {}: {e}", path.display()))?;
        let j: Json = serde_json::from_str(&text)
            .map_err(|e| format!("manifest {}: not JSON: {e}", path.display()))?;
        let bad = |field: &str| format!("manifest {}: bad or missing {field:?}", path.display());
        let text_field = |field: &str| {
            j.get(field)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(field))
        };
        let number = |field: &str| {
            j.get(field)
                .and_then(Json::as_u64)
                .ok_or_else(|| bad(field))
        };
        if j.get("format").and_then(Json::as_str) != Some(MANIFEST_FORMAT)
            || j.get("version").and_then(Json::as_u64) != Some(MANIFEST_VERSION)
        {
            return Err(format!(
                "manifest {}: not a {MANIFEST_FORMAT} version {MANIFEST_VERSION} manifest",
                path.display()
            ));
        }
        let digest = text_field("digest")?;
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("digest"));
        }
        Ok(Manifest {
            source: text_field("source")?,
            created: text_field("created")?,
            last_txn: number("last_txn")?,
            lsn: number("lsn")?,
            nodes: number("nodes")?,
            edges: number("edges")?,
            bytes: number("bytes")?,
            digest: digest.to_ascii_lowercase(),
            compact: j
                .get("compact")
                .and_then(Json::as_bool)
                .ok_or_else(|| bad("compact"))?,
        })
    }

    /// Writes `dir/backup.json` and makes it durable (file, then directory).
    fn write(&self, dir: &Path) -> Result<(), Fail> {
        use std::io::Write;
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(&self.to_json())
            .map_err(|e| Fail::Internal(format!("encoding the manifest: {e}")))?;
        text.push('\n');
        std::fs::File::create(&path)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .map_err(|e| Fail::io("write", &path, e))?;
        sync_dir(dir)
    }
}

/// `quiver backup`.
pub fn backup(
    db_path: &Path,
    dest: &Path,
    compact: bool,
    json_out: bool,
    quiet: bool,
) -> Result<(), Fail> {
    if dest.symlink_metadata().is_ok() {
        return Err(Fail::Misuse(format!(
            "{} already exists; a backup creates a new directory and never replaces one",
            dest.display()
        )));
    }
    let parent = parent_dir(dest);
    if !parent.is_dir() {
        return Err(Fail::Engine(quiver::Error::NotFound(format!(
            "{}: the backup's parent directory does not exist",
            parent.display()
        ))));
    }
    let db = open_read_only(db_path)?;
    let stop = Interrupt::install()?;
    let mut work = Work::beside(dest, "backup")?;
    let (report, copy_time) = copy(&db, &work.path, compact, "backup", quiet, &stop)?;
    drop(db);
    pause_point("copied", &stop);
    let digest_started = Instant::now();
    let digest = digest_hex(&open_read_only(&work.path)?, quiet)?;
    let digest_time = digest_started.elapsed();
    let manifest = Manifest {
        source: std::path::absolute(db_path)
            .unwrap_or_else(|_| db_path.to_path_buf())
            .display()
            .to_string(),
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        last_txn: report.last_txn,
        lsn: report.lsn,
        nodes: report.nodes,
        edges: report.edges,
        bytes: report.bytes,
        digest,
        compact,
    };
    manifest.write(&work.path)?;
    stop.check("the backup")?;
    match rename(&work.path, dest, RenameFlags::NOREPLACE) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST | rustix::io::Errno::NOTEMPTY) => {
            return Err(Fail::Misuse(format!(
                "{} was created by someone else during the backup; the copy was removed",
                dest.display()
            )));
        }
        // A file system without RENAME_NOREPLACE: check, then a plain rename.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS)
            if dest.symlink_metadata().is_err() =>
        {
            std::fs::rename(&work.path, dest).map_err(|e| Fail::io("rename", &work.path, e))?;
        }
        Err(e) => return Err(Fail::io("rename", &work.path, e.into())),
    }
    work.keep = true;
    sync_dir(&parent)?;
    print_backup(db_path, dest, &manifest, copy_time, digest_time, json_out);
    Ok(())
}

fn print_backup(
    db_path: &Path,
    dest: &Path,
    m: &Manifest,
    copy_time: Duration,
    digest_time: Duration,
    json_out: bool,
) {
    let secs = copy_time.as_secs_f64().max(1e-9);
    if json_out {
        let mut j = m.to_json();
        j["dest"] = json!(dest.display().to_string());
        j["copy_seconds"] = json!(copy_time.as_secs_f64());
        j["digest_seconds"] = json!(digest_time.as_secs_f64());
        println!("{j}");
        return;
    }
    println!(
        "backup of {} at txn {} (lsn {}): {} nodes, {} edges",
        db_path.display(),
        human(m.last_txn),
        human(m.lsn),
        human(m.nodes),
        human(m.edges)
    );
    println!(
        "wrote {}{} to {} in {:.2} s ({}/s, {} elements/s)",
        size(m.bytes),
        if m.compact { " (compact)" } else { "" },
        dest.display(),
        secs,
        size((m.bytes as f64 / secs) as u64),
        human(((m.nodes + m.edges) as f64 / secs) as u64)
    );
    println!(
        "digest {} (of the copy, {:.2} s); manifest {}",
        m.digest,
        digest_time.as_secs_f64(),
        dest.join(MANIFEST).display()
    );
}

/// `quiver verify`.
pub fn verify(dest: &Path, json_out: bool, quiet: bool) -> Result<(), Fail> {
    let db = open_read_only(dest)?;
    let manifest = Manifest::read(dest);
    let report = integrity(&db, quiet)?;
    // A damaged copy may not even read back whole; its check problem is what to report.
    let digest = if report.problems == 0 {
        Some(digest_hex(&db, quiet)?)
    } else {
        None
    };
    let txn = db.begin_read()?;
    let stats = db.stats();
    let found = [
        ("last_txn", txn.snapshot_txn()),
        ("lsn", stats.last_commit_lsn),
        ("nodes", stats.nodes),
        ("edges", stats.edges),
    ];
    drop(txn);
    let problem = match &manifest {
        Err(m) => Some(m.clone()),
        Ok(_) if report.problems > 0 => Some(format!(
            "check found {} problem(s); first: {}",
            report.problems, report.first_problem
        )),
        Ok(m) if digest.as_ref() != Some(&m.digest) => Some(format!(
            "digest {} differs from the manifest's {}",
            digest.as_deref().unwrap_or("-"),
            m.digest
        )),
        Ok(m) => {
            let recorded = [m.last_txn, m.lsn, m.nodes, m.edges];
            found
                .iter()
                .zip(recorded)
                .find(|((_, have), want)| have != want)
                .map(|((field, have), want)| format!("{field} is {have}; the manifest says {want}"))
        }
    };
    if json_out {
        println!(
            "{}",
            json!({
                "ok": problem.is_none(),
                "path": dest.display().to_string(),
                "problem": problem,
                "digest": digest,
                "check": {
                    "nodes_checked": report.nodes_checked,
                    "edges_checked": report.edges_checked,
                    "problems": report.problems,
                    "first_problem": report.first_problem,
                },
                "manifest": manifest.as_ref().ok().map(Manifest::to_json),
            })
        );
    } else {
        println!(
            "{}: check {} ({} node slots, {} edge slots); digest {}",
            dest.display(),
            if report.problems == 0 { "ok" } else { "FAILED" },
            human(report.nodes_checked),
            human(report.edges_checked),
            digest.as_deref().unwrap_or("not computed")
        );
        match (&problem, &manifest) {
            (None, Ok(m)) => println!(
                "matches the manifest: backup of {} at txn {}, created {}",
                m.source,
                human(m.last_txn),
                m.created
            ),
            (Some(p), _) => println!("FAILED: {p}"),
            (None, Err(_)) => {}
        }
    }
    match problem {
        Some(p) => Err(Fail::Data(format!("{}: {p}", dest.display()))),
        None => Ok(()),
    }
}

/// Bytes of the files in directory `dir`.
fn dir_bytes(dir: &Path) -> Result<u64, Fail> {
    Ok(file_sizes(dir)?.values().sum())
}

/// `quiver compact`.
pub fn compact(db_path: &Path, json_out: bool, quiet: bool) -> Result<(), Fail> {
    // Read-only still takes the engine's exclusive lock, and it never writes: the handle
    // outlives the exchange below, after which DB names the copy.
    let db = open_read_only(db_path)?;
    let stop = Interrupt::install()?;
    let mut work = Work::beside(db_path, "compact")?;
    let before = dir_bytes(db_path)?;
    let started = Instant::now();
    let source_digest = digest_hex(&db, quiet)?;
    let (report, _) = copy(&db, &work.path, true, "compaction", quiet, &stop)?;
    pause_point("copied", &stop);
    {
        let copy = open_read_only(&work.path)?;
        let r = integrity(&copy, quiet)?;
        if r.problems > 0 {
            return Err(check_failure(&work.path, &r));
        }
        let copy_digest = digest_hex(&copy, quiet)?;
        if copy_digest != source_digest {
            return Err(Fail::Data(format!(
                "{}: the compact copy's digest {copy_digest} differs from the database's \
                 {source_digest}; the database was left as it was",
                db_path.display()
            )));
        }
    }
    pause_point("verified", &stop);
    stop.check("the compaction")?;
    rename(&work.path, db_path, RenameFlags::EXCHANGE).map_err(|e| {
        Fail::Io(format!(
            "exchange {} with {} (renameat2 RENAME_EXCHANGE): {e}; the database was left \
             as it was",
            work.path.display(),
            db_path.display()
        ))
    })?;
    // DB is now the verified copy; the work directory holds the original.
    pause_point("swapped", &stop);
    let parent = parent_dir(db_path);
    if let Err(f) = sync_dir(&parent) {
        work.keep = true;
        return Err(f);
    }
    drop(db);
    work.keep = true;
    std::fs::remove_dir_all(&work.path).map_err(|e| Fail::io("remove", &work.path, e))?;
    sync_dir(&parent)?;
    let after = dir_bytes(db_path)?;
    let secs = started.elapsed().as_secs_f64();
    if json_out {
        println!(
            "{}",
            json!({
                "path": db_path.display().to_string(),
                "bytes_before": before,
                "bytes_after": after,
                "last_txn": report.last_txn,
                "nodes": report.nodes,
                "edges": report.edges,
                "digest": source_digest,
                "seconds": secs,
            })
        );
    } else {
        println!(
            "compacted {}: {} -> {} ({} nodes, {} edges, digest {source_digest}, {secs:.2} s)",
            db_path.display(),
            size(before),
            size(after),
            human(report.nodes),
            human(report.edges)
        );
    }
    Ok(())
}
