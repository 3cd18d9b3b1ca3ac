//! Adjacency blobs (a node's edges, both directions, one heap blob): `unseal`, then
//! `AdjView::parse` and `AdjList::decode_body` on the body, on arbitrary bytes.
//!
//! Input: a mode byte, then the sealed blob (u32 body length | u32 CRC | body, the framing
//! of every heap blob). The CRC covers the length field and the body, so a mutated body
//! almost never verifies and the fuzzer would not get past the checksum; the mode lets it.
//! Mode bit 1: first set the length field (bytes 0..4) to the bytes after the 8-byte
//! header, so the body can grow and shrink freely. Bit 0: then store the CRC32 of the
//! length field and the body it names at bytes 4..8, when the input holds them all. Mode 0
//! feeds the bytes as they are; the other mode bits are ignored.
//!
//! Checks, on the bytes after any fix-up: never panics; `unseal` gives a body of the length
//! its header says, and the bytes after the blob change nothing. On that body: when
//! `decode_body` accepts, `parse` accepts too; when `parse` accepts, every group and entry
//! the view lists can be read (the store reads views lazily, checking no more than `parse`
//! does), the directory and the entries fill the body exactly, and when `decode_body` also
//! accepts, the view's groups (type, first entry, count) and entries equal the decoded
//! list's, direction by direction, group by group, entry by entry. An accepted list has its
//! types strictly ascending in each direction, no empty group, edge ids strictly ascending
//! within a group and no edge or neighbour id 0; `encode_body` gives exactly the body back
//! (which decodes to the same list); and the body cut one byte short is refused by both.
//!
//! Not checked: that an edge id appears in one group only (the format leaves that to
//! `qv_check`, which holds every entry against its edge record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::adj::{AdjList, AdjView, ENTRY, GroupAt, decode_entry};
use quiver::testing::format::props::BLOB_HEADER;
use quiver::testing::format::record::MAX_48;
use quiver::testing::format::unseal;
use quiver_fuzz::fix_up;

// `fix_up` frames with an 8-byte header, as heap blobs have.
const _: () = assert!(BLOB_HEADER == 8);

/// The groups of one direction as a view lists them, each with its entries.
type Side = Vec<(GroupAt, Vec<(u64, u64)>)>;

/// Reads every group and entry `view` lists (what a cursor may do with a parsed view);
/// checks that they tile the body. Returns the groups of each direction with their entries.
fn walk(view: &AdjView<'_>, body: &[u8]) -> [Side; 2] {
    let mut next = 0usize;
    let mut sides = [Vec::new(), Vec::new()];
    for (side, out) in sides.iter_mut().zip([true, false]) {
        for g in view.groups(out) {
            assert_eq!(
                g.start, next,
                "group {g:?} (out: {out}) does not start where the one before ended"
            );
            let entries: Vec<(u64, u64)> = (g.start..g.start + g.count)
                .map(|i| {
                    let e = view.entry(i);
                    let at = view.entries_at() + ENTRY * i;
                    assert_eq!(e, decode_entry(&body[at..at + ENTRY]), "entry {i}");
                    assert!(e.0 <= MAX_48 && e.1 <= MAX_48, "entry {i}: {e:?}");
                    e
                })
                .collect();
            next += g.count;
            side.push((g, entries));
        }
    }
    let groups = sides[0].len() + sides[1].len();
    assert_eq!(view.entries_at(), 8 + 8 * groups, "entries_at");
    assert_eq!(
        body.len(),
        view.entries_at() + ENTRY * next,
        "parse accepted a body its directory does not fill exactly"
    );
    sides
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, blob)) = input.split_first() else {
        return;
    };
    let data = fix_up(mode, blob);
    let Ok((body, _crc, total)) = unseal(&data) else {
        return;
    };
    assert!(
        total == BLOB_HEADER + body.len() && total <= data.len(),
        "unseal: a {}-byte body, {total} bytes in all, of {}",
        body.len(),
        data.len()
    );
    assert_eq!(
        u32::from_le_bytes(data[0..4].try_into().expect("4 bytes")) as usize,
        body.len(),
        "unseal: the body's length against the length field"
    );
    assert_eq!(
        unseal(&data[..total]).map(|(b, _, n)| (b, n)),
        Ok((body, total)),
        "the bytes after the blob changed what unseals"
    );

    let view = AdjView::parse(body);
    let list = AdjList::decode_body(body);
    let view = match (view, &list) {
        (Err(e), Ok(l)) => panic!("AdjView::parse refused ({e}) a body decode_body accepts: {l:?}"),
        (Err(_), Err(_)) => return,
        (Ok(v), _) => v,
    };
    let sides = walk(&view, body);
    let Ok(list) = list else {
        return;
    };

    // The view against the decoded list.
    let [lout, linc] = list.groups();
    for ((side, groups), out) in sides.iter().zip([&lout, &linc]).zip([true, false]) {
        assert_eq!(
            side.len(),
            groups.len(),
            "out: {out}: the view has {} groups, the list {}",
            side.len(),
            groups.len()
        );
        for (k, ((at, entries), g)) in side.iter().zip(groups).enumerate() {
            assert!(
                at.etype == g.etype && at.count == g.edges.len(),
                "out: {out}, group {k}: view {at:?}, list type {} with {} edges",
                g.etype,
                g.edges.len()
            );
            assert_eq!(entries, &g.edges, "out: {out}, group {k}: entries");
        }
    }

    // What the format promises of an accepted list.
    for (groups, out) in [(&lout, true), (&linc, false)] {
        assert!(
            groups.windows(2).all(|w| w[0].etype < w[1].etype),
            "out: {out}: types not strictly ascending: {:?}",
            groups.iter().map(|g| g.etype).collect::<Vec<_>>()
        );
        for g in groups {
            assert!(
                !g.edges.is_empty(),
                "out: {out}: empty group of type {}",
                g.etype
            );
            assert!(
                g.edges.windows(2).all(|w| w[0].0 < w[1].0),
                "out: {out}, type {}: edge ids not strictly ascending: {:?}",
                g.etype,
                g.edges
            );
            assert!(
                g.edges.iter().all(|&(e, n)| e != 0 && n != 0),
                "out: {out}, type {}: id 0 in {:?}",
                g.etype,
                g.edges
            );
        }
    }
    let entries: usize = sides.iter().flatten().map(|(g, _)| g.count).sum();
    assert_eq!(list.len(), entries, "len");
    assert_eq!(
        list.is_empty(),
        lout.is_empty() && linc.is_empty(),
        "is_empty"
    );

    // Round trip: the decoder accepts only what the encoder writes.
    let enc = list.encode_body();
    assert!(
        enc[..] == body[..],
        "decode_body accepted bytes the encoder does not write:\n input {body:02x?}\n again {enc:02x?}"
    );
    assert_eq!(
        AdjList::decode_body(&enc).as_ref(),
        Ok(&list),
        "decode_body(encode_body)"
    );

    // Cut one byte short.
    let short = &body[..body.len() - 1];
    assert!(
        AdjView::parse(short).is_err(),
        "AdjView::parse accepts the body cut one byte short"
    );
    assert!(
        AdjList::decode_body(short).is_err(),
        "decode_body accepts the body cut one byte short"
    );
});
