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

/// Mode bit of [`fix_up`]: store the CRC of the length field and the body.
pub const FIX_CRC: u8 = 1;
/// Mode bit of [`fix_up`]: set the length field to the bytes after the header.
pub const FIX_LEN: u8 = 2;

/// Bytes framed as `u32 length | u32 CRC32 of (length field, body) | body` (a label index
/// chunk, a heap blob), with the fix-ups `mode` asks for: [`FIX_LEN`] first sets the length
/// field to the bytes after the 8-byte header, then [`FIX_CRC`] stores the CRC of the
/// length field and the body it names, when the bytes hold them all. A mutated body almost
/// never matches its CRC; the mode lets the fuzzer past it.
pub fn fix_up(mode: u8, framed: &[u8]) -> Vec<u8> {
    const HEADER: usize = 8;
    let mut b = framed.to_vec();
    if b.len() < HEADER {
        return b;
    }
    if mode & FIX_LEN != 0 {
        let len = u32::try_from(b.len() - HEADER).unwrap_or(u32::MAX);
        b[0..4].copy_from_slice(&len.to_le_bytes());
    }
    if mode & FIX_CRC != 0 {
        let len = u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")) as usize;
        if let Some(body) = b.get(HEADER..HEADER.saturating_add(len)) {
            let mut covered = b[0..4].to_vec();
            covered.extend_from_slice(body);
            let crc = crc32(&covered);
            b[4..8].copy_from_slice(&crc.to_le_bytes());
        }
    }
    b
}
