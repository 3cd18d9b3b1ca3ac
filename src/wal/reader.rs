//! Reading the log back for recovery.
//!
//! The scan starts at the checkpoint LSN, verifies every frame (CRC, length, LSN) and hands
//! each committed transaction's frames, savepoint rollbacks already applied, to a callback.
//! A segment's log ends at its end marker, which names the next segment; only the last
//! segment can end in a torn tail. At the first frame of the last segment that fails its
//! check it decides between a torn tail and corruption: if a later valid `Begin` or
//! `Commit` frame records a durable LSN beyond the bad frame, the bad bytes had been fsynced before, so
//! they were damaged afterwards (corruption, reported with file and offset); otherwise
//! they were never acknowledged and the tail is cut there.

use super::{Segment, parse_segment_name, segment_name};
use crate::error::{Error, Result};
use crate::format::frame::{SEGMENT_HEADER, SegmentHeader};
use crate::format::{Frame, align8};
use crate::io::{Storage, StorageFile};
use std::sync::Arc;

/// A committed transaction found in the log.
pub struct ScannedTxn<'a> {
    /// Its effects in order, with rolled-back savepoint sections removed.
    pub frames: &'a [Frame<'a>],
}

/// What the scan found and what must be done to the files.
#[derive(Default)]
pub struct LogScan {
    /// Segments that stay, oldest first.
    pub(crate) segments: Vec<Segment>,
    /// The open files of `segments`, in the same order (recovery cuts, fsyncs and resumes
    /// through them rather than opening each segment again).
    pub(crate) files: Vec<Arc<dyn StorageFile>>,
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
    /// Bytes of the segments that stay, once the tail is cut.
    pub kept_bytes: u64,
    /// (segment number, file length) to truncate to, if the tail is torn.
    pub truncate_at: Option<(u64, u64)>,
    /// Segments to delete: before the checkpoint, or after the valid end (holding only a
    /// torn tail, frames of a transaction that never committed, or nothing).
    pub remove: Vec<u64>,
    /// Highest transaction id seen in a committed transaction.
    pub last_txn: u64,
}

struct LoadedSegment {
    number: u64,
    file: Arc<dyn StorageFile>,
    header: Option<SegmentHeader>,
    bytes: Vec<u8>,
}

/// Every segment in the directory, by number, with only its header read; a header that
/// verifies must name this database and the segment's own number.
fn load_segments(fs: &dyn Storage, db_id: u64) -> Result<Vec<LoadedSegment>> {
    let mut numbers: Vec<u64> = fs
        .list()?
        .iter()
        .filter_map(|n| parse_segment_name(n))
        .collect();
    numbers.sort_unstable();
    let mut loaded = Vec::new();
    for number in numbers {
        let f = fs.open_file(&segment_name(number), false)?;
        let mut bytes = vec![0u8; SEGMENT_HEADER];
        let n = f.read_at(&mut bytes, 0)?;
        bytes.truncate(n);
        let header = SegmentHeader::decode(&bytes).ok();
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
            file: f,
            header,
            bytes,
        });
    }
    Ok(loaded)
}

/// Reads `seg` from byte `from` on. Recovery reads the segments from the checkpoint's on
/// (the older ones only by their headers), the first of them from the checkpoint LSN's
/// offset: the frames before it are checkpointed and never looked at, so their bytes stay
/// zero in the buffer (a large zeroed allocation is not touched, so they cost neither a read
/// nor a page fault; a segment can hold tens of megabytes of a bulk load before the few
/// commits that need replaying).
fn read_from(seg: &mut LoadedSegment, from: usize) -> Result<()> {
    let f = &seg.file;
    let len = usize::try_from(f.len()?)
        .map_err(|_| Error::Corrupt(format!("{}: too large", f.path().display())))?;
    seg.bytes = vec![0u8; len];
    if from < len {
        let n = f.read_at(&mut seg.bytes[from..], from as u64)?;
        seg.bytes.truncate(from + n);
    }
    Ok(())
}

/// Open transaction being collected.
struct Pending<'a> {
    txn: u64,
    frames: Vec<Frame<'a>>,
    /// (savepoint number, frames.len() at the marker)
    marks: Vec<(u32, usize)>,
}

