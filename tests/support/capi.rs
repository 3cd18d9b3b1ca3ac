//! The C ABI as the kill -9 torture test uses it: thin wrappers over the exported
//! `extern "C"` functions (every call checks its status), property values, and a complete
//! dump of the graph one transaction sees, with cross-checks between the ways the API can
//! reach the same records (node cursor, adjacency cursors both ways, degree, point reads,
//! probes of ids that must not exist).

use quiver::ffi::db::{
    qv_check, qv_checkpoint, qv_close, qv_last_error, qv_last_recovery, qv_open, qv_options_init,
    qv_status_str,
};
use quiver::ffi::graph::{
    qv_cursor_free, qv_cursor_next_edge, qv_cursor_next_node, qv_degree, qv_edge_delete,
    qv_edge_get, qv_edge_get_prop, qv_edge_insert, qv_edge_set, qv_edge_unset, qv_edges,
    qv_node_delete, qv_node_get, qv_node_insert, qv_node_label, qv_node_set, qv_node_unset,
    qv_nodes,
};
use quiver::ffi::txn::{
    qv_release, qv_rollback_to, qv_savepoint, qv_txn_begin, qv_txn_commit, qv_txn_rollback,
};
use quiver::ffi::types::{
    qv_bytes, qv_check_report, qv_edge, qv_options, qv_recovery_stats, qv_status, qv_value,
    qv_value_as,
};
use quiver::ffi::{
    QV_BOTH, QV_DONE, QV_IN, QV_NOT_FOUND, QV_OK, QV_OUT, QV_TYPE_BOOL, QV_TYPE_BYTES,
    QV_TYPE_FLOAT, QV_TYPE_INT, QV_TYPE_NULL, QV_TYPE_STRING,
};
use quiver::ffi::{qv_cursor, qv_db, qv_txn};
use quiver::testing::SplitMix64;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString, c_char};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// Mixes two numbers into a seed.
pub fn mix(a: u64, b: u64) -> u64 {
    SplitMix64::new(a ^ b.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

/// The name of a status.
pub fn status_name(s: qv_status) -> String {
    // SAFETY: qv_status_str returns a static NUL-terminated string for any number.
    unsafe { CStr::from_ptr(qv_status_str(s)) }
        .to_string_lossy()
        .into_owned()
}

/// The detailed message of the last failed call on this thread.
pub fn last_error() -> String {
    let mut buf = vec![0u8; 4096];
    let mut len = 0usize;
    // SAFETY: buf has `cap` writable bytes; len is writable.
    unsafe { qv_last_error(buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len) };
    let n = len.min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A failed call: what was called, its status and the library's message.
#[derive(Debug, Clone)]
pub struct Fail {
    pub status: qv_status,
    pub msg: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", status_name(self.status), self.msg)
    }
}

fn st(what: impl FnOnce() -> String, s: qv_status) -> Result<(), Fail> {
    if s == QV_OK {
        Ok(())
    } else {
        Err(Fail {
            status: s,
            msg: format!("{} -> {} ({})", what(), status_name(s), last_error()),
        })
    }
}

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A property value, as the model and the dump hold it. Floats are kept as bits so that
/// NaN and -0.0 compare exactly.
#[derive(Clone, PartialEq, Eq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(Arc<[u8]>),
    Bytes(Arc<[u8]>),
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
}

fn short(b: &[u8]) -> String {
    let mut h = 0xCBF2_9CE4_8422_2325;
    fnv(&mut h, b);
    if b.len() <= 24 {
        format!("{:?}", String::from_utf8_lossy(b))
    } else {
        format!(
            "{} bytes {:?}.. hash {h:016x}",
            b.len(),
            String::from_utf8_lossy(&b[..16])
        )
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => write!(f, "null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}i"),
            Val::Float(x) => write!(f, "{:?}f({x:#x})", f64::from_bits(*x)),
            Val::Str(s) => write!(f, "str {}", short(s)),
            Val::Bytes(b) => write!(f, "bytes {}", short(b)),
        }
    }
}

