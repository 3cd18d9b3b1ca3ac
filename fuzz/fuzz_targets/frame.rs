//! `Frame::decode` on arbitrary bytes with an arbitrary expected LSN.
//!
//! Input: 8 bytes of expected LSN (little-endian), then the bytes handed to the decoder.
//! Checks: the decoder never panics; when it accepts a frame, the padded length is a
//! multiple of 8 within the input, and encoding the decoded frame again at the same LSN and
//! transaction id gives back exactly the input's first `padded length` bytes (so the
//! decoder accepts only what the encoder writes), which decode to the same frame again.
//! `QUIVER_FUZZ_ALLOW=frame-padding` compares only up to the frame's length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::Frame;
use quiver_fuzz::differs_outside;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (lsn, buf) = data.split_at(8);
    let lsn = u64::from_le_bytes(lsn.try_into().expect("8 bytes"));
    let Ok((txn, frame, padded)) = Frame::decode(buf, lsn) else {
        return;
    };
    assert!(
        padded % 8 == 0 && padded >= 25 && padded <= buf.len(),
        "padded length {padded} of a {}-byte input",
        buf.len()
    );
    let mut out = Vec::new();
    let n = frame.encode(lsn, txn, &mut out);
    assert_eq!(n, out.len(), "encode's returned length");
    assert_eq!(
        n, padded,
        "re-encoded {frame:?} is {n} bytes, decoded from {padded}"
    );
    let len = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes")) as usize;
    if let Some(at) = differs_outside(&out, &buf[..padded], &[]) {
        panic!(
            "decode accepted bytes the encoder does not write: {frame:?} (txn {txn}, LSN {lsn}, \
             length {len}) re-encodes differently at byte {at} of {padded}:\n input {:02x?}\n again {:02x?}",
            &buf[..padded],
            out
        );
    }
    let (txn2, frame2, padded2) = Frame::decode(&out, lsn).expect("a re-encoded frame decodes");
    assert_eq!((txn2, padded2), (txn, padded));
    // Frame's PartialEq says NaN != NaN; compare the debug forms, which show NaN as NaN.
    assert_eq!(format!("{frame2:?}"), format!("{frame:?}"));
});
