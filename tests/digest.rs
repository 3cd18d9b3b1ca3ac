//! The content digest (`Txn::digest`, `qv_digest`): reproducible from its documented
//! encoding, equal for equal content whatever the history, different when any label,
//! type, id, endpoint or property differs.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::{Database, Options, Txn, ValueRef};
use std::path::Path;
use support::Scratch;

fn hex(d: [u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(db: &Database) -> String {
    hex(db.begin_read().unwrap().digest().unwrap())
}

/// Gives edge `e` the properties of the edge of [`small`].
fn set_edge_props(t: &mut Txn, e: u64) {
    for (k, v) in [
        ("since", ValueRef::Float(-0.0)),
        ("note", ValueRef::Null),
        ("raw", ValueRef::Bytes(&[0, 1])),
        ("ok", ValueRef::Bool(true)),
    ] {
        t.set_edge_prop(e, k, v).unwrap();
    }
}

/// Node 1 "Person" {age: 34, name: "Ann"}, node 2 deleted, node 3 "City", edge 1 from 1 to
/// 3 "LIVES_IN" {since: -0.0, note: null, raw: bytes 00 01, ok: true}.
fn small(path: &Path, history: bool) -> Database {
    let db = Database::open(path, &Options::default()).unwrap();
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("Person").unwrap();
    let b = t.insert_node("Tmp").unwrap();
    let c = t.insert_node("City").unwrap();
    if history {
        // Another order, superseded values, a checkpoint and a reopen on the way.
        t.set_node_prop(a, "name", ValueRef::Str("Bob")).unwrap();
        t.set_node_prop(a, "gone", ValueRef::Int(1)).unwrap();
        t.commit().unwrap();
        db.checkpoint().unwrap();
        t = db.begin_write().unwrap();
        t.unset_node_prop(a, "gone").unwrap();
        t.set_node_prop(a, "name", ValueRef::Str("Ann")).unwrap();
        t.set_node_prop(a, "age", ValueRef::Int(34)).unwrap();
    } else {
        t.set_node_prop(a, "age", ValueRef::Int(34)).unwrap();
        t.set_node_prop(a, "name", ValueRef::Str("Ann")).unwrap();
    }
    t.delete_node(b, true).unwrap();
    let e = t.insert_edge(a, c, "LIVES_IN").unwrap();
    set_edge_props(&mut t, e);
    t.commit().unwrap();
    db
}

#[test]
fn the_documented_encoding_gives_the_digest() {
    // Computed from the encoding in src/graph/digest.rs (and include/quiver.h) by an
    // independent implementation (Python's hashlib over hand-packed bytes).
    let s = Scratch::new("digest-vector");
    let db = small(&s.path("a"), false);
    assert_eq!(
        digest(&db),
        "b9b0492deb1f7c187a203d3bb3532894a9be85fc5c520ae73233a7d6b7ce6d14"
    );
}

#[test]
fn equal_content_gives_equal_digests_whatever_the_history() {
    let s = Scratch::new("digest-history");
    let (pa, pb) = (s.path("a"), s.path("b"));
    let a = small(&pa, false);
    let b = small(&pb, true);
    let want = digest(&a);
    assert_eq!(digest(&b), want);
    // The same inside a write transaction, after a checkpoint, and after a reopen.
    assert_eq!(hex(b.begin_write().unwrap().digest().unwrap()), want);
    b.checkpoint().unwrap();
    assert_eq!(digest(&b), want);
    b.close().unwrap();
    let b = Database::open(&pb, &Options::default()).unwrap();
    assert_eq!(digest(&b), want);
    a.close().unwrap();
    b.close().unwrap();
}

#[test]
fn any_difference_changes_the_digest() {
    let s = Scratch::new("digest-diff");
    let base_path = s.path("base");
    let base = small(&base_path, false);
    let want = digest(&base);
    base.close().unwrap();
    type Change = fn(&mut quiver::Txn);
    let changes: &[(&str, Change)] = &[
        ("a label", |t| {
            t.delete_node(3, true).unwrap();
            let c = t.insert_node("Town").unwrap();
            assert_eq!(c, 4);
        }),
        ("an int value", |t| {
            t.set_node_prop(1, "age", ValueRef::Int(35)).unwrap()
        }),
        ("int against float", |t| {
            t.set_node_prop(1, "age", ValueRef::Float(34.0)).unwrap()
        }),
        ("-0.0 against 0.0", |t| {
            t.set_edge_prop(1, "since", ValueRef::Float(0.0)).unwrap()
        }),
        ("string against bytes", |t| {
            t.set_node_prop(1, "name", ValueRef::Bytes(b"Ann")).unwrap()
        }),
        ("a stored null against unset", |t| {
            t.unset_edge_prop(1, "note").unwrap()
        }),
        ("a key", |t| {
            t.unset_node_prop(1, "age").unwrap();
            t.set_node_prop(1, "agf", ValueRef::Int(34)).unwrap();
        }),
        ("an extra node", |t| {
            t.insert_node("Person").unwrap();
        }),
        ("an edge's type", |t| {
            t.delete_edge(1).unwrap();
            t.insert_edge(1, 3, "WORKS_IN").unwrap();
        }),
        ("an edge's id", |t| {
            t.delete_edge(1).unwrap();
            let e = t.insert_edge(1, 3, "LIVES_IN").unwrap();
            set_edge_props(t, e);
        }),
        ("an endpoint", |t| {
            t.delete_edge(1).unwrap();
            t.insert_edge(3, 1, "LIVES_IN").unwrap();
        }),
    ];
    for (what, change) in changes {
        let p = s.path(what);
        let db = small(&p, false);
        let mut t = db.begin_write().unwrap();
        change(&mut t);
        assert_ne!(hex(t.digest().unwrap()), want, "{what}");
        t.commit().unwrap();
        assert_ne!(digest(&db), want, "{what}, committed");
        db.close().unwrap();
    }
}
