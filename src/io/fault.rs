//! A fault-injecting backend for crash tests.
//!
//! It wraps [`RealStorage`] (so memory maps stay real) and keeps, beside the real files, a
//! *durable image*: the contents of each file as of its last `sync`, and the set of names
//! as of the last directory sync. That image is exactly what the engine may rely on after a
//! power loss. A test can freeze the image after the Nth sync (a crash at that sync point),
//! and fail the Nth write or sync with EIO or ENOSPC.

use super::{Mapping, RealStorage, Storage, StorageFile};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The errno an injected fault carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// EIO: an I/O error.
    Eio,
    /// ENOSPC: the disk is full.
    Enospc,
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
    durable: BTreeMap<String, Vec<u8>>,
    durable_names: BTreeSet<String>,
}

/// A [`Storage`] that records what is durable and injects faults. Clones share state.
#[derive(Debug, Clone)]
pub struct FaultStorage {
    inner: Arc<RealStorage>,
    state: Arc<Mutex<FaultState>>,
}

impl FaultStorage {
    /// Wraps the directory `root` (created if missing).
    pub fn open(root: &Path) -> Result<FaultStorage> {
        let inner = RealStorage::open(root, true)?;
        let mut state = FaultState::default();
        for name in inner.list()? {
            let bytes = std::fs::read(root.join(&name)).map_err(|e| Error::io("read", root, e))?;
            state.durable.insert(name.clone(), bytes);
            state.durable_names.insert(name);
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

    /// Stops the durable image from advancing after the `n`th sync from now (1-based): a
    /// power loss right after that sync.
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

    /// Writes the durable image (what a power loss now would leave) into the new directory
    /// `dest`.
    pub fn write_durable_image(&self, dest: &Path) -> Result<()> {
        let s = self.lock();
        std::fs::create_dir_all(dest).map_err(|e| Error::io("mkdir", dest, e))?;
        for name in &s.durable_names {
            let bytes = s.durable.get(name).map(Vec::as_slice).unwrap_or(&[]);
            let p = dest.join(name);
            std::fs::write(&p, bytes).map_err(|e| Error::io("write", p, e))?;
        }
        Ok(())
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

    /// Counts a sync; returns whether the durable image may advance.
    fn count_sync(&self, op: &'static str, path: &Path) -> Result<bool> {
        let mut s = self.lock();
        s.syncs += 1;
        if s.fail_sync_at == Some(s.syncs) {
            return Err(Self::injected(s.kind, op, path));
        }
        let advance = !s.frozen;
        if s.freeze_after_sync == Some(s.syncs) {
            s.frozen = true;
        }
        Ok(advance)
    }
}

impl Storage for FaultStorage {
    fn root(&self) -> &Path {
        self.inner.root()
    }

    fn open_file(&self, name: &str, create: bool) -> Result<Arc<dyn StorageFile>> {
        let inner = self.inner.open_file(name, create)?;
        Ok(Arc::new(FaultFile {
            inner,
            name: name.to_string(),
            fs: self.clone(),
        }))
    }

    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.count_write("unlink", &self.inner.root().join(name))?;
        self.inner.remove(name)
    }

    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }

    fn sync_dir(&self) -> Result<()> {
        let root: PathBuf = self.inner.root().to_path_buf();
        if !self.count_sync("fsync directory", &root)? {
            return Ok(());
        }
        self.inner.sync_dir()?;
        let names: BTreeSet<String> = self.inner.list()?.into_iter().collect();
        let mut s = self.lock();
        s.durable.retain(|n, _| names.contains(n));
        s.durable_names = names;
        Ok(())
    }
}

struct FaultFile {
    inner: Arc<dyn StorageFile>,
    name: String,
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
        self.inner.write_at(buf, off)
    }

    fn len(&self) -> Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.fs.count_write("ftruncate", self.path())?;
        self.inner.set_len(len)
    }

    fn sync(&self) -> Result<()> {
        if !self.fs.count_sync("fdatasync", self.path())? {
            return Ok(());
        }
        self.inner.sync()?;
        let len = self.inner.len()?;
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let n = self.inner.read_at(&mut bytes, 0)?;
        bytes.truncate(n);
        self.fs.lock().durable.insert(self.name.clone(), bytes);
        Ok(())
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        self.inner.map(len)
    }

    fn try_lock(&self) -> Result<bool> {
        self.inner.try_lock()
    }
}