impl Val {
    fn hash_into(&self, h: &mut u64) {
        match self {
            Val::Null => fnv(h, &[0]),
            Val::Bool(b) => fnv(h, &[1, *b as u8]),
            Val::Int(i) => {
                fnv(h, &[2]);
                fnv(h, &i.to_le_bytes())
            }
            Val::Float(x) => {
                fnv(h, &[3]);
                fnv(h, &x.to_le_bytes())
            }
            Val::Str(s) => {
                fnv(h, &[4]);
                fnv(h, &(s.len() as u64).to_le_bytes());
                fnv(h, s)
            }
            Val::Bytes(s) => {
                fnv(h, &[5]);
                fnv(h, &(s.len() as u64).to_le_bytes());
                fnv(h, s)
            }
        }
    }

    /// The C form; it borrows `self`'s bytes. An empty bytes value is passed with a NULL
    /// pointer (allowed with length 0).
    fn to_c(&self) -> qv_value {
        let bytes = |b: &[u8], null_if_empty: bool| qv_bytes {
            ptr: if b.is_empty() && null_if_empty {
                std::ptr::null()
            } else {
                b.as_ptr()
            },
            len: b.len(),
        };
        match self {
            Val::Null => qv_value {
                type_: QV_TYPE_NULL,
                as_: qv_value_as { i: 0 },
            },
            Val::Bool(b) => qv_value {
                type_: QV_TYPE_BOOL,
                as_: qv_value_as { b: *b },
            },
            Val::Int(i) => qv_value {
                type_: QV_TYPE_INT,
                as_: qv_value_as { i: *i },
            },
            Val::Float(x) => qv_value {
                type_: QV_TYPE_FLOAT,
                as_: qv_value_as {
                    f: f64::from_bits(*x),
                },
            },
            Val::Str(s) => qv_value {
                type_: QV_TYPE_STRING,
                as_: qv_value_as {
                    bytes: bytes(s, false),
                },
            },
            Val::Bytes(b) => qv_value {
                type_: QV_TYPE_BYTES,
                as_: qv_value_as {
                    bytes: bytes(b, true),
                },
            },
        }
    }

    /// Copies a value the library returned.
    ///
    /// # Safety
    /// `v` was filled by a successful get, and its bytes are still valid.
    unsafe fn from_c(v: &qv_value) -> Result<Val, String> {
        // SAFETY (all union reads): the tag says which member the library wrote.
        let copy = |v: &qv_value| -> Vec<u8> {
            // SAFETY: string and bytes values carry qv_bytes.
            let b = unsafe { v.as_.bytes };
            if b.len == 0 {
                Vec::new()
            } else {
                // SAFETY: the library's pointer covers `len` bytes until the next write.
                unsafe { std::slice::from_raw_parts(b.ptr, b.len) }.to_vec()
            }
        };
        Ok(match v.type_ {
            QV_TYPE_NULL => Val::Null,
            // SAFETY: a bool value carries `b`.
            QV_TYPE_BOOL => Val::Bool(unsafe { v.as_.b }),
            // SAFETY: an int value carries `i`.
            QV_TYPE_INT => Val::Int(unsafe { v.as_.i }),
            // SAFETY: a float value carries `f`.
            QV_TYPE_FLOAT => Val::Float(unsafe { v.as_.f }.to_bits()),
            QV_TYPE_STRING => {
                let b = copy(v);
                if std::str::from_utf8(&b).is_err() {
                    return Err(format!("string value is not UTF-8: {}", short(&b)));
                }
                Val::Str(b.into())
            }
            QV_TYPE_BYTES => Val::Bytes(copy(v).into()),
            other => return Err(format!("value of unknown type {other}")),
        })
    }
}

/// Options for qv_open.
pub fn options(flags: u32, sync: u32, checkpoint_bytes: u64, segment_bytes: u64) -> qv_options {
    // SAFETY: qv_options_init fills the whole struct.
    let mut o: qv_options = unsafe { std::mem::zeroed() };
    // SAFETY: `o` is writable.
    unsafe { qv_options_init(&mut o) };
    o.flags = flags;
    o.sync = sync;
    o.checkpoint_bytes = checkpoint_bytes;
    o.segment_bytes = segment_bytes;
    o.busy_timeout_ms = 10_000;
    o
}

