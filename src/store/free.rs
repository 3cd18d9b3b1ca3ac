//! Free space in the property heap: the extents no record on disk names any more.
//!
//! A checkpoint frees the blob a record it rewrites stopped naming (a property change, a
//! deleted record) and stores the whole list, as a blob of its own, in the heap; the meta
//! slot names that blob. The next checkpoint may place new blobs in those extents (see
//! ARCHITECTURE.md, "Space reuse", for why no reader, no meta slot and no replay can still
//! reach them by then).
//!
//! ```text
//! free-list blob: u32 body length | u32 CRC32 (as every heap blob) | body:
//!   [u8; 8] "QVFREE01" | u64 extent count | count x (u64 offset, u64 length)
//!   extents sorted by offset, none empty, none touching or overlapping another
//!
//! delta free-list blob: u32 body length | u32 CRC32 | body:
//!   [u8; 8] "QVFDEL01" | u64 base offset | u64 base length | u32 base CRC | u32 0 |
//!   u64 added count | u64 removed count | added extents | removed extents
//!   (each list as above; the list is the base's extents less removed, plus added)
//! ```
//!
//! A checkpoint that changes a long list a little writes a delta from the last full list
//! (its base) rather than the whole list again; see ARCHITECTURE.md, "Space reuse".

use std::collections::{BTreeMap, BTreeSet};

/// Magic at the start of a free-list blob's body.
const MAGIC: &[u8; 8] = b"QVFREE01";

/// Free extents, coalesced: no two overlap or touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreeSpace {
    /// Offset -> length.
    by_off: BTreeMap<u64, u64>,
    /// (length, offset), for the smallest extent that fits.
    by_len: BTreeSet<(u64, u64)>,
    /// Total free bytes.
    bytes: u64,
}

impl FreeSpace {
    /// Free bytes in all.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The extents, by offset.
    pub fn extents(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.by_off.iter().map(|(o, l)| (*o, *l))
    }

    fn remove_extent(&mut self, off: u64, len: u64) {
        self.by_off.remove(&off);
        self.by_len.remove(&(len, off));
        self.bytes -= len;
    }

    fn add_extent(&mut self, off: u64, len: u64) {
        self.by_off.insert(off, len);
        self.by_len.insert((len, off));
        self.bytes += len;
    }

    /// The list of `extents`: sorted by offset, none empty, none touching or overlapping
    /// another (the caller checks). Built in bulk, not extent by extent.
    fn from_sorted(extents: Vec<(u64, u64)>) -> FreeSpace {
        let bytes = extents.iter().map(|(_, l)| l).sum();
        let mut by_len: Vec<(u64, u64)> = extents.iter().map(|&(o, l)| (l, o)).collect();
        by_len.sort_unstable();
        FreeSpace {
            by_off: extents.into_iter().collect(),
            by_len: by_len.into_iter().collect(),
            bytes,
        }
    }

    /// The list of `extents` (sorted by offset, none empty, none touching or overlapping
    /// another, as a decoded list's).
    pub fn from_extents(extents: &[(u64, u64)]) -> FreeSpace {
        FreeSpace::from_sorted(extents.to_vec())
    }

    /// This list with `more` extents freed too, merged as [`FreeSpace::insert`] merges them
    /// (touching or overlapping extents become one), in one pass over both: a checkpoint
    /// frees up to one extent per record it rewrites.
    pub fn union(mut self, mut more: Vec<(u64, u64)>) -> FreeSpace {
        more.retain(|&(_, l)| l > 0);
        if more.len() * 8 < self.by_off.len() {
            // A few extents into a long list: inserted one by one rather than the list
            // rebuilt (a small checkpoint after a large delete would rebuild hundreds of
            // thousands of extents for a handful).
            for (o, l) in more {
                self.insert(o, l);
            }
            return self;
        }
        more.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(self.by_off.len() + more.len());
        let mut mine = self.by_off.into_iter().peekable();
        let mut theirs = more.into_iter().peekable();
        loop {
            let next = match (mine.peek(), theirs.peek()) {
                (Some(a), Some(b)) if a.0 <= b.0 => mine.next(),
                (Some(_), Some(_)) | (None, Some(_)) => theirs.next(),
                (Some(_), None) => mine.next(),
                (None, None) => break,
            };
            let Some((o, l)) = next else { break };
            match out.last_mut() {
                Some((po, pl)) if *po + *pl >= o => *pl = (*pl).max(o + l - *po),
                _ => out.push((o, l)),
            }
        }
        FreeSpace::from_sorted(out)
    }

