//! The `quiver` command driven as a user drives it: the built binary, its exit code,
//! stdout, stderr, and the files it leaves behind. Databases are built and read back
//! through the Rust API to compare contents (by digest).

use quiver::{Database, Options, ValueRef};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Held while spawning a process and while a test closes a database in this process.
/// A database's lock is an flock on an open file; a child forked by another test thread
/// shares this process's open files until it execs, so a database closed here could
/// still be locked, for an instant, by someone else's child, and the quiver run that
/// follows would see QV_LOCKED. Spawning returns only after the exec, so holding this
/// lock around both removes that window.
static FORK: Mutex<()> = Mutex::new(());

fn fork_lock() -> MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|p| p.into_inner())
}

fn run(cmd: &mut Command) -> Output {
    let child = {
        let _g = fork_lock();
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    child.wait_with_output().expect("wait")
}

fn quiver(args: &[&str], dir: &Path) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .current_dir(dir))
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that `text` contains `want`, showing `text` when it does not.
#[track_caller]
fn has(text: &str, want: &str) {
    assert!(text.contains(want), "{want:?} not in:\n{text}");
}

/// Asserts the exit code, showing the output when it differs.
#[track_caller]
fn code(o: &Output, want: i32) {
    assert_eq!(
        o.status.code(),
        Some(want),
        "stdout:\n{}\nstderr:\n{}",
        out(o),
        err(o)
    );
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Names in `dir`, sorted: to check what a command left behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn opts(create: bool) -> Options {
    Options {
        create,
        ..Options::default()
    }
}

fn digest(db: &Path) -> [u8; 32] {
    let _g = fork_lock();
    let ro = Options {
        create: false,
        read_only: true,
        ..Options::default()
    };
    let db = Database::open(db, &ro).expect("open");
    let t = db.begin_read().expect("read");
    t.digest().expect("digest")
}

/// Every value type, holes in both id sequences, two labels and two types.
fn build_rich(path: &Path) {
    let _g = fork_lock();
    let db = Database::open(path, &opts(true)).expect("create");
    let mut t = db.begin_write().expect("write");
    let a = t.insert_node("Person").expect("node");
    let gone = t.insert_node("Person").expect("node");
    let b = t.insert_node("City").expect("node");
    let c = t.insert_node("Person").expect("node");
    let values: &[(&str, ValueRef<'_>)] = &[
        ("nan", ValueRef::Float(f64::NAN)),
        ("inf", ValueRef::Float(f64::INFINITY)),
        ("ninf", ValueRef::Float(f64::NEG_INFINITY)),
        ("negzero", ValueRef::Float(-0.0)),
        ("half", ValueRef::Float(0.5)),
        ("whole", ValueRef::Float(3.0)),
        ("tiny", ValueRef::Float(5e-324)),
        ("big", ValueRef::Int(i64::MAX)),
        ("small", ValueRef::Int(i64::MIN)),
        ("yes", ValueRef::Bool(true)),
        ("no", ValueRef::Bool(false)),
        ("empty", ValueRef::Str("")),
        ("text", ValueRef::Str("tab\t \"quote\" é, comma\nnewline")),
        ("blob", ValueRef::Bytes(&[0, 1, 2, 255])),
        ("noblob", ValueRef::Bytes(&[])),
        ("nothing", ValueRef::Null),
    ];
    for (k, v) in values {
        t.set_node_prop(a, k, *v).expect("set");
    }
    t.set_node_prop(b, "name", ValueRef::Str("Paris"))
        .expect("set");
    let e1 = t.insert_edge(a, b, "LIVES_IN").expect("edge");
    let e_gone = t.insert_edge(a, c, "KNOWS").expect("edge");
    let e3 = t.insert_edge(c, a, "KNOWS").expect("edge");
    let _self_loop = t.insert_edge(c, c, "KNOWS").expect("edge");
    for (k, v) in values {
        t.set_edge_prop(e3, k, *v).expect("set");
    }
    t.set_edge_prop(e1, "since", ValueRef::Int(2019))
        .expect("set");
    t.delete_edge(e_gone).expect("delete");
    t.delete_node(gone, false).expect("delete");
    t.commit().expect("commit");
    db.close().expect("close");
}

/// Label runs in id order, no holes: what export/import round-trips exactly.
fn build_runs(path: &Path) {
    let _g = fork_lock();
    let db = Database::open(path, &opts(true)).expect("create");
    let mut t = db.begin_write().expect("write");
    let mut people = Vec::new();
    for i in 0..5 {
        let n = t.insert_node("Person").expect("node");
        t.set_node_prop(n, "name", ValueRef::Str(&format!("p{i}")))
            .expect("set");
        t.set_node_prop(n, "age", ValueRef::Int(20 + i))
            .expect("set");
        people.push(n);
    }
    t.set_node_prop(people[0], "score", ValueRef::Float(f64::NAN))
        .expect("set");
    t.set_node_prop(people[1], "score", ValueRef::Float(-0.0))
        .expect("set");
    t.set_node_prop(people[2], "score", ValueRef::Float(f64::NEG_INFINITY))
        .expect("set");
    t.set_node_prop(people[3], "score", ValueRef::Int(7))
        .expect("set");
    t.set_node_prop(people[4], "photo", ValueRef::Bytes(b"\x89PNG"))
        .expect("set");
    t.set_node_prop(people[4], "vip", ValueRef::Bool(true))
        .expect("set");
    t.set_node_prop(
        people[3],
        "note",
        ValueRef::Str("a \"quoted\", multi\nline"),
    )
    .expect("set");
    let city = t.insert_node("City").expect("node");
    t.set_node_prop(city, "name", ValueRef::Str("Paris"))
        .expect("set");
    for w in people.windows(2) {
        let e = t.insert_edge(w[0], w[1], "KNOWS").expect("edge");
        t.set_edge_prop(e, "since", ValueRef::Int(2000))
            .expect("set");
    }
    for p in &people {
        let e = t.insert_edge(*p, city, "LIVES_IN").expect("edge");
        t.set_edge_prop(e, "weight", ValueRef::Float(1.5))
            .expect("set");
    }
    t.commit().expect("commit");
    db.close().expect("close");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

const PEOPLE: &str = "\
personId:ID,name,age:int,:LABEL
p1,Alice,34,Person
p2,Bob,,Person
p3,\"Carol, C\",29,Person
";
const KNOWS: &str = "\
:START_ID,:END_ID,since:int
p1,p2,2019
p2,p3,
";

// ---- help and usage --------------------------------------------------------------

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let d = tmp();
    let o = quiver(&["--help"], d.path());
    code(&o, 0);
    let text = out(&o);
    for cmd in [
        "info",
        "check",
        "dump",
        "load",
        "import",
        "export",
        "backup",
        "verify",
        "compact",
        "checkpoint",
        "wal",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help:\n{text}");
    }
    has(&text, "Exit codes");
    let o = quiver(&["import", "--help"], d.path());
    code(&o, 0);
    for opt in [
        "--nodes",
        "--relationships",
        "--delimiter",
        "--id-type",
        "--skip-bad-rows",
        "--report",
    ] {
        assert!(out(&o).contains(opt), "{opt} missing:\n{}", out(&o));
    }
}

#[test]
fn usage_errors_exit_2() {
    let d = tmp();
    code(&quiver(&[], d.path()), 2);
    code(&quiver(&["frobnicate"], d.path()), 2);
    code(&quiver(&["info"], d.path()), 2);
    code(
        &quiver(
            &["export", "x.qv", "--format", "graphml", "--out", "o"],
            d.path(),
        ),
        2,
    );
}

// ---- info, check, checkpoint -------------------------------------------------------

#[test]
fn info_text_json_and_labels() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    let before = listing(&d.path().join("g.qv"));
    let o = quiver(&["info", "g.qv"], d.path());
    code(&o, 0);
    let text = out(&o);
    has(&text, "format 4");
    has(&text, "nodes 6  edges 9");
    has(&text, "last recovery:");
    let o = quiver(&["info", "g.qv", "--json", "--labels"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("one JSON object");
    assert_eq!(j["nodes"], 6);
    assert_eq!(j["edges"], 9);
    assert_eq!(j["labels"]["Person"], 5);
    assert_eq!(j["labels"]["City"], 1);
    assert_eq!(j["edge_types"]["KNOWS"], 4);
    assert_eq!(j["edge_types"]["LIVES_IN"], 5);
    assert_eq!(j["format_version"], 4);
    assert!(j["checkpoint_lsn"].as_u64().expect("lsn") > 0);
    assert_eq!(j["checkpoint_lsn"], j["last_commit_lsn"]);
    assert!(j["last_recovery"]["txns_replayed"].is_u64());
    assert_eq!(
        listing(&d.path().join("g.qv")),
        before,
        "info changed the files"
    );
}

#[test]
fn info_on_a_missing_database_fails_and_creates_nothing() {
    let d = tmp();
    let o = quiver(&["info", "nope.qv"], d.path());
    code(&o, 1);
    assert!(err(&o).starts_with("quiver: QV_NOT_FOUND: "), "{}", err(&o));
    assert!(listing(d.path()).is_empty());
}

#[test]
fn check_passes_on_a_sound_database() {
    let d = tmp();
    build_rich(&d.path().join("g.qv"));
    let o = quiver(&["check", "g.qv"], d.path());
    code(&o, 0);
    has(&out(&o), ": ok");
    let o = quiver(&["check", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["ok"], true);
    assert_eq!(j["problems"], 0);
}

#[test]
fn check_exits_3_naming_the_first_problem_on_a_damaged_database() {
    let d = tmp();
    let db = d.path().join("g.qv");
    build_runs(&db);
    // Node 2's 32-byte record (offset 64): damage a byte in the middle, which its CRC covers.
    let mut nodes = std::fs::read(db.join("nodes")).expect("read");
    nodes[64 + 12] ^= 0x5a;
    std::fs::write(db.join("nodes"), nodes).expect("write");
    let o = quiver(&["check", "g.qv"], d.path());
    code(&o, 3);
    has(&out(&o), "first: ");
    assert!(err(&o).starts_with("quiver: QV_CORRUPT: "), "{}", err(&o));
    let o = quiver(&["check", "g.qv", "--json"], d.path());
    code(&o, 3);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["ok"], false);
    assert!(!j["first_problem"].as_str().expect("text").is_empty());
}

#[test]
fn a_database_open_in_another_process_is_exit_4() {
    let d = tmp();
    let path = d.path().join("g.qv");
    build_runs(&path);
    let held = Database::open(&path, &opts(false)).expect("open");
    let _g = fork_lock(); // for `drop(held)`; quiver() below does not take it
    let quiver = |args: &[&str], dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run quiver")
    };
    for args in [
        &["info", "g.qv"][..],
        &["check", "g.qv"],
        &["dump", "g.qv"],
        &["checkpoint", "g.qv"],
        &["wal", "g.qv"],
        &["export", "g.qv", "--format", "neo4j-csv", "--out", "x"],
        &["backup", "g.qv", "copy.qv"],
        &["compact", "g.qv"],
    ] {
        let o = quiver(args, d.path());
        code(&o, 4);
        assert!(err(&o).starts_with("quiver: QV_LOCKED: "), "{}", err(&o));
    }
    assert_eq!(listing(d.path()), ["g.qv"]);
    drop(held);
}

#[test]
fn checkpoint_moves_the_log_into_the_data_files() {
    let d = tmp();
    let path = d.path().join("g.qv");
    child_commits_then_dies(&path, 3);
    let o = quiver(&["wal", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    let committed = |j: &serde_json::Value| {
        j["transactions"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|t| t["state"] == "committed" && t["checkpointed"] == false)
            .count()
    };
    assert_eq!(committed(&j), 3, "{j}");
    let o = quiver(&["checkpoint", "g.qv"], d.path());
    code(&o, 0);
    has(&out(&o), "checkpoint lsn");
    let o = quiver(&["wal", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(committed(&j), 0, "{j}");
    assert_eq!(j["checkpoint_lsn"], j["last_commit_lsn"]);
}

// ---- wal ---------------------------------------------------------------------------

/// Re-runs this test binary as a child that commits `txns` transactions to `path` and
/// aborts without closing (no final checkpoint), so the log holds them.
fn child_commits_then_dies(path: &Path, txns: u32) {
    child_commits_then_dies_in(path, txns, 64 << 20);
}

/// As [`child_commits_then_dies`], with log segments of `segment_bytes`.
fn child_commits_then_dies_in(path: &Path, txns: u32, segment_bytes: u64) {
    let st = run(Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "child_writer", "--nocapture"])
        .env("QUIVER_CLI_CHILD_SEGMENT", segment_bytes.to_string())
        .env("QUIVER_CLI_CHILD_DB", path)
        .env("QUIVER_CLI_CHILD_TXNS", txns.to_string()));
    assert!(!st.status.success(), "the child should have aborted");
    assert!(path.join("meta").exists());
}

#[test]
fn child_writer() {
    let Some(path) = std::env::var_os("QUIVER_CLI_CHILD_DB") else {
        return;
    };
    let n: u32 = std::env::var("QUIVER_CLI_CHILD_TXNS")
        .expect("count")
        .parse()
        .expect("number");
    let seg: u64 =
        std::env::var("QUIVER_CLI_CHILD_SEGMENT").map_or(64 << 20, |v| v.parse().expect("number"));
    let o = Options {
        segment_bytes: seg,
        ..opts(true)
    };
    let db = Database::open(&path, &o).expect("create");
    for i in 0..n {
        let mut t = db.begin_write().expect("write");
        let a = t.insert_node("Person").expect("node");
        t.set_node_prop(a, "i", ValueRef::Int(i.into()))
            .expect("set");
        t.commit().expect("commit");
    }
    // A transaction left open: written to the log only if it spills, never committed.
    let mut t = db.begin_write().expect("write");
    t.insert_node("Ghost").expect("node");
    std::process::abort();
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = listing(dir)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).expect("read");
            (n, b)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn wal_lists_segments_and_transactions_and_changes_nothing() {
    let d = tmp();
    let path = d.path().join("g.qv");
    child_commits_then_dies(&path, 2);
    let before = tree(&path);
    let o = quiver(&["wal", "g.qv"], d.path());
    code(&o, 0);
    let text = out(&o);
    has(&text, "wal-0000000000000001");
    assert_eq!(text.matches("committed").count(), 2, "{text}");
    has(&text, "NodeInsert 1");
    // The zeros the writer preallocated after the last frame end the log; they are not a
    // torn frame.
    assert!(!text.contains("stops: "), "{text}");
    let o = quiver(&["wal", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["segments"].as_array().expect("list").len(), 1);
    let t = &j["transactions"][0];
    assert_eq!(t["state"], "committed");
    assert_eq!(t["kinds"]["Begin"], 1);
    assert_eq!(t["kinds"]["Commit"], 1);
    assert!(t["first_lsn"].as_u64() < t["end_lsn"].as_u64());
    // A torn tail: listed up to the last good frame, and still nothing changes.
    let seg = path.join("wal-0000000000000001");
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes.extend_from_slice(&[0xab; 40]);
    std::fs::write(&seg, bytes).expect("write");
    let before = {
        let mut b = before;
        b.retain(|(n, _)| n != "wal-0000000000000001");
        b
    };
    let o = quiver(&["wal", "g.qv"], d.path());
    code(&o, 0);
    has(&out(&o), "stops: ");
    let mut after = tree(&path);
    after.retain(|(n, _)| n != "wal-0000000000000001");
    assert_eq!(before, after, "wal changed a file");
    assert_eq!(
        std::fs::metadata(&seg).expect("stat").len() % 8,
        0,
        "the segment was touched"
    );
}

#[test]
fn wal_follows_the_log_across_segments() {
    let d = tmp();
    let path = d.path().join("g.qv");
    child_commits_then_dies_in(&path, 200, 4096);
    let before = tree(&path);
    let o = quiver(&["wal", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    let segs = j["segments"].as_array().expect("list");
    assert!(segs.len() > 2, "{j}");
    // Every segment but the last ends with a SegmentEnd naming the next one, whose base
    // LSN is where the previous one's frames end.
    for w in segs.windows(2) {
        assert_eq!(w[0]["next_segment"], w[1]["number"], "{j}");
        assert_eq!(w[0]["end_lsn"], w[1]["base_lsn"], "{j}");
    }
    assert!(segs.last().expect("last")["next_segment"].is_null());
    let ts = j["transactions"].as_array().expect("list");
    let committed = ts.iter().filter(|t| t["state"] == "committed").count();
    // The oldest segments may already be retired by a checkpoint; the rest are listed.
    assert!(committed > 0 && committed <= 200, "{committed}");
    let last = ts
        .iter()
        .rfind(|t| t["state"] == "committed")
        .expect("a txn");
    assert_eq!(last["end_lsn"], j["last_commit_lsn"], "{j}");
    assert_eq!(tree(&path), before, "wal changed a file");
}

// ---- dump and load -----------------------------------------------------------------

#[test]
fn dump_then_load_round_trips_every_value_type_and_keeps_ids() {
    let d = tmp();
    build_rich(&d.path().join("g.qv"));
    let o = quiver(&["dump", "g.qv", "-o", "g.jsonl"], d.path());
    code(&o, 0);
    let text = std::fs::read_to_string(d.path().join("g.jsonl")).expect("dump");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(r#"{"type":"header","format":"quiver-jsonl","version":1"#));
    assert!(
        lines[0].ends_with(r#""nodes":3,"edges":3}"#),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(r#"{"type":"node","id":1,"labels":["Person"]"#));
    assert!(lines[2].starts_with(r#"{"type":"node","id":3,"labels":["City"]"#));
    for want in [
        r#""nan":{"$float":"NaN"}"#,
        r#""inf":{"$float":"inf"}"#,
        r#""ninf":{"$float":"-inf"}"#,
        r#""negzero":-0.0"#,
        r#""whole":3.0"#,
        r#""half":0.5"#,
        r#""big":9223372036854775807"#,
        r#""empty":"""#,
        r#""blob":{"$bytes":"AAEC/w=="}"#,
        r#""noblob":{"$bytes":""}"#,
        r#""nothing":null"#,
        r#""yes":true"#,
    ] {
        assert!(lines[1].contains(want), "{want} missing from {}", lines[1]);
    }
    assert!(
        lines[4].starts_with(
            r#"{"type":"relationship","id":1,"label":"LIVES_IN","start":{"id":1},"end":{"id":3}"#
        ),
        "{}",
        lines[4]
    );
    assert!(
        lines
            .last()
            .expect("footer")
            .starts_with(r#"{"type":"footer","nodes":3,"edges":3,"digest":""#)
    );
    // stdout gives the same bytes.
    let o = quiver(&["dump", "g.qv"], d.path());
    code(&o, 0);
    assert_eq!(out(&o), text);

    let o = quiver(&["load", "copy.qv", "g.jsonl"], d.path());
    code(&o, 0);
    assert_eq!(
        digest(&d.path().join("g.qv")),
        digest(&d.path().join("copy.qv"))
    );
    let o = quiver(&["dump", "copy.qv"], d.path());
    assert_eq!(out(&o), text, "a dump of the loaded copy differs");
    assert_eq!(listing(d.path()), ["copy.qv", "g.jsonl", "g.qv"]);
    code(&quiver(&["check", "copy.qv"], d.path()), 0);
}

#[test]
fn load_refuses_an_existing_database() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    code(&quiver(&["dump", "g.qv", "-o", "g.jsonl"], d.path()), 0);
    let before = tree(&d.path().join("g.qv"));
    let o = quiver(&["load", "g.qv", "g.jsonl"], d.path());
    code(&o, 1);
    has(&err(&o), "already exists");
    assert_eq!(tree(&d.path().join("g.qv")), before);
    assert_eq!(listing(d.path()), ["g.jsonl", "g.qv"]);
}

/// Loads `text` as x.jsonl into new.qv: exit 5, nothing left behind, and the message.
fn load_rejected(text: &str) -> String {
    let d = tmp();
    write(d.path(), "x.jsonl", text);
    let o = quiver(&["load", "new.qv", "x.jsonl"], d.path());
    code(&o, 5);
    assert_eq!(listing(d.path()), ["x.jsonl"], "something was left behind");
    assert!(
        err(&o).starts_with("quiver: QV_INVALID_ARGUMENT: "),
        "{}",
        err(&o)
    );
    err(&o)
}

fn good_dump() -> String {
    let d = tmp();
    build_rich(&d.path().join("g.qv"));
    out(&quiver(&["dump", "g.qv"], d.path()))
}

#[test]
fn load_rejects_a_truncated_dump() {
    let text = good_dump();
    let without_footer: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let msg = load_rejected(&without_footer);
    has(&msg, "truncated");
    // Cut in the middle of a line.
    let msg = load_rejected(&text[..text.len() / 2]);
    has(&msg, "x.jsonl:");
    let msg = load_rejected("");
    has(&msg, "truncated");
}

#[test]
fn load_rejects_a_wrong_digest_or_wrong_counts() {
    let text = good_dump();
    let footer = text.lines().last().expect("footer");
    let at = footer.find(r#""digest":""#).expect("digest") + 10;
    let mut bad = footer.to_string();
    let flipped = if &bad[at..at + 1] == "0" { "1" } else { "0" };
    bad.replace_range(at..at + 1, flipped);
    let msg = load_rejected(&text.replace(footer, &bad));
    has(&msg, "digest");
    let msg = load_rejected(&text.replace(
        r#""type":"footer","nodes":3"#,
        r#""type":"footer","nodes":4"#,
    ));
    has(&msg, "footer");
    // A changed value: the digest catches it.
    let msg = load_rejected(&text.replace(r#""half":0.5"#, r#""half":0.25"#));
    has(&msg, "digest");
}

#[test]
fn load_rejects_bad_lines_naming_the_line() {
    let text = good_dump();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = "{not json".into();
    let msg = load_rejected(&(lines.join("\n") + "\n"));
    has(&msg, "x.jsonl:3: not JSON");
    let two_labels = text.replacen(
        r#""labels":["Person"]"#,
        r#""labels":["Person","Admin"]"#,
        1,
    );
    let msg = load_rejected(&two_labels);
    has(&msg, "x.jsonl:2: node 1 has 2 labels");
    let dangling = text.replacen(r#""end":{"id":3}"#, r#""end":{"id":99}"#, 1);
    let msg = load_rejected(&dangling);
    has(&msg, "endpoint node 99 is not in the dump");
    let msg = load_rejected(&text.replace("quiver-jsonl", "other-format"));
    has(&msg, "x.jsonl:1: not a Quiver JSON Lines dump");
    let msg = load_rejected(&text.replacen(r#"{"$bytes":"AAEC/w=="}"#, r#"{"$bytes":"***"}"#, 1));
    has(&msg, "bad base64");
    let msg = load_rejected(&text.replacen(r#""yes":true"#, r#""yes":[1]"#, 1));
    has(&msg, "is not a value Quiver stores");
}

// ---- import --------------------------------------------------------------------------

#[test]
fn import_reads_nodes_and_relationships() {
    let d = tmp();
    write(d.path(), "people.csv", PEOPLE);
    write(d.path(), "knows.csv", KNOWS);
    let o = import_people(d.path(), "--nodes", &[]);
    code(&o, 0);
    has(&out(&o), "imported 3 nodes, 2 relationships");
    assert_eq!(listing(d.path()), ["g.qv", "knows.csv", "people.csv"]);
    let db = Database::open(d.path().join("g.qv"), &opts(false)).expect("open");
    let t = db.begin_read().expect("read");
    assert_eq!(t.live_counts(), (3, 2));
    assert_eq!(t.node_label(1).expect("label").to_str(), Ok("Person"));
    assert_eq!(
        t.node_prop(1, "personId").expect("get"),
        Some(ValueRef::Str("p1"))
    );
    assert_eq!(t.node_prop(1, "age").expect("get"), Some(ValueRef::Int(34)));
    assert_eq!(
        t.node_prop(2, "age").expect("get"),
        None,
        "an empty field sets nothing"
    );
    assert_eq!(
        t.node_prop(3, "name").expect("get"),
        Some(ValueRef::Str("Carol, C"))
    );
    let e = t.get_edge(1).expect("edge");
    assert_eq!((e.src, e.dst), (1, 2));
    assert_eq!(t.name_of(e.etype).expect("type").to_str(), Ok("KNOWS"));
    assert_eq!(
        t.edge_prop(1, "since").expect("get"),
        Some(ValueRef::Int(2019))
    );
}

#[test]
fn import_groups_delimiters_integer_ids_and_every_type() {
    let d = tmp();
    write(
        d.path(),
        "people.tsv",
        "id:ID(People)\tname:string\tscore:double\tok:boolean\tsmall:byte\tpic:bytes\tskip:IGNORE\n\
         1\tAnn\tNaN\tTRUE\t-128\tAAEC\tx\n\
         2\tBen\t-inf\tfalse\t127\t\ty\n",
    );
    write(d.path(), "cities.tsv", "id:ID(Cities)\tname\n1\tParis\n");
    write(
        d.path(),
        "lives.tsv",
        ":START_ID(People)\t:END_ID(Cities)\t:TYPE\n1\t1\tLIVES_IN\n2\t1\tLIVES_IN\n",
    );
    let o = quiver(
        &[
            "import",
            "g.qv",
            "--delimiter",
            "TAB",
            "--id-type",
            "integer",
            "--nodes=Person",
            "people.tsv",
            "--nodes=City",
            "cities.tsv",
            "--relationships",
            "lives.tsv",
        ],
        d.path(),
    );
    code(&o, 0);
    let db = Database::open(d.path().join("g.qv"), &opts(false)).expect("open");
    let t = db.begin_read().expect("read");
    assert_eq!(t.live_counts(), (3, 2));
    assert_eq!(t.node_prop(1, "id").expect("get"), Some(ValueRef::Int(1)));
    assert!(
        matches!(t.node_prop(1, "score").expect("get"), Some(ValueRef::Float(f)) if f.is_nan())
    );
    assert_eq!(
        t.node_prop(2, "score").expect("get"),
        Some(ValueRef::Float(f64::NEG_INFINITY))
    );
    assert_eq!(
        t.node_prop(1, "ok").expect("get"),
        Some(ValueRef::Bool(true))
    );
    assert_eq!(
        t.node_prop(1, "small").expect("get"),
        Some(ValueRef::Int(-128))
    );
    assert_eq!(
        t.node_prop(1, "pic").expect("get"),
        Some(ValueRef::Bytes(&[0, 1, 2]))
    );
    assert_eq!(t.node_prop(1, "skip").expect("get"), None);
    assert_eq!(t.node_label(3).expect("label").to_str(), Ok("City"));
    // Same external id 1 in two groups: People 1 -> node 1, Cities 1 -> node 3.
    let e = t.get_edge(1).expect("edge");
    assert_eq!((e.src, e.dst), (1, 3));
}

/// Runs `import g.qv <nodes> people.csv --relationships=KNOWS knows.csv <extra>` in `dir`.
fn import_people(dir: &Path, nodes: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        "g.qv",
        nodes,
        "people.csv",
        "--relationships=KNOWS",
        "knows.csv",
    ];
    args.extend_from_slice(extra);
    quiver(&args, dir)
}

/// Imports people.csv (nodes, label Person) and knows.csv (relationships, type KNOWS)
/// expecting exit 5 with nothing left behind; returns stderr.
fn import_rejected(people: &str, knows: &str, extra: &[&str]) -> String {
    let d = tmp();
    write(d.path(), "people.csv", people);
    write(d.path(), "knows.csv", knows);
    let o = import_people(d.path(), "--nodes=Person", extra);
    code(&o, 5);
    assert_eq!(
        listing(d.path()),
        ["knows.csv", "people.csv"],
        "something was left behind"
    );
    assert!(
        err(&o).starts_with("quiver: QV_INVALID_ARGUMENT: "),
        "{}",
        err(&o)
    );
    err(&o)
}

#[test]
fn import_rejects_a_bad_header() {
    let msg = import_rejected("id:ID,age:integer\n1,3\n", KNOWS, &[]);
    has(
        &msg,
        r#"people.csv:1: column 2 "age:integer": type "integer" is not one Quiver stores"#,
    );
    let msg = import_rejected("name,age:int\nx,3\n", KNOWS, &[]);
    has(&msg, "people.csv:1: the header has 0 :ID columns");
    let msg = import_rejected("a:ID,b:ID\n1,2\n", KNOWS, &[]);
    has(&msg, "2 :ID columns");
    let msg = import_rejected("id:ID\np1\n", ":START_ID,since:int\np1,3\n", &[]);
    has(&msg, "knows.csv:1: the header has 0 :END_ID columns");
    let msg = import_rejected("id:ID,x:START_ID\np1,p1\n", KNOWS, &[]);
    has(
        &msg,
        r#"column 2 "x:START_ID": belongs in a relationship file"#,
    );
    let msg = import_rejected("", KNOWS, &[]);
    has(&msg, "people.csv:1: no header row");
}

#[test]
fn import_rejects_bad_rows_naming_file_line_and_column() {
    let msg = import_rejected("id:ID,name,age:int\np1,A,34\np2,B,abc\n", KNOWS, &[]);
    has(
        &msg,
        r#"people.csv:3: column 3 "age:int": "abc" is not an integer"#,
    );
    let msg = import_rejected("id:ID,age:byte\np1,300\n", KNOWS, &[]);
    has(
        &msg,
        r#"people.csv:2: column 2 "age:byte": "300" is out of range"#,
    );
    let msg = import_rejected("id:ID,ok:boolean\np1,maybe\n", KNOWS, &[]);
    has(&msg, r#""maybe" is not true or false"#);
    let msg = import_rejected("id:ID,x:double\np1,one\n", KNOWS, &[]);
    has(&msg, r#""one" is not a number"#);
    // Line numbers count physical lines: a quoted field spanning two lines.
    let msg = import_rejected(
        "id:ID,note,age:int\np1,\"two\nlines\",1\np1,x,2\n",
        KNOWS,
        &[],
    );
    has(&msg, r#"people.csv:4: column 1 "id:ID": duplicate id "p1""#);
    let msg = import_rejected(PEOPLE, ":START_ID,:END_ID\np1,p9\n", &[]);
    has(
        &msg,
        r#"knows.csv:2: column 2 ":END_ID": missing end node: no node has id "p9""#,
    );
    let msg = import_rejected("id:ID,:LABEL\np1,Person;Admin\n", KNOWS, &[]);
    has(&msg, r#"people.csv:2: column 2 ":LABEL": several labels"#);
    let msg = import_rejected("id:ID,:LABEL\np1,Admin\n", KNOWS, &[]);
    assert!(
        msg.contains("several labels"),
        "--nodes=Person plus Admin: {msg}"
    );
    let msg = import_rejected("id:ID,name\np1\n", KNOWS, &[]);
    has(&msg, "people.csv:2: 1 fields; the header has 2");
    let msg = import_rejected("id:ID\np1\n", KNOWS, &["--id-type", "integer"]);
    has(&msg, r#""p1" is not an integer id"#);
}

/// The id map keeps ids of up to 23 bytes inline and longer ones boxed: ids on both sides
/// of that boundary (and an id that is a prefix of another) resolve to their own nodes, and a
/// duplicate is found in either kind.
#[test]
fn import_resolves_short_and_long_ids() {
    let short = "s".repeat(23);
    let long = "s".repeat(24);
    let longer = format!("{long}-and-then-some");
    let people = format!("id:ID,n:int\n{short},1\n{long},2\n{longer},3\nx,4\n");
    let knows = format!(":START_ID,:END_ID\n{short},{long}\n{longer},x\n{long},{short}\n");
    let d = tmp();
    write(d.path(), "people.csv", &people);
    write(d.path(), "knows.csv", &knows);
    code(&import_people(d.path(), "--nodes=Person", &[]), 0);
    let db = Database::open(d.path().join("g.qv"), &opts(false)).expect("open");
    let t = db.begin_read().expect("read");
    let ends: Vec<(i64, i64)> = (1..=3)
        .map(|e| {
            let e = t.get_edge(e).expect("edge");
            let n = |id| match t.node_prop(id, "n").expect("get") {
                Some(ValueRef::Int(n)) => n,
                v => panic!("node {id}: n is {v:?}"),
            };
            (n(e.src), n(e.dst))
        })
        .collect();
    assert_eq!(ends, [(1, 2), (3, 4), (2, 1)]);
    for dup in [&short, &long] {
        let msg = import_rejected(
            &format!("id:ID\n{dup}\n{dup}\n"),
            ":START_ID,:END_ID\n",
            &[],
        );
        has(
            &msg,
            &format!(r#"people.csv:3: column 1 "id:ID": duplicate id "{dup}""#),
        );
    }
}

#[test]
fn import_refuses_an_existing_database_and_unpaired_files() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    write(d.path(), "people.csv", PEOPLE);
    let o = quiver(&["import", "g.qv", "--nodes", "people.csv"], d.path());
    code(&o, 1);
    has(&err(&o), "already exists");
    let o = quiver(&["import", "h.qv", "people.csv"], d.path());
    code(&o, 2);
    has(&err(&o), "give --nodes or --relationships before each file");
    let o = quiver(
        &[
            "import",
            "h.qv",
            "--delimiter",
            "ab",
            "--nodes",
            "people.csv",
        ],
        d.path(),
    );
    code(&o, 2);
    has(&err(&o), "--delimiter");
    assert_eq!(listing(d.path()), ["g.qv", "people.csv"]);
}

#[test]
fn an_import_killed_outright_leaves_no_database_and_its_leftovers_are_removed() {
    let d = tmp();
    let mut people = String::from(":ID\n");
    for i in 0..2000 {
        people.push_str(&format!("{i}\n"));
    }
    let mut knows = String::from(":START_ID,:END_ID\n");
    for i in 0..400_000u64 {
        knows.push_str(&format!("{},{}\n", i % 2000, (i * 7) % 2000));
    }
    write(d.path(), "people.csv", &people);
    write(d.path(), "knows.csv", &knows);
    let mut child = {
        let _g = fork_lock();
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args([
                "import",
                "g.qv",
                "--nodes=P",
                "people.csv",
                "--relationships=K",
                "knows.csv",
            ])
            .current_dir(d.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let hidden = || {
        listing(d.path())
            .into_iter()
            .find(|n| n.starts_with(".g.qv.quiver-tmp-"))
    };
    let started = std::time::Instant::now();
    while hidden().is_none() && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(
        !status.success(),
        "the import finished before it was killed"
    );
    assert!(
        !d.path().join("g.qv").exists(),
        "a killed import left a database"
    );
    assert!(
        hidden().is_some(),
        "SIGKILL cannot clean up; the build directory stays"
    );
    // The next import to the same name removes the dead process's directory.
    write(d.path(), "people.csv", PEOPLE);
    code(
        &quiver(&["import", "g.qv", "--nodes", "people.csv"], d.path()),
        0,
    );
    assert_eq!(listing(d.path()), ["g.qv", "knows.csv", "people.csv"]);
}

#[test]
fn import_skip_bad_rows_writes_the_report() {
    let d = tmp();
    write(
        d.path(),
        "people.csv",
        "id:ID,age:int\np1,1\np2,abc\np3,3\np1,4\n",
    );
    write(d.path(), "knows.csv", ":START_ID,:END_ID\np1,p3\np1,p2\n");
    let o = import_people(
        d.path(),
        "--nodes=Person",
        &["--skip-bad-rows", "--report", "bad.jsonl"],
    );
    code(&o, 0);
    has(&out(&o), "imported 2 nodes, 1 relationships");
    has(&out(&o), "3 rows skipped");
    let report = std::fs::read_to_string(d.path().join("bad.jsonl")).expect("report");
    let rows: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 3, "{report}");
    assert_eq!(rows[0]["file"], "people.csv");
    assert_eq!(rows[0]["line"], 3);
    assert_eq!(rows[0]["column"], "age:int");
    assert_eq!(rows[0]["message"], r#""abc" is not an integer"#);
    assert_eq!(rows[0]["record"], "p2,abc");
    assert_eq!(rows[1]["line"], 5);
    assert_eq!(rows[1]["message"], r#"duplicate id "p1""#);
    assert_eq!(rows[2]["file"], "knows.csv");
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(rows[2]["column"], ":END_ID");
    let db = Database::open(d.path().join("g.qv"), &opts(false)).expect("open");
    assert_eq!(db.begin_read().expect("read").live_counts(), (2, 1));
}

/// A node file of `rows` good rows `p<i>,<i>` (the first with a quoted two-line note, so
/// lines and records differ) with `bad` replacing rows by index; returns it and the line
/// each row starts on.
fn many_people(rows: usize, bad: &[(usize, &str)]) -> (String, Vec<usize>) {
    let mut text = String::from("id:ID,note,age:int\n");
    let mut lines = Vec::new();
    let mut line = 2;
    for i in 0..rows {
        lines.push(line);
        let row = match bad.iter().find(|(at, _)| *at == i) {
            Some((_, row)) => row.to_string(),
            None if i == 0 => "p0,\"two\nlines\",0".to_string(),
            None => format!("p{i},,{i}"),
        };
        line += 1 + row.matches('\n').count();
        text.push_str(&row);
        text.push('\n');
    }
    (text, lines)
}

/// Rows are read and checked on a second thread, a few thousand at a time, and written in
/// file order: the first bad row of a large file is the one reported, for its own line,
/// whether the reader finds it (a bad value) or the writer (a duplicate id, a missing
/// node), and nothing is left behind.
#[test]
fn import_rejects_the_first_bad_row_deep_in_a_large_file() {
    let (people, lines) = many_people(20_000, &[(12_345, "p7,,1"), (15_000, "p9,,x")]);
    let msg = import_rejected(&people, ":START_ID,:END_ID\n", &[]);
    has(
        &msg,
        &format!(
            r#"people.csv:{}: column 1 "id:ID": duplicate id "p7""#,
            lines[12_345]
        ),
    );
    let (people, lines) = many_people(20_000, &[(12_345, "p9,,x"), (15_000, "p7,,1")]);
    let msg = import_rejected(&people, ":START_ID,:END_ID\n", &[]);
    has(
        &msg,
        &format!(
            r#"people.csv:{}: column 3 "age:int": "x" is not an integer"#,
            lines[12_345]
        ),
    );
    let (people, _) = many_people(100, &[]);
    let mut knows = String::from(":START_ID,:END_ID,since:int\n");
    for i in 0..10_000 {
        let row = match i {
            9_000 => "p1,p100,1".to_string(),
            9_001 => "p1,p2,x".to_string(),
            _ => format!("p{},p{},{i}", i % 100, (i * 7) % 100),
        };
        knows.push_str(&row);
        knows.push('\n');
    }
    let msg = import_rejected(&people, &knows, &[]);
    has(
        &msg,
        r#"knows.csv:9002: column 2 ":END_ID": missing end node: no node has id "p100""#,
    );
}

/// With --skip-bad-rows the report lists bad rows in file order across the reader's
/// batches, whichever thread found them, and every good row around them is imported.
#[test]
fn import_skip_bad_rows_reports_in_file_order_across_batches() {
    let bad = [
        (4_095, "p4095,,x"),
        (4_096, "p1,,1"),
        (4_097, "p4097,,"),
        (4_098, "p4098,,y"),
        (8_191, "p2,,2"),
        (8_192, "p8192,1"),
        (19_999, "p3,,z"),
    ];
    let (people, lines) = many_people(20_000, &bad);
    let d = tmp();
    write(d.path(), "people.csv", &people);
    write(d.path(), "knows.csv", ":START_ID,:END_ID\n");
    let o = import_people(
        d.path(),
        "--nodes=Person",
        &["--skip-bad-rows", "--report", "bad.jsonl"],
    );
    code(&o, 0);
    has(&out(&o), "imported 19994 nodes, 0 relationships");
    has(&out(&o), "6 rows skipped");
    let report = std::fs::read_to_string(d.path().join("bad.jsonl")).expect("report");
    let rows: Vec<(u64, String)> = report
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            let line = v["line"].as_u64().expect("line");
            (line, v["message"].as_str().expect("message").to_string())
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (4_095, r#""x" is not an integer"#),
        (4_096, r#"duplicate id "p1""#),
        (4_098, r#""y" is not an integer"#),
        (8_191, r#"duplicate id "p2""#),
        (8_192, "2 fields; the header has 3"),
        (19_999, r#""z" is not an integer"#),
    ]
    .iter()
    .map(|(i, m)| (lines[*i] as u64, m.to_string()))
    .collect();
    assert_eq!(rows, want, "{report}");
    let db = Database::open(d.path().join("g.qv"), &opts(false)).expect("open");
    assert_eq!(db.begin_read().expect("read").live_counts(), (19_994, 0));
}

// ---- export ----------------------------------------------------------------------------

#[test]
fn export_then_import_gives_the_same_digest() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    let o = quiver(
        &["export", "g.qv", "--format", "neo4j-csv", "--out", "csv"],
        d.path(),
    );
    code(&o, 0);
    let text = out(&o);
    has(&text, "so the import keeps them");
    assert_eq!(
        listing(&d.path().join("csv")),
        [
            "nodes_City.csv",
            "nodes_Person.csv",
            "relationships_KNOWS.csv",
            "relationships_LIVES_IN.csv"
        ]
    );
    let person = std::fs::read_to_string(d.path().join("csv/nodes_Person.csv")).expect("read");
    let head = person.lines().next().expect("header");
    assert!(head.starts_with(":ID,:LABEL,"), "{head}");
    assert!(
        head.contains("score:double") && head.contains("score:long"),
        "{head}"
    );
    assert!(
        head.contains("photo:bytes") && head.contains("vip:boolean"),
        "{head}"
    );
    let cmd = text
        .lines()
        .find_map(|l| l.strip_prefix("read back with: quiver "))
        .expect("the import command");
    let args: Vec<&str> = cmd
        .split(' ')
        .map(|a| if a == "NEW_DB" { "copy.qv" } else { a })
        .collect();
    let o = quiver(&args, d.path());
    code(&o, 0);
    assert_eq!(
        digest(&d.path().join("g.qv")),
        digest(&d.path().join("copy.qv"))
    );
}

#[test]
fn export_one_file_keeps_interleaved_ids() {
    let d = tmp();
    let path = d.path().join("g.qv");
    {
        let _g = fork_lock();
        let db = Database::open(&path, &opts(true)).expect("create");
        let mut t = db.begin_write().expect("write");
        let mut ids = Vec::new();
        for i in 0..6 {
            let label = if i % 2 == 0 { "Person" } else { "City" };
            let n = t.insert_node(label).expect("node");
            t.set_node_prop(n, if i % 2 == 0 { "age" } else { "name" }, ValueRef::Int(i))
                .expect("set");
            ids.push(n);
        }
        for w in ids.windows(2) {
            let ty = if w[0] % 2 == 0 { "A" } else { "B" };
            let e = t.insert_edge(w[0], w[1], ty).expect("edge");
            t.set_edge_prop(e, "w", ValueRef::Float(0.5)).expect("set");
        }
        t.commit().expect("commit");
        db.close().expect("close");
    }
    let o = quiver(
        &["export", "g.qv", "--format", "neo4j-csv", "--out", "split"],
        d.path(),
    );
    code(&o, 0);
    has(&out(&o), "renumbers them");
    let o = quiver(
        &[
            "export",
            "g.qv",
            "--format",
            "neo4j-csv",
            "--out",
            "one",
            "--one-file",
        ],
        d.path(),
    );
    code(&o, 0);
    has(&out(&o), "so the import keeps them");
    assert_eq!(
        listing(&d.path().join("one")),
        ["nodes.csv", "relationships.csv"]
    );
    let o = quiver(
        &[
            "import",
            "copy.qv",
            "--nodes",
            "one/nodes.csv",
            "--relationships",
            "one/relationships.csv",
        ],
        d.path(),
    );
    code(&o, 0);
    assert_eq!(digest(&path), digest(&d.path().join("copy.qv")));
}

#[test]
fn export_says_what_csv_cannot_hold() {
    let d = tmp();
    build_rich(&d.path().join("g.qv"));
    let o = quiver(
        &["export", "g.qv", "--format", "neo4j-csv", "--out", "csv"],
        d.path(),
    );
    code(&o, 0);
    has(&out(&o), "renumbers them");
    has(
        &err(&o),
        "6 stored null(s), empty string(s) or empty bytes left out",
    );
    // Everything else reads back: same counts, same values.
    let cmd = out(&o)
        .lines()
        .find_map(|l| {
            l.strip_prefix("read back with: quiver ")
                .map(str::to_string)
        })
        .expect("cmd");
    let args: Vec<&str> = cmd
        .split(' ')
        .map(|a| if a == "NEW_DB" { "copy.qv" } else { a })
        .collect();
    code(&quiver(&args, d.path()), 0);
    let db = Database::open(d.path().join("copy.qv"), &opts(false)).expect("open");
    let t = db.begin_read().expect("read");
    assert_eq!(t.live_counts(), (3, 3));
    let a = t
        .nodes(Some("Person"))
        .expect("cursor")
        .next(&t)
        .expect("next")
        .expect("a node");
    assert_eq!(
        t.node_prop(a, "negzero").expect("get").map(|v| match v {
            ValueRef::Float(f) => f.to_bits(),
            _ => 0,
        }),
        Some((-0.0f64).to_bits())
    );
    assert_eq!(
        t.node_prop(a, "tiny").expect("get"),
        Some(ValueRef::Float(5e-324))
    );
    assert_eq!(
        t.node_prop(a, "small").expect("get"),
        Some(ValueRef::Int(i64::MIN))
    );
    assert_eq!(
        t.node_prop(a, "text").expect("get"),
        Some(ValueRef::Str("tab\t \"quote\" é, comma\nnewline"))
    );
    assert_eq!(
        t.node_prop(a, "blob").expect("get"),
        Some(ValueRef::Bytes(&[0, 1, 2, 255]))
    );
}

// ---- backup, verify, compact ---------------------------------------------------------

/// 40 nodes in a chain whose "body" is rewritten 12 times, each round checkpointed, and 10
/// more nodes deleted: the props file holds every generation of the blobs, of which a
/// compact copy keeps only the last.
fn build_rewritten(path: &Path) {
    let _g = fork_lock();
    let db = Database::open(path, &opts(true)).expect("create");
    let mut t = db.begin_write().expect("write");
    let docs: Vec<u64> = (0..40)
        .map(|_| t.insert_node("Doc").expect("node"))
        .collect();
    for w in docs.windows(2) {
        t.insert_edge(w[0], w[1], "NEXT").expect("edge");
    }
    let gone: Vec<u64> = (0..10)
        .map(|_| t.insert_node("Tmp").expect("node"))
        .collect();
    t.commit().expect("commit");
    for round in 0..12 {
        let mut t = db.begin_write().expect("write");
        let body = format!("{round}{}", "x".repeat(400));
        for id in &docs {
            t.set_node_prop(*id, "body", ValueRef::Str(&body))
                .expect("set");
        }
        for id in &gone {
            t.set_node_prop(*id, "body", ValueRef::Str(&body))
                .expect("set");
        }
        t.commit().expect("commit");
        db.checkpoint().expect("checkpoint");
    }
    let mut t = db.begin_write().expect("write");
    for id in gone {
        t.delete_node(id, false).expect("delete");
    }
    t.commit().expect("commit");
    db.close().expect("close");
}

/// A fresh directory holding `g.qv` from [`build_rewritten`], with its digest and the
/// size of its props file.
fn rewritten() -> (tempfile::TempDir, PathBuf, [u8; 32], u64) {
    let d = tmp();
    let db = d.path().join("g.qv");
    build_rewritten(&db);
    let source = digest(&db);
    let before = file_len(&db.join("props"));
    (d, db, source, before)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("stat").len()
}

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn manifest(copy: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(copy.join("backup.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest json")
}

#[test]
fn backup_round_trip_keeps_the_digest_and_writes_the_manifest() {
    let d = tmp();
    build_rich(&d.path().join("g.qv"));
    let source = digest(&d.path().join("g.qv"));
    let o = quiver(&["backup", "g.qv", "copy.qv", "--json"], d.path());
    code(&o, 0);
    assert_eq!(digest(&d.path().join("copy.qv")), source);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["dest"], "copy.qv");
    let m = manifest(&d.path().join("copy.qv"));
    assert_eq!(m["format"], "quiver-backup");
    assert_eq!(m["version"], 1);
    assert!(m["source"].as_str().expect("source").ends_with("g.qv"));
    let created = m["created"].as_str().expect("created");
    assert!(
        created.len() == 20 && &created[10..11] == "T" && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(m["digest"], hex(&source));
    assert_eq!(m["nodes"], 3);
    assert_eq!(m["edges"], 3);
    assert_eq!(m["last_txn"], 1);
    assert!(m["lsn"].as_u64().expect("lsn") > 0);
    assert!(m["bytes"].as_u64().expect("bytes") > 0);
    assert_eq!(m["compact"], false);
    for key in ["digest", "nodes", "edges", "last_txn", "lsn", "created"] {
        assert_eq!(j[key], m[key], "{key}");
    }
    assert_eq!(listing(d.path()), ["copy.qv", "g.qv"]);

    // The manifest inside the directory upsets neither check nor info nor the engine.
    code(&quiver(&["check", "copy.qv"], d.path()), 0);
    code(&quiver(&["info", "copy.qv"], d.path()), 0);
    let o = quiver(&["verify", "copy.qv"], d.path());
    code(&o, 0);
    has(&out(&o), "check ok");
    has(&out(&o), "matches the manifest");
    let o = quiver(&["verify", "copy.qv", "--json"], d.path());
    code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["digest"], hex(&source));

    let o = quiver(&["backup", "g.qv", "text.qv"], d.path());
    code(&o, 0);
    has(&out(&o), &format!("digest {}", hex(&source)));
    has(&out(&o), "elements/s");
}

#[test]
fn backup_compact_is_smaller_after_updates() {
    let d = tmp();
    build_rewritten(&d.path().join("g.qv"));
    let source = digest(&d.path().join("g.qv"));
    code(&quiver(&["backup", "g.qv", "full.qv"], d.path()), 0);
    code(
        &quiver(&["backup", "g.qv", "small.qv", "--compact"], d.path()),
        0,
    );
    assert_eq!(digest(&d.path().join("full.qv")), source);
    assert_eq!(digest(&d.path().join("small.qv")), source);
    let full = file_len(&d.path().join("full.qv/props"));
    let small = file_len(&d.path().join("small.qv/props"));
    // The source's heap keeps the space of superseded and deleted blobs (reused by later
    // checkpoints, never returned): a plain copy carries it, a compact one does not.
    assert!(small * 2 < full, "compact props {small} B, full {full} B");
    assert_eq!(manifest(&d.path().join("small.qv"))["compact"], true);
    code(&quiver(&["verify", "small.qv"], d.path()), 0);
}

/// Runs `verify copy.qv` and asserts exit 3 with `want` in the diagnostic.
#[track_caller]
fn verify_fails(dir: &Path, want: &str) {
    let o = quiver(&["verify", "copy.qv"], dir);
    code(&o, 3);
    assert!(err(&o).starts_with("quiver: QV_CORRUPT: "), "{}", err(&o));
    has(&err(&o), want);
    has(&out(&o), "FAILED");
}

#[test]
fn verify_exits_3_on_damage_a_changed_digest_or_no_manifest() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    let copy = d.path().join("copy.qv");

    code(&quiver(&["backup", "g.qv", "copy.qv"], d.path()), 0);
    // Node 2's record (offset 64): a byte its CRC covers.
    let mut nodes = std::fs::read(copy.join("nodes")).expect("read");
    nodes[64 + 12] ^= 0x5a;
    std::fs::write(copy.join("nodes"), nodes).expect("write");
    verify_fails(d.path(), "problem");
    std::fs::remove_dir_all(&copy).expect("remove");

    code(&quiver(&["backup", "g.qv", "copy.qv"], d.path()), 0);
    let text = std::fs::read_to_string(copy.join("backup.json")).expect("read");
    let recorded = manifest(&copy)["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    let flipped = if recorded.starts_with('0') { "1" } else { "0" };
    let edited = text.replace(&recorded, &format!("{flipped}{}", &recorded[1..]));
    std::fs::write(copy.join("backup.json"), edited).expect("write");
    verify_fails(d.path(), "differs from the manifest");
    let o = quiver(&["verify", "copy.qv", "--json"], d.path());
    code(&o, 3);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["ok"], false);
    has(j["problem"].as_str().expect("problem"), "differs");

    std::fs::write(copy.join("backup.json"), "{\"format\": ").expect("write");
    verify_fails(d.path(), "not JSON");
    let node_count = text.replace("\"nodes\": 6", "\"nodes\": 7");
    std::fs::write(copy.join("backup.json"), node_count).expect("write");
    verify_fails(d.path(), "nodes is 6; the manifest says 7");
    std::fs::remove_file(copy.join("backup.json")).expect("remove");
    verify_fails(d.path(), "backup.json");
}

#[test]
fn backup_refuses_an_existing_dest_and_a_missing_database() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    std::fs::create_dir(d.path().join("copy.qv")).expect("mkdir");
    write(&d.path().join("copy.qv"), "keep.txt", "mine");
    let o = quiver(&["backup", "g.qv", "copy.qv"], d.path());
    code(&o, 1);
    has(&err(&o), "already exists");
    assert_eq!(listing(&d.path().join("copy.qv")), ["keep.txt"]);
    assert_eq!(listing(d.path()), ["copy.qv", "g.qv"]);

    let o = quiver(&["backup", "missing.qv", "new.qv"], d.path());
    code(&o, 1);
    assert!(err(&o).starts_with("quiver: QV_NOT_FOUND: "), "{}", err(&o));
    let o = quiver(&["backup", "g.qv", "no/such/dir.qv"], d.path());
    code(&o, 1);
    has(&err(&o), "parent directory does not exist");
    let o = quiver(&["verify", "missing.qv"], d.path());
    code(&o, 1);
    assert_eq!(listing(d.path()), ["copy.qv", "g.qv"]);
}

#[test]
fn compact_keeps_the_content_and_shrinks() {
    let (d, db, source, before) = rewritten();
    let o = quiver(&["compact", "g.qv"], d.path());
    code(&o, 0);
    has(&out(&o), "compacted g.qv: ");
    assert_eq!(digest(&db), source);
    let after = file_len(&db.join("props"));
    assert!(after * 2 < before, "props {before} B -> {after} B");
    code(&quiver(&["check", "g.qv"], d.path()), 0);
    assert_eq!(listing(d.path()), ["g.qv"]);
    let o = quiver(&["compact", "g.qv", "--json"], d.path());
    code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(j["digest"], hex(&source));
    assert!(j["bytes_after"].as_u64() <= j["bytes_before"].as_u64());
}

/// Starts `quiver ARGS` with `QUIVER_TEST_PAUSE=step` and returns once it says it stopped
/// there.
fn paused_at(args: &[&str], dir: &Path, step: &str) -> std::process::Child {
    use std::io::BufRead;
    let mut child = {
        let _g = fork_lock();
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(args)
            .env("QUIVER_TEST_PAUSE", step)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("read stderr");
    assert_eq!(line.trim(), format!("quiver: paused at {step}"));
    // Nothing more is written until the child goes on, so the buffer holds nothing else;
    // the pipe stays open for what it says next.
    child.stderr = Some(stderr.into_inner());
    child
}

/// Sends SIGINT through kill(1): the test crate may not use unsafe code either.
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "QUIVER_TEST_PAUSE only stops a debug build of quiver"
)]
fn a_compact_killed_at_any_step_leaves_a_whole_database() {
    let (d, db, source, before) = rewritten();
    for step in ["copying", "copied", "verified", "swapped"] {
        let mut child = paused_at(&["compact", "g.qv"], d.path(), step);
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        assert_eq!(digest(&db), source, "after a kill at {step}");
        code(&quiver(&["check", "g.qv"], d.path()), 0);
        assert!(
            listing(d.path()).len() > 1,
            "a kill at {step} leaves the work directory"
        );
        if step == "swapped" {
            assert!(file_len(&db.join("props")) < before, "not compacted yet");
        }
    }
    // The next run removes what the killed ones left, and compacts.
    code(&quiver(&["compact", "g.qv"], d.path()), 0);
    assert_eq!(digest(&db), source);
    assert_eq!(listing(d.path()), ["g.qv"]);
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "QUIVER_TEST_PAUSE only stops a debug build of quiver"
)]
fn ctrl_c_cancels_backup_and_compact_and_leaves_nothing() {
    let (d, db, source, before) = rewritten();
    for (args, step) in [
        (&["backup", "g.qv", "copy.qv"][..], "copying"),
        (&["backup", "g.qv", "copy.qv"], "copied"),
        (&["compact", "g.qv"], "copying"),
        (&["compact", "g.qv"], "verified"),
    ] {
        let child = paused_at(args, d.path(), step);
        interrupt(&child);
        let o = child.wait_with_output().expect("wait");
        code(&o, 1);
        assert!(
            err(&o).starts_with("quiver: QV_INTERRUPTED: "),
            "{}",
            err(&o)
        );
        assert_eq!(listing(d.path()), ["g.qv"], "{args:?} at {step}");
    }
    assert_eq!(digest(&db), source);
    assert_eq!(file_len(&db.join("props")), before);
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "QUIVER_TEST_PAUSE only stops a debug build of quiver"
)]
fn a_backup_killed_outright_leaves_no_dest_and_the_next_one_cleans_up() {
    let d = tmp();
    build_runs(&d.path().join("g.qv"));
    for step in ["copying", "copied"] {
        let mut child = paused_at(&["backup", "g.qv", "copy.qv"], d.path(), step);
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        assert!(
            !d.path().join("copy.qv").exists(),
            "a dest after a kill at {step}"
        );
    }
    assert!(listing(d.path()).len() > 1);
    code(&quiver(&["backup", "g.qv", "copy.qv"], d.path()), 0);
    assert_eq!(listing(d.path()), ["copy.qv", "g.qv"]);
    code(&quiver(&["verify", "copy.qv"], d.path()), 0);
}
