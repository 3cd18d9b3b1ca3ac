//! Hot backup (`qv_backup`): a copy of one snapshot, written as a new checkpointed
//! database, while other threads keep reading and committing.
//!
//! The copy is made through a read transaction on the latest visible commit S, so it takes
//! no lock a writer waits for; like any reader it holds checkpoints back to S while it runs.
//! It writes a database whose meta slot is a checkpoint at S (same ids, same last
//! transaction id and LSN) and whose log is one empty segment starting at S's end: opening
//! it replays nothing. Record slots are copied one by one from the snapshot (tombstones of
//! deleted records included, as ids are never reused); what differs between the modes is
//! the property heap:
//! - default: the heap bytes below the last checkpoint's heap length are copied as they
//!   are, so records keep their offsets; a blob there that a checkpoint running during the
//!   copy placed in space that was free is written again at its offset; blobs past that
//!   length (in memory, or appended by such a checkpoint) are appended after them. The
//!   copy lists no free space: the source's free extents stay unused in it;
//! - compact: only the blob of each live record is written, one after the other, so
//!   superseded and deleted blobs take no space.
//!
//! [`Database::backup`] writes into a hidden sibling directory of the destination and
//! renames it into place once every file and the directory are durable: a failure, a
//! cancel or a crash never leaves a partial database at the destination (a crash can leave
//! the hidden directory, `.NAME.qvbackup-PID-N`, an unfinished copy or, killed after the
//! meta slot was written, a finished one never renamed; either may be deleted, and the
//! next backup to the same destination deletes those whose process is gone).

use crate::Database;
use crate::error::{Error, Result};
use crate::format::Meta;
use crate::format::props::seal;
use crate::format::record::{EDGE_SIZE, NODE_SIZE};
use crate::io::{RealStorage, Storage};
use crate::store::{Adj, HEAP_HEADER, Props, Store, names};
use crate::txn::{Shared, Txn};
use crate::wal::Wal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How a backup is made.
#[derive(Default)]
pub struct BackupOptions<'a> {
    /// Write live data only (QV_BACKUP_COMPACT).
    pub compact: bool,
    /// Called now and then with (bytes written, estimated total; the last call, once the
    /// copy is complete, has both equal to the bytes written); returning false cancels the
    /// backup with [`Error::Interrupted`].
    pub progress: Option<&'a mut dyn FnMut(u64, u64) -> bool>,
}

/// What a finished backup holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Id of the newest transaction in the copy.
    pub last_txn: u64,
    /// LSN just past that transaction's commit.
    pub lsn: u64,
    /// Live nodes in the copy.
    pub nodes: u64,
    /// Live edges in the copy.
    pub edges: u64,
    /// Bytes written to the copy's data files.
    pub bytes: u64,
}

/// Output buffered before each write.
const CHUNK: usize = 1 << 20;

