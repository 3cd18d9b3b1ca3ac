//! The state of an open database that every thread shares: the data files, the version
//! map and string table, the commit state (latest, visible and pending snapshots, the
//! reader registry), the writer lock (the [`Writer`] value itself, moved into the write
//! transaction and back), poisoning, and the checkpoint and shutdown entry points.

use super::{Snapshot, Versions, background, checkpoint, group};
use crate::error::{Error, Result};
use crate::format::meta::Meta;
use crate::io::Storage;
use crate::options::Options;
use crate::recovery::RecoveryStats;
use crate::store::{FreeBase, FreeSpace, LabelIndex, Store, StringTable};
use crate::wal::Wal;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard};
use std::time::Instant;

/// The single writer's private state: only the holder of the writer lock touches it.
pub struct Writer {
    /// The log.
    pub wal: Wal,
    /// The id the next write transaction gets.
    pub next_txn: u64,
    /// When the log was last fsynced (sync mode NORMAL without the checkpoint thread).
    pub last_sync: Instant,
}

/// What only a running checkpoint touches (behind [`Shared::ckpt`], so one runs at a time,
/// from the checkpoint thread, an explicit checkpoint, a commit or close).
pub struct CkptState {
    /// The newest checkpoint, as written in the meta file.
    pub meta: Meta,
    /// The full free list the next checkpoint may write a delta from, with the delta the
    /// meta slot names on top of it (None until a checkpoint reads it, or when `meta`
    /// names no list).
    pub base: Option<FreeBase>,
    /// The first checkpoint generation that may place blobs in free space (see
    /// ARCHITECTURE.md, "Space reuse": not the first checkpoint after a recovery that
    /// replayed commits).
    pub reuse_from: u64,
}

pub(crate) struct CommitState {
    /// The newest commit appended to the log: what the next write transaction builds on.
    pub latest: Snapshot,
    /// The newest commit known durable (sync mode FULL; otherwise the same as `latest`):
    /// what a new reader sees, so no reader sees a commit a crash could take back.
    pub visible: Snapshot,
    /// Commits appended but not yet known durable, oldest first (sync mode FULL).
    pub pending: VecDeque<Snapshot>,
    /// Snapshot id -> number of open readers on it.
    pub readers: BTreeMap<u64, usize>,
    /// Commits since the last checkpoint, oldest first (the latest is last).
    pub history: VecDeque<Snapshot>,
    /// Transactions open now (of both kinds).
    pub open_txns: usize,
    /// The snapshot a running checkpoint writes out: until it has collected that
    /// snapshot's versions, commits keep them (see `WriteState::publish`).
    pub ckpt_floor: Option<u64>,
}

/// Counters that `stats` reads without taking the writer lock.
#[derive(Default)]
pub(crate) struct LogCounters {
    pub wal_bytes: AtomicU64,
    pub checkpoint_lsn: AtomicU64,
    /// The heap length the newest checkpoint made durable. A backup copies the bytes below
    /// it verbatim; a later checkpoint writes there only into free space, which holds no
    /// blob a live snapshot names (ARCHITECTURE.md, "Space reuse").
    pub heap_len: AtomicU64,
    /// Log segments wholly before this LSN are no longer needed (the checkpoint before
    /// the newest one starts here); the writer removes them.
    pub retire_before: AtomicU64,
}

