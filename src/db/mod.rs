//! The Rust API: open a database, begin transactions, checkpoint, check, statistics, back up.

mod backup;

#[cfg(feature = "testing")]
pub use backup::write_copy;
pub use backup::{BackupOptions, BackupReport};

use crate::error::{Error, Result};
use crate::format::Meta;
use crate::graph::{CheckReport, check};
use crate::io::{RealStorage, Storage};
use crate::options::Options;
use crate::recovery::RecoveryStats;
use crate::recovery::recover;
use crate::store::{FreeSpace, HEAP_HEADER, LabelIndex, Opened, Store};
use crate::txn::{
    Checkpointer, CkptState, Shared, Snapshot, Txn, Versions, Writer, spawn_checkpointer,
};
use crate::wal::Wal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Counts and sizes, as of the latest commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live nodes.
    pub nodes: u64,
    /// Live edges.
    pub edges: u64,
    /// Bytes of the data files on disk.
    pub data_bytes: u64,
    /// Bytes of the log on disk.
    pub wal_bytes: u64,
    /// LSN just past the newest commit readers can see (in sync mode FULL, the newest
    /// durable one).
    pub last_commit_lsn: u64,
    /// LSN the last checkpoint covers.
    pub checkpoint_lsn: u64,
    /// Read transactions open now.
    pub readers: u64,
    /// Memory (bytes) held by the committed versions not yet checkpointed, as
    /// [`Options::checkpoint_memory`](crate::Options::checkpoint_memory) counts it.
    pub version_bytes: u64,
}

/// An open database. Share it between threads freely (it is `Send + Sync`); dropping it
/// closes it (with a final checkpoint when no transaction is open).
pub struct Database {
    /// None once closed.
    shared: Option<Arc<Shared>>,
    /// The checkpoint thread (writable handles, unless `Options::checkpoint_thread` is
    /// off): started by the first write transaction, or at open when recovery replayed
    /// commits (until then there is nothing for it to do, and a clean open stays a few
    /// system calls); stopped before the final checkpoint at close.
    checkpointer: Mutex<Option<Checkpointer>>,
    /// Whether this handle has (or wants no) checkpoint thread: the write path's check.
    checkpointer_settled: AtomicBool,
}

fn new_db_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish() | 1
}

impl Database {
    /// Opens (or with `opts.create`, creates) the database directory at `path`, running
    /// recovery.
    pub fn open(path: impl AsRef<Path>, opts: &Options) -> Result<Database> {
        opts.validate()?;
        let fs = RealStorage::open(path.as_ref(), opts.create && !opts.read_only)?;
        Database::open_storage(Arc::new(fs), opts)
    }

    /// Opens the database in `fs` (tests use fault-injecting storage).
    pub fn open_storage(fs: Arc<dyn Storage>, opts: &Options) -> Result<Database> {
        opts.validate()?;
        let shared = match Store::open(&*fs, opts.create && !opts.read_only)? {
            Opened::Uncreated(meta_file) => {
                let meta = Meta {
                    generation: 1,
                    db_id: new_db_id(),
                    next_node: 1,
                    next_edge: 1,
                    heap_len: HEAP_HEADER.len() as u64,
                    ..Meta::default()
                };
                let wal = Wal::create(Arc::clone(&fs), meta.db_id, 1, 0, opts.segment_bytes)?;
                // Every file and its name are durable before the meta slot that makes the
                // database exist; a crash before that leaves an empty meta file, and the
                // next open with create starts over.
                let (store, strings) = Store::create(&*fs, meta_file)?;
                fs.sync_dir()?;
                store.write_meta(&meta)?;
                let latest = Snapshot {
                    txn: 0,
                    next_node: 1,
                    next_edge: 1,
                    ..Snapshot::default()
                };
                let writer = Writer {
                    wal,
                    next_txn: 1,
                    last_sync: Instant::now(),
                };
                let ckpt = CkptState {
                    meta,
                    base: None,
                    reuse_from: 0,
                };
                let free = Some(FreeSpace::default());
                Shared::new(
                    fs,
                    store,
                    Versions::default(),
                    strings,
                    latest,
                    Some(writer),
                    ckpt,
                    free,
                    opts.clone(),
                    RecoveryStats::default(),
                    Some(LabelIndex::empty(1)),
                )
            }
            Opened::Existing(store, meta, mut strings) => {
                let rec = recover(&fs, &store, &meta, &mut strings, opts)?;
                let latest = Snapshot {
                    txn: rec.last_txn,
                    next_node: rec.next_node,
                    next_edge: rec.next_edge,
                    live_nodes: rec.live_nodes,
                    live_edges: rec.live_edges,
                    end_lsn: rec.end_lsn,
                };
                // The free list of the slot recovery started from is read by the first
                // checkpoint (open stays O(1)). Replayed commits mean the data files may
                // hold records a checkpoint wrote after that slot (one cut short, or the
                // newer slot's if it was unreadable), naming extents the list still calls
                // free. Every such record was replayed: the blobs it names on disk are
                // claimed, taken out of the list when it is first read (before the first
                // checkpoint writes anything, so the records are still as recovery found
                // them; a replayed version names no heap blob its disk record does not,
                // replay writing no heap), and the first checkpoint, which rewrites them
                // all, places nothing in free space either.
                let replayed = rec.last_txn > meta.last_txn;
                let reuse_from = meta.generation + if replayed { 2 } else { 1 };
                let replayed_ids = if replayed {
                    (
                        rec.nodes.keys().copied().collect(),
                        rec.edges.keys().copied().collect(),
                    )
                } else {
                    Default::default()
                };
                let mut versions = Versions::default();
                versions.publish(latest.txn, rec.nodes, rec.edges, latest.txn);
                let (checkpoint_lsn, wal_bytes, heap_len) =
                    (meta.checkpoint_lsn, rec.wal_bytes, meta.heap_len);
                let writer = rec.wal.map(|wal| Writer {
                    wal,
                    next_txn: latest.txn + 1,
                    last_sync: Instant::now(),
                });
                let ckpt = CkptState {
                    meta,
                    base: None,
                    reuse_from,
                };
                let read_only = writer.is_none();
                let mut shared = Shared::new(
                    fs,
                    *store,
                    versions,
                    strings,
                    latest,
                    writer,
                    ckpt,
                    None,
                    opts.clone(),
                    rec.stats,
                    None,
                );
                shared.replayed = replayed_ids;
                if read_only {
                    // Without a writer nothing moves these; the writer's log sets them
                    // otherwise.
                    shared
                        .log
                        .checkpoint_lsn
                        .store(checkpoint_lsn, Ordering::Relaxed);
                    shared.log.wal_bytes.store(wal_bytes, Ordering::Relaxed);
                    shared.log.heap_len.store(heap_len, Ordering::Release);
                }
                shared
            }
        };
        let shared = Arc::new(shared);
        let replayed = shared.recovery.txns_replayed > 0;
        let db = Database {
            shared: Some(shared),
            checkpointer: Mutex::new(None),
            checkpointer_settled: AtomicBool::new(!opts.checkpoint_thread || opts.read_only),
        };
        if replayed {
            db.start_checkpointer()?;
        }
        Ok(db)
    }

