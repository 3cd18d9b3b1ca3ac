//! The label index: where the chunks of each label lie in the `labels` file
//! (format in `format/labels.rs`). The file is append-only; each checkpoint appends one
//! chunk per label for the nodes it adds, and the meta slot records the valid length.

use super::DataFile;
use crate::error::{Error, Result};
use crate::format::labels::{chunk_head, decode_chunk};
use crate::io::Mapping;
use std::collections::HashMap;

/// A chunk a checkpoint appended: (label, offset, length).
pub type Added = (u32, u64, usize);

/// The chunks of the `labels` file up to a checkpoint's length: they list, by label,
/// every node with an id below `bound` that was live at that checkpoint.
#[derive(Debug, Clone, Default)]
pub struct LabelIndex {
    /// Node ids below this are listed (the checkpoint's next node id).
    pub bound: u64,
    /// Valid length of the file.
    pub len: u64,
    /// Label -> (offset, length) of its chunks, in file order (so in id order).
    chunks: HashMap<u32, Vec<(u64, usize)>>,
}

impl LabelIndex {
    /// An index over nothing, below node id `bound`.
    pub fn empty(bound: u64) -> LabelIndex {
        LabelIndex {
            bound,
            ..LabelIndex::default()
        }
    }

    /// Walks the chunk headers of `file` up to `len` (no body is read).
    pub fn load(file: &DataFile, len: u64, bound: u64) -> Result<LabelIndex> {
        let mut ix = LabelIndex::empty(bound);
        ix.len = len;
        let map = file.current();
        let mut at = 0u64;
        while at < len {
            let head = file
                .read(&map, at, 12)
                .ok_or_else(|| bad(file, at, "a chunk header runs past the end"))?;
            let (n, label) = chunk_head(head).map_err(|e| bad(file, at, &e.to_string()))?;
            if at + n as u64 > len {
                return Err(bad(
                    file,
                    at,
                    &format!("a chunk of {n} bytes runs past the checkpoint's length {len}"),
                ));
            }
            ix.chunks.entry(label).or_default().push((at, n));
            at += n as u64;
        }
        Ok(ix)
    }

    /// This index with the chunks `added` ((label, offset, length), in file order)
    /// appended, now covering ids below `bound` and the file up to `len`.
    pub fn with(&self, added: &[Added], bound: u64, len: u64) -> LabelIndex {
        let mut ix = self.clone();
        for &(label, off, n) in added {
            ix.chunks.entry(label).or_default().push((off, n));
        }
        ix.bound = bound;
        ix.len = len;
        ix
    }

    /// The labels that have chunks.
    pub fn labels(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.keys().copied()
    }

    /// The chunks of `label`.
    pub fn chunks(&self, label: u32) -> &[(u64, usize)] {
        self.chunks.get(&label).map_or(&[], Vec::as_slice)
    }
}

/// The ids of the chunk at `off` (`n` bytes) of `label`, verified.
pub fn read_chunk(
    file: &DataFile,
    map: &Mapping,
    off: u64,
    n: usize,
    label: u32,
) -> Result<Vec<u64>> {
    let bytes = file
        .read(map, off, n)
        .ok_or_else(|| bad(file, off, "the chunk runs past the end of the file"))?;
    let (l, ids, total) = decode_chunk(bytes).map_err(|e| bad(file, off, &e.to_string()))?;
    if l != label || total != n {
        return Err(bad(
            file,
            off,
            &format!("the chunk is of label {l} ({total} bytes), not of label {label} ({n} bytes)"),
        ));
    }
    Ok(ids)
}

fn bad(file: &DataFile, at: u64, why: &str) -> Error {
    Error::Corrupt(format!(
        "{} offset {at}: label index: {why}",
        file.path().display()
    ))
}
