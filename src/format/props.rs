//! Property values and property blobs.
//!
//! All properties of one node or edge live in one immutable blob:
//!
//! ```text
//! 0   u32  body length B (bytes after this 8-byte header)
//! 4   u32  CRC32 of bytes 0..4 and the body (so a zeroed header fails it)
//! 8   body: entries, each  key u32 | tag u8 | payload
//!           tag 0 null (no payload)   1 bool (u8 0/1)   2 int (i64)   3 float (f64)
//!           4 string (u32 len + UTF-8)   5 bytes (u32 len + bytes)
//! ```
//! Keys are string-table ids, each at most once per blob. A blob is never modified: a
//! property write makes a new one.

use super::bytes::{DecodeError, PutLe, Reader};

/// An owned property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null (stored, unlike an unset key).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

/// A borrowed property value (what reads return and writes take).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// Null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    Str(&'a str),
    /// Raw bytes.
    Bytes(&'a [u8]),
}

impl Value {
    /// Borrows this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::Float(f) => ValueRef::Float(*f),
            Value::String(s) => ValueRef::Str(s),
            Value::Bytes(b) => ValueRef::Bytes(b),
        }
    }
}

impl ValueRef<'_> {
    /// Copies this value.
    pub fn to_owned(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Str(s) => Value::String(s.to_string()),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }

    /// Bytes this value takes when encoded (tag and payload).
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            ValueRef::Null => 0,
            ValueRef::Bool(_) => 1,
            ValueRef::Int(_) | ValueRef::Float(_) => 8,
            ValueRef::Str(s) => 4 + s.len(),
            ValueRef::Bytes(b) => 4 + b.len(),
        }
    }

    /// Appends tag and payload. Lengths must fit u32 (the caller checks limits).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            ValueRef::Null => out.put_u8(0),
            ValueRef::Bool(b) => {
                out.put_u8(1);
                out.put_u8(b as u8);
            }
            ValueRef::Int(i) => {
                out.put_u8(2);
                out.extend_from_slice(&i.to_le_bytes());
            }
            ValueRef::Float(f) => {
                out.put_u8(3);
                out.extend_from_slice(&f.to_le_bytes());
            }
            ValueRef::Str(s) => {
                out.put_u8(4);
                out.put_u32(s.len() as u32);
                out.extend_from_slice(s.as_bytes());
            }
            ValueRef::Bytes(b) => {
                out.put_u8(5);
                out.put_u32(b.len() as u32);
                out.extend_from_slice(b);
            }
        }
    }

    /// Reads tag and payload.
    pub fn decode<'a>(r: &mut Reader<'a>) -> Result<ValueRef<'a>, DecodeError> {
        Ok(match r.u8()? {
            0 => ValueRef::Null,
            1 => match r.u8()? {
                0 => ValueRef::Bool(false),
                1 => ValueRef::Bool(true),
                _ => return Err(DecodeError::Invalid("bool value")),
            },
            2 => ValueRef::Int(r.i64()?),
            3 => ValueRef::Float(r.f64()?),
            4 => {
                let n = r.u32()? as usize;
                let s = std::str::from_utf8(r.take(n)?)
                    .map_err(|_| DecodeError::Invalid("UTF-8 in string value"))?;
                ValueRef::Str(s)
            }
            5 => {
                let n = r.u32()? as usize;
                ValueRef::Bytes(r.take(n)?)
            }
            _ => return Err(DecodeError::Invalid("value tag")),
        })
    }
}

/// Size of a blob's header.
pub const BLOB_HEADER: usize = 8;

/// A view of an encoded property blob (header included).
#[derive(Debug, Clone, Copy)]
pub struct PropBlob<'a> {
    body: &'a [u8],
}

impl<'a> PropBlob<'a> {
    /// The empty property set.
    pub const EMPTY: PropBlob<'static> = PropBlob { body: &[] };

    /// Checks header and checksum of the blob starting at `buf[0]`; `buf` may extend past
    /// the blob. Returns the blob and its total length.
    pub fn parse(buf: &'a [u8]) -> Result<(PropBlob<'a>, usize), DecodeError> {
        let (blob, total) = PropBlob::parse_sealed(buf)?;
        // Validate every entry once, so lookups on a parsed blob cannot fail.
        blob.check_entries()?;
        Ok((blob, total))
    }

