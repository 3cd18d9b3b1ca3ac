//! `NodeRec::decode` and `EdgeRec::decode` on arbitrary bytes.
//!
//! Checks: never panic; an accepted record encodes back to exactly the bytes it was decoded
//! from (reserved bytes included) and decodes again to the same record.
//! `QUIVER_FUZZ_ALLOW=reserved` tolerates non-zero reserved bytes under the CRC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::record::{EDGE_SIZE, NODE_SIZE};
use quiver::testing::format::{EdgeRec, NodeRec};
use quiver_fuzz::check_round_trip;

fuzz_target!(|data: &[u8]| {
    // The slot id seeds the CRC; it is taken from the first (flags) byte, so the corpus's
    // records, encoded for the id equal to their flags, verify and reach the decoder.
    let id = data.first().map_or(1, |&b| u64::from(b));
    if let Ok(n) = NodeRec::decode(data, id) {
        check_round_trip(&n, &n.encode(id), data, NODE_SIZE, |b| {
            NodeRec::decode(b, id)
        });
    }
    if let Ok(e) = EdgeRec::decode(data, id) {
        check_round_trip(&e, &e.encode(id), data, EDGE_SIZE, |b| {
            EdgeRec::decode(b, id)
        });
    }
});
