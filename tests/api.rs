//! API semantics: every operation of the Rust API and its error cases, as API.md
//! ("Semantics that the names do not say") fixes them.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::testing::FaultStorage;
use quiver::{Database, Dir, Options, Txn, ValueRef};
use std::path::Path;
use support::{
    Scratch, assert_clean, assert_err, commit_node, dump, edge_ids, edge_set, fresh, node_ids,
    open, open_fault, read_dir_bytes,
};

/// Closes `db` cleanly and opens `path` again: `check` and the integrity check must pass
/// on the reopened database, which is returned.
fn reopen_and_check(db: Database, path: &Path, check: impl FnOnce(&Database)) -> Database {
    db.close().unwrap();
    let db = open(path);
    check(&db);
    assert_clean(&db);
    db
}

/// A power loss now: writes the durable image of `fs` (on which `db` runs) to `dir`,
/// drops `db` without closing it, and opens the image (recovery).
fn recover_image(fs: &FaultStorage, db: Database, dir: &Path) -> Database {
    fs.write_durable_image(dir).unwrap();
    drop(db);
    open(dir)
}

/// A write transaction on `db` that has inserted nodes `a` and `b` (label "N") and an edge
/// `e` from `a` to `b` (type "E"), in that order: `(t, a, b, e)`.
fn begin_with_edge(db: &Database) -> (Txn, u64, u64, u64) {
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let b = t.insert_node("N").unwrap();
    let e = t.insert_edge(a, b, "E").unwrap();
    (t, a, b, e)
}

fn label(t: &Txn, id: u64) -> String {
    t.node_label(id).unwrap().to_str().unwrap().to_string()
}

fn type_name(t: &Txn, edge: u64) -> String {
    let e = t.get_edge(edge).unwrap();
    t.name_of(e.etype).unwrap().to_str().unwrap().to_string()
}

#[test]
fn ids_start_at_one_and_committed_ids_are_never_reused() {
    let (s, path, db) = fresh("ids");
    let (t, a, b, e) = begin_with_edge(&db);
    assert_eq!((a, b, e), (1, 2, 1), "ids start at 1");
    t.commit().unwrap();

    // Delete the newest node and edge: their ids stay used.
    let mut t = db.begin_write().unwrap();
    let c = t.insert_node("N").unwrap();
    let e2 = t.insert_edge(a, c, "E").unwrap();
    t.commit().unwrap();
    let mut t = db.begin_write().unwrap();
    t.delete_node(c, true).unwrap();
    t.commit().unwrap();
    let mut committed_nodes = vec![a, b, c];
    let mut committed_edges = vec![e, e2];

    // Ids of a rolled-back transaction may come back; committed ones never do.
    let mut t = db.begin_write().unwrap();
    let r = t.insert_node("N").unwrap();
    let re = t.insert_edge(a, r, "E").unwrap();
    assert!(!committed_nodes.contains(&r));
    assert!(!committed_edges.contains(&re));
    t.rollback();
    let mut t = db.begin_write().unwrap();
    let d = t.insert_node("N").unwrap();
    let de = t.insert_edge(a, d, "E").unwrap();
    assert!(!committed_nodes.contains(&d), "{d} reused");
    assert!(!committed_edges.contains(&de), "{de} reused");
    // Inserted and deleted in one committed transaction: the id is spent too.
    let x = t.insert_node("N").unwrap();
    let xe = t.insert_edge(x, x, "E").unwrap();
    t.delete_node(x, true).unwrap();
    t.commit().unwrap();
    committed_nodes.extend([d, x]);
    committed_edges.extend([de, xe]);

    // Across a checkpoint and a clean reopen.
    db.checkpoint().unwrap();
    let db = reopen_and_check(db, &path, |_| {});
    let mut t = db.begin_write().unwrap();
    let y = t.insert_node("N").unwrap();
    let ye = t.insert_edge(y, a, "E").unwrap();
    assert!(!committed_nodes.contains(&y), "{y} reused after reopen");
    assert!(!committed_edges.contains(&ye), "{ye} reused after reopen");
    t.delete_node(y, true).unwrap();
    t.commit().unwrap();
    committed_nodes.push(y);
    committed_edges.push(ye);
    // Ids are stable: the surviving records are where they were.
    let t = db.begin_read().unwrap();
    assert_eq!(t.get_edge(e).unwrap().src, a);
    assert_eq!(t.get_edge(de).unwrap().dst, d);
    assert_eq!(node_ids(&t, None), vec![a, b, d]);
    drop(t);
    assert_clean(&db);
    db.close().unwrap();

    // Across recovery (the deletes are only in the log, not in a checkpoint).
    let (fs, db) = open_fault(&path, &Options::default());
    let mut t = db.begin_write().unwrap();
    let z = t.insert_node("N").unwrap();
    let ze = t.insert_edge(z, a, "E").unwrap();
    t.delete_node(z, true).unwrap();
    t.commit().unwrap();
    committed_nodes.push(z);
    committed_edges.push(ze);
    let db = recover_image(&fs, db, &s.path("crash"));
    assert!(db.last_recovery().txns_replayed >= 1);
    let mut t = db.begin_write().unwrap();
    let w = t.insert_node("N").unwrap();
    let we = t.insert_edge(w, a, "E").unwrap();
    assert!(!committed_nodes.contains(&w), "{w} reused after recovery");
    assert!(!committed_edges.contains(&we), "{we} reused after recovery");
    t.commit().unwrap();
    assert_clean(&db);
}

