//! The reading half of an import. The engine has one writer, so the part of an import
//! that can run beside it is everything but the writing: a thread reads a file's records
//! and checks each one completely (field count, UTF-8, property values, the label or type,
//! and against the id map, which it owns while it reads: that a node's id is new, that a
//! relationship's ends exist), and hands them to the writing thread in batches, in file
//! order. The writer reports the bad rows as it meets them, so they are reported in file
//! order, each after every row before it was written.
//!
//! Batches travel over a bounded channel and come back to be refilled, so the reader is
//! never more than [`QUEUED`] batches ahead, and records, their buffers and the batches'
//! vectors are reused rather than allocated per row.

use super::{Bad, Col, Id, IdMap, PropType, parse_id, row_name};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use csv::StringRecord;
use quiver::ValueRef;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender};

/// Records per batch: enough that passing a batch costs nothing per row, few enough that
/// the writer starts at once and the batches in flight stay small.
const BATCH_ROWS: usize = 4096;

/// Bytes of input per batch, at most (and one record): wide rows make smaller batches.
const BATCH_BYTES: u64 = 1 << 20;

/// Full batches the reader may have waiting for the writer before it waits too.
pub const QUEUED: usize = 2;

/// A stretch of a record's text (of [`StringRecord::as_slice`], its fields end to end).
#[derive(Clone, Copy)]
pub struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The text of this span in `rec`, the record it was taken from.
    pub fn of(self, rec: &StringRecord) -> &str {
        &rec.as_slice()[self.start..self.end]
    }
}

/// A property value as read; its text, if any, stays in the record.
pub enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Span),
    Bytes(Vec<u8>),
}

impl Val {
    /// The value, borrowing `rec` (the record it was read from) for text.
    pub fn value<'r>(&'r self, rec: &'r StringRecord) -> ValueRef<'r> {
        match self {
            Val::Int(v) => ValueRef::Int(*v),
            Val::Float(v) => ValueRef::Float(*v),
            Val::Bool(v) => ValueRef::Bool(*v),
            Val::Str(s) => ValueRef::Str(s.of(rec)),
            Val::Bytes(b) => ValueRef::Bytes(b),
        }
    }
}

/// A row's label or type: its own, or the one `--nodes=`/`--relationships=` gave.
#[derive(Clone, Copy)]
pub enum Name {
    Given,
    Own(Span),
}

/// A node row, good: its id was new and is now claimed for it.
pub struct NodeRow {
    pub label: Name,
    /// Its property values in [`Batch::vals`], the id's first if the id column is named.
    pub props: Range<usize>,
}

/// A relationship row, good: its ends are the nodes at these places (of the id map).
pub struct EdgeRow {
    pub src: u64,
    pub dst: u64,
    pub ty: Name,
    /// Its property values in [`Batch::vals`].
    pub props: Range<usize>,
}

/// A good record.
pub enum Checked {
    Node(NodeRow),
    Edge(EdgeRow),
}

/// One record of the file.
pub struct Parsed {
    /// Its first line (lines count physical lines, as the reader's positions do).
    pub line: u64,
    /// The row to write, or why it is bad.
    pub check: Result<Checked, Bad>,
}

/// Consecutive records of a file.
#[derive(Default)]
pub struct Batch {
    /// The records; the first `rows.len()` belong to this batch, any others are kept for
    /// reuse (a record keeps its buffers).
    pub records: Vec<StringRecord>,
    /// What the reader found in each record, in the same order.
    pub rows: Vec<Parsed>,
    /// The rows' property values: the column that names the property, and the value.
    pub vals: Vec<(usize, Val)>,
    /// The file's byte offset after the batch's last record (for the progress bar).
    pub byte: u64,
    /// Reading the file failed after the last record; the reader stopped there.
    pub failed: Option<String>,
}

/// Reads one file (the header already read and checked) and checks its records.
pub struct Reader<'a> {
    pub rdr: csv::Reader<std::fs::File>,
    /// The file name, for messages.
    pub name: &'a str,
    pub cols: &'a [Col],
    /// The label or type `--nodes=`/`--relationships=` gave ("" when none).
    pub default: &'a str,
    pub nodes: bool,
    /// `--id-type integer`.
    pub int_ids: bool,
    pub ids: &'a mut IdMap,
}

