//! `SegmentHeader::decode` on arbitrary bytes.
//!
//! Checks: never panics; when it accepts a header, the input had 64 bytes, encoding the
//! header gives them back exactly (the decoder accepts only what the encoder writes:
//! reserved and zero bytes included), and that encoding decodes to the same header.
//! `QUIVER_FUZZ_ALLOW=header-length,reserved` tolerates the known findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::SegmentHeader;
use quiver::testing::format::frame::SEGMENT_HEADER;
use quiver_fuzz::differs_outside;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = SegmentHeader::decode(data) else {
        return;
    };
    let enc = h.encode();
    assert_eq!(SegmentHeader::decode(&enc), Ok(h), "decode(encode({h:?}))");
    assert!(
        data.len() >= SEGMENT_HEADER,
        "accepted {h:?} from {} bytes; a header is {SEGMENT_HEADER}: {data:02x?}",
        data.len()
    );
    let n = data.len().min(SEGMENT_HEADER);
    if let Some(at) = differs_outside(&enc[..n], &data[..n], &[]) {
        panic!(
            "decode accepted a header the encoder does not write ({h:?}), first difference at \
             byte {at}:\n input {:02x?}\n again {:02x?}",
            &data[..n],
            enc
        );
    }
});