#[test]
fn every_call_naming_a_missing_record_is_not_found() {
    let (_s, _, db) = fresh("notfound");
    let (mut t, a, b, e) = begin_with_edge(&db);
    let gone = t.insert_node("N").unwrap();
    let gone_e = t.insert_edge(a, b, "E").unwrap();
    t.set_node_prop(a, "k", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();
    let mut t = db.begin_write().unwrap();
    t.delete_node(gone, false).unwrap();
    t.delete_edge(gone_e).unwrap();
    t.commit().unwrap();
    let before = dump(&db.begin_read().unwrap());

    let missing_nodes = [0, gone, 999, u64::MAX];
    let missing_edges = [0, gone_e, 999, u64::MAX];
    let check_reads = |t: &Txn| {
        for n in missing_nodes {
            assert_err(t.node_label(n), "NotFound");
            assert_err(t.node_prop(n, "k"), "NotFound");
            assert_err(t.node_props(n), "NotFound");
            assert_err(t.edges(n, Dir::Both, None).map(|_| ()), "NotFound");
            assert_err(t.edges(n, Dir::Out, Some("E")).map(|_| ()), "NotFound");
            assert_err(t.degree(n, Dir::In, None), "NotFound");
            assert_err(t.degree(n, Dir::Both, Some("nope")), "NotFound");
        }
        for e in missing_edges {
            assert_err(t.get_edge(e), "NotFound");
            assert_err(t.edge_prop(e, "k"), "NotFound");
        }
    };
    check_reads(&db.begin_read().unwrap());

    let mut t = db.begin_write().unwrap();
    check_reads(&t);
    for n in missing_nodes {
        assert_err(t.delete_node(n, false), "NotFound");
        assert_err(t.delete_node(n, true), "NotFound");
        assert_err(t.set_node_prop(n, "k", ValueRef::Int(2)), "NotFound");
        assert_err(t.unset_node_prop(n, "k"), "NotFound");
        assert_err(t.unset_node_prop(n, "never-stored-key"), "NotFound");
        assert_err(t.insert_edge(n, a, "E"), "NotFound");
        assert_err(t.insert_edge(a, n, "E"), "NotFound");
        assert_err(t.insert_edge(n, n, "NewType"), "NotFound");
    }
    for e in missing_edges {
        assert_err(t.delete_edge(e), "NotFound");
        assert_err(t.set_edge_prop(e, "k", ValueRef::Int(2)), "NotFound");
        assert_err(t.unset_edge_prop(e, "k"), "NotFound");
    }
    // Deleted earlier in the same transaction: gone for this transaction too.
    let c = t.insert_node("N").unwrap();
    let ce = t.insert_edge(c, a, "E").unwrap();
    t.delete_edge(ce).unwrap();
    assert_err(t.get_edge(ce), "NotFound");
    assert_err(t.delete_edge(ce), "NotFound");
    assert_err(t.set_edge_prop(ce, "k", ValueRef::Null), "NotFound");
    t.delete_node(c, false).unwrap();
    assert_err(t.node_label(c), "NotFound");
    assert_err(t.delete_node(c, false), "NotFound");
    assert_err(t.insert_edge(a, c, "E"), "NotFound");
    assert_err(t.degree(c, Dir::Both, None), "NotFound");
    // The failed calls had no effect (not even interning a name) and the transaction is
    // still usable.
    assert_eq!(t.get_edge(e).unwrap().src, a);
    assert_eq!(t.string_id("NewType"), None);
    assert_eq!(t.string_id("never-stored-key"), None);
    t.commit().unwrap();
    assert_eq!(dump(&db.begin_read().unwrap()), before);
    // The type named only in failed calls was never stored.
    assert!(edge_ids(&db.begin_read().unwrap(), a, Dir::Both, Some("NewType")).is_empty());
    assert_clean(&db);
}

#[test]
fn unknown_label_or_type_is_an_empty_cursor() {
    let (_s, _, db) = fresh("unknown");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("A").unwrap();
    let b = t.insert_node("Gone").unwrap();
    t.insert_edge(a, a, "E").unwrap();
    let ge = t.insert_edge(a, b, "GoneType").unwrap();
    t.commit().unwrap();
    let mut t = db.begin_write().unwrap();
    t.delete_edge(ge).unwrap();
    t.delete_node(b, false).unwrap();
    t.commit().unwrap();

    let check = |t: &Txn| {
        // Never stored.
        assert!(node_ids(t, Some("NoSuchLabel")).is_empty());
        for dir in [Dir::Out, Dir::In, Dir::Both] {
            assert!(edge_ids(t, a, dir, Some("NoSuchType")).is_empty());
            assert_eq!(t.degree(a, dir, Some("NoSuchType")).unwrap(), 0);
            // A label used as a type, and a type whose edges are all gone.
            assert!(edge_ids(t, a, dir, Some("A")).is_empty());
            assert_eq!(t.degree(a, dir, Some("GoneType")).unwrap(), 0);
        }
        // Stored once, no live node has it now.
        assert!(node_ids(t, Some("Gone")).is_empty());
        // A type used as a label.
        assert!(node_ids(t, Some("E")).is_empty());
        assert_eq!(t.node_prop(a, "no-such-key").unwrap(), None);
    };
    check(&db.begin_read().unwrap());
    let t = db.begin_write().unwrap();
    check(&t);
    drop(t);
    assert_clean(&db);
}

#[test]
fn unset_is_a_noop_when_unset_and_null_is_a_value() {
    let (_s, path, db) = fresh("null");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let e = t.insert_edge(a, a, "E").unwrap();
    // Key never stored anywhere, then a key stored elsewhere but not here.
    t.unset_node_prop(a, "never").unwrap();
    t.unset_edge_prop(e, "never").unwrap();
    t.set_node_prop(a, "elsewhere", ValueRef::Int(1)).unwrap();
    t.unset_edge_prop(e, "elsewhere").unwrap();
    t.set_node_prop(a, "n", ValueRef::Null).unwrap();
    t.set_edge_prop(e, "n", ValueRef::Null).unwrap();
    assert_eq!(t.node_prop(a, "n").unwrap(), Some(ValueRef::Null));
    assert_eq!(t.edge_prop(e, "n").unwrap(), Some(ValueRef::Null));
    assert_eq!(t.node_prop(a, "never").unwrap(), None);
    assert_eq!(t.edge_prop(e, "elsewhere").unwrap(), None);
    t.set_node_prop(a, "u", ValueRef::Int(5)).unwrap();
    t.set_edge_prop(e, "u", ValueRef::Int(5)).unwrap();
    t.commit().unwrap();

    let mut t = db.begin_write().unwrap();
    t.unset_node_prop(a, "u").unwrap();
    t.unset_edge_prop(e, "u").unwrap();
    assert_eq!(t.node_prop(a, "u").unwrap(), None);
    t.unset_node_prop(a, "u").unwrap(); // twice
    t.unset_edge_prop(e, "u").unwrap();
    t.commit().unwrap();
    let lsn = db.stats().last_commit_lsn;
    // A transaction made only of no-op unsets commits nothing.
    let mut t = db.begin_write().unwrap();
    t.unset_node_prop(a, "u").unwrap();
    t.unset_node_prop(a, "never").unwrap();
    t.commit().unwrap();
    assert_eq!(db.stats().last_commit_lsn, lsn);

    let check = |db: &Database| {
        let t = db.begin_read().unwrap();
        assert_eq!(t.node_prop(a, "n").unwrap(), Some(ValueRef::Null));
        assert_eq!(t.edge_prop(e, "n").unwrap(), Some(ValueRef::Null));
        assert_eq!(t.node_prop(a, "u").unwrap(), None);
        assert_eq!(t.edge_prop(e, "u").unwrap(), None);
        assert_eq!(t.edge_prop(e, "never").unwrap(), None);
        let keys: Vec<String> = t
            .node_props(a)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.to_str().unwrap().to_string())
            .collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&"n".to_string()) && keys.contains(&"elsewhere".to_string()));
    };
    check(&db);
    db.checkpoint().unwrap();
    check(&db);
    reopen_and_check(db, &path, check);
}

fn sample_values(big: &[u8]) -> Vec<ValueRef<'_>> {
    vec![
        ValueRef::Null,
        ValueRef::Bool(true),
        ValueRef::Bool(false),
        ValueRef::Int(0),
        ValueRef::Int(-1),
        ValueRef::Int(i64::MIN),
        ValueRef::Int(i64::MAX),
        ValueRef::Float(0.0),
        ValueRef::Float(-0.0),
        ValueRef::Float(1.5e300),
        ValueRef::Float(f64::MIN_POSITIVE / 4.0), // subnormal
        ValueRef::Float(f64::INFINITY),
        ValueRef::Float(f64::NEG_INFINITY),
        ValueRef::Float(f64::NAN),
        ValueRef::Str(""),
        ValueRef::Str("plain ascii"),
        ValueRef::Str("héllo wörld ✓ 日本語 𝄞 🦀"),
        ValueRef::Str("nul\0inside"),
        ValueRef::Bytes(&[]),
        ValueRef::Bytes(&[0, 255, 0, 1]),
        ValueRef::Bytes(big),
    ]
}

