//! Layer 4: transactions. One writer at a time (the writer lock is the [`Writer`] value
//! itself, moved into the write transaction and back), any number of readers, each on a
//! snapshot: the id of the last transaction committed when it began.
//!
//! A transaction reads a record from, in order: its own writes (writers only), the version
//! map (newest version not newer than its snapshot), the data file.

mod checkpoint;
mod group;
mod versions;
mod write;

pub use versions::Versions;
pub use write::WriteState;

use crate::error::{Error, Result};
use crate::format::meta::Meta;
use crate::format::props::PropBlob;
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::format::{EdgeRec, NodeRec};
use crate::io::{Mapping, Storage};
use crate::options::Options;
use crate::store::{DataFile, Edge, Node, Props, Store, StringTable};
use crate::wal::Wal;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::CStr;
use crate::recovery::RecoveryStats;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::Instant;

/// The state a transaction sees: everything committed up to transaction `txn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Id of the newest committed transaction included.
    pub txn: u64,
    /// Node ids below this may exist.
    pub next_node: u64,
    /// Edge ids below this may exist.
    pub next_edge: u64,
    /// Live nodes.
    pub live_nodes: u64,
    /// Live edges.
    pub live_edges: u64,
    /// LSN just past this transaction's commit frame.
    pub end_lsn: u64,
}

/// The single writer's private state: only the holder of the writer lock touches it.
pub struct Writer {
    /// The log.
    pub wal: Wal,
    /// The newest checkpoint, as written in the meta file.
    pub meta: Meta,
    /// The id the next write transaction gets.
    pub next_txn: u64,
    /// When the log was last fsynced (sync mode NORMAL).
    pub last_sync: Instant,
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
}

/// Counters that `stats` reads without taking the writer lock.
#[derive(Default)]
pub(crate) struct LogCounters {
    pub wal_bytes: AtomicU64,
    pub checkpoint_lsn: AtomicU64,
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
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    pub(crate) opts: Options,
    pub(crate) recovery: RecoveryStats,
    pub(crate) log: LogCounters,
    pub(crate) group: group::GroupSync,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
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
        opts: Options,
        recovery: RecoveryStats,
    ) -> Shared {
        let log = LogCounters::default();
        let synced = writer.as_ref().map_or_else(
            || Arc::new(AtomicU64::new(latest.end_lsn)),
            |w| w.wal.synced_counter(),
        );
        if let Some(w) = &writer {
            log.wal_bytes.store(w.wal.disk_bytes(), Ordering::Relaxed);
            log.checkpoint_lsn
                .store(w.meta.checkpoint_lsn, Ordering::Relaxed);
        }
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
            }),
            writer: Mutex::new(writer),
            writer_cv: Condvar::new(),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            opts,
            recovery,
            log,
            group: group::GroupSync::new(synced),
        }
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
    fn begin_read(&self) -> Snapshot {
        let mut st = lock(&self.state);
        let s = st.visible;
        *st.readers.entry(s.txn).or_insert(0) += 1;
        st.open_txns += 1;
        s
    }

    fn end_txn(&self, reader_snap: Option<u64>) {
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

    /// Log bytes on disk.
    pub fn wal_bytes(&self) -> u64 {
        self.log.wal_bytes.load(Ordering::Relaxed)
    }

    /// LSN the last checkpoint covers.
    pub fn checkpoint_lsn(&self) -> u64 {
        self.log.checkpoint_lsn.load(Ordering::Relaxed)
    }

    /// Runs a checkpoint as far as open readers allow (takes the writer lock).
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
        let r = self
            .sync_log(&mut w)
            .and_then(|_| checkpoint::run(self, &mut w));
        let r = self.poison_on_io(r);
        self.put_writer(w);
        r
    }

    /// Final checkpoint and log sync at close (no transaction may be open).
    pub fn shutdown(&self) -> Result<()> {
        if self.opts.read_only || self.check().is_err() {
            return Ok(());
        }
        let mut w = self.take_writer()?;
        let r = checkpoint::run(self, &mut w).and_then(|_| {
            self.sync_log(&mut w)?;
            if w.meta.checkpoint_lsn == w.wal.end_lsn() {
                // Everything is checkpointed: both meta slots name this state, so the
                // whole log can go.
                let again = Meta {
                    generation: w.meta.generation + 1,
                    ..w.meta
                };
                self.store.write_meta(&again)?;
                w.meta = again;
                w.wal.restart_at_end()?;
            }
            Ok(())
        });
        let r = self.poison_on_io(r);
        self.put_writer(w);
        r
    }
}