    /// Checks header and checksum of the blob starting at `buf[0]` but not its entries:
    /// read it only through [`PropBlob::find`] (or check it with
    /// [`PropBlob::check_entries`] first), which checks the entries it walks.
    pub fn parse_sealed(buf: &'a [u8]) -> Result<(PropBlob<'a>, usize), DecodeError> {
        let (body, _, total) = unseal(buf)?;
        Ok((PropBlob { body }, total))
    }

    /// Checks that every entry decodes (what [`PropBlob::parse`] adds to the checksum).
    pub fn check_entries(&self) -> Result<(), DecodeError> {
        for e in self.iter_checked() {
            e?;
        }
        Ok(())
    }

    /// The value of `key`, if set, checking every entry up to it: an error for a blob
    /// whose entries were never checked and do not decode, where [`PropBlob::get`] would
    /// end its search.
    pub fn find(&self, key: u32) -> Result<Option<ValueRef<'a>>, DecodeError> {
        for e in self.iter_checked() {
            let (k, v) = e?;
            if k == key {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The blob starting at `buf[0]` whose checksum [`PropBlob::parse`] or
    /// [`PropBlob::parse_sealed`] already verified, the bytes unchanged since: only its
    /// header is read, so its entries are as checked as they were then. (A malformed entry
    /// would end iteration, as for any blob; nothing can panic.)
    pub fn parse_verified(buf: &'a [u8]) -> Result<(PropBlob<'a>, usize), DecodeError> {
        let mut r = Reader::new(buf);
        let len = r.u32()? as usize;
        r.u32()?;
        let body = r.take(len)?;
        Ok((PropBlob { body }, BLOB_HEADER + len))
    }

    /// The length of the blob whose header starts at `header` (8 bytes).
    pub fn total_len(header: &[u8]) -> Result<usize, DecodeError> {
        let mut r = Reader::new(header);
        Ok(BLOB_HEADER + r.u32()? as usize)
    }

    fn iter_checked(&self) -> impl Iterator<Item = Result<(u32, ValueRef<'a>), DecodeError>> + 'a {
        let mut r = Reader::new(self.body);
        std::iter::from_fn(move || {
            if r.remaining() == 0 {
                return None;
            }
            let item = (|| {
                let k = r.u32()?;
                let v = ValueRef::decode(&mut r)?;
                Ok((k, v))
            })();
            if item.is_err() {
                // Stop after the first error.
                r = Reader::new(&[]);
            }
            Some(item)
        })
    }

    /// The entries, in stored order. Entries that fail to decode end the iteration (a parsed
    /// blob has none).
    pub fn iter(&self) -> impl Iterator<Item = (u32, ValueRef<'a>)> + 'a {
        self.iter_checked().map_while(Result::ok)
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: u32) -> Option<ValueRef<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether the set is empty.
    #[cfg(any(test, feature = "testing"))]
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Number of entries.
    #[cfg(any(test, feature = "testing"))]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Encodes this set with `key` set to `value` (`None` removes it).
    pub fn with(&self, key: u32, value: Option<ValueRef<'_>>) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.body.len() + 16);
        for (k, v) in self.iter() {
            if k != key {
                body.put_u32(k);
                v.encode(&mut body);
            }
        }
        if let Some(v) = value {
            body.put_u32(key);
            v.encode(&mut body);
        }
        seal(&body)
    }
}

/// Encodes `entries` (keys distinct) as a blob, in the order given.
pub fn encode_blob<'v>(entries: impl IntoIterator<Item = (u32, ValueRef<'v>)>) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in entries {
        body.put_u32(k);
        v.encode(&mut body);
    }
    seal(&body)
}

/// The checksum of a blob: its length field and its body. A short body (most property
/// sets) is copied after the length field and hashed in one call, which costs less than
/// a second call would.
fn blob_crc(len: u32, body: &[u8]) -> u32 {
    const SHORT: usize = 124;
    let mut h = super::crc::Crc::new();
    if body.len() <= SHORT {
        let mut buf = [0u8; 4 + SHORT];
        buf[..4].copy_from_slice(&len.to_le_bytes());
        buf[4..4 + body.len()].copy_from_slice(body);
        h.update(&buf[..4 + body.len()]);
    } else {
        h.update(&len.to_le_bytes());
        h.update(body);
    }
    h.finalize()
}

/// A heap blob of any kind (property set or free list) starting at `buf[0]`, its header
/// and checksum verified: its body, the CRC in its header and its total length.
pub fn unseal(buf: &[u8]) -> Result<(&[u8], u32, usize), DecodeError> {
    let mut r = Reader::new(buf);
    let len = r.u32()? as usize;
    let stored = r.u32()?;
    let body = r.take(len)?;
    let computed = blob_crc(len as u32, body);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    Ok((body, stored, BLOB_HEADER + len))
}

/// Prefixes an encoded body with its length and checksum.
pub(crate) fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_HEADER + body.len());
    seal_into(body, &mut out);
    out
}

