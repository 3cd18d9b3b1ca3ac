//! Reading the log back for recovery.
//!
//! The scan starts at the checkpoint LSN, verifies every frame (CRC, length, LSN) and hands
//! each committed transaction's frames, savepoint rollbacks already applied, to a callback.
//! At the first frame that fails its check it decides between a torn tail and corruption:
//! if any later valid `Begin` frame records a durable LSN beyond the bad frame, the bad
//! bytes had been fsynced before, so they were damaged afterwards (corruption, reported
//! with file and offset); otherwise they were never acknowledged and the tail is cut there.

use super::{Segment, parse_segment_name, segment_name};
use crate::error::{Error, Result};
use crate::format::frame::{SEGMENT_HEADER, SegmentHeader};
use crate::format::{Frame, align8};
use crate::io::Storage;

/// A committed transaction found in the log.
pub struct ScannedTxn<'a> {
    /// Transaction id.
    pub txn: u64,
    /// LSN just past its commit frame.
    pub end_lsn: u64,
    /// Its effects in order, with rolled-back savepoint sections removed.
    pub frames: &'a [Frame<'a>],
}

/// What the scan found and what must be done to the files.
#[derive(Debug, Default)]
pub struct LogScan {
    /// Segments that stay, oldest first.
    pub(crate) segments: Vec<Segment>,
    /// LSN where the valid log ends (the next frame goes here).
    pub end_lsn: u64,
    /// Committed transactions handed to the callback.
    pub txns_replayed: u64,
    /// Aborted or incomplete transactions skipped.
    pub txns_discarded: u64,
    /// Log bytes read (from the checkpoint LSN).
    pub bytes_scanned: u64,
    /// Bytes past the valid end (torn tail) to cut off.
    pub bytes_truncated: u64,
    /// (segment number, file length) to truncate to, if the tail is torn.
    pub truncate_at: Option<(u64, u64)>,
    /// Segments to delete: before the checkpoint, or after a torn tail.
    pub remove: Vec<u64>,
    /// Highest transaction id seen in a committed transaction.
    pub last_txn: u64,
}

struct LoadedSegment {
    number: u64,
    header: Option<SegmentHeader>,
    bytes: Vec<u8>,
}

fn load_segments(
    fs: &dyn Storage,
    db_id: u64,
    checkpoint_lsn: u64,
) -> Result<(Vec<LoadedSegment>, Vec<u64>)> {
    let mut numbers: Vec<u64> = fs
        .list()?
        .iter()
        .filter_map(|n| parse_segment_name(n))
        .collect();
    numbers.sort_unstable();
    let mut loaded = Vec::new();
    for number in numbers {
        let name = segment_name(number);
        let f = fs.open_file(&name, false)?;
        let len = f.len()?;
        let mut bytes = vec![
            0u8;
            usize::try_from(len)
                .map_err(|_| Error::Corrupt(format!("{name}: too large")))?
        ];
        let n = f.read_at(&mut bytes, 0)?;
        bytes.truncate(n);
        let header = bytes
            .get(..SEGMENT_HEADER)
            .and_then(|h| SegmentHeader::decode(h).ok());
        if let Some(h) = header {
            if h.db_id != db_id || h.number != number {
                return Err(Error::Corrupt(format!(
                    "{}: segment header names database {:#x} segment {}, expected {:#x} segment {}",
                    f.path().display(),
                    h.db_id,
                    h.number,
                    db_id,
                    number
                )));
            }
        }
        loaded.push(LoadedSegment {
            number,
            header,
            bytes,
        });
    }
    // The first segment to read is the last whose base LSN is at or before the checkpoint.
    let start = loaded
        .iter()
        .rposition(|s| s.header.is_some_and(|h| h.base_lsn <= checkpoint_lsn))
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "{}: no log segment contains the checkpoint LSN {checkpoint_lsn}",
                fs.root().display()
            ))
        })?;
    let stale: Vec<u64> = loaded[..start].iter().map(|s| s.number).collect();
    loaded.drain(..start);
    Ok((loaded, stale))
}

