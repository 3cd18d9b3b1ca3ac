//! The content digest of a snapshot (`qv_digest`): SHA-256 over a canonical encoding of
//! every live node and edge, so that two databases holding the same graph (ids, labels,
//! types, properties) give the same digest whatever their history (checkpoints, deletions,
//! compaction), and any difference gives another one.
//!
//! The encoding, all integers little-endian (include/quiver.h repeats it for other tools):
//! ```text
//! "quiver-digest-v1\n"
//! per live node, in ascending id:  'N' u64 id, str label, u32 n, n properties
//! per live edge, in ascending id:  'E' u64 id, u64 src, u64 dst, str type, u32 n, n properties
//! property (sorted by key bytes):  str key, value
//! value:  u8 type (QV_TYPE_*: 0 null, 1 bool, 2 int, 3 float, 4 string, 5 bytes), then
//!         bool: u8 0/1; int: i64; float: the f64's 8 bytes (bits, so -0.0 and each NaN
//!         payload are distinct); string, bytes: str
//! str:    u64 byte length, the bytes
//! ```

use super::sha256::Sha256;
use crate::error::{Error, Result};
use crate::format::ValueRef;
use crate::txn::Txn;
use std::ffi::CStr;

/// Feeds the canonical encoding to SHA-256.
struct Canon(Sha256);

impl Canon {
    fn u8(&mut self, v: u8) {
        self.0.update(&[v]);
    }

    fn u32(&mut self, v: u32) {
        self.0.update(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.update(&v.to_le_bytes());
    }

    fn str(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.update(b);
    }

    fn props(&mut self, mut props: Vec<(&CStr, ValueRef<'_>)>) {
        props.sort_unstable_by(|a, b| a.0.to_bytes().cmp(b.0.to_bytes()));
        self.u32(props.len() as u32);
        for (key, value) in props {
            self.str(key.to_bytes());
            match value {
                ValueRef::Null => self.u8(0),
                ValueRef::Bool(b) => {
                    self.u8(1);
                    self.u8(u8::from(b));
                }
                ValueRef::Int(i) => {
                    self.u8(2);
                    self.0.update(&i.to_le_bytes());
                }
                ValueRef::Float(f) => {
                    self.u8(3);
                    self.u64(f.to_bits());
                }
                ValueRef::Str(s) => {
                    self.u8(4);
                    self.str(s.as_bytes());
                }
                ValueRef::Bytes(b) => {
                    self.u8(5);
                    self.str(b);
                }
            }
        }
    }
}

impl Txn {
    /// The SHA-256 content digest of this transaction's snapshot (module documentation).
    pub fn digest(&self) -> Result<[u8; 32]> {
        let mut c = Canon(Sha256::new());
        c.0.update(b"quiver-digest-v1\n");
        let mut nodes = self.nodes(None)?;
        while let Some(id) = nodes.next(self)? {
            c.u8(b'N');
            c.u64(id);
            c.str(self.node_label(id)?.to_bytes());
            c.props(self.node_props(id)?);
        }
        for id in 1..self.edge_bound() {
            let e = match self.get_edge(id) {
                Ok(e) => e,
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            c.u8(b'E');
            c.u64(e.id);
            c.u64(e.src);
            c.u64(e.dst);
            c.str(self.name_of(e.etype)?.to_bytes());
            c.props(self.edge_props(id)?);
        }
        Ok(c.0.finish())
    }
}