    /// Starts the checkpoint thread unless it runs already or is not wanted.
    fn start_checkpointer(&self) -> Result<()> {
        if self.checkpointer_settled.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut slot = self
            .checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(spawn_checkpointer(self.live()?)?);
        }
        self.checkpointer_settled.store(true, Ordering::Release);
        Ok(())
    }

    /// Starts a read transaction on the latest committed state.
    pub fn begin_read(&self) -> Result<Txn> {
        Txn::begin_read(self.live()?)
    }

    /// Starts the write transaction (waits up to the busy timeout for the writer lock).
    pub fn begin_write(&self) -> Result<Txn> {
        self.start_checkpointer()?;
        Txn::begin_write(self.live()?)
    }

    /// Moves committed changes into the data files as far as open readers allow.
    pub fn checkpoint(&self) -> Result<()> {
        self.live()?.checkpoint()
    }

    /// Checks every invariant on the latest snapshot.
    pub fn check_integrity(&self) -> Result<CheckReport> {
        let t = self.begin_read()?;
        check::check(&t)
    }

    /// What recovery did when this handle was opened.
    pub fn last_recovery(&self) -> RecoveryStats {
        self.shared.as_ref().map(|s| s.recovery).unwrap_or_default()
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Stats {
        let Some(s) = &self.shared else {
            return Stats::default();
        };
        let latest = s.visible();
        let st = &s.store;
        Stats {
            nodes: latest.live_nodes,
            edges: latest.live_edges,
            data_bytes: st.nodes.len() + st.edges.len() + st.heap.len(),
            wal_bytes: s.wal_bytes(),
            last_commit_lsn: latest.end_lsn,
            checkpoint_lsn: s.checkpoint_lsn(),
            readers: s.readers(),
            version_bytes: s.versions_held().bytes as u64,
        }
    }

    /// Err(Poisoned) if an earlier failure poisoned this handle.
    pub fn check_poisoned(&self) -> Result<()> {
        self.live()?.check()
    }

    /// Closes the database: stops the checkpoint thread (waiting for a checkpoint under
    /// way), a final checkpoint of what is left, then the files and the lock. With
    /// transactions open it returns `Busy` and does nothing (the handle stays usable).
    /// Afterwards every call returns `Misuse`.
    pub fn try_close(&mut self) -> Result<()> {
        let open = self.open_txns();
        if open > 0 {
            return Err(Error::Busy(format!(
                "{open} transaction(s) still open; end them before closing"
            )));
        }
        let thread = self
            .checkpointer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(c) = thread {
            c.stop();
        }
        match self.shared.take() {
            Some(s) => s.shutdown(),
            None => Ok(()),
        }
    }

    /// Closes the database (see [`Database::try_close`]).
    pub fn close(mut self) -> Result<()> {
        self.try_close()
    }

    /// Transactions open now.
    pub fn open_txns(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.open_txns())
    }

    fn live(&self) -> Result<&Arc<Shared>> {
        self.shared
            .as_ref()
            .ok_or_else(|| Error::Misuse("the database is closed".into()))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.open_txns() == 0 {
            let _ = self.try_close();
        }
    }
}
