//! Layer 2: the write-ahead log. Appends encoded frames to numbered segment files, rolls
//! to a new segment past `segment_bytes`, syncs, retires segments a checkpoint has made
//! unnecessary, and reads the log back frame by frame for recovery.

mod reader;

pub use reader::{LogScan, ScannedTxn, scan_log};

use crate::error::{Error, Result};
use crate::format::frame::{SEGMENT_HEADER, SegmentHeader};
use crate::io::{Storage, StorageFile};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// File name of segment `number`.
pub fn segment_name(number: u64) -> String {
    format!("wal-{number:016x}")
}

/// Parses a segment file name.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A segment still needed by recovery.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub number: u64,
    pub base_lsn: u64,
}

/// The log as the single writer sees it.
pub struct Wal {
    fs: Arc<dyn Storage>,
    db_id: u64,
    segment_bytes: u64,
    /// Live segments, oldest first; the last is `cur`.
    segments: Vec<Segment>,
    cur: Arc<dyn StorageFile>,
    /// File offset in `cur` where the next frame goes.
    cur_len: u64,
    /// LSN of the next frame.
    end_lsn: u64,
    /// Everything before this LSN is durable. Shared with the group commit, whose fsyncs
    /// (outside the writer lock) advance it too.
    synced_lsn: Arc<AtomicU64>,
    /// Whether segment rolls are made durable (false only for sync mode OFF).
    durable_rolls: bool,
    /// Segments rolled away from without an fsync (mode OFF); `sync` fsyncs them first.
    unsynced_segments: Vec<Arc<dyn StorageFile>>,
    /// A segment was created without a directory fsync (mode OFF); `sync` does it.
    dir_unsynced: bool,
}

impl Wal {
    /// Creates segment `number` starting at `base_lsn` (a new database, or after recovery
    /// found no usable segment), and makes it durable.
    pub(crate) fn create(
        fs: Arc<dyn Storage>,
        db_id: u64,
        number: u64,
        base_lsn: u64,
        segment_bytes: u64,
        durable_rolls: bool,
    ) -> Result<Wal> {
        let cur = Self::new_segment_file(&*fs, db_id, number, base_lsn)?;
        fs.sync_dir()?;
        Ok(Wal {
            fs,
            db_id,
            segment_bytes,
            segments: vec![Segment { number, base_lsn }],
            cur,
            cur_len: SEGMENT_HEADER as u64,
            end_lsn: base_lsn,
            synced_lsn: Arc::new(AtomicU64::new(base_lsn)),
            durable_rolls,
            unsynced_segments: Vec::new(),
            dir_unsynced: false,
        })
    }

    /// Continues an existing log whose valid end recovery found at `end_lsn`, in the last
    /// of `segments`.
    pub(crate) fn resume(
        fs: Arc<dyn Storage>,
        db_id: u64,
        segments: Vec<Segment>,
        end_lsn: u64,
        segment_bytes: u64,
        durable_rolls: bool,
    ) -> Result<Wal> {
        let last = segments
            .last()
            .cloned()
            .ok_or_else(|| Error::Internal("no segment".into()))?;
        let cur = fs.open_file(&segment_name(last.number), false)?;
        Ok(Wal {
            fs,
            db_id,
            segment_bytes,
            segments,
            cur,
            cur_len: SEGMENT_HEADER as u64 + (end_lsn - last.base_lsn),
            end_lsn,
            synced_lsn: Arc::new(AtomicU64::new(end_lsn)),
            durable_rolls,
            unsynced_segments: Vec::new(),
            dir_unsynced: false,
        })
    }

    fn new_segment_file(
        fs: &dyn Storage,
        db_id: u64,
        number: u64,
        base_lsn: u64,
    ) -> Result<Arc<dyn StorageFile>> {
        let name = segment_name(number);
        let f = fs.open_file(&name, true)?;
        f.set_len(0)?;
        f.write_at(
            &SegmentHeader {
                db_id,
                number,
                base_lsn,
            }
            .encode(),
            0,
        )?;
        f.sync()?;
        Ok(f)
    }