/// Equality that tells -0.0 from 0.0 and accepts NaN == NaN.
fn same(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Float(x), ValueRef::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

#[test]
fn every_value_type_round_trips() {
    let (_s, path, db) = fresh("values");
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let mut values = sample_values(&big);
    values.push(ValueRef::Bytes(&all_bytes));
    let key = |i: usize| format!("k{i}");

    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let e = t.insert_edge(a, a, "E").unwrap();
    for (i, v) in values.iter().enumerate() {
        t.set_node_prop(a, &key(i), *v).unwrap();
        t.set_edge_prop(e, &key(i), *v).unwrap();
        // Read back at once (read-your-writes), before the next write.
        assert!(same(t.node_prop(a, &key(i)).unwrap().unwrap(), *v));
        assert!(same(t.edge_prop(e, &key(i)).unwrap().unwrap(), *v));
    }
    // Every key on one node, each node alone with one key.
    let singles: Vec<u64> = values
        .iter()
        .map(|v| {
            let n = t.insert_node("Single").unwrap();
            t.set_node_prop(n, "v", *v).unwrap();
            n
        })
        .collect();
    t.commit().unwrap();

    let check = |db: &Database, when: &str| {
        let t = db.begin_read().unwrap();
        for (i, v) in values.iter().enumerate() {
            let got = t.node_prop(a, &key(i)).unwrap().unwrap();
            assert!(
                same(got, *v),
                "{when}: node key {i}: {v:?} came back as {got:?}"
            );
            let got = t.edge_prop(e, &key(i)).unwrap().unwrap();
            assert!(same(got, *v), "{when}: edge key {i}");
            let got = t.node_prop(singles[i], "v").unwrap().unwrap();
            assert!(same(got, *v), "{when}: single {i}");
        }
        assert_eq!(t.node_props(a).unwrap().len(), values.len());
    };
    check(&db, "after commit");
    db.checkpoint().unwrap();
    check(&db, "after checkpoint");

    // Overwrite each value with one of another type, in a fresh (post-checkpoint) record.
    let mut t = db.begin_write().unwrap();
    for (i, v) in values.iter().enumerate() {
        let other = values[(i + 1) % values.len()];
        t.set_node_prop(singles[i], "v", other).unwrap();
        assert!(same(t.node_prop(singles[i], "v").unwrap().unwrap(), other));
        t.set_node_prop(singles[i], "v", *v).unwrap();
    }
    t.commit().unwrap();
    check(&db, "after overwrite");
    reopen_and_check(db, &path, |db| check(db, "after reopen"));
}

#[test]
fn malformed_arguments_are_invalid_argument() {
    let (_s, _, db) = fresh("invalid");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let e = t.insert_edge(a, a, "E").unwrap();
    t.savepoint("sp").unwrap();
    let long = "x".repeat(1025);
    let long_utf8 = "é".repeat(513); // 1026 bytes, 513 chars
    let bad: [&str; 5] = ["", &long, &long_utf8, "a\0b", "\0"];
    for id in bad {
        let inv = "InvalidArgument";
        assert_err(t.insert_node(id), inv);
        assert_err(t.insert_edge(a, a, id), inv);
        assert_err(t.set_node_prop(a, id, ValueRef::Int(1)), inv);
        assert_err(t.node_prop(a, id), inv);
        assert_err(t.unset_node_prop(a, id), inv);
        assert_err(t.set_edge_prop(e, id, ValueRef::Int(1)), inv);
        assert_err(t.edge_prop(e, id), inv);
        assert_err(t.unset_edge_prop(e, id), inv);
        assert_err(t.edges(a, Dir::Both, Some(id)).map(|_| ()), inv);
        assert_err(t.degree(a, Dir::Out, Some(id)), inv);
        assert_err(t.nodes(Some(id)).map(|_| ()), inv);
        assert_err(t.savepoint(id), inv);
        assert_err(t.rollback_to(id), inv);
        assert_err(t.release(id), inv);
    }
    // The limits are inclusive: 1024 bytes (in bytes, not characters) is fine.
    let max = "y".repeat(1024);
    let max_utf8 = "é".repeat(512);
    for id in [max.as_str(), max_utf8.as_str()] {
        let n = t.insert_node(id).unwrap();
        let f = t.insert_edge(n, n, id).unwrap();
        t.set_node_prop(n, id, ValueRef::Int(7)).unwrap();
        t.set_edge_prop(f, id, ValueRef::Int(8)).unwrap();
        assert_eq!(t.node_prop(n, id).unwrap(), Some(ValueRef::Int(7)));
        assert_eq!(t.edge_prop(f, id).unwrap(), Some(ValueRef::Int(8)));
        assert_eq!(node_ids(&t, Some(id)), vec![n]);
        assert_eq!(t.degree(n, Dir::Both, Some(id)).unwrap(), 1);
        t.savepoint(id).unwrap();
        t.release(id).unwrap();
    }
    // Values: 16 MiB is the largest accepted.
    let limit = 16 << 20;
    let huge = vec![0xA5u8; limit + 1];
    let huge_str = "s".repeat(limit + 1);
    for v in [ValueRef::Bytes(&huge), ValueRef::Str(&huge_str)] {
        assert_err(t.set_node_prop(a, "big", v), "InvalidArgument");
        assert_err(t.set_edge_prop(e, "big", v), "InvalidArgument");
    }
    assert_eq!(t.node_prop(a, "big").unwrap(), None);
    t.set_node_prop(a, "big", ValueRef::Bytes(&huge[..limit]))
        .unwrap();
    assert_eq!(
        t.node_prop(a, "big").unwrap(),
        Some(ValueRef::Bytes(&huge[..limit]))
    );
    // The failures left the transaction usable and changed nothing.
    t.rollback_to("sp").unwrap();
    assert_eq!(t.node_prop(a, "big").unwrap(), None);
    assert_eq!(node_ids(&t, None), vec![a]);
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(node_ids(&t, None), vec![a]);
    assert_eq!(edge_ids(&t, a, Dir::Both, None), vec![e]);
    assert!(t.node_props(a).unwrap().is_empty());
    drop(t);
    assert_clean(&db);
}

#[test]
fn replacing_a_value_in_a_nearly_full_record_is_allowed() {
    // All properties of one record may take up to 64 MiB (MAX_PROPS_LEN). Replacing a value
    // by one of the same size leaves the record as large as it was, so it must succeed.
    let (_s, _, db) = fresh("props-limit");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let full = vec![1u8; 16 << 20];
    for k in ["k1", "k2", "k3"] {
        t.set_node_prop(a, k, ValueRef::Bytes(&full)).unwrap();
    }
    // 8 header + 3 * (9 + 16 MiB) + (9 + 16 MiB - 1024) = 64 MiB - 980 bytes.
    let last = &full[..(16 << 20) - 1024];
    t.set_node_prop(a, "k4", ValueRef::Bytes(last)).unwrap();
    // One more value does not fit...
    assert_err(
        t.set_node_prop(a, "k5", ValueRef::Bytes(&full[..4096])),
        "InvalidArgument",
    );
    // ...but replacing one by a value of the same size, or a smaller one, does.
    let same = t.set_node_prop(a, "k4", ValueRef::Bytes(last));
    let smaller = t.set_node_prop(a, "k1", ValueRef::Int(1));
    assert!(
        same.is_ok() && smaller.is_ok(),
        "same size: {same:?}; smaller: {smaller:?}"
    );
    t.commit().unwrap();
    assert_clean(&db);
}

#[test]
fn argument_checks_come_before_read_only_before_not_found() {
    let (_s, _, db) = fresh("order");
    let a = commit_node(&db, "N");
    let missing = 999;
    let huge = vec![0u8; (16 << 20) + 1];
    let big = ValueRef::Bytes(&huge);

    let mut r = db.begin_read().unwrap();
    // Malformed arguments first, even on a missing record in a read transaction.
    let inv = "InvalidArgument";
    assert_err(r.set_node_prop(missing, "", ValueRef::Int(1)), inv);
    assert_err(r.set_node_prop(missing, "k", big), inv);
    assert_err(r.set_edge_prop(missing, "", ValueRef::Int(1)), inv);
    assert_err(r.set_edge_prop(missing, "k", big), inv);
    assert_err(r.unset_node_prop(missing, ""), inv);
    assert_err(r.unset_edge_prop(missing, "a\0"), inv);
    assert_err(r.insert_node(""), inv);
    assert_err(r.insert_edge(missing, missing, ""), inv);
    assert_err(r.node_prop(missing, ""), inv);
    assert_err(r.edge_prop(missing, ""), inv);
    assert_err(r.edges(missing, Dir::Both, Some("")).map(|_| ()), inv);
    assert_err(r.degree(missing, Dir::Both, Some("")), inv);
    assert_err(r.savepoint(""), inv);
    assert_err(r.rollback_to(""), inv);
    assert_err(r.release(""), inv);
    // Then read-only, before existence.
    let ro = "ReadOnly";
    assert_err(r.set_node_prop(missing, "k", ValueRef::Int(1)), ro);
    assert_err(r.set_edge_prop(missing, "k", ValueRef::Int(1)), ro);
    assert_err(r.unset_node_prop(missing, "k"), ro);
    assert_err(r.unset_edge_prop(missing, "k"), ro);
    assert_err(r.delete_node(missing, true), ro);
    assert_err(r.delete_edge(missing), ro);
    assert_err(r.insert_edge(missing, a, "E"), ro);
    assert_err(r.insert_edge(a, missing, "E"), ro);
    assert_err(r.rollback_to("nope"), ro);
    assert_err(r.release("nope"), ro);
    // Reads of missing records are NotFound.
    assert_err(r.node_prop(missing, "k"), "NotFound");
    drop(r);

    // In a write transaction: malformed arguments still come before existence.
    let mut w = db.begin_write().unwrap();
    assert_err(w.set_node_prop(missing, "", ValueRef::Int(1)), inv);
    assert_err(w.set_node_prop(missing, "k", big), inv);
    assert_err(w.insert_edge(missing, missing, ""), inv);
    assert_err(w.node_prop(missing, ""), inv);
    assert_err(w.rollback_to(""), inv);
    assert_err(w.set_node_prop(missing, "k", ValueRef::Int(1)), "NotFound");
    assert_err(w.insert_edge(missing, a, "E"), "NotFound");
    assert_err(w.rollback_to("nope"), "NotFound");
    w.commit().unwrap();
    assert_clean(&db);
}

#[test]
fn writes_in_a_read_transaction_are_read_only_and_change_nothing() {
    let (_s, _, db) = fresh("readonly-txn");
    let (mut t, a, b, e) = begin_with_edge(&db);
    t.set_node_prop(a, "k", ValueRef::Int(1)).unwrap();
    t.set_edge_prop(e, "k", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();
    let before = dump(&db.begin_read().unwrap());
    let lsn = db.stats().last_commit_lsn;

    let mut r = db.begin_read().unwrap();
    let ro = "ReadOnly";
    assert_err(r.insert_node("N"), ro);
    assert_err(r.insert_node("NewLabel"), ro);
    assert_err(r.insert_edge(a, b, "E"), ro);
    assert_err(r.delete_node(b, false), ro);
    assert_err(r.delete_node(a, true), ro);
    assert_err(r.delete_edge(e), ro);
    assert_err(r.set_node_prop(a, "k", ValueRef::Int(2)), ro);
    assert_err(r.set_node_prop(a, "newkey", ValueRef::Int(2)), ro);
    assert_err(r.unset_node_prop(a, "k"), ro);
    assert_err(r.unset_node_prop(a, "not-set"), ro);
    assert_err(r.set_edge_prop(e, "k", ValueRef::Int(2)), ro);
    assert_err(r.unset_edge_prop(e, "k"), ro);
    assert_err(r.savepoint("sp"), ro);
    // Still usable for reading.
    assert_eq!(dump(&r), before);
    r.commit().unwrap(); // a read transaction's commit just ends it
    assert_eq!(dump(&db.begin_read().unwrap()), before);
    assert_eq!(db.stats().last_commit_lsn, lsn);
    assert!(node_ids(&db.begin_read().unwrap(), Some("NewLabel")).is_empty());
    assert_clean(&db);
}

#[test]
fn delete_node_with_edges_is_a_constraint_unless_detached() {
    let (_s, _, db) = fresh("detach");
    let mut t = db.begin_write().unwrap();
    let hub = t.insert_node("Hub").unwrap();
    let others: Vec<u64> = (0..4).map(|_| t.insert_node("N").unwrap()).collect();
    let mut hub_edges = vec![
        t.insert_edge(hub, others[0], "OUT").unwrap(),
        t.insert_edge(hub, others[0], "OUT").unwrap(),
        t.insert_edge(others[1], hub, "IN").unwrap(),
        t.insert_edge(hub, hub, "SELF").unwrap(),
        t.insert_edge(hub, hub, "SELF").unwrap(),
    ];
    let keep = t.insert_edge(others[2], others[3], "KEEP").unwrap();
    t.set_node_prop(hub, "p", ValueRef::Str("hub")).unwrap();
    for e in &hub_edges {
        t.set_edge_prop(*e, "p", ValueRef::Int(*e as i64)).unwrap();
    }
    t.commit().unwrap();
    let before = dump(&db.begin_read().unwrap());

    let mut t = db.begin_write().unwrap();
    assert_err(t.delete_node(hub, false), "Constraint");
    assert_err(t.delete_node(others[1], false), "Constraint"); // only an outgoing edge
    assert_err(t.delete_node(others[0], false), "Constraint"); // only incoming edges
    assert_eq!(dump(&t), before, "a failed delete has no effect");
    t.commit().unwrap();
    assert_eq!(dump(&db.begin_read().unwrap()), before);

    // A node whose last edge was deleted in this transaction can go without detach.
    let mut t = db.begin_write().unwrap();
    t.delete_edge(keep).unwrap();
    t.delete_node(others[3], false).unwrap();
    // Detach: the node and every edge of it go in this transaction.
    t.delete_node(hub, true).unwrap();
    assert_err(t.node_label(hub), "NotFound");
    for e in &hub_edges {
        assert_err(t.get_edge(*e), "NotFound");
    }
    assert_eq!(t.degree(others[0], Dir::Both, None).unwrap(), 0);
    assert_eq!(t.degree(others[1], Dir::Both, None).unwrap(), 0);
    // Now the neighbours can go without detach.
    t.delete_node(others[0], false).unwrap();
    t.commit().unwrap();

    let t = db.begin_read().unwrap();
    assert_eq!(node_ids(&t, None), vec![others[1], others[2]]);
    hub_edges.push(keep);
    for e in &hub_edges {
        assert_err(t.get_edge(*e), "NotFound");
    }
    drop(t);
    let st = db.stats();
    assert_eq!((st.nodes, st.edges), (2, 0));
    assert_clean(&db);
}

#[test]
fn self_loops_are_yielded_and_counted_once() {
    let (_s, _, db) = fresh("selfloop");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let b = t.insert_node("N").unwrap();
    let l1 = t.insert_edge(a, a, "L").unwrap();
    let out = t.insert_edge(a, b, "X").unwrap();
    let inc = t.insert_edge(b, a, "X").unwrap();
    let check = |t: &Txn, loops: &[u64]| {
        let mut both: Vec<u64> = loops.iter().copied().chain([out, inc]).collect();
        both.sort_unstable();
        let mut outs: Vec<u64> = loops.iter().copied().chain([out]).collect();
        outs.sort_unstable();
        let mut ins: Vec<u64> = loops.iter().copied().chain([inc]).collect();
        ins.sort_unstable();
        assert_eq!(edge_set(t, a, Dir::Both, None), both);
        assert_eq!(edge_set(t, a, Dir::Out, None), outs);
        assert_eq!(edge_set(t, a, Dir::In, None), ins);
        assert_eq!(t.degree(a, Dir::Both, None).unwrap(), both.len() as u64);
        assert_eq!(t.degree(a, Dir::Out, None).unwrap(), outs.len() as u64);
        assert_eq!(t.degree(a, Dir::In, None).unwrap(), ins.len() as u64);
        for dir in [Dir::Out, Dir::In, Dir::Both] {
            assert_eq!(edge_set(t, a, dir, Some("L")), loops);
            assert_eq!(t.degree(a, dir, Some("L")).unwrap(), loops.len() as u64);
        }
        assert_eq!(t.degree(b, Dir::Both, None).unwrap(), 2);
    };
    check(&t, &[l1]);
    t.commit().unwrap();
    check(&db.begin_read().unwrap(), &[l1]);
    assert_clean(&db);

    // Several self-loops on one node (the edge-chain walk must not take them for a loop in
    // the chain), in the writing transaction and after commit.
    let mut t = db.begin_write().unwrap();
    let l2 = t.insert_edge(a, a, "L").unwrap();
    let l3 = t.insert_edge(a, a, "L").unwrap();
    let l4 = t.insert_edge(a, a, "L").unwrap();
    check(&t, &[l1, l2, l3, l4]);
    t.commit().unwrap();
    check(&db.begin_read().unwrap(), &[l1, l2, l3, l4]);
    db.checkpoint().unwrap();
    check(&db.begin_read().unwrap(), &[l1, l2, l3, l4]);
    let mut t = db.begin_write().unwrap();
    t.delete_edge(l2).unwrap();
    check(&t, &[l1, l3, l4]);
    t.delete_node(a, true).unwrap();
    assert_eq!(t.degree(b, Dir::Both, None).unwrap(), 0);
    t.commit().unwrap();
    assert_clean(&db);
}

#[test]
fn self_loops_only_node_in_a_fresh_database() {
    // The smallest case: a fresh database whose only edges are self-loops on one node.
    let (_s, _, db) = fresh("selfloop2");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let loops: Vec<u64> = (0..3).map(|_| t.insert_edge(a, a, "L").unwrap()).collect();
    let d = t.degree(a, Dir::Both, None);
    assert_eq!(d.unwrap(), 3, "in the writing transaction");
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(t.degree(a, Dir::Both, None).unwrap(), 3, "after commit");
    assert_eq!(edge_set(&t, a, Dir::Both, None), loops);
    drop(t);
    let mut t = db.begin_write().unwrap();
    t.delete_node(a, true).unwrap();
    t.commit().unwrap();
    assert_clean(&db);
}

#[test]
fn parallel_edges_and_type_filters() {
    let (_s, _, db) = fresh("parallel");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    let b = t.insert_node("N").unwrap();
    let c = t.insert_node("N").unwrap();
    let x1 = t.insert_edge(a, b, "X").unwrap();
    let x2 = t.insert_edge(a, b, "X").unwrap();
    let y1 = t.insert_edge(a, b, "Y").unwrap();
    let z1 = t.insert_edge(b, a, "Z").unwrap();
    let x3 = t.insert_edge(c, a, "X").unwrap();
    let check = |t: &Txn| {
        for (e, src, dst, ty) in [
            (x1, a, b, "X"),
            (x2, a, b, "X"),
            (y1, a, b, "Y"),
            (z1, b, a, "Z"),
            (x3, c, a, "X"),
        ] {
            let info = t.get_edge(e).unwrap();
            assert_eq!((info.id, info.src, info.dst), (e, src, dst));
            assert_eq!(type_name(t, e), ty);
        }
        let cases: [(u64, Dir, Option<&str>, Vec<u64>); 12] = [
            (a, Dir::Out, None, vec![x1, x2, y1]),
            (a, Dir::Out, Some("X"), vec![x1, x2]),
            (a, Dir::Out, Some("Y"), vec![y1]),
            (a, Dir::Out, Some("Z"), vec![]),
            (a, Dir::In, None, vec![z1, x3]),
            (a, Dir::In, Some("X"), vec![x3]),
            (a, Dir::Both, None, vec![x1, x2, y1, z1, x3]),
            (a, Dir::Both, Some("X"), vec![x1, x2, x3]),
            (b, Dir::In, Some("X"), vec![x1, x2]),
            (b, Dir::Both, Some("Z"), vec![z1]),
            (c, Dir::In, Some("X"), vec![]),
            (c, Dir::Both, None, vec![x3]),
        ];
        for (n, dir, ty, mut want) in cases {
            want.sort_unstable();
            assert_eq!(edge_set(t, n, dir, ty), want, "{n} {dir:?} {ty:?}");
            assert_eq!(t.degree(n, dir, ty).unwrap(), want.len() as u64);
        }
    };
    check(&t);
    t.commit().unwrap();
    check(&db.begin_read().unwrap());
    // Deleting one of the parallel edges leaves the others.
    let mut t = db.begin_write().unwrap();
    t.delete_edge(x1).unwrap();
    assert_eq!(edge_set(&t, a, Dir::Out, Some("X")), vec![x2]);
    assert_eq!(edge_set(&t, b, Dir::In, None), vec![x2, y1]);
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(edge_set(&t, a, Dir::Out, Some("X")), vec![x2]);
    assert_eq!(t.degree(b, Dir::In, Some("X")).unwrap(), 1);
    drop(t);
    assert_clean(&db);
}

#[test]
fn node_cursor_filters_by_label_in_id_order() {
    let (_s, _, db) = fresh("labels");
    let mut t = db.begin_write().unwrap();
    let ids: Vec<u64> = (0..10)
        .map(|i| t.insert_node(if i % 3 == 0 { "A" } else { "B" }).unwrap())
        .collect();
    let a: Vec<u64> = ids.iter().copied().step_by(3).collect();
    let b: Vec<u64> = ids.iter().copied().filter(|id| !a.contains(id)).collect();
    assert_eq!(node_ids(&t, Some("A")), a);
    assert_eq!(node_ids(&t, Some("B")), b);
    assert_eq!(node_ids(&t, None), ids);
    for id in &a {
        assert_eq!(label(&t, *id), "A");
    }
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(node_ids(&t, Some("A")), a);
    assert_eq!(node_ids(&t, Some("B")), b);
    drop(t);
    let mut t = db.begin_write().unwrap();
    t.delete_node(a[1], false).unwrap();
    t.delete_node(b[0], false).unwrap();
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    assert_eq!(node_ids(&t, Some("A")), vec![a[0], a[2], a[3]]);
    assert_eq!(node_ids(&t, Some("B"))[0], b[1]);
    assert_eq!(node_ids(&t, None).len(), 8);
    drop(t);
    assert_clean(&db);
}

#[test]
fn a_write_transaction_reads_its_own_writes() {
    let (_s, _, db) = fresh("ryw");
    let (mut t, a, b, old) = begin_with_edge(&db);
    t.set_node_prop(a, "v", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();

    let before_reader = db.begin_read().unwrap();
    let mut t = db.begin_write().unwrap();
    let c = t.insert_node("NewLabel").unwrap();
    assert_eq!(label(&t, c), "NewLabel");
    assert_eq!(node_ids(&t, Some("NewLabel")), vec![c]);
    let e = t.insert_edge(c, a, "NewType").unwrap();
    assert_eq!(type_name(&t, e), "NewType");
    assert_eq!(t.degree(a, Dir::In, Some("NewType")).unwrap(), 1);
    t.set_node_prop(a, "v", ValueRef::Int(2)).unwrap();
    t.set_edge_prop(e, "w", ValueRef::Str("x")).unwrap();
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(2)));
    assert_eq!(t.edge_prop(e, "w").unwrap(), Some(ValueRef::Str("x")));
    t.delete_edge(old).unwrap();
    assert_err(t.get_edge(old), "NotFound");
    assert_eq!(edge_set(&t, a, Dir::Both, None), vec![e]);
    t.delete_node(b, false).unwrap();
    assert_eq!(node_ids(&t, None), vec![a, c]);
    // Neither a reader that began before nor one that begins now sees any of it.
    for r in [&before_reader, &db.begin_read().unwrap()] {
        assert_eq!(node_ids(r, None), vec![a, b]);
        assert_eq!(r.node_prop(a, "v").unwrap(), Some(ValueRef::Int(1)));
        assert_eq!(edge_set(r, a, Dir::Both, None), vec![old]);
        assert!(node_ids(r, Some("NewLabel")).is_empty());
        assert_err(r.get_edge(e), "NotFound");
    }
    assert_eq!(db.stats().nodes, 2, "stats count committed records only");
    t.commit().unwrap();
    // The old reader keeps its snapshot; a new one sees the commit.
    assert_eq!(node_ids(&before_reader, None), vec![a, b]);
    let r = db.begin_read().unwrap();
    assert_eq!(node_ids(&r, None), vec![a, c]);
    assert_eq!(r.edge_prop(e, "w").unwrap(), Some(ValueRef::Str("x")));
    drop((r, before_reader));
    assert_clean(&db);
}

#[test]
fn a_cursor_in_a_write_transaction_yields_the_state_when_opened() {
    let (_s, _, db) = fresh("cursor");
    let mut t = db.begin_write().unwrap();
    let hub = t.insert_node("Hub").unwrap();
    let mut spokes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..10 {
        let n = t.insert_node("N").unwrap();
        spokes.push(n);
        edges.push(if i % 2 == 0 {
            t.insert_edge(hub, n, "E").unwrap()
        } else {
            t.insert_edge(n, hub, "E").unwrap()
        });
    }
    edges.push(t.insert_edge(hub, hub, "E").unwrap());
    t.commit().unwrap();

    for commit_first in [false, true] {
        let mut t = db.begin_write().unwrap();
        if commit_first {
            // A record written in this transaction, then iterated.
            t.set_node_prop(hub, "x", ValueRef::Int(1)).unwrap();
        }
        // Delete every edge while iterating; insert new ones, which must not show up.
        let mut c = t.edges(hub, Dir::Both, None).unwrap();
        let mut seen = Vec::new();
        while let Some(e) = c.next().unwrap() {
            seen.push(e.id);
            t.delete_edge(e.id).unwrap();
            let extra = t.insert_edge(hub, spokes[0], "Late").unwrap();
            assert!(!seen.contains(&extra));
        }
        seen.sort_unstable();
        assert_eq!(seen, edges);
        assert_eq!(t.degree(hub, Dir::Both, Some("E")).unwrap(), 0);
        assert_eq!(t.degree(hub, Dir::Out, Some("Late")).unwrap(), 11);

        // Node cursor: nodes inserted later are not yielded; deleting ahead is safe.
        let mut nc = t.nodes(None).unwrap();
        let mut yielded = Vec::new();
        while let Some(id) = nc.next(&t).unwrap() {
            yielded.push(id);
            t.insert_node("Late").unwrap();
            if id == hub {
                t.delete_node(spokes[5], true).unwrap(); // not yet yielded
            }
        }
        let mut all = vec![hub];
        all.extend(&spokes);
        assert_eq!(yielded, all);
        t.rollback();
    }
    assert_clean(&db);
}

#[test]
fn savepoints() {
    let (_s, path, db) = fresh("savepoints");
    let (mut t, a, b, e) = begin_with_edge(&db);
    t.set_node_prop(a, "v", ValueRef::Int(0)).unwrap();
    t.commit().unwrap();

    let mut t = db.begin_write().unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(1)).unwrap();
    t.savepoint("s1").unwrap();
    let base = dump(&t);
    // rollback_to undoes everything since, including new labels, types and deletes, and
    // keeps the savepoint: it can be rolled back to again.
    for round in 0..3 {
        let n = t.insert_node("SpLabel").unwrap();
        t.insert_edge(n, a, "SpType").unwrap();
        t.set_node_prop(a, "v", ValueRef::Int(100 + round)).unwrap();
        t.set_edge_prop(e, "w", ValueRef::Str("x")).unwrap();
        t.delete_node(b, true).unwrap();
        t.rollback_to("s1").unwrap();
        assert_eq!(dump(&t), base, "round {round}");
        assert!(node_ids(&t, Some("SpLabel")).is_empty());
        assert_eq!(t.degree(a, Dir::Both, Some("SpType")).unwrap(), 0);
    }
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(1)));

    // Nested savepoints, a repeated name meaning the most recent one.
    t.set_node_prop(a, "v", ValueRef::Int(2)).unwrap();
    t.savepoint("s2").unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(3)).unwrap();
    t.savepoint("dup").unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(4)).unwrap();
    t.savepoint("dup").unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(5)).unwrap();
    t.rollback_to("dup").unwrap();
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(4)));
    // Releasing the newest "dup" uncovers the older one.
    t.release("dup").unwrap();
    t.rollback_to("dup").unwrap();
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(3)));
    // release removes the savepoint and every later one; the changes stay.
    t.set_node_prop(a, "v", ValueRef::Int(6)).unwrap();
    t.release("s2").unwrap();
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(6)));
    assert_err(t.rollback_to("s2"), "NotFound");
    assert_err(t.rollback_to("dup"), "NotFound");
    assert_err(t.release("dup"), "NotFound");
    assert_err(t.rollback_to("never"), "NotFound");
    assert_err(t.release("never"), "NotFound");
    // s1 (older than s2) is still there.
    t.rollback_to("s1").unwrap();
    assert_eq!(t.node_prop(a, "v").unwrap(), Some(ValueRef::Int(1)));

    // Savepoints still open at commit are committed with the transaction.
    let c = t.insert_node("Kept").unwrap();
    t.savepoint("open1").unwrap();
    t.set_node_prop(c, "k", ValueRef::Bool(true)).unwrap();
    t.savepoint("open2").unwrap();
    let ke = t.insert_edge(c, c, "KeptType").unwrap();
    t.commit().unwrap();
    let check = |db: &Database| {
        let r = db.begin_read().unwrap();
        assert_eq!(r.node_prop(a, "v").unwrap(), Some(ValueRef::Int(1)));
        assert_eq!(r.node_prop(c, "k").unwrap(), Some(ValueRef::Bool(true)));
        assert_eq!(type_name(&r, ke), "KeptType");
        assert!(node_ids(&r, Some("SpLabel")).is_empty());
        assert_eq!(label(&r, c), "Kept");
        assert_eq!(node_ids(&r, None), vec![a, b, c]);
    };
    check(&db);

    // Savepoints in a read transaction are read-only.
    let mut r = db.begin_read().unwrap();
    assert_err(r.savepoint("x"), "ReadOnly");
    assert_err(r.rollback_to("x"), "ReadOnly");
    assert_err(r.release("x"), "ReadOnly");
    drop(r);
    assert_clean(&db);
    reopen_and_check(db, &path, check);
}

