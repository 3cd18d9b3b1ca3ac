//! A fault-injecting backend for crash tests.
//!
//! It wraps [`RealStorage`] (so memory maps stay real) and keeps, beside the real files, a
//! model of what a power loss would leave, and can fail the Nth write or sync with EIO or
//! ENOSPC.
//!
//! # What is tracked
//!
//! Files are tracked as *inodes* (a name removed and created again is a new inode). For
//! each inode: its *durable content* (its bytes as of its last successful `sync`; empty for
//! a file created through this storage and never synced) and the operations on it since
//! then, in order: writes and `set_len` calls. For the directory: the *durable names* (the
//! name → inode map as of the last directory sync) and the creations and removals since
//! then, in order.
//!
//! # Durable image (all or nothing)
//!
//! [`FaultStorage::write_durable_image`] writes every durable name with its inode's durable
//! content: exactly what the engine may rely on after a power loss, with every unsynced
//! operation lost. A test can freeze the model after the Nth sync
//! ([`FaultStorage::freeze_after_sync`]: a crash at that sync point): from then on neither
//! the durable content nor the record of unsynced operations changes.
//!
//! # Power-loss image (a random subset of the unsynced operations)
//!
//! [`FaultStorage::write_power_loss_image`] writes what a power loss at this moment (or at
//! the frozen sync point) may leave, chosen by a SplitMix64 generator seeded by the caller
//! (same seed, same image). It keeps everything synced and an arbitrary subset of the rest:
//!
//! - **Directory**: start from the durable names and apply a random subset of the
//!   creations and removals since the last directory sync, in their original order. So a
//!   file created since then may or may not exist, and a file removed since then may still
//!   exist (with its durable content and, like any file, possibly some of the writes it
//!   received before the removal).
//! - **Each file that exists** in that directory: start from its inode's durable content
//!   (for a file created since the last directory sync: empty, unless an fsync of it
//!   completed, which made its data durable though not its name), then apply a random
//!   subset of its unsynced operations in their original order. A kept `set_len` truncates
//!   or zero-extends. A kept write may be torn: only a random subset of the 512-byte sectors
//!   it touches (sectors of the file, split at file offsets that are multiples of 512, not
//!   of the write) reaches the disk. A sector that reaches the disk carries the *whole*
//!   sector as the page cache held it right after that write (bytes of earlier writes to
//!   the same sector included, zeros past the end of the file), because a disk writes
//!   sectors, not byte ranges: a later write to a sector can never be on disk without the
//!   earlier writes to that sector. A kept sector grows the file to cover it (up to the
//!   file's length after the write); a torn write that grew the file may also leave the
//!   new length with zeros where its sectors were lost (the size, metadata, reached the
//!   disk before the data).
//!
//! Per image, each file and the directory draw how much of their unsynced history they
//! keep (each operation kept with probability 0, 25, 50, 75 or 100%) and each file how
//! often a kept write is torn (0, 30 or 60%; a torn write keeps each of its sectors with
//! probability 50%), so images range from the durable image to the current contents
//! with every mix in between.
//!
//! What the model assumes, as `ARCHITECTURE.md` does: an fsync that returned success made
//! the file's bytes and length (or the directory's names) durable; an aligned 512-byte
//! sector is written atomically (all old or all new); nothing else is ordered or atomic.
//! It does not model corruption of durable data, lost fsyncs, or a power loss inside an
//! fsync that then returned success.
//!
//! # Sync hooks
//!
//! [`FaultStorage::on_sync`] runs a callback right before each sync and right after each
//! successful one (until the model is frozen), so a test can take a power-loss image at
//! every sync point of a single run instead of re-running the workload for each.

use super::splitmix::SplitMix64;
use super::{Mapping, RealStorage, Storage, StorageFile};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The size of an atomic disk write.
const SECTOR: u64 = 512;

/// The errno an injected fault carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// EIO: an I/O error.
    Eio,
    /// ENOSPC: the disk is full.
    Enospc,
}