/// A pinned allocation whose bytes a transaction has handed out.
enum Pin {
    Blob(Arc<[u8]>),
    Map(#[expect(dead_code, reason = "held only to keep the mapping alive")] Arc<Mapping>),
}

/// The read side of every transaction.
pub struct Base {
    pub(crate) shared: Arc<Shared>,
    pub(crate) snap: Snapshot,
    maps: [Arc<Mapping>; 3],
    /// Allocations whose bytes were returned; kept until the next write or the end.
    pins: RefCell<Vec<Pin>>,
    /// Names whose pointers were returned; kept until the end.
    names: RefCell<HashMap<u32, Arc<CStr>>>,
}

/// A transaction: a read snapshot, plus the writer's state for write transactions.
pub struct Txn {
    pub(crate) base: Base,
    pub(crate) w: Option<Box<WriteState>>,
    ended: bool,
}

impl Base {
    fn new(shared: Arc<Shared>, snap: Snapshot) -> Base {
        let maps = [
            shared.store.nodes.current(),
            shared.store.edges.current(),
            shared.store.heap.current(),
        ];
        Base {
            shared,
            snap,
            maps,
            pins: RefCell::new(Vec::new()),
            names: RefCell::new(HashMap::new()),
        }
    }

    /// Bytes of a data file, through this transaction's map or, past it, the newest one.
    fn with_bytes<R>(
        &self,
        which: usize,
        file: &DataFile,
        off: u64,
        n: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        if let Some(b) = file.read(&self.maps[which], off, n) {
            return Some(f(b));
        }
        let cur = file.current();
        file.read(&cur, off, n).map(f)
    }

    /// Node `id` as committed in this snapshot.
    pub(crate) fn node(&self, id: u64) -> Result<Option<Node>> {
        if id == 0 || id >= self.snap.next_node {
            return Ok(None);
        }
        if let Some(n) = read(&self.shared.versions).node(id, self.snap.txn) {
            return Ok(Some(n));
        }
        let r = self.disk_record(
            0,
            &self.shared.store.nodes,
            id,
            NODE_SIZE,
            "node",
            NodeRec::decode,
            |r| r.flags,
        )?;
        Ok(Some(Node::from_disk(&r)))
    }

    /// Edge `id` as committed in this snapshot.
    pub(crate) fn edge(&self, id: u64) -> Result<Option<Edge>> {
        if id == 0 || id >= self.snap.next_edge {
            return Ok(None);
        }
        if let Some(e) = read(&self.shared.versions).edge(id, self.snap.txn) {
            return Ok(Some(e));
        }
        let r = self.disk_record(
            1,
            &self.shared.store.edges,
            id,
            EDGE_SIZE,
            "edge",
            EdgeRec::decode,
            |r| r.flags,
        )?;
        Ok(Some(Edge::from_disk(&r)))
    }

