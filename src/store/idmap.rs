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

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(K);
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
}

/// A `HashMap` keyed by record id.
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
