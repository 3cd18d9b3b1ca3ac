//! Helpers shared by the fuzz targets.

/// The first index where `a` and `b` differ outside the byte ranges `skip`, if any.
pub fn differs_outside(a: &[u8], b: &[u8], skip: &[std::ops::Range<usize>]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    (0..a.len()).find(|&i| a[i] != b[i] && !skip.iter().any(|r| r.contains(&i)))
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