/// An open database handle.
pub struct Db(*mut qv_db);

impl Db {
    pub fn open(path: &Path, opts: &qv_options) -> Result<Db, Fail> {
        let p = CString::new(path.as_os_str().as_bytes()).unwrap();
        let mut db: *mut qv_db = std::ptr::null_mut();
        // SAFETY: NUL-terminated path, initialized options, writable out-pointer.
        let s = unsafe { qv_open(p.as_ptr(), opts, &mut db) };
        st(|| format!("qv_open({})", path.display()), s)?;
        assert!(!db.is_null());
        Ok(Db(db))
    }

    /// qv_check; Err with the report when it finds problems.
    pub fn check(&self) -> Result<(), String> {
        // SAFETY: zeroed is a valid qv_check_report.
        let mut r: qv_check_report = unsafe { std::mem::zeroed() };
        // SAFETY: live handle, writable report.
        let s = unsafe { qv_check(self.0, &mut r) };
        if s == QV_OK && r.problems == 0 {
            return Ok(());
        }
        // SAFETY: the report's first_problem is NUL-terminated.
        let first = unsafe { CStr::from_ptr(r.first_problem.as_ptr()) }.to_string_lossy();
        Err(format!(
            "qv_check -> {} ({} problems; first: {first}; {} nodes, {} edges checked; last error: {})",
            status_name(s),
            r.problems,
            r.nodes_checked,
            r.edges_checked,
            last_error()
        ))
    }

    pub fn checkpoint(&self) -> Result<(), Fail> {
        // SAFETY: live handle.
        st(|| "qv_checkpoint".into(), unsafe { qv_checkpoint(self.0) })
    }

    pub fn last_recovery(&self) -> qv_recovery_stats {
        let mut r = qv_recovery_stats::default();
        // SAFETY: live handle, writable out.
        let s = unsafe { qv_last_recovery(self.0, &mut r) };
        assert_eq!(s, QV_OK);
        r
    }

    pub fn begin(&self, flags: u32) -> Result<Txn, Fail> {
        let mut t: *mut qv_txn = std::ptr::null_mut();
        // SAFETY: live handle, writable out.
        let s = unsafe { qv_txn_begin(self.0, flags, &mut t) };
        st(|| format!("qv_txn_begin({flags})"), s)?;
        Ok(Txn(t))
    }

    pub fn close(mut self) -> Result<(), Fail> {
        let db = std::mem::replace(&mut self.0, std::ptr::null_mut());
        // SAFETY: a live handle, not used after this.
        st(|| "qv_close".into(), unsafe { qv_close(db) })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a live handle, not used after this.
            unsafe { qv_close(self.0) };
        }
    }
}

/// A database handle shared with another thread (qv_db is thread-safe: convention 7).
/// It does not own the handle: the owner joins the thread before closing.
#[derive(Clone, Copy)]
pub struct SharedDb(*mut qv_db);

// SAFETY: qv_db may be used from any number of threads at once (header convention 7).
unsafe impl Send for SharedDb {}

impl SharedDb {
    pub fn checkpoint(&self) -> Result<(), Fail> {
        // SAFETY: a live handle; its owner keeps it open while this thread runs.
        st(|| "qv_checkpoint (thread)".into(), unsafe {
            qv_checkpoint(self.0)
        })
    }
}

impl Db {
    /// The handle, to use from another thread while `self` stays open.
    pub fn share(&self) -> SharedDb {
        SharedDb(self.0)
    }
}

/// A transaction handle; rolled back when dropped.
pub struct Txn(*mut qv_txn);

/// An edge as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeInfo {
    pub id: u64,
    pub src: u64,
    pub dst: u64,
    pub ty: String,
}

