//! `quiver wal`: lists the log segments and the transactions in them.
//!
//! It reads the segment files itself, from the byte layout in ARCHITECTURE.md ("log
//! segments"), and looks only at frame headers (CRC, length, LSN, transaction id, kind),
//! never at payloads beyond a SegmentEnd's next segment number: that is all a listing
//! needs, so the engine's decoder is not duplicated. The database is opened read-only
//! first, for the checkpoint and commit positions and for its lock (so no process is
//! writing while the files are read); a damaged database is still listed.

use crate::fail::Fail;
use crate::stage::open_read_only;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::Path;

const SEGMENT_HEADER: usize = 64;
const FRAME_HEADER: usize = 25;
const MAGIC: &[u8; 8] = b"QVWALSEG";

/// Frame kinds (ARCHITECTURE.md's table).
const KINDS: [&str; 15] = [
    "?",
    "Begin",
    "Commit",
    "Abort",
    "NodeInsert",
    "NodeDelete",
    "EdgeInsert",
    "EdgeDelete",
    "PropSet",
    "PropUnset",
    "StringInsert",
    "Savepoint",
    "RollbackTo",
    "Checkpoint",
    "SegmentEnd",
];
const COMMIT: u8 = 2;
const ABORT: u8 = 3;
const SEGMENT_END: u8 = 14;

