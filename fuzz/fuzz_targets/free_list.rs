//! `FreeSpace::decode_body` (the body of the property heap's free-list blob) on arbitrary
//! bytes, then edits of the list it accepted.
//!
//! Input: `lo` and `hi` (u64 little-endian each: the heap range every extent must lie in),
//! then the body: as many bytes as its count field asks for (16 + 16 x count), or all the
//! rest when there are fewer; then up to 100 operations on the decoded list, each an opcode
//! byte `k` and its arguments. `k % 4` is insert, remove, take or overlaps (an insert through
//! `union`, the checkpoint's bulk path, when `k & 16`); with `k & 8`
//! the arguments are a raw u64 offset and u64 length; else they are an extent selector
//! byte `s` (extent `s % count`), a signed delta byte `d` and a u16 length, and the offset
//! is the selected extent's start (its end when `k & 4`) plus `d`; `take` asks for that
//! extent's length plus `d` instead. Ranges are clamped so that `offset + length` fits a
//! u64 (the engine's heap offsets are far below that).
//!
//! Checks: never panics; a body is accepted only at its exact length; an accepted list
//! encodes back to exactly the body and decodes again to the same list, its extents are
//! sorted, non-empty, non-touching and inside `[lo, hi)`, and `bytes()` is their total.
//! After every operation the list equals a brute-force model of the free bytes (so it
//! stays coalesced) and `bytes()` is its total; `take(n)` gives the last `n` bytes of a
//! smallest extent that holds them (none when no extent does, or `n` is 0) and those bytes
//! are no longer free; `overlaps(off, len)` is true exactly when a byte of `[off, off + len)` is free.
//! After the last, the list still encodes to a body that decodes to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::free::FreeSpace;
use quiver_fuzz::check_round_trip;

/// Operations applied to one decoded list at most.
const MAX_OPS: usize = 100;

/// The free bytes as sorted, coalesced (offset, length) extents, edited the obvious way.
type Model = Vec<(u64, u64)>;

fn model_insert(m: &mut Model, off: u64, len: u64) {
    if len == 0 {
        return;
    }
    m.push((off, len));
    m.sort_unstable();
    let mut out: Model = Vec::with_capacity(m.len());
    for &(o, l) in m.iter() {
        match out.last_mut() {
            Some((po, pl)) if o <= *po + *pl => *pl = (*pl).max(o + l - *po),
            _ => out.push((o, l)),
        }
    }
    *m = out;
}

fn model_remove(m: &mut Model, off: u64, len: u64) {
    let end = off + len;
    let mut out = Model::new();
    for &(o, l) in m.iter() {
        if len == 0 || o + l <= off || end <= o {
            out.push((o, l));
            continue;
        }
        if o < off {
            out.push((o, off - o));
        }
        if o + l > end {
            out.push((end, o + l - end));
        }
    }
    *m = out;
}

fn model_overlaps(m: &Model, off: u64, len: u64) -> bool {
    len > 0 && m.iter().any(|&(o, l)| o < off + len && off < o + l)
}

/// Whether `[off, off + len)` is free in `m`, every byte of it.
fn model_holds(m: &Model, off: u64, len: u64) -> bool {
    m.iter().any(|&(o, l)| o <= off && off + len <= o + l)
}

/// The list equals the model, is coalesced and counts its bytes right.
fn check_list(f: &FreeSpace, m: &Model, what: &dyn Fn() -> String) {
    let ext: Model = f.extents().collect();
    for w in ext.windows(2) {
        let ((a, al), (b, _)) = (w[0], w[1]);
        assert!(
            a.checked_add(al).is_some_and(|end| end < b),
            "{}: extents {a}+{al} and {b} overlap, touch or are out of order: {ext:?}",
            what()
        );
    }
    assert!(
        ext.iter()
            .all(|&(o, l)| l > 0 && o.checked_add(l).is_some()),
        "{}: an empty or overflowing extent: {ext:?}",
        what()
    );
    let total: u64 = ext.iter().map(|&(_, l)| l).sum();
    assert_eq!(f.bytes(), total, "{}: bytes() against {ext:?}", what());
    assert_eq!(&ext, m, "{}: list against the model", what());
}

/// Reads `n` bytes from the front of `data`.
fn bytes<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fn u64_at(data: &mut &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes(data, 8)?.try_into().ok()?))
}

/// One operation read from the input.
#[derive(Debug, Clone, Copy)]
enum Op {
    Insert(u64, u64),
    /// Freeing through `union`, the checkpoint's bulk path, of one extent.
    Union(u64, u64),
    Remove(u64, u64),
    Take(u64),
    Overlaps(u64, u64),
}