    /// Marks `[off, off + len)` free, merged with the extents it touches or overlaps (a
    /// byte already free stays free once: after a recovery the list may name an extent
    /// that is also freed again). The engine frees through [`FreeSpace::union`], which
    /// uses this for a few extents; the tests and the fuzz target hold the bulk merge
    /// against it.
    pub fn insert(&mut self, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        let (mut start, mut end) = (off, off + len);
        // The extent starting at or before `start` that reaches it.
        if let Some((&o, &l)) = self.by_off.range(..=start).next_back() {
            if o + l >= start {
                start = o;
                end = end.max(o + l);
                self.remove_extent(o, l);
            }
        }
        // Extents starting inside or right at the end of [start, end].
        while let Some((&o, &l)) = self.by_off.range(start..=end).next() {
            end = end.max(o + l);
            self.remove_extent(o, l);
        }
        self.add_extent(start, end - start);
    }

    /// Marks `[off, off + len)` in use: the parts of free extents inside it are removed.
    pub fn remove(&mut self, off: u64, len: u64) {
        // An empty range holds no byte; splitting the extent around `off` would leave two
        // touching extents.
        if len == 0 {
            return;
        }
        let end = off.saturating_add(len);
        let first = match self.by_off.range(..=off).next_back() {
            Some((&o, &l)) if o + l > off => o,
            _ => off,
        };
        let hit: Vec<(u64, u64)> = self
            .by_off
            .range(first..end)
            .map(|(o, l)| (*o, *l))
            .collect();
        for (o, l) in hit {
            self.remove_extent(o, l);
            if o < off {
                self.add_extent(o, off - o);
            }
            if o + l > end {
                self.add_extent(end, o + l - end);
            }
        }
    }

    /// Takes `len` bytes (not 0) from the smallest extent that holds them (its end, so
    /// that what is left keeps its offset); None when none does.
    pub fn take(&mut self, len: u64) -> Option<u64> {
        if len == 0 {
            return None;
        }
        let &(l, o) = self.by_len.range((len, 0)..).next()?;
        self.by_len.remove(&(l, o));
        self.bytes -= len;
        if l > len {
            self.by_len.insert((l - len, o));
            if let Some(left) = self.by_off.get_mut(&o) {
                *left = l - len;
            }
        } else {
            self.by_off.remove(&o);
        }
        Some(o + l - len)
    }

    /// Whether any byte of `[off, off + len)` is free (never, for an empty range).
    pub fn overlaps(&self, off: u64, len: u64) -> bool {
        if len == 0 {
            return false;
        }
        let end = off + len;
        if let Some((&o, &l)) = self.by_off.range(..=off).next_back() {
            if o + l > off {
                return true;
            }
        }
        self.by_off.range(off..end).next().is_some()
    }