fn u32_at(b: &[u8], o: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[o..o + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// One segment as read.
struct Segment {
    name: String,
    bytes: u64,
    header_ok: bool,
    number: u64,
    base_lsn: u64,
    frames: u64,
    /// LSN just past the last valid frame.
    end_lsn: u64,
    /// File offset where valid frames end.
    valid_end: u64,
    /// Why reading stopped before the end of the file, if it did.
    stop: Option<String>,
    next_segment: Option<u64>,
}

#[derive(Default)]
struct TxnInfo {
    first_lsn: u64,
    end_lsn: u64,
    frames: u64,
    kinds: BTreeMap<&'static str, u64>,
    state: &'static str,
}

fn read_segment(
    path: &Path,
    name: &str,
    txns: &mut BTreeMap<u64, TxnInfo>,
) -> Result<Segment, Fail> {
    let b = std::fs::read(path).map_err(|e| Fail::io("read", path, e))?;
    let mut s = Segment {
        name: name.to_string(),
        bytes: b.len() as u64,
        header_ok: false,
        number: 0,
        base_lsn: 0,
        frames: 0,
        end_lsn: 0,
        valid_end: 0,
        stop: None,
        next_segment: None,
    };
    if b.len() < SEGMENT_HEADER || &b[0..8] != MAGIC || crc32fast::hash(&b[0..40]) != u32_at(&b, 40)
    {
        s.stop = Some("the segment header is missing or fails its check".into());
        return Ok(s);
    }
    s.header_ok = true;
    s.number = u64_at(&b, 24);
    s.base_lsn = u64_at(&b, 32);
    s.end_lsn = s.base_lsn;
    let mut o = SEGMENT_HEADER;
    s.valid_end = o as u64;
    while o + FRAME_HEADER <= b.len() {
        if b[o..].iter().all(|&x| x == 0) {
            // Space the writer preallocated: the log ends here (ARCHITECTURE.md).
            break;
        }
        let len = u32_at(&b, o + 4) as usize;
        let padded = len.div_ceil(8) * 8;
        if len < FRAME_HEADER || o + padded > b.len() {
            s.stop = Some(format!("a torn or invalid frame at offset {o}"));
            break;
        }
        let lsn = u64_at(&b, o + 8);
        if crc32fast::hash(&b[o + 4..o + len]) != u32_at(&b, o) {
            s.stop = Some(format!("a frame fails its CRC at offset {o}"));
            break;
        }
        if lsn != s.base_lsn + (o - SEGMENT_HEADER) as u64 {
            s.stop = Some(format!("a stale frame (LSN {lsn}) at offset {o}"));
            break;
        }
        let txn = u64_at(&b, o + 16);
        let kind = b[o + 24];
        s.frames += 1;
        o += padded;
        s.valid_end = o as u64;
        if kind == SEGMENT_END {
            if len >= FRAME_HEADER + 8 {
                s.next_segment = Some(u64_at(&b, o - padded + FRAME_HEADER));
            }
            break;
        }
        s.end_lsn = lsn + padded as u64;
        let t = txns.entry(txn).or_insert_with(|| TxnInfo {
            first_lsn: lsn,
            state: "incomplete",
            ..TxnInfo::default()
        });
        t.frames += 1;
        t.end_lsn = lsn + padded as u64;
        *t.kinds
            .entry(KINDS.get(kind as usize).copied().unwrap_or("?"))
            .or_insert(0) += 1;
        match kind {
            COMMIT => t.state = "committed",
            ABORT => t.state = "aborted",
            _ => {}
        }
    }
    Ok(s)
}

/// `quiver wal`.
pub fn list(db_path: &Path, json_out: bool) -> Result<(), Fail> {
    // Locked or missing: fail as every command does. Damaged: list it anyway, then fail.
    let (positions, open_error) = match open_read_only(db_path) {
        Ok(db) => {
            let st = db.stats();
            (Some((st.checkpoint_lsn, st.last_commit_lsn)), None)
        }
        Err(Fail::Engine(e @ (quiver::Error::Corrupt(_) | quiver::Error::Format(_)))) => {
            (None, Some(Fail::Engine(e)))
        }
        Err(e) => return Err(e),
    };
    let mut names: Vec<String> = std::fs::read_dir(db_path)
        .map_err(|e| Fail::io("read directory", db_path, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wal-"))
        .collect();
    names.sort();
    let mut txns = BTreeMap::new();
    let mut segments = Vec::new();
    for n in &names {
        segments.push(read_segment(&db_path.join(n), n, &mut txns)?);
    }
    let checkpoint = positions.map(|p| p.0);
    if json_out {
        let segs: Vec<Json> = segments
            .iter()
            .map(|s| {
                json!({
                    "file": s.name, "bytes": s.bytes, "header_ok": s.header_ok,
                    "number": s.number, "base_lsn": s.base_lsn, "end_lsn": s.end_lsn,
                    "frames": s.frames, "valid_end_offset": s.valid_end,
                    "next_segment": s.next_segment, "stopped": s.stop,
                })
            })
            .collect();
        let ts: Vec<Json> = txns
            .iter()
            .map(|(id, t)| {
                json!({
                    "id": id, "first_lsn": t.first_lsn, "end_lsn": t.end_lsn,
                    "frames": t.frames, "kinds": t.kinds, "state": t.state,
                    "checkpointed": checkpoint.map(|c| t.end_lsn <= c),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "checkpoint_lsn": checkpoint,
                "last_commit_lsn": positions.map(|p| p.1),
                "segments": segs,
                "transactions": ts,
            })
        );
    } else {
        if let Some((c, l)) = positions {
            println!("checkpoint lsn {c}  last commit lsn {l}");
        }
        for s in &segments {
            let ends = match (s.next_segment, &s.stop) {
                (Some(n), _) => format!("ends: continues in segment {n}"),
                (None, Some(why)) => format!("stops: {why}"),
                (None, None) => "the log's end".to_string(),
            };
            println!(
                "{}  {} bytes  base lsn {}  lsn {}..{}  {} frames  {ends}",
                s.name, s.bytes, s.base_lsn, s.base_lsn, s.end_lsn, s.frames
            );
        }
        for (id, t) in &txns {
            let kinds: Vec<String> = t.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let cp = match checkpoint {
                Some(c) if t.end_lsn <= c => "  (checkpointed)",
                _ => "",
            };
            println!(
                "txn {id}  lsn {}..{}  {} frames ({})  {}{cp}",
                t.first_lsn,
                t.end_lsn,
                t.frames,
                kinds.join(", "),
                t.state
            );
        }
        println!("{} segments, {} transactions", segments.len(), txns.len());
    }
    match open_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