fn edge_info(e: &qv_edge) -> EdgeInfo {
    EdgeInfo {
        id: e.id,
        src: e.src,
        dst: e.dst,
        ty: if e.type_.is_null() {
            "<NULL>".into()
        } else {
            // SAFETY: the type string is NUL-terminated and valid until the txn ends.
            unsafe { CStr::from_ptr(e.type_) }
                .to_string_lossy()
                .into_owned()
        },
    }
}

struct Cursor(*mut qv_cursor);

impl Drop for Cursor {
    fn drop(&mut self) {
        // SAFETY: NULL or a cursor from qv_nodes/qv_edges, not used after this.
        unsafe { qv_cursor_free(self.0) };
    }
}

impl Txn {
    pub fn commit(mut self) -> Result<(), Fail> {
        let t = std::mem::replace(&mut self.0, std::ptr::null_mut());
        // SAFETY: a live transaction, consumed here.
        st(|| "qv_txn_commit".into(), unsafe { qv_txn_commit(t) })
    }

    pub fn rollback(mut self) {
        let t = std::mem::replace(&mut self.0, std::ptr::null_mut());
        // SAFETY: a live transaction, consumed here.
        unsafe { qv_txn_rollback(t) };
    }

    pub fn node_insert(&mut self, label: &str) -> Result<u64, Fail> {
        let l = cstr(label);
        let mut id = 0;
        // SAFETY: live txn, NUL-terminated label, writable out.
        let s = unsafe { qv_node_insert(self.0, l.as_ptr(), &mut id) };
        st(|| format!("qv_node_insert({label:.20?})"), s)?;
        Ok(id)
    }

    pub fn edge_insert(&mut self, src: u64, dst: u64, ty: &str) -> Result<u64, Fail> {
        let c = cstr(ty);
        let mut id = 0;
        // SAFETY: live txn, NUL-terminated type, writable out.
        let s = unsafe { qv_edge_insert(self.0, src, dst, c.as_ptr(), &mut id) };
        st(|| format!("qv_edge_insert({src}, {dst}, {ty:?})"), s)?;
        Ok(id)
    }

    /// Returns the raw status (QV_CONSTRAINT is an expected answer).
    pub fn node_delete(&mut self, id: u64, flags: u32) -> qv_status {
        // SAFETY: live txn.
        unsafe { qv_node_delete(self.0, id, flags) }
    }

    pub fn edge_delete(&mut self, id: u64) -> Result<(), Fail> {
        // SAFETY: live txn.
        st(|| format!("qv_edge_delete({id})"), unsafe {
            qv_edge_delete(self.0, id)
        })
    }

    pub fn node_set(&mut self, id: u64, key: &str, v: &Val) -> Result<(), Fail> {
        let k = cstr(key);
        let c = v.to_c();
        // SAFETY: live txn, NUL-terminated key, value whose bytes `v` keeps alive.
        let s = unsafe { qv_node_set(self.0, id, k.as_ptr(), &c) };
        st(|| format!("qv_node_set({id}, {key:?}, {v:?})"), s)
    }

    pub fn edge_set(&mut self, id: u64, key: &str, v: &Val) -> Result<(), Fail> {
        let k = cstr(key);
        let c = v.to_c();
        // SAFETY: live txn, NUL-terminated key, value whose bytes `v` keeps alive.
        let s = unsafe { qv_edge_set(self.0, id, k.as_ptr(), &c) };
        st(|| format!("qv_edge_set({id}, {key:?}, {v:?})"), s)
    }

    pub fn node_unset(&mut self, id: u64, key: &str) -> Result<(), Fail> {
        let k = cstr(key);
        // SAFETY: live txn, NUL-terminated key.
        let s = unsafe { qv_node_unset(self.0, id, k.as_ptr()) };
        st(|| format!("qv_node_unset({id}, {key:?})"), s)
    }

    pub fn edge_unset(&mut self, id: u64, key: &str) -> Result<(), Fail> {
        let k = cstr(key);
        // SAFETY: live txn, NUL-terminated key.
        let s = unsafe { qv_edge_unset(self.0, id, k.as_ptr()) };
        st(|| format!("qv_edge_unset({id}, {key:?})"), s)
    }

