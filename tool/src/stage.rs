//! All-or-nothing creation of a database: load and import build it in a temporary
//! directory beside DB, and only a complete, checked build is renamed to DB (then the
//! parent directory is fsynced, so the name is durable). Any failure removes the
//! temporary directory, so DB is never left half built.

use crate::fail::Fail;
use quiver::{Database, Options, SyncMode};
use std::path::{Path, PathBuf};

/// Operations (an insert or a property set) per write transaction while building: about
/// 100,000 rows, as GW1's W1 commits 100,000 nodes or edges at a time. Commits cost more
/// than their size alone (100,000 operations per transaction made a million-node import
/// a third slower), and a transaction's overlay stays a few tens of MB.
pub const BATCH_OPS: u64 = 300_000;

/// The write transactions of a build: each holds about [`BATCH_OPS`] operations, then
/// is committed and the next begun (import and load share this).
pub struct Batches<'d> {
    db: &'d Database,
    txn: Option<quiver::Txn>,
    /// Operations in the open transaction.
    pub ops: u64,
}

impl<'d> Batches<'d> {
    pub fn new(db: &'d Database) -> Batches<'d> {
        Batches {
            db,
            txn: None,
            ops: 0,
        }
    }

    /// The open transaction, committing a full one and beginning the next first.
    pub fn txn(&mut self) -> Result<&mut quiver::Txn, Fail> {
        if self.ops >= BATCH_OPS {
            if let Some(t) = self.txn.take() {
                t.commit()?;
            }
            self.ops = 0;
        }
        if self.txn.is_none() {
            self.txn = Some(self.db.begin_write()?);
        }
        self.txn
            .as_mut()
            .ok_or_else(|| Fail::Internal("no write transaction".into()))
    }

    /// Commits the last transaction, if one is open.
    pub fn commit(&mut self) -> Result<(), Fail> {
        if let Some(t) = self.txn.take() {
            t.commit()?;
        }
        Ok(())
    }
}

/// A database being built at a temporary path; dropping it unfinished removes it.
pub struct Staged {
    /// The open database (None once finished).
    pub db: Option<Database>,
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl Staged {
    /// Refuses an existing `dest`, then creates the temporary database beside it.
    pub fn create(dest: &Path) -> Result<Staged, Fail> {
        if dest.exists() {
            return Err(Fail::Misuse(format!(
                "{} already exists; load and import create a new database",
                dest.display()
            )));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| Fail::Misuse(format!("{}: not a directory name", dest.display())))?;
        let prefix = format!(".{}.quiver-tmp-", name.to_string_lossy());
        remove_abandoned(dest, &prefix);
        let tmp = dest.with_file_name(format!("{prefix}{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Fail::io("remove", &tmp, e))?;
        }
        let opts = Options {
            create: true,
            // Nothing is durable until the rename, so commits need no fsync; the final
            // checkpoint and close fsync the data files.
            sync: SyncMode::Off,
            // The default checkpoint interval: 128 and 256 MiB were no faster on the
            // 1 M-edge graph and held more memory (0.95 GB resident against 0.49 GB).
            checkpoint_bytes: 64 << 20,
            // A bulk load: a quarter of the library's default budget for versions not yet
            // checkpointed (PERFORMANCE.md, "quiver import"; the figures were measured
            // with 256 MiB).
            checkpoint_memory: 256 << 20,
            ..Options::default()
        };
        let mut staged = Staged {
            db: None,
            tmp: tmp.clone(),
            dest: dest.to_path_buf(),
            done: false,
        };
        staged.db = Some(Database::open(&tmp, &opts)?);
        Ok(staged)
    }

    /// The database being built.
    pub fn db(&self) -> Result<&Database, Fail> {
        self.db
            .as_ref()
            .ok_or_else(|| Fail::Internal("the staged database is closed".into()))
    }

    /// Checkpoints and closes the database, then renames it into place and fsyncs the
    /// parent directory.
    pub fn finish(mut self) -> Result<(), Fail> {
        if let Some(db) = self.db.take() {
            db.checkpoint()?;
            db.close()?;
        }
        if self.dest.exists() {
            return Err(Fail::Misuse(format!(
                "{} was created by someone else meanwhile; nothing was written to it",
                self.dest.display()
            )));
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Fail::io("rename", &self.tmp, e))?;
        self.done = true;
        sync_dir(&parent_dir(&self.dest))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            drop(self.db.take());
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Removes the work directories beside `dest` (named `prefix`, then the pid of the
/// process that made them, then anything) of earlier runs whose process no longer runs:
/// one killed outright (SIGKILL, a power loss) cannot remove its own. A directory of a
/// live process is left alone.
pub fn remove_abandoned(dest: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent_dir(dest)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Ok(pid) = rest[..digits].parse::<u32>() else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The directory that holds `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Fsyncs directory `dir`, so that the names created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), Fail> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Fail::io("fsync", dir, e))
}

/// Opens an existing database read-only (commands that only read).
pub fn open_read_only(path: &Path) -> Result<Database, Fail> {
    must_exist(path)?;
    let opts = Options {
        create: false,
        read_only: true,
        ..Options::default()
    };
    Ok(Database::open(path, &opts)?)
}

/// Opens an existing database for writing (checkpoint).
pub fn open_existing(path: &Path) -> Result<Database, Fail> {
    must_exist(path)?;
    let opts = Options {
        create: false,
        ..Options::default()
    };
    Ok(Database::open(path, &opts)?)
}

fn must_exist(path: &Path) -> Result<(), Fail> {
    if path.join("meta").is_file() {
        return Ok(());
    }
    Err(Fail::Engine(quiver::Error::NotFound(format!(
        "{}: no Quiver database here (no meta file)",
        path.display()
    ))))
}