/// How much of an unsynced history a power-loss image keeps, in percent.
fn keep_pct(rng: &mut SplitMix64) -> u64 {
    [0, 25, 50, 75, 100][rng.below(5) as usize]
}

/// How often a kept write is torn, in percent.
fn tear_pct(rng: &mut SplitMix64) -> u64 {
    [0, 30, 60][rng.below(3) as usize]
}

/// An operation on a file since its last sync.
#[derive(Debug)]
enum FileOp {
    /// A write, widened to whole sectors: `bytes` holds the sectors from `start` (a
    /// multiple of [`SECTOR`]) as the page cache held them right after the write, zeros
    /// past the end of the file; `len_after` is the file's length then; `off..end` is the
    /// range the write itself covered.
    Write {
        start: u64,
        bytes: Vec<u8>,
        len_after: u64,
        off: u64,
        end: u64,
    },
    /// A `set_len`.
    SetLen(u64),
}

/// One file (an inode: names may come and go).
#[derive(Debug, Default)]
struct Inode {
    /// Contents as of the last successful sync.
    durable: Vec<u8>,
    /// Operations since then, oldest first.
    pending: Vec<FileOp>,
}

/// A directory operation since the last directory sync.
#[derive(Debug)]
enum DirOp {
    Create(String, u64),
    Remove(String),
}

/// A callback run at each sync: `(storage, sync number, completed)`.
type HookFn = dyn FnMut(&FaultStorage, u64, bool) + Send;

