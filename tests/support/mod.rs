//! Support shared by the test crates, each of which includes this tree with `mod support;`:
//!
//! - [`scratch`]: scratch directories, copies and listings of database directories;
//! - [`model`]: the graph model, the full read of what a transaction sees, comparisons;
//! - [`workload`]: the deterministic crash workload and its history (crash, power loss);
//! - [`capi`]: safe wrappers over the C ABI and a dump through it (kill -9 torture).
//!
//! The seeded generator is `quiver::testing::SplitMix64`; [`RngExt`] adds the draws the
//! tests make with it.

#![allow(dead_code, reason = "each test crate uses a different subset")]

pub mod capi;
pub mod model;
pub mod scratch;
pub mod workload;

#[allow(unused_imports, reason = "each test crate uses a different subset")]
pub use model::*;
#[allow(unused_imports, reason = "each test crate uses a different subset")]
pub use scratch::*;

use quiver::testing::{FaultStorage, SplitMix64};
use quiver::{Database, Options};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Draws built on [`SplitMix64::below`], consuming its sequence the same way everywhere.
pub trait RngExt {
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64;
    /// One element of `items` (not empty).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
}

impl RngExt for SplitMix64 {
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Opens (creating) the database in `dir` with default options.
#[track_caller]
pub fn open(dir: &Path) -> Database {
    Database::open(dir, &Options::default()).expect("open")
}

/// A new database in a scratch directory (removed at the end of the test): the
/// directory, the database's path (`db` in it), the database.
#[track_caller]
pub fn fresh(tag: &str) -> (Scratch, PathBuf, Database) {
    let s = Scratch::new(tag);
    let path = s.path("db");
    let db = open(&path);
    (s, path, db)
}

/// Commits one new node labelled `label` in a write transaction of its own; returns its id.
#[track_caller]
pub fn commit_node(db: &Database, label: &str) -> u64 {
    let mut t = db.begin_write().unwrap();
    let id = t.insert_node(label).unwrap();
    t.commit().unwrap();
    id
}

/// Opens (creating) the database in `dir` through a [`FaultStorage`], which keeps the
/// durable image and injects failures.
#[track_caller]
pub fn open_fault(dir: &Path, opts: &Options) -> (FaultStorage, Database) {
    let fs = FaultStorage::open(dir).expect("fault storage");
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), opts)
        .expect("open through fault storage");
    (fs, db)
}

/// Asserts that `db`'s integrity check finds nothing.
#[track_caller]
pub fn assert_clean(db: &Database) {
    let r = db.check_integrity().expect("check_integrity runs");
    assert_eq!(
        r.problems, 0,
        "integrity check: {} problem(s), first: {}",
        r.problems, r.first_problem
    );
}

/// The number in environment variable `name` (decimal, or hex after `0x`), if it is set.
#[track_caller]
pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let n = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(n.unwrap_or_else(|e| panic!("{name}={v}: {e}")))
}
