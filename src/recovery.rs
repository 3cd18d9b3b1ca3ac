//! Layer 3: recovery on open. Replays the log from the checkpoint LSN onto the data files
//! as they are (possibly holding part of a checkpoint that crashed), collecting the result
//! as in-memory versions; cuts off a torn tail. It never writes the data files, so a crash
//! during recovery leaves the same files for the next attempt.

use crate::error::{Error, Result};
use crate::format::adj::AdjList;
use crate::format::frame::Frame;
use crate::format::props::PropBlob;
use crate::format::{Meta, ValueRef};
use crate::io::Storage;
use crate::options::Options;
use crate::store::apply::{edit_adj, no_record};
use crate::store::{
    Edge, IdMap, Node, PageReads, Props, RecordStore, Store, StringTable, apply_frame,
};
use crate::wal::{self, Wal, scan_log, segment_name};

use std::sync::Arc;
use std::time::Instant;

/// What recovery did when the database was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Committed transactions replayed from the log.
    pub txns_replayed: u64,
    /// Aborted or incomplete transactions discarded.
    pub txns_discarded: u64,
    /// Node frames replayed.
    pub nodes: u64,
    /// Edge frames replayed.
    pub edges: u64,
    /// Property frames replayed.
    pub props: u64,
    /// Log bytes read.
    pub wal_bytes_scanned: u64,
    /// Torn-tail bytes cut off.
    pub bytes_truncated: u64,
    /// Time taken, in microseconds.
    pub micros: u64,
}

/// The state recovery rebuilt.
pub struct Recovered {
    /// Records changed by the replayed transactions.
    pub nodes: IdMap<Node>,
    /// Edges changed by the replayed transactions.
    pub edges: IdMap<Edge>,
    /// The newest committed transaction's id.
    pub last_txn: u64,
    /// Node ids below this were handed out by a committed transaction.
    pub next_node: u64,
    /// Edge ids below this were handed out by a committed transaction.
    pub next_edge: u64,
    /// Live nodes after the last committed transaction.
    pub live_nodes: u64,
    /// Live edges after the last committed transaction.
    pub live_edges: u64,
    /// LSN where the valid log ends.
    pub end_lsn: u64,
    /// Bytes of log on disk once the torn tail is cut.
    pub wal_bytes: u64,
    /// The log, ready for appending (None when read-only).
    pub wal: Option<Wal>,
    /// What recovery did.
    pub stats: RecoveryStats,
}

struct Replay<'a> {
    store: &'a Store,
    /// Reads of the data files, by `pread` (see `store/pages.rs`).
    reads: PageReads<'a>,
    /// Ids below these were committed before the checkpoint, so their slots hold records.
    checkpointed: (u64, u64),
    nodes: IdMap<Node>,
    edges: IdMap<Edge>,
    strings: &'a mut StringTable,
}

impl Replay<'_> {
    /// A record read from a data file: an id below the checkpoint's bound was committed
    /// before the checkpoint, so its slot must hold it; above, an empty slot means the
    /// record is created by the log.
    fn checkpointed<T>(
        &self,
        found: Option<T>,
        what: &str,
        id: u64,
        bound: u64,
    ) -> Result<Option<T>> {
        match found {
            None if id < bound => Err(self.store.missing_record(
                what,
                id,
                "the slot of a checkpointed record is empty or missing",
            )),
            found => Ok(found),
        }
    }
}

impl RecordStore for Replay<'_> {
    fn node(&self, id: u64) -> Result<Option<Node>> {
        if let Some(n) = self.nodes.get(&id) {
            return Ok(Some(n.clone()));
        }
        let r = self.reads.node(id)?;
        self.checkpointed(
            r.as_ref().map(Node::from_disk),
            "node",
            id,
            self.checkpointed.0,
        )
    }

    fn edge(&self, id: u64) -> Result<Option<Edge>> {
        if let Some(e) = self.edges.get(&id) {
            return Ok(Some(e.clone()));
        }
        let r = self.reads.edge(id)?;
        self.checkpointed(
            r.as_ref().map(Edge::from_disk),
            "edge",
            id,
            self.checkpointed.1,
        )
    }

    fn put_node(&mut self, id: u64, n: Node) {
        self.nodes.insert(id, n);
    }

    fn put_edge(&mut self, id: u64, e: Edge) {
        self.edges.insert(id, e);
    }

    fn with_prop(&self, props: &Props, key: u32, value: Option<ValueRef<'_>>) -> Result<Props> {
        let bytes = match props {
            Props::None => PropBlob::EMPTY.with(key, value),
            Props::Mem(b) => PropBlob::parse(b)
                .map_err(|e| Error::Internal(e.to_string()))?
                .0
                .with(key, value),
            Props::Heap(off) => self.reads.blob_with(*off, key, value)?,
        };
        Ok(Props::Mem(Arc::from(bytes)))
    }

    fn intern(&mut self, id: u32, name: &str) -> Result<()> {
        self.strings.assign(id, name)
    }

    fn edit_adj(&mut self, id: u64, f: &mut dyn FnMut(&mut AdjList)) -> Result<()> {
        let reads = &self.reads;
        let load = |off| reads.adj(off);
        if let Some(n) = self.nodes.get_mut(&id) {
            return edit_adj(&mut n.adj, load, f);
        }
        let mut n = self.node(id)?.ok_or_else(|| no_record("node", id))?;
        edit_adj(&mut n.adj, load, f)?;
        self.nodes.insert(id, n);
        Ok(())
    }
}

