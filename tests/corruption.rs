//! Damaged files: bits flipped and ranges zeroed in every file of a closed database.
//! Each damaged copy must either fail to open with `Corrupt` naming the damaged file, or
//! open with `check_integrity` reporting a problem that names it, or (damage in bytes
//! nothing reads, or a meta slot the other slot stands in for) give back exactly the
//! original graph. Never a panic, a hang, or different data without a word.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use quiver::{Database, Error, Options, ValueRef};
use std::path::Path;
use support::{Graph, Scratch, copy_dir, dump, segments};

/// A small graph with labels, properties of several types, edges (parallel and
/// self-loops), deletions, and a second checkpoint so both meta slots are in use; closed
/// cleanly.
fn build(path: &Path) -> Graph {
    let db = Database::open(path, &Options::default()).unwrap();
    let mut t = db.begin_write().unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = t
            .insert_node(if i % 3 == 0 { "Person" } else { "City" })
            .unwrap();
        t.set_node_prop(id, "i", ValueRef::Int(i)).unwrap();
        t.set_node_prop(id, "name", ValueRef::Str(&format!("n{i}")))
            .unwrap();
        if i % 5 == 0 {
            t.set_node_prop(id, "blob", ValueRef::Bytes(&[i as u8; 100]))
                .unwrap();
        }
        ids.push(id);
    }
    for j in 0..90usize {
        let (a, b) = (ids[j % 40], ids[(j * 7 + 3) % 40]);
        let e = t
            .insert_edge(a, b, if j % 2 == 0 { "KNOWS" } else { "NEAR" })
            .unwrap();
        t.set_edge_prop(e, "w", ValueRef::Float(j as f64 / 3.0))
            .unwrap();
        if j % 4 == 0 {
            t.set_edge_prop(e, "note", ValueRef::Str("x")).unwrap();
        }
    }
    t.commit().unwrap();
    db.checkpoint().unwrap();
    let mut t = db.begin_write().unwrap();
    t.delete_node(ids[7], true).unwrap();
    t.set_node_prop(ids[8], "name", ValueRef::Str("renamed"))
        .unwrap();
    t.commit().unwrap();
    let want = dump(&db.begin_read().unwrap());
    db.close().unwrap();
    want
}

/// Opens a damaged copy and judges the outcome; returns a description of a failure.
fn judge(dir: &Path, file: &str, want: &Graph, what: &str) -> Option<String> {
    let outcome = std::panic::catch_unwind(|| match Database::open(dir, &Options::default()) {
        Err(Error::Corrupt(m)) if m.contains(file) || file.starts_with("wal-") => {
            Ok("corrupt at open")
        }
        Err(e) => Err(format!(
            "open failed with something other than Corrupt naming {file}: {e}"
        )),
        Ok(db) => {
            let r = db
                .check_integrity()
                .map_err(|e| format!("check failed: {e}"))?;
            if r.problems > 0 {
                return if r.first_problem.contains(file) {
                    Ok("check reports it")
                } else {
                    Err(format!(
                        "check's first problem does not name {file}: {}",
                        r.first_problem
                    ))
                };
            }
            let got = dump(&db.begin_read().map_err(|e| e.to_string())?);
            if &got == want {
                Ok("no effect")
            } else {
                Err("different data, no error".into())
            }
        }
    });
    match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(m)) => Some(format!("{what}: {m}")),
        Err(_) => Some(format!("{what}: panicked")),
    }
}

fn damage_each(file: &str, stride: usize, damage: impl Fn(&mut [u8], usize) -> bool) {
    let s = Scratch::new(&format!("corrupt-{file}"));
    let clean = s.path("clean");
    let want = build(&clean);
    let name = if file == "wal" {
        let first = segments(&clean).into_iter().next().unwrap();
        first.file_name().unwrap().to_str().unwrap().to_string()
    } else {
        file.to_string()
    };
    let original = std::fs::read(clean.join(&name)).unwrap();
    let mut failures = Vec::new();
    let mut tried = 0;
    for at in (0..original.len()).step_by(stride) {
        let mut bytes = original.clone();
        if !damage(&mut bytes, at) || bytes == original {
            continue;
        }
        tried += 1;
        let dir = s.path(&format!("case{at}"));
        copy_dir(&clean, &dir);
        std::fs::write(dir.join(&name), &bytes).unwrap();
        if let Some(f) = judge(&dir, &name, &want, &format!("{name} damaged at {at}")) {
            failures.push(f);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!("{name}: {tried} damaged copies judged");
    assert!(tried > 0, "no damage tried in {name}");
    assert!(
        failures.is_empty(),
        "{} of {tried} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn flip(bytes: &mut [u8], at: usize) -> bool {
    bytes[at] ^= 1 << (at % 8);
    true
}

fn zero64(bytes: &mut [u8], at: usize) -> bool {
    let end = (at + 64).min(bytes.len());
    bytes[at..end].fill(0);
    true
}

#[test]
fn flipped_bits_in_node_records() {
    damage_each("nodes", 3, flip);
}

#[test]
fn flipped_bits_in_edge_records() {
    damage_each("edges", 5, flip);
}

#[test]
fn flipped_bits_in_property_blobs() {
    damage_each("props", 7, flip);
}

#[test]
fn flipped_bits_in_strings() {
    damage_each("strings", 1, flip);
}

#[test]
fn flipped_bits_in_the_label_index() {
    damage_each("labels", 1, flip);
}

#[test]
fn flipped_bits_in_meta_slots() {
    // Only the checked bytes of each slot matter; the newest slot's damage falls back to
    // the other one, which names the same state after a clean close.
    damage_each("meta", 1, |b, at| {
        (at % 4096) < quiver::testing::format::meta::META_LEN && flip(b, at)
    });
}

#[test]
fn flipped_bits_in_the_log_segment() {
    damage_each("wal", 1, flip);
}

#[test]
fn zeroed_ranges() {
    for file in ["nodes", "edges", "props", "strings", "labels", "meta"] {
        damage_each(file, 48, zero64);
    }
}

#[test]
fn both_meta_slots_damaged_is_corrupt() {
    let s = Scratch::new("corrupt-meta-both");
    let dir = s.path("db");
    build(&dir);
    let mut m = std::fs::read(dir.join("meta")).unwrap();
    m[20] ^= 1;
    m[4096 + 20] ^= 1;
    std::fs::write(dir.join("meta"), &m).unwrap();
    match Database::open(&dir, &Options::default()) {
        Err(Error::Corrupt(msg)) => assert!(msg.contains("meta"), "{msg}"),
        other => panic!(
            "expected Corrupt, got {:?}",
            other.map(|_| "an open database")
        ),
    }
}
