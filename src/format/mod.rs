//! Layer 1: pure encoding and decoding of on-disk bytes. No I/O, so every decoder can be
//! fed arbitrary bytes (and fuzzed): they return errors, never panic.
//!
//! Everything is little-endian and fixed width. ARCHITECTURE.md has the byte diagrams.

pub mod adj;
mod bytes;
pub mod crc;
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

/// Rounds `n` up to a multiple of 8.
pub const fn align8(n: usize) -> usize {
    (n + 7) & !7
}
