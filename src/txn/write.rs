//! The write transaction: its private overlay of records, the undo log that savepoints
//! use, the buffer of log frames (spilled to the log when large), commit and rollback.

use super::shared::lock;
use super::versions::Held;
use super::{Shared, Snapshot, SnapshotReader, Txn, Writer, checkpoint};
use crate::error::{Error, Result};
use crate::format::adj::AdjList;
use crate::format::props::PropBlob;
use crate::format::{Frame, ValueRef};
use crate::options::SyncMode;
use crate::store::apply::Delta;
use crate::store::apply::{edit_adj, no_record};
use crate::store::{Edge, IdMap, NameMap, Node, Props, RecordStore, apply_frame};
use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Frames are written to the log (without fsync) once the buffer passes this size, so a
/// large transaction does not hold all of its log in memory.
const SPILL_BYTES: usize = 4 << 20;

/// With the checkpoint thread, a commit that leaves versions of at least this many
/// records in the version map wakes it, whatever the log's size.
const CHECKPOINT_RECORDS: usize = 1 << 18;

/// In sync mode NORMAL, the log is fsynced when the last fsync is older than this (by the
/// checkpoint thread, or without it by a commit).
pub(crate) const NORMAL_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What a commit leaves its caller to do once it has handed the writer lock on.
#[derive(Default)]
pub(crate) struct Committed {
    /// Sync mode FULL: the LSN the log must be durable up to (`GroupSync::wait`) before
    /// the commit may be reported; the commit is visible to new readers only then.
    pub sync_to: Option<u64>,
    /// The log since the last checkpoint has passed `checkpoint_bytes`: wake the
    /// checkpoint thread (once the commit is durable, so its fsyncs follow the commit's).
    pub checkpoint_due: bool,
    /// The version map is over `Options::checkpoint_memory`: wait for the thread to
    /// finish a checkpoint before returning.
    pub stall: bool,
}

enum Undo {
    Node(u64, Option<Node>),
    Edge(u64, Option<Edge>),
}

struct Savepoint {
    name: String,
    seq: u32,
    undo_len: usize,
    /// LSN just past this savepoint's marker frame.
    after_marker: u64,
    next_node: u64,
    next_edge: u64,
    delta: Delta,
    ops: u64,
    strings: usize,
}

/// Everything a write transaction owns.
pub struct WriteState {
    writer: Writer,
    txn_id: u64,
    base_snap: Snapshot,
    pub(crate) nodes: IdMap<Node>,
    pub(crate) edges: IdMap<Edge>,
    undo: Vec<Undo>,
    savepoints: Vec<Savepoint>,
    next_seq: u32,
    buf: Vec<u8>,
    /// LSN of `buf[0]`.
    buf_lsn: u64,
    spilled: bool,
    pub(crate) next_node: u64,
    pub(crate) next_edge: u64,
    pub(crate) delta: Delta,
    /// Frames with an effect logged so far.
    ops: u64,
    base_strings: u64,
    new_strings: Vec<Arc<CStr>>,
    pub(crate) new_index: NameMap<u32>,
}

impl WriteState {
    pub(crate) fn new(mut writer: Writer, snap: Snapshot, base_strings: u64) -> WriteState {
        let txn_id = writer.next_txn;
        writer.next_txn += 1;
        let buf_lsn = writer.wal.end_lsn();
        let mut buf = Vec::with_capacity(4096);
        Frame::Begin {
            durable_lsn: writer.wal.synced_lsn(),
        }
        .encode(buf_lsn, txn_id, &mut buf);
        WriteState {
            writer,
            txn_id,
            base_snap: snap,
            nodes: IdMap::default(),
            edges: IdMap::default(),
            undo: Vec::new(),
            savepoints: Vec::new(),
            next_seq: 0,
            buf,
            buf_lsn,
            spilled: false,
            next_node: snap.next_node,
            next_edge: snap.next_edge,
            delta: Delta::default(),
            ops: 0,
            base_strings,
            new_strings: Vec::new(),
            new_index: NameMap::default(),
        }
    }

    /// The name of a string this transaction interned.
    pub(crate) fn pending_name(&self, id: u32) -> Option<&Arc<CStr>> {
        let i = (id as u64).checked_sub(self.base_strings + 1)?;
        self.new_strings.get(usize::try_from(i).ok()?)
    }

    fn frame_lsn(&self) -> u64 {
        self.buf_lsn + self.buf.len() as u64
    }

