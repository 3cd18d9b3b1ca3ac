//! `Delta::decode_body(body, lo, hi)`: the body of a delta free-list blob (a list written as
//! the change from the last list written whole). Input: 8-byte LE `lo`, 8-byte LE `hi`, the
//! body (48 + 16 x (added + removed) bytes, its counts read from the input when it holds
//! them), then base extents, each a 2-byte LE offset and a 1-byte length from `lo` on.
//!
//! Checks: never panics; a body is accepted only at its exact length; an accepted delta
//! encodes back to exactly the body, its two lists are sorted, non-empty, non-touching and
//! inside `[lo, hi)`. Applied to the base the rest of the input builds, it either is
//! refused (a removed byte outside the base, an added byte inside it) or gives a list such
//! that the delta between the base and that list is this delta again (a delta is the only
//! one for its base and list), its extents are the base's less the removed plus the added,
//! and the list encodes and decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::free::{Delta, FreeSpace, minus};
use quiver_fuzz::check_round_trip;

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Sorted, coalesced: none touches or overlaps another.
fn check_sorted(list: &[(u64, u64)], lo: u64, hi: u64, what: &str) {
    for w in list.windows(2) {
        assert!(w[0].0 + w[0].1 < w[1].0, "{what}: {list:?} not sorted and apart");
    }
    assert!(
        list.iter().all(|&(o, l)| l > 0 && lo <= o && o + l <= hi),
        "{what}: {list:?} outside {lo}..{hi} or empty"
    );
}

fuzz_target!(|data: &[u8]| {
    let (Some(lo), Some(hi)) = (u64_at(data, 0), u64_at(data, 8)) else {
        return;
    };
    let rest = &data[16..];
    let want = u64_at(rest, 32)
        .zip(u64_at(rest, 40))
        .and_then(|(a, r)| a.checked_add(r)?.checked_mul(16)?.checked_add(48))
        .and_then(|w| usize::try_from(w).ok())
        .filter(|&w| w <= rest.len())
        .unwrap_or(rest.len());
    let (body, tail) = rest.split_at(want);
    let decode = |b: &[u8]| Delta::decode_body(b, lo, hi);
    if !tail.is_empty() {
        assert!(decode(rest).is_err(), "accepted a body followed by {} bytes", tail.len());
    }
    let Ok(d) = decode(body) else {
        return;
    };
    check_round_trip(&d, &d.encode_body(), body, body.len(), decode);
    assert!(Delta::is_delta(body));
    check_sorted(&d.added, lo, hi, "added");
    check_sorted(&d.removed, lo, hi, "removed");

    // A base from the tail: extents at lo + offset, merged where they touch.
    let mut base = FreeSpace::default();
    for c in tail.chunks_exact(3) {
        let off = lo.saturating_add(u64::from(u16::from_le_bytes([c[0], c[1]])));
        let len = u64::from(c[2]).min(u64::MAX - off);
        base.insert(off, len);
    }
    let base: Vec<(u64, u64)> = base.extents().collect();
    let Ok(list) = d.apply(&base) else {
        assert!(
            !minus(&d.removed, &base).is_empty() || minus(&d.added, &base) != d.added,
            "refused a delta that fits the base {base:?}"
        );
        return;
    };
    assert_eq!(
        Delta::between(d.base, &base, &list),
        d,
        "the delta between {base:?} and {list:?}"
    );
    let mut want = FreeSpace::from_extents(&minus(&base, &d.removed));
    for &(o, l) in &d.added {
        want.insert(o, l);
    }
    assert_eq!(list, want, "applied to {base:?}");
    assert_eq!(
        FreeSpace::decode_body(&list.encode_body(), 0, u64::MAX).as_ref(),
        Ok(&list),
        "the list's encoding does not decode to it"
    );
});