impl Reader<'_> {
    /// Sends the file's records to `full` in batches until the end of the file, a read
    /// failure (carried by the last batch) or the writer going away. Batches come back
    /// on `empty`; a new one is made only when none has come back yet.
    pub fn run(mut self, full: SyncSender<Batch>, empty: Receiver<Batch>) {
        loop {
            let mut batch = empty.try_recv().unwrap_or_default();
            batch.rows.clear();
            batch.vals.clear();
            batch.failed = None;
            let more = self.fill(&mut batch);
            if full.send(batch).is_err() || !more {
                return;
            }
        }
    }

    /// Reads up to [`BATCH_ROWS`] records or [`BATCH_BYTES`] into `b`; false at the end of
    /// the file or after a read failure.
    fn fill(&mut self, b: &mut Batch) -> bool {
        let mut more = true;
        let first = self.rdr.position().byte();
        while b.rows.len() < BATCH_ROWS && self.rdr.position().byte() - first < BATCH_BYTES {
            let n = b.rows.len();
            if b.records.len() == n {
                b.records.push(StringRecord::new());
            }
            let rec = &mut b.records[n];
            let line = self.rdr.position().line();
            match self.rdr.read_record(rec) {
                Ok(false) => {
                    more = false;
                    break;
                }
                Ok(true) => {}
                Err(e) => {
                    if let csv::ErrorKind::Utf8 { .. } = e.kind() {
                        // The record is left empty; the next one reads normally.
                        let line = e.position().map_or(line, |p| p.line());
                        let check = Err(Bad::row("not UTF-8"));
                        b.rows.push(Parsed { line, check });
                        continue;
                    }
                    b.failed = Some(format!("read {}: {e}", self.name));
                    more = false;
                    break;
                }
            }
            let line = rec.position().map_or(line, |p| p.line());
            let start = b.vals.len();
            let check = self.check(rec, &mut b.vals);
            if check.is_err() {
                b.vals.truncate(start);
            }
            b.rows.push(Parsed { line, check });
        }
        b.byte = self.rdr.position().byte();
        more
    }

    /// The record's row, its property values pushed onto `vals`; or why it is bad.
    fn check(&mut self, rec: &StringRecord, vals: &mut Vec<(usize, Val)>) -> Result<Checked, Bad> {
        if rec.len() != self.cols.len() {
            return Err(Bad::row(format!(
                "{} fields; the header has {}",
                rec.len(),
                self.cols.len()
            )));
        }
        if self.nodes {
            self.node(rec, vals).map(Checked::Node)
        } else {
            self.edge(rec, vals).map(Checked::Edge)
        }
    }

    /// A node row: its checks, in the order their problems are reported, and then its id
    /// claimed.
    fn node(&mut self, rec: &StringRecord, vals: &mut Vec<(usize, Val)>) -> Result<NodeRow, Bad> {
        let mut id = None;
        let mut label = None;
        for (i, (c, (s, span))) in self.cols.iter().zip(fields(rec)).enumerate() {
            match c {
                Col::Id { name, group } => id = Some((i, s, span, name.is_some(), *group)),
                Col::Label => {
                    let mut labels = pieces(s, span, ';').filter(|(l, _)| !l.is_empty());
                    label = labels.next();
                    let extra = labels.next().is_some()
                        || label
                            .is_some_and(|(l, _)| !self.default.is_empty() && l != self.default);
                    if extra {
                        return Err(Bad::at(
                            i,
                            format!("several labels ({s:?}): Quiver nodes have one label"),
                        ));
                    }
                }
                _ => {}
            }
        }
        let Some((id_col, key, key_span, named, group)) = id else {
            return Err(Bad::row("no id column"));
        };
        if key.is_empty() {
            return Err(Bad::at(id_col, "the id is empty"));
        }
        let label = self.name(label, "label", "--nodes")?;
        let start = vals.len();
        if named {
            // Its value is filled in below, once the properties are known to be good.
            vals.push((id_col, Val::Str(key_span)));
        }
        self.props(rec, vals)?;
        let id = if self.int_ids {
            let v = parse_id(key).map_err(|m| Bad::at(id_col, m))?;
            if named {
                vals[start].1 = Val::Int(v);
            }
            Id::Int(v)
        } else {
            Id::Str(key)
        };
        if self.ids.claim(group, id).is_none() {
            return Err(Bad::at(id_col, format!("duplicate id {key:?}")));
        }
        Ok(NodeRow {
            label,
            props: start..vals.len(),
        })
    }

    /// A relationship row: its ends, in column order, then its other checks.
    fn edge(&self, rec: &StringRecord, vals: &mut Vec<(usize, Val)>) -> Result<EdgeRow, Bad> {
        let (mut src, mut dst, mut ty) = (None, None, None);
        for (i, (c, (s, span))) in self.cols.iter().zip(fields(rec)).enumerate() {
            let (end, group, what) = match c {
                Col::StartId { group } => (&mut src, *group, "start"),
                Col::EndId { group } => (&mut dst, *group, "end"),
                Col::Type => {
                    if !s.is_empty() {
                        ty = Some((s, span));
                    }
                    continue;
                }
                _ => continue,
            };
            let id = if self.int_ids {
                Id::Int(parse_id(s).map_err(|m| Bad::at(i, m))?)
            } else {
                Id::Str(s)
            };
            let Some(place) = self.ids.lookup(group, id) else {
                return Err(Bad::at(
                    i,
                    format!("missing {what} node: no node has id {s:?} in this id group"),
                ));
            };
            *end = Some(place);
        }
        let (Some(src), Some(dst)) = (src, dst) else {
            return Err(Bad::row("no start or end id"));
        };
        let ty = self.name(ty, "type", "--relationships")?;
        let start = vals.len();
        self.props(rec, vals)?;
        Ok(EdgeRow {
            src,
            dst,
            ty,
            props: start..vals.len(),
        })
    }

    /// The row's label or type, checked as [`row_name`] checks it.
    fn name(&self, given: Option<(&str, Span)>, what: &str, flag: &str) -> Result<Name, Bad> {
        row_name(given.map(|(s, _)| s), self.default, what, flag)?;
        Ok(given.map_or(Name::Given, |(_, span)| Name::Own(span)))
    }

    /// The row's non-empty property cells, parsed, onto `vals`.
    fn props(&self, rec: &StringRecord, vals: &mut Vec<(usize, Val)>) -> Result<(), Bad> {
        for (i, (c, (s, span))) in self.cols.iter().zip(fields(rec)).enumerate() {
            if let Col::Prop { ty, .. } = c {
                if s.is_empty() {
                    continue;
                }
                vals.push((i, parse_cell(s, span, *ty).map_err(|m| Bad::at(i, m))?));
            }
        }
        Ok(())
    }
}

