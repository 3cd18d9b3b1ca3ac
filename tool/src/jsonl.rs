//! `dump` and `load`: Quiver JSON Lines (TOOLS.md), lossless for every value type.
//!
//! ```text
//! {"type":"header","format":"quiver-jsonl","version":1,"nodes":2,"edges":1}
//! {"type":"node","id":1,"labels":["Person"],"properties":{"name":"Alice"}}
//! {"type":"relationship","id":1,"label":"KNOWS","start":{"id":1},"end":{"id":2},"properties":{}}
//! {"type":"footer","nodes":2,"edges":1,"digest":"<hex of Txn::digest>"}
//! ```

use crate::fail::Fail;
use crate::stage::{Batches, Staged, open_read_only};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quiver::{EdgeInfo, Error, Txn, Value, ValueRef};
use serde_json::Value as Json;
use std::ffi::CStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

/// Calls `f` for every live edge of `txn`'s snapshot, in id order.
pub fn for_each_edge(
    txn: &Txn,
    mut f: impl FnMut(EdgeInfo) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let (_, mut left) = txn.live_counts();
    let mut id = 1u64;
    // Ids are handed out from 1 up; stop once every live edge has been seen.
    while left > 0 {
        match txn.get_edge(id) {
            Ok(e) => {
                left -= 1;
                f(e)?;
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        id = id
            .checked_add(1)
            .ok_or_else(|| Fail::Internal("edge ids ran out before the live count".into()))?;
    }
    Ok(())
}

/// Appends `s` as a JSON string.
pub fn push_json_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires; writing to a String cannot fail.
    out.push_str(&Json::from(s).to_string());
}

/// Appends a property value in the dump's typing (module documentation of TOOLS.md).
fn push_value(out: &mut String, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push_str("null"),
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Float(f) if f.is_nan() => out.push_str(r#"{"$float":"NaN"}"#),
        ValueRef::Float(f) if f.is_infinite() => out.push_str(if f > 0.0 {
            r#"{"$float":"inf"}"#
        } else {
            r#"{"$float":"-inf"}"#
        }),
        // serde_json writes the shortest text that reads back to the same f64, always
        // with a `.` or an exponent ("1.0", "-0.0", "1e300").
        ValueRef::Float(f) => out.push_str(&Json::from(f).to_string()),
        ValueRef::Str(s) => push_json_str(out, s),
        ValueRef::Bytes(b) => {
            out.push_str(r#"{"$bytes":""#);
            out.push_str(&B64.encode(b));
            out.push_str(r#""}"#);
        }
    }
}

fn push_props(out: &mut String, props: &[(&CStr, ValueRef<'_>)]) {
    out.push('{');
    for (i, (k, v)) in props.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, &k.to_string_lossy());
        out.push(':');
        push_value(out, *v);
    }
    out.push('}');
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Writes the dump of `txn`'s snapshot to `w`.
fn write_dump(txn: &Txn, w: &mut dyn Write, quiet: bool) -> Result<(u64, u64), Fail> {
    let (nodes, edges) = txn.live_counts();
    let bar = crate::progress::bar("dump", nodes + edges, false, quiet);
    let wr = |w: &mut dyn Write, line: &str| {
        w.write_all(line.as_bytes())
            .map_err(|e| Fail::Io(format!("write the dump: {e}")))
    };
    let mut line = format!(
        r#"{{"type":"header","format":"quiver-jsonl","version":1,"quiver":"{}","snapshot_txn":{},"nodes":{nodes},"edges":{edges}}}"#,
        env!("CARGO_PKG_VERSION"),
        txn.snapshot_txn()
    );
    line.push('\n');
    wr(w, &line)?;
    let mut cur = txn.nodes(None)?;
    let mut done = 0u64;
    while let Some(id) = cur.next(txn)? {
        line.clear();
        let _ = write!(line, r#"{{"type":"node","id":{id},"labels":["#);
        push_json_str(&mut line, &txn.node_label(id)?.to_string_lossy());
        line.push_str(r#"],"properties":"#);
        push_props(&mut line, &txn.node_props(id)?);
        line.push_str("}\n");
        wr(w, &line)?;
        done += 1;
        if done % 4096 == 0 {
            bar.set_position(done);
        }
    }
    for_each_edge(txn, |e| {
        line.clear();
        let _ = write!(line, r#"{{"type":"relationship","id":{},"label":"#, e.id);
        push_json_str(&mut line, &txn.name_of(e.etype)?.to_string_lossy());
        let _ = write!(
            line,
            r#","start":{{"id":{}}},"end":{{"id":{}}},"properties":"#,
            e.src, e.dst
        );
        push_props(&mut line, &txn.edge_props(e.id)?);
        line.push_str("}\n");
        done += 1;
        if done % 4096 == 0 {
            bar.set_position(done);
        }
        wr(w, &line)
    })?;
    let digest = hex(&txn.digest()?);
    wr(
        w,
        &format!(r#"{{"type":"footer","nodes":{nodes},"edges":{edges},"digest":"{digest}"}}"#)
            .add_newline(),
    )?;
    bar.finish_and_clear();
    Ok((nodes, edges))
}

trait AddNewline {
    fn add_newline(self) -> String;
}

impl AddNewline for String {
    fn add_newline(mut self) -> String {
        self.push('\n');
        self
    }
}

/// `quiver dump`.
pub fn dump(db_path: &Path, output: Option<&Path>, quiet: bool) -> Result<(), Fail> {
    let db = open_read_only(db_path)?;
    let txn = db.begin_read()?;
    match output {
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            write_dump(&txn, &mut w, quiet)?;
            w.flush()
                .map_err(|e| Fail::Io(format!("write the dump: {e}")))?;
        }
        Some(path) => {
            // Written beside the destination and renamed, so FILE is the whole dump or
            // what it was before.
            let mut tmp_name = path.as_os_str().to_os_string();
            tmp_name.push(".tmp");
            let tmp = std::path::PathBuf::from(tmp_name);
            let result = (|| {
                let f = std::fs::File::create(&tmp).map_err(|e| Fail::io("create", &tmp, e))?;
                let mut w = BufWriter::with_capacity(1 << 20, f);
                write_dump(&txn, &mut w, quiet)?;
                let f = w
                    .into_inner()
                    .map_err(|e| Fail::io("write", &tmp, e.into_error()))?;
                f.sync_all().map_err(|e| Fail::io("fsync", &tmp, e))?;
                std::fs::rename(&tmp, path).map_err(|e| Fail::io("rename", &tmp, e))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
    }
    Ok(())
}

/// Where a load is in the file, for messages.
struct Pos<'a> {
    file: &'a str,
    line: u64,
}

impl Pos<'_> {
    fn reject(&self, msg: impl std::fmt::Display) -> Fail {
        Fail::Rejected(format!("{}:{}: {msg}", self.file, self.line))
    }
}

/// A property value from the dump's JSON typing.
fn value_of(pos: &Pos<'_>, key: &str, j: &Json) -> Result<Value, Fail> {
    Ok(match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if n.is_f64() {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            } else {
                return Err(pos.reject(format!(
                    "property {key:?}: {n} does not fit a 64-bit signed integer"
                )));
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Object(o) if o.len() == 1 => match o.iter().next() {
            Some((k, Json::String(s))) if k == "$bytes" => Value::Bytes(
                B64.decode(s)
                    .map_err(|e| pos.reject(format!("property {key:?}: bad base64: {e}")))?,
            ),
            Some((k, Json::String(s))) if k == "$float" => Value::Float(match s.as_str() {
                "NaN" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => {
                    return Err(pos.reject(format!(
                        "property {key:?}: {other:?} is not NaN, inf or -inf"
                    )));
                }
            }),
            _ => return Err(pos.reject(format!("property {key:?}: unknown object {j}"))),
        },
        other => {
            return Err(pos.reject(format!(
                "property {key:?}: {other} is not a value Quiver stores"
            )));
        }
    })
}

fn field<'j>(
    pos: &Pos<'_>,
    o: &'j serde_json::Map<String, Json>,
    k: &str,
) -> Result<&'j Json, Fail> {
    o.get(k)
        .ok_or_else(|| pos.reject(format!("no {k:?} field")))
}

fn uint(pos: &Pos<'_>, j: &Json, what: &str) -> Result<u64, Fail> {
    j.as_u64()
        .filter(|v| *v > 0)
        .ok_or_else(|| pos.reject(format!("{what} is {j}, not a positive integer")))
}

fn text<'j>(pos: &Pos<'_>, j: &'j Json, what: &str) -> Result<&'j str, Fail> {
    j.as_str()
        .ok_or_else(|| pos.reject(format!("{what} is {j}, not a string")))
}

fn endpoint(pos: &Pos<'_>, o: &serde_json::Map<String, Json>, k: &str) -> Result<u64, Fail> {
    let end = field(pos, o, k)?;
    let id = end
        .get("id")
        .ok_or_else(|| pos.reject(format!("{k} has no \"id\"")))?;
    uint(pos, id, &format!("{k}.id"))
}

/// Builds the loaded graph in the write transactions of [`Batches`].
struct Loader<'d> {
    batch: Batches<'d>,
    next_node: u64,
    next_edge: u64,
    nodes: u64,
    edges: u64,
}

impl Loader<'_> {
    /// Sets the properties of `o` (its "properties" object, if any) on node or
    /// relationship `id`.
    fn set_props(
        &mut self,
        pos: &Pos<'_>,
        id: u64,
        node: bool,
        o: &serde_json::Map<String, Json>,
    ) -> Result<(), Fail> {
        let Some(props) = o.get("properties") else {
            return Ok(());
        };
        let props = props
            .as_object()
            .ok_or_else(|| pos.reject("\"properties\" is not an object"))?;
        for (k, j) in props {
            let v = value_of(pos, k, j)?;
            let t = self.batch.txn()?;
            let r = if node {
                t.set_node_prop(id, k, v.as_ref())
            } else {
                t.set_edge_prop(id, k, v.as_ref())
            };
            r.map_err(|e| engine_reject(pos, e))?;
            self.batch.ops += 1;
        }
        Ok(())
    }

    fn node(&mut self, pos: &Pos<'_>, o: &serde_json::Map<String, Json>) -> Result<(), Fail> {
        let id = uint(pos, field(pos, o, "id")?, "id")?;
        if id < self.next_node {
            return Err(pos.reject(format!(
                "node {id} comes after node {}: nodes must be in increasing id order",
                self.next_node - 1
            )));
        }
        let labels = field(pos, o, "labels")?
            .as_array()
            .ok_or_else(|| pos.reject("\"labels\" is not an array"))?;
        let [label] = labels.as_slice() else {
            return Err(pos.reject(format!(
                "node {id} has {} labels; Quiver nodes have exactly one",
                labels.len()
            )));
        };
        let label = text(pos, label, "the label")?;
        // Ids are assigned in sequence: holes in the dump (deleted nodes) are made by
        // inserting a node and deleting it again.
        while self.next_node < id {
            let t = self.batch.txn()?;
            let hole = t.insert_node(label).map_err(|e| engine_reject(pos, e))?;
            t.delete_node(hole, false)?;
            self.batch.ops += 2;
            self.next_node += 1;
        }
        let got = self
            .batch
            .txn()?
            .insert_node(label)
            .map_err(|e| engine_reject(pos, e))?;
        if got != id {
            return Err(Fail::Internal(format!("node {id} was given id {got}")));
        }
        self.batch.ops += 1;
        self.next_node = id + 1;
        self.nodes += 1;
        self.set_props(pos, id, true, o)
    }

    fn edge(&mut self, pos: &Pos<'_>, o: &serde_json::Map<String, Json>) -> Result<(), Fail> {
        let id = uint(pos, field(pos, o, "id")?, "id")?;
        if id < self.next_edge {
            return Err(pos.reject(format!(
                "relationship {id} comes after relationship {}: relationships must be in \
                 increasing id order",
                self.next_edge - 1
            )));
        }
        let label = text(pos, field(pos, o, "label")?, "\"label\"")?;
        let (src, dst) = (endpoint(pos, o, "start")?, endpoint(pos, o, "end")?);
        for end in [src, dst] {
            if end >= self.next_node || self.batch.txn()?.node_label(end).is_err() {
                return Err(pos.reject(format!(
                    "relationship {id}: endpoint node {end} is not in the dump"
                )));
            }
        }
        while self.next_edge < id {
            let t = self.batch.txn()?;
            let hole = t
                .insert_edge(src, dst, label)
                .map_err(|e| engine_reject(pos, e))?;
            t.delete_edge(hole)?;
            self.batch.ops += 2;
            self.next_edge += 1;
        }
        let got = self
            .batch
            .txn()?
            .insert_edge(src, dst, label)
            .map_err(|e| engine_reject(pos, e))?;
        if got != id {
            return Err(Fail::Internal(format!(
                "relationship {id} was given id {got}"
            )));
        }
        self.batch.ops += 1;
        self.next_edge = id + 1;
        self.edges += 1;
        self.set_props(pos, id, false, o)
    }
}

/// An argument error from the engine is the input's fault (an empty label, say).
fn engine_reject(pos: &Pos<'_>, e: Error) -> Fail {
    match e {
        Error::InvalidArgument(m) => pos.reject(m),
        other => Fail::Engine(other),
    }
}

/// `quiver load`.
pub fn load(db_path: &Path, file: &Path, quiet: bool) -> Result<(), Fail> {
    let (reader, total, name): (Box<dyn BufRead>, u64, String) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), 0, "<stdin>".into())
    } else {
        let f = std::fs::File::open(file).map_err(|e| Fail::io("open", file, e))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        (
            Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            len,
            file.display().to_string(),
        )
    };
    let staged = Staged::create(db_path)?;
    let bar = crate::progress::bar("load", total, true, quiet);
    let (nodes, edges) = load_into(&staged, reader, &name, &bar)?;
    bar.finish_and_clear();
    staged.finish()?;
    println!(
        "loaded {nodes} nodes, {edges} relationships into {}; digest verified",
        db_path.display()
    );
    Ok(())
}

fn load_into(
    staged: &Staged,
    mut reader: Box<dyn BufRead>,
    name: &str,
    bar: &indicatif::ProgressBar,
) -> Result<(u64, u64), Fail> {
    let db = staged.db()?;
    let mut ld = Loader {
        batch: Batches::new(db),
        next_node: 1,
        next_edge: 1,
        nodes: 0,
        edges: 0,
    };
    let mut pos = Pos {
        file: name,
        line: 0,
    };
    let mut buf = String::new();
    let mut read = 0u64;
    let mut header: Option<(u64, u64)> = None;
    let mut footer: Option<(u64, u64, String)> = None;
    loop {
        buf.clear();
        let n = reader
            .read_line(&mut buf)
            .map_err(|e| Fail::Io(format!("read {name}: {e}")))?;
        if n == 0 {
            break;
        }
        pos.line += 1;
        read += n as u64;
        if pos.line % 4096 == 0 {
            bar.set_position(read);
        }
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        if footer.is_some() {
            return Err(pos.reject("a line after the footer"));
        }
        let j: Json =
            serde_json::from_str(line).map_err(|e| pos.reject(format!("not JSON: {e}")))?;
        let o = j
            .as_object()
            .ok_or_else(|| pos.reject("not a JSON object"))?;
        let kind = text(&pos, field(&pos, o, "type")?, "\"type\"")?;
        match (kind, header.is_some()) {
            ("header", false) => {
                let format = o.get("format").and_then(Json::as_str);
                let version = o.get("version").and_then(Json::as_u64);
                if format != Some("quiver-jsonl") || version != Some(1) {
                    return Err(pos.reject(format!(
                        "not a Quiver JSON Lines dump of version 1 (format {:?}, version {:?})",
                        format, version
                    )));
                }
                let count = |k| o.get(k).and_then(Json::as_u64).unwrap_or(0);
                header = Some((count("nodes"), count("edges")));
            }
            (_, false) => {
                return Err(pos.reject(format!(
                    "the first line is a {kind:?}, not the header: not a Quiver dump"
                )));
            }
            ("node", true) => {
                if ld.edges > 0 || ld.next_edge > 1 {
                    return Err(pos.reject("a node after the relationships"));
                }
                ld.node(&pos, o)?;
            }
            ("relationship", true) => ld.edge(&pos, o)?,
            ("footer", true) => {
                let nodes = uint_or_zero(&pos, o, "nodes")?;
                let edges = uint_or_zero(&pos, o, "edges")?;
                let digest = text(&pos, field(&pos, o, "digest")?, "\"digest\"")?;
                footer = Some((nodes, edges, digest.to_string()));
            }
            (other, true) => return Err(pos.reject(format!("unknown line type {other:?}"))),
        }
    }
    let Some((f_nodes, f_edges, f_digest)) = footer else {
        return Err(Fail::Rejected(format!(
            "{name}: no footer after line {}: the dump is truncated; nothing was loaded",
            pos.line
        )));
    };
    let (h_nodes, h_edges) = header.unwrap_or_default();
    if (f_nodes, f_edges) != (ld.nodes, ld.edges) || (h_nodes, h_edges) != (ld.nodes, ld.edges) {
        return Err(Fail::Rejected(format!(
            "{name}: the header says {h_nodes} nodes and {h_edges} relationships, the footer \
             {f_nodes} and {f_edges}, and the file holds {} and {}",
            ld.nodes, ld.edges
        )));
    }
    ld.batch.commit()?;
    let digest = hex(&db.begin_read()?.digest()?);
    if digest != f_digest {
        return Err(Fail::Rejected(format!(
            "{name}: the footer's digest is {f_digest} but the loaded graph's is {digest}"
        )));
    }
    Ok((ld.nodes, ld.edges))
}

fn uint_or_zero(pos: &Pos<'_>, o: &serde_json::Map<String, Json>, k: &str) -> Result<u64, Fail> {
    let j = field(pos, o, k)?;
    j.as_u64()
        .ok_or_else(|| pos.reject(format!("{k} is {j}, not a count")))
}
