//! `PropBlob::parse` on arbitrary bytes, then `with` on what it accepted.
//!
//! Input: a blob (which `parse` may accept), then, after the blob's length, a key selector
//! (1 byte: < 0x80 picks the key of an existing entry, else 4 more bytes are a raw key) and
//! an encoded value (tag + payload, read by `ValueRef::decode`; Null if that fails).
//! Checks: `parse` never panics; an accepted blob has the length its header says, iterates
//! every entry (`len`, `is_empty`, `get` agree with `iter`), re-encodes to the same bytes
//! when its keys are distinct, and `with(key, Some(v))` / `with(key, None)` give blobs that
//! parse, hold `v` (or nothing) under `key` and keep every other key's value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::props::BLOB_HEADER;
use quiver::testing::format::{PropBlob, Reader, ValueRef};

/// Equality that treats floats by their bits (NaN equals itself, 0.0 differs from -0.0).
fn same(a: &ValueRef<'_>, b: &ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Float(x), ValueRef::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn first<'a>(entries: &[(u32, ValueRef<'a>)], key: u32) -> Option<ValueRef<'a>> {
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn check_with(entries: &[(u32, ValueRef<'_>)], key: u32, value: Option<ValueRef<'_>>, enc: &[u8]) {
    let (b, n) = PropBlob::parse(enc)
        .unwrap_or_else(|e| panic!("with({key}, {value:?}) made a blob parse rejects: {e}"));
    assert_eq!(n, enc.len(), "with({key}, {value:?}): length");
    let got: Vec<(u32, ValueRef<'_>)> = b.iter().collect();
    match (b.get(key), value) {
        (None, None) => {}
        (Some(g), Some(v)) if same(&g, &v) => {}
        (g, v) => panic!("with({key}, {v:?}): get gives {g:?}"),
    }
    let others: Vec<&(u32, ValueRef<'_>)> = entries.iter().filter(|(k, _)| *k != key).collect();
    assert_eq!(
        got.len(),
        others.len() + usize::from(value.is_some()),
        "with({key}, {value:?}): entries {got:?} from {entries:?}"
    );
    for (i, (k, v)) in others.iter().enumerate() {
        assert!(
            got[i].0 == *k && same(&got[i].1, v),
            "with({key}, {value:?}): entry {i} is {:?}, was ({k}, {v:?})",
            got[i]
        );
    }
    for (k, _) in entries {
        if *k != key {
            let (a, b2) = (first(entries, *k), b.get(*k));
            assert!(
                matches!((a, b2), (Some(x), Some(y)) if same(&x, &y)),
                "with({key}, {value:?}) changed key {k}: {a:?} -> {b2:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok((blob, n)) = PropBlob::parse(data) else {
        return;
    };
    assert!(
        n >= BLOB_HEADER && n <= data.len(),
        "length {n} of {}",
        data.len()
    );
    assert_eq!(
        PropBlob::total_len(&data[..BLOB_HEADER]),
        Ok(n),
        "total_len"
    );
    let entries: Vec<(u32, ValueRef<'_>)> = blob.iter().collect();
    assert_eq!(blob.len(), entries.len(), "len");
    assert_eq!(blob.is_empty(), entries.is_empty(), "is_empty");
    assert_eq!(
        entries.is_empty(),
        n == BLOB_HEADER,
        "a blob with a body has entries, one without has none: {entries:?} in {n} bytes"
    );
    for (k, _) in &entries {
        let (a, b) = (blob.get(*k), first(&entries, *k));
        assert!(
            matches!((a, b), (Some(x), Some(y)) if same(&x, &y)),
            "get({k}) = {a:?}, first entry {b:?}"
        );
    }
    // Re-encoding entry by entry gives the same bytes when the keys are distinct (`with`
    // drops duplicates, which the format does not allow but `parse` does not reject).
    let mut keys: Vec<u32> = entries.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() == entries.len() {
        let mut enc = PropBlob::EMPTY.with(0, None);
        for (k, v) in &entries {
            let (b, _) = PropBlob::parse(&enc).expect("a blob built by with parses");
            enc = b.with(*k, Some(*v));
        }
        assert!(
            enc[..] == data[..n],
            "parse accepted bytes the encoder does not write:\n input {:02x?}\n again {:02x?}",
            &data[..n],
            enc
        );
    }
    // An edit described by the bytes after the blob.
    let rest = &data[n..];
    let (key, rest) = match rest.split_first() {
        None => (entries.first().map_or(1, |e| e.0), rest),
        Some((&s, r)) if s < 0x80 => match entries.len() {
            0 => (u32::from(s), r),
            len => (entries[usize::from(s) % len].0, r),
        },
        Some((_, r)) if r.len() >= 4 => (
            u32::from_le_bytes(r[..4].try_into().expect("4 bytes")),
            &r[4..],
        ),
        Some((&s, r)) => (u32::from(s), r),
    };
    let value = ValueRef::decode(&mut Reader::new(rest)).unwrap_or(ValueRef::Null);
    check_with(&entries, key, Some(value), &blob.with(key, Some(value)));
    check_with(&entries, key, None, &blob.with(key, None));
});
