//! CRC-32 (IEEE 802.3, reflected, the one `crc32fast` computes), by table for short inputs.
//!
//! `crc32fast`'s carry-less-multiply path needs the CPU's features, and the first look in a
//! process runs about a dozen CPUID instructions. On a virtual machine each one traps to
//! the hypervisor: 60 µs measured on the benchmark machine, half of what a whole LMDB open
//! and first read take there. Meta slots, segment headers, records, log frames and most
//! property blobs are shorter than [`SHORT`] bytes, where eight tables (one lookup per
//! byte, eight bytes a step) keep up with the multiply path; so opening a database and
//! reading from it detects nothing, and longer inputs (adjacency lists of dense nodes,
//! large blobs, free lists) still get `crc32fast`'s speed.

/// Inputs (or parts of one) shorter than this go by table.
const SHORT: usize = 256;

/// `T[0]` is the classic byte table; `T[k][i]` is the CRC of byte `i` followed by `k` zero
/// bytes, so eight bytes fold in with eight lookups.
static T: [[u32; 256]; 8] = tables();

const fn tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

/// Continues `crc` (the CRC of the bytes before) over `b`, by table.
fn by_table(crc: u32, b: &[u8]) -> u32 {
    let mut c = !crc;
    let mut steps = b.chunks_exact(8);
    for s in &mut steps {
        let lo = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) ^ c;
        let hi = u32::from_le_bytes([s[4], s[5], s[6], s[7]]);
        c = T[7][(lo & 0xff) as usize]
            ^ T[6][((lo >> 8) & 0xff) as usize]
            ^ T[5][((lo >> 16) & 0xff) as usize]
            ^ T[4][(lo >> 24) as usize]
            ^ T[3][(hi & 0xff) as usize]
            ^ T[2][((hi >> 8) & 0xff) as usize]
            ^ T[1][((hi >> 16) & 0xff) as usize]
            ^ T[0][(hi >> 24) as usize];
    }
    for &x in steps.remainder() {
        c = T[0][((c ^ u32::from(x)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// A CRC over several pieces, as if they were one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Crc(u32);

impl Crc {
    /// The CRC of nothing yet.
    pub const fn new() -> Crc {
        Crc(0)
    }

    /// Adds `b`.
    pub fn update(&mut self, b: &[u8]) {
        self.0 = if b.len() < SHORT {
            by_table(self.0, b)
        } else {
            let mut h = crc32fast::Hasher::new_with_initial(self.0);
            h.update(b);
            h.finalize()
        };
    }

    /// The CRC of everything added.
    pub fn finalize(self) -> u32 {
        self.0
    }
}

/// The CRC of `b`.
pub fn hash(b: &[u8]) -> u32 {
    let mut c = Crc::new();
    c.update(b);
    c.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn equals_crc32fast_at_every_length_around_the_switch() {
        for n in (0..=2 * SHORT + 9).chain([4096, 65_537]) {
            let b = bytes(n, n as u64);
            assert_eq!(hash(&b), crc32fast::hash(&b), "{n} bytes");
        }
        // The check value of the standard.
        assert_eq!(hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn pieces_give_the_crc_of_the_whole() {
        let b = bytes(3 * SHORT + 5, 7);
        for cut in [
            0,
            1,
            7,
            8,
            9,
            SHORT - 1,
            SHORT,
            SHORT + 1,
            2 * SHORT + 3,
            b.len(),
        ] {
            for cut2 in [cut, (cut + b.len()) / 2, b.len()] {
                let mut c = Crc::new();
                c.update(&b[..cut]);
                c.update(&b[cut..cut2]);
                c.update(&b[cut2..]);
                assert_eq!(c.finalize(), crc32fast::hash(&b), "cuts {cut}, {cut2}");
            }
        }
    }
}
