//! Helpers shared by the fuzz targets.

use std::fmt::Debug;

/// The first index where `a` and `b` differ outside the byte ranges `skip`, if any.
pub fn differs_outside(a: &[u8], b: &[u8], skip: &[std::ops::Range<usize>]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    (0..a.len()).find(|&i| a[i] != b[i] && !skip.iter().any(|r| r.contains(&i)))
}

/// The round trip every decoder target checks once the decoder accepted `value` from
/// `data`: `enc`, the encoding of `value`, decodes to `value` again, and `data` holds at
/// least `size` bytes whose first `size` are exactly `enc` (the decoder accepts only what
/// the encoder writes, reserved bytes included).
pub fn check_round_trip<T: PartialEq + Debug, E: PartialEq + Debug>(
    value: &T,
    enc: &[u8],
    data: &[u8],
    size: usize,
    decode: impl Fn(&[u8]) -> Result<T, E>,
) {
    assert_eq!(decode(enc).as_ref(), Ok(value), "decode(encode({value:?}))");
    assert!(
        data.len() >= size,
        "accepted {value:?} from {} bytes; it takes {size}",
        data.len()
    );
    if let Some(at) = differs_outside(enc, &data[..size], &[]) {
        panic!(
            "decode accepted bytes the encoder does not write ({value:?}), first difference \
             at byte {at}:\n input {:02x?}\n again {enc:02x?}",
            &data[..size]
        );
    }
}

/// CRC-32 (IEEE), bitwise (the fuzz crate needs no crc32fast of its own).
pub fn crc32(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}