fn read_op(data: &mut &[u8], m: &Model, lo: u64, hi: u64) -> Option<Op> {
    let k = bytes(data, 1)?[0];
    let (off, len, take) = if k & 8 != 0 {
        let (off, len) = (u64_at(data)?, u64_at(data)?);
        (off, len, len)
    } else {
        let a = bytes(data, 4)?;
        let (s, d) = (usize::from(a[0]), i64::from(a[1] as i8));
        let len = u64::from(u16::from_le_bytes([a[2], a[3]]));
        let (start, n) = match m.len() {
            0 => (lo, hi.saturating_sub(lo)),
            count => m[s % count],
        };
        let anchor = if k & 4 != 0 { start + n } else { start };
        (
            anchor.saturating_add_signed(d),
            len,
            n.saturating_add_signed(d),
        )
    };
    let len = len.min(u64::MAX - off);
    Some(match k % 4 {
        0 if k & 16 != 0 => Op::Union(off, len),
        0 => Op::Insert(off, len),
        1 => Op::Remove(off, len),
        2 => Op::Take(take),
        _ => Op::Overlaps(off, len),
    })
}

fn apply(f: &mut FreeSpace, m: &mut Model, op: Op, what: &dyn Fn() -> String) {
    match op {
        Op::Insert(off, len) => {
            f.insert(off, len);
            model_insert(m, off, len);
        }
        Op::Union(off, len) => {
            *f = std::mem::take(f).union(vec![(off, len)]);
            model_insert(m, off, len);
        }
        Op::Remove(off, len) => {
            f.remove(off, len);
            model_remove(m, off, len);
        }
        Op::Take(n) => {
            // Nothing is taken for no bytes.
            let fits = m
                .iter()
                .filter(|&&(_, l)| l >= n && n > 0)
                .map(|&(_, l)| l)
                .min();
            match (f.take(n), fits) {
                (None, None) => {}
                (Some(off), Some(smallest)) => {
                    assert!(
                        m.iter().any(|&(o, l)| o + l == off + n && l == smallest),
                        "{}: gave {off}, not the last {n} bytes of a smallest extent that \
                         holds them ({smallest})",
                        what()
                    );
                    assert!(model_holds(m, off, n), "{}: {off}+{n} was not free", what());
                    model_remove(m, off, n);
                    assert!(
                        !f.overlaps(off, n),
                        "{}: {off}+{n} is still free after take",
                        what()
                    );
                }
                (got, _) => panic!(
                    "{}: gave {got:?}; the smallest extent that holds {n} bytes is {fits:?}",
                    what()
                ),
            }
        }
        Op::Overlaps(off, len) => {
            assert_eq!(
                f.overlaps(off, len),
                model_overlaps(m, off, len),
                "{}: against the extents {m:?}",
                what()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (Some(lo), Some(hi)) = (u64_at(&mut rest), u64_at(&mut rest)) else {
        return;
    };
    // The body's own length (16 + 16 x count) when the input holds it, else all of it.
    let want = rest
        .get(8..16)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .and_then(|n| n.checked_mul(16)?.checked_add(16))
        .and_then(|w| usize::try_from(w).ok())
        .filter(|&w| w <= rest.len())
        .unwrap_or(rest.len());
    let (body, mut ops) = rest.split_at(want);
    let decode = |b: &[u8]| FreeSpace::decode_body(b, lo, hi);
    if !ops.is_empty() {
        assert!(
            decode(rest).is_err(),
            "accepted a body followed by {} more bytes",
            ops.len()
        );
    }
    let Ok(mut f) = decode(body) else {
        return;
    };
    check_round_trip(&f, &f.encode_body(), body, body.len(), decode);
    let mut m: Model = f.extents().collect();
    assert_eq!(
        m.len() as u64,
        u64::from_le_bytes(body[8..16].try_into().expect("8 bytes")),
        "extent count"
    );
    assert!(
        m.iter().all(|&(o, l)| lo <= o && o + l <= hi),
        "an extent outside {lo}..{hi}: {m:?}"
    );
    check_list(&f, &m, &|| "decoded".to_string());
    for i in 0..MAX_OPS {
        let before = m.clone();
        let Some(op) = read_op(&mut ops, &m, lo, hi) else {
            break;
        };
        let what = || format!("operation {i}, {op:?} on {before:?}");
        apply(&mut f, &mut m, op, &what);
        check_list(&f, &m, &what);
    }
    // What the edits left is a list a checkpoint could store (the extents may now lie
    // anywhere below 2^64).
    assert_eq!(
        FreeSpace::decode_body(&f.encode_body(), 0, u64::MAX).as_ref(),
        Ok(&f),
        "the edited list's encoding does not decode to it"
    );
});
