//! `quiver export --format neo4j-csv`: one `nodes_<Label>.csv` per label and one
//! `relationships_<TYPE>.csv` per type, with Neo4j admin-import headers that
//! `quiver import` reads back.
//!
//! Ids: the `:ID` column holds the Quiver node id. Import hands out ids in the order it
//! reads rows, so the graph comes back with the same ids (and digest) when the files are
//! imported in the order export prints and the ids of each label (and type) form one
//! increasing run after the previous one's, with no holes; otherwise it comes back with
//! the same content renumbered. With `--one-file` all nodes go to `nodes.csv` and all
//! relationships to `relationships.csv`, in id order, so only holes renumber. Property columns are typed from the values: a key whose
//! values have several types gets one column per type (`age:long`, `age:double`), each row
//! filling the one of its value's type. CSV cannot hold a stored null nor tell an empty
//! string or empty bytes from a missing value: those are left out and counted in a warning.

use crate::fail::Fail;
use crate::stage::open_read_only;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quiver::{Txn, ValueRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Column type names, by the order columns are listed in.
fn type_name(v: &ValueRef<'_>) -> Option<&'static str> {
    match v {
        ValueRef::Null => None,
        ValueRef::Bool(_) => Some("boolean"),
        ValueRef::Int(_) => Some("long"),
        ValueRef::Float(_) => Some("double"),
        ValueRef::Str("") | ValueRef::Bytes([]) => None,
        ValueRef::Str(_) => Some("string"),
        ValueRef::Bytes(_) => Some("bytes"),
    }
}

fn cell(v: &ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Bool(b) => b.to_string(),
        ValueRef::Int(i) => i.to_string(),
        // Rust prints the shortest text that parses back to the same f64 ("NaN", "inf",
        // "-0"); import parses it with the same rules.
        ValueRef::Float(f) => f.to_string(),
        ValueRef::Str(s) => (*s).to_string(),
        ValueRef::Bytes(b) => B64.encode(b),
    }
}

/// One output file: its columns, and facts about the ids written to it.
#[derive(Default)]
struct Table {
    /// (key, type) → column index after the fixed columns.
    columns: BTreeMap<(String, &'static str), usize>,
    rows: u64,
    first_id: u64,
    last_id: u64,
}

impl Table {
    fn see(&mut self, id: u64, props: &[(String, ValueRef<'_>)]) {
        if self.rows == 0 {
            self.first_id = id;
        }
        self.last_id = id;
        self.rows += 1;
        for (k, v) in props {
            if let Some(t) = type_name(v) {
                let n = self.columns.len();
                self.columns.entry((k.clone(), t)).or_insert(n);
            }
        }
    }

    /// The property columns in index order.
    fn ordered(&self) -> Vec<&(String, &'static str)> {
        let mut v: Vec<(&(String, &'static str), usize)> =
            self.columns.iter().map(|(k, i)| (k, *i)).collect();
        v.sort_by_key(|x| x.1);
        v.into_iter().map(|x| x.0).collect()
    }

    /// The header: the `fixed` columns, then `key:type` for each property column.
    fn header(&self, fixed: &[&str]) -> Vec<String> {
        let mut head: Vec<String> = fixed.iter().map(|c| c.to_string()).collect();
        head.extend(self.ordered().iter().map(|(k, ty)| format!("{k}:{ty}")));
        head
    }

    /// Empties `row` to `fixed` blank cells (the caller fills them) and one a property
    /// column, and puts each of `props` in its column.
    fn fill(&self, row: &mut Vec<String>, fixed: usize, props: &[(String, ValueRef<'_>)]) {
        row.clear();
        row.resize(fixed + self.columns.len(), String::new());
        for (k, v) in props {
            if let Some(ty) = type_name(v) {
                if let Some(i) = self.columns.get(&(k.clone(), ty)) {
                    row[fixed + i] = cell(v);
                }
            }
        }
    }
}

fn owned_props<'t>(p: Vec<(&std::ffi::CStr, ValueRef<'t>)>) -> Vec<(String, ValueRef<'t>)> {
    p.into_iter()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v))
        .collect()
}

/// Names files may take: labels and types can hold any character but `/` and NUL are
/// not allowed in file names, so such characters become `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect()
}

/// How rows are split into files.
#[derive(Clone, Copy)]
struct Split {
    /// One `nodes.csv` and one `relationships.csv` instead of one file per label and type.
    one_file: bool,
}

impl Split {
    /// The file a node of `label` (or an edge of `ty`) goes to, as a table key.
    fn key(self, label: &str) -> String {
        if self.one_file {
            String::new()
        } else {
            label.to_string()
        }
    }

    fn nodes_file(self, key: &str) -> String {
        if self.one_file {
            "nodes.csv".into()
        } else {
            format!("nodes_{}.csv", file_safe(key))
        }
    }

    fn relationships_file(self, key: &str) -> String {
        if self.one_file {
            "relationships.csv".into()
        } else {
            format!("relationships_{}.csv", file_safe(key))
        }
    }
}

/// Every live node as (id, label, properties), in id order.
fn each_node(
    txn: &Txn,
    mut f: impl FnMut(u64, String, Vec<(String, ValueRef<'_>)>) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let mut cur = txn.nodes(None)?;
    while let Some(id) = cur.next(txn)? {
        let label = txn.node_label(id)?.to_string_lossy().into_owned();
        f(id, label, owned_props(txn.node_props(id)?))?;
    }
    Ok(())
}

fn each_edge(
    txn: &Txn,
    mut f: impl FnMut(quiver::EdgeInfo, String, Vec<(String, ValueRef<'_>)>) -> Result<(), Fail>,
) -> Result<(), Fail> {
    crate::jsonl::for_each_edge(txn, |e| {
        let ty = txn.name_of(e.etype)?.to_string_lossy().into_owned();
        f(e, ty, owned_props(txn.edge_props(e.id)?))
    })
}

fn writer(path: &Path) -> Result<csv::Writer<std::fs::File>, Fail> {
    csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_path(path)
        .map_err(|e| Fail::Io(format!("create {}: {e}", path.display())))
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Fail + '_ {
    move |e| Fail::Io(format!("write {}: {e}", path.display()))
}

/// A table's CSV file and its writer.
type TableFile = (PathBuf, csv::Writer<std::fs::File>);

/// Creates each table's file at `path(key)` and writes its header (`fixed` columns first).
fn open_tables(
    tables: &BTreeMap<String, Table>,
    fixed: &[&str],
    path: impl Fn(&str) -> PathBuf,
) -> Result<BTreeMap<String, TableFile>, Fail> {
    let mut files = BTreeMap::new();
    for (key, t) in tables {
        let path = path(key);
        let mut w = writer(&path)?;
        w.write_record(t.header(fixed)).map_err(csv_err(&path))?;
        files.insert(key.clone(), (path, w));
    }
    Ok(files)
}

/// `quiver export`.
pub fn export(db_path: &Path, out: &Path, one_file: bool, quiet: bool) -> Result<(), Fail> {
    let split = Split { one_file };
    let db = open_read_only(db_path)?;
    let txn = db.begin_read()?;
    std::fs::create_dir_all(out).map_err(|e| Fail::io("create", out, e))?;
    let (n_nodes, n_edges) = txn.live_counts();
    let bar = crate::progress::bar("export", 2 * (n_nodes + n_edges), false, quiet);
    let mut left_out = 0u64;

    // Pass 1: the columns of each file.
    let mut labels: BTreeMap<String, Table> = BTreeMap::new();
    each_node(&txn, |id, l, p| {
        labels.entry(split.key(&l)).or_default().see(id, &p);
        left_out += p.iter().filter(|(_, v)| type_name(v).is_none()).count() as u64;
        bar.inc(1);
        Ok(())
    })?;
    let mut types: BTreeMap<String, Table> = BTreeMap::new();
    each_edge(&txn, |e, t, p| {
        types.entry(split.key(&t)).or_default().see(e.id, &p);
        left_out += p.iter().filter(|(_, v)| type_name(v).is_none()).count() as u64;
        bar.inc(1);
        Ok(())
    })?;

    // Pass 2: the rows.
    let mut files = open_tables(&labels, &[":ID", ":LABEL"], |l| {
        out.join(split.nodes_file(l))
    })?;
    let mut row: Vec<String> = Vec::new();
    each_node(&txn, |id, l, p| {
        let key = split.key(&l);
        let (Some(t), Some((path, w))) = (labels.get(&key), files.get_mut(&key)) else {
            return Err(Fail::Internal(format!("label {l} appeared between passes")));
        };
        t.fill(&mut row, 2, &p);
        row[0] = id.to_string();
        row[1] = l;
        w.write_record(&row).map_err(csv_err(path))?;
        bar.inc(1);
        Ok(())
    })?;
    let mut rel_files = open_tables(&types, &[":START_ID", ":END_ID", ":TYPE"], |ty| {
        out.join(split.relationships_file(ty))
    })?;
    each_edge(&txn, |e, ty, p| {
        let key = split.key(&ty);
        let (Some(t), Some((path, w))) = (types.get(&key), rel_files.get_mut(&key)) else {
            return Err(Fail::Internal(format!("type {ty} appeared between passes")));
        };
        t.fill(&mut row, 3, &p);
        row[0] = e.src.to_string();
        row[1] = e.dst.to_string();
        row[2] = ty;
        w.write_record(&row).map_err(csv_err(path))?;
        bar.inc(1);
        Ok(())
    })?;
    for (path, mut w) in files.into_values().chain(rel_files.into_values()) {
        w.flush().map_err(|e| Fail::io("write", &path, e))?;
    }
    bar.finish_and_clear();

    // The import command that reads it back, files in id order.
    let mut node_order: Vec<(&String, &Table)> = labels.iter().collect();
    node_order.sort_by_key(|(_, t)| t.first_id);
    let mut edge_order: Vec<(&String, &Table)> = types.iter().collect();
    edge_order.sort_by_key(|(_, t)| t.first_id);
    let runs = |order: &[(&String, &Table)]| {
        let mut next = 1;
        order.iter().all(|(_, t)| {
            let ok = t.first_id == next && t.last_id - t.first_id + 1 == t.rows;
            next = t.last_id + 1;
            ok
        })
    };
    let keeps_ids = runs(&node_order) && runs(&edge_order);
    let mut cmd = String::from("quiver import NEW_DB");
    for (l, _) in &node_order {
        let p = out.join(split.nodes_file(l));
        cmd.push_str(&format!(" --nodes {}", p.display()));
    }
    for (t, _) in &edge_order {
        let p = out.join(split.relationships_file(t));
        cmd.push_str(&format!(" --relationships {}", p.display()));
    }
    println!(
        "exported {n_nodes} nodes in {} file(s), {n_edges} relationships in {} file(s) to {}",
        labels.len(),
        types.len(),
        out.display()
    );
    println!("read back with: {cmd}");
    println!(
        "{}",
        if keeps_ids {
            "ids: each label's and type's ids form one run in that order, so the import keeps them (same digest)"
        } else {
            "ids: labels or types interleave in id order (try --one-file) or ids have holes, so the import renumbers them"
        }
    );
    if left_out > 0 {
        eprintln!(
            "quiver: warning: {left_out} stored null(s), empty string(s) or empty bytes left out: \
             Neo4j CSV cannot tell them from an unset property (quiver dump keeps them)"
        );
    }
    Ok(())
}
