//! Group commit (sync mode FULL). A committing thread appends its frames under the writer
//! lock, hands the lock on, and then waits here until an fsync covers its commit frame.
//! One waiter at a time fsyncs the log (the leader); its fsync covers every commit appended
//! before it began, so commits that arrive while it runs share the next one. A commit is
//! returned as durable only once an fsync that began after its append has completed, and
//! it becomes visible to new readers only then (see `Shared::make_visible`).

use super::{Shared, lock};
use crate::error::Result;
use crate::io::StorageFile;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

struct Tail {
    /// End LSN of the newest commit appended.
    appended: u64,
    /// The segment holding it (earlier segments were fsynced when the log rolled).
    file: Option<Arc<dyn StorageFile>>,
    /// A leader is fsyncing now.
    syncing: bool,
}

/// The state shared by committing threads.
pub(crate) struct GroupSync {
    tail: Mutex<Tail>,
    done: Condvar,
    /// Everything before this LSN is durable (shared with the `Wal`).
    synced: Arc<AtomicU64>,
}

impl GroupSync {
    pub(crate) fn new(synced: Arc<AtomicU64>) -> GroupSync {
        GroupSync {
            tail: Mutex::new(Tail {
                appended: synced.load(Ordering::Acquire),
                file: None,
                syncing: false,
            }),
            done: Condvar::new(),
            synced,
        }
    }

    /// Records a commit appended up to `end` in `file` (called with the writer lock held,
    /// so calls come in LSN order, after the commit is published; in every sync mode, so
    /// that a checkpoint can fsync the log up to a commit it writes out).
    pub(crate) fn appended(&self, end: u64, file: Arc<dyn StorageFile>) {
        let mut t = lock(&self.tail);
        t.appended = end;
        t.file = Some(file);
    }

    /// End LSN of the newest commit appended (and published).
    pub(crate) fn appended_lsn(&self) -> u64 {
        lock(&self.tail).appended
    }

    /// Waits until the log is durable up to `end`, fsyncing it as leader when no other
    /// thread is. A failed fsync poisons the database; every waiter then fails.
    pub(crate) fn wait(&self, shared: &Shared, end: u64) -> Result<()> {
        let mut t = lock(&self.tail);
        loop {
            if self.synced.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            shared.check()?;
            if t.syncing {
                t = self.done.wait(t).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            t.syncing = true;
            if shared.writer_busy() {
                // Another transaction is under way and is likely about to commit: let it
                // append first, so this fsync covers it too (a bounded, one-time delay,
                // like PostgreSQL's commit_delay).
                drop(t);
                std::thread::yield_now();
                t = lock(&self.tail);
            }
            let target = t.appended;
            let file = t.file.clone();
            drop(t);
            let r = match &file {
                Some(f) => f.sync(),
                None => Err(crate::Error::Internal(
                    "a commit waits for an fsync, but no log segment was recorded".into(),
                )),
            };
            match &r {
                Ok(()) => {
                    self.synced.fetch_max(target, Ordering::AcqRel);
                    shared.make_visible(target);
                }
                Err(e) => shared.poison(&e.to_string()),
            }
            t = lock(&self.tail);
            t.syncing = false;
            self.done.notify_all();
            r?;
        }
    }
}
