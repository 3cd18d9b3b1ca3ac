//! `NodeRec::decode` and `EdgeRec::decode` on arbitrary bytes.
//!
//! Checks: never panic; an accepted record encodes back to exactly the bytes it was decoded
//! from (reserved bytes included) and decodes again to the same record.
//! `QUIVER_FUZZ_ALLOW=reserved` tolerates non-zero reserved bytes under the CRC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::record::{EDGE_SIZE, NODE_SIZE};
use quiver::testing::format::{EdgeRec, NodeRec};
use quiver_fuzz::differs_outside;

fuzz_target!(|data: &[u8]| {
    // The slot id seeds the CRC; it is taken from the first (flags) byte, so the corpus's
    // records, encoded for the id equal to their flags, verify and reach the decoder.
    let id = data.first().map_or(1, |&b| u64::from(b));
    if let Ok(n) = NodeRec::decode(data, id) {
        let enc = n.encode(id);
        assert_eq!(NodeRec::decode(&enc, id), Ok(n), "decode(encode({n:?}))");
        assert!(data.len() >= NODE_SIZE, "node from {} bytes", data.len());
        if let Some(at) = differs_outside(&enc, &data[..NODE_SIZE], &[]) {
            panic!(
                "node decode accepted bytes the encoder does not write ({n:?}), first \
                 difference at byte {at}:\n input {:02x?}\n again {:02x?}",
                &data[..NODE_SIZE],
                enc
            );
        }
    }
    if let Ok(e) = EdgeRec::decode(data, id) {
        let enc = e.encode(id);
        assert_eq!(EdgeRec::decode(&enc, id), Ok(e), "decode(encode({e:?}))");
        assert!(data.len() >= EDGE_SIZE, "edge from {} bytes", data.len());
        if let Some(at) = differs_outside(&enc, &data[..EDGE_SIZE], &[]) {
            panic!(
                "edge decode accepted bytes the encoder does not write ({e:?}), first \
                 difference at byte {at}:\n input {:02x?}\n again {:02x?}",
                &data[..EDGE_SIZE],
                enc
            );
        }
    }
});
