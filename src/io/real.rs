//! The real file backend: a directory on a POSIX file system.

use super::{Mapping, Storage, StorageFile};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A database directory on the real file system.
#[derive(Debug)]
pub struct RealStorage {
    root: PathBuf,
}

impl RealStorage {
    /// Opens the directory `root`; with `create`, makes it (and fsyncs its parent) when
    /// it is missing.
    pub fn open(root: &Path, create: bool) -> Result<RealStorage> {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::InvalidArgument(format!(
                    "{} exists and is not a Quiver database directory",
                    root.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                std::fs::create_dir(root).map_err(|e| Error::io("mkdir", root, e))?;
                let parent = match root.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                sync_dir_path(&parent)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!(
                    "{}: no database here (open without QV_OPEN_CREATE)",
                    root.display()
                )));
            }
            Err(e) => return Err(Error::io("stat", root, e)),
        }
        Ok(RealStorage {
            root: root.to_path_buf(),
        })
    }
}

fn sync_dir_path(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
    d.sync_all()
        .map_err(|e| Error::io("fsync directory", dir, e))
}

impl Storage for RealStorage {
    fn root(&self) -> &Path {
        &self.root
    }

    fn open_file(&self, name: &str, create: bool) -> Result<Arc<dyn StorageFile>> {
        let path = self.root.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::NotFound(format!("{}: missing", path.display()))
                } else {
                    Error::io("open", &path, e)
                }
            })?;
        Ok(Arc::new(RealFile { file, path }))
    }

    fn exists(&self, name: &str) -> bool {
        self.root.join(name).exists()
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.root.join(name);
        std::fs::remove_file(&path).map_err(|e| Error::io("unlink", &path, e))
    }

    fn list(&self) -> Result<Vec<String>> {
        let rd = std::fs::read_dir(&self.root).map_err(|e| Error::io("readdir", &self.root, e))?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| Error::io("readdir", &self.root, e))?;
            if let Some(name) = ent.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    fn sync_dir(&self) -> Result<()> {
        sync_dir_path(&self.root)
    }
}

/// One real file.
pub(crate) struct RealFile {
    file: File,
    path: PathBuf,
}

impl StorageFile for RealFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read", &self.path, e)),
            }
        }
        Ok(done)
    }

    fn write_at(&self, buf: &[u8], off: u64) -> Result<()> {
        self.file
            .write_all_at(buf, off)
            .map_err(|e| Error::io("write", &self.path, e))
    }

    fn len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| Error::io("fstat", &self.path, e))?
            .len())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| Error::io("ftruncate", &self.path, e))
    }

    fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, e))
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        Mapping::new(&self.file, len, &self.path)
    }

    fn try_lock(&self) -> Result<bool> {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(false)
        } else {
            Err(Error::io("flock", &self.path, e))
        }
    }
}