/// Why reading a segment's frames stopped.
enum Stop {
    /// Its end marker: the log continues in segment `next`.
    Marker { next: u64 },
    /// The end of the file.
    End,
    /// A frame at this offset fails its check.
    Bad { off: usize, why: String },
}

/// Scans the log of database `db_id` from `checkpoint_lsn`, calling `on_commit` for each
/// committed transaction in log order.
///
/// The segments from the one holding the checkpoint LSN on must be numbered without a
/// gap. A segment's log ends at its end marker, which names the next segment; bytes after
/// the marker are not log and are ignored. A segment without a marker is the last one,
/// the only one whose tail can be torn; the one exception is a roll that did not finish
/// (its successor holds only a header), whose successor is dropped. Anything else that
/// does not fit (a missing successor, a successor holding frames after a segment without
/// a marker, damage inside a completed segment) is `Corrupt` naming the file.
pub fn scan_log(
    fs: &dyn Storage,
    db_id: u64,
    checkpoint_lsn: u64,
    mut on_commit: impl FnMut(ScannedTxn<'_>) -> Result<()>,
) -> Result<LogScan> {
    let mut all = load_segments(fs, db_id)?;
    let path = |number: u64| fs.root().join(segment_name(number)).display().to_string();
    // The first segment to read is the last whose base LSN is at or before the checkpoint;
    // the ones before it hold only checkpointed frames.
    let start = all
        .iter()
        .rposition(|s| s.header.is_some_and(|h| h.base_lsn <= checkpoint_lsn))
        .ok_or_else(|| match all.iter().find(|s| s.header.is_some()) {
            // Segments are numbered in log order, so the one before the first that starts
            // after the checkpoint is the one that held it.
            Some(first) if first.number > 0 => Error::Corrupt(format!(
                "{}: missing or damaged (it holds the checkpoint LSN {checkpoint_lsn}; {} \
                 starts after it)",
                path(first.number - 1),
                path(first.number)
            )),
            _ => Error::Corrupt(format!(
                "{}: no log segment (wal-*) holds the checkpoint LSN {checkpoint_lsn}",
                fs.root().display()
            )),
        })?;
    let base = all[start].header.map_or(0, |h| h.base_lsn);
    let first_off = SEGMENT_HEADER + usize::try_from(checkpoint_lsn - base).unwrap_or(usize::MAX);
    for (i, seg) in all[start..].iter_mut().enumerate() {
        read_from(seg, if i == 0 { first_off } else { 0 })?;
    }
    let (stale, segs) = all.split_at(start);
    for w in segs.windows(2) {
        if w[1].number != w[0].number + 1 {
            return Err(Error::Corrupt(format!(
                "{}: missing (the log has segments {} and {} around it)",
                path(w[0].number + 1),
                w[0].number,
                w[1].number
            )));
        }
    }
    let mut scan = LogScan {
        remove: stale.iter().map(|s| s.number).collect(),
        end_lsn: checkpoint_lsn,
        ..LogScan::default()
    };
    // Index in `segs` of the segment where the valid log ends.
    let mut end_seg = 0;
    let mut pending: Option<Pending<'_>> = None;
    let mut lsn = checkpoint_lsn;
    let mut off = first_off;
    if off > segs[0].bytes.len() {
        // The log was fsynced past the checkpoint LSN before the meta slot named it, so a
        // shorter segment lost durable bytes.
        return Err(Error::Corrupt(format!(
            "{}: {} bytes long, but the checkpoint LSN {lsn} is at offset {off} (it lost \
             bytes, or the segment after it, {}, is missing)",
            path(segs[0].number),
            segs[0].bytes.len(),
            path(segs[0].number + 1)
        )));
    }
    for (i, seg) in segs.iter().enumerate() {
        let first_off = off;
        let mut stop = Stop::End;
        while off < seg.bytes.len() {
            match Frame::decode(&seg.bytes[off..], lsn) {
                Ok((_, Frame::SegmentEnd { next }, n)) => {
                    // The marker takes file bytes but no log positions: the successor
                    // starts at the marker's own LSN.
                    off += n;
                    stop = Stop::Marker { next };
                    break;
                }
                Ok((txn, frame, n)) => {
                    handle_frame(&mut scan, &mut pending, txn, frame, &mut on_commit).map_err(
                        |e| match e {
                            Error::Corrupt(m) => {
                                Error::Corrupt(format!("{} offset {off}: {m}", path(seg.number)))
                            }
                            e => e,
                        },
                    )?;
                    off += n;
                    lsn += n as u64;
                    if matches!(frame, Frame::Commit { .. } | Frame::Abort)
                        || (matches!(frame, Frame::Checkpoint { .. }) && pending.is_none())
                    {
                        scan.end_lsn = lsn;
                        end_seg = i;
                    }
                }
                Err(e) => {
                    stop = Stop::Bad {
                        off,
                        why: e.to_string(),
                    };
                    break;
                }
            }
        }
        scan.bytes_scanned += (off - first_off) as u64;
        let next = segs.get(i + 1);
        match stop {
            Stop::Marker { next: n } => {
                check_successor(seg, next, n, lsn, &path)?;
                if pending.is_none() {
                    scan.end_lsn = lsn;
                    end_seg = i + 1;
                }
                off = SEGMENT_HEADER;
            }
            Stop::End | Stop::Bad { .. } => {
                if let Some(next) = next {
                    check_unfinished_roll(seg, next, i + 2 < segs.len(), off, &path)?;
                }
                if let Stop::Bad { off, why } = stop {
                    if let Some(proof) = durable_after(seg, off, lsn) {
                        return Err(Error::Corrupt(format!(
                            "{} offset {off}: damaged log frame ({why}) before frames that were \
                             already durable (a later transaction records LSN {proof} as synced)",
                            path(seg.number)
                        )));
                    }
                }
                break;
            }
        }
    }
    // The valid end is after the last complete transaction; frames of an incomplete one
    // stay in the file but are discarded now and overwritten by the next transaction.
    if pending.take().is_some() {
        scan.txns_discarded += 1;
    }
    cut_after(&mut scan, segs, end_seg);
    Ok(scan)
}

/// After `seg`'s end marker naming segment `named`, at LSN `lsn`: the successor must be
/// there, be that segment, and start at `lsn`. The marker was written only once the
/// successor was durable, so anything else is damage.
fn check_successor(
    seg: &LoadedSegment,
    next: Option<&LoadedSegment>,
    named: u64,
    lsn: u64,
    path: &dyn Fn(u64) -> String,
) -> Result<()> {
    if named != seg.number + 1 {
        return Err(Error::Corrupt(format!(
            "{}: its end marker names segment {named}, expected {}",
            path(seg.number),
            seg.number + 1
        )));
    }
    let Some(next) = next else {
        return Err(Error::Corrupt(format!(
            "{}: missing ({} ends with a marker naming it as the next segment)",
            path(named),
            path(seg.number)
        )));
    };
    match next.header {
        Some(h) if h.base_lsn == lsn => Ok(()),
        Some(h) => Err(Error::Corrupt(format!(
            "{}: starts at LSN {}, but {} ends at LSN {lsn}",
            path(next.number),
            h.base_lsn,
            path(seg.number)
        ))),
        None => Err(Error::Corrupt(format!(
            "{}: segment header fails its check (the segment before ends by naming it)",
            path(next.number)
        ))),
    }
}

/// `seg` ended (at offset `off`) without its end marker although `next` follows it. That
/// is a roll that did not finish (ARCHITECTURE.md, "Segment roll") only when `next` is
/// the last segment and holds nothing but its header, and `seg` carries no intact end
/// marker further on; then `next` holds no frame and is dropped with the tail.
fn check_unfinished_roll(
    seg: &LoadedSegment,
    next: &LoadedSegment,
    more_after: bool,
    off: usize,
    path: &dyn Fn(u64) -> String,
) -> Result<()> {
    if let Some(at) = intact_marker(seg, next) {
        return Err(Error::Corrupt(format!(
            "{} offset {off}: damaged log frame in a completed segment (its end marker at \
             offset {at} is intact)",
            path(seg.number)
        )));
    }
    if more_after || next.bytes.len() > SEGMENT_HEADER {
        return Err(Error::Corrupt(format!(
            "{} offset {off}: the segment ends without the marker naming its successor, but {} \
             follows it with {} bytes",
            path(seg.number),
            path(next.number),
            next.bytes.len()
        )));
    }
    Ok(())
}

/// Offset in `seg` of an intact end marker naming `next`, where `next`'s header puts it.
fn intact_marker(seg: &LoadedSegment, next: &LoadedSegment) -> Option<usize> {
    let base = seg.header?.base_lsn;
    let marker_lsn = next.header?.base_lsn;
    let at = SEGMENT_HEADER + usize::try_from(marker_lsn.checked_sub(base)?).ok()?;
    match Frame::decode(seg.bytes.get(at..)?, marker_lsn) {
        Ok((_, Frame::SegmentEnd { next: n }, _)) if n == next.number => Some(at),
        _ => None,
    }
}

fn handle_frame<'a>(
    scan: &mut LogScan,
    pending: &mut Option<Pending<'a>>,
    txn: u64,
    frame: Frame<'a>,
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
        Frame::Commit { .. } => {
            let p = pending
                .take()
                .ok_or_else(|| Error::Internal("pending vanished".into()))?;
            on_commit(ScannedTxn { frames: &p.frames })?;
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

/// Looks past a bad frame in the last segment for a valid `Begin` or `Commit` whose
/// durable LSN is beyond `bad_lsn`: proof that the bad bytes had been fsynced.
fn durable_after(seg: &LoadedSegment, bad_off: usize, bad_lsn: u64) -> Option<u64> {
    if zeros_from(seg, bad_off) {
        // Preallocated space: no frame can follow.
        return None;
    }
    let base = seg.header?.base_lsn;
    let mut off = align8(bad_off + 1).max(SEGMENT_HEADER);
    while off + crate::format::frame::FRAME_HEADER <= seg.bytes.len() {
        let lsn = base + (off - SEGMENT_HEADER) as u64;
        if let Ok((_, Frame::Begin { durable_lsn } | Frame::Commit { durable_lsn }, _)) =
            Frame::decode(&seg.bytes[off..], lsn)
        {
            if durable_lsn > bad_lsn {
                return Some(durable_lsn);
            }
        }
        off += 8;
    }
    None
}

/// Whether `seg` holds only zero bytes from offset `off` to its end.
fn zeros_from(seg: &LoadedSegment, off: usize) -> bool {
    seg.bytes
        .get(off..)
        .is_none_or(|b| b.iter().all(|&x| x == 0))
}

/// Keeps the log up to `scan.end_lsn`, which lies in `segs[end_seg]`: that segment is
/// truncated there, and the ones after it (holding only frames of a transaction that
/// never committed, a torn tail, or nothing) are removed.
fn cut_after(scan: &mut LogScan, segs: &[LoadedSegment], end_seg: usize) {
    let end = scan.end_lsn;
    for (i, seg) in segs.iter().enumerate() {
        let header = seg.header.filter(|_| i <= end_seg);
        let Some(h) = header else {
            scan.remove.push(seg.number);
            scan.bytes_truncated += seg.bytes.len() as u64;
            continue;
        };
        let mut kept = seg.bytes.len() as u64;
        if i == end_seg {
            let keep = SEGMENT_HEADER as u64 + (end - h.base_lsn);
            if kept > keep {
                // Zeros past the end are space the writer preallocated (`wal::PREALLOC`):
                // they stay, and the next frame overwrites them. Anything else is cut.
                if !zeros_from(seg, keep as usize) {
                    scan.truncate_at = Some((seg.number, keep));
                    scan.bytes_truncated += kept - keep;
                }
                kept = keep;
            }
        }
        scan.kept_bytes += kept;
        scan.segments.push(Segment {
            number: h.number,
            base_lsn: h.base_lsn,
        });
        scan.files.push(Arc::clone(&seg.file));
    }
}