    fn push_frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let lsn = self.frame_lsn();
        frame.encode(lsn, self.txn_id, &mut self.buf);
        if self.buf.len() >= SPILL_BYTES {
            self.writer.wal.append(&self.buf)?;
            self.buf_lsn += self.buf.len() as u64;
            self.buf.clear();
            self.spilled = true;
        }
        Ok(())
    }

    /// Writes the commit frame, syncs as the mode asks, publishes the new versions and
    /// returns the writer lock with what is left to do (see [`Committed`]).
    pub(crate) fn commit(mut self: Box<Self>, shared: &Shared) -> (Writer, Result<Committed>) {
        if self.ops == 0 && !self.spilled {
            // Nothing to commit: no frame was written.
            return (self.writer, Ok(Committed::default()));
        }
        // A transaction begun before a failed fsync must not commit after it.
        if let Err(e) = shared.check() {
            return (self.writer, Err(e));
        }
        let durable = self.write_commit(shared);
        let durable = shared.poison_on_io(durable);
        if let Err(e) = durable {
            return (self.writer, Err(e));
        }
        let held = self.publish(shared);
        let end = self.writer.wal.end_lsn();
        shared.group.appended(end, self.writer.wal.current_file());
        let checkpoint_due =
            end - shared.log.checkpoint_lsn.load(Ordering::Relaxed) >= shared.opts.checkpoint_bytes;
        if checkpoint_due && !shared.opts.checkpoint_thread {
            // No checkpoint thread: the commit that passes the threshold checkpoints,
            // itself included (cheap when readers hold it back). The commit is durable
            // whatever happens here; a failure poisons the handle and the next call
            // reports it.
            let r = checkpoint::run_inline(shared, &mut self.writer);
            let _ = shared.poison_on_io(r);
        }
        let r = shared.retire_segments(&mut self.writer);
        let _ = shared.poison_on_io(r);
        let sync_to = (shared.opts.sync == SyncMode::Full).then_some(end);
        // The thread also checkpoints once the version map holds many records: a few log
        // bytes can change many (a detached delete of a node rewrites every edge and
        // neighbour it has), and a checkpoint's work, the map's memory and what a close
        // must finish grow with them, not with the log.
        let thread = shared.opts.checkpoint_thread;
        let stall = thread && held.bytes > shared.opts.checkpoint_memory;
        let checkpoint_due = (checkpoint_due || held.records >= CHECKPOINT_RECORDS) && thread;
        (
            self.writer,
            Ok(Committed {
                sync_to,
                checkpoint_due,
                stall,
            }),
        )
    }

    fn write_commit(&mut self, shared: &Shared) -> Result<()> {
        let lsn = self.frame_lsn();
        let wal = &mut self.writer.wal;
        Frame::Commit {
            durable_lsn: wal.synced_lsn(),
        }
        .encode(lsn, self.txn_id, &mut self.buf);
        wal.append(&self.buf)?;
        self.buf.clear();
        // Sync mode FULL: the committing thread fsyncs after handing the writer lock on
        // (group commit, `GroupSync`).
        if shared.opts.sync == SyncMode::Normal
            && !shared.opts.checkpoint_thread
            && self.writer.last_sync.elapsed() >= NORMAL_SYNC_INTERVAL
        {
            wal.sync()?;
            self.writer.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Makes the transaction's versions visible: strings first, then records, then the
    /// snapshot that names them (a reader that sees the snapshot finds its versions).
    /// Returns what the version map holds now.
    fn publish(&mut self, shared: &Shared) -> Held {
        {
            let mut t = shared.strings.write().unwrap_or_else(|p| p.into_inner());
            for c in self.new_strings.drain(..) {
                let name = c.to_str().unwrap_or_default().to_owned();
                let _ = t.push_arc(&name, c);
            }
        }
        let nodes = std::mem::take(&mut self.nodes);
        let edges = std::mem::take(&mut self.edges);
        // Readers begin on the visible snapshot, which only moves forward; the next
        // writer's snapshot is at or after it too, and so is the P of a checkpoint that
        // has not chosen it yet. A running checkpoint's P is the floor.
        let keep_from = {
            let st = lock(&shared.state);
            let oldest = st.readers.keys().next().copied().unwrap_or(u64::MAX);
            let floor = st.ckpt_floor.unwrap_or(u64::MAX);
            oldest.min(st.visible.txn).min(floor)
        };
        let held = shared
            .versions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .publish(self.txn_id, nodes, edges, keep_from);
        let b = self.base_snap;
        let latest = Snapshot {
            txn: self.txn_id,
            next_node: self.next_node,
            next_edge: self.next_edge,
            live_nodes: (b.live_nodes as i64 + self.delta.nodes) as u64,
            live_edges: (b.live_edges as i64 + self.delta.edges) as u64,
            end_lsn: self.writer.wal.end_lsn(),
        };
        let mut st = lock(&shared.state);
        st.latest = latest;
        st.history.push_back(latest);
        if shared.opts.sync == SyncMode::Full {
            st.pending.push_back(latest);
        } else {
            st.visible = latest;
        }
        held
    }

    /// Rolls back: nothing was published; frames already spilled are closed with an Abort
    /// frame (recovery would discard them anyway). Returns the writer lock.
    pub(crate) fn abandon(mut self: Box<Self>, shared: &Shared) -> Writer {
        if self.spilled {
            self.buf.clear();
            let lsn = self.frame_lsn();
            Frame::Abort.encode(lsn, self.txn_id, &mut self.buf);
            let r = self.writer.wal.append(&self.buf);
            let _ = shared.poison_on_io(r);
        }
        self.writer
    }
}

/// `apply_frame`'s view of a write transaction: its overlay over its snapshot.
struct Apply<'a> {
    reader: &'a SnapshotReader,
    w: &'a mut WriteState,
}