    /// The body of the free-list blob.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + 16 * self.by_off.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(self.by_off.len() as u64).to_le_bytes());
        put_extents(&mut b, self.extents());
        b
    }

    /// Decodes a free-list blob body. Every extent must lie in `[lo, hi)`.
    #[cfg(any(test, feature = "testing"))]
    pub fn decode_body(b: &[u8], lo: u64, hi: u64) -> Result<FreeSpace, String> {
        Self::decode_extents(b, lo, hi).map(FreeSpace::from_sorted)
    }

    /// The extents of a free-list blob body, as [`FreeSpace::decode_body`] checks them.
    pub fn decode_extents(b: &[u8], lo: u64, hi: u64) -> Result<Vec<(u64, u64)>, String> {
        if b.get(..8) != Some(MAGIC.as_slice()) {
            return Err("not a free list (bad magic)".into());
        }
        let n = word(b, 8).ok_or("free list truncated")?;
        let want = n
            .checked_mul(16)
            .and_then(|x| x.checked_add(16))
            .ok_or("free list count out of range")?;
        if want != b.len() as u64 {
            return Err(format!(
                "free list of {n} extents in {} bytes (needs {want})",
                b.len()
            ));
        }
        read_extents(b, 16, n, lo, hi)
    }
}

/// Appends `extents` as (u64 offset, u64 length), little-endian, the way both list blobs
/// store them.
fn put_extents(b: &mut Vec<u8>, extents: impl Iterator<Item = (u64, u64)>) {
    for (o, l) in extents {
        b.extend_from_slice(&o.to_le_bytes());
        b.extend_from_slice(&l.to_le_bytes());
    }
}

/// The little-endian u64 at byte `i` of `b`, if `b` holds it.
fn word(b: &[u8], i: usize) -> Option<u64> {
    let w = b.get(i..i.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(w);
    Some(u64::from_le_bytes(a))
}

/// The `n` extents (u64 offset, u64 length) from byte `at` of `b`, which holds them (the
/// caller checked the length): each non-empty, after the one before without touching it,
/// inside `[lo, hi)`.
fn read_extents(b: &[u8], at: usize, n: u64, lo: u64, hi: u64) -> Result<Vec<(u64, u64)>, String> {
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut prev_end = lo;
    for i in 0..n as usize {
        let p = at + 16 * i;
        let (o, l) = (word(b, p).unwrap_or(0), word(b, p + 8).unwrap_or(0));
        let end = o.checked_add(l).ok_or("free extent out of range")?;
        if l == 0 || o < prev_end || (i > 0 && o == prev_end) || end > hi {
            return Err(format!(
                "free extent {o}+{l} is empty, out of order, touches the one before it or \
                 lies outside {lo}..{hi}"
            ));
        }
        out.push((o, l));
        prev_end = end;
    }
    Ok(out)
}

/// Magic at the start of a delta free-list blob's body.
const DELTA_MAGIC: &[u8; 8] = b"QVFDEL01";

/// A full free-list blob in the heap, as a delta names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRef {
    /// Heap offset of the blob.
    pub off: u64,
    /// Its length, header included.
    pub len: u64,
    /// The CRC32 in its header.
    pub crc: u32,
}

/// A free list written as the change from a full one (its base): the list is the base's
/// extents less `removed`, plus `added`. `removed` lies inside the base's extents and
/// `added` outside them, so for a given base and list there is exactly one delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The full list this one changes.
    pub base: BlobRef,
    /// Free now, not in the base.
    pub added: Vec<(u64, u64)>,
    /// In the base, not free now.
    pub removed: Vec<(u64, u64)>,
}

/// The bytes of `a` that are not in `b`, as extents (both sorted by offset, none touching
/// or overlapping another in the same list); the result is sorted and coalesced too.
pub fn minus(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(o, l) in a {
        while j < b.len() && b[j].0 + b[j].1 <= o {
            j += 1;
        }
        carve(&mut out, (o, l), b, j);
    }
    out
}

/// The bytes of `a` that are not in `b` (both sorted, coalesced), when `a` is short beside
/// `b`: each extent of `a` finds its place in `b` by binary search, so the cost grows with
/// `a` and the overlaps, not with `b`. The same result as [`minus`].
pub fn minus_sparse(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(o, l) in a {
        let k = b.partition_point(|&(bo, bl)| bo + bl <= o);
        carve(&mut out, (o, l), b, k);
    }
    out
}

