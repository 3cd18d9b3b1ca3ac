//! `quiver import`: Neo4j admin-import CSV files (the subset TOOLS.md gives) into a new
//! database, all or nothing.
//!
//! Files are streamed: a second thread reads and checks records (`read`) while this one
//! writes them, a bounded number of batches behind, so the only thing that grows with the
//! input is the map from (id group, external id) to node id. Each row is parsed and
//! checked completely before anything of it is written, so `--skip-bad-rows` never leaves
//! half a row behind.

use crate::fail::Fail;
use crate::stage::{Batches, Staged};
use clap::ArgMatches;
use quiver::ValueRef;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

mod read;

/// How external ids are read.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdType {
    /// Any string (the default).
    String,
    /// A 64-bit integer; a named id column is stored as an int property.
    Integer,
}

/// Arguments of `quiver import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The database directory to create (it must not exist).
    db: PathBuf,
    /// The files after it are node files; `=Label` gives the label of rows without one.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "",
          value_name = "Label", action = clap::ArgAction::Append)]
    nodes: Vec<String>,
    /// The files after it are relationship files; `=TYPE` gives the type of rows without one.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "",
          value_name = "TYPE", action = clap::ArgAction::Append)]
    relationships: Vec<String>,
    /// CSV files, each after the --nodes or --relationships it belongs to.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The field delimiter: one character, or `TAB`.
    #[arg(long, default_value = ",", value_name = "C")]
    delimiter: String,
    /// How ids are compared: as strings, or as integers.
    #[arg(long, value_enum, default_value = "string")]
    id_type: IdType,
    /// Skip bad rows instead of rejecting the import; each goes to the report.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Where skipped rows are written, one JSON object per line.
    #[arg(long, value_name = "FILE", default_value = "import.report")]
    report: PathBuf,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// One input file and what it holds.
struct Input {
    path: PathBuf,
    nodes: bool,
    /// The label or type given with `--nodes=`/`--relationships=` ("" when none).
    default: String,
}

/// Pairs each file with the `--nodes`/`--relationships` before it, by argument position.
fn inputs(args: &ImportArgs, m: &ArgMatches) -> Result<Vec<Input>, Fail> {
    let mut marks: Vec<(usize, bool, String)> = Vec::new();
    for (id, nodes, values) in [
        ("nodes", true, &args.nodes),
        ("relationships", false, &args.relationships),
    ] {
        if let Some(idx) = m.indices_of(id) {
            for (i, v) in idx.zip(values) {
                marks.push((i, nodes, v.clone()));
            }
        }
    }
    marks.sort_by_key(|m| m.0);
    let idx: Vec<usize> = m
        .indices_of("files")
        .map(|i| i.collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, path) in idx.iter().zip(&args.files) {
        let Some((_, nodes, default)) = marks.iter().rev().find(|m| m.0 < *i) else {
            return Err(usage(format!(
                "{}: give --nodes or --relationships before each file",
                path.display()
            )));
        };
        out.push(Input {
            path: path.clone(),
            nodes: *nodes,
            default: default.clone(),
        });
    }
    // Nodes first (relationships need their endpoints), each kind in the order given.
    out.sort_by_key(|i| !i.nodes);
    Ok(out)
}

fn usage(msg: String) -> Fail {
    Fail::Usage(msg)
}

/// A property column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PropType {
    Int { min: i64, max: i64 },
    Float,
    Bool,
    Str,
    Bytes,
}

/// What a column holds.
#[derive(Clone, Debug)]
enum Col {
    Id { name: Option<String>, group: usize },
    StartId { group: usize },
    EndId { group: usize },
    Label,
    Type,
    Ignore,
    Prop { name: String, ty: PropType },
}

/// The engine's identifier rule (non-empty, at most 1024 bytes, no NUL), checked before
/// a row is written so a bad one is a bad row, not a failed import.
fn ident_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        Some("is empty".into())
    } else if s.len() > 1024 {
        Some(format!("is {} bytes; the limit is 1024", s.len()))
    } else if s.contains('\0') {
        Some("contains a NUL byte".into())
    } else {
        None
    }
}

