//! The checkpoint: moves committed versions into the data files, makes them durable,
//! advances the meta slot, prunes the version map and retires log segments.
//!
//! It runs with the writer lock held and checkpoints up to P, the oldest snapshot any
//! reader still uses (or the latest commit when none). Every live reader's snapshot is at
//! or after P, so each record written here (its newest version not newer than P) is one
//! every reader finds in the version map; nobody reads those bytes from the file while
//! they change. Once the meta slot names P, versions up to P are pruned and readers fall
//! through to the file, which now holds exactly what they would have found in the map.

use super::{Shared, Writer, lock};
use crate::error::Result;
use crate::format::Meta;
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::store::{DataFile, Props};
use std::sync::atomic::Ordering;

/// Writes `recs` (sorted by id, each `N` bytes at `id * N`), one write per run of
/// consecutive ids.
fn write_records<const N: usize>(file: &DataFile, recs: &[(u64, [u8; N])]) -> Result<()> {
    let size = N;
    let Some(max) = recs.last().map(|(id, _)| *id) else {
        return Ok(());
    };
    file.grow_to((max + 1) * size as u64)?;
    let mut i = 0;
    while i < recs.len() {
        let start = recs[i].0;
        let mut run = Vec::new();
        let mut j = i;
        while j < recs.len() && recs[j].0 == start + (j - i) as u64 {
            run.extend_from_slice(&recs[j].1);
            j += 1;
        }
        file.write_at(&run, start * size as u64)?;
        i = j;
    }
    Ok(())
}

/// Places `props` in the heap buffer (if in memory) and returns its heap offset.
fn place(props: &Props, heap_at: u64, heap_buf: &mut Vec<u8>) -> u64 {
    match props {
        Props::None => 0,
        Props::Heap(off) => *off,
        Props::Mem(b) => {
            let off = heap_at + heap_buf.len() as u64;
            heap_buf.extend_from_slice(b);
            off
        }
    }
}

/// Checkpoints as far as open readers allow. Fsyncs, in order: (C0) the log, (C1) the
/// heap and strings files, (C2) the node and edge files, (C3) the meta file.
pub(crate) fn run(shared: &Shared, w: &mut Writer) -> Result<()> {
    // P: the newest commit not newer than the oldest reader's snapshot (or the latest).
    let choose = |w: &Writer| {
        let st = lock(&shared.state);
        let oldest = st.readers.keys().next().copied().unwrap_or(u64::MAX);
        let target = oldest.min(st.latest.txn);
        st.history
            .iter()
            .rev()
            .find(|s| s.txn <= target)
            .copied()
            .filter(|p| p.txn > w.meta.last_txn)
    };
    // Nothing to do (readers hold it back): return without an fsync.
    if choose(w).is_none() {
        return Ok(());
    }
    // C0: the log is durable before the meta slot says recovery may start at P. In sync
    // mode FULL this also makes pending commits visible; P is chosen after it, so a reader
    // that began during the fsync (on the older visible snapshot) holds P back.
    shared.sync_log(w)?;
    let Some(p) = choose(w) else {
        return Ok(());
    };
    let store = &shared.store;

    let (nodes, edges) = shared
        .versions
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .newest_upto(p.txn);
    let heap_at = w.meta.heap_len.max(store.heap.physical_len()?);
    let mut heap_buf = Vec::new();
    let mut place = |props: &Props| place(props, heap_at, &mut heap_buf);
    let node_recs: Vec<(u64, [u8; NODE_SIZE])> = nodes
        .iter()
        .map(|(id, n)| (*id, n.to_disk(place(&n.props)).encode(*id)))
        .collect();
    let edge_recs: Vec<(u64, [u8; EDGE_SIZE])> = edges
        .iter()
        .map(|(id, e)| (*id, e.to_disk(place(&e.props)).encode(*id)))
        .collect();
    drop((nodes, edges));

    // Phase 1: new blobs go past every byte a record on disk may point to (even one
    // written by a checkpoint that crashed before its meta update), and strings after
    // the last checkpointed one.
    let heap_end = heap_at + heap_buf.len() as u64;
    if heap_end > crate::format::record::MAX_48 {
        return Err(crate::Error::Internal(format!(
            "the props heap would reach {heap_end} bytes; records address at most 2^48"
        )));
    }
    if !heap_buf.is_empty() {
        store.heap.grow_to(heap_end)?;
        store.heap.write_at(&heap_buf, heap_at)?;
    }
    let (string_count, strings_len) = {
        let t = shared.strings.read().unwrap_or_else(|e| e.into_inner());
        let len = store.append_strings(&t, w.meta.string_count, w.meta.strings_len)?;
        (t.len(), len)
    };
    store.heap.sync()?; // C1
    store.sync_strings()?; // C1

    // Phase 2: records, written in place; every reader finds them in the version map.
    write_records(&store.nodes, &node_recs)?;
    write_records(&store.edges, &edge_recs)?;
    store.nodes.sync()?; // C2
    store.edges.sync()?; // C2

    // Phase 3: the meta slot (C3) makes the checkpoint the one recovery starts from.
    let meta = Meta {
        generation: w.meta.generation + 1,
        db_id: w.meta.db_id,
        checkpoint_lsn: p.end_lsn,
        last_txn: p.txn,
        next_node: p.next_node,
        next_edge: p.next_edge,
        string_count,
        strings_len,
        heap_len: heap_end,
        live_nodes: p.live_nodes,
        live_edges: p.live_edges,
    };
    store.write_meta(&meta)?;
    let prev_checkpoint_lsn = w.meta.checkpoint_lsn;
    w.meta = meta;

    shared
        .versions
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .prune(p.txn);
    lock(&shared.state).history.retain(|s| s.txn >= p.txn);
    // Segments are kept back to the previous checkpoint's LSN, so that if the newest meta
    // slot is ever unreadable, the other slot's checkpoint can still be replayed from.
    w.wal.retire_before(prev_checkpoint_lsn)?;
    shared
        .log
        .wal_bytes
        .store(w.wal.disk_bytes(), Ordering::Relaxed);
    shared
        .log
        .checkpoint_lsn
        .store(p.end_lsn, Ordering::Relaxed);
    shared.log.heap_len.store(heap_end, Ordering::Release);
    Ok(())
}