/// Pushes onto `out` the bytes of extent `(o, l)` that are not in `b` (sorted, coalesced),
/// in order; `b[k]` is the first extent of `b` that ends after `o` (the loop of [`minus`]
/// and [`minus_sparse`], which find `k` each their own way).
fn carve(out: &mut Vec<(u64, u64)>, (o, l): (u64, u64), b: &[(u64, u64)], mut k: usize) {
    let (mut start, end) = (o, o + l);
    while start < end {
        match b.get(k) {
            Some(&(bo, bl)) if bo < end => {
                if bo > start {
                    out.push((start, bo - start));
                }
                start = start.max(bo + bl);
                k += 1;
            }
            _ => {
                out.push((start, end - start));
                start = end;
            }
        }
    }
}

/// The bytes of `a` that are also in `b` (both sorted, coalesced), by binary search into
/// `b` as [`minus_sparse`].
fn intersect_sparse(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(o, l) in a {
        let end = o + l;
        let mut k = b.partition_point(|&(bo, bl)| bo + bl <= o);
        while let Some(&(bo, bl)) = b.get(k).filter(|&&(bo, _)| bo < end) {
            let (from, to) = (o.max(bo), end.min(bo + bl));
            out.push((from, to - from));
            k += 1;
        }
    }
    out
}

/// `extents` sorted, with those that touch or overlap merged.
fn coalesce(mut extents: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    extents.retain(|&(_, l)| l > 0);
    extents.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(extents.len());
    for (o, l) in extents {
        match out.last_mut() {
            Some((po, pl)) if *po + *pl >= o => *pl = (*pl).max(o + l - *po),
            _ => out.push((o, l)),
        }
    }
    out
}

/// Extents by offset: (offset, length).
pub type Extents = Vec<(u64, u64)>;

impl Delta {
    /// The delta from the same base after a checkpoint: the list was `base` less `removed`
    /// plus `added` (the last delta's), the checkpoint took the extents `taken` from it
    /// and freed `freed` (which may overlap the list). The cost grows with the delta and
    /// what the checkpoint changed, not with the base: each checkpoint of a small
    /// transaction stream after a large delete would otherwise walk a base of a million
    /// extents twice ([`Delta::between`]). With L the list before, T taken, F freed:
    /// added' = (L - T + F) - base = (added - T) + (F - base), and
    /// removed' = base - (L - T + F) = (removed + (base & T)) - F.
    pub fn advance(
        base_ref: BlobRef,
        base: &[(u64, u64)],
        (added, removed): &(Extents, Extents),
        taken: &[(u64, u64)],
        freed: &[(u64, u64)],
    ) -> Delta {
        let taken = coalesce(taken.to_vec());
        let freed = coalesce(freed.to_vec());
        let mut a = minus(added, &taken);
        a.extend(minus_sparse(&freed, base));
        let mut r = removed.to_vec();
        r.extend(intersect_sparse(&taken, base));
        Delta {
            base: base_ref,
            added: coalesce(a),
            removed: minus(&coalesce(r), &freed),
        }
    }

    /// The delta that turns `base` (the extents of the full list at `base_ref`) into `list`.
    pub fn between(base_ref: BlobRef, base: &[(u64, u64)], list: &FreeSpace) -> Delta {
        let now: Vec<(u64, u64)> = list.extents().collect();
        Delta {
            base: base_ref,
            added: minus(&now, base),
            removed: minus(base, &now),
        }
    }

    /// Extents it records (what its size grows with).
    pub fn extent_count(&self) -> usize {
        self.added.len() + self.removed.len()
    }

    /// The list it gives applied to `base` (the extents of the full list it names); Err
    /// when it does not fit that base (a removed byte not in it, an added byte in it).
    pub fn apply(&self, base: &[(u64, u64)]) -> Result<FreeSpace, String> {
        if !minus(&self.removed, base).is_empty() || minus(&self.added, base) != self.added {
            return Err("the delta does not fit its base list".into());
        }
        Ok(FreeSpace::from_sorted(minus(base, &self.removed)).union(self.added.clone()))
    }