/// A row's label or type (`what`): the row's own, else the `flag` option's `default`,
/// checked against the identifier rule.
fn row_name<'a>(
    given: Option<&'a str>,
    default: &'a str,
    what: &str,
    flag: &str,
) -> Result<&'a str, Bad> {
    let name = given
        .or((!default.is_empty()).then_some(default))
        .ok_or_else(|| Bad::row(format!("no {what}: the row has none and {flag} gave none")))?;
    match ident_problem(name) {
        Some(p) => Err(Bad::row(format!("the {what} {p}"))),
        None => Ok(name),
    }
}

/// Id groups by name: one namespace each.
#[derive(Default)]
struct Groups {
    names: HashMap<String, usize>,
}

impl Groups {
    fn get(&mut self, name: &str) -> usize {
        let n = self.names.len();
        *self.names.entry(name.to_string()).or_insert(n)
    }
}

/// Splits `name:TYPE(group)` into its parts.
fn parse_field(field: &str, groups: &mut Groups) -> Result<Col, String> {
    let (name, ty) = match field.find(':') {
        // A colon followed by a type keyword; names may not hold one anyway.
        Some(i) => (&field[..i], Some(&field[i + 1..])),
        None => (field, None),
    };
    let Some(ty) = ty else {
        if let Some(p) = ident_problem(name) {
            return Err(format!("the property name {p}"));
        }
        return Ok(Col::Prop {
            name: name.to_string(),
            ty: PropType::Str,
        });
    };
    let (kw, group) = match ty.find('(') {
        Some(i) if ty.ends_with(')') => (&ty[..i], Some(&ty[i + 1..ty.len() - 1])),
        Some(_) => return Err("unbalanced parenthesis in the id group".into()),
        None => (ty, None),
    };
    let group_id = groups.get(group.unwrap_or(""));
    let named = (!name.is_empty()).then(|| name.to_string());
    let prop = |ty| -> Result<Col, String> {
        if group.is_some() {
            return Err("only id columns take a group".into());
        }
        if let Some(p) = ident_problem(name) {
            return Err(format!("the property name {p}"));
        }
        Ok(Col::Prop {
            name: name.to_string(),
            ty,
        })
    };
    let int = |bits: u32| PropType::Int {
        min: -(1i64 << (bits - 1)),
        max: (1i64 << (bits - 1)) - 1,
    };
    match kw.to_ascii_lowercase().as_str() {
        "id" => Ok(Col::Id {
            name: named,
            group: group_id,
        }),
        "start_id" => Ok(Col::StartId { group: group_id }),
        "end_id" => Ok(Col::EndId { group: group_id }),
        "label" => Ok(Col::Label),
        "type" => Ok(Col::Type),
        "ignore" => Ok(Col::Ignore),
        "int" => prop(int(32)),
        "long" => prop(PropType::Int {
            min: i64::MIN,
            max: i64::MAX,
        }),
        "short" => prop(int(16)),
        "byte" => prop(int(8)),
        "float" | "double" => prop(PropType::Float),
        "boolean" => prop(PropType::Bool),
        "string" => prop(PropType::Str),
        "bytes" => prop(PropType::Bytes),
        other => Err(format!(
            "type {other:?} is not one Quiver stores (int, long, short, byte, float, double, \
             boolean, string, bytes, or ID, START_ID, END_ID, LABEL, TYPE, IGNORE)"
        )),
    }
}

/// A fast non-cryptographic hash for the id map (the multiply-rotate of rustc's FxHash):
/// SipHash, the standard default, was a tenth of a node import. The keys come from the
/// user's own files, so resistance to chosen collisions is not needed.
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K> = HashMap<K, u64, std::hash::BuildHasherDefault<FastHasher>>;

/// The string ids of one group. An id of up to `SHORT` bytes is kept inline as a fixed
/// array (its length in the last byte), so a probe compares three words in the table
/// itself instead of following a pointer to a heap key: that chase and its `memcmp` were a
/// sixth of an import's time. Longer ids are boxed in a map of their own.
#[derive(Default)]
struct StrIds {
    short: FastMap<[u8; SHORT + 1]>,
    long: FastMap<Box<str>>,
}

const SHORT: usize = 23;