impl Database {
    /// Copies the latest commit into a new database at `dest`, which must not exist (its
    /// parent must). Other threads keep reading and committing meanwhile. On any error or
    /// cancel nothing is left at `dest`, and this handle stays usable: errors writing the
    /// copy never poison it.
    pub fn backup(&self, dest: impl AsRef<Path>, opts: BackupOptions<'_>) -> Result<BackupReport> {
        let dest = dest.as_ref();
        let txn = self.begin_read()?;
        let (parent, name) = split_dest(dest)?;
        if dest.symlink_metadata().is_ok() {
            return Err(Error::InvalidArgument(format!(
                "{}: already exists; a backup needs a path that does not exist yet",
                dest.display()
            )));
        }
        remove_stale(&parent, &name);
        let tmp = temp_dir(&parent, &name)?;
        let result = (|| {
            let fs: Arc<dyn Storage> = Arc::new(RealStorage::open(&tmp, true)?);
            let report = write_copy(&txn, fs, opts)?;
            drop(txn);
            rename_new(&tmp, dest)?;
            sync_dir(&parent)?;
            Ok(report)
        })();
        if result.is_err() {
            // Best effort: the directory is hidden and never becomes the destination.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }
}

/// Writes the snapshot `txn` reads into the empty database directory `fs`: data files,
/// strings, an empty log segment, and last the meta slot that makes it a database.
pub fn write_copy(
    txn: &Txn,
    fs: Arc<dyn Storage>,
    mut opts: BackupOptions<'_>,
) -> Result<BackupReport> {
    let shared = txn.shared();
    let snap = txn.snapshot();
    let src = &shared.store;
    // Heap bytes below `keep` are copied verbatim and records pointing there keep their
    // offset; every other blob is appended.
    let keep = if opts.compact {
        HEAP_HEADER.len() as u64
    } else {
        shared
            .log
            .heap_len
            .load(Ordering::Acquire)
            .min(src.heap.len())
    };
    let total = keep
        + snap.next_node * NODE_SIZE as u64
        + snap.next_edge * EDGE_SIZE as u64
        + if opts.compact { src.heap.len() } else { 0 };
    let mut out = Progress {
        done: 0,
        total,
        callback: opts.progress.take(),
    };
    out.report()?;

    let meta_file = fs.open_file(names::META, true)?;
    if !meta_file.try_lock()? {
        return Err(Error::Locked(format!(
            "{}: the backup directory is in use",
            fs.root().display()
        )));
    }
    let (dst, _) = Store::create(&*fs, meta_file)?;

    // The heap prefix, copied as it is (free extents included: the copy lists no free
    // space, so they stay unused there).
    dst.heap.grow_to(keep)?;
    let mut at = HEAP_HEADER.len() as u64;
    let map = src.heap.current();
    while at < keep {
        let n = (keep - at).min(CHUNK as u64) as usize;
        let bytes = src.heap.read(&map, at, n).ok_or_else(|| {
            Error::Internal(format!(
                "{}: heap bytes {at}..{} are not readable",
                src.heap.path().display(),
                at + n as u64
            ))
        })?;
        dst.heap.write_at(bytes, at)?;
        at += n as u64;
        out.add(n)?;
    }
    let mut heap = HeapOut {
        shared,
        keep,
        end: keep,
        buf: Vec::new(),
    };

    // Records, in id order, each with its blob placed in the copy's heap; the copy's
    // label index lists every live node.
    let mut by_label: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    copy_records("node", snap.next_node, &dst.nodes, &mut out, |id, out| {
        let Some(n) = txn.reader.node(id)? else {
            return Ok(None);
        };
        if n.is_live() {
            by_label.entry(n.label).or_default().push(id);
        }
        let off = heap.place(&n.props, &dst, out)?;
        let adj = heap.place_adj(&n.adj, &dst, out)?;
        Ok(Some(n.to_disk(adj, off).encode(id)))
    })?;
    copy_records("edge", snap.next_edge, &dst.edges, &mut out, |id, out| {
        let Some(e) = txn.reader.edge(id)? else {
            return Ok(None);
        };
        let off = heap.place(&e.props, &dst, out)?;
        Ok(Some(e.to_disk(off).encode(id)))
    })?;
    heap.flush(&dst, &mut out)?;
    if heap.end > crate::format::record::MAX_48 {
        return Err(Error::Internal(format!(
            "the copy's heap would reach {} bytes; records address at most 2^48",
            heap.end
        )));
    }

    // Strings: the whole table (it only grows, so it holds every name the snapshot uses).
    let (string_count, strings_len) = {
        let table = shared.strings.read().unwrap_or_else(|p| p.into_inner());
        (table.len(), dst.append_strings(&table, 0, 0)?)
    };
    out.done += strings_len;

    let (_, labels_len) = dst.append_labels(&by_label, 0)?;
    for f in [&dst.heap, &dst.nodes, &dst.edges, &dst.labels] {
        f.sync()?;
    }
    dst.sync_strings()?;
    let meta = Meta {
        generation: 1,
        db_id: super::new_db_id(),
        checkpoint_lsn: snap.end_lsn,
        last_txn: snap.txn,
        next_node: snap.next_node,
        next_edge: snap.next_edge,
        string_count,
        strings_len,
        heap_len: heap.end,
        live_nodes: snap.live_nodes,
        live_edges: snap.live_edges,
        free_off: 0,
        free_len: 0,
        free_crc: 0,
        labels_len,
    };
    // The log segment and the directory entries are durable before the meta slot that
    // makes the copy a database.
    Wal::create(
        Arc::clone(&fs),
        meta.db_id,
        1,
        snap.end_lsn,
        shared.opts.segment_bytes,
    )?;
    dst.write_meta(&meta)?;
    // The estimate is done with: the last report gives the bytes actually written.
    out.total = out.done;
    out.report()?;
    Ok(BackupReport {
        last_txn: snap.txn,
        lsn: snap.end_lsn,
        nodes: snap.live_nodes,
        edges: snap.live_edges,
        bytes: out.done,
    })
}

/// Bytes written so far, and the caller's callback.
struct Progress<'a> {
    done: u64,
    total: u64,
    callback: Option<&'a mut dyn FnMut(u64, u64) -> bool>,
}

impl Progress<'_> {
    /// Counts `n` bytes written (the callback hears of them with the next report).
    fn add(&mut self, n: usize) -> Result<()> {
        self.done += n as u64;
        self.report()
    }