    /// The record of committed id `id` from the data file. Every id below the snapshot's
    /// bound was committed (rolled-back ids are handed out again before any commit), and
    /// a committed record is in the version map until a checkpoint has written it; so a
    /// missing, empty or damaged slot here is corruption, reported with file and offset.
    #[expect(
        clippy::too_many_arguments,
        reason = "the node and edge cases differ only in these"
    )]
    fn disk_record<R>(
        &self,
        which: usize,
        file: &DataFile,
        id: u64,
        size: usize,
        what: &str,
        decode: fn(&[u8], u64) -> Result<R, crate::format::DecodeError>,
        flags: fn(&R) -> u32,
    ) -> Result<R> {
        let off = id * size as u64;
        let bad = |why: String| {
            Error::Corrupt(format!(
                "{} offset {off}: {what} {id}: {why}",
                file.path().display()
            ))
        };
        match self.with_bytes(which, file, off, size, |b| decode(b, id)) {
            None => Err(bad(format!(
                "past the end of the file ({} bytes)",
                file.len()
            ))),
            Some(Ok(r)) if flags(&r) == crate::format::record::FLAG_EMPTY => {
                Err(bad("the slot of a committed record is empty".into()))
            }
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(bad(e.to_string())),
        }
    }

    /// The property blob `props` names, borrowed for as long as this transaction is not
    /// written to.
    pub(crate) fn blob<'t>(&'t self, props: &Props) -> Result<PropBlob<'t>> {
        let bytes: &'t [u8] = match props {
            Props::None => return Ok(PropBlob::EMPTY),
            Props::Mem(b) => self.pin_blob(b),
            Props::Heap(off) => self.heap_bytes(*off)?,
        };
        PropBlob::parse(bytes)
            .map(|(b, _)| b)
            .map_err(|e| self.heap_corrupt(props, &e.to_string()))
    }

    fn heap_corrupt(&self, props: &Props, why: &str) -> Error {
        match props {
            Props::Heap(off) => Error::Corrupt(format!(
                "{} offset {off}: property blob: {why}",
                self.shared.store.heap.path().display()
            )),
            _ => Error::Internal(format!("in-memory property blob: {why}")),
        }
    }

    /// The whole blob at heap offset `off`.
    fn heap_bytes<'t>(&'t self, off: u64) -> Result<&'t [u8]> {
        let heap = &self.shared.store.heap;
        let props = Props::Heap(off);
        if off.checked_add(8).is_none_or(|end| end > heap.len()) {
            return Err(self.heap_corrupt(&props, "offset past the end of the heap"));
        }
        // A checkpoint since this transaction began may have grown the heap past its map.
        let map: &'t Mapping = if self.maps[2].len() as u64 >= heap.len() {
            &self.maps[2]
        } else {
            self.pin_map(heap.current())
        };
        let header = heap
            .read(map, off, 8)
            .ok_or_else(|| self.heap_corrupt(&props, "header out of range"))?;
        let n =
            PropBlob::total_len(header).map_err(|e| self.heap_corrupt(&props, &e.to_string()))?;
        heap.read(map, off, n).ok_or_else(|| {
            self.heap_corrupt(&props, &format!("blob of {n} bytes runs past the end"))
        })
    }

    /// Keeps `map` alive until the transaction ends and borrows it.
    fn pin_map(&self, map: Arc<Mapping>) -> &Mapping {
        let ptr: *const Mapping = Arc::as_ptr(&map);
        self.pins.borrow_mut().push(Pin::Map(map));
        // SAFETY: the Mapping lives in an Arc now held by `pins`, which only `clear_pins`
        // (taking `&mut self`, so no shared borrow of `self` is alive) or drop empties; an
        // Arc's contents never move. The reference is valid for the borrow `'t`.
        unsafe { &*ptr }
    }

    /// Keeps `blob` alive until the next write or the end of the transaction and borrows
    /// its bytes.
    fn pin_blob<'t>(&'t self, blob: &Arc<[u8]>) -> &'t [u8] {
        let ptr: *const [u8] = Arc::as_ptr(blob);
        let mut pins = self.pins.borrow_mut();
        // Repeated reads of the same blob pin it once.
        if !matches!(pins.last(), Some(Pin::Blob(b)) if Arc::ptr_eq(b, blob)) {
            pins.push(Pin::Blob(Arc::clone(blob)));
        }
        // SAFETY: the bytes belong to an Arc now held in `pins`, which only `clear_pins`
        // (taking `&mut self`, so no borrow of `self` can be alive) or drop empties; an
        // Arc's contents never move. The slice is therefore valid for the borrow `'t`.
        unsafe { &*ptr }
    }

    /// Forgets returned values (a write makes them invalid, as the C API documents).
    pub(crate) fn clear_pins(&mut self) {
        self.pins.get_mut().clear();
    }

    /// The name of string `id`, valid until the transaction ends.
    pub(crate) fn name_of<'t>(&'t self, id: u32, pending: Option<&Arc<CStr>>) -> Result<&'t CStr> {
        let mut names = self.names.borrow_mut();
        let arc = match names.get(&id) {
            Some(a) => Arc::clone(a),
            None => {
                let a = match pending {
                    Some(p) => Arc::clone(p),
                    None => read(&self.shared.strings)
                        .name(id)
                        .cloned()
                        .ok_or_else(|| {
                            Error::Corrupt(format!("string id {id} is not in the string table"))
                        })?,
                };
                names.insert(id, Arc::clone(&a));
                a
            }
        };
        let ptr: *const CStr = Arc::as_ptr(&arc);
        // SAFETY: `names` holds this Arc until the transaction is dropped and entries are
        // never removed or replaced before then; an Arc's contents never move.
        Ok(unsafe { &*ptr })
    }
}

impl Txn {
    /// Starts a read transaction on the latest snapshot.
    pub(crate) fn begin_read(shared: &Arc<Shared>) -> Result<Txn> {
        shared.check()?;
        let snap = shared.begin_read();
        Ok(Txn {
            base: Base::new(Arc::clone(shared), snap),
            w: None,
            ended: false,
        })
    }

