//! Label index chunks: the `labels` file is a sequence of them, appended by checkpoints.
//! A chunk lists, for one label, the nodes of that label a checkpoint added (their ids
//! increase from chunk to chunk of a label, and within a chunk).
//!
//! ```text
//! 0  u32 body length B
//! 4  u32 CRC32 of bytes 0..4 and the body
//! 8  body: u32 label (string id) | varint count (>= 1) | varint first id (>= 1)
//!          | count - 1 varints: each id minus the one before it (>= 1)
//! ```
//! Varints are LEB128 (7 bits per byte, low bits first, at most 10 bytes, no redundant
//! trailing zero bytes), so consecutive ids cost one byte each.

use super::bytes::DecodeError;

/// Bytes before a chunk's body.
pub const CHUNK_HEADER: usize = 8;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(b: &[u8], at: &mut usize) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b
            .get(*at)
            .ok_or(DecodeError::Invalid("label chunk: truncated varint"))?;
        *at += 1;
        let bits = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return Err(DecodeError::Invalid("label chunk: varint out of range"));
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(DecodeError::Invalid("label chunk: redundant varint byte"));
            }
            return Ok(v);
        }
    }
    Err(DecodeError::Invalid("label chunk: varint too long"))
}

fn crc(len: u32, body: &[u8]) -> u32 {
    let mut h = super::crc::Crc::new();
    h.update(&len.to_le_bytes());
    h.update(body);
    h.finalize()
}

/// Encodes the chunk of `label` listing `ids` (increasing, not empty, none 0).
pub fn encode_chunk(label: u32, ids: &[u64]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + ids.len());
    body.extend_from_slice(&label.to_le_bytes());
    put_varint(&mut body, ids.len() as u64);
    let mut prev = 0;
    for &id in ids {
        put_varint(&mut body, id - prev);
        prev = id;
    }
    let mut out = Vec::with_capacity(CHUNK_HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc(body.len() as u32, &body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The total length and label of the chunk starting at `b[0]`, from its header and the
/// first body bytes only (`b` may be longer; nothing else is checked).
pub fn chunk_head(b: &[u8]) -> Result<(usize, u32), DecodeError> {
    let word = |at: usize| -> Result<u32, DecodeError> {
        let w = b.get(at..at + 4).ok_or(DecodeError::Truncated {
            at,
            need: 4,
            have: b.len().saturating_sub(at),
        })?;
        Ok(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    };
    let len = word(0)? as usize;
    if len < 6 {
        return Err(DecodeError::Invalid("label chunk: body too short"));
    }
    Ok((CHUNK_HEADER + len, word(8)?))
}

/// Decodes and verifies the chunk starting at `b[0]` (`b` may be longer): its label and
/// ids (increasing, none 0), and its total length.
pub fn decode_chunk(b: &[u8]) -> Result<(u32, Vec<u64>, usize), DecodeError> {
    let (total, label) = chunk_head(b)?;
    let whole = b.get(..total).ok_or(DecodeError::Truncated {
        at: 0,
        need: total,
        have: b.len(),
    })?;
    let stored = u32::from_le_bytes([whole[4], whole[5], whole[6], whole[7]]);
    let body = &whole[CHUNK_HEADER..];
    let computed = crc(body.len() as u32, body);
    if stored != computed {
        return Err(DecodeError::Checksum { stored, computed });
    }
    let mut at = 4;
    let n = varint(body, &mut at)?;
    if n == 0 || n > body.len() as u64 {
        return Err(DecodeError::Invalid("label chunk: bad count"));
    }
    let mut ids = Vec::with_capacity(n as usize);
    let mut prev = 0u64;
    for _ in 0..n {
        let d = varint(body, &mut at)?;
        if d == 0 {
            return Err(DecodeError::Invalid("label chunk: ids not increasing"));
        }
        prev = prev
            .checked_add(d)
            .ok_or(DecodeError::Invalid("label chunk: id out of range"))?;
        ids.push(prev);
    }
    if at != body.len() {
        return Err(DecodeError::Invalid("label chunk: bytes after the last id"));
    }
    Ok((label, ids, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_round_trip() {
        for ids in [
            vec![1u64],
            vec![5, 6, 7, 200, 1 << 20, (1 << 48) - 1],
            (1..1000).map(|i| i * 8 + 3).collect(),
        ] {
            let b = encode_chunk(42, &ids);
            let mut longer = b.clone();
            longer.extend_from_slice(&[0xff; 9]);
            assert_eq!(decode_chunk(&longer), Ok((42, ids.clone(), b.len())));
            assert_eq!(chunk_head(&longer), Ok((b.len(), 42)));
        }
    }

    #[test]
    fn chunk_damage_is_refused() {
        let b = encode_chunk(7, &[3, 4, 90]);
        for i in 0..b.len() {
            let mut d = b.clone();
            d[i] ^= 0x01;
            assert!(decode_chunk(&d).is_err(), "byte {i}");
        }
        assert!(decode_chunk(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn varints_refuse_redundant_and_long_forms() {
        let mut at = 0;
        assert_eq!(varint(&[0x80, 0x01], &mut at), Ok(128));
        at = 0;
        assert!(varint(&[0x81, 0x00], &mut at).is_err());
        at = 0;
        assert!(varint(&[0xff; 11], &mut at).is_err());
        at = 0;
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&max, &mut at), Ok(u64::MAX));
    }
}