    fn report(&mut self) -> Result<()> {
        let Some(cb) = self.callback.as_mut() else {
            return Ok(());
        };
        self.total = self.total.max(self.done);
        if cb(self.done, self.total) {
            Ok(())
        } else {
            Err(Error::Interrupted(format!(
                "the backup was cancelled by its progress callback after {} of about {} bytes",
                self.done, self.total
            )))
        }
    }
}

/// Writes the records `get` gives for ids 1..end into `file`, one write per megabyte run of
/// slots. Every id below the snapshot's bound has a record (deleted ones a tombstone).
fn copy_records<const N: usize>(
    what: &str,
    end: u64,
    file: &crate::store::DataFile,
    out: &mut Progress,
    mut get: impl FnMut(u64, &mut Progress) -> Result<Option<[u8; N]>>,
) -> Result<()> {
    let mut recs = RecordsOut::new(N);
    for id in 1..end {
        let rec = get(id, out)?
            .ok_or_else(|| Error::Internal(format!("{what} {id} is below the snapshot's bound")))?;
        recs.push(&rec, file, out)?;
    }
    recs.flush(file, out)
}

/// Fixed-size records for one file, buffered into runs of consecutive ids (from 1).
struct RecordsOut {
    size: usize,
    /// File offset of `buf[0]`.
    at: u64,
    buf: Vec<u8>,
}

impl RecordsOut {
    fn new(size: usize) -> RecordsOut {
        RecordsOut {
            size,
            at: size as u64,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn push(
        &mut self,
        rec: &[u8],
        file: &crate::store::DataFile,
        out: &mut Progress,
    ) -> Result<()> {
        debug_assert_eq!(rec.len(), self.size);
        self.buf.extend_from_slice(rec);
        if self.buf.len() >= CHUNK {
            self.flush(file, out)?;
        }
        Ok(())
    }

    fn flush(&mut self, file: &crate::store::DataFile, out: &mut Progress) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        file.write_at(&self.buf, self.at)?;
        self.at += self.buf.len() as u64;
        out.add(self.buf.len())?;
        self.buf.clear();
        Ok(())
    }
}

/// The copy's heap past the verbatim prefix.
struct HeapOut<'s> {
    shared: &'s Shared,
    keep: u64,
    /// The copy's heap length so far (buffered bytes included).
    end: u64,
    buf: Vec<u8>,
}