fn short_key(key: &str) -> Option<[u8; SHORT + 1]> {
    let b = key.as_bytes();
    (b.len() <= SHORT).then(|| {
        let mut k = [0u8; SHORT + 1];
        k[..b.len()].copy_from_slice(b);
        k[SHORT] = b.len() as u8;
        k
    })
}

impl StrIds {
    fn get(&self, key: &str) -> Option<u64> {
        match short_key(key) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(key).copied(),
        }
    }

    /// Records `key`; false if it is already there.
    fn insert(&mut self, key: &str, id: u64) -> bool {
        use std::collections::hash_map::Entry;
        fn put<K>(e: Entry<'_, K, u64>, id: u64) -> bool {
            match e {
                Entry::Occupied(_) => false,
                Entry::Vacant(v) => {
                    v.insert(id);
                    true
                }
            }
        }
        match short_key(key) {
            Some(k) => put(self.short.entry(k), id),
            None => put(self.long.entry(key.into()), id),
        }
    }
}

/// External ids by group, each with the place of its node among the nodes the import
/// wrote (the writer keeps the node ids in that order). It is the reader's: it finds
/// duplicate ids and missing endpoints, so the writer only writes.
#[derive(Default)]
struct IdMap {
    /// Text ids, or integers under `--id-type integer` (an import uses one of the two).
    text: Vec<StrIds>,
    int: Vec<FastMap<i64>>,
    /// Ids claimed so far: the place of the next node.
    claimed: u64,
}

/// An external id as the id map takes it.
#[derive(Clone, Copy)]
enum Id<'r> {
    Str(&'r str),
    Int(i64),
}

impl IdMap {
    /// The place of the node with id `key`.
    fn lookup(&self, group: usize, key: Id<'_>) -> Option<u64> {
        match key {
            Id::Str(k) => self.text.get(group).and_then(|m| m.get(k)),
            Id::Int(k) => self.int.get(group).and_then(|m| m.get(&k)).copied(),
        }
    }

    /// Claims `key` for the next node, whose place it returns; None if it is taken.
    fn claim(&mut self, group: usize, key: Id<'_>) -> Option<u64> {
        fn slot<T: Default>(v: &mut Vec<T>, g: usize) -> &mut T {
            if v.len() <= g {
                v.resize_with(g + 1, T::default);
            }
            &mut v[g]
        }
        let place = self.claimed;
        let new = match key {
            Id::Str(k) => slot(&mut self.text, group).insert(k, place),
            Id::Int(k) => match slot(&mut self.int, group).entry(k) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(place);
                    true
                }
            },
        };
        self.claimed += u64::from(new);
        new.then_some(place)
    }
}

fn parse_id(key: &str) -> Result<i64, String> {
    key.trim()
        .parse()
        .map_err(|_| format!("{key:?} is not an integer id"))
}

/// A rejected row: where, and why.
struct Bad {
    column: Option<usize>,
    message: String,
}

impl Bad {
    fn at(column: usize, message: impl Into<String>) -> Bad {
        Bad {
            column: Some(column),
            message: message.into(),
        }
    }

    fn row(message: impl Into<String>) -> Bad {
        Bad {
            column: None,
            message: message.into(),
        }
    }
}

/// A required or optional column kind: its header name and a test.
type ColRule = (&'static str, fn(&Col) -> bool);

/// The import in progress.
struct Importer<'d> {
    batch: Batches<'d>,
    /// The reader's while it reads a file.
    ids: IdMap,
    /// `--id-type integer`.
    int_ids: bool,
    /// The id of each node written, in order: the id map gives a node's place here.
    node_ids: Vec<u64>,
    groups: Groups,
    skip: bool,
    report: Option<std::io::BufWriter<std::fs::File>>,
    report_path: PathBuf,
    delimiter: u8,
    nodes: u64,
    edges: u64,
    props: u64,
    skipped: u64,
}