    pub fn savepoint(&mut self, name: &str) -> Result<(), Fail> {
        let n = cstr(name);
        // SAFETY: live txn, NUL-terminated name.
        st(|| format!("qv_savepoint({name:?})"), unsafe {
            qv_savepoint(self.0, n.as_ptr())
        })
    }

    pub fn rollback_to(&mut self, name: &str) -> Result<(), Fail> {
        let n = cstr(name);
        // SAFETY: live txn, NUL-terminated name.
        st(|| format!("qv_rollback_to({name:?})"), unsafe {
            qv_rollback_to(self.0, n.as_ptr())
        })
    }

    pub fn release(&mut self, name: &str) -> Result<(), Fail> {
        let n = cstr(name);
        // SAFETY: live txn, NUL-terminated name.
        st(|| format!("qv_release({name:?})"), unsafe {
            qv_release(self.0, n.as_ptr())
        })
    }

    /// The label of node `id`; Ok(None) for QV_NOT_FOUND.
    pub fn node_label(&mut self, id: u64) -> Result<Option<String>, Fail> {
        let mut p: *const c_char = std::ptr::null();
        // SAFETY: live txn, writable out.
        let s = unsafe { qv_node_label(self.0, id, &mut p) };
        if s == QV_NOT_FOUND {
            return Ok(None);
        }
        st(|| format!("qv_node_label({id})"), s)?;
        // SAFETY: a NUL-terminated label valid until the transaction ends.
        Ok(Some(
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned(),
        ))
    }

    /// Edge `id`; Ok(None) for QV_NOT_FOUND.
    pub fn edge_get(&mut self, id: u64) -> Result<Option<EdgeInfo>, Fail> {
        // SAFETY: zeroed is a valid qv_edge (NULL type pointer).
        let mut e: qv_edge = unsafe { std::mem::zeroed() };
        // SAFETY: live txn, writable out.
        let s = unsafe { qv_edge_get(self.0, id, &mut e) };
        if s == QV_NOT_FOUND {
            return Ok(None);
        }
        st(|| format!("qv_edge_get({id})"), s)?;
        Ok(Some(edge_info(&e)))
    }

    fn prop(&mut self, edge: bool, id: u64, key: &str) -> Result<Option<Val>, String> {
        let k = cstr(key);
        // SAFETY: zeroed is a valid qv_value (null).
        let mut v: qv_value = unsafe { std::mem::zeroed() };
        // SAFETY: live txn, NUL-terminated key, writable out.
        let s = unsafe {
            if edge {
                qv_edge_get_prop(self.0, id, k.as_ptr(), &mut v)
            } else {
                qv_node_get(self.0, id, k.as_ptr(), &mut v)
            }
        };
        if s == QV_NOT_FOUND {
            return Ok(None);
        }
        let what = if edge { "edge" } else { "node" };
        st(|| format!("get {what} {id} property {key:?}"), s).map_err(|f| f.to_string())?;
        // SAFETY: filled by a successful get; no write since.
        unsafe { Val::from_c(&v) }
            .map(Some)
            .map_err(|e| format!("{what} {id} property {key:?}: {e}"))
    }

    /// Every property of edge (`edge`) or node `id` among `keys`.
    pub fn props(
        &mut self,
        edge: bool,
        id: u64,
        keys: &[&str],
    ) -> Result<BTreeMap<String, Val>, String> {
        let mut m = BTreeMap::new();
        for k in keys {
            if let Some(v) = self.prop(edge, id, k)? {
                m.insert(k.to_string(), v);
            }
        }
        Ok(m)
    }

    /// Live node ids, from qv_nodes(NULL).
    pub fn node_ids(&mut self) -> Result<Vec<u64>, Fail> {
        let mut c = Cursor(std::ptr::null_mut());
        // SAFETY: live txn, NULL label (all), writable out.
        st(|| "qv_nodes(NULL)".into(), unsafe {
            qv_nodes(self.0, std::ptr::null(), &mut c.0)
        })?;
        let mut v = Vec::new();
        loop {
            let mut id = 0;
            // SAFETY: a live node cursor, writable out.
            let s = unsafe { qv_cursor_next_node(c.0, &mut id) };
            if s == QV_DONE {
                return Ok(v);
            }
            st(|| "qv_cursor_next_node".into(), s)?;
            v.push(id);
        }
    }