/// Open transaction being collected.
struct Pending<'a> {
    txn: u64,
    frames: Vec<Frame<'a>>,
    /// (savepoint number, frames.len() at the marker)
    marks: Vec<(u32, usize)>,
}

/// Scans the log of database `db_id` from `checkpoint_lsn`, calling `on_commit` for each
/// committed transaction in log order.
pub fn scan_log(
    fs: &dyn Storage,
    db_id: u64,
    checkpoint_lsn: u64,
    mut on_commit: impl FnMut(ScannedTxn<'_>) -> Result<()>,
) -> Result<LogScan> {
    let (segs, stale) = load_segments(fs, db_id, checkpoint_lsn)?;
    let mut scan = LogScan {
        remove: stale,
        end_lsn: checkpoint_lsn,
        ..LogScan::default()
    };
    let mut pending: Option<Pending<'_>> = None;
    let mut lsn = checkpoint_lsn;
    for (i, seg) in segs.iter().enumerate() {
        let path = || {
            fs.root()
                .join(segment_name(seg.number))
                .display()
                .to_string()
        };
        let mut failure: Option<(usize, u64, String)> = None;
        let mut off = 0;
        match seg.header {
            Some(h) if i == 0 => {
                off = SEGMENT_HEADER + usize::try_from(lsn - h.base_lsn).unwrap_or(usize::MAX);
                if off > seg.bytes.len() {
                    // The log was fsynced past the checkpoint LSN before the meta slot
                    // named it, so a shorter segment lost durable bytes.
                    return Err(Error::Corrupt(format!(
                        "{}: {} bytes long, but the checkpoint LSN {lsn} is at offset {off}",
                        path(),
                        seg.bytes.len()
                    )));
                }
            }
            Some(h) if h.base_lsn == lsn => off = SEGMENT_HEADER,
            Some(h) => {
                failure = Some((
                    0,
                    lsn,
                    format!("segment starts at LSN {}, expected {lsn}", h.base_lsn),
                ))
            }
            None => failure = Some((0, lsn, "segment header fails its check".into())),
        }
        let first_off = off;
        while failure.is_none() && off < seg.bytes.len() {
            match Frame::decode(&seg.bytes[off..], lsn) {
                Ok((txn, frame, n)) => {
                    handle_frame(
                        &mut scan,
                        &mut pending,
                        txn,
                        frame,
                        lsn + n as u64,
                        &mut on_commit,
                    )
                    .map_err(|e| match e {
                        Error::Corrupt(m) => {
                            Error::Corrupt(format!("{} offset {off}: {m}", path()))
                        }
                        e => e,
                    })?;
                    off += n;
                    lsn += n as u64;
                    if matches!(frame, Frame::Commit | Frame::Abort)
                        || (matches!(frame, Frame::Checkpoint { .. }) && pending.is_none())
                    {
                        scan.end_lsn = lsn;
                    }
                }
                Err(e) => failure = Some((off, lsn, e.to_string())),
            }
        }
        scan.bytes_scanned += (off - first_off) as u64;
        if let Some((off, bad_lsn, why)) = failure {
            if let Some(proof) = durable_after(&segs[i..], off, bad_lsn) {
                return Err(Error::Corrupt(format!(
                    "{} offset {off}: damaged log frame ({why}) before frames that were already durable \
                     (a later transaction records LSN {proof} as synced)",
                    path()
                )));
            }
            break;
        }
    }
    // The valid end is after the last complete transaction; frames of an incomplete one
    // stay in the file but are discarded now and overwritten by the next transaction.
    if pending.take().is_some() {
        scan.txns_discarded += 1;
    }
    let end = scan.end_lsn;
    cut_after(&mut scan, &segs, end);
    Ok(scan)
}

fn handle_frame<'a>(
    scan: &mut LogScan,
    pending: &mut Option<Pending<'a>>,
    txn: u64,
    frame: Frame<'a>,
    end_lsn: u64,
    on_commit: &mut impl FnMut(ScannedTxn<'_>) -> Result<()>,
) -> Result<()> {
    if let Frame::Begin { .. } = frame {
        if pending.take().is_some() {
            scan.txns_discarded += 1;
        }
        *pending = Some(Pending {
            txn,
            frames: Vec::new(),
            marks: Vec::new(),
        });
        return Ok(());
    }
    if let Frame::Checkpoint { .. } = frame {
        return Ok(());
    }
    let p = match pending.as_mut() {
        Some(p) if p.txn == txn => p,
        _ => {
            return Err(Error::Corrupt(format!(
                "frame of transaction {txn} outside its Begin/Commit"
            )));
        }
    };
    match frame {
        Frame::Commit => {
            let p = pending
                .take()
                .ok_or_else(|| Error::Internal("pending vanished".into()))?;
            on_commit(ScannedTxn {
                txn: p.txn,
                end_lsn,
                frames: &p.frames,
            })?;
            scan.txns_replayed += 1;
            scan.last_txn = scan.last_txn.max(p.txn);
        }
        Frame::Abort => {
            pending.take();
            scan.txns_discarded += 1;
        }
        Frame::Savepoint { seq } => p.marks.push((seq, p.frames.len())),
        Frame::RollbackTo { seq } => {
            let at = p
                .marks
                .iter()
                .rposition(|(s, _)| *s == seq)
                .ok_or_else(|| {
                    Error::Corrupt(format!(
                        "rollback to unknown savepoint {seq} in transaction {txn}"
                    ))
                })?;
            let keep = p.marks[at].1;
            p.frames.truncate(keep);
            p.marks.truncate(at + 1);
        }
        other => p.frames.push(other),
    }
    Ok(())
}

/// Looks past a bad frame for a valid `Begin` whose durable LSN is beyond `bad_lsn`.
fn durable_after(segs: &[LoadedSegment], bad_off: usize, bad_lsn: u64) -> Option<u64> {
    let first = &segs[0];
    let base = first.header.map(|h| h.base_lsn);
    let mut off = align8(bad_off + 1).max(SEGMENT_HEADER);
    while let Some(b) = base {
        if off + crate::format::frame::FRAME_HEADER > first.bytes.len() {
            break;
        }
        let lsn = b + (off - SEGMENT_HEADER) as u64;
        if let Ok((_, Frame::Begin { durable_lsn }, _)) = Frame::decode(&first.bytes[off..], lsn) {
            if durable_lsn > bad_lsn {
                return Some(durable_lsn);
            }
        }
        off += 8;
    }
    for seg in &segs[1..] {
        let Some(h) = seg.header else { continue };
        let mut off = SEGMENT_HEADER;
        let mut lsn = h.base_lsn;
        while let Ok((_, f, n)) = Frame::decode(&seg.bytes[off.min(seg.bytes.len())..], lsn) {
            if let Frame::Begin { durable_lsn } = f {
                if durable_lsn > bad_lsn {
                    return Some(durable_lsn);
                }
            }
            off += n;
            lsn += n as u64;
        }
    }
    None
}

/// Keeps the log up to `end` (the end of the last complete transaction): segments that
/// start after it are removed, and the one holding it is truncated there.
fn cut_after(scan: &mut LogScan, segs: &[LoadedSegment], end: u64) {
    for seg in segs {
        let Some(h) = seg.header else {
            scan.remove.push(seg.number);
            scan.bytes_truncated += seg.bytes.len() as u64;
            continue;
        };
        if h.base_lsn > end || (h.base_lsn == end && !scan.segments.is_empty()) {
            scan.remove.push(seg.number);
            scan.bytes_truncated += seg.bytes.len() as u64;
            continue;
        }
        let keep = SEGMENT_HEADER as u64 + (end - h.base_lsn).min(seg.bytes.len() as u64);
        if (seg.bytes.len() as u64) > keep && end - h.base_lsn <= seg.bytes.len() as u64 {
            scan.truncate_at = Some((seg.number, keep));
            scan.bytes_truncated += seg.bytes.len() as u64 - keep;
        }
        scan.segments.push(Segment {
            number: h.number,
            base_lsn: h.base_lsn,
        });
    }
}