/// The record's fields, each with its span.
fn fields(rec: &StringRecord) -> impl Iterator<Item = (&str, Span)> {
    let mut at = 0;
    rec.iter().map(move |s| {
        let span = Span {
            start: at,
            end: at + s.len(),
        };
        at = span.end;
        (s, span)
    })
}

/// `s` (at `span`) split at `sep`, each piece with its span.
fn pieces(s: &str, span: Span, sep: char) -> impl Iterator<Item = (&str, Span)> {
    let mut at = span.start;
    s.split(sep).map(move |p| {
        let piece = Span {
            start: at,
            end: at + p.len(),
        };
        at = piece.end + sep.len_utf8();
        (p, piece)
    })
}

fn parse_cell(s: &str, span: Span, ty: PropType) -> Result<Val, String> {
    let t = s.trim();
    Ok(match ty {
        PropType::Int { min, max } => {
            let v: i64 = t.parse().map_err(|_| format!("{s:?} is not an integer"))?;
            if v < min || v > max {
                return Err(format!("{s:?} is out of range ({min}..={max})"));
            }
            Val::Int(v)
        }
        PropType::Float => Val::Float(t.parse().map_err(|_| format!("{s:?} is not a number"))?),
        PropType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => return Err(format!("{s:?} is not true or false")),
        },
        PropType::Str => Val::Str(span),
        PropType::Bytes => Val::Bytes(
            B64.decode(t)
                .map_err(|e| format!("{s:?} is not base64: {e}"))?,
        ),
    })
}
