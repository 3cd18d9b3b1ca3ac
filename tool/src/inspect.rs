//! `info`, `check` and `checkpoint`.

use crate::fail::Fail;
use crate::stage::{open_existing, open_read_only};
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Sizes of the database's files, by name, in name order.
pub fn file_sizes(db: &Path) -> Result<BTreeMap<String, u64>, Fail> {
    let mut out = BTreeMap::new();
    let rd = std::fs::read_dir(db).map_err(|e| Fail::io("read directory", db, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Fail::io("read directory", db, e))?;
        let md = entry
            .metadata()
            .map_err(|e| Fail::io("stat", &entry.path(), e))?;
        if md.is_file() {
            out.insert(entry.file_name().to_string_lossy().into_owned(), md.len());
        }
    }
    Ok(out)
}

/// The newest valid checkpoint slot of the meta file, read from the layout in
/// ARCHITECTURE.md ("meta"), for what the engine's API does not report: the format
/// version, the slot generation, the database id and the last checkpointed transaction.
pub struct MetaSlot {
    /// Format version.
    pub format: u32,
    /// Slot generation (one per checkpoint).
    pub generation: u64,
    /// Database id.
    pub db_id: u64,
    /// Last checkpointed transaction.
    pub checkpoint_txn: u64,
}

/// The meta slot with the highest generation whose CRC verifies.
pub fn meta_slot(db: &Path) -> Option<MetaSlot> {
    let bytes = std::fs::read(db.join("meta")).ok()?;
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    [0usize, 4096]
        .iter()
        .filter_map(|&at| {
            // Format 3: the slot's CRC32 covers bytes 0..136 and sits at 136.
            let b = bytes.get(at..at + 140)?;
            let crc = u32::from_le_bytes([b[136], b[137], b[138], b[139]]);
            if &b[0..8] != b"QUIVERDB" || crc32fast::hash(&b[0..136]) != crc {
                return None;
            }
            Some(MetaSlot {
                format: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
                generation: u64_at(b, 16),
                db_id: u64_at(b, 24),
                checkpoint_txn: u64_at(b, 40),
            })
        })
        .max_by_key(|s| s.generation)
}

/// Counts by name.
type Counts = BTreeMap<String, u64>;

/// Nodes per label and edges per type in `txn`'s snapshot.
fn census(txn: &quiver::Txn) -> Result<(Counts, Counts), Fail> {
    let mut labels = BTreeMap::new();
    let mut nodes = txn.nodes(None)?;
    while let Some(id) = nodes.next(txn)? {
        let label = txn.node_label(id)?.to_string_lossy().into_owned();
        *labels.entry(label).or_insert(0) += 1;
    }
    let mut types: BTreeMap<u32, u64> = BTreeMap::new();
    crate::jsonl::for_each_edge(txn, |e| {
        *types.entry(e.etype).or_insert(0) += 1;
        Ok(())
    })?;
    let mut named = BTreeMap::new();
    for (t, n) in types {
        named.insert(txn.name_of(t)?.to_string_lossy().into_owned(), n);
    }
    Ok((labels, named))
}

