//! The checkpoint thread: one per writable handle (unless `Options::checkpoint_thread` is
//! off). It checkpoints when a commit passes `checkpoint_bytes` or leaves versions of 2^18
//! records in the version map (the commit wakes it once durable) and when commits have
//! waited `checkpoint_interval` since the last checkpoint, and in sync mode NORMAL it
//! fsyncs the log once a second while commits are unsynced, so neither a commit nor close
//! waits for that work; the one exception is a commit that leaves the version map over
//! `Options::checkpoint_memory`, which waits for one checkpoint. It takes no lock that a reader waits for, and the writer lock
//! only when free (to remove log segments); see ARCHITECTURE.md, "The checkpoint thread".

use super::Shared;
use super::shared::lock;
use super::write::NORMAL_SYNC_INTERVAL;
use crate::error::{Error, Result};
use crate::options::SyncMode;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Flags {
    /// A commit asked for a checkpoint.
    wake: bool,
    /// The handle is closing.
    stop: bool,
    /// Checkpoints the thread has finished (or attempted: a failed one counts).
    done: u64,
}

/// How commits and close reach the checkpoint thread.
#[derive(Default)]
pub(crate) struct Signal {
    flags: Mutex<Flags>,
    cv: Condvar,
    /// Notified when a checkpoint finishes or the thread stops.
    finished: Condvar,
}

impl Signal {
    /// Asks for a checkpoint now.
    pub(crate) fn wake(&self) {
        lock(&self.flags).wake = true;
        self.cv.notify_one();
    }

    fn stop(&self) {
        lock(&self.flags).stop = true;
        self.cv.notify_one();
        self.finished.notify_all();
    }

    fn checkpointed(&self) {
        lock(&self.flags).done += 1;
        self.finished.notify_all();
    }

    /// Asks for a checkpoint and waits until the thread finishes one (the one under way,
    /// if any, or the next), the handle is poisoned or the thread stops. A commit that
    /// leaves the version map over its budget calls this, so a writer faster than the
    /// checkpoints waits for them instead of growing the map without bound.
    pub(crate) fn wake_and_wait(&self, shared: &Shared) {
        let mut f = lock(&self.flags);
        let start = f.done;
        f.wake = true;
        self.cv.notify_one();
        while f.done == start && !f.stop && shared.check().is_ok() {
            // A poisoning elsewhere does not notify: look again now and then.
            f = self
                .finished
                .wait_timeout(f, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until woken, stopped or `timeout` passes; returns (woken, stopping) and
    /// clears the request.
    fn wait(&self, timeout: Duration) -> (bool, bool) {
        let mut f = lock(&self.flags);
        if !f.wake && !f.stop {
            f = self
                .cv
                .wait_timeout(f, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let r = (f.wake, f.stop);
        f.wake = false;
        r
    }
}

/// The running thread; stopping it (or dropping this) waits for a checkpoint under way to
/// finish.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(t) = self.thread.take() {
            self.shared.bg.stop();
            // A panic inside was caught and poisoned the handle already.
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts the checkpoint thread of `shared`.
pub fn spawn_checkpointer(shared: &Arc<Shared>) -> Result<Checkpointer> {
    let s = Arc::clone(shared);
    let thread = std::thread::Builder::new()
        .name("quiver-checkpoint".into())
        .spawn(move || run(&s))
        .map_err(|e| Error::Io {
            op: "start the checkpoint thread of",
            path: shared.fs.root().to_path_buf(),
            source: e,
        })?;
    Ok(Checkpointer {
        shared: Arc::clone(shared),
        thread: Some(thread),
    })
}

/// A timed checkpoint waits at least this many times as long as the last checkpoint took.
const PACE: u32 = 2;

/// While commits wait to be checkpointed (timed checkpoints on), the thread looks this
/// often for the writer going idle.
const IDLE: Duration = Duration::from_millis(50);

fn run(shared: &Shared) {
    let interval = shared.opts.checkpoint_interval;
    let tick = interval.map_or(NORMAL_SYNC_INTERVAL, |i| i.min(NORMAL_SYNC_INTERVAL));
    let mut last = Instant::now();
    let mut spent = Duration::ZERO;
    let mut last_sync = Instant::now();
    // The appended LSN at the previous look, and whether commits waited then.
    let mut seen = shared.group.appended_lsn();
    let mut waiting = false;
    if catch_unwind(AssertUnwindSafe(|| shared.warm_free_list())).is_err() {
        shared.poison("the checkpoint thread panicked");
    }
    loop {
        let nap = if waiting && interval.is_some() {
            IDLE.min(tick)
        } else {
            tick
        };
        let (woken, stopping) = shared.bg.wait(nap);
        if stopping {
            return;
        }
        if shared.check().is_err() {
            // Poisoned: nothing more is written until the handle is reopened.
            continue;
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            if shared.opts.sync == SyncMode::Normal
                && (woken || last_sync.elapsed() >= NORMAL_SYNC_INTERVAL)
            {
                // Returns at once when nothing appended is unsynced; a failed fsync
                // poisons the handle.
                let _ = shared.group.wait(shared, shared.group.appended_lsn());
                last_sync = Instant::now();
            }
            let appended = shared.group.appended_lsn();
            let pending = appended > shared.log.checkpoint_lsn.load(Ordering::Relaxed);
            // Timed checkpoints keep to a duty cycle: after one that took d, the next
            // waits at least PACE * d, so a load that makes every checkpoint long is
            // checkpointed by checkpoint_bytes, not back to back.
            let due = interval.is_some_and(|i| last.elapsed() >= i.max(spent * PACE));
            // Idle: no commit since the last look and no write transaction open. The
            // commits waiting are checkpointed now rather than by the next timed
            // checkpoint or by close (which would do it in the caller's thread), and a
            // crash from here on has nothing to replay.
            let idle = interval.is_some() && appended == seen && !shared.writer_busy();
            seen = appended;
            waiting = pending;
            if woken || (pending && (due || idle)) {
                let began = Instant::now();
                // A failure poisoned the handle; the next call reports it.
                let _ = shared.background_checkpoint();
                shared.bg.checkpointed();
                last = Instant::now();
                spent = last - began;
            }
        }));
        if r.is_err() {
            shared.poison("the checkpoint thread panicked");
        }
    }
}
