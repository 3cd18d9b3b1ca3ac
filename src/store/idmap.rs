//! Maps keyed by record id. Ids are small integers the engine hands out, never chosen by
//! an adversary, so a multiplicative hash (one multiply) replaces SipHash: the low bits
//! stay a bijection of the id's low bits (distinct buckets for consecutive ids) and the
//! high bits, which the table uses as tags, are well mixed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for `u64` keys.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// One mixing step: fold `x` into `h` with one multiply.
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(K)
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = mix(self.0, x);
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
}

/// A `HashMap` keyed by record id.
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A hasher for interned names (labels, edge types, property keys), which every property
/// read and write looks up. Names come from the application, not from an attacker at
/// large, and are short, so eight bytes at a time through one multiply each beats SipHash
/// several times over on this path.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = mix(self.0, u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = mix(self.0, u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, x: u8) {
        // `str`'s Hash writes a 0xff terminator after the bytes.
        self.0 = mix(self.0, x as u64);
    }
}

/// A `HashMap` keyed by name.
pub type NameMap<V> = HashMap<Box<str>, V, BuildHasherDefault<NameHasher>>;
