//! Scratch directories and the file-level helpers the tests use on database directories:
//! copying one (the files as a process crash leaves them), reading or rewriting every
//! file, listing the log segments.

#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A scratch directory, removed on drop unless the test is failing (then its path is
/// printed). It lies under `$QUIVER_TEST_DIR` if set (`/dev/shm` makes the crash sweeps
/// faster), else under the system's temporary directory.
pub struct Scratch {
    pub root: PathBuf,
}

impl Scratch {
    /// A new empty scratch directory; `tag` goes into its name.
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = std::env::var_os("QUIVER_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let root = base.join(format!(
            "qv-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the scratch directory");
        Scratch { root }
    }

    /// A path inside the scratch directory (a database directory, typically).
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("scratch directory kept: {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Copies the files of directory `from` into a new directory `to` (replacing it).
pub fn try_copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// [`try_copy_dir`], panicking on an error.
#[track_caller]
pub fn copy_dir(from: &Path, to: &Path) {
    if let Err(e) = try_copy_dir(from, to) {
        panic!("copy {} to {}: {e}", from.display(), to.display());
    }
}

/// Every file of `dir`, by name, with its bytes.
pub fn read_dir_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("dir entry");
            let name = e.file_name().into_string().expect("UTF-8 file name");
            (name, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

/// Writes `files` (as [`read_dir_bytes`] returns them) into `dir`, created if need be.
pub fn write_dir_bytes(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("write");
    }
}

/// The total size of the files in `dir` (0 if it cannot be read).
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The log segment files in `dir`, sorted by name (that is, by number).
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("wal-"))
        })
        .collect();
    v.sort();
    v
}

/// Where the frames of the log segment at `path` end: the file's length less the zeros
/// the writer preallocates past them (a segment is extended 256 KiB at a time). It walks
/// the frames' lengths from the 64-byte header, checking nothing else.
pub fn log_end(path: &Path) -> u64 {
    let b = std::fs::read(path).expect("read segment");
    let mut o = 64usize;
    while o + 25 <= b.len() {
        let len = u32::from_le_bytes(b[o + 4..o + 8].try_into().expect("4 bytes")) as usize;
        let padded = len.div_ceil(8) * 8;
        if len < 25 || o + padded > b.len() {
            break;
        }
        o += padded;
    }
    o.min(b.len()) as u64
}