#[test]
fn rolled_back_interned_names_do_not_leak() {
    // A label interned after a savepoint and rolled back, then a different name interned:
    // after commit and reopen, every name must be the one that was committed.
    let (_s, path, db) = fresh("sp-strings");
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("Base").unwrap();
    t.savepoint("s").unwrap();
    let x = t.insert_node("Discarded").unwrap();
    t.set_node_prop(x, "discarded_key", ValueRef::Int(1))
        .unwrap();
    assert_eq!(label(&t, x), "Discarded");
    t.rollback_to("s").unwrap();
    let y = t.insert_node("Kept").unwrap();
    t.set_node_prop(y, "kept_key", ValueRef::Int(2)).unwrap();
    assert_eq!(label(&t, y), "Kept");
    assert!(node_ids(&t, Some("Discarded")).is_empty());
    t.commit().unwrap();
    let check = |db: &Database| {
        let r = db.begin_read().unwrap();
        assert_eq!(label(&r, a), "Base");
        assert_eq!(label(&r, y), "Kept");
        assert_eq!(node_ids(&r, Some("Kept")), vec![y]);
        assert!(node_ids(&r, Some("Discarded")).is_empty());
        assert_eq!(r.node_prop(y, "kept_key").unwrap(), Some(ValueRef::Int(2)));
        assert_eq!(r.node_prop(y, "discarded_key").unwrap(), None);
    };
    check(&db);
    db.checkpoint().unwrap();
    reopen_and_check(db, &path, check);
}

