//! A quick end-to-end check: commit, crash images before and after a checkpoint, recovery.

use quiver::testing::FaultStorage;
use quiver::{Database, Dir, Error, Options, ValueRef};
use std::sync::Arc;

#[test]
fn smoke() {
    let base = std::env::temp_dir().join(format!("qv-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let dir = base.join("db");
    let opts = Options::default();
    let fs = FaultStorage::open(&dir).unwrap();
    let db = quiver::testing::open_storage(Arc::new(fs.clone()), &opts).unwrap();
    let (a, b, e);
    {
        let mut t = db.begin_write().unwrap();
        a = t.insert_node("Person").unwrap();
        b = t.insert_node("Person").unwrap();
        t.set_node_prop(a, "name", ValueRef::Str("alice")).unwrap();
        e = t.insert_edge(a, b, "KNOWS").unwrap();
        t.set_edge_prop(e, "since", ValueRef::Int(2001)).unwrap();
        t.commit().unwrap();
        let t = db.begin_read().unwrap();
        assert_eq!(
            t.node_prop(a, "name").unwrap(),
            Some(ValueRef::Str("alice"))
        );
        assert_eq!(t.degree(a, Dir::Out, None).unwrap(), 1);
    }
    assert_eq!(db.check_integrity().unwrap().problems, 0);
    assert!(matches!(Database::open(&dir, &opts), Err(Error::Locked(_))));
    fs.write_durable_image(&base.join("crash1")).unwrap();
    db.checkpoint().unwrap();
    {
        let mut t = db.begin_write().unwrap();
        t.set_node_prop(b, "name", ValueRef::Str("bob")).unwrap();
        t.delete_edge(e).unwrap();
        t.commit().unwrap();
    }
    fs.write_durable_image(&base.join("crash2")).unwrap();
    drop(db);

    let db = Database::open(base.join("crash1"), &opts).unwrap();
    println!("{:?}", db.last_recovery());
    let t = db.begin_read().unwrap();
    assert_eq!(
        t.node_prop(a, "name").unwrap(),
        Some(ValueRef::Str("alice"))
    );
    assert_eq!(t.edge_prop(e, "since").unwrap(), Some(ValueRef::Int(2001)));
    drop(t);
    assert_eq!(db.check_integrity().unwrap().problems, 0);
    drop(db);

    let db = Database::open(base.join("crash2"), &opts).unwrap();
    println!("{:?}", db.last_recovery());
    let t = db.begin_read().unwrap();
    assert_eq!(t.node_prop(b, "name").unwrap(), Some(ValueRef::Str("bob")));
    assert!(matches!(t.get_edge(e), Err(Error::NotFound(_))));
    assert_eq!(t.degree(a, Dir::Both, None).unwrap(), 0);
    drop(t);
    assert_eq!(db.check_integrity().unwrap().problems, 0);
    drop(db);
    let db = Database::open(&dir, &opts).unwrap();
    println!("{:?} {:?}", db.last_recovery(), db.stats());
    assert_eq!(db.check_integrity().unwrap().problems, 0);
}
