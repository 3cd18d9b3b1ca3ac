//! Space reuse in the props heap: a checkpoint frees the blob a record stopped naming (its
//! properties were replaced, or it was deleted) and later checkpoints place new blobs in
//! freed extents. The heap must stay bounded under updates and deletes, and reuse must never
//! change bytes that a reader, or the database a crash leaves, still depends on.
//!
//! 1. `heap_stays_bounded_under_update_rounds`: 20,000 nodes, then five rounds renaming
//!    every one, several automatic checkpoints per round and a close after each:
//!    `props` (and the whole directory) after round 5 at most 1.3 x after round 1;
//!    `heap_stays_bounded_one_checkpoint_per_round`: the same with one checkpoint per round
//!    (the one at close) and names that keep their size.
//! 2. `deleted_records_free_their_blobs`: five rounds that delete every node (detached:
//!    its edges go too) and insert as many new ones with blobs of the same sizes: `props`
//!    after round 5 at most 1.3 x after round 1.
//! 3. `old_reader_keeps_its_values_across_reusing_checkpoints`: two readers stay open
//!    across update rounds and checkpoints; once the first ends, a checkpoint advances to
//!    the second one's snapshot. Each reader's values, read again and in the bytes it lent
//!    at the start, stay those of its snapshot; done on a heap with no free space (where
//!    only space a reader still sees could be reused) and again on one with free space.
//!
//! 1 and 2 fail on an append-only heap (every update leaves its old blob behind for good);
//! 3 must hold with or without reuse.
//!
//! Environment: `QUIVER_TEST_DIR` (scratch directory; `/dev/shm` is faster).

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::{Database, Options, Txn, Value, ValueRef};
use std::path::Path;
use std::time::Instant;
use support::{Scratch, assert_clean, dir_size};

// ---------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------

/// How much larger the heap may be after round 5 than after round 1.
const BOUND: f64 = 1.3;

/// Update rounds in tests 1 and 2.
const ROUNDS: u64 = 5;

/// The `props` file and the whole directory, in bytes.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    props: u64,
    dir: u64,
}

fn sizes(dir: &Path) -> Sizes {
    Sizes {
        props: std::fs::metadata(dir.join("props")).unwrap().len(),
        dir: dir_size(dir),
    }
}