impl HeapOut<'_> {
    /// The copy's heap offset of the blob `props` names (appending it when needed).
    fn place(&mut self, props: &Props, dst: &Store, out: &mut Progress) -> Result<u64> {
        match props {
            Props::None => Ok(0),
            Props::Heap(off) => self.place_heap(*off, false, dst, out),
            Props::Mem(b) => self.append(b, dst, out),
        }
    }

    /// The copy's heap offset of the adjacency blob `adj` names.
    fn place_adj(&mut self, adj: &Adj, dst: &Store, out: &mut Progress) -> Result<u64> {
        match adj {
            Adj::None => Ok(0),
            Adj::Heap(off) => self.place_heap(*off, true, dst, out),
            Adj::Mem(l) => self.append(&seal(l.body()), dst, out),
        }
    }

    /// A blob of the source's heap: at the same offset when it lies in the verbatim
    /// prefix, else appended. Either way it is verified as a read would (an adjacency blob
    /// when `adj`), so a damaged blob is not carried into the copy.
    fn place_heap(&mut self, off: u64, adj: bool, dst: &Store, out: &mut Progress) -> Result<u64> {
        let store = &self.shared.store;
        let map = store.heap.current();
        let verify = || {
            if adj {
                store.adj_body(&map, off).map(|_| ())
            } else {
                store.read_blob(&map, off).map(|_| ())
            }
        };
        let bytes = store.blob_bytes(&map, off)?;
        if off + bytes.len() as u64 <= self.keep {
            // In the verbatim prefix. A checkpoint that ran during the copy may have placed
            // this blob in space that was free when the prefix was read: the copy then
            // holds other bytes there, and gets the blob's.
            let dmap = dst.heap.current();
            if dst.heap.read(&dmap, off, bytes.len()) != Some(bytes) {
                verify()?;
                dst.heap.write_at(bytes, off)?;
            }
            return Ok(off);
        }
        verify()?;
        self.append(bytes, dst, out)
    }

    /// Appends an encoded blob; returns its offset in the copy.
    fn append(&mut self, bytes: &[u8], dst: &Store, out: &mut Progress) -> Result<u64> {
        let at = self.end;
        self.buf.extend_from_slice(bytes);
        self.end += bytes.len() as u64;
        self.flush_full(dst, out)?;
        Ok(at)
    }

    fn flush_full(&mut self, dst: &Store, out: &mut Progress) -> Result<()> {
        if self.buf.len() >= CHUNK {
            self.flush(dst, out)?;
        }
        Ok(())
    }

    /// The heap offset of `buf[0]`.
    fn flushed_end(&self) -> u64 {
        self.end - self.buf.len() as u64
    }

    fn flush(&mut self, dst: &Store, out: &mut Progress) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        dst.heap.write_at(&self.buf, self.flushed_end())?;
        out.add(self.buf.len())?;
        self.buf.clear();
        Ok(())
    }
}

/// The destination's parent directory (which must exist) and final name.
fn split_dest(dest: &Path) -> Result<(PathBuf, std::ffi::OsString)> {
    let name = dest.file_name().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{}: not a path a backup can be written to",
            dest.display()
        ))
    })?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::NotFound(format!(
            "{}: the backup's parent directory does not exist",
            parent.display()
        )));
    }
    Ok((parent, name.to_owned()))
}

/// Removes the hidden directories that backups to `parent/name` by processes no longer
/// running left behind (killed mid-copy). Best effort: an entry that cannot be read or
/// removed stays.
fn remove_stale(parent: &Path, name: &std::ffi::OsStr) {
    use std::os::unix::ffi::OsStrExt;
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.extend_from_slice(b".qvbackup-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        let pid = std::str::from_utf8(rest)
            .ok()
            .and_then(|r| r.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok());
        let Some(pid) = pid.filter(|&p| p > 0 && p as u32 != std::process::id()) else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Picks a fresh hidden directory name beside the destination (not created yet).
fn temp_dir(parent: &Path, name: &std::ffi::OsStr) -> Result<PathBuf> {
    use std::sync::atomic::AtomicU64;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut tmp = std::ffi::OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".qvbackup-{}-{n}", std::process::id()));
        let path = parent.join(tmp);
        if path.symlink_metadata().is_err() {
            return Ok(path);
        }
    }
}

/// Renames directory `from` to `to`, failing if `to` exists (renameat2 RENAME_NOREPLACE;
/// where the file system lacks it, a check just before a plain rename).
fn rename_new(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::InvalidArgument(format!("{}: path holds a NUL byte", p.display())))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => Err(Error::InvalidArgument(format!(
            "{}: created by someone else during the backup; the copy was not put there",
            to.display()
        ))),
        Some(libc::EINVAL) | Some(libc::ENOSYS) if to.symlink_metadata().is_err() => {
            std::fs::rename(from, to).map_err(|e| Error::io("rename", to, e))
        }
        _ => Err(Error::io("rename", to, e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}
