//! `NodeRec::decode` and `EdgeRec::decode` on arbitrary bytes.
//!
//! Checks: never panic; an accepted record encodes back to exactly the bytes it was decoded
//! from (reserved bytes included) and decodes again to the same record.
//! `QUIVER_FUZZ_ALLOW=reserved` tolerates non-zero reserved bytes under the CRC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::format::record::{EDGE_SIZE, NODE_SIZE};
use quiver::format::{EdgeRec, NodeRec};
use quiver_fuzz::differs_outside;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = NodeRec::decode(data) {
        let enc = n.encode();
        assert_eq!(NodeRec::decode(&enc), Ok(n), "decode(encode({n:?}))");
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
    if let Ok(e) = EdgeRec::decode(data) {
        let enc = e.encode();
        assert_eq!(EdgeRec::decode(&enc), Ok(e), "decode(encode({e:?}))");
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
