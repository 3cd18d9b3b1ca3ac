//! The `meta` file: two 512-byte slots at offsets 0 and 4096. A checkpoint writes the slot
//! not holding the newest valid generation; open takes the valid slot with the highest
//! generation, so a torn slot write leaves the other intact.
//!
//! ```text
//! 0   [u8; 8] magic "QUIVERDB"
//! 8   u32 format version (3)
//! 12  u32 reserved (0)
//! 16  u64 generation (increases by one per checkpoint)
//! 24  u64 database id (random; also in every log segment header)
//! 32  u64 checkpoint LSN: the log position recovery starts from
//! 40  u64 last checkpointed transaction id
//! 48  u64 next node id
//! 56  u64 next edge id
//! 64  u64 string count
//! 72  u64 strings file length
//! 80  u64 heap (props file) length
//! 88  u64 live nodes
//! 96  u64 live edges
//! 104 u64 free list: heap offset of the free-list blob (0: no free space)
//! 112 u64 free list: the blob's length, header included
//! 120 u32 free list: the CRC32 in the blob's header
//! 124 u32 reserved (0)
//! 128 u64 labels file length (the label index chunks the checkpoint wrote)
//! 136 u32 CRC32 of bytes 0..136
//! ```

use super::bytes::{DecodeError, Reader};

/// Magic at the start of each slot.
pub const META_MAGIC: &[u8; 8] = b"QUIVERDB";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 4;
/// Offset of slot `i` (0 or 1) in the meta file.
pub const META_SLOT_OFFSETS: [u64; 2] = [0, 4096];
/// Bytes of a slot that are checked.
pub const META_LEN: usize = 140;
/// Bytes covered by the slot's CRC.
const BODY: usize = 136;

/// The checkpointed state of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Increases by one with each checkpoint.
    pub generation: u64,
    /// Random id shared by the meta file and the log segments.
    pub db_id: u64,
    /// Where recovery starts reading the log.
    pub checkpoint_lsn: u64,
    /// The newest transaction whose effects are in the data files.
    pub last_txn: u64,
    /// The next node id to hand out.
    pub next_node: u64,
    /// The next edge id to hand out.
    pub next_edge: u64,
    /// Strings in the `strings` file.
    pub string_count: u64,
    /// Valid length of the `strings` file.
    pub strings_len: u64,
    /// Valid length of the `props` heap.
    pub heap_len: u64,
    /// Live nodes at the checkpoint.
    pub live_nodes: u64,
    /// Live edges at the checkpoint.
    pub live_edges: u64,
    /// Heap offset of the free-list blob (0: none).
    pub free_off: u64,
    /// Length of the free-list blob, header included.
    pub free_len: u64,
    /// The CRC32 in the free-list blob's header (a blob found there with another CRC is
    /// not this checkpoint's list).
    pub free_crc: u32,
    /// Valid length of the `labels` file: its chunks list every node below `next_node`
    /// by label.
    pub labels_len: u64,
}

/// Why a meta slot was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaError {
    /// Damaged or never written.
    Bad(DecodeError),
    /// A Quiver file of another format version.
    Version(u32),
}

impl Meta {
    /// Encodes one slot.
    pub fn encode(&self) -> [u8; META_LEN] {
        let mut b = [0u8; META_LEN];
        b[0..8].copy_from_slice(META_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let words = [
            self.generation,
            self.db_id,
            self.checkpoint_lsn,
            self.last_txn,
            self.next_node,
            self.next_edge,
            self.string_count,
            self.strings_len,
            self.heap_len,
            self.live_nodes,
            self.live_edges,
            self.free_off,
            self.free_len,
            u64::from(self.free_crc),
            self.labels_len,
        ];
        for (i, w) in words.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        let crc = crate::format::crc::hash(&b[..BODY]);
        b[BODY..META_LEN].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes one slot.
    pub fn decode(b: &[u8]) -> Result<Meta, MetaError> {
        let mut r = Reader::new(b);
        let magic = r.take(8).map_err(MetaError::Bad)?;
        if magic != META_MAGIC {
            return Err(MetaError::Bad(DecodeError::Invalid("meta magic")));
        }
        let version = r.u32().map_err(MetaError::Bad)?;
        let reserved = r.u32().map_err(MetaError::Bad)?;
        // A slot of another version that verifies as format 2 did (CRC over bytes 0..104,
        // at 104) is an older (or other) database, not damage: the caller names both
        // versions. One that verifies as this format does is caught below.
        if version != FORMAT_VERSION && b.len() >= 108 {
            let stored = u32::from_le_bytes([b[104], b[105], b[106], b[107]]);
            if stored == crate::format::crc::hash(&b[..104]) {
                return Err(MetaError::Version(version));
            }
        }
        let body = b.get(..BODY).ok_or(MetaError::Bad(DecodeError::Truncated {
            at: 0,
            need: META_LEN,
            have: b.len(),
        }))?;
        let mut c = Reader::new(&b[BODY..]);
        let stored = c.u32().map_err(MetaError::Bad)?;
        let computed = crate::format::crc::hash(body);
        if stored != computed {
            return Err(MetaError::Bad(DecodeError::Checksum { stored, computed }));
        }
        // The version comes first: a later format may use the reserved field.
        if version != FORMAT_VERSION {
            return Err(MetaError::Version(version));
        }
        if reserved != 0 {
            return Err(MetaError::Bad(DecodeError::Invalid("meta reserved field")));
        }
        let mut r = Reader::new(&b[16..BODY]);
        let mut w = [0u64; 15];
        for x in w.iter_mut() {
            *x = r.u64().map_err(MetaError::Bad)?;
        }
        // The free list's CRC is a u32 in the low half of its word; the high half is 0.
        let free_crc = u32::try_from(w[13])
            .map_err(|_| MetaError::Bad(DecodeError::Invalid("meta reserved field")))?;
        Ok(Meta {
            generation: w[0],
            db_id: w[1],
            checkpoint_lsn: w[2],
            last_txn: w[3],
            next_node: w[4],
            next_edge: w[5],
            string_count: w[6],
            strings_len: w[7],
            heap_len: w[8],
            live_nodes: w[9],
            live_edges: w[10],
            free_off: w[11],
            free_len: w[12],
            free_crc,
            labels_len: w[14],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trip_and_damage() {
        let m = Meta {
            generation: 3,
            db_id: 99,
            next_node: 5,
            heap_len: 16,
            free_off: 16,
            free_len: 24,
            free_crc: 0xdead_beef,
            labels_len: 99,
            ..Meta::default()
        };
        let b = m.encode();
        assert_eq!(Meta::decode(&b), Ok(m));
        for i in 0..META_LEN {
            let mut d = b;
            d[i] ^= 0x10;
            assert!(Meta::decode(&d).is_err(), "byte {i}");
        }
        assert!(Meta::decode(&b[..50]).is_err());
    }

    /// A format-2 slot (CRC over bytes 0..104) is recognised as that version, not as
    /// damage; a damaged one is damage.
    #[test]
    fn format_2_slot_is_a_version_error() {
        let mut b = [0u8; META_LEN];
        b[0..8].copy_from_slice(META_MAGIC);
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        b[16..24].copy_from_slice(&7u64.to_le_bytes());
        let crc = crate::format::crc::hash(&b[..104]);
        b[104..108].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Meta::decode(&b), Err(MetaError::Version(2)));
        b[20] ^= 1;
        assert!(matches!(Meta::decode(&b), Err(MetaError::Bad(_))));
    }
}