/// `n` with thousands separators.
pub fn human(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` bytes in binary units.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `quiver info`.
pub fn info(db_path: &Path, json_out: bool, with_labels: bool) -> Result<(), Fail> {
    let db = open_read_only(db_path)?;
    let st = db.stats();
    let rec = db.last_recovery();
    let txn = db.begin_read()?;
    let files = file_sizes(db_path)?;
    let segments: Vec<&String> = files.keys().filter(|n| n.starts_with("wal-")).collect();
    let census = if with_labels {
        Some(census(&txn)?)
    } else {
        None
    };
    let meta = meta_slot(db_path);
    let version = meta.as_ref().map(|m| m.format);
    let checkpoint_lsn = st.checkpoint_lsn;
    let wal_bytes: u64 = files
        .iter()
        .filter(|(n, _)| n.starts_with("wal-"))
        .map(|(_, b)| *b)
        .sum();
    if json_out {
        let mut o = Map::new();
        o.insert("path".into(), json!(db_path.display().to_string()));
        o.insert("format_version".into(), json!(version));
        o.insert("quiver".into(), json!(env!("CARGO_PKG_VERSION")));
        o.insert("nodes".into(), json!(st.nodes));
        o.insert("edges".into(), json!(st.edges));
        o.insert("last_txn".into(), json!(txn.snapshot_txn()));
        o.insert("last_commit_lsn".into(), json!(st.last_commit_lsn));
        o.insert("checkpoint_lsn".into(), json!(checkpoint_lsn));
        o.insert(
            "checkpoint_generation".into(),
            json!(meta.as_ref().map(|m| m.generation)),
        );
        o.insert(
            "checkpoint_txn".into(),
            json!(meta.as_ref().map(|m| m.checkpoint_txn)),
        );
        o.insert(
            "database_id".into(),
            json!(meta.as_ref().map(|m| format!("{:016x}", m.db_id))),
        );
        o.insert("data_bytes".into(), json!(st.data_bytes));
        o.insert("wal_bytes".into(), json!(wal_bytes));
        o.insert("wal_segments".into(), json!(segments));
        o.insert("files".into(), json!(files));
        o.insert(
            "last_recovery".into(),
            json!({
                "txns_replayed": rec.txns_replayed,
                "txns_discarded": rec.txns_discarded,
                "nodes": rec.nodes,
                "edges": rec.edges,
                "props": rec.props,
                "wal_bytes_scanned": rec.wal_bytes_scanned,
                "bytes_truncated": rec.bytes_truncated,
                "micros": rec.micros,
            }),
        );
        if let Some((labels, types)) = &census {
            o.insert("labels".into(), json!(labels));
            o.insert("edge_types".into(), json!(types));
        }
        println!("{}", Json::Object(o));
    } else {
        let v = version.map_or("?".to_string(), |v| v.to_string());
        let id = meta
            .as_ref()
            .map_or("?".to_string(), |m| format!("{:016x}", m.db_id));
        println!(
            "{}: format {v} (quiver {})  database id {id}",
            db_path.display(),
            env!("CARGO_PKG_VERSION")
        );
        println!(
            "nodes {}  edges {}  last commit lsn {} (txn {})",
            human(st.nodes),
            human(st.edges),
            human(st.last_commit_lsn),
            human(txn.snapshot_txn())
        );
        let generation = meta.as_ref().map_or(0, |m| m.generation);
        println!(
            "checkpoint lsn {} (generation {generation})",
            human(checkpoint_lsn)
        );
        let data: Vec<String> = ["nodes", "edges", "props", "strings", "labels"]
            .iter()
            .map(|n| format!("{n} {}", size(files.get(*n).copied().unwrap_or(0))))
            .collect();
        println!(
            "files: {}  log {} ({} segment{})",
            data.join("  "),
            size(wal_bytes),
            segments.len(),
            if segments.len() == 1 { "" } else { "s" }
        );
        println!(
            "last recovery: {} txns replayed, {} discarded, {} bytes truncated, {:.1} ms",
            rec.txns_replayed,
            rec.txns_discarded,
            rec.bytes_truncated,
            rec.micros as f64 / 1000.0
        );
        if let Some((labels, types)) = &census {
            println!("labels:");
            for (l, n) in labels {
                println!("  {l}  {}", human(*n));
            }
            println!("edge types:");
            for (t, n) in types {
                println!("  {t}  {}", human(*n));
            }
        }
    }
    Ok(())
}

/// `quiver check`.
pub fn check(db_path: &Path, json_out: bool, quiet: bool) -> Result<(), Fail> {
    let db = open_read_only(db_path)?;
    let r = integrity(&db, quiet)?;
    if json_out {
        println!(
            "{}",
            json!({
                "ok": r.problems == 0,
                "nodes_checked": r.nodes_checked,
                "edges_checked": r.edges_checked,
                "problems": r.problems,
                "first_problem": r.first_problem,
            })
        );
    } else if r.problems == 0 {
        println!(
            "checked {} node slots, {} edge slots: ok",
            human(r.nodes_checked),
            human(r.edges_checked)
        );
    } else {
        println!(
            "checked {} node slots, {} edge slots: {} problem{}",
            human(r.nodes_checked),
            human(r.edges_checked),
            human(r.problems),
            if r.problems == 1 { "" } else { "s" }
        );
        println!("first: {}", r.first_problem);
    }
    if r.problems > 0 {
        return Err(check_failure(db_path, &r));
    }
    Ok(())
}

/// Runs the integrity check behind a spinner (`check` and `verify` share it).
pub fn integrity(db: &quiver::Database, quiet: bool) -> Result<quiver::CheckReport, Fail> {
    let spinner = crate::progress::spinner("check", quiet);
    let r = db.check_integrity()?;
    spinner.finish_and_clear();
    Ok(r)
}

/// The failure (exit 3) for a check that found problems, naming the first.
pub fn check_failure(db_path: &Path, r: &quiver::CheckReport) -> Fail {
    Fail::Data(format!(
        "{}: {} problem(s); first: {}",
        db_path.display(),
        r.problems,
        r.first_problem
    ))
}

/// `quiver checkpoint`.
pub fn checkpoint(db_path: &Path) -> Result<(), Fail> {
    let db = open_existing(db_path)?;
    let before = db.stats();
    db.checkpoint()?;
    let after = db.stats();
    db.close()?;
    println!(
        "checkpoint lsn {} -> {} (log {} -> {})",
        human(before.checkpoint_lsn),
        human(after.checkpoint_lsn),
        size(before.wal_bytes),
        size(after.wal_bytes)
    );
    Ok(())
}
