//! Test machinery, for this crate's tests, fuzz targets and benchmarks only (feature
//! `testing`, which the released library does not turn on). Nothing here is part of the
//! API: it exposes the layers below the public one so that tests can damage files byte by
//! byte, fail the Nth write and decode what is on disk.

pub use crate::io::{FaultKind, FaultStorage, RealStorage, SplitMix64, Storage, StorageFile};

/// The on-disk encodings (ARCHITECTURE.md, "Files").
pub mod format {
    pub use crate::format::frame::SegmentHeader;
    pub use crate::format::props::PropBlob;
    pub use crate::format::{EdgeRec, Frame, Meta, NodeRec, Reader, Value, ValueRef};
    pub use crate::format::{adj, props::unseal};
    /// Log frames and segment headers.
    pub mod frame {
        pub use crate::format::frame::{
            SEGMENT_END_LEN, SEGMENT_HEADER, Target, parse_segment_name, sample_frames,
            sample_values, segment_name,
        };
    }
    /// Meta slots.
    pub mod meta {
        pub use crate::format::meta::{FORMAT_VERSION, META_LEN, META_SLOT_OFFSETS, MetaError};
    }
    /// Node and edge records.
    pub mod record {
        pub use crate::format::record::{
            EDGE_SIZE, FLAG_DELETED, FLAG_EMPTY, FLAG_LIVE, MAX_48, NODE_SIZE,
        };
    }
    /// Property blobs.
    pub mod props {
        pub use crate::format::props::BLOB_HEADER;
    }
    /// Label index chunks (the `labels` file is a sequence of them).
    pub mod labels {
        pub use crate::format::labels::{CHUNK_HEADER, chunk_head, decode_chunk, encode_chunk};
    }
    /// The property heap's free list; its blob body is what `FreeSpace::decode_body` reads,
    /// or a delta's, what `Delta::decode_body` reads.
    pub mod free {
        pub use crate::store::{BlobRef, Delta, FreeSpace, minus};
    }
}

use crate::{Database, Options, Result};
use std::sync::Arc;

/// Opens the database in `fs`, as [`Database::open`] does for a path (tests pass a
/// [`FaultStorage`]).
pub fn open_storage(fs: Arc<dyn Storage>, opts: &Options) -> Result<Database> {
    Database::open_storage(fs, opts)
}

/// Writes a backup of `db`'s latest commit into the empty directory `fs`, as
/// [`Database::backup`] does before renaming it into place (tests pass a [`FaultStorage`]
/// to fail the copy's writes and to see what a power loss would leave of it).
pub fn backup_into(
    db: &Database,
    fs: Arc<dyn Storage>,
    opts: crate::BackupOptions<'_>,
) -> Result<crate::BackupReport> {
    let txn = db.begin_read()?;
    crate::db::write_copy(&txn, fs, opts)
}
