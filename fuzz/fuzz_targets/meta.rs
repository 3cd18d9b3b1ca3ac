//! `Meta::decode` (one meta slot) on arbitrary bytes.
//!
//! Checks: never panics; when it accepts a slot, encoding it gives the first `META_LEN`
//! (140) input bytes back exactly (reserved bytes included) and decodes to the same `Meta`.
//! A slot is reported as another format version exactly when it has the magic, a version
//! other than this one and a checksum that verifies under one of the two slot layouts:
//! format 2's (CRC32 of bytes 0..104 stored at 104, 108 bytes) or the current one (CRC32
//! of bytes 0..136 at 136, 140 bytes); anything else that fails is damage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::testing::format::Meta;
use quiver::testing::format::meta::{FORMAT_VERSION, META_LEN, MetaError};
use quiver_fuzz::{check_round_trip, crc32};

/// The magic at the start of every slot.
const MAGIC: &[u8; 8] = b"QUIVERDB";
/// Format 2's slot: the CRC of bytes 0..104 at 104, 108 bytes in all.
const V2_BODY: usize = 104;
/// The current slot: the CRC of bytes 0..136 at 136 (`META_LEN` bytes in all).
const BODY: usize = 136;

/// Whether `data` holds a CRC32 of its first `body` bytes right after them.
fn verifies(data: &[u8], body: usize) -> bool {
    data.get(body..body + 4)
        .is_some_and(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")) == crc32(&data[..body]))
}

/// The slot's version, when it has the magic and is long enough to hold one.
fn version(data: &[u8]) -> Option<u32> {
    if data.get(..8) != Some(MAGIC.as_slice()) {
        return None;
    }
    Some(u32::from_le_bytes(
        data.get(8..12)?.try_into().expect("4 bytes"),
    ))
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(BODY + 4, META_LEN, "the slot layout this target checks");
    let foreign = version(data)
        .filter(|&v| v != FORMAT_VERSION)
        .filter(|_| verifies(data, V2_BODY) || verifies(data, BODY));
    match Meta::decode(data) {
        Ok(m) => check_round_trip(&m, &m.encode(), data, META_LEN, Meta::decode),
        Err(MetaError::Version(v)) => {
            assert_ne!(v, FORMAT_VERSION, "Version error for the current version");
            assert_eq!(
                foreign,
                Some(v),
                "Version({v}) reported for a slot of {} bytes whose checksum verifies under \
                 neither layout (format 2: CRC of 0..104 at 104; now: CRC of 0..136 at 136)",
                data.len()
            );
        }
        Err(MetaError::Bad(e)) => {
            assert!(
                foreign.is_none(),
                "a slot of format version {foreign:?} with a valid checksum reported as \
                 damage: {e}"
            );
        }
    }
});
