//! `decode_chunk` and `chunk_head` (one label index chunk of the `labels` file) on
//! arbitrary bytes.
//!
//! Input: a mode byte, then the chunk bytes. The chunk's CRC covers its body, so a mutated
//! body almost never verifies and the fuzzer would not get past the checksum; the mode
//! lets it. Mode bit 1: first set the length field (bytes 0..4) to the bytes after the
//! 8-byte header, so the body can grow and shrink freely. Bit 0: then store the CRC32 of
//! the length field and the body it names at bytes 4..8, when the input holds them all.
//! Mode 0 feeds the bytes as they are; the other mode bits are ignored.
//!
//! Checks, on the bytes after any fix-up: never panics; when `chunk_head` fails,
//! `decode_chunk` fails too; when `decode_chunk` accepts, `chunk_head` gives the same
//! total length and label, the ids are not empty, increasing and none 0, `encode_chunk` of
//! the label and ids gives exactly the first `total_len` input bytes back and decodes to
//! the same chunk, bytes after the chunk do not change what decodes, and the chunk cut one
//! byte short is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::labels::{CHUNK_HEADER, chunk_head, decode_chunk, encode_chunk};
use quiver_fuzz::{check_round_trip, fix_up};

// `fix_up` frames with an 8-byte header, as chunks have.
const _: () = assert!(CHUNK_HEADER == 8);

fuzz_target!(|input: &[u8]| {
    let Some((&mode, chunk)) = input.split_first() else {
        return;
    };
    let data = fix_up(mode, chunk);
    let head = chunk_head(&data);
    let decoded = decode_chunk(&data);
    let (label, ids, total) = match (head.as_ref(), decoded) {
        (Err(e), Ok(d)) => panic!("chunk_head refused ({e}) a chunk decode_chunk accepts: {d:?}"),
        (_, Err(_)) => return,
        (_, Ok(d)) => d,
    };
    assert_eq!(head, Ok((total, label)), "chunk_head against decode_chunk");
    assert!(!ids.is_empty(), "a chunk of label {label} with no ids");
    assert_ne!(ids[0], 0, "node id 0 listed: {ids:?}");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
    let chunk = (label, ids, total);
    check_round_trip(
        &chunk,
        &encode_chunk(chunk.0, &chunk.1),
        &data,
        total,
        decode_chunk,
    );
    assert_eq!(
        decode_chunk(&data[..total]).as_ref(),
        Ok(&chunk),
        "the bytes after the chunk changed what it decodes to"
    );
    assert!(
        decode_chunk(&data[..total - 1]).is_err(),
        "the chunk cut one byte short decodes"
    );
});
