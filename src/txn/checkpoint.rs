//! The checkpoint: moves committed versions into the data files, makes them durable,
//! advances the meta slot, prunes the version map and retires log segments.
//!
//! It runs with [`Shared::ckpt`] held, on the checkpoint thread or in the caller (an
//! explicit checkpoint, close, or a commit when there is no checkpoint thread), and
//! checkpoints up to P, the oldest snapshot any reader still uses (or the newest commit
//! when none). Every live reader's snapshot, and the writer's, is at or after P, so each
//! record written here (its newest version not newer than P) is one every reader finds in
//! the version map; nobody reads those bytes from the file while they change. Commits
//! made meanwhile add newer versions beside them and never drop P's (the floor in
//! [`CommitState`](super::shared::CommitState)). Once the meta slot names P, versions up
//! to P are pruned and readers fall through to the file, which now holds exactly what they
//! would have found in the map.
//!
//! It also frees the property blobs the records it rewrites stop naming (reusable from the
//! next checkpoint on) and appends the label index chunks of the nodes it adds; see
//! ARCHITECTURE.md, "Space reuse" and "labels".

use super::shared::CkptState;
use super::versions::Pruned;
use super::{Shared, Writer, lock};
use crate::error::Result;
use crate::format::Meta;
use crate::format::adj::AdjList;
use crate::format::props::{BLOB_HEADER, seal, seal_into, unseal};
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::io::Mapping;
use crate::store::{Adj, BlobRef, DataFile, Delta, FreeBase, FreeSpace, Props, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Writes `recs` (sorted by id, each `N` bytes at `id * N`), coalesced (see
/// [`Coalescer`]).
fn write_records<const N: usize>(file: &DataFile, recs: &[(u64, [u8; N])]) -> Result<()> {
    let Some(max) = recs.last().map(|(id, _)| *id) else {
        return Ok(());
    };
    file.grow_to((max + 1) * N as u64)?;
    let mut out = Coalescer::new(file);
    for (id, rec) in recs {
        out.push(id * N as u64, |run| run.extend_from_slice(rec))?;
    }
    out.flush()
}

/// A checkpoint writes the free list as a delta from the last list written whole while
/// the delta would record at most one extent for every this many of that list's.
const DELTA_SHARE: usize = 8;

/// Writes are at most about this many bytes (so the buffer stays small however much a
/// checkpoint writes).
const RUN_BYTES: usize = 4 << 20;

/// Writes separated by at most this many bytes are merged into one.
const GAP: u64 = 4096;

/// Turns a checkpoint's writes, in ascending offset order, into few large ones: a write
/// that starts at most [`GAP`] bytes after the previous one ends joins it, the bytes
/// between them copied from the file as it is. Only a checkpoint writes the data files,
/// under the checkpoint mutex, so those bytes are not changing: writing them again changes
/// nothing a reader, a crash or a power loss could see, and a checkpoint that rewrites
/// records all over a file (a delete phase touches most pages of `edges`) makes a few
/// hundred writes instead of one per record.
struct Coalescer<'a> {
    file: &'a DataFile,
    map: Arc<Mapping>,
    /// Offset of `run`'s first byte.
    start: u64,
    run: Vec<u8>,
}

impl<'a> Coalescer<'a> {
    fn new(file: &'a DataFile) -> Self {
        Coalescer {
            file,
            map: file.current(),
            start: 0,
            run: Vec::new(),
        }
    }

    /// Adds the write at `off` whose bytes `fill` appends to the run.
    fn push(&mut self, off: u64, fill: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        if !self.run.is_empty() {
            let end = self.start + self.run.len() as u64;
            let joined = off >= end
                && off - end <= GAP
                && self.run.len() < RUN_BYTES
                && match self.file.read(&self.map, end, (off - end) as usize) {
                    Some(gap) => {
                        self.run.extend_from_slice(gap);
                        true
                    }
                    None => false,
                };
            if !joined {
                self.flush()?;
            }
        }
        if self.run.is_empty() {
            self.start = off;
        }
        fill(&mut self.run);
        Ok(())
    }

    /// Writes what is buffered.
    fn flush(&mut self) -> Result<()> {
        if !self.run.is_empty() {
            self.file.write_at(&self.run, self.start)?;
            self.run.clear();
        }
        Ok(())
    }
}

/// A blob to write: encoded already, or an adjacency list framed as it is written.
enum Pending {
    Bytes(Arc<[u8]>),
    Adj(Arc<AdjList>),
}

impl Pending {
    /// Its length in the heap.
    fn len(&self) -> usize {
        match self {
            Pending::Bytes(b) => b.len(),
            Pending::Adj(l) => BLOB_HEADER + l.body().len(),
        }
    }

    /// Appends its heap bytes to `run`.
    fn write_into(&self, run: &mut Vec<u8>) {
        match self {
            Pending::Bytes(b) => run.extend_from_slice(b),
            Pending::Adj(l) => seal_into(l.body(), run),
        }
    }
}

/// Where this checkpoint's blobs go: into extents of the free list (when reuse is allowed)
/// or at the end of the heap.
struct Placer {
    /// The list this checkpoint started from, minus what it has taken.
    free: FreeSpace,
    reuse: bool,
    /// End of the heap: where the next appended blob goes.
    end: u64,
    /// (offset, blob) to write.
    writes: Vec<(u64, Pending)>,
    /// The extents taken from the free list, (offset, length).
    taken: Vec<(u64, u64)>,
}

impl Placer {
    /// The heap offset of `props`' blob, placing it when it is in memory.
    fn place(&mut self, props: &Props) -> u64 {
        match props {
            Props::None => 0,
            Props::Heap(off) => *off,
            Props::Mem(b) => self.place_bytes(Pending::Bytes(Arc::clone(b))),
        }
    }

    /// The heap offset of the adjacency blob of `adj`, encoding and placing a list in
    /// memory.
    fn place_adj(&mut self, adj: &Adj) -> u64 {
        match adj {
            Adj::None => 0,
            Adj::Heap(off) => *off,
            Adj::Mem(l) => self.place_bytes(Pending::Adj(Arc::clone(l))),
        }
    }

    /// Places an encoded blob: best fit in the free list when reuse is allowed, else at
    /// the end.
    fn place_bytes(&mut self, b: Pending) -> u64 {
        let n = b.len() as u64;
        let off = match self.reuse.then(|| self.free.take(n)).flatten() {
            Some(off) => {
                self.taken.push((off, n));
                off
            }
            None => {
                self.end += n;
                self.end - n
            }
        };
        self.writes.push((off, b));
        off
    }

    /// Writes the placed blobs, coalesced (see [`Coalescer`]).
    fn write(mut self, heap: &DataFile) -> Result<()> {
        heap.grow_to(self.end)?;
        self.writes.sort_unstable_by_key(|(off, _)| *off);
        let mut out = Coalescer::new(heap);
        for (off, blob) in &self.writes {
            out.push(*off, |run| blob.write_into(run))?;
        }
        out.flush()
    }
}

/// The heap extent of the blob a record on disk names before this checkpoint rewrites it,
/// when the new record names another: it becomes free. A blob that does not verify is left
/// alone (its bytes may not be what the record once named; leaking them is safe).
fn superseded(store: &Store, map: &Mapping, old: u64, new: u64) -> Option<(u64, u64)> {
    if old == 0 || old == new {
        return None;
    }
    let bytes = store.blob_bytes(map, old).ok()?;
    let (_, _, total) = unseal(bytes).ok()?;
    Some((old, total as u64))
}

/// Checkpoints as far as open readers allow. Fsyncs, in order: (C0) the log up to P
/// (nothing to do when the commits up to P were fsynced already), (C1) the heap (new
/// blobs, the next free list), strings and labels files, (C2) the node and edge files,
/// (C3) the meta file; a strings, labels, nodes or edges file it did not write is not
/// fsynced. Returns the versions it pruned, for the caller to drop once it
/// has released the checkpoint lock.
pub(crate) fn run(shared: &Shared, ck: &mut CkptState) -> Result<Option<Pruned>> {
    let r = run_from(shared, ck);
    lock(&shared.state).ckpt_floor = None;
    r
}

/// The checkpoint a commit runs when there is no checkpoint thread (writer lock held):
/// when readers leave something to checkpoint, the log is fsynced first (C0), which in
/// sync mode FULL makes the commit itself durable and visible, so P may include it.
pub(crate) fn run_inline(shared: &Shared, w: &mut Writer) -> Result<()> {
    let mut ck = lock(&shared.ckpt);
    let possible = {
        let st = lock(&shared.state);
        let oldest = st.readers.keys().next().copied().unwrap_or(u64::MAX);
        oldest.min(st.latest.txn) > ck.meta.last_txn
    };
    if !possible {
        return Ok(());
    }
    shared.sync_log(w)?;
    let pruned = run(shared, &mut ck);
    drop(ck);
    pruned.map(drop)
}

/// P: the newest commit not newer than the oldest reader's snapshot, nor than the newest
/// commit a reader may see (sync mode FULL: the newest durable one), whose frames the log
/// holds, and newer than the last checkpoint. With `pin`, commits keep P's versions from
/// now until the checkpoint ends.
fn choose(shared: &Shared, ck: &CkptState, pin: bool) -> Option<super::Snapshot> {
    let appended = shared.group.appended_lsn();
    let mut st = lock(&shared.state);
    let oldest = st.readers.keys().next().copied().unwrap_or(u64::MAX);
    let target = oldest.min(st.visible.txn);
    let p = st
        .history
        .iter()
        .rev()
        .find(|s| s.txn <= target && s.end_lsn <= appended)
        .copied()
        .filter(|p| p.txn > ck.meta.last_txn);
    if pin {
        st.ckpt_floor = p.map(|p| p.txn);
    }
    p
}

fn run_from(shared: &Shared, ck: &mut CkptState) -> Result<Option<Pruned>> {
    // Nothing to do (readers hold it back): return without an fsync.
    let Some(first) = choose(shared, ck, false) else {
        return Ok(None);
    };
    // The label index this checkpoint extends, read now if no one has asked for it yet:
    // a labels file whose chunk headers do not hold stops the checkpoint before it writes.
    let labels = shared.label_index()?;
    // C0: the log is durable up to P before the meta slot says recovery may start at P
    // (sync modes NORMAL and OFF; in FULL a commit is visible only once durable). P is
    // chosen again after it: a reader that began meanwhile holds it back.
    shared.group.wait(shared, first.end_lsn)?;
    let Some(p) = choose(shared, ck, true) else {
        return Ok(None);
    };
    shared.group.wait(shared, p.end_lsn)?;
    let store = &shared.store;

    let (mut nodes, mut edges) = shared
        .versions
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .newest_upto(p.txn);
    nodes.sort_unstable_by_key(|(id, _)| *id);
    edges.sort_unstable_by_key(|(id, _)| *id);
    let heap_at = ck.meta.heap_len.max(store.heap.physical_len()?);
    let generation = ck.meta.generation + 1;
    // The list the meta slot names: read by the first checkpoint after open. One that does
    // not verify is not used, and its blob not freed (the slot may name bytes that now
    // belong to something else).
    let (current, old_list) = match shared.take_free_list() {
        Some(f) => (f, (ck.meta.free_off, ck.meta.free_len)),
        None => match shared.read_free_list_base(&ck.meta) {
            Ok((f, base)) => {
                ck.base = base;
                (f, (ck.meta.free_off, ck.meta.free_len))
            }
            Err(_) => {
                ck.base = None;
                (FreeSpace::default(), (0, 0))
            }
        },
    };
    let mut placer = Placer {
        free: current,
        reuse: generation >= ck.reuse_from,
        end: heap_at,
        writes: Vec::new(),
        taken: Vec::new(),
    };
    // What the records on disk name now and will not name after phase 2: free from the
    // next checkpoint on (never this one: until phase 2 is durable those records still
    // name them).
    let maps = store.maps();
    let mut freed = Vec::new();
    // The label index gains the nodes this checkpoint adds (ids from the last checkpoint's
    // next id to P's), live at P, by label.
    let mut new_by_label: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (id, n) in nodes.iter() {
        if *id >= ck.meta.next_node && *id < p.next_node && n.is_live() {
            new_by_label.entry(n.label).or_default().push(*id);
        }
    }
    let node_recs: Vec<(u64, [u8; NODE_SIZE])> = nodes
        .iter()
        .map(|(id, n)| {
            let off = placer.place(&n.props);
            let adj = placer.place_adj(&n.adj);
            if let Ok(Some(old)) = store.read_node(&maps, *id) {
                freed.extend(superseded(store, &maps.heap, old.props, off));
                freed.extend(superseded(store, &maps.heap, old.adj, adj));
            }
            (*id, n.to_disk(adj, off).encode(*id))
        })
        .collect();
    let edge_recs: Vec<(u64, [u8; EDGE_SIZE])> = edges
        .iter()
        .map(|(id, e)| {
            let off = placer.place(&e.props);
            if let Ok(Some(old)) = store.read_edge(&maps, *id) {
                freed.extend(superseded(store, &maps.heap, old.props, off));
            }
            (*id, e.to_disk(off).encode(*id))
        })
        .collect();
    drop((nodes, edges, maps));

    // The next free list: what is left of this one, what phase 2 frees, and the blobs of
    // the list the meta slot names now that the next one does not name (both slots name
    // lists until the next checkpoint). It is written whole, or as a delta from the last
    // list written whole (its base) while the delta stays small beside the base.
    let (base, retired) = match ck.base.take() {
        // Small beside its base: a new delta, and the one the slot names goes.
        Some(b)
            if (b.delta.map_or(0, |(_, _, n)| n) + freed.len() + placer.taken.len())
                * DELTA_SHARE
                <= b.extents.len() =>
        {
            let old = b.delta.map(|(off, len, _)| (off, len));
            (Some(b), old)
        }
        // Whole: the list the slot names goes, and its base if it is a delta.
        prev => {
            freed.push(old_list);
            let base = prev.filter(|b| b.delta.is_some());
            (None, base.map(|b| (b.blob.off, b.blob.len)))
        }
    };
    freed.extend(retired);
    // The delta from what this checkpoint changed when the base's diff is known, else by
    // walking the whole list and base once.
    let advanced = base.as_ref().and_then(|b| {
        let diff = b.diff.as_ref()?;
        Some(Delta::advance(
            b.blob,
            &b.extents,
            diff,
            &placer.taken,
            &freed,
        ))
    });
    let next_free = std::mem::take(&mut placer.free).union(freed);
    let delta = base.as_ref().map(|b| match advanced {
        Some(d) => {
            debug_assert_eq!(d, Delta::between(b.blob, &b.extents, &next_free));
            d
        }
        None => Delta::between(b.blob, &b.extents, &next_free),
    });
    let body = match &delta {
        Some(d) => Some(d.encode_body()),
        // Nothing free (and so no list blob to free either): no list.
        None if next_free.bytes() == 0 => None,
        None => Some(next_free.encode_body()),
    };
    let (free_off, free_len, free_crc) = match body {
        None => (0, 0, 0),
        Some(body) => {
            let blob: Arc<[u8]> = seal(&body).into();
            let (_, crc, _) = unseal(&blob).map_err(|e| crate::Error::Internal(e.to_string()))?;
            let (off, len) = (placer.end, blob.len() as u64);
            placer.end += len;
            placer.writes.push((off, Pending::Bytes(blob)));
            (off, len, crc)
        }
    };
    // What the next checkpoint writes a delta from.
    let next_base = match (base, delta) {
        (Some(b), Some(d)) => Some(FreeBase {
            delta: Some((free_off, free_len, d.extent_count())),
            diff: Some((d.added, d.removed)),
            ..b
        }),
        _ if free_off == 0 => None,
        _ => Some(FreeBase {
            blob: BlobRef {
                off: free_off,
                len: free_len,
                crc: free_crc,
            },
            extents: next_free.extents().collect(),
            delta: None,
            diff: Some(Default::default()),
        }),
    };

    // Phase 1: new blobs go into extents no record on disk names (freed by an earlier
    // checkpoint) or past every byte one may name (even one written by a checkpoint that
    // crashed before its meta update); the free list after them; strings after the last
    // checkpointed one.
    let heap_end = placer.end;
    if heap_end > crate::format::record::MAX_48 {
        return Err(crate::Error::Internal(format!(
            "the props heap would reach {heap_end} bytes; records address at most 2^48"
        )));
    }
    placer.write(&store.heap)?;
    let (string_count, strings_len) = {
        let t = shared.strings.read().unwrap_or_else(|e| e.into_inner());
        let len = store.append_strings(&t, ck.meta.string_count, ck.meta.strings_len)?;
        (t.len(), len)
    };
    // A file this checkpoint did not write is durable as the last one left it: no fsync
    // (a stream of small commits is checkpointed every few hundred milliseconds, and each
    // fsync costs a device flush beside the commits' own).
    store.heap.sync()?; // C1
    if string_count != ck.meta.string_count {
        store.sync_strings()?; // C1
    }
    let (added, labels_len) = store.append_labels(&new_by_label, ck.meta.labels_len)?;
    if !added.is_empty() {
        store.labels.sync()?; // C1
    }

    // Phase 2: records, written in place; every reader finds them in the version map.
    write_records(&store.nodes, &node_recs)?;
    write_records(&store.edges, &edge_recs)?;
    if !node_recs.is_empty() {
        store.nodes.sync()?; // C2
    }
    if !edge_recs.is_empty() {
        store.edges.sync()?; // C2
    }

    // Phase 3: the meta slot (C3) makes the checkpoint the one recovery starts from.
    let meta = Meta {
        generation,
        db_id: ck.meta.db_id,
        checkpoint_lsn: p.end_lsn,
        last_txn: p.txn,
        next_node: p.next_node,
        next_edge: p.next_edge,
        string_count,
        strings_len,
        heap_len: heap_end,
        live_nodes: p.live_nodes,
        live_edges: p.live_edges,
        free_off,
        free_len,
        free_crc,
        labels_len,
    };
    store.write_meta(&meta)?;
    let prev_checkpoint_lsn = ck.meta.checkpoint_lsn;
    ck.meta = meta;
    shared.publish_free_list(next_free);
    ck.base = next_base;
    shared.publish_label_index(labels.with(&added, p.next_node, labels_len));

    let pruned = shared
        .versions
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .prune(p.txn);
    lock(&shared.state).history.retain(|s| s.txn >= p.txn);
    // Segments are kept back to the previous checkpoint's LSN, so that if the newest meta
    // slot is ever unreadable, the other slot's checkpoint can still be replayed from; the
    // writer removes the older ones (`Shared::retire_segments`).
    shared
        .log
        .retire_before
        .fetch_max(prev_checkpoint_lsn, Ordering::AcqRel);
    shared
        .log
        .checkpoint_lsn
        .store(p.end_lsn, Ordering::Relaxed);
    shared.log.heap_len.store(heap_end, Ordering::Release);
    Ok(Some(pruned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{RealStorage, Storage, StorageFile};
    use std::path::Path;
    use std::sync::Mutex;

    /// A file that records the writes made to it.
    struct Recording {
        inner: Arc<dyn StorageFile>,
        writes: Mutex<Vec<(u64, usize)>>,
    }

    impl StorageFile for Recording {
        fn path(&self) -> &Path {
            self.inner.path()
        }
        fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize> {
            self.inner.read_at(buf, off)
        }
        fn write_at(&self, buf: &[u8], off: u64) -> Result<()> {
            self.writes.lock().unwrap().push((off, buf.len()));
            self.inner.write_at(buf, off)
        }
        fn len(&self) -> Result<u64> {
            self.inner.len()
        }
        fn set_len(&self, len: u64) -> Result<()> {
            self.inner.set_len(len)
        }
        fn sync(&self) -> Result<()> {
            self.inner.sync()
        }
        fn map(&self, len: usize) -> Result<Mapping> {
            self.inner.map(len)
        }
        fn try_lock(&self) -> Result<bool> {
            self.inner.try_lock()
        }
    }

    #[test]
    fn coalesced_writes_keep_the_bytes_between_them() {
        let dir = std::env::temp_dir().join(format!("qv-coalesce-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let fs = RealStorage::open(&dir, true).unwrap();
        let inner = fs.open_file("heap", true).unwrap();
        let before: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
        inner.write_at(&before, 0).unwrap();
        let rec = Arc::new(Recording {
            inner,
            writes: Mutex::new(Vec::new()),
        });
        let file = DataFile::open(Arc::clone(&rec) as Arc<dyn StorageFile>).unwrap();

        // (offset, bytes): the second starts exactly GAP bytes after the first ends, so it
        // joins it; the third starts one byte further than GAP from the second, so it does
        // not; the fourth touches the third.
        let second = 100 + 10 + GAP;
        let third = second + 5 + GAP + 1;
        let writes: [(u64, Vec<u8>); 4] = [
            (100, vec![0xAA; 10]),
            (second, vec![0xBB; 5]),
            (third, vec![0xCC; 3]),
            (third + 3, vec![0xDD; 2]),
        ];
        let mut out = Coalescer::new(&file);
        for (off, bytes) in &writes {
            out.push(*off, |run| run.extend_from_slice(bytes)).unwrap();
        }
        out.flush().unwrap();

        assert_eq!(
            *rec.writes.lock().unwrap(),
            [(100, (second + 5 - 100) as usize), (third, 5)]
        );
        let mut want = before.clone();
        for (off, bytes) in &writes {
            want[*off as usize..*off as usize + bytes.len()].copy_from_slice(bytes);
        }
        let mut got = vec![0u8; before.len()];
        assert_eq!(rec.read_at(&mut got, 0).unwrap(), got.len());
        assert!(got == want, "the bytes between coalesced writes changed");
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
