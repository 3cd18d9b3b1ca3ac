//! `Options::checkpoint_memory` budgets what the version map holds; `Stats::version_bytes`
//! is the map's own count of it. This test measures the memory really allocated (a
//! counting global allocator) by commits that nothing checkpoints and checks that the
//! count is close to it, so that the budget means what it says: a graph load (nodes
//! with properties, then edges whose lists grow) leaves versions of nodes with lists of
//! several sizes and of edges.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::{Database, Options, ValueRef};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use support::Scratch;

/// Bytes allocated and not yet freed, process-wide.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to `System` unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn the_version_count_is_close_to_the_memory_allocated() {
    let s = Scratch::new("version-memory");
    let opts = Options {
        // Nothing checkpoints until close: every version stays in the map.
        checkpoint_thread: false,
        checkpoint_bytes: 1 << 40,
        checkpoint_interval: None,
        ..Options::default()
    };
    let db = Database::open(s.path("db"), &opts).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    const NODES: u64 = 100_000;
    const EDGES: u64 = 600_000;
    let mut ids = Vec::with_capacity(NODES as usize);
    for chunk in 0..NODES / 10_000 {
        let mut t = db.begin_write().unwrap();
        for i in 0..10_000 {
            let n = chunk * 10_000 + i;
            let name = format!("p{n}");
            ids.push(
                t.insert_node_with(
                    "Person",
                    &[
                        ("name", ValueRef::Str(&name)),
                        ("age", ValueRef::Int((n % 100) as i64)),
                    ],
                )
                .unwrap(),
            );
        }
        t.commit().unwrap();
    }
    let mut x = 42u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[(x % NODES) as usize]
    };
    for chunk in 0..EDGES / 20_000 {
        let mut t = db.begin_write().unwrap();
        for j in 0..20_000 {
            let (a, b) = (next(), next());
            t.insert_edge_with(
                a,
                b,
                "KNOWS",
                &[("since", ValueRef::Int(2000 + (chunk + j) as i64 % 25))],
            )
            .unwrap();
        }
        t.commit().unwrap();
    }
    drop(ids);
    let live = (LIVE.load(Ordering::Relaxed) - before) as f64;
    let counted = db.stats().version_bytes as f64;
    let ratio = counted / live;
    eprintln!("counted {counted} bytes, allocated {live} (ratio {ratio:.3})");
    assert!(
        (0.85..=1.15).contains(&ratio),
        "the version map counts {counted} bytes; {live} are allocated (ratio {ratio:.3})"
    );
    db.close().unwrap();
}