/// Replays the log of the database in `fs` from `meta`'s checkpoint.
pub fn recover(
    fs: &Arc<dyn Storage>,
    store: &Store,
    meta: &Meta,
    strings: &mut StringTable,
    opts: &Options,
) -> Result<Recovered> {
    let started = Instant::now();
    let mut stats = RecoveryStats::default();
    let mut rp = Replay {
        store,
        reads: PageReads::new(store),
        checkpointed: (meta.next_node, meta.next_edge),
        nodes: IdMap::default(),
        edges: IdMap::default(),
        strings,
    };
    let (mut next_node, mut next_edge) = (meta.next_node, meta.next_edge);
    let (mut live_nodes, mut live_edges) = (meta.live_nodes as i64, meta.live_edges as i64);
    let scan = scan_log(&**fs, meta.db_id, meta.checkpoint_lsn, |t| {
        for f in t.frames {
            let d = apply_frame(f, &mut rp)?;
            live_nodes += d.nodes;
            live_edges += d.edges;
            match *f {
                Frame::NodeInsert { id, .. } | Frame::NodeDelete { id } => {
                    stats.nodes += 1;
                    next_node = next_node.max(id + 1);
                }
                Frame::EdgeInsert { id, .. } | Frame::EdgeDelete { id, .. } => {
                    stats.edges += 1;
                    next_edge = next_edge.max(id + 1);
                }
                Frame::PropSet { .. } | Frame::PropUnset { .. } => stats.props += 1,
                _ => {}
            }
        }
        Ok(())
    })?;
    let last_txn = meta.last_txn.max(scan.last_txn);
    let Replay { nodes, edges, .. } = rp;
    stats.txns_replayed = scan.txns_replayed;
    stats.txns_discarded = scan.txns_discarded;
    stats.wal_bytes_scanned = scan.bytes_scanned;
    stats.bytes_truncated = scan.bytes_truncated;
    if live_nodes < 0 || live_edges < 0 {
        return Err(Error::Corrupt(format!(
            "{}: replaying the log leaves {live_nodes} nodes and {live_edges} edges",
            fs.root().display()
        )));
    }
    let wal = if opts.read_only {
        None
    } else {
        Some(repair_log(fs, meta, &scan, opts)?)
    };
    stats.micros = started.elapsed().as_micros() as u64;
    Ok(Recovered {
        nodes,
        edges,
        last_txn,
        next_node,
        next_edge,
        live_nodes: live_nodes as u64,
        live_edges: live_edges as u64,
        end_lsn: scan.end_lsn,
        wal_bytes: scan.kept_bytes,
        wal,
        stats,
    })
}

/// Cuts the torn tail, makes the log that was replayed durable, removes segments no longer
/// needed, and resumes the log.
///
/// The fsync matters even without a torn tail: after a process crash the replayed frames
/// may still be only in the page cache. Readers are about to see them, and the next
/// transaction's Begin frame will vouch that they are durable. It is left out when the
/// log holds nothing past the checkpoint in a single segment, as after a clean close:
/// nothing is replayed, nothing cut, and that segment's header was fsynced when it was
/// made (a second segment would mean an end marker the fsync must vouch for).
fn repair_log(
    fs: &Arc<dyn Storage>,
    meta: &Meta,
    scan: &wal::LogScan,
    opts: &Options,
) -> Result<Wal> {
    let settled = scan.segments.len() == 1
        && scan.truncate_at.is_none()
        && scan.end_lsn == meta.checkpoint_lsn;
    for (seg, f) in scan.segments.iter().zip(&scan.files).filter(|_| !settled) {
        if let Some((number, len)) = scan.truncate_at {
            if number == seg.number {
                f.set_len(len)?;
            }
        }
        f.sync()?;
    }
    for n in &scan.remove {
        fs.remove(&segment_name(*n))?;
    }
    if !scan.remove.is_empty() {
        fs.sync_dir()?;
    }
    let cur = scan
        .files
        .last()
        .cloned()
        .ok_or_else(|| Error::Internal("no segment".into()))?;
    Wal::resume(
        Arc::clone(fs),
        meta.db_id,
        scan.segments.clone(),
        cur,
        scan.end_lsn,
        opts.segment_bytes,
    )
}