    /// LSN of the next frame.
    pub fn end_lsn(&self) -> u64 {
        self.end_lsn
    }

    /// Everything before this LSN is durable.
    pub fn synced_lsn(&self) -> u64 {
        self.synced_lsn.load(Ordering::Acquire)
    }

    /// The counter behind [`Wal::synced_lsn`], for whoever else fsyncs the log.
    pub fn synced_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.synced_lsn)
    }

    /// The segment the next frame goes to; fsyncing it (once every earlier segment is
    /// durable, which a roll ensures unless the mode is OFF) makes the log durable up to
    /// the [`Wal::end_lsn`] read together with it.
    pub fn current_file(&self) -> Arc<dyn StorageFile> {
        Arc::clone(&self.cur)
    }

    /// Bytes of log on disk (segment headers included).
    pub fn disk_bytes(&self) -> u64 {
        let first = self.segments.first().map_or(self.end_lsn, |s| s.base_lsn);
        (self.end_lsn - first) + SEGMENT_HEADER as u64 * self.segments.len() as u64
    }

    /// Appends encoded frames whose first LSN is [`Wal::end_lsn`]. Frames never straddle
    /// segments: the roll happens before the append.
    pub fn append(&mut self, frames: &[u8]) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        if self.cur_len >= self.segment_bytes {
            self.roll()?;
        }
        self.cur.write_at(frames, self.cur_len)?;
        self.cur_len += frames.len() as u64;
        self.end_lsn += frames.len() as u64;
        Ok(())
    }

    /// Starts a new segment at the current end. With durable rolls the old segment and the
    /// directory are fsynced now; otherwise (mode OFF) they are remembered and fsynced by
    /// the next `sync`. Either way a completed `sync` means the whole log is durable.
    fn roll(&mut self) -> Result<()> {
        if self.durable_rolls {
            self.cur.sync()?;
        }
        let number = self.segments.last().map_or(1, |s| s.number + 1);
        let f = Self::new_segment_file(&*self.fs, self.db_id, number, self.end_lsn)?;
        if self.durable_rolls {
            self.fs.sync_dir()?;
        } else {
            self.unsynced_segments.push(Arc::clone(&self.cur));
            self.dir_unsynced = true;
        }
        self.segments.push(Segment {
            number,
            base_lsn: self.end_lsn,
        });
        self.cur = f;
        self.cur_len = SEGMENT_HEADER as u64;
        Ok(())
    }

    /// Makes everything appended so far durable: segments rolled away from without an
    /// fsync, then the directory (their successors' names), then the current segment.
    pub fn sync(&mut self) -> Result<()> {
        if self.synced_lsn() >= self.end_lsn
            && self.unsynced_segments.is_empty()
            && !self.dir_unsynced
        {
            return Ok(());
        }
        for f in &self.unsynced_segments {
            f.sync()?;
        }
        self.unsynced_segments.clear();
        if self.dir_unsynced {
            self.fs.sync_dir()?;
            self.dir_unsynced = false;
        }
        self.cur.sync()?;
        self.synced_lsn.fetch_max(self.end_lsn, Ordering::AcqRel);
        Ok(())
    }

    /// Starts a fresh segment at the end of the log and removes the older ones, when a
    /// checkpoint has made the whole log unnecessary (at close), so a closed database keeps
    /// no dead log. Durable: the new segment and the removals are fsynced.
    pub fn restart_at_end(&mut self) -> Result<()> {
        if self.cur_len == SEGMENT_HEADER as u64 {
            return Ok(());
        }
        let was = self.durable_rolls;
        self.durable_rolls = true;
        let r = self.roll();
        self.durable_rolls = was;
        r?;
        self.retire_before(self.end_lsn)?;
        self.fs.sync_dir()
    }

    /// Removes the segments whose frames all lie before `lsn` (a checkpoint made them
    /// unnecessary). The current segment is never removed.
    pub fn retire_before(&mut self, lsn: u64) -> Result<()> {
        while self.segments.len() > 1 && self.segments[1].base_lsn <= lsn {
            let s = self.segments.remove(0);
            self.fs.remove(&segment_name(s.number))?;
        }
        Ok(())
    }
}
