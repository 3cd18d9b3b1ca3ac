//! Layer 1: pure encoding and decoding of on-disk bytes. No I/O, so every decoder can be
//! fed arbitrary bytes (and fuzzed): they return errors, never panic.
//!
//! Everything is little-endian and fixed width. ARCHITECTURE.md has the byte diagrams.

pub mod adj;
mod bytes;
pub mod frame;
pub mod labels;
pub mod meta;
pub mod props;
pub mod record;

pub use bytes::{DecodeError, Reader};
pub use frame::Frame;
pub use meta::Meta;
pub use props::{Value, ValueRef};
pub use record::{EdgeRec, NodeRec};

/// A CRC32 hasher, cloned from one made once: `crc32fast::Hasher::new` detects the CPU's
/// features on every call, which for the few dozen bytes of a record or a property blob
/// costs about a third as much as the CRC itself.
pub(crate) fn crc_hasher() -> crc32fast::Hasher {
    static PROTO: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    PROTO.get_or_init(crc32fast::Hasher::new).clone()
}

/// Rounds `n` up to a multiple of 8.
pub const fn align8(n: usize) -> usize {
    (n + 7) & !7
}