impl Importer<'_> {
    /// Rejects the import, or with --skip-bad-rows writes the row to the report.
    fn bad(
        &mut self,
        file: &str,
        line: u64,
        header: &[String],
        bad: &Bad,
        record: &csv::StringRecord,
    ) -> Result<(), Fail> {
        let col = bad
            .column
            .map(|c| format!("column {} {:?}: ", c + 1, header.get(c).map_or("", |s| s)))
            .unwrap_or_default();
        if !self.skip {
            return Err(Fail::Rejected(format!(
                "{file}:{line}: {col}{}; nothing was imported",
                bad.message
            )));
        }
        self.skipped += 1;
        if self.report.is_none() {
            let f = std::fs::File::create(&self.report_path)
                .map_err(|e| Fail::io("create", &self.report_path, e))?;
            self.report = Some(std::io::BufWriter::new(f));
        }
        let d = (self.delimiter as char).to_string();
        let entry = serde_json::json!({
            "file": file,
            "line": line,
            "column": bad.column.and_then(|c| header.get(c)),
            "message": bad.message,
            "record": record.iter().collect::<Vec<_>>().join(&d),
        });
        if let Some(w) = &mut self.report {
            writeln!(w, "{entry}").map_err(|e| Fail::io("write", &self.report_path, e))?;
        }
        Ok(())
    }

    fn file(&mut self, input: &Input, bar: &indicatif::ProgressBar, done: u64) -> Result<(), Fail> {
        let name = input.path.display().to_string();
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_path(&input.path)
            .map_err(|e| Fail::Io(format!("open {name}: {e}")))?;
        let mut rec = csv::StringRecord::new();
        let header_ok = rdr
            .read_record(&mut rec)
            .map_err(|e| Fail::Rejected(format!("{name}:1: the header row: {e}")))?;
        if !header_ok {
            return Err(Fail::Rejected(format!(
                "{name}:1: no header row (the file is empty)"
            )));
        }
        let header: Vec<String> = rec.iter().map(str::to_string).collect();
        let cols = self.header(&name, &header, input.nodes)?;
        let file = FileRows {
            name: &name,
            header: &header,
            cols: &cols,
            default: &input.default,
        };
        let mut ids = std::mem::take(&mut self.ids);
        let reader = read::Reader {
            rdr,
            name: &name,
            cols: &cols,
            default: &input.default,
            nodes: input.nodes,
            int_ids: self.int_ids,
            ids: &mut ids,
        };
        let done = std::thread::scope(|s| {
            let (full_tx, full) = mpsc::sync_channel(read::QUEUED);
            let (empty, empty_rx) = mpsc::channel();
            let reading = s.spawn(move || reader.run(full_tx, empty_rx));
            // `full` goes with this call: once it returns, early or not, the reader's
            // next send fails and it stops.
            let written = self.write(&file, full, empty, bar, done);
            let read = reading.join();
            written?;
            read.map_err(|_| Fail::Internal(format!("the thread reading {name} panicked")))
        });
        self.ids = ids;
        done
    }

    /// Writes a file's batches as its reader sends them, then returns each for reuse.
    fn write(
        &mut self,
        file: &FileRows<'_>,
        full: mpsc::Receiver<read::Batch>,
        empty: mpsc::Sender<read::Batch>,
        bar: &indicatif::ProgressBar,
        done: u64,
    ) -> Result<(), Fail> {
        for mut b in full {
            self.rows(file, &b)?;
            if let Some(e) = b.failed.take() {
                return Err(Fail::Io(e));
            }
            bar.set_position(done + b.byte);
            // Fails only when the reader has finished, and then nothing is reused.
            let _ = empty.send(b);
        }
        Ok(())
    }

    /// Writes a batch's rows in order, reporting (or rejecting on) the bad ones.
    fn rows(&mut self, file: &FileRows<'_>, b: &read::Batch) -> Result<(), Fail> {
        // Reused by each row of the batch: its property names and values.
        let mut values = Vec::new();
        for (row, rec) in b.rows.iter().zip(&b.records) {
            match &row.check {
                Err(bad) => self.bad(file.name, row.line, file.header, bad, rec)?,
                Ok(read::Checked::Node(n)) => {
                    self.node_row(file, n, rec, &b.vals, &mut values)?;
                }
                Ok(read::Checked::Edge(e)) => {
                    self.edge_row(file, e, rec, &b.vals, &mut values)?;
                }
            }
        }
        Ok(())
    }

    /// Parses and checks the header row.
    fn header(&mut self, file: &str, header: &[String], nodes: bool) -> Result<Vec<Col>, Fail> {
        let mut cols = Vec::new();
        for (i, f) in header.iter().enumerate() {
            let c = parse_field(f, &mut self.groups).map_err(|m| {
                Fail::Rejected(format!(
                    "{file}:1: column {} {f:?}: {m}; nothing was imported",
                    i + 1
                ))
            })?;
            let wrong = match (&c, nodes) {
                (Col::StartId { .. } | Col::EndId { .. } | Col::Type, true) => {
                    Some("belongs in a relationship file")
                }
                (Col::Id { .. } | Col::Label, false) => Some("belongs in a node file"),
                _ => None,
            };
            if let Some(w) = wrong {
                return Err(Fail::Rejected(format!(
                    "{file}:1: column {} {f:?}: {w}; nothing was imported",
                    i + 1
                )));
            }
            cols.push(c);
        }
        let count = |p: fn(&Col) -> bool| cols.iter().filter(|c| p(c)).count();
        let need: &[ColRule] = if nodes {
            &[
                (":ID", |c| matches!(c, Col::Id { .. })),
                (":LABEL", |c| matches!(c, Col::Label)),
            ]
        } else {
            &[
                (":START_ID", |c| matches!(c, Col::StartId { .. })),
                (":END_ID", |c| matches!(c, Col::EndId { .. })),
                (":TYPE", |c| matches!(c, Col::Type)),
            ]
        };
        for (i, (what, p)) in need.iter().enumerate() {
            let n = count(*p);
            // :LABEL and :TYPE are optional; the id columns are required.
            let optional = (nodes && i == 1) || (!nodes && i == 2);
            if n > 1 || (n == 0 && !optional) {
                return Err(Fail::Rejected(format!(
                    "{file}:1: the header has {n} {what} columns; it needs {}; nothing was \
                     imported",
                    if optional {
                        "at most one"
                    } else {
                        "exactly one"
                    }
                )));
            }
        }
        Ok(cols)
    }

    /// Writes a node row (its id is new: the reader claimed it for this node's place).
    fn node_row<'a>(
        &mut self,
        file: &FileRows<'a>,
        n: &read::NodeRow,
        rec: &'a csv::StringRecord,
        vals: &'a [(usize, read::Val)],
        values: &mut Vec<(&'a str, ValueRef<'a>)>,
    ) -> Result<(), Fail> {
        let label = file.name_of(n.label, rec);
        values.clear();
        values.extend(file.values(&vals[n.props.clone()], rec));
        // One call and one log frame per row (a later column of the same name wins, as it
        // would with one set after another).
        let node = self.batch.txn()?.insert_node_with(label, values)?;
        self.node_ids.push(node);
        let set = n.props.len() as u64;
        self.batch.ops += 1 + set;
        self.props += set;
        self.nodes += 1;
        Ok(())
    }

    /// Writes a relationship row (its ends exist: the reader found their places).
    fn edge_row<'a>(
        &mut self,
        file: &FileRows<'a>,
        e: &read::EdgeRow,
        rec: &'a csv::StringRecord,
        vals: &'a [(usize, read::Val)],
        values: &mut Vec<(&'a str, ValueRef<'a>)>,
    ) -> Result<(), Fail> {
        let node = |place: u64| {
            usize::try_from(place)
                .ok()
                .and_then(|p| self.node_ids.get(p).copied())
                .ok_or_else(|| Fail::Internal(format!("no node written at place {place}")))
        };
        let (src, dst) = (node(e.src)?, node(e.dst)?);
        let ty = file.name_of(e.ty, rec);
        values.clear();
        values.extend(file.values(&vals[e.props.clone()], rec));
        self.batch.txn()?.insert_edge_with(src, dst, ty, values)?;
        let set = e.props.len() as u64;
        self.batch.ops += 1 + set;
        self.props += set;
        self.edges += 1;
        Ok(())
    }
}