    /// Edges of `node` in direction `dir` (any type).
    pub fn edges(&mut self, node: u64, dir: u32) -> Result<Vec<EdgeInfo>, Fail> {
        let mut c = Cursor(std::ptr::null_mut());
        // SAFETY: live txn, NULL type (any), writable out.
        st(|| format!("qv_edges({node}, {dir})"), unsafe {
            qv_edges(self.0, node, dir, std::ptr::null(), &mut c.0)
        })?;
        let mut v = Vec::new();
        loop {
            // SAFETY: zeroed is a valid qv_edge.
            let mut e: qv_edge = unsafe { std::mem::zeroed() };
            // SAFETY: a live edge cursor, writable out.
            let s = unsafe { qv_cursor_next_edge(c.0, &mut e) };
            if s == QV_DONE {
                return Ok(v);
            }
            st(|| "qv_cursor_next_edge".into(), s)?;
            v.push(edge_info(&e));
        }
    }

    pub fn degree(&mut self, node: u64, dir: u32) -> Result<u64, Fail> {
        let mut n = 0;
        // SAFETY: live txn, NULL type, writable out.
        st(|| format!("qv_degree({node}, {dir})"), unsafe {
            qv_degree(self.0, node, dir, std::ptr::null(), &mut n)
        })?;
        Ok(n)
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // SAFETY: NULL (no-op) or a live transaction, not used after this.
        unsafe { qv_txn_rollback(self.0) };
    }
}

/// The graph as the C ABI tests hold it: values as [`Val`].
pub type Graph = super::model::Graph<Val>;
pub type Node = super::model::Node<Val>;
pub type Edge = super::model::Edge<Val>;

impl Graph {
    pub fn hash(&self) -> u64 {
        let mut h = 0xCBF2_9CE4_8422_2325;
        for (id, n) in &self.nodes {
            fnv(&mut h, &id.to_le_bytes());
            fnv(&mut h, n.label.as_bytes());
            for (k, v) in &n.props {
                fnv(&mut h, k.as_bytes());
                v.hash_into(&mut h);
            }
        }
        fnv(&mut h, b"edges");
        for (id, e) in &self.edges {
            fnv(&mut h, &id.to_le_bytes());
            fnv(&mut h, &e.src.to_le_bytes());
            fnv(&mut h, &e.dst.to_le_bytes());
            fnv(&mut h, e.etype.as_bytes());
            for (k, v) in &e.props {
                fnv(&mut h, k.as_bytes());
                v.hash_into(&mut h);
            }
        }
        h
    }

    /// Bytes of string and bytes property values.
    pub fn prop_bytes(&self) -> usize {
        let sz = |p: &BTreeMap<String, Val>| {
            p.values()
                .map(|v| match v {
                    Val::Str(s) | Val::Bytes(s) => s.len(),
                    _ => 0,
                })
                .sum::<usize>()
        };
        self.nodes.values().map(|n| sz(&n.props)).sum::<usize>()
            + self.edges.values().map(|e| sz(&e.props)).sum::<usize>()
    }
}