impl RecordStore for Apply<'_> {
    fn node(&self, id: u64) -> Result<Option<Node>> {
        match self.w.nodes.get(&id) {
            Some(n) => Ok(Some(n.clone())),
            None => self.reader.node(id),
        }
    }

    fn edge(&self, id: u64) -> Result<Option<Edge>> {
        match self.w.edges.get(&id) {
            Some(e) => Ok(Some(e.clone())),
            None => self.reader.edge(id),
        }
    }

    fn put_node(&mut self, id: u64, n: Node) {
        let old = self.w.nodes.insert(id, n);
        if !self.w.savepoints.is_empty() {
            self.w.undo.push(Undo::Node(id, old));
        }
    }

    fn put_edge(&mut self, id: u64, e: Edge) {
        let old = self.w.edges.insert(id, e);
        if !self.w.savepoints.is_empty() {
            self.w.undo.push(Undo::Edge(id, old));
        }
    }

    fn with_prop(&self, props: &Props, key: u32, value: Option<ValueRef<'_>>) -> Result<Props> {
        let bytes = match props {
            Props::Mem(b) => PropBlob::parse(b)
                .map_err(|e| Error::Internal(e.to_string()))?
                .0
                .with(key, value),
            other => self.reader.blob(other)?.with(key, value),
        };
        Ok(Props::Mem(Arc::from(bytes)))
    }

    fn edit_adj(&mut self, id: u64, f: &mut dyn FnMut(&mut AdjList)) -> Result<()> {
        let reader = self.reader;
        // With a savepoint open the old record goes to the undo log, so edit a copy.
        if self.w.savepoints.is_empty() {
            if let Some(n) = self.w.nodes.get_mut(&id) {
                return edit_adj(&mut n.adj, |off| reader.load_adj(off), f);
            }
        }
        let mut n = self.node(id)?.ok_or_else(|| no_record("node", id))?;
        edit_adj(&mut n.adj, |off| reader.load_adj(off), f)?;
        self.put_node(id, n);
        Ok(())
    }

    fn intern(&mut self, id: u32, name: &str) -> Result<()> {
        if self.w.pending_name(id).is_some() {
            return Ok(());
        }
        let c: Arc<CStr> = Arc::from(
            CString::new(name)
                .map_err(|_| Error::InvalidArgument("identifier contains NUL".into()))?,
        );
        self.w.new_strings.push(c);
        self.w.new_index.insert(name.into(), id);
        Ok(())
    }
}

/// Takes the id `*next` and advances it; records hold ids in 48 bits.
fn take_id(next: &mut u64, what: &str) -> Result<u64> {
    let id = *next;
    if id > crate::format::record::MAX_48 {
        return Err(Error::InvalidArgument(format!(
            "the {what} id space (2^48 - 1 ids) is exhausted"
        )));
    }
    *next += 1;
    Ok(id)
}

impl Txn {
    fn write_state(&mut self) -> Result<&mut WriteState> {
        match self.w.as_deref_mut() {
            Some(w) => Ok(w),
            None => Err(Error::ReadOnly("this is a read-only transaction".into())),
        }
    }

    /// Fails with ReadOnly unless this is a write transaction.
    pub(crate) fn require_write(&self) -> Result<()> {
        self.reader.shared.check()?;
        if self.w.is_none() {
            return Err(Error::ReadOnly("this is a read-only transaction".into()));
        }
        Ok(())
    }

    /// Applies `frame` to this transaction's records and logs it. Values read earlier in
    /// the transaction stop being valid. A failure here is corruption or I/O: it poisons
    /// the database, since the overlay may hold part of the frame's effect.
    pub(crate) fn log(&mut self, frame: Frame<'_>) -> Result<()> {
        self.reader.clear_pins();
        let shared = Arc::clone(&self.reader.shared);
        let Some(w) = self.w.as_deref_mut() else {
            return Err(Error::ReadOnly("this is a read-only transaction".into()));
        };
        let r = (|| {
            let d = apply_frame(
                &frame,
                &mut Apply {
                    reader: &self.reader,
                    w: &mut *w,
                },
            )?;
            w.delta.nodes += d.nodes;
            w.delta.edges += d.edges;
            w.ops += 1;
            w.push_frame(&frame)
        })();
        if let Err(e) = &r {
            shared.poison(&format!("write failed midway: {e}"));
        }
        r
    }