#[derive(Clone)]
struct Hook(Arc<Mutex<Box<HookFn>>>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

#[derive(Debug, Default)]
struct FaultState {
    writes: u64,
    syncs: u64,
    fail_write_at: Option<u64>,
    fail_sync_at: Option<u64>,
    kind: Option<FaultKind>,
    freeze_after_sync: Option<u64>,
    frozen: bool,
    /// Every inode some name (current or durable) may still refer to.
    inodes: BTreeMap<u64, Inode>,
    next_ino: u64,
    /// The directory now.
    names: BTreeMap<String, u64>,
    /// The directory as of the last directory sync.
    durable_names: BTreeMap<String, u64>,
    /// Creations and removals since then, oldest first.
    dir_pending: Vec<DirOp>,
    hook: Option<Hook>,
}

impl FaultState {
    fn new_inode(&mut self, durable: Vec<u8>) -> u64 {
        self.next_ino += 1;
        self.inodes.insert(
            self.next_ino,
            Inode {
                durable,
                pending: Vec::new(),
            },
        );
        self.next_ino
    }
}

/// A [`Storage`] that records what is durable (and what is not yet) and injects faults.
/// Clones share state.
#[derive(Debug, Clone)]
pub struct FaultStorage {
    inner: Arc<RealStorage>,
    state: Arc<Mutex<FaultState>>,
}

fn read_all(file: &dyn StorageFile) -> Result<Vec<u8>> {
    let len = file.len()?;
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
    let n = file.read_at(&mut bytes, 0)?;
    bytes.truncate(n);
    Ok(bytes)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl FaultStorage {
    /// Wraps the directory `root` (created if missing). The files already there count as
    /// durable, names and contents.
    pub fn open(root: &Path) -> Result<FaultStorage> {
        let inner = RealStorage::open(root, true)?;
        let mut state = FaultState::default();
        for name in inner.list()? {
            let bytes = std::fs::read(root.join(&name)).map_err(|e| Error::io("read", root, e))?;
            let ino = state.new_inode(bytes);
            state.names.insert(name.clone(), ino);
            state.durable_names.insert(name, ino);
        }
        Ok(FaultStorage {
            inner: Arc::new(inner),
            state: Arc::new(Mutex::new(state)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails the `n`th write or set_len (1-based, counted from now on) with `kind`.
    pub fn fail_write_at(&self, n: u64, kind: FaultKind) {
        let mut s = self.lock();
        s.fail_write_at = Some(s.writes + n);
        s.kind = Some(kind);
    }

    /// Fails the `n`th sync (file or directory, 1-based, counted from now on) with `kind`.
    pub fn fail_sync_at(&self, n: u64, kind: FaultKind) {
        let mut s = self.lock();
        s.fail_sync_at = Some(s.syncs + n);
        s.kind = Some(kind);
    }

    /// Stops the model from advancing after the `n`th sync from now (1-based): a power
    /// loss right after that sync. Neither the durable content nor the record of unsynced
    /// operations changes afterwards, so [`FaultStorage::write_durable_image`] and
    /// [`FaultStorage::write_power_loss_image`] describe that moment.
    pub fn freeze_after_sync(&self, n: u64) {
        let mut s = self.lock();
        s.freeze_after_sync = Some(s.syncs + n);
    }

    /// Syncs (file and directory) performed so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Writes (and set_len calls) performed so far.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Operations not yet made durable: (writes and set_len calls on files that still may
    /// exist after a power loss, directory creations and removals).
    pub fn unsynced(&self) -> (usize, usize) {
        let s = self.lock();
        let files = s.inodes.values().map(|i| i.pending.len()).sum();
        (files, s.dir_pending.len())
    }

    /// Runs `hook(storage, k, completed)` right before sync number `k` starts (`completed`
    /// false: a power loss now loses the sync) and right after it succeeded (`completed`
    /// true: the sync made its file or the directory durable; nothing later has happened
    /// yet). Syncs are numbered as [`FaultStorage::syncs`] counts them. Not run once the
    /// model is frozen. The hook may read the model (for example write a power-loss image)
    /// but must not write or sync through this storage. Replaces any earlier hook.
    pub fn on_sync(&self, hook: impl FnMut(&FaultStorage, u64, bool) + Send + 'static) {
        let b: Box<HookFn> = Box::new(hook);
        self.lock().hook = Some(Hook(Arc::new(Mutex::new(b))));
    }

    /// Removes the hook set by [`FaultStorage::on_sync`] (dropping what it captured).
    pub fn clear_sync_hook(&self) {
        self.lock().hook = None;
    }

    /// Writes the durable image (what a power loss now, or at the frozen sync point, would
    /// leave if every unsynced operation were lost) into the new directory `dest`.
    pub fn write_durable_image(&self, dest: &Path) -> Result<()> {
        let s = self.lock();
        std::fs::create_dir_all(dest).map_err(|e| Error::io("mkdir", dest, e))?;
        for (name, ino) in &s.durable_names {
            let bytes = s.inodes.get(ino).map_or(&[][..], |i| &i.durable[..]);
            let p = dest.join(name);
            std::fs::write(&p, bytes).map_err(|e| Error::io("write", p, e))?;
        }
        Ok(())
    }

    /// Writes a power-loss image (see the module documentation: everything synced, plus a
    /// random subset of the unsynced operations, writes possibly torn at 512-byte sectors)
    /// of this moment, or of the frozen sync point, into the new directory `dest`. The
    /// same `seed` on the same history gives the same image. Returns a description of the
    /// choices made (a line per file or directory with unsynced operations).
    pub fn write_power_loss_image(&self, dest: &Path, seed: u64) -> Result<String> {
        let s = self.lock();
        let mut rng = SplitMix64(seed);
        let mut log = String::new();
        let mut names = s.durable_names.clone();
        if !s.dir_pending.is_empty() {
            let pct = keep_pct(&mut rng);
            let _ = write!(log, "directory (keep {pct}%):");
            for op in &s.dir_pending {
                let keep = rng.chance(pct);
                match op {
                    DirOp::Create(name, ino) => {
                        let _ = write!(log, " {}create {name}", if keep { "" } else { "-" });
                        if keep {
                            names.insert(name.clone(), *ino);
                        }
                    }
                    DirOp::Remove(name) => {
                        let _ = write!(log, " {}remove {name}", if keep { "" } else { "-" });
                        if keep {
                            names.remove(name);
                        }
                    }
                }
            }
            log.push('\n');
        }
        std::fs::create_dir_all(dest).map_err(|e| Error::io("mkdir", dest, e))?;
        for (name, ino) in &names {
            let bytes = match s.inodes.get(ino) {
                Some(inode) => lost_power(inode, name, &mut rng, &mut log),
                None => Vec::new(),
            };
            let p = dest.join(name);
            std::fs::write(&p, bytes).map_err(|e| Error::io("write", p, e))?;
        }
        Ok(log)
    }

    fn injected(kind: Option<FaultKind>, op: &'static str, path: &Path) -> Error {
        let errno = match kind {
            Some(FaultKind::Enospc) => libc::ENOSPC,
            _ => libc::EIO,
        };
        Error::io(op, path, std::io::Error::from_raw_os_error(errno))
    }

    fn count_write(&self, op: &'static str, path: &Path) -> Result<()> {
        let mut s = self.lock();
        s.writes += 1;
        if s.fail_write_at == Some(s.writes) {
            return Err(Self::injected(s.kind, op, path));
        }
        Ok(())
    }

    /// Counts a sync; returns its number when the model may advance.
    fn count_sync(&self, op: &'static str, path: &Path) -> Result<Option<u64>> {
        let mut s = self.lock();
        s.syncs += 1;
        if s.fail_sync_at == Some(s.syncs) {
            return Err(Self::injected(s.kind, op, path));
        }
        let advance = !s.frozen;
        if s.freeze_after_sync == Some(s.syncs) {
            s.frozen = true;
        }
        Ok(advance.then_some(s.syncs))
    }

    /// Runs the hook before a sync (unless frozen).
    fn before_sync(&self) {
        let (hook, k) = {
            let s = self.lock();
            if s.frozen {
                return;
            }
            (s.hook.clone(), s.syncs + 1)
        };
        if let Some(h) = hook {
            (h.0.lock().unwrap_or_else(|p| p.into_inner()))(self, k, false);
        }
    }

    /// Runs the hook after sync `k` advanced the model.
    fn after_sync(&self, k: u64) {
        let hook = self.lock().hook.clone();
        if let Some(h) = hook {
            (h.0.lock().unwrap_or_else(|p| p.into_inner()))(self, k, true);
        }
    }
}

/// The contents `inode` may have after a power loss: its durable content and a random
/// subset of its unsynced operations (see the module documentation). Appends the choices
/// to `log`.
fn lost_power(inode: &Inode, name: &str, rng: &mut SplitMix64, log: &mut String) -> Vec<u8> {
    let mut img = inode.durable.clone();
    if inode.pending.is_empty() {
        return img;
    }
    let pct = keep_pct(rng);
    let tear = tear_pct(rng);
    let _ = write!(
        log,
        "{name} (durable {} bytes, keep {pct}%, tear {tear}%):",
        inode.durable.len()
    );
    for op in &inode.pending {
        match op {
            FileOp::SetLen(len) => {
                let keep = rng.chance(pct);
                let _ = write!(log, " {}set_len {len}", if keep { "" } else { "-" });
                if keep {
                    img.resize(to_usize(*len), 0);
                }
            }
            FileOp::Write {
                start,
                bytes,
                len_after,
                off,
                end,
            } => {
                if !rng.chance(pct) {
                    let _ = write!(log, " -write {off}..{end}");
                    continue;
                }
                let torn = rng.chance(tear);
                let _ = write!(log, " write {off}..{end}");
                let mut kept = Vec::new();
                for (i, sector) in bytes.chunks(SECTOR as usize).enumerate() {
                    if torn && rng.chance(50) {
                        continue;
                    }
                    let at = start + i as u64 * SECTOR;
                    kept.push(at / SECTOR);
                    let want = (at + SECTOR).min(*len_after);
                    if (img.len() as u64) < want {
                        img.resize(to_usize(want), 0);
                    }
                    let stop = (at + SECTOR).min(img.len() as u64);
                    if stop > at {
                        let n = to_usize(stop - at);
                        img[to_usize(at)..to_usize(stop)].copy_from_slice(&sector[..n]);
                    }
                }
                if torn {
                    let _ = write!(log, " torn, sectors {kept:?}");
                    if (img.len() as u64) < *len_after && rng.chance(25) {
                        img.resize(to_usize(*len_after), 0);
                        let _ = write!(log, " (length {len_after} kept)");
                    }
                }
            }
        }
    }
    let _ = writeln!(log, " -> {} bytes", img.len());
    img
}

impl Storage for FaultStorage {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn open_file(&self, name: &str, create: bool) -> Result<Arc<dyn StorageFile>> {
        let mut s = self.lock();
        let existed = self.inner.exists(name);
        let inner = self.inner.open_file(name, create)?;
        let ino = match s.names.get(name) {
            Some(&ino) if existed && s.inodes.contains_key(&ino) => ino,
            _ if existed => {
                // Made outside this storage: its bytes count as durable, its name not.
                let bytes = read_all(&*inner)?;
                let ino = s.new_inode(bytes);
                s.names.insert(name.to_string(), ino);
                ino
            }
            _ => {
                let ino = s.new_inode(Vec::new());
                s.names.insert(name.to_string(), ino);
                if !s.frozen {
                    s.dir_pending.push(DirOp::Create(name.to_string(), ino));
                }
                ino
            }
        };
        drop(s);
        Ok(Arc::new(FaultFile {
            inner,
            ino,
            fs: self.clone(),
        }))
    }

    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.count_write("unlink", &self.inner.root().join(name))?;
        self.inner.remove(name)?;
        let mut s = self.lock();
        s.names.remove(name);
        if !s.frozen {
            s.dir_pending.push(DirOp::Remove(name.to_string()));
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }

    fn sync_dir(&self) -> Result<()> {
        let root: PathBuf = self.inner.root().to_path_buf();
        self.before_sync();
        let Some(k) = self.count_sync("fsync directory", &root)? else {
            return Ok(());
        };
        self.inner.sync_dir()?;
        {
            let mut s = self.lock();
            s.durable_names = s.names.clone();
            s.dir_pending.clear();
            // An inode no name refers to can no longer appear in any image.
            let FaultState {
                inodes,
                durable_names,
                ..
            } = &mut *s;
            inodes.retain(|ino, _| durable_names.values().any(|i| i == ino));
        }
        self.after_sync(k);
        Ok(())
    }
}

struct FaultFile {
    inner: Arc<dyn StorageFile>,
    ino: u64,
    fs: FaultStorage,
}

impl StorageFile for FaultFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize> {
        self.inner.read_at(buf, off)
    }

    fn write_at(&self, buf: &[u8], off: u64) -> Result<()> {
        self.fs.count_write("write", self.path())?;
        self.inner.write_at(buf, off)?;
        let mut s = self.fs.lock();
        if s.frozen || buf.is_empty() {
            return Ok(());
        }
        let Some(inode) = s.inodes.get_mut(&self.ino) else {
            return Ok(());
        };
        // The whole sectors the write touched, as the page cache now holds them.
        let end = off + buf.len() as u64;
        let start = off / SECTOR * SECTOR;
        let mut bytes = vec![0u8; to_usize(end.div_ceil(SECTOR) * SECTOR - start)];
        self.inner.read_at(&mut bytes, start)?;
        inode.pending.push(FileOp::Write {
            start,
            bytes,
            len_after: self.inner.len()?,
            off,
            end,
        });
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.fs.count_write("ftruncate", self.path())?;
        self.inner.set_len(len)?;
        let mut s = self.fs.lock();
        if !s.frozen {
            if let Some(inode) = s.inodes.get_mut(&self.ino) {
                inode.pending.push(FileOp::SetLen(len));
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.fs.before_sync();
        let Some(k) = self.fs.count_sync("fdatasync", self.path())? else {
            return Ok(());
        };
        self.inner.sync()?;
        let bytes = read_all(&*self.inner)?;
        if let Some(inode) = self.fs.lock().inodes.get_mut(&self.ino) {
            inode.durable = bytes;
            inode.pending.clear();
        }
        self.fs.after_sync(k);
        Ok(())
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        self.inner.map(len)
    }

    fn try_lock(&self) -> Result<bool> {
        self.inner.try_lock()
    }
}