/// Reads the whole graph `t` sees through the C API: the node cursor, each node's label and
/// properties (among `keys`), each node's outgoing edges (which define the edge set), and
/// cross-checks: incoming cursors and degrees agree with the outgoing edges, qv_edge_get
/// agrees with the cursors, and node and edge ids up to `probe_nodes` / `probe_edges` that
/// are not live answer QV_NOT_FOUND.
pub fn dump(
    t: &mut Txn,
    keys: &[&str],
    probe_nodes: u64,
    probe_edges: u64,
) -> Result<Graph, String> {
    let e = |f: Fail| f.to_string();
    let mut g = Graph::default();
    let ids = t.node_ids().map_err(e)?;
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "qv_nodes does not yield ids in increasing order: {ids:?}"
        ));
    }
    for &id in &ids {
        let label = t
            .node_label(id)
            .map_err(e)?
            .ok_or_else(|| format!("node {id} from qv_nodes: qv_node_label says not found"))?;
        let props = t.props(false, id, keys)?;
        g.nodes.insert(id, Node { label, props });
    }
    let mut incoming: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for &id in &ids {
        for ei in t.edges(id, QV_OUT).map_err(e)? {
            if ei.src != id {
                return Err(format!(
                    "node {id}'s outgoing cursor yields edge {} with src {}",
                    ei.id, ei.src
                ));
            }
            if !g.nodes.contains_key(&ei.dst) {
                return Err(format!(
                    "edge {} ({id} -> {}) points to a node that is not live",
                    ei.id, ei.dst
                ));
            }
            let props = t.props(true, ei.id, keys)?;
            let d = Edge {
                src: ei.src,
                dst: ei.dst,
                etype: ei.ty.clone(),
                props,
            };
            if g.edges.insert(ei.id, d).is_some() {
                return Err(format!("edge {} appears twice in outgoing cursors", ei.id));
            }
            incoming.entry(ei.dst).or_default().insert(ei.id);
            let got = t.edge_get(ei.id).map_err(e)?;
            if got.as_ref() != Some(&ei) {
                return Err(format!(
                    "edge cursor yields {ei:?} but qv_edge_get gives {got:?}"
                ));
            }
        }
    }
    for &id in &ids {
        let ins = t.edges(id, QV_IN).map_err(e)?;
        let got: BTreeSet<u64> = ins.iter().map(|x| x.id).collect();
        let want = incoming.remove(&id).unwrap_or_default();
        if got != want || got.len() != ins.len() {
            return Err(format!(
                "node {id}: incoming cursor yields {:?}, outgoing cursors say {want:?}",
                ins.iter().map(|x| x.id).collect::<Vec<_>>()
            ));
        }
        for x in &ins {
            if g.edges.get(&x.id).map(|d| (d.src, d.dst, d.etype.as_str()))
                != Some((x.src, x.dst, x.ty.as_str()))
            {
                return Err(format!(
                    "node {id}: incoming cursor yields {x:?}, which differs from the outgoing view"
                ));
            }
        }
        let out_n = g.edges.values().filter(|d| d.src == id).count() as u64;
        let loops = g
            .edges
            .values()
            .filter(|d| d.src == id && d.dst == id)
            .count() as u64;
        let (dout, din, dboth) = (
            t.degree(id, QV_OUT).map_err(e)?,
            t.degree(id, QV_IN).map_err(e)?,
            t.degree(id, QV_BOTH).map_err(e)?,
        );
        let in_n = got.len() as u64;
        if (dout, din, dboth) != (out_n, in_n, out_n + in_n - loops) {
            return Err(format!(
                "node {id}: degrees out/in/both {dout}/{din}/{dboth}, cursors say {out_n}/{in_n}/{}",
                out_n + in_n - loops
            ));
        }
        let both = t.edges(id, QV_BOTH).map_err(e)?;
        if both.len() as u64 != dboth {
            return Err(format!(
                "node {id}: QV_BOTH cursor yields {} edges, degree says {dboth}",
                both.len()
            ));
        }
    }
    if let Some((n, _)) = incoming.iter().next() {
        return Err(format!("edges point into node {n}, which is not live"));
    }
    let pn = probe_nodes.max(ids.last().copied().unwrap_or(0)) + 3;
    for id in 0..=pn {
        if !g.nodes.contains_key(&id) {
            if let Some(l) = t.node_label(id).map_err(e)? {
                return Err(format!(
                    "node {id} has label {l:?} but is not yielded by qv_nodes"
                ));
            }
        }
    }
    let pe = probe_edges.max(g.edges.keys().last().copied().unwrap_or(0)) + 3;
    for id in 0..=pe {
        if !g.edges.contains_key(&id) {
            if let Some(x) = t.edge_get(id).map_err(e)? {
                return Err(format!(
                    "edge {x:?} exists for qv_edge_get but is in no outgoing chain"
                ));
            }
        }
    }
    Ok(g)
}