    /// The id of `name`, interning it (in this transaction) when new.
    pub(crate) fn intern(&mut self, name: &str) -> Result<u32> {
        if let Some(id) = self.string_id(name) {
            return Ok(id);
        }
        let w = self.write_state()?;
        let id = u32::try_from(w.base_strings + w.new_strings.len() as u64 + 1)
            .map_err(|_| Error::InvalidArgument("too many distinct identifiers".into()))?;
        self.log(Frame::StringInsert { id, name })?;
        Ok(id)
    }

    /// Hands out the next node id.
    pub(crate) fn alloc_node_id(&mut self) -> Result<u64> {
        let w = self.write_state()?;
        take_id(&mut w.next_node, "node")
    }

    /// Hands out the next edge id.
    pub(crate) fn alloc_edge_id(&mut self) -> Result<u64> {
        let w = self.write_state()?;
        take_id(&mut w.next_edge, "edge")
    }

    fn savepoint_names_check(&self, name: &str) -> Result<()> {
        crate::validate::check_ident(name, "savepoint name")?;
        self.require_write()
    }

    /// Starts savepoint `name` (names may repeat; the newest is meant).
    pub fn savepoint(&mut self, name: &str) -> Result<()> {
        self.savepoint_names_check(name)?;
        let shared = Arc::clone(&self.reader.shared);
        let w = self.write_state()?;
        let seq = w.next_seq;
        w.next_seq += 1;
        let r = w.push_frame(&Frame::Savepoint { seq });
        let r = shared.poison_on_io(r);
        r?;
        let sp = Savepoint {
            name: name.to_string(),
            seq,
            undo_len: w.undo.len(),
            after_marker: w.frame_lsn(),
            next_node: w.next_node,
            next_edge: w.next_edge,
            delta: w.delta,
            ops: w.ops,
            strings: w.new_strings.len(),
        };
        w.savepoints.push(sp);
        Ok(())
    }

    fn find_savepoint(&mut self, name: &str) -> Result<usize> {
        self.savepoint_names_check(name)?;
        let w = self.write_state()?;
        w.savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| {
                Error::NotFound(format!("no savepoint named {name:?} in this transaction"))
            })
    }

    /// Undoes everything after savepoint `name`, which stays.
    pub fn rollback_to(&mut self, name: &str) -> Result<()> {
        let i = self.find_savepoint(name)?;
        self.reader.clear_pins();
        let shared = Arc::clone(&self.reader.shared);
        let Some(w) = self.w.as_deref_mut() else {
            return Ok(());
        };
        w.savepoints.truncate(i + 1);
        let sp = &w.savepoints[i];
        let (undo_len, after, seq) = (sp.undo_len, sp.after_marker, sp.seq);
        w.next_node = sp.next_node;
        w.next_edge = sp.next_edge;
        w.delta = sp.delta;
        w.ops = sp.ops;
        let keep_strings = sp.strings;
        while w.undo.len() > undo_len {
            match w.undo.pop() {
                Some(Undo::Node(id, Some(n))) => {
                    w.nodes.insert(id, n);
                }
                Some(Undo::Node(id, None)) => {
                    w.nodes.remove(&id);
                }
                Some(Undo::Edge(id, Some(e))) => {
                    w.edges.insert(id, e);
                }
                Some(Undo::Edge(id, None)) => {
                    w.edges.remove(&id);
                }
                None => break,
            }
        }
        if after >= w.buf_lsn {
            w.buf.truncate((after - w.buf_lsn) as usize);
        } else {
            let r = w.push_frame(&Frame::RollbackTo { seq });
            shared.poison_on_io(r)?;
        }
        // Strings interned after the savepoint stay interned: an id handed out in this
        // transaction never changes meaning (a cursor or a returned name may still refer
        // to it). Their StringInsert frames were in the section just undone, so they are
        // logged again.
        for i in keep_strings..w.new_strings.len() {
            let id = (w.base_strings + i as u64 + 1) as u32;
            let name = w.new_strings[i].to_str().unwrap_or_default().to_owned();
            let r = w.push_frame(&Frame::StringInsert { id, name: &name });
            shared.poison_on_io(r)?;
            w.ops += 1;
        }
        Ok(())
    }

    /// Removes savepoint `name` and every later one; their changes stay.
    pub fn release(&mut self, name: &str) -> Result<()> {
        let i = self.find_savepoint(name)?;
        let w = self.write_state()?;
        w.savepoints.truncate(i);
        if w.savepoints.is_empty() {
            w.undo.clear();
        }
        Ok(())
    }
}