/// Everything an open database shares between threads.
pub struct Shared {
    pub(crate) fs: Arc<dyn Storage>,
    pub(crate) store: Store,
    pub(crate) versions: RwLock<Versions>,
    pub(crate) strings: RwLock<StringTable>,
    pub(crate) state: Mutex<CommitState>,
    writer: Mutex<Option<Writer>>,
    writer_cv: Condvar,
    /// The checkpoint's state; held for the whole of a checkpoint.
    pub(crate) ckpt: Mutex<CkptState>,
    /// Wakes the checkpoint thread.
    pub(crate) bg: background::Signal,
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    pub(crate) opts: Options,
    pub(crate) recovery: RecoveryStats,
    pub(crate) log: LogCounters,
    pub(crate) group: group::GroupSync,
    /// Free heap extents: the list the next checkpoint starts from, which `check` reads
    /// too (the one the meta slot names, less [`Shared::free_claims`]). None until a
    /// checkpoint has read it, and while one runs: it takes the list rather than cloning
    /// it, and those read the meta slot's meanwhile.
    free: Mutex<Option<Arc<FreeSpace>>>,
    /// The node and edge ids recovery replayed (set at open): the heap extents their
    /// records on disk name are taken out of the list the meta slot names when it is read
    /// ([`Shared::free_claims`]).
    pub(crate) replayed: (Vec<u64>, Vec<u64>),
    /// Those extents, found when first needed: by the first checkpoint before it writes
    /// anything, or by a `check` before it. Open does not read them: each is a record and
    /// a blob header on a page of its own, a page fault apiece (a fifth of the open after
    /// 2,000 commits replayed).
    claims: OnceLock<Vec<(u64, u64)>>,
    /// The label index as of the newest checkpoint: None until first needed (a label
    /// scan, a check or a checkpoint), when it is read from the `labels` file up to
    /// `labels_at` (length, node id bound) of the meta slot the handle opened. Open does
    /// not walk the chunk headers: a page fault apiece, a tenth of an open.
    labels: Mutex<Option<Arc<LabelIndex>>>,
    labels_at: (u64, u64),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Assembles an opened database (called by `Database::open` after recovery).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site that hands over every part"
    )]
    pub(crate) fn new(
        fs: Arc<dyn Storage>,
        store: Store,
        versions: Versions,
        strings: StringTable,
        latest: Snapshot,
        writer: Option<Writer>,
        ckpt: CkptState,
        free: Option<FreeSpace>,
        opts: Options,
        recovery: RecoveryStats,
        labels: Option<LabelIndex>,
    ) -> Shared {
        let labels_at = (ckpt.meta.labels_len, ckpt.meta.next_node);
        let log = LogCounters::default();
        let free = free.map(Arc::new);
        let synced = writer.as_ref().map_or_else(
            || Arc::new(AtomicU64::new(latest.end_lsn)),
            |w| w.wal.synced_counter(),
        );
        if let Some(w) = &writer {
            log.wal_bytes.store(w.wal.disk_bytes(), Ordering::Relaxed);
        }
        log.checkpoint_lsn
            .store(ckpt.meta.checkpoint_lsn, Ordering::Relaxed);
        log.heap_len.store(ckpt.meta.heap_len, Ordering::Release);
        Shared {
            fs,
            store,
            versions: RwLock::new(versions),
            strings: RwLock::new(strings),
            state: Mutex::new(CommitState {
                latest,
                visible: latest,
                pending: VecDeque::new(),
                readers: BTreeMap::new(),
                history: VecDeque::from([latest]),
                open_txns: 0,
                ckpt_floor: None,
            }),
            writer: Mutex::new(writer),
            writer_cv: Condvar::new(),
            ckpt: Mutex::new(ckpt),
            bg: background::Signal::default(),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            opts,
            recovery,
            log,
            group: group::GroupSync::new(synced),
            free: Mutex::new(free),
            replayed: Default::default(),
            claims: OnceLock::new(),
            labels: Mutex::new(labels.map(Arc::new)),
            labels_at,
        }
    }

    /// The label index as of the newest checkpoint, read from the `labels` file when first
    /// asked for (`Corrupt`, naming the file, when its chunk headers do not hold; asked
    /// again, it reads again).
    pub(crate) fn label_index(&self) -> Result<Arc<LabelIndex>> {
        let mut slot = lock(&self.labels);
        if let Some(ix) = &*slot {
            return Ok(Arc::clone(ix));
        }
        let (len, bound) = self.labels_at;
        let ix = Arc::new(LabelIndex::load(&self.store.labels, len, bound)?);
        *slot = Some(Arc::clone(&ix));
        Ok(ix)
    }

    /// Publishes the index a checkpoint extended (before it prunes the version map; every
    /// reader's snapshot is at or after the checkpoint's, so the new bound is below every
    /// reader's next node id).
    pub(crate) fn publish_label_index(&self, ix: LabelIndex) {
        *lock(&self.labels) = Some(Arc::new(ix));
    }

    /// The free list the meta slot `meta` names, less the extents replayed records claim,
    /// with the full list it is or is a delta from; Err when it does not verify (it is then
    /// not used, and its blobs not freed).
    pub(crate) fn read_free_list_base(
        &self,
        meta: &Meta,
    ) -> std::result::Result<(FreeSpace, Option<FreeBase>), String> {
        let (mut f, mut base) = match self.store.free_list_base(meta)? {
            Some((f, base)) => (f, Some(base)),
            None => (FreeSpace::default(), None),
        };
        let claims = self.free_claims();
        for &(off, len) in claims {
            f.remove(off, len);
        }
        if let Some(b) = base.as_mut().filter(|_| !claims.is_empty()) {
            b.diff = None;
        }
        Ok((f, base))
    }

    /// The heap extents (offset, length) the records recovery replayed name on disk.
    fn free_claims(&self) -> &[(u64, u64)] {
        self.claims.get_or_init(|| {
            let (store, maps) = (&self.store, self.store.maps());
            let (nodes, edges) = &self.replayed;
            let nodes = nodes.iter().map(|&id| {
                let r = store.read_node(&maps, id).ok().flatten();
                r.map_or([0, 0], |r| [r.props, r.adj])
            });
            let edges = edges.iter().map(|&id| {
                let r = store.read_edge(&maps, id).ok().flatten();
                [r.map_or(0, |r| r.props), 0]
            });
            nodes
                .chain(edges)
                .flatten()
                .filter(|&off| off != 0)
                .filter_map(|off| Some((off, store.blob_bytes(&maps.heap, off).ok()?.len() as u64)))
                .collect()
        })
    }

    /// The free list the meta slot `meta` names, as [`Shared::read_free_list_base`] reads it.
    pub(crate) fn read_free_list(&self, meta: &Meta) -> std::result::Result<FreeSpace, String> {
        self.read_free_list_base(meta).map(|(f, _)| f)
    }

    /// The free list the next checkpoint starts from: the one the last checkpoint
    /// published, or (none yet) the one the newest meta slot names, as that checkpoint will
    /// read it (empty if it does not verify).
    pub(crate) fn free_list(&self) -> Arc<FreeSpace> {
        if let Some(f) = lock(&self.free).as_ref() {
            return Arc::clone(f);
        }
        let listed = self
            .store
            .current_meta()
            .ok()
            .map(|m| self.read_free_list(&m));
        Arc::new(listed.and_then(|r| r.ok()).unwrap_or_default())
    }

    /// Reads the free list the newest meta slot names, as the first checkpoint after open
    /// would, unless one has: the checkpoint thread does this when it starts, so that its
    /// first checkpoint, and the pacing of the ones after it, do not carry the decoding
    /// (0.1 to 0.2 s for the million extents a large load leaves). A list that does not
    /// verify is left for that checkpoint to find (and not use).
    pub(crate) fn warm_free_list(&self) {
        let mut ck = lock(&self.ckpt);
        if lock(&self.free).is_some() {
            return;
        }
        if let Ok((list, base)) = self.read_free_list_base(&ck.meta) {
            ck.base = base;
            self.publish_free_list(list);
        }
    }

    /// Takes the list for a checkpoint to edit (cloned only if a `check` holds it now);
    /// None when none has been read since open.
    pub(crate) fn take_free_list(&self) -> Option<FreeSpace> {
        let taken = lock(&self.free).take();
        taken.map(Arc::unwrap_or_clone)
    }

    /// Publishes the list a checkpoint made current (before it prunes the version map, so a
    /// record read from the file after the prune is held against this list or a newer one).
    pub(crate) fn publish_free_list(&self, list: FreeSpace) {
        *lock(&self.free) = Some(Arc::new(list));
    }

    /// Makes every commit whose frames end at or before `lsn` visible to new readers
    /// (the log is durable up to `lsn`).
    pub(crate) fn make_visible(&self, lsn: u64) {
        let mut st = lock(&self.state);
        while let Some(s) = st.pending.front().copied() {
            if s.end_lsn > lsn {
                break;
            }
            st.visible = s;
            st.pending.pop_front();
        }
    }

    /// Fsyncs the log (with the writer lock held) and makes what it covers visible.
    pub(crate) fn sync_log(&self, w: &mut Writer) -> Result<()> {
        // After a failed fsync, a later one proves nothing about the pages the failure
        // lost: never let it make commits durable or visible.
        self.check()?;
        w.wal.sync()?;
        self.make_visible(w.wal.end_lsn());
        Ok(())
    }

    /// Err(Poisoned) once a write or fsync has failed.
    pub fn check(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            let why = lock(&self.poison).clone().unwrap_or_default();
            return Err(Error::Poisoned(format!(
                "{}: an earlier failure ({why}) poisoned this handle; close and reopen the database",
                self.fs.root().display()
            )));
        }
        Ok(())
    }

    /// Marks the database unusable until reopened.
    pub fn poison(&self, why: &str) {
        let mut p = lock(&self.poison);
        if p.is_none() {
            *p = Some(why.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
    }

    /// Poisons the database when `r` is an I/O error; passes `r` on.
    pub(crate) fn poison_on_io<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if e.is_io() || matches!(e, Error::Corrupt(_) | Error::Internal(_)) {
                self.poison(&e.to_string());
            }
        }
        r
    }

    /// Takes the writer lock, waiting up to the busy timeout.
    pub(crate) fn take_writer(&self) -> Result<Writer> {
        let deadline = Instant::now() + self.opts.busy_timeout;
        let mut slot = lock(&self.writer);
        loop {
            if let Some(w) = slot.take() {
                return Ok(w);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy(format!(
                    "{}: another write transaction or checkpoint held the writer lock for {} ms",
                    self.fs.root().display(),
                    self.opts.busy_timeout.as_millis()
                )));
            }
            slot = self
                .writer_cv
                .wait_timeout(slot, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Removes the log segments the last checkpoint made unnecessary (with the writer
    /// lock held) and updates the log size `stats` reports.
    pub(crate) fn retire_segments(&self, w: &mut Writer) -> Result<()> {
        let r = w
            .wal
            .retire_before(self.log.retire_before.load(Ordering::Acquire));
        self.log
            .wal_bytes
            .store(w.wal.disk_bytes(), Ordering::Relaxed);
        r
    }

    /// Whether a write transaction holds the writer lock now.
    pub(crate) fn writer_busy(&self) -> bool {
        lock(&self.writer).is_none()
    }

    /// Returns the writer lock.
    pub(crate) fn put_writer(&self, w: Writer) {
        *lock(&self.writer) = Some(w);
        self.writer_cv.notify_one();
    }

    /// Registers a reader on the latest snapshot.
    pub(super) fn begin_read(&self) -> Snapshot {
        let mut st = lock(&self.state);
        let s = st.visible;
        *st.readers.entry(s.txn).or_insert(0) += 1;
        st.open_txns += 1;
        s
    }

    pub(super) fn end_txn(&self, reader_snap: Option<u64>) {
        let mut st = lock(&self.state);
        if let Some(s) = reader_snap {
            if let Some(n) = st.readers.get_mut(&s) {
                *n -= 1;
                if *n == 0 {
                    st.readers.remove(&s);
                }
            }
        }
        st.open_txns -= 1;
    }

    /// Transactions open now.
    pub fn open_txns(&self) -> usize {
        lock(&self.state).open_txns
    }

    /// The newest snapshot a reader would see now (the newest durable commit in sync mode
    /// FULL).
    pub fn visible(&self) -> Snapshot {
        lock(&self.state).visible
    }

    /// Read transactions open now.
    pub fn readers(&self) -> u64 {
        lock(&self.state).readers.values().map(|&n| n as u64).sum()
    }

    /// What the version map holds now (committed versions not yet checkpointed).
    pub fn versions_held(&self) -> super::versions::Held {
        self.versions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .held()
    }

    /// Log bytes on disk.
    pub fn wal_bytes(&self) -> u64 {
        self.log.wal_bytes.load(Ordering::Relaxed)
    }

    /// LSN the last checkpoint covers.
    pub fn checkpoint_lsn(&self) -> u64 {
        self.log.checkpoint_lsn.load(Ordering::Relaxed)
    }

    /// Runs a checkpoint as far as open readers allow (takes the writer lock, like a
    /// writer, and holds it throughout).
    pub fn checkpoint(&self) -> Result<()> {
        self.check()?;
        if self.opts.read_only {
            return Err(Error::ReadOnly(format!(
                "{}: opened read-only",
                self.fs.root().display()
            )));
        }
        let mut w = self.take_writer()?;
        // An explicit checkpoint also makes every commit durable (sync modes NORMAL, OFF),
        // even when readers leave nothing to checkpoint.
        let r = self.sync_log(&mut w).and_then(|_| {
            let pruned = checkpoint::run(self, &mut lock(&self.ckpt))?;
            drop(pruned);
            self.retire_segments(&mut w)
        });
        let r = self.poison_on_io(r);
        self.put_writer(w);
        r
    }

    /// A checkpoint run off the commit path (by the checkpoint thread). It leaves the
    /// log segments it made unnecessary to the writer (the next commit, or close), so
    /// that it never touches the writer's state.
    pub(crate) fn background_checkpoint(&self) -> Result<()> {
        self.check()?;
        let r = checkpoint::run(self, &mut lock(&self.ckpt));
        // Freed here, with the lock released: a close waiting for it goes on meanwhile.
        let r = r.map(drop);
        self.poison_on_io(r)
    }

    /// Final checkpoint and log sync at close (no transaction may be open; the checkpoint
    /// thread has stopped).
    pub fn shutdown(&self) -> Result<()> {
        if self.opts.read_only || self.check().is_err() {
            return Ok(());
        }
        let mut w = self.take_writer()?;
        let mut ck = lock(&self.ckpt);
        if w.wal.holds_nothing()
            && ck.meta.checkpoint_lsn == w.wal.end_lsn()
            && self.store.meta_slots_hold(&ck.meta)
        {
            // Nothing was committed since a clean close left this state (as opening and
            // only reading does): there is nothing to write or fsync.
            drop(ck);
            self.put_writer(w);
            return Ok(());
        }
        let r = self.sync_log(&mut w).and_then(|_| {
            // What it prunes is freed as the handle is (every version goes then).
            let _pruned = checkpoint::run(self, &mut ck)?;
            if ck.meta.checkpoint_lsn == w.wal.end_lsn() {
                // Everything is checkpointed: both meta slots name this state, so the
                // whole log can go.
                let again = Meta {
                    generation: ck.meta.generation + 1,
                    ..ck.meta
                };
                self.store.write_meta(&again)?;
                ck.meta = again;
                w.wal.restart_at_end()?;
                Ok(())
            } else {
                self.retire_segments(&mut w)
            }
        });
        drop(ck);
        let r = self.poison_on_io(r);
        self.put_writer(w);
        r
    }
}