/// Appends `body` with its length and checksum to `out` (as [`seal`] frames it).
pub(crate) fn seal_into(body: &[u8], out: &mut Vec<u8>) {
    out.put_u32(body.len() as u32);
    out.put_u32(blob_crc(body.len() as u32, body));
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip_and_replace() {
        let b1 = PropBlob::EMPTY.with(1, Some(ValueRef::Int(7)));
        let (p1, n) = PropBlob::parse(&b1).unwrap();
        assert_eq!(n, b1.len());
        assert_eq!(p1.get(1), Some(ValueRef::Int(7)));
        let b2 = p1.with(2, Some(ValueRef::Str("hé")));
        let (p2, _) = PropBlob::parse(&b2).unwrap();
        let b3 = p2.with(1, Some(ValueRef::Bytes(b"\0x")));
        let (p3, _) = PropBlob::parse(&b3).unwrap();
        assert_eq!(p3.get(1), Some(ValueRef::Bytes(b"\0x")));
        assert_eq!(p3.get(2), Some(ValueRef::Str("hé")));
        assert_eq!(p3.len(), 2);
        let b4 = p3.with(2, None);
        let (p4, _) = PropBlob::parse(&b4).unwrap();
        assert_eq!(p4.get(2), None);
        for v in [ValueRef::Null, ValueRef::Bool(true), ValueRef::Float(-0.5)] {
            let b = PropBlob::EMPTY.with(9, Some(v));
            assert_eq!(PropBlob::parse(&b).unwrap().0.get(9), Some(v));
        }
    }

    #[test]
    fn blob_crc_is_the_crc_of_length_then_body() {
        let body: Vec<u8> = (0..300u32).map(|i| ((i * 37) ^ 0x5a) as u8).collect();
        for n in [0, 1, 27, 123, 124, 125, 300] {
            let mut h = crc32fast::Hasher::new();
            h.update(&(n as u32).to_le_bytes());
            h.update(&body[..n]);
            assert_eq!(blob_crc(n as u32, &body[..n]), h.finalize(), "{n} bytes");
        }
    }

    #[test]
    fn find_checks_the_entries_it_walks() {
        // A blob whose checksum is right but whose second entry is not UTF-8.
        let mut body = Vec::new();
        body.put_u32(1);
        ValueRef::Int(7).encode(&mut body);
        body.put_u32(2);
        ValueRef::Bytes(b"\xff").encode(&mut body);
        body[13 + 4] = 4; // the bytes' tag becomes a string's
        body.put_u32(3);
        ValueRef::Int(8).encode(&mut body);
        let b = seal(&body);
        assert!(PropBlob::parse(&b).is_err());
        let (p, n) = PropBlob::parse_sealed(&b).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(p.find(1), Ok(Some(ValueRef::Int(7))));
        assert!(p.find(2).is_err());
        assert!(p.find(3).is_err(), "the bad entry lies before key 3");
        assert!(p.find(4).is_err());
        assert!(p.check_entries().is_err());
        let mut d = b.clone();
        d[9] ^= 1;
        assert!(
            PropBlob::parse_sealed(&d).is_err(),
            "the checksum is still checked"
        );
    }

    #[test]
    fn blob_rejects_damage() {
        let b = PropBlob::EMPTY.with(1, Some(ValueRef::Str("abc")));
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut d = b.clone();
                d[i] ^= 1 << bit;
                // CRC32 catches every single-bit error; a damaged length truncates.
                assert!(PropBlob::parse(&d).is_err(), "byte {i} bit {bit}");
            }
        }
        for n in 0..b.len() {
            assert!(PropBlob::parse(&b[..n]).is_err());
        }
        assert!(
            PropBlob::parse(&[0u8; 16]).is_err(),
            "a zeroed blob is not an empty one"
        );
    }
}