#[test]
fn rollback_leaves_no_trace() {
    let (s, path, db) = fresh("rollback");
    let (mut t, a, b, e) = begin_with_edge(&db);
    t.set_node_prop(a, "k", ValueRef::Str("v")).unwrap();
    t.set_edge_prop(e, "k", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();
    let before = dump(&db.begin_read().unwrap());
    let stats = db.stats();

    let scribble = |t: &mut Txn, bulk: usize| {
        let n = t.insert_node("RolledBackLabel").unwrap();
        t.insert_edge(n, a, "RolledBackType").unwrap();
        t.set_node_prop(a, "k", ValueRef::Str("changed")).unwrap();
        t.set_node_prop(a, "new", ValueRef::Int(9)).unwrap();
        t.set_edge_prop(e, "k", ValueRef::Null).unwrap();
        t.unset_node_prop(a, "k").unwrap();
        t.delete_node(b, true).unwrap();
        // Large values make the transaction spill its log before it ends.
        let big = vec![7u8; 1 << 20];
        for _ in 0..bulk {
            t.set_node_prop(n, "big", ValueRef::Bytes(&big)).unwrap();
        }
    };
    // Explicit rollback, drop, and a transaction whose log spilled to disk.
    let mut t = db.begin_write().unwrap();
    scribble(&mut t, 0);
    t.rollback();
    let mut t = db.begin_write().unwrap();
    scribble(&mut t, 0);
    drop(t);
    let mut t = db.begin_write().unwrap();
    scribble(&mut t, 6);
    t.rollback();

    let check = |db: &Database| {
        let r = db.begin_read().unwrap();
        assert_eq!(dump(&r), before);
        assert!(node_ids(&r, Some("RolledBackLabel")).is_empty());
        assert_eq!(r.degree(a, Dir::Both, Some("RolledBackType")).unwrap(), 0);
        drop(r);
        let st = db.stats();
        assert_eq!((st.nodes, st.edges), (stats.nodes, stats.edges));
    };
    check(&db);
    assert_eq!(db.stats().last_commit_lsn, stats.last_commit_lsn);
    assert_clean(&db);
    reopen_and_check(db, &path, check).close().unwrap();

    // Recovery of a log holding the spilled, rolled-back transaction.
    let (fs, db) = open_fault(&path, &Options::default());
    let mut t = db.begin_write().unwrap();
    scribble(&mut t, 6);
    t.rollback();
    let db = recover_image(&fs, db, &s.path("crash"));
    check(&db);
    assert_clean(&db);
}

#[test]
fn rollback_to_after_the_log_spilled() {
    // Past 4 MiB a transaction writes its log before it commits. Rolling back to a
    // savepoint made before that point must undo the spilled work: in the transaction,
    // after commit, after a clean reopen and in recovery from the log alone.
    let s = Scratch::new("spill");
    let path = s.path("db");
    // Recovery from the log alone: no timed checkpoint before the image is taken.
    let opts = Options {
        checkpoint_thread: false,
        ..Options::default()
    };
    let (fs, db) = open_fault(&path, &opts);
    let big = vec![0x3Cu8; 1 << 20];
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();

    let mut t = db.begin_write().unwrap();
    t.savepoint("before").unwrap();
    for round in 0..2 {
        let gone = t.insert_node("Spilled").unwrap();
        for i in 0..6 {
            t.set_node_prop(gone, &format!("spilled{i}"), ValueRef::Bytes(&big))
                .unwrap();
        }
        t.set_node_prop(a, "v", ValueRef::Int(2)).unwrap();
        t.insert_edge(a, gone, "SpilledType").unwrap();
        t.rollback_to("before").unwrap();
        assert_eq!(
            t.node_prop(a, "v").unwrap(),
            Some(ValueRef::Int(1)),
            "{round}"
        );
        assert!(node_ids(&t, Some("Spilled")).is_empty());
        assert_eq!(node_ids(&t, None), vec![a]);
    }
    // Spill again, then a savepoint after the spill and a rollback to it.
    let kept = t.insert_node("Kept").unwrap();
    for i in 0..5 {
        t.set_node_prop(kept, &format!("b{i}"), ValueRef::Bytes(&big))
            .unwrap();
    }
    t.savepoint("late").unwrap();
    t.set_node_prop(kept, "small", ValueRef::Int(3)).unwrap();
    t.insert_edge(kept, a, "LateType").unwrap();
    t.rollback_to("late").unwrap();
    t.set_node_prop(a, "v", ValueRef::Int(4)).unwrap();
    t.insert_edge(a, kept, "KeptType").unwrap();
    t.commit().unwrap();

    let check = |db: &Database, when: &str| {
        let r = db.begin_read().unwrap();
        assert_eq!(
            r.node_prop(a, "v").unwrap(),
            Some(ValueRef::Int(4)),
            "{when}"
        );
        assert!(node_ids(&r, Some("Spilled")).is_empty(), "{when}");
        assert_eq!(node_ids(&r, Some("Kept")), vec![kept], "{when}");
        assert_eq!(node_ids(&r, None), vec![a, kept], "{when}");
        let mut keys: Vec<String> = r
            .node_props(kept)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                assert_eq!(v, ValueRef::Bytes(&big));
                k.to_str().unwrap().to_string()
            })
            .collect();
        keys.sort();
        assert_eq!(keys, ["b0", "b1", "b2", "b3", "b4"], "{when}");
        assert_eq!(r.degree(a, Dir::Both, None).unwrap(), 1, "{when}");
        assert_eq!(
            edge_set(&r, kept, Dir::In, Some("KeptType")).len(),
            1,
            "{when}"
        );
        assert_eq!(r.degree(a, Dir::Both, Some("SpilledType")).unwrap(), 0);
        assert_eq!(r.degree(a, Dir::Both, Some("LateType")).unwrap(), 0);
        drop(r);
        assert_clean(db);
    };
    check(&db, "after commit");
    fs.write_durable_image(&s.path("crash")).unwrap();
    db.close().unwrap();
    let recovered = open(&s.path("crash"));
    assert!(recovered.last_recovery().txns_replayed >= 2);
    check(&recovered, "after recovery");
    drop(recovered);
    check(&open(&path), "after a clean reopen");
}

