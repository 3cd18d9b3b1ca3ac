//! Inserts with properties (`Txn::insert_node_with`, `insert_edge_with`, and the C
//! `qv_node_insert_with` / `qv_edge_insert_with`): the same result as an insert followed by
//! one set per property, one log frame per insert, all or nothing on bad input, replayed
//! by recovery.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::format::frame::SEGMENT_HEADER;
use quiver::testing::format::{Frame, SegmentHeader};
use quiver::{Database, Error, Options, Txn, ValueRef};
use std::path::Path;
use support::{Scratch, assert_clean, fresh, open_fault};

const BIG: [u8; 5000] = [9; 5000];

/// Properties with every value type and a key given twice (the last value wins).
fn props() -> Vec<(&'static str, ValueRef<'static>)> {
    vec![
        ("name", ValueRef::Str("Ann")),
        ("age", ValueRef::Int(34)),
        ("score", ValueRef::Float(-0.0)),
        ("nick", ValueRef::Null),
        ("ok", ValueRef::Bool(true)),
        ("raw", ValueRef::Bytes(&BIG)),
        ("name", ValueRef::Str("Anna")),
        ("empty", ValueRef::Str("")),
    ]
}

/// Builds the same graph with `insert_*_with` (`with`) or with inserts and sets.
fn build(t: &mut Txn, with: bool) {
    let p = props();
    for i in 0..20u64 {
        let n = if with {
            t.insert_node_with("Person", &p).unwrap()
        } else {
            let n = t.insert_node("Person").unwrap();
            for (k, v) in &p {
                t.set_node_prop(n, k, *v).unwrap();
            }
            n
        };
        assert_eq!(n, i + 1);
    }
    // An insert without properties, and edges with and without.
    assert_eq!(
        if with {
            t.insert_node_with("Bare", &[]).unwrap()
        } else {
            t.insert_node("Bare").unwrap()
        },
        21
    );
    for i in 1..20u64 {
        let props: &[_] = if i % 2 == 0 { &p } else { &[] };
        if with {
            t.insert_edge_with(i, i + 1, "KNOWS", props).unwrap();
        } else {
            let e = t.insert_edge(i, i + 1, "KNOWS").unwrap();
            for (k, v) in props {
                t.set_edge_prop(e, k, *v).unwrap();
            }
        }
    }
}

/// Every node's and edge's properties in listing order, as text.
fn listing(t: &Txn) -> Vec<String> {
    let mut out = Vec::new();
    for n in 1..=21 {
        out.push(format!("{:?}", t.node_props(n).unwrap()));
    }
    for e in 1..20 {
        out.push(format!("{:?}", t.edge_props(e).unwrap()));
    }
    out
}

#[test]
fn the_same_as_an_insert_and_its_sets_in_one_frame() {
    let s = Scratch::new("insert-with");
    let mut dbs = Vec::new();
    for with in [true, false] {
        let db = Database::open(s.path(&format!("db-{with}")), &Options::default()).unwrap();
        let mut t = db.begin_write().unwrap();
        build(&mut t, with);
        // Read back inside the transaction too, before the commit.
        assert_eq!(t.node_prop(3, "name").unwrap(), Some(ValueRef::Str("Anna")));
        t.commit().unwrap();
        dbs.push(db);
    }
    let (a, b) = (dbs[0].begin_read().unwrap(), dbs[1].begin_read().unwrap());
    assert_eq!(a.digest().unwrap(), b.digest().unwrap());
    assert_eq!(
        listing(&a),
        listing(&b),
        "the same properties in the same order"
    );
    drop((a, b));
    // One insert frame per node and edge, and no property frame.
    let frames = frames(&s.path("db-true"));
    let count = |f: fn(&Frame<'_>) -> bool| frames.iter().filter(|x| f(x)).count();
    assert_eq!(count(|f| matches!(f, Frame::NodeInsert { .. })), 21);
    assert_eq!(count(|f| matches!(f, Frame::EdgeInsert { .. })), 19);
    assert_eq!(count(|f| matches!(f, Frame::PropSet { .. })), 0);
    for db in dbs {
        assert_clean(&db);
    }
}

/// The frames in the log segments of the (open) database at `dir`.
fn frames(dir: &Path) -> Vec<Frame<'static>> {
    let mut out = Vec::new();
    for seg in support::segments(dir) {
        let bytes: &'static [u8] = Box::leak(std::fs::read(seg).unwrap().into_boxed_slice());
        let base = SegmentHeader::decode(bytes).unwrap().base_lsn;
        let mut at = SEGMENT_HEADER;
        while let Ok((_, frame, len)) =
            Frame::decode(&bytes[at..], base + (at - SEGMENT_HEADER) as u64)
        {
            out.push(frame);
            at += len;
        }
    }
    out
}

#[test]
fn bad_input_fails_the_whole_call_with_no_effect() {
    let (_s, _path, db) = fresh("insert-with-bad");
    let mut t = db.begin_write().unwrap();
    let too_long = "k".repeat(2000);
    let big = vec![0u8; 16 << 20];
    let bad: [&[(&str, ValueRef<'_>)]; 4] = [
        &[("ok", ValueRef::Int(1)), ("", ValueRef::Int(2))],
        &[("ok", ValueRef::Int(1)), (&too_long, ValueRef::Int(2))],
        &[("ok", ValueRef::Int(1)), ("nul\0key", ValueRef::Int(2))],
        // Five 16 MiB values exceed the 64 MiB a record's properties may take.
        &[
            ("a", ValueRef::Bytes(&big)),
            ("b", ValueRef::Bytes(&big)),
            ("c", ValueRef::Bytes(&big)),
            ("d", ValueRef::Bytes(&big)),
            ("e", ValueRef::Bytes(&big)),
        ],
    ];
    for props in bad {
        let r = t.insert_node_with("L", props);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
        let r = t.insert_edge_with(1, 1, "T", props);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    }
    let r = t.insert_edge_with(1, 2, "T", &[("k", ValueRef::Int(1))]);
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    // Nothing was created: the first ids are still free.
    assert_eq!(t.insert_node_with("L", &props()).unwrap(), 1);
    assert_eq!(t.insert_edge_with(1, 1, "T", &props()).unwrap(), 1);
    assert_eq!(t.live_counts(), (1, 1));
    t.commit().unwrap();
    let r = db.begin_read().unwrap().insert_node_with("L", &[]);
    assert!(matches!(r, Err(Error::ReadOnly(_))), "{r:?}");
}

#[test]
fn recovery_replays_inserts_with_properties() {
    let s = Scratch::new("insert-with-replay");
    // No timed or idle checkpoint before the image: the commit is replayed.
    let opts = Options {
        checkpoint_interval: None,
        ..Options::default()
    };
    let (fs, db) = open_fault(&s.path("db"), &opts);
    let mut t = db.begin_write().unwrap();
    build(&mut t, true);
    t.commit().unwrap();
    let want = db.begin_read().unwrap().digest().unwrap();
    // What a power loss now leaves: the log only (no checkpoint ran).
    fs.write_durable_image(&s.path("image")).unwrap();
    let copy = Database::open(s.path("image"), &opts).unwrap();
    assert_eq!(copy.last_recovery().txns_replayed, 1);
    assert_eq!(copy.begin_read().unwrap().digest().unwrap(), want);
    assert_clean(&copy);
    // And after a checkpoint of the replayed state.
    copy.checkpoint().unwrap();
    copy.close().unwrap();
    let again = Database::open(s.path("image"), &opts).unwrap();
    assert_eq!(again.begin_read().unwrap().digest().unwrap(), want);
}
