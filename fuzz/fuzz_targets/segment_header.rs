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
use quiver_fuzz::check_round_trip;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = SegmentHeader::decode(data) else {
        return;
    };
    check_round_trip(&h, &h.encode(), data, SEGMENT_HEADER, SegmentHeader::decode);
});