/// Asserts that `last` (after round 5) is within [`BOUND`] of `first` (after round 1):
/// the props file and, with `whole_dir`, the directory.
#[track_caller]
fn assert_bounded(what: &str, first: Sizes, last: Sizes, whole_dir: bool) {
    let ratio = |a: u64, b: u64| a as f64 / b as f64;
    let figures = format!(
        "props {} bytes after round 1, {} after round {ROUNDS} ({:.2} x); directory {} and {} ({:.2} x); the bound is {BOUND} x",
        first.props,
        last.props,
        ratio(last.props, first.props),
        first.dir,
        last.dir,
        ratio(last.dir, first.dir)
    );
    eprintln!("{what}: {figures}");
    assert!(
        ratio(last.props, first.props) <= BOUND,
        "{what}: the props heap grew: {figures}"
    );
    if whole_dir {
        assert!(
            ratio(last.dir, first.dir) <= BOUND,
            "{what}: the directory grew: {figures}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// `s` padded to `len` bytes with a letter that depends on round `r`.
fn padded(mut s: String, len: usize, r: u64) -> String {
    let fill = char::from(b'a' + (r % 26) as u8);
    while s.len() < len {
        s.push(fill);
    }
    s
}

/// The name of node `id` in round `r`: 8 to 67 bytes, a size that changes from round to
/// round, so freed extents are split and filled by blobs of other sizes.
fn varying_name(id: u64, r: u64) -> String {
    padded(
        format!("{id}.{r}."),
        8 + ((id * 7 + r * 13) % 60) as usize,
        r,
    )
}

// ---------------------------------------------------------------------------------------
// 1. Update rounds
// ---------------------------------------------------------------------------------------

/// Nodes in test 1.
const PEOPLE: u64 = 20_000;

/// Nodes per transaction in tests 1 and 2.
const BATCH: u64 = 1_000;

/// Inserts `PEOPLE` nodes named `initial(i)` with an age, closes, then renames every node
/// `p<i>-r<r>` in round `r` of five, closing and reopening after each. Checks every name
/// after the last round and the integrity check; returns the sizes after rounds 1 and 5
/// and the automatic checkpoints of each round.
fn rename_rounds(
    tag: &str,
    opts: &Options,
    initial: fn(u64) -> String,
) -> (Sizes, Sizes, Vec<u64>) {
    let started = Instant::now();
    let s = Scratch::new(tag);
    let dir = s.path("db");
    let db = Database::open(&dir, opts).unwrap();
    let mut ids = Vec::new();
    for start in (0..PEOPLE).step_by(BATCH as usize) {
        let mut t = db.begin_write().unwrap();
        for i in start..start + BATCH {
            let name = initial(i);
            let age = ValueRef::Int(i as i64 % 90);
            ids.push(
                t.insert_node_with("Person", &[("name", ValueRef::Str(&name)), ("age", age)])
                    .unwrap(),
            );
        }
        t.commit().unwrap();
    }
    db.close().unwrap();
    let loaded = sizes(&dir);

    let mut after = Vec::new();
    let mut autos = Vec::new();
    for r in 1..=ROUNDS {
        let db = Database::open(&dir, opts).unwrap();
        let mut auto = 0;
        for (n, chunk) in ids.chunks(BATCH as usize).enumerate() {
            let mut t = db.begin_write().unwrap();
            for (j, &id) in chunk.iter().enumerate() {
                let i = n as u64 * BATCH + j as u64;
                let name = format!("p{i}-r{r}");
                t.set_node_prop(id, "name", ValueRef::Str(&name)).unwrap();
            }
            let ckpt = db.stats().checkpoint_lsn;
            t.commit().unwrap();
            auto += u64::from(db.stats().checkpoint_lsn != ckpt);
        }
        db.close().unwrap();
        after.push(sizes(&dir));
        autos.push(auto);
    }
    eprintln!(
        "{tag}: loaded {loaded:?}; after each round {after:?}; automatic checkpoints per round {autos:?}; {:.1?}",
        started.elapsed()
    );

    let db = Database::open(&dir, opts).unwrap();
    let t = db.begin_read().unwrap();
    let mut wrong = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        let want = format!("p{i}-r{ROUNDS}");
        let name = t.node_prop(id, "name").unwrap().map(|v| v.to_owned());
        let age = t.node_prop(id, "age").unwrap().map(|v| v.to_owned());
        if name != Some(Value::String(want.clone())) || age != Some(Value::Int(i as i64 % 90)) {
            wrong.push(format!(
                "node {id}: name {name:?} age {age:?}, expected {want}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{tag}: {} of {PEOPLE} nodes read back wrong after round {ROUNDS}; the first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(t.live_counts(), (PEOPLE, 0), "{tag}: live counts");
    drop(t);
    assert_clean(&db);
    db.close().unwrap();
    (after[0], after[ROUNDS as usize - 1], autos)
}

/// Several checkpoints per round (256 KiB of log each): a checkpoint frees the blobs of the
/// nodes it rewrites, and the next ones, in this round and later, fill those extents
/// instead of growing the file. The names grow by 3 bytes at the first rename (`p<i>` to
/// `p<i>-r1`), so the first generation's space fits the new blobs only where blobs freed
/// side by side (a checkpoint's worth, in id order) make one extent.
#[test]
fn heap_stays_bounded_under_update_rounds() {
    let opts = Options {
        checkpoint_bytes: 256 << 10,
        ..Options::default()
    };
    let (first, last, autos) = rename_rounds("space-rounds", &opts, |i| format!("p{i}"));
    assert!(
        autos.iter().all(|&n| n >= 2),
        "each round must span several checkpoints: automatic checkpoints per round {autos:?}"
    );
    assert_bounded("several checkpoints per round", first, last, true);
}

/// One checkpoint per round (the one at close; the log stays under the default
/// `checkpoint_bytes`): each round's checkpoint frees the blobs of the round before, which
/// only the next round's checkpoint may reuse. The names start as `p<i>-r0`, the size they
/// keep in every round, so that a freed blob always fits a new one exactly (whether freed
/// neighbours merge is up to the allocator; growing names that never fit the extents
/// freed by the first round would be a test of that, not of reuse).
#[test]
fn heap_stays_bounded_one_checkpoint_per_round() {
    let (first, last, autos) = rename_rounds("space-round-close", &Options::default(), |i| {
        format!("p{i}-r0")
    });
    assert!(
        autos.iter().all(|&n| n == 0),
        "only the close may checkpoint: automatic checkpoints per round {autos:?}"
    );
    assert_bounded("one checkpoint per round", first, last, true);
}

// ---------------------------------------------------------------------------------------
// 2. Deletes
// ---------------------------------------------------------------------------------------

/// Nodes (and edges, one fewer) of each generation in test 2.
const DOCS: u64 = 3_000;

/// Bytes of each document's body.
const BODY: usize = 300;

/// The body of document `i` of generation `g`: `BODY` bytes.
fn body(g: u64, i: u64) -> String {
    padded(format!("g{g}-d{i}-"), BODY, g)
}

/// The property of the edge from document `i - 1` to `i` of generation `g`.
fn edge_note(g: u64, i: u64) -> String {
    format!("g{g}-e{i:06}")
}

/// Inserts generation `g`: `DOCS` nodes with a body, each linked from the one before by an
/// edge with a note. Returns the node ids.
fn insert_docs(db: &Database, g: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = Vec::new();
    for start in (0..DOCS).step_by(BATCH as usize) {
        let mut t = db.begin_write().unwrap();
        for i in start..start + BATCH {
            let b = body(g, i);
            let id = t
                .insert_node_with(
                    "Doc",
                    &[("body", ValueRef::Str(&b)), ("i", ValueRef::Int(i as i64))],
                )
                .unwrap();
            if let Some(&prev) = ids.last() {
                let note = edge_note(g, i);
                t.insert_edge_with(prev, id, "NEXT", &[("note", ValueRef::Str(&note))])
                    .unwrap();
            }
            ids.push(id);
        }
        t.commit().unwrap();
    }
    ids
}

/// Generation 0, then five rounds that each delete every node (detached, so their edges
/// go too) and insert a new generation of the same sizes, with a close after each round:
/// a deleted record's blob is freed, and the next round's checkpoint reuses it.
#[test]
fn deleted_records_free_their_blobs() {
    let started = Instant::now();
    let s = Scratch::new("space-deletes");
    let dir = s.path("db");
    let db = Database::open(&dir, &Options::default()).unwrap();
    let mut ids = insert_docs(&db, 0);
    db.close().unwrap();
    let loaded = sizes(&dir);
    let mut after = Vec::new();
    for g in 1..=ROUNDS {
        let db = Database::open(&dir, &Options::default()).unwrap();
        for chunk in ids.chunks(BATCH as usize) {
            let mut t = db.begin_write().unwrap();
            for &id in chunk {
                t.delete_node(id, true).unwrap();
            }
            t.commit().unwrap();
        }
        let old = std::mem::replace(&mut ids, insert_docs(&db, g));
        let t = db.begin_read().unwrap();
        assert_eq!(t.live_counts(), (DOCS, DOCS - 1), "round {g}: live counts");
        assert!(
            t.node_label(old[0]).is_err() && t.node_label(old[DOCS as usize - 1]).is_err(),
            "round {g}: generation {} was deleted",
            g - 1
        );
        drop(t);
        db.close().unwrap();
        after.push(sizes(&dir));
    }
    eprintln!(
        "deletes: loaded {loaded:?}; after each round {after:?}; {:.1?}",
        started.elapsed()
    );

    let db = Database::open(&dir, &Options::default()).unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(t.live_counts(), (DOCS, DOCS - 1), "live counts");
    let mut wrong = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        let i = i as u64;
        let b = t.node_prop(id, "body").unwrap().map(|v| v.to_owned());
        if b != Some(Value::String(body(ROUNDS, i))) {
            wrong.push(format!(
                "node {id} body {:?}",
                b.map(|v| support::short(&v))
            ));
        }
        if i > 0 {
            let edges = support::edge_ids(&t, id, quiver::Dir::In, None);
            let note = edges
                .first()
                .and_then(|&e| t.edge_prop(e, "note").unwrap().map(|v| v.to_owned()));
            if edges.len() != 1 || note != Some(Value::String(edge_note(ROUNDS, i))) {
                wrong.push(format!("node {id}: incoming {edges:?}, note {note:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} records of the last generation read back wrong; the first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    drop(t);
    assert_clean(&db);
    // Ids are never reused, so `nodes` and `edges` grow by design: only the heap is bounded.
    assert_bounded("deletes", after[0], after[ROUNDS as usize - 1], false);
}

// ---------------------------------------------------------------------------------------
// 3. Readers
// ---------------------------------------------------------------------------------------

/// Nodes in test 3.
const READ_NODES: u64 = 2_000;

/// Renames every node of `ids` to `varying_name(id, r)`, 500 per transaction; returns the
/// new names.
fn rename_all(db: &Database, ids: &[u64], r: u64) -> Vec<String> {
    let names: Vec<String> = ids.iter().map(|&id| varying_name(id, r)).collect();
    for (chunk, names) in ids.chunks(500).zip(names.chunks(500)) {
        let mut t = db.begin_write().unwrap();
        for (&id, name) in chunk.iter().zip(names) {
            t.set_node_prop(id, "name", ValueRef::Str(name)).unwrap();
        }
        t.commit().unwrap();
    }
    names
}

/// The name of each node of `ids` as `t` sees it, borrowed from `t`.
fn names<'t>(t: &'t Txn, ids: &[u64]) -> Vec<&'t str> {
    ids.iter()
        .map(|&id| match t.node_prop(id, "name").unwrap() {
            Some(ValueRef::Str(s)) => s,
            other => panic!("node {id}: name {other:?}"),
        })
        .collect()
}

/// Asserts that `t` sees the names `want` (read as owned strings when it began) now, and
/// that the bytes it lent then (`lent`) still hold them.
#[track_caller]
fn assert_reader_sees(what: &str, t: &Txn, ids: &[u64], want: &[String], lent: &[&str]) {
    let now = names(t, ids);
    let bad: Vec<String> = (0..ids.len())
        .filter(|&k| now[k] != want[k] || lent[k].as_bytes() != want[k].as_bytes())
        .map(|k| {
            format!(
                "node {}: {:?} when the reader began, {:?} read now, {:?} in the bytes lent then",
                ids[k],
                want[k],
                now[k],
                String::from_utf8_lossy(lent[k].as_bytes())
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} values changed under the reader; the first: {:?}",
        bad.len(),
        ids.len(),
        &bad[..bad.len().min(3)]
    );
}

/// Asserts that a new reader of `db` sees the names `want`.
#[track_caller]
fn assert_latest(what: &str, db: &Database, ids: &[u64], want: &[String]) {
    let t = db.begin_read().unwrap();
    let now = names(&t, ids);
    let bad: Vec<String> = (0..ids.len())
        .filter(|&k| now[k] != want[k])
        .map(|k| format!("node {}: {:?}, expected {:?}", ids[k], now[k], want[k]))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} names wrong; the first: {:?}",
        bad.len(),
        ids.len(),
        &bad[..bad.len().min(3)]
    );
}

/// Two readers across update rounds, starting at round `r` with every name of `latest`
/// checkpointed: reader A begins (it reads the data files), half the nodes are renamed,
/// reader B begins (half its values in memory, half in the files). Both stay open through
/// three rounds, each checkpointed (checkpoints cannot pass A's snapshot). A ends, and a
/// checkpoint advances to B's snapshot, rewriting half the records; two more rounds with
/// B open; B ends and a checkpoint covers everything. Each reader must keep seeing its
/// snapshot, read again and in the bytes it lent at the start, and a new reader the
/// latest names. Returns the round after the last and the latest names.
fn staggered_readers(
    db: &Database,
    ids: &[u64],
    mut r: u64,
    mut latest: Vec<String>,
) -> (u64, Vec<String>) {
    let a = db.begin_read().unwrap();
    let a_lent = names(&a, ids);
    let a_want: Vec<String> = a_lent.iter().map(|s| s.to_string()).collect();
    assert_reader_sees(
        &format!("reader A, at round {}", r - 1),
        &a,
        ids,
        &latest,
        &a_lent,
    );

    let half = ids.len() / 2;
    latest[..half].clone_from_slice(&rename_all(db, &ids[..half], r));
    let b = db.begin_read().unwrap();
    let b_lent = names(&b, ids);
    let b_want: Vec<String> = b_lent.iter().map(|s| s.to_string()).collect();
    assert_reader_sees(
        &format!("reader B, at round {r} on the first half"),
        &b,
        ids,
        &latest,
        &b_lent,
    );
    r += 1;

    for _ in 0..3 {
        latest = rename_all(db, ids, r);
        db.checkpoint().unwrap();
        assert_reader_sees(&format!("reader A, round {r}"), &a, ids, &a_want, &a_lent);
        assert_reader_sees(&format!("reader B, round {r}"), &b, ids, &b_want, &b_lent);
        assert_latest(&format!("round {r}"), db, ids, &latest);
        r += 1;
    }

    drop(a_lent);
    drop(a);
    let before = db.stats().checkpoint_lsn;
    db.checkpoint().unwrap();
    assert!(
        db.stats().checkpoint_lsn > before,
        "with A gone the checkpoint advances to B's snapshot: checkpoint LSN {before} -> {}",
        db.stats().checkpoint_lsn
    );
    assert_reader_sees(
        &format!("reader B, after the checkpoint to its snapshot (round {r})"),
        &b,
        ids,
        &b_want,
        &b_lent,
    );
    for _ in 0..2 {
        latest = rename_all(db, ids, r);
        db.checkpoint().unwrap();
        assert_reader_sees(&format!("reader B, round {r}"), &b, ids, &b_want, &b_lent);
        assert_latest(&format!("round {r}"), db, ids, &latest);
        r += 1;
    }
    drop(b_lent);
    drop(b);
    db.checkpoint().unwrap();
    assert_latest(&format!("readers gone, round {}", r - 1), db, ids, &latest);
    (r, latest)
}

/// [`staggered_readers`] twice. The first time the heap has never freed anything, so the
/// only space a checkpoint could reuse while B is open is space B still reads: an engine
/// that frees a blob a reader can see (at commit, or in a checkpoint that readers hold
/// back) hands it out there. The second time, the checkpoints before have freed the first
/// rounds' blobs, so the checkpoint to B's snapshot may fill that space while B reads the
/// files. Then two more rounds with checkpoints (reuse with no reader), the latest names,
/// the integrity check, a reopen.
#[test]
fn old_reader_keeps_its_values_across_reusing_checkpoints() {
    let started = Instant::now();
    let s = Scratch::new("space-readers");
    let dir = s.path("db");
    let opts = Options {
        checkpoint_bytes: 64 << 10,
        ..Options::default()
    };
    let db = Database::open(&dir, &opts).unwrap();
    let mut ids = Vec::new();
    for _ in 0..READ_NODES / 500 {
        let mut t = db.begin_write().unwrap();
        for _ in 0..500 {
            let id = t.insert_node("Item").unwrap();
            let name = varying_name(id, 0);
            t.set_node_prop(id, "name", ValueRef::Str(&name)).unwrap();
            ids.push(id);
        }
        t.commit().unwrap();
    }
    db.checkpoint().unwrap();
    let latest: Vec<String> = ids.iter().map(|&id| varying_name(id, 0)).collect();
    let (r, latest) = staggered_readers(&db, &ids, 1, latest);
    let (r, mut latest) = staggered_readers(&db, &ids, r, latest);
    for r in r..r + 2 {
        latest = rename_all(&db, &ids, r);
        db.checkpoint().unwrap();
    }
    assert_latest("after the readers", &db, &ids, &latest);
    assert_clean(&db);
    db.close().unwrap();
    let db = Database::open(&dir, &opts).unwrap();
    assert_latest("reopened", &db, &ids, &latest);
    assert_clean(&db);
    eprintln!(
        "readers: props {} bytes at the end; {:.1?}",
        sizes(&dir).props,
        started.elapsed()
    );
}
