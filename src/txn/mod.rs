//! Layer 4: transactions. One writer at a time (the writer lock is the [`Writer`] value
//! itself, moved into the write transaction and back), any number of readers, each on a
//! snapshot: the id of the last transaction committed when it began.
//!
//! A transaction reads a record from, in order: its own writes (writers only), the version
//! map (newest version not newer than its snapshot), the data file.
//!
//! `shared.rs` is the open database every thread shares; `read.rs` the snapshot read path;
//! `write.rs` the write path and savepoints; this file the transaction's lifecycle.

mod background;
mod checkpoint;
mod group;
mod read;
mod shared;
mod versions;
mod write;

pub use background::{Checkpointer, spawn_checkpointer};
pub use read::SnapshotReader;
pub use shared::{CkptState, Shared, Writer};
pub use versions::Versions;
pub use write::WriteState;

use crate::error::{Error, Result};
use crate::format::ValueRef;
use crate::format::props::PropBlob;
use crate::store::{Adj, Adjacency, Edge, Node, Props};
use shared::{lock, read};
use std::ffi::CStr;
use std::sync::Arc;

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

/// A transaction: a read snapshot, plus the writer's state for write transactions.
pub struct Txn {
    pub(crate) reader: SnapshotReader,
    pub(crate) w: Option<Box<WriteState>>,
    ended: bool,
}

impl Txn {
    /// Starts a read transaction on the latest snapshot.
    pub(crate) fn begin_read(shared: &Arc<Shared>) -> Result<Txn> {
        shared.check()?;
        let snap = shared.begin_read();
        Ok(Txn {
            reader: SnapshotReader::new(Arc::clone(shared), snap),
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
            reader: SnapshotReader::new(Arc::clone(shared), snap),
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
        &self.reader.shared
    }

    /// Node `id` as this transaction sees it.
    pub(crate) fn node(&self, id: u64) -> Result<Option<Node>> {
        if let Some(w) = &self.w {
            if let Some(n) = w.nodes.get(&id) {
                return Ok(Some(n.clone()));
            }
        }
        self.reader.node(id)
    }

    /// The length of node `id`'s adjacency body (0: no edges), or None when the node is not
    /// live for this transaction. A list in the heap is measured by its blob's length
    /// field, which its first edit reads anyway.
    pub(crate) fn adj_len(&self, id: u64) -> Result<Option<usize>> {
        let from = |n: &Node| -> Result<Option<usize>> {
            if !n.is_live() {
                return Ok(None);
            }
            Ok(Some(match &n.adj {
                Adj::None => 0,
                Adj::Mem(l) => l.body().len(),
                Adj::Heap(off) => self.reader.adj_blob_len(*off)?,
            }))
        };
        if let Some(w) = &self.w {
            if let Some(n) = w.nodes.get(&id) {
                return from(n);
            }
        }
        match self.reader.node(id)? {
            Some(n) => from(&n),
            None => Ok(None),
        }
    }

    /// Edge `id` as this transaction sees it.
    pub(crate) fn edge(&self, id: u64) -> Result<Option<Edge>> {
        if let Some(w) = &self.w {
            if let Some(e) = w.edges.get(&id) {
                return Ok(Some(e.clone()));
            }
        }
        self.reader.edge(id)
    }

    /// The adjacency `adj` names, for a cursor to keep.
    pub(crate) fn adjacency(&self, adj: &Adj) -> Result<Adjacency> {
        self.reader.adjacency(adj)
    }

    /// The property blob `props` names.
    pub(crate) fn blob<'t>(&'t self, props: &Props) -> Result<PropBlob<'t>> {
        self.reader.blob(props)
    }

    /// Property `key` of the blob `props` names ([`SnapshotReader::prop`]).
    pub(crate) fn prop(&self, props: &Props, key: u32) -> Result<Option<ValueRef<'_>>> {
        self.reader.prop(props, key)
    }

    /// The id of string `name`, if interned (committed, or by this transaction).
    pub fn string_id(&self, name: &str) -> Option<u32> {
        if let Some(w) = &self.w {
            if let Some(id) = w.new_index.get(name) {
                return Some(*id);
            }
        }
        self.reader.committed_string_id(name)
    }

    /// The name of string `id`, valid until the transaction ends.
    pub fn name_of(&self, id: u32) -> Result<&CStr> {
        let pending = self.w.as_ref().and_then(|w| w.pending_name(id));
        self.reader.name_of(id, pending)
    }

    /// One past the highest node id this transaction may see.
    pub(crate) fn node_bound(&self) -> u64 {
        self.w
            .as_ref()
            .map_or(self.reader.snap.next_node, |w| w.next_node)
    }

    /// One past the highest edge id this transaction may see.
    pub(crate) fn edge_bound(&self) -> u64 {
        self.w
            .as_ref()
            .map_or(self.reader.snap.next_edge, |w| w.next_edge)
    }

    /// Live nodes and edges as this transaction sees them.
    pub fn live_counts(&self) -> (u64, u64) {
        let s = &self.reader.snap;
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
        self.reader.snap.txn
    }

    /// The snapshot this transaction reads.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.reader.snap
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
                let writer = w.abandon(&self.reader.shared);
                self.reader.shared.put_writer(writer);
                self.reader.shared.end_txn(None);
            }
            None => self.reader.shared.end_txn(Some(self.reader.snap.txn)),
        }
    }

    /// Commits (a read transaction just ends). Consumes the transaction whatever happens.
    pub fn commit(mut self) -> Result<()> {
        let Some(w) = self.w.take() else {
            self.end_rollback();
            return Ok(());
        };
        self.ended = true;
        let shared = Arc::clone(&self.reader.shared);
        let (writer, result) = w.commit(&shared);
        shared.put_writer(writer);
        // Sync mode FULL: wait (outside the writer lock, so the next writer can append)
        // until an fsync covers the commit frame.
        let result = result.and_then(|c| {
            if let Some(end) = c.sync_to {
                shared.group.wait(&shared, end)?;
            }
            if c.stall {
                shared.bg.wake_and_wait(&shared);
            } else if c.checkpoint_due {
                shared.bg.wake();
            }
            Ok(())
        });
        shared.end_txn(None);
        result
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        self.end_rollback();
    }
}