#[test]
fn values_survive_checkpoint_and_reopen() {
    let (_s, path, db) = fresh("survive");
    let mut t = db.begin_write().unwrap();
    let ids: Vec<u64> = (0..200).map(|_| t.insert_node("N").unwrap()).collect();
    for (i, id) in ids.iter().enumerate() {
        t.set_node_prop(*id, "i", ValueRef::Int(i as i64)).unwrap();
        t.set_node_prop(*id, "s", ValueRef::Str(&format!("node-{i}")))
            .unwrap();
        if i > 0 {
            let e = t.insert_edge(ids[i - 1], *id, "NEXT").unwrap();
            t.set_edge_prop(e, "i", ValueRef::Int(i as i64)).unwrap();
        }
    }
    t.commit().unwrap();
    let want = dump(&db.begin_read().unwrap());
    let same = |db: &Database| assert_eq!(dump(&db.begin_read().unwrap()), want);
    db.checkpoint().unwrap();
    same(&db);
    let db = reopen_and_check(db, &path, same);
    // Change properties of checkpointed records (their blobs are in the heap file now).
    let mut t = db.begin_write().unwrap();
    for id in ids.iter().step_by(7) {
        t.set_node_prop(*id, "s", ValueRef::Str("changed")).unwrap();
        t.unset_node_prop(*id, "i").unwrap();
    }
    t.commit().unwrap();
    let want = dump(&db.begin_read().unwrap());
    let same = |db: &Database| assert_eq!(dump(&db.begin_read().unwrap()), want);
    // Reopen twice: once from the final checkpoint of close, once again after it.
    let db = reopen_and_check(db, &path, same);
    reopen_and_check(db, &path, same).close().unwrap();
}