/// The file whose rows are being written: what they are written and reported with.
struct FileRows<'a> {
    name: &'a str,
    header: &'a [String],
    cols: &'a [Col],
    /// The label or type `--nodes=`/`--relationships=` gave.
    default: &'a str,
}

impl<'a> FileRows<'a> {
    /// A row's label or type.
    fn name_of(&self, name: read::Name, rec: &'a csv::StringRecord) -> &'a str {
        match name {
            read::Name::Given => self.default,
            read::Name::Own(s) => s.of(rec),
        }
    }

    /// Property values read from `rec`, each with its property's name.
    fn values(
        &self,
        vals: &'a [(usize, read::Val)],
        rec: &'a csv::StringRecord,
    ) -> impl Iterator<Item = (&'a str, ValueRef<'a>)> {
        let cols = self.cols;
        vals.iter().map(move |(c, v)| {
            let name = match cols.get(*c) {
                Some(
                    Col::Prop { name, .. }
                    | Col::Id {
                        name: Some(name), ..
                    },
                ) => name,
                _ => "",
            };
            (name, v.value(rec))
        })
    }
}

fn delimiter(s: &str) -> Result<u8, Fail> {
    match s {
        "TAB" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(usage(format!(
            "--delimiter {s:?}: give one ASCII character, or TAB"
        ))),
    }
}

/// `quiver import`.
pub fn import(args: &ImportArgs, m: &ArgMatches) -> Result<(), Fail> {
    let started = Instant::now();
    let inputs = inputs(args, m)?;
    let delimiter = delimiter(&args.delimiter)?;
    let mut total = 0;
    for i in &inputs {
        total += std::fs::metadata(&i.path)
            .map_err(|e| Fail::io("open", &i.path, e))?
            .len();
    }
    if args.skip_bad_rows {
        // A report from an earlier run would mislead: start it empty.
        let _ = std::fs::remove_file(&args.report);
    }
    let staged = Staged::create(&args.db)?;
    let mut imp = Importer {
        batch: Batches::new(staged.db()?),
        ids: IdMap::default(),
        int_ids: args.id_type == IdType::Integer,
        node_ids: Vec::new(),
        groups: Groups::default(),
        skip: args.skip_bad_rows,
        report: None,
        report_path: args.report.clone(),
        delimiter,
        nodes: 0,
        edges: 0,
        props: 0,
        skipped: 0,
    };
    let bar = crate::progress::bar("import", total, true, args.quiet);
    let mut done = 0;
    // Phases are timed from here, after the empty database is created (as GW1's W1
    // times its inserts after open): the node files, then the relationship files with
    // the final commit, checkpoint, close and rename. The time of those last three is
    // printed too: W1's rates stop at the last commit.
    let phases = Instant::now();
    let mut nodes_done: Option<f64> = None;
    for input in &inputs {
        if !input.nodes && nodes_done.is_none() {
            nodes_done = Some(phases.elapsed().as_secs_f64());
        }
        imp.file(input, &bar, done)?;
        done += std::fs::metadata(&input.path).map_or(0, |m| m.len());
        bar.set_position(done);
    }
    imp.batch.commit()?;
    if let Some(mut w) = imp.report.take() {
        w.flush().map_err(|e| Fail::io("write", &args.report, e))?;
    }
    let (nodes, edges, props, skipped) = (imp.nodes, imp.edges, imp.props, imp.skipped);
    drop(imp);
    bar.finish_and_clear();
    let finishing = Instant::now();
    staged.finish()?;
    let finish_secs = finishing.elapsed().as_secs_f64();
    let secs = started.elapsed().as_secs_f64();
    let phase_secs = phases.elapsed().as_secs_f64();
    let node_secs = nodes_done.unwrap_or(phase_secs);
    let edge_secs = (phase_secs - node_secs).max(1e-9);
    println!(
        "imported {nodes} nodes, {edges} relationships, {props} properties into {} in {secs:.1} s \
         (nodes {:.0}/s, relationships {:.0}/s, {:.0}/s to the last commit; checkpoint, \
         close and rename {finish_secs:.1} s); {skipped} rows skipped{}",
        args.db.display(),
        nodes as f64 / node_secs.max(1e-9),
        edges as f64 / edge_secs,
        edges as f64 / (edge_secs - finish_secs).max(1e-9),
        if skipped > 0 {
            format!(" (see {})", args.report.display())
        } else {
            String::new()
        }
    );
    Ok(())
}
