//! `Meta::decode` (one meta slot) on arbitrary bytes.
//!
//! Checks: never panics; when it accepts a slot, encoding it gives the first 108 input bytes
//! back exactly (reserved bytes included) and decodes to the same `Meta`. A slot reported as
//! another format version must carry a valid checksum (otherwise it is damage).
//! `QUIVER_FUZZ_ALLOW=reserved` tolerates a non-zero reserved field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::Meta;
use quiver::testing::format::meta::{FORMAT_VERSION, META_LEN, MetaError};
use quiver_fuzz::{check_round_trip, crc32};

fuzz_target!(|data: &[u8]| {
    match Meta::decode(data) {
        Ok(m) => check_round_trip(&m, &m.encode(), data, META_LEN, Meta::decode),
        Err(MetaError::Version(v)) => {
            assert_ne!(v, FORMAT_VERSION, "Version error for the current version");
            assert!(data.len() >= META_LEN, "Version error from a short slot");
            let stored = u32::from_le_bytes(data[104..108].try_into().expect("4 bytes"));
            assert_eq!(
                stored,
                crc32(&data[..104]),
                "Version({v}) reported for a slot whose checksum fails"
            );
        }
        Err(MetaError::Bad(_)) => {}
    }
});