#[test]
fn stats_count_committed_state() {
    let (_s, _, db) = fresh("stats");
    let st = db.stats();
    assert_eq!((st.nodes, st.edges, st.readers), (0, 0, 0));
    let mut t = db.begin_write().unwrap();
    let ids: Vec<u64> = (0..5).map(|_| t.insert_node("N").unwrap()).collect();
    for w in ids.windows(2) {
        t.insert_edge(w[0], w[1], "E").unwrap();
    }
    assert_eq!(db.stats().nodes, 0, "uncommitted");
    t.commit().unwrap();
    let st = db.stats();
    assert_eq!((st.nodes, st.edges), (5, 4));
    assert!(st.last_commit_lsn > 0 && st.wal_bytes > 0);

    let r1 = db.begin_read().unwrap();
    let r2 = db.begin_read().unwrap();
    assert_eq!(db.stats().readers, 2);
    drop(r1);
    assert_eq!(db.stats().readers, 1);
    drop(r2);
    assert_eq!(db.stats().readers, 0);
    let w = db.begin_write().unwrap();
    assert_eq!(db.stats().readers, 0, "a write transaction is not a reader");
    drop(w);

    let mut t = db.begin_write().unwrap();
    t.delete_node(ids[0], true).unwrap();
    t.commit().unwrap();
    let st2 = db.stats();
    assert_eq!((st2.nodes, st2.edges), (4, 3));
    assert!(st2.last_commit_lsn > st.last_commit_lsn);
    db.checkpoint().unwrap();
    let st3 = db.stats();
    assert_eq!(st3.checkpoint_lsn, st3.last_commit_lsn);
    assert!(st3.data_bytes > 0);
    assert_eq!((st3.nodes, st3.edges), (4, 3));
    assert_clean(&db);
}

#[test]
fn try_close_with_an_open_transaction_is_busy_and_the_handle_stays_usable() {
    let (_s, path, mut db) = fresh("close");
    let r = db.begin_read().unwrap();
    assert_err(db.try_close(), "Busy");
    // Still usable: write and read.
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    assert_err(db.try_close(), "Busy");
    t.commit().unwrap();
    assert_err(db.try_close(), "Busy"); // r is still open
    assert!(node_ids(&r, None).is_empty(), "r keeps its snapshot");
    drop(r);
    assert_eq!(node_ids(&db.begin_read().unwrap(), None), vec![a]);
    assert_clean(&db);
    db.try_close().unwrap();
    drop(db);
    let db = open(&path);
    assert_eq!(node_ids(&db.begin_read().unwrap(), None), vec![a]);
    assert_clean(&db);
}

#[test]
fn try_close_releases_the_database() {
    // Database::try_close: "a final checkpoint, then the files and the lock". Once it has
    // returned Ok the database can be opened again while the old handle still exists, and
    // the old handle refuses further use.
    let (_s, path, mut db) = fresh("close2");
    let a = commit_node(&db, "N");
    db.try_close().unwrap();
    let again = Database::open(&path, &Options::default());
    assert!(
        again.is_ok(),
        "reopen after a successful try_close: {:?}",
        again.err()
    );
    assert_err(db.begin_read().map(|_| ()), "Misuse");
    assert_err(db.begin_write().map(|_| ()), "Misuse");
    assert_err(db.checkpoint(), "Misuse");
    db.try_close().unwrap(); // closing twice is harmless
    drop(db);
    let again = again.unwrap();
    assert_eq!(node_ids(&again.begin_read().unwrap(), None), vec![a]);
    assert_clean(&again);
}

#[test]
fn read_only_open_refuses_writes_and_checkpoints() {
    let s = Scratch::new("ro");
    let path = s.path("db");
    let ro_opts = Options {
        read_only: true,
        create: false,
        ..Options::default()
    };
    assert_err(
        Database::open(s.path("missing"), &ro_opts).map(|_| ()),
        "NotFound",
    );
    let ro_create = Options {
        read_only: true,
        ..Options::default()
    };
    assert_err(
        Database::open(s.path("missing2"), &ro_create).map(|_| ()),
        "NotFound",
    );
    assert!(!s.path("missing2").join("meta").exists());

    let db = open(&path);
    let mut t = db.begin_write().unwrap();
    let a = t.insert_node("N").unwrap();
    t.set_node_prop(a, "k", ValueRef::Int(1)).unwrap();
    t.commit().unwrap();
    db.close().unwrap();
    let files_before = read_dir_bytes(&path);

    let db = Database::open(&path, &ro_opts).unwrap();
    assert_err(db.begin_write().map(|_| ()), "ReadOnly");
    assert_err(db.checkpoint(), "ReadOnly");
    let r = db.begin_read().unwrap();
    assert_eq!(r.node_prop(a, "k").unwrap(), Some(ValueRef::Int(1)));
    drop(r);
    assert_clean(&db);
    // Open elsewhere means locked, read-only or not.
    assert_err(Database::open(&path, &ro_opts).map(|_| ()), "Locked");
    assert_err(
        Database::open(&path, &Options::default()).map(|_| ()),
        "Locked",
    );
    db.close().unwrap();
    assert_eq!(
        read_dir_bytes(&path),
        files_before,
        "read-only open changed files"
    );

    // Read-only over a log with commits no checkpoint holds (a crash image).
    let (fs, db) = open_fault(&path, &Options::default());
    let mut t = db.begin_write().unwrap();
    let b = t.insert_node("M").unwrap();
    t.insert_edge(a, b, "E").unwrap();
    t.set_node_prop(a, "k", ValueRef::Int(2)).unwrap();
    t.commit().unwrap();
    fs.write_durable_image(&s.path("crash")).unwrap();
    drop(db);
    let image = read_dir_bytes(&s.path("crash"));
    let db = Database::open(s.path("crash"), &ro_opts).unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.node_prop(a, "k").unwrap(), Some(ValueRef::Int(2)));
    assert_eq!(edge_set(&r, b, Dir::In, Some("E")).len(), 1);
    drop(r);
    assert_err(db.begin_write().map(|_| ()), "ReadOnly");
    assert_clean(&db);
    db.close().unwrap();
    assert_eq!(read_dir_bytes(&s.path("crash")), image);
}

