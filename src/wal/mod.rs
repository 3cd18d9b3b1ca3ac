//! Layer 2: the write-ahead log. Appends encoded frames to numbered segment files, rolls
//! to a new segment past `segment_bytes`, syncs, retires segments a checkpoint has made
//! unnecessary, and reads the log back frame by frame for recovery.

mod reader;

pub use reader::{LogScan, scan_log};

use crate::error::{Error, Result};
use crate::format::Frame;
use crate::format::frame::{SEGMENT_END_LEN, SEGMENT_HEADER, SegmentHeader};
pub use crate::format::frame::{parse_segment_name, segment_name};
use crate::io::{Storage, StorageFile};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A segment is extended with zeros this many bytes at a time, ahead of the frames
/// written into it: a commit's fsync then finds the blocks allocated and the file's size
/// unchanged, so it writes the frames and flushes the device without writing the inode
/// (on the benchmark machine, 340-byte commits fsynced 9,000 times a second into
/// preallocated space, 6,200 appending). Recovery reads zeros after the last frame as the
/// log's end, not as a torn tail.
pub const PREALLOC: u64 = 256 << 10;

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
    /// Length of `cur` on disk (None: not looked at since recovery); the bytes from
    /// `cur_len` to it are zeros (see [`PREALLOC`]).
    allocated: Option<u64>,
    /// LSN of the next frame.
    end_lsn: u64,
    /// Everything before this LSN is durable. Shared with the group commit, whose fsyncs
    /// (outside the writer lock) advance it too.
    synced_lsn: Arc<AtomicU64>,
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
            allocated: Some(SEGMENT_HEADER as u64),
            end_lsn: base_lsn,
            synced_lsn: Arc::new(AtomicU64::new(base_lsn)),
        })
    }

    /// Continues an existing log whose valid end recovery found at `end_lsn`, in the last
    /// of `segments`, open as `cur`.
    pub(crate) fn resume(
        fs: Arc<dyn Storage>,
        db_id: u64,
        segments: Vec<Segment>,
        cur: Arc<dyn StorageFile>,
        end_lsn: u64,
        segment_bytes: u64,
    ) -> Result<Wal> {
        let last = segments
            .last()
            .cloned()
            .ok_or_else(|| Error::Internal("no segment".into()))?;
        Ok(Wal {
            fs,
            db_id,
            segment_bytes,
            segments,
            cur,
            cur_len: SEGMENT_HEADER as u64 + (end_lsn - last.base_lsn),
            allocated: None,
            end_lsn,
            synced_lsn: Arc::new(AtomicU64::new(end_lsn)),
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

    /// The segment the next frame goes to; fsyncing it (every earlier segment was made
    /// durable by the roll that ended it) makes the log durable up to
    /// the [`Wal::end_lsn`] read together with it.
    pub fn current_file(&self) -> Arc<dyn StorageFile> {
        Arc::clone(&self.cur)
    }

    /// Bytes of log on disk (segment headers included).
    pub fn disk_bytes(&self) -> u64 {
        let first = self.segments.first().map_or(self.end_lsn, |s| s.base_lsn);
        let n = self.segments.len() as u64;
        (self.end_lsn - first)
            + SEGMENT_HEADER as u64 * n
            + SEGMENT_END_LEN as u64 * n.saturating_sub(1)
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
        self.preallocate()
    }

    /// Extends the current segment with zeros to the next multiple of [`PREALLOC`] past
    /// the frames when they reach its end. The zeros reach the disk with the next fsync of
    /// the segment, the one that pays for the new size; a crash before it leaves the frames
    /// as torn or intact as without them.
    fn preallocate(&mut self) -> Result<()> {
        // Resumed after recovery: what lies past the log's end is zeros or nothing.
        let allocated = match self.allocated {
            Some(a) => a,
            None => self.cur.len()?,
        };
        self.allocated = Some(allocated);
        if self.cur_len <= allocated {
            return Ok(());
        }
        let to = (self.cur_len / PREALLOC + 1) * PREALLOC;
        let zeros = vec![0u8; (to - self.cur_len) as usize];
        self.cur.write_at(&zeros, self.cur_len)?;
        self.allocated = Some(to);
        Ok(())
    }

    /// Ends the current segment and continues the log in a new one. The order makes a
    /// non-last segment always complete and durable, and its successor impossible to lose
    /// unnoticed:
    /// 1. **fsync** the current segment, so every frame in it is durable before anything
    ///    can vouch for it;
    /// 2. create the successor (header, **fsync**) and **fsync** the directory;
    /// 3. append a [`Frame::SegmentEnd`] naming it to the current segment and **fsync** it.
    ///
    /// The marker takes file bytes but no log positions: it carries the LSN the successor
    /// starts at, so frames a transaction encoded before the roll keep their LSNs.
    ///
    /// A crash before 3 completes leaves at most a successor holding only its header and a
    /// segment without an intact end marker, which recovery reads as a roll that did not
    /// finish. An intact marker means every frame before it was durable (step 1).
    fn roll(&mut self) -> Result<()> {
        self.cur.sync()?;
        let number = self.segments.last().map_or(1, |s| s.number + 1);
        let base_lsn = self.end_lsn;
        let f = Self::new_segment_file(&*self.fs, self.db_id, number, base_lsn)?;
        self.fs.sync_dir()?;
        let mut marker = Vec::with_capacity(SEGMENT_END_LEN);
        Frame::SegmentEnd { next: number }.encode(base_lsn, 0, &mut marker);
        self.cur.write_at(&marker, self.cur_len)?;
        self.cur.sync()?;
        self.synced_lsn.fetch_max(base_lsn, Ordering::AcqRel);
        self.segments.push(Segment { number, base_lsn });
        self.cur = f;
        self.cur_len = SEGMENT_HEADER as u64;
        self.allocated = Some(SEGMENT_HEADER as u64);
        Ok(())
    }

    /// Makes everything appended so far durable (earlier segments already are).
    pub fn sync(&mut self) -> Result<()> {
        if self.synced_lsn() >= self.end_lsn {
            return Ok(());
        }
        self.cur.sync()?;
        self.synced_lsn.fetch_max(self.end_lsn, Ordering::AcqRel);
        Ok(())
    }

    /// Whether the log holds no frame: one segment, holding only its header.
    pub fn holds_nothing(&self) -> bool {
        self.segments.len() == 1 && self.cur_len == SEGMENT_HEADER as u64
    }

    /// Starts a fresh segment at the end of the log and removes the older ones, when a
    /// checkpoint has made the whole log unnecessary (at close), so a closed database keeps
    /// no dead log. No end marker is written: the new segment starts at the checkpoint
    /// LSN, so recovery starts in it and the older segments are stale whether or not their
    /// removal reached the disk. Durable: the new segment and the removals are fsynced.
    pub fn restart_at_end(&mut self) -> Result<()> {
        if self.cur_len == SEGMENT_HEADER as u64 {
            return Ok(());
        }
        let number = self.segments.last().map_or(1, |s| s.number + 1);
        let f = Self::new_segment_file(&*self.fs, self.db_id, number, self.end_lsn)?;
        self.fs.sync_dir()?;
        self.segments.push(Segment {
            number,
            base_lsn: self.end_lsn,
        });
        self.cur = f;
        self.cur_len = SEGMENT_HEADER as u64;
        self.allocated = Some(SEGMENT_HEADER as u64);
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