    /// Starts the write transaction, waiting for the writer lock up to the busy timeout.
    pub(crate) fn begin_write(shared: &Arc<Shared>) -> Result<Txn> {
        shared.check()?;
        if shared.opts.read_only {
            return Err(Error::ReadOnly(format!(
                "{}: opened read-only",
                shared.fs.root().display()
            )));
        }
        let writer = shared.take_writer()?;
        if let Err(e) = shared.check() {
            shared.put_writer(writer);
            return Err(e);
        }
        let snap = {
            let mut st = lock(&shared.state);
            st.open_txns += 1;
            st.latest
        };
        let base_strings = read(&shared.strings).len();
        let w = WriteState::new(writer, snap, base_strings);
        Ok(Txn {
            base: Base::new(Arc::clone(shared), snap),
            w: Some(Box::new(w)),
            ended: false,
        })
    }

    /// Whether this is a write transaction.
    pub fn is_write(&self) -> bool {
        self.w.is_some()
    }

    /// The shared database.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.base.shared
    }

    /// Node `id` as this transaction sees it.
    pub(crate) fn node(&self, id: u64) -> Result<Option<Node>> {
        if let Some(w) = &self.w {
            if let Some(n) = w.nodes.get(&id) {
                return Ok(Some(n.clone()));
            }
        }
        self.base.node(id)
    }

    /// Edge `id` as this transaction sees it.
    pub(crate) fn edge(&self, id: u64) -> Result<Option<Edge>> {
        if let Some(w) = &self.w {
            if let Some(e) = w.edges.get(&id) {
                return Ok(Some(e.clone()));
            }
        }
        self.base.edge(id)
    }

    /// The property blob `props` names.
    pub(crate) fn blob<'t>(&'t self, props: &Props) -> Result<PropBlob<'t>> {
        self.base.blob(props)
    }

    /// The id of string `name`, if interned (committed, or by this transaction).
    pub fn string_id(&self, name: &str) -> Option<u32> {
        if let Some(w) = &self.w {
            if let Some(id) = w.new_index.get(name) {
                return Some(*id);
            }
        }
        read(&self.base.shared.strings).id(name)
    }

    /// The name of string `id`, valid until the transaction ends.
    pub fn name_of(&self, id: u32) -> Result<&CStr> {
        let pending = self.w.as_ref().and_then(|w| w.pending_name(id));
        self.base.name_of(id, pending)
    }

    /// One past the highest node id this transaction may see.
    pub(crate) fn node_bound(&self) -> u64 {
        self.w
            .as_ref()
            .map_or(self.base.snap.next_node, |w| w.next_node)
    }

    /// One past the highest edge id this transaction may see.
    pub(crate) fn edge_bound(&self) -> u64 {
        self.w
            .as_ref()
            .map_or(self.base.snap.next_edge, |w| w.next_edge)
    }

    /// Live nodes and edges as this transaction sees them.
    pub fn live_counts(&self) -> (u64, u64) {
        let s = &self.base.snap;
        match &self.w {
            Some(w) => (
                (s.live_nodes as i64 + w.delta.nodes) as u64,
                (s.live_edges as i64 + w.delta.edges) as u64,
            ),
            None => (s.live_nodes, s.live_edges),
        }
    }

    /// The id of the newest committed transaction this one sees (transaction ids count
    /// commits up from 1; 0 before the first).
    pub fn snapshot_txn(&self) -> u64 {
        self.base.snap.txn
    }

    /// The snapshot this transaction reads.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.base.snap
    }

    /// Ends a read transaction, or abandons a write transaction (nothing it did remains).
    pub fn rollback(mut self) {
        self.end_rollback();
    }

    fn end_rollback(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        match self.w.take() {
            Some(w) => {
                let writer = w.abandon(&self.base.shared);
                self.base.shared.put_writer(writer);
                self.base.shared.end_txn(None);
            }
            None => self.base.shared.end_txn(Some(self.base.snap.txn)),
        }
    }

    /// Commits (a read transaction just ends). Consumes the transaction whatever happens.
    pub fn commit(mut self) -> Result<()> {
        let Some(w) = self.w.take() else {
            self.end_rollback();
            return Ok(());
        };
        self.ended = true;
        let shared = Arc::clone(&self.base.shared);
        let (writer, result) = w.commit(&shared);
        shared.put_writer(writer);
        // Sync mode FULL: wait (outside the writer lock, so the next writer can append)
        // until an fsync covers the commit frame.
        let result = match result {
            Ok(Some(end)) => shared.group.wait(&shared, end),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        shared.end_txn(None);
        result
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        self.end_rollback();
    }
}