#[test]
fn options_are_validated_before_anything_is_created() {
    let s = Scratch::new("api-options");
    let dir = s.path("db");
    for (opts, what) in [
        (
            quiver::Options {
                segment_bytes: 0,
                ..quiver::Options::default()
            },
            "segment_bytes",
        ),
        (
            quiver::Options {
                segment_bytes: quiver::MIN_SEGMENT_BYTES - 1,
                ..quiver::Options::default()
            },
            "segment_bytes",
        ),
        (
            quiver::Options {
                checkpoint_bytes: 0,
                ..quiver::Options::default()
            },
            "checkpoint_bytes",
        ),
    ] {
        match quiver::Database::open(&dir, &opts) {
            Err(quiver::Error::InvalidArgument(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{what}: {:?}", other.map(|_| "opened")),
        }
        assert!(
            !dir.exists(),
            "{what}: a rejected open created the directory"
        );
    }
    let ok = quiver::Options {
        segment_bytes: quiver::MIN_SEGMENT_BYTES,
        ..quiver::Options::default()
    };
    quiver::Database::open(&dir, &ok).unwrap().close().unwrap();
}

#[test]
fn a_read_only_handle_reports_the_checkpoint_and_the_log_like_a_writer_does() {
    let (_s, path, db) = fresh("stats-ro");
    let mut t = db.begin_write().unwrap();
    t.insert_node("N").unwrap();
    t.commit().unwrap();
    db.checkpoint().unwrap();
    let mut t = db.begin_write().unwrap();
    t.insert_node("N").unwrap();
    t.commit().unwrap();
    let rw = db.stats();
    assert!(rw.checkpoint_lsn > 0 && rw.wal_bytes > 0, "{rw:?}");
    // A crash, not a close: the second commit stays in the log.
    std::mem::forget(db);
    let copy = path.with_extension("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&path).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let ro = Options {
        read_only: true,
        ..Options::default()
    };
    let db = Database::open(&copy, &ro).unwrap();
    let st = db.stats();
    assert_eq!(st.checkpoint_lsn, rw.checkpoint_lsn, "{st:?}");
    assert!(
        st.wal_bytes > 0 && st.last_commit_lsn > st.checkpoint_lsn,
        "{st:?}"
    );
    db.close().unwrap();
}

/// The ids `qv_nodes(label)` yields in `t`.
fn label_ids(t: &Txn, l: &str) -> Vec<u64> {
    let mut c = t.nodes(Some(l)).unwrap();
    let mut v = Vec::new();
    while let Some(id) = c.next(t).unwrap() {
        v.push(id);
    }
    v
}

/// A label scan goes through the label index for nodes a checkpoint has written and scans
/// only the slots added since: across checkpoints, deletions, a reader whose snapshot
/// predates the latest checkpoint, the writer's own inserts, a reopen and a power loss,
/// it yields exactly the live nodes of the label, in id order.
#[test]
fn label_scans_through_the_index() {
    let s = Scratch::new("label-index");
    let path = s.path("db");
    let fs = FaultStorage::open(&path).unwrap();
    let opts = Options {
        checkpoint_bytes: 64 << 10,
        ..Options::default()
    };
    let db = quiver::testing::open_storage(std::sync::Arc::new(fs.clone()), &opts).unwrap();
    let labels = ["A", "B", "C"];
    let mut want: [Vec<u64>; 3] = Default::default();
    let round = |db: &Database, n: usize, want: &mut [Vec<u64>; 3]| {
        let mut t = db.begin_write().unwrap();
        for i in 0..n {
            let id = t.insert_node(labels[i % 3]).unwrap();
            want[i % 3].push(id);
        }
        t.commit().unwrap();
    };
    for _ in 0..4 {
        round(&db, 300, &mut want);
        db.checkpoint().unwrap();
    }
    round(&db, 50, &mut want); // not checkpointed: found by the scan past the index
    let labels_len = std::fs::metadata(path.join("labels")).unwrap().len();
    assert!(labels_len > 0, "the checkpoints wrote no label index");
    // Delete every fifth node of A.
    let mut t = db.begin_write().unwrap();
    let gone: Vec<u64> = want[0].iter().copied().step_by(5).collect();
    for id in &gone {
        t.delete_node(*id, false).unwrap();
    }
    t.commit().unwrap();
    want[0].retain(|id| !gone.contains(id));
    // A reader from now on, while more nodes come and a checkpoint indexes them.
    let old = db.begin_read().unwrap();
    let old_want = want.clone();
    round(&db, 120, &mut want);
    db.checkpoint().unwrap();
    for (i, l) in labels.iter().enumerate() {
        assert_eq!(label_ids(&old, l), old_want[i], "old reader, label {l}");
        let t = db.begin_read().unwrap();
        assert_eq!(label_ids(&t, l), want[i], "new reader, label {l}");
    }
    drop(old);
    // The writer sees its own inserts and deletes.
    let mut t = db.begin_write().unwrap();
    let mine = t.insert_node("B").unwrap();
    t.delete_node(want[1][0], false).unwrap();
    let mut b = want[1][1..].to_vec();
    b.push(mine);
    assert_eq!(label_ids(&t, "B"), b);
    assert_eq!(label_ids(&t, "none"), Vec::<u64>::new());
    t.rollback();
    assert_clean(&db);
    // A power loss, then a clean reopen.
    let db = recover_image(&fs, db, &s.path("image"));
    for (i, l) in labels.iter().enumerate() {
        let t = db.begin_read().unwrap();
        assert_eq!(label_ids(&t, l), want[i], "after recovery, label {l}");
    }
    assert_clean(&db);
    let db = reopen_and_check(db, &s.path("image"), |db| {
        let t = db.begin_read().unwrap();
        for (i, l) in labels.iter().enumerate() {
            assert_eq!(label_ids(&t, l), want[i], "after reopen, label {l}");
        }
    });
    db.close().unwrap();
}

/// The edges `t` sees of `node`, as (id, src, dst, type name), in cursor order.
fn edge_list(t: &Txn, node: u64, dir: Dir, etype: Option<&str>) -> Vec<(u64, u64, u64, String)> {
    let mut c = t.edges(node, dir, etype).unwrap();
    let mut v = Vec::new();
    while let Some(e) = c.next().unwrap() {
        let ty = t.name_of(e.etype).unwrap().to_str().unwrap().to_string();
        v.push((e.id, e.src, e.dst, ty));
    }
    v
}

#[test]
fn a_dense_node_lists_its_edges_by_direction_type_and_id_in_every_snapshot() {
    // A hub with thousands of edges of three types in both directions and self-loops.
    // Whatever the history (in memory, checkpointed, edited after a checkpoint, reopened),
    // a cursor yields outgoing edges, then incoming ones, each by type (in the order the
    // names were first stored), then by id; a type filter yields exactly that type's
    // entries; a reader keeps the list of its snapshot while the writer deletes and
    // checkpoints.
    let (_s, path, db) = fresh("dense");
    // Stored in this order (by the first insert of each), so their ids are ascending.
    let types = ["B", "A", "C"];
    let mut t = db.begin_write().unwrap();
    let hub = t.insert_node("Hub").unwrap();
    let others: Vec<u64> = (0..50).map(|_| t.insert_node("N").unwrap()).collect();
    t.commit().unwrap();
    // (id, src, dst, type index) of every edge inserted.
    let mut all: Vec<(u64, u64, u64, usize)> = Vec::new();
    for round in 0..3 {
        let mut t = db.begin_write().unwrap();
        for i in 0..1000usize {
            let ty = (i * 7 + round) % 3;
            let o = others[i % others.len()];
            let (src, dst) = match i % 5 {
                0 | 1 => (hub, o),
                2 | 3 => (o, hub),
                _ => (hub, hub),
            };
            all.push((t.insert_edge(src, dst, types[ty]).unwrap(), src, dst, ty));
        }
        t.commit().unwrap();
        if round == 1 {
            db.checkpoint().unwrap();
        }
    }
    let want = |live: &[(u64, u64, u64, usize)], dir: Dir, ty: Option<usize>| {
        let mut out: Vec<_> = live
            .iter()
            .filter(|e| e.1 == hub && ty.is_none_or(|t| t == e.3))
            .map(|e| (false, e.3, e.0, e.1, e.2, types[e.3].to_string()))
            .collect();
        let inc = live
            .iter()
            .filter(|e| e.2 == hub && ty.is_none_or(|t| t == e.3))
            .filter(|e| dir != Dir::Both || e.1 != hub)
            .map(|e| (true, e.3, e.0, e.1, e.2, types[e.3].to_string()));
        match dir {
            Dir::Out => {}
            Dir::In => out = inc.collect(),
            Dir::Both => out.extend(inc),
        }
        out.sort();
        out.into_iter()
            .map(|(_, _, id, s, d, ty)| (id, s, d, ty))
            .collect::<Vec<_>>()
    };
    let check = |t: &Txn, live: &[(u64, u64, u64, usize)], when: &str| {
        for dir in [Dir::Out, Dir::In, Dir::Both] {
            assert_eq!(
                edge_list(t, hub, dir, None),
                want(live, dir, None),
                "{when} {dir:?}"
            );
            for (ty, name) in types.iter().enumerate() {
                let got = edge_list(t, hub, dir, Some(name));
                assert_eq!(got, want(live, dir, Some(ty)), "{when} {dir:?} {name}");
                assert_eq!(t.degree(hub, dir, Some(name)).unwrap(), got.len() as u64);
            }
            assert_eq!(
                t.degree(hub, dir, None).unwrap(),
                want(live, dir, None).len() as u64
            );
        }
        assert!(edge_list(t, hub, Dir::Both, Some("Never")).is_empty());
    };
    let r = db.begin_read().unwrap();
    check(&r, &all, "in memory after a checkpoint");
    // Delete every third edge, then checkpoint while `r` still reads the old list.
    let mut t = db.begin_write().unwrap();
    let mut live = Vec::new();
    for (i, e) in all.iter().enumerate() {
        if i % 3 == 0 {
            t.delete_edge(e.0).unwrap();
        } else {
            live.push(*e);
        }
    }
    check(&t, &live, "in the deleting transaction");
    t.commit().unwrap();
    db.checkpoint().unwrap();
    check(
        &r,
        &all,
        "the old snapshot, after the delete and a checkpoint",
    );
    drop(r);
    db.checkpoint().unwrap();
    check(&db.begin_read().unwrap(), &live, "checkpointed");
    let db = reopen_and_check(db, &path, |db| {
        check(&db.begin_read().unwrap(), &live, "reopened");
    });
    // Detach-delete the hub: every neighbour's list loses its entries.
    let mut t = db.begin_write().unwrap();
    t.delete_node(hub, true).unwrap();
    t.commit().unwrap();
    let t = db.begin_read().unwrap();
    for o in &others {
        assert_eq!(t.degree(*o, Dir::Both, None).unwrap(), 0, "node {o}");
    }
    drop(t);
    reopen_and_check(db, &path, |_| {});
}