    /// The body of the delta blob.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(48 + 16 * self.extent_count());
        b.extend_from_slice(DELTA_MAGIC);
        b.extend_from_slice(&self.base.off.to_le_bytes());
        b.extend_from_slice(&self.base.len.to_le_bytes());
        b.extend_from_slice(&self.base.crc.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(self.added.len() as u64).to_le_bytes());
        b.extend_from_slice(&(self.removed.len() as u64).to_le_bytes());
        put_extents(&mut b, self.added.iter().chain(&self.removed).copied());
        b
    }

    /// Decodes a delta blob body. Every extent must lie in `[lo, hi)`, each list sorted,
    /// none empty or touching another of its list.
    pub fn decode_body(b: &[u8], lo: u64, hi: u64) -> Result<Delta, String> {
        if b.get(..8) != Some(DELTA_MAGIC.as_slice()) {
            return Err("not a delta free list (bad magic)".into());
        }
        let (Some(off), Some(len), Some(crc_pad), Some(na), Some(nr)) = (
            word(b, 8),
            word(b, 16),
            word(b, 24),
            word(b, 32),
            word(b, 40),
        ) else {
            return Err("delta free list truncated".into());
        };
        if crc_pad >> 32 != 0 {
            return Err("delta free list: reserved bytes are not zero".into());
        }
        let want = na
            .checked_add(nr)
            .and_then(|n| n.checked_mul(16))
            .and_then(|x| x.checked_add(48))
            .ok_or("delta free list count out of range")?;
        if want != b.len() as u64 {
            return Err(format!(
                "delta free list of {na} + {nr} extents in {} bytes (needs {want})",
                b.len()
            ));
        }
        let list = |first: u64, n: u64| read_extents(b, 48 + 16 * first as usize, n, lo, hi);
        Ok(Delta {
            base: BlobRef {
                off,
                len,
                crc: crc_pad as u32,
            },
            added: list(0, na)?,
            removed: list(na, nr)?,
        })
    }

    /// Whether `body` is a delta blob's body (by its magic).
    pub fn is_delta(body: &[u8]) -> bool {
        body.get(..8) == Some(DELTA_MAGIC.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(f: &FreeSpace) -> Vec<(u64, u64)> {
        f.extents().collect()
    }

    #[test]
    fn union_merges_like_insert() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for _ in 0..200 {
            let mut base = FreeSpace::default();
            for _ in 0..next(20) {
                base.insert(next(1000), next(40));
            }
            let more: Vec<(u64, u64)> = (0..next(30)).map(|_| (next(1000), next(40))).collect();
            let mut want = base.clone();
            for &(o, l) in &more {
                want.insert(o, l);
            }
            let got = base.union(more);
            assert_eq!(got, want);
            assert_eq!(got.bytes(), want.extents().map(|(_, l)| l).sum::<u64>());
        }
    }

    #[test]
    fn a_delta_round_trips_and_rebuilds_the_list_from_its_base() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let base_ref = BlobRef {
            off: 5000,
            len: 96,
            crc: 0xdead_beef,
        };
        for _ in 0..300 {
            let mut base = FreeSpace::default();
            for _ in 0..next(30) {
                base.insert(16 + next(2000), 1 + next(60));
            }
            // The list later: some of the base taken, some more freed.
            let mut list = base.clone();
            for _ in 0..next(10) {
                list.remove(16 + next(2000), 1 + next(80));
            }
            for _ in 0..next(10) {
                list.insert(16 + next(2000), 1 + next(60));
            }
            let base_ext = ext(&base);
            let d = Delta::between(base_ref, &base_ext, &list);
            let body = d.encode_body();
            let back = Delta::decode_body(&body, 16, 3000).unwrap();
            assert_eq!(back, d);
            assert_eq!(back.apply(&base_ext).unwrap(), list);
            // Only the extents that changed are recorded.
            assert!(d.extent_count() <= ext(&list).len() + base_ext.len());
            if list == base {
                assert_eq!(d.extent_count(), 0);
            }
            // Cut or grown, the body is refused.
            assert!(Delta::decode_body(&body[..body.len() - 1], 16, 3000).is_err());
            let mut longer = body.clone();
            longer.extend_from_slice(&[0; 16]);
            assert!(Delta::decode_body(&longer, 16, 3000).is_err());
            // Against another base it does not fit (unless nothing was removed or added).
            if d.extent_count() > 0 {
                let mut other = base.clone();
                for &(o, l) in &d.added {
                    other.insert(o, l);
                }
                for &(o, l) in &d.removed {
                    other.remove(o, l);
                }
                assert!(d.apply(&ext(&other)).is_err(), "{d:?} applied to {other:?}");
            }
        }
        // A full list's body is not a delta, nor the other way round.
        let f = FreeSpace::from_extents(&[(16, 8)]);
        assert!(!Delta::is_delta(&f.encode_body()));
        assert!(Delta::decode_body(&f.encode_body(), 16, 100).is_err());
        let d = Delta::between(base_ref, &[], &f);
        assert!(FreeSpace::decode_body(&d.encode_body(), 16, 100).is_err());
        // Out of the heap's range.
        assert!(Delta::decode_body(&d.encode_body(), 16, 20).is_err());
    }

    #[test]
    fn advance_equals_the_delta_worked_out_from_the_whole_list() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let blob = BlobRef {
            off: 1,
            len: 2,
            crc: 3,
        };
        for round in 0..400 {
            let mut list = FreeSpace::default();
            for _ in 0..rnd(40) {
                list.insert(rnd(10_000), 1 + rnd(300));
            }
            let base: Vec<(u64, u64)> = list.extents().collect();
            // The list since the base: some bytes used, some freed.
            for _ in 0..rnd(10) {
                list.remove(rnd(10_000), 1 + rnd(200));
            }
            for _ in 0..rnd(10) {
                list.insert(rnd(12_000), 1 + rnd(200));
            }
            let prev = Delta::between(blob, &base, &list);
            // A checkpoint: takes by best fit, then frees (some overlapping the list).
            let mut taken = Vec::new();
            for _ in 0..rnd(12) {
                let n = 1 + rnd(150);
                if let Some(off) = list.take(n) {
                    taken.push((off, n));
                }
            }
            let freed: Vec<(u64, u64)> = (0..rnd(12)).map(|_| (rnd(12_000), rnd(200))).collect();
            let next = list.union(freed.clone());
            let want = Delta::between(blob, &base, &next);
            let diff = (prev.added.clone(), prev.removed.clone());
            let got = Delta::advance(blob, &base, &diff, &taken, &freed);
            assert_eq!(got, want, "round {round}");
            assert_eq!(want.apply(&base).unwrap(), next, "round {round}");
        }
    }

    #[test]
    fn minus_sparse_equals_minus() {
        let a = [(0, 10), (20, 5), (30, 40), (100, 1)];
        let b = [(5, 3), (9, 12), (35, 2), (60, 45), (200, 9)];
        assert_eq!(minus_sparse(&a, &b), minus(&a, &b));
        assert_eq!(minus_sparse(&b, &a), minus(&b, &a));
        assert_eq!(
            intersect_sparse(&a, &b),
            vec![(5, 3), (9, 1), (20, 1), (35, 2), (60, 10), (100, 1)]
        );
    }

    #[test]
    fn minus_takes_out_the_bytes_of_the_second_list() {
        assert_eq!(
            minus(&[(0, 10), (20, 10)], &[(2, 3), (8, 14), (29, 5)]),
            [(0, 2), (5, 3), (22, 7)]
        );
        assert_eq!(minus(&[(0, 10)], &[]), [(0, 10)]);
        assert_eq!(minus(&[], &[(0, 10)]), []);
        assert_eq!(minus(&[(5, 5)], &[(0, 20)]), []);
    }

    #[test]
    fn insert_coalesces_and_tolerates_overlap() {
        let mut f = FreeSpace::default();
        f.insert(100, 10);
        f.insert(120, 10);
        assert_eq!(ext(&f), [(100, 10), (120, 10)]);
        f.insert(110, 10); // touches both
        assert_eq!(ext(&f), [(100, 30)]);
        f.insert(105, 50); // overlaps and extends
        assert_eq!(ext(&f), [(100, 55)]);
        f.insert(90, 5);
        f.insert(95, 5); // touches on both sides
        assert_eq!(ext(&f), [(90, 65)]);
        assert_eq!(f.bytes(), 65);
        f.insert(200, 0);
        assert_eq!(ext(&f), [(90, 65)]);
    }

    #[test]
    fn take_uses_the_end_of_the_smallest_fit() {
        let mut f = FreeSpace::default();
        f.insert(1000, 100);
        f.insert(16, 40);
        f.insert(500, 24);
        assert_eq!(f.take(30), Some(26)); // 40 is the smallest that holds 30: its end
        assert_eq!(ext(&f), [(16, 10), (500, 24), (1000, 100)]);
        assert_eq!(f.take(24), Some(500));
        assert_eq!(f.take(101), None);
        assert_eq!(f.take(0), None);
        assert_eq!(f.take(100), Some(1000));
        assert_eq!(ext(&f), [(16, 10)]);
        assert_eq!(f.bytes(), 10);
        assert_eq!(f.take(4), Some(22));
        assert_eq!(ext(&f), [(16, 6)]);
    }

    #[test]
    fn remove_carves_out_of_extents() {
        let mut f = FreeSpace::default();
        f.insert(100, 100);
        f.insert(300, 10);
        f.remove(120, 10);
        assert_eq!(ext(&f), [(100, 20), (130, 70), (300, 10)]);
        f.remove(90, 15); // the start of an extent
        assert_eq!(ext(&f), [(105, 15), (130, 70), (300, 10)]);
        f.remove(190, 200); // the end of one and all of another
        assert_eq!(ext(&f), [(105, 15), (130, 60)]);
        f.remove(0, 50); // nothing there
        assert_eq!(f.bytes(), 75);
        f.remove(140, 0); // an empty range inside an extent: no split
        assert_eq!(ext(&f), [(105, 15), (130, 60)]);
    }

    #[test]
    fn overlaps_sees_any_shared_byte() {
        let mut f = FreeSpace::default();
        f.insert(100, 10);
        assert!(f.overlaps(100, 1));
        assert!(f.overlaps(109, 5));
        assert!(f.overlaps(90, 11));
        assert!(!f.overlaps(90, 10));
        assert!(!f.overlaps(110, 5));
        assert!(!f.overlaps(105, 0), "an empty range holds no free byte");
    }

    #[test]
    fn round_trip_and_refusals() {
        let mut f = FreeSpace::default();
        f.insert(16, 8);
        f.insert(64, 100);
        let b = f.encode_body();
        assert_eq!(FreeSpace::decode_body(&b, 16, 1000), Ok(f.clone()));
        assert!(FreeSpace::decode_body(&b, 16, 100).is_err(), "past hi");
        assert!(FreeSpace::decode_body(&b, 20, 1000).is_err(), "before lo");
        assert!(FreeSpace::decode_body(&b[..b.len() - 1], 16, 1000).is_err());
        let mut bad = b.clone();
        bad[0] = b'X';
        assert!(FreeSpace::decode_body(&bad, 16, 1000).is_err());
        // Touching extents are not coalesced: refused.
        let mut touching = b.clone();
        touching[32..40].copy_from_slice(&24u64.to_le_bytes());
        assert!(FreeSpace::decode_body(&touching, 16, 1000).is_err());
        let empty = FreeSpace::default().encode_body();
        assert_eq!(
            FreeSpace::decode_body(&empty, 16, 16),
            Ok(FreeSpace::default())
        );
    }
}
