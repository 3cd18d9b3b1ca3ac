//! CRC-32 (IEEE 802.3, reflected, the one `crc32fast` computes), by table until the
//! process has done enough CRC work to pay for `crc32fast`'s setup.
//!
//! `crc32fast`'s carry-less-multiply path needs the CPU's features, and the first look in a
//! process runs about a dozen CPUID instructions. On a virtual machine each one traps to
//! the hypervisor: 60 µs measured on the benchmark machine, half of what a whole LMDB open
//! and first read take there. A process that opens a database and reads a little (a tool,
//! a script, a short-lived worker) would spend more on that than on everything else, so
//! short inputs go by eight tables (eight bytes a step) until [`WARM_AFTER`] bytes have
//! gone that way, about what the detection costs; from then on, and for any input of
//! [`SHORT`] bytes or more, `crc32fast` computes them (on the records and adjacency
//! blobs of a neighbour scan it runs about half the table's instructions). Ski rental:
//! the detection is paid once the table has cost as much.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes CRC'd by table before switching to `crc32fast` for good.
const WARM_AFTER: u64 = 64 * 1024;

/// Set once `crc32fast` is in use (its CPU detection done, or due).
static WARM: AtomicBool = AtomicBool::new(false);

/// Bytes CRC'd by table so far (counted until [`WARM`] is set).
static TABLE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Inputs (or parts of one) shorter than this may go by table.
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
#[derive(Clone)]
pub enum Crc {
    /// By table: the CRC of the pieces so far.
    Table(u32),
    /// By `crc32fast`.
    Fast(crc32fast::Hasher),
}

impl Default for Crc {
    fn default() -> Crc {
        Crc::new()
    }
}

/// A `crc32fast` hasher over nothing, made once: making one looks up the CPU's features
/// (cached, but still a few checks), which for the few dozen bytes of a record costs
/// about a third as much as the CRC itself.
#[inline]
fn fast() -> crc32fast::Hasher {
    static PROTO: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    PROTO.get_or_init(crc32fast::Hasher::new).clone()
}

impl Crc {
    /// The CRC of nothing yet.
    #[inline]
    pub fn new() -> Crc {
        if WARM.load(Ordering::Relaxed) {
            Crc::Fast(fast())
        } else {
            Crc::Table(0)
        }
    }

    /// Adds `b`.
    #[inline]
    pub fn update(&mut self, b: &[u8]) {
        match self {
            Crc::Fast(h) => h.update(b),
            Crc::Table(c) if b.len() < SHORT && !WARM.load(Ordering::Relaxed) => {
                let n = b.len() as u64;
                if TABLE_BYTES.fetch_add(n, Ordering::Relaxed) + n >= WARM_AFTER {
                    WARM.store(true, Ordering::Relaxed);
                }
                *c = by_table(*c, b);
            }
            Crc::Table(c) => {
                WARM.store(true, Ordering::Relaxed);
                let mut h = crc32fast::Hasher::new_with_initial(*c);
                h.update(b);
                *self = Crc::Fast(h);
            }
        }
    }

    /// The CRC of everything added.
    #[inline]
    pub fn finalize(self) -> u32 {
        match self {
            Crc::Table(c) => c,
            Crc::Fast(h) => h.finalize(),
        }
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
            assert_eq!(by_table(0, &b), crc32fast::hash(&b), "{n} bytes by table");
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
                let t = by_table(by_table(by_table(0, &b[..cut]), &b[cut..cut2]), &b[cut2..]);
                assert_eq!(t, crc32fast::hash(&b), "cuts {cut}, {cut2} by table");
            }
        }
    }
}
