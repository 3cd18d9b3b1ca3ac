//! Nodes, edges, properties, cursors and degree.

use super::args::{
    clear, cstr_arg, cursor_arg, opt_cstr_arg, out_arg, props_arg, props_in, slice_arg, txn_arg,
    value_arg, value_out,
};
use super::boundary::{Fail, ffi_guard, invalid, misuse};
use super::codes::{QV_BOTH, QV_DETACH, QV_DONE, QV_IN, QV_OK, QV_OUT};
use super::handle::{CursorKind, cursor_free, cursor_into_raw, qv_cursor, qv_txn};
use super::types::{qv_dir, qv_edge, qv_edge_id, qv_node_id, qv_prop, qv_status, qv_value};
use crate::graph::{Dir, EdgeCursor, EdgeInfo, NodeCursor, PropCursor};
use crate::txn::Txn;
use std::ffi::c_char;
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};

fn dir_in(d: qv_dir) -> Result<Dir, Fail> {
    match d {
        QV_OUT => Ok(Dir::Out),
        QV_IN => Ok(Dir::In),
        QV_BOTH => Ok(Dir::Both),
        other => Err(invalid(format!(
            "unknown direction {other} (use QV_OUT, QV_IN or QV_BOTH)"
        ))),
    }
}

fn edge_out(t: &Txn, e: EdgeInfo) -> Result<qv_edge, Fail> {
    Ok(qv_edge {
        id: e.id,
        src: e.src,
        dst: e.dst,
        type_: t.name_of(e.etype)?.as_ptr(),
    })
}

/// A kind of cursor as C reads it: what one step yields, and how a call on a cursor of
/// another kind is refused.
trait CCursor: Sized {
    /// What one step gives C.
    type Item;
    /// The other kinds, for the QV_MISUSE message.
    const OTHERS: &str;
    /// The cursor, if `kind` is this kind.
    fn of(kind: &mut CursorKind) -> Option<&mut Self>;
    /// One step: the next item for C, or `None` at the end.
    fn step(&mut self, t: &Txn) -> Result<Option<Self::Item>, Fail>;
    /// Steps into `buf` until it is full or the cursor ends; returns how many.
    fn step_many(&mut self, t: &Txn, buf: &mut [MaybeUninit<Self::Item>]) -> Result<usize, Fail> {
        let mut got = 0;
        for slot in buf.iter_mut() {
            let Some(item) = self.step(t)? else { break };
            slot.write(item);
            got += 1;
        }
        Ok(got)
    }
}

impl CCursor for EdgeCursor {
    type Item = qv_edge;
    const OTHERS: &str = "nodes or properties";
    fn of(kind: &mut CursorKind) -> Option<&mut Self> {
        if let CursorKind::Edge(c) = kind {
            Some(c)
        } else {
            None
        }
    }
    fn step(&mut self, t: &Txn) -> Result<Option<qv_edge>, Fail> {
        self.next()?.map(|e| edge_out(t, e)).transpose()
    }
    /// Edges come in runs of one type, so the type's name is looked up once a run.
    fn step_many(&mut self, t: &Txn, buf: &mut [MaybeUninit<qv_edge>]) -> Result<usize, Fail> {
        let mut name: Option<(u32, *const c_char)> = None;
        let mut slots = buf.iter_mut();
        let got = self.next_many(slots.len(), |e| {
            let type_ = match name {
                Some((id, p)) if id == e.etype => p,
                _ => {
                    let p = t.name_of(e.etype)?.as_ptr();
                    name = Some((e.etype, p));
                    p
                }
            };
            if let Some(slot) = slots.next() {
                slot.write(qv_edge {
                    id: e.id,
                    src: e.src,
                    dst: e.dst,
                    type_,
                });
            }
            Ok(())
        })?;
        Ok(got)
    }
}

impl CCursor for NodeCursor {
    type Item = qv_node_id;
    const OTHERS: &str = "edges or properties";
    fn of(kind: &mut CursorKind) -> Option<&mut Self> {
        if let CursorKind::Node(c) = kind {
            Some(c)
        } else {
            None
        }
    }
    fn step(&mut self, t: &Txn) -> Result<Option<qv_node_id>, Fail> {
        Ok(self.next(t)?)
    }
}

impl CCursor for PropCursor {
    type Item = qv_prop;
    const OTHERS: &str = "edges or nodes";
    fn of(kind: &mut CursorKind) -> Option<&mut Self> {
        if let CursorKind::Prop(c) = kind {
            Some(c)
        } else {
            None
        }
    }
    fn step(&mut self, t: &Txn) -> Result<Option<qv_prop>, Fail> {
        Ok(self.next(t)?.map(|(key, value)| qv_prop {
            key: key.as_ptr(),
            value: value_out(value),
        }))
    }
}

/// The cursor `call` reads, of kind `C`, and its transaction; QV_MISUSE once the
/// transaction has ended or for another kind.
fn cursor_of<'a, C: CCursor>(
    c: &'a mut qv_cursor,
    call: &str,
) -> Result<(&'a mut C, &'a Txn), Fail> {
    let (kind, t) = c.live()?;
    let cur = C::of(kind).ok_or_else(|| misuse(&format!("{call} on a cursor of {}", C::OTHERS)))?;
    Ok((cur, t))
}

/// One step of the cursor into `*out`: QV_OK, or QV_DONE at the end.
fn next_one<C: CCursor>(
    c: &mut qv_cursor,
    out: &mut C::Item,
    call: &str,
) -> Result<qv_status, Fail> {
    let (cur, t) = cursor_of::<C>(c, call)?;
    let Some(item) = cur.step(t)? else {
        return Ok(QV_DONE);
    };
    *out = item;
    Ok(QV_OK)
}

/// Steps of the cursor into `buf` until it is full or the cursor ends, and their number
/// into `*n` (only at the end, so that an error leaves it 0): QV_OK, or QV_DONE for none.
fn next_many<C: CCursor>(
    c: &mut qv_cursor,
    buf: &mut [MaybeUninit<C::Item>],
    n: &mut usize,
    call: &str,
) -> Result<qv_status, Fail> {
    let (cur, t) = cursor_of::<C>(c, call)?;
    let got = cur.step_many(t, buf)?;
    *n = got;
    Ok(if got > 0 { QV_OK } else { QV_DONE })
}

/// Creates a node with `label` in a write transaction and stores its id (>= 1) in `*out`.
/// Returns QV_OK, QV_INVALID_ARGUMENT (label empty, longer than QV_MAX_IDENT_LEN or not
/// UTF-8), QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_insert(
    txn: *mut qv_txn,
    label: *const c_char,
    out: *mut qv_node_id,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, 0);
        let (t, label, out) = (txn_arg!(txn), cstr_arg!(label), out_arg!(out));
        *out = t.txn.insert_node(label.ident()?)?;
        Ok(QV_OK)
    })
}

/// Creates a node with `label` and the `n` properties at `props` in one call and one log
/// record, and stores its id in `*out`: the same result as qv_node_insert followed by
/// qv_node_set for each property in order (a key given twice: the last value wins). `props`
/// may be NULL when `n` is 0. Any invalid property (NULL key: QV_NULL_ARGUMENT; bad key or
/// value: QV_INVALID_ARGUMENT) fails the whole call with no effect. Values are copied.
/// Returns QV_OK, QV_NULL_ARGUMENT, QV_INVALID_ARGUMENT (also: the properties would exceed
/// QV_MAX_PROPS_LEN), QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_insert_with(
    txn: *mut qv_txn,
    label: *const c_char,
    props: *const qv_prop,
    n: usize,
    out: *mut qv_node_id,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, 0);
        let (t, label) = (txn_arg!(txn), cstr_arg!(label));
        let (props, out) = (props_arg!(props, n), out_arg!(out));
        let label = label.ident()?;
        // SAFETY: the caller's keys and values are valid during the call (header).
        let props = unsafe { props_in(props) }?;
        *out = t.txn.insert_node_with(label, &props)?;
        Ok(QV_OK)
    })
}

/// Deletes node `id`. Without QV_DETACH a node that still has edges is refused with
/// QV_CONSTRAINT (and nothing changes); with it, the node's edges are deleted in the same
/// transaction. Returns QV_OK, QV_NOT_FOUND, QV_CONSTRAINT, QV_READ_ONLY,
/// QV_INVALID_ARGUMENT (unknown flags).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_delete(txn: *mut qv_txn, id: qv_node_id, flags: u32) -> qv_status {
    ffi_guard!(txn, {
        let t = txn_arg!(txn);
        if flags & !QV_DETACH != 0 {
            return Err(invalid(format!("unknown node delete flags {flags:#x}")));
        }
        t.txn.delete_node(id, flags & QV_DETACH != 0)?;
        Ok(QV_OK)
    })
}

/// Stores the label of node `id` in `*out` (NUL-terminated, valid until the transaction
/// ends). Returns QV_OK or QV_NOT_FOUND.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_label(
    txn: *mut qv_txn,
    id: qv_node_id,
    out: *mut *const c_char,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, null());
        let (t, out) = (txn_arg!(txn), out_arg!(out));
        *out = t.txn.node_label(id)?.as_ptr();
        Ok(QV_OK)
    })
}

/// Creates an edge `src -> dst` of type `type` and stores its id (>= 1) in `*out`.
/// Self-loops and several edges between the same nodes are allowed. Returns QV_OK,
/// QV_NOT_FOUND (an endpoint does not exist), QV_INVALID_ARGUMENT, QV_READ_ONLY,
/// QV_CONSTRAINT (an endpoint already has QV_MAX_NODE_EDGES edges or more).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_insert(
    txn: *mut qv_txn,
    src: qv_node_id,
    dst: qv_node_id,
    r#type: *const c_char,
    out: *mut qv_edge_id,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, 0);
        let (t, ty, out) = (txn_arg!(txn), cstr_arg!(r#type, "type"), out_arg!(out));
        *out = t.txn.insert_edge(src, dst, ty.ident()?)?;
        Ok(QV_OK)
    })
}

/// Creates an edge `src -> dst` of type `type` with the `n` properties at `props` in one
/// call and one log record, as qv_node_insert_with does for a node, and stores its id in
/// `*out`. Returns QV_OK, QV_NOT_FOUND (an endpoint does not exist), QV_NULL_ARGUMENT,
/// QV_INVALID_ARGUMENT, QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_insert_with(
    txn: *mut qv_txn,
    src: qv_node_id,
    dst: qv_node_id,
    r#type: *const c_char,
    props: *const qv_prop,
    n: usize,
    out: *mut qv_edge_id,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, 0);
        let (t, ty) = (txn_arg!(txn), cstr_arg!(r#type, "type"));
        let (props, out) = (props_arg!(props, n), out_arg!(out));
        let ty = ty.ident()?;
        // SAFETY: the caller's keys and values are valid during the call (header).
        let props = unsafe { props_in(props) }?;
        *out = t.txn.insert_edge_with(src, dst, ty, &props)?;
        Ok(QV_OK)
    })
}

/// Deletes edge `id`. Returns QV_OK, QV_NOT_FOUND, QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_delete(txn: *mut qv_txn, id: qv_edge_id) -> qv_status {
    ffi_guard!(txn, {
        txn_arg!(txn).txn.delete_edge(id)?;
        Ok(QV_OK)
    })
}

/// Fills `*out` with edge `id` (its type string is valid until the transaction ends).
/// Returns QV_OK or QV_NOT_FOUND.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_get(
    txn: *mut qv_txn,
    id: qv_edge_id,
    out: *mut qv_edge,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, qv_edge::default());
        let (t, out) = (txn_arg!(txn), out_arg!(out));
        *out = edge_out(&t.txn, t.txn.get_edge(id)?)?;
        Ok(QV_OK)
    })
}

/// Sets property `key` of node `id` to `*v` (copied). A QV_TYPE_NULL value stores a null,
/// which qv_node_get returns; it is not an unset. Returns QV_OK, QV_NOT_FOUND,
/// QV_INVALID_ARGUMENT (bad key, unknown type, string not UTF-8, ptr NULL with len > 0,
/// value longer than QV_MAX_VALUE_LEN), QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_set(
    txn: *mut qv_txn,
    id: qv_node_id,
    key: *const c_char,
    v: *const qv_value,
) -> qv_status {
    ffi_guard!(txn, {
        let (t, key, v) = (txn_arg!(txn), cstr_arg!(key), value_arg!(v));
        t.txn.set_node_prop(id, key.ident()?, v.get()?)?;
        Ok(QV_OK)
    })
}

/// Fills `*out` with property `key` of node `id`. String and bytes values point into the
/// database (not NUL-terminated) and stay valid until the next write in this transaction
/// or its end. Returns QV_OK, or QV_NOT_FOUND when the node does not exist or the key is
/// not set (qv_last_error says which).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_get(
    txn: *mut qv_txn,
    id: qv_node_id,
    key: *const c_char,
    out: *mut qv_value,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, qv_value::default());
        let (t, key, out) = (txn_arg!(txn), cstr_arg!(key), out_arg!(out));
        let key = key.ident()?;
        *out = value_out(t.txn.node_prop(id, key)?.ok_or_else(|| not_set(key))?);
        Ok(QV_OK)
    })
}

/// The error of a property read when the key is not set.
fn not_set(key: &str) -> crate::Error {
    crate::Error::NotFound(format!("{key:?} is not set"))
}

/// Removes property `key` of node `id`; removing a key that is not set is a no-op
/// (QV_OK). Returns QV_OK, QV_NOT_FOUND (no such node), QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_unset(
    txn: *mut qv_txn,
    id: qv_node_id,
    key: *const c_char,
) -> qv_status {
    ffi_guard!(txn, {
        let (t, key) = (txn_arg!(txn), cstr_arg!(key));
        t.txn.unset_node_prop(id, key.ident()?)?;
        Ok(QV_OK)
    })
}

/// Sets property `key` of edge `id` (as qv_node_set).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_set(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
    v: *const qv_value,
) -> qv_status {
    ffi_guard!(txn, {
        let (t, key, v) = (txn_arg!(txn), cstr_arg!(key), value_arg!(v));
        t.txn.set_edge_prop(id, key.ident()?, v.get()?)?;
        Ok(QV_OK)
    })
}

/// Fills `*out` with property `key` of edge `id` (as qv_node_get).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_get_prop(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
    out: *mut qv_value,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, qv_value::default());
        let (t, key, out) = (txn_arg!(txn), cstr_arg!(key), out_arg!(out));
        let key = key.ident()?;
        *out = value_out(t.txn.edge_prop(id, key)?.ok_or_else(|| not_set(key))?);
        Ok(QV_OK)
    })
}

/// Removes property `key` of edge `id` (as qv_node_unset).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_unset(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
) -> qv_status {
    ffi_guard!(txn, {
        let (t, key) = (txn_arg!(txn), cstr_arg!(key));
        t.txn.unset_edge_prop(id, key.ident()?)?;
        Ok(QV_OK)
    })
}

/// Opens a cursor over the edges of `node` in direction `dir`, of type `type` (NULL: any
/// type; a type never stored gives an empty cursor). The cursor yields the state as of
/// now: writes made later in the transaction do not change it, so deleting while
/// iterating is safe. Order: outgoing edges before incoming ones (QV_BOTH yields a self-loop
/// once, as outgoing), and within a direction by type (in the order the type names were
/// first stored), then by edge id. The edges of one node are stored together, so a scan
/// reads consecutive bytes, and one filtered by type reads only that type's entries.
/// Read it with qv_cursor_next_edge; free it with qv_cursor_free.
/// Returns QV_OK, QV_NOT_FOUND (no such node), QV_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edges(
    txn: *mut qv_txn,
    node: qv_node_id,
    dir: qv_dir,
    r#type: *const c_char,
    out: *mut *mut qv_cursor,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, null_mut());
        let (t, ty, out) = (txn_arg!(txn), opt_cstr_arg!(r#type, "type"), out_arg!(out));
        let ty = ty.map(|ty| ty.ident()).transpose()?;
        let c = t.txn.edges(node, dir_in(dir)?, ty)?;
        *out = cursor_into_raw(t, CursorKind::Edge(c));
        Ok(QV_OK)
    })
}

/// Fills `*out` with the cursor's next edge and returns QV_OK, or returns QV_DONE at the
/// end. QV_MISUSE when the cursor's transaction has ended or it is a node cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_edge(c: *mut qv_cursor, out: *mut qv_edge) -> qv_status {
    ffi_guard!(c, {
        clear!(out, qv_edge::default());
        next_one::<EdgeCursor>(cursor_arg!(c), out_arg!(out), "qv_cursor_next_edge")
    })
}

/// Opens a cursor over the live nodes with `label` (NULL: all nodes) in id order. It
/// yields the state as of now (as qv_edges). A label never stored gives an empty cursor.
/// With a label it reads only that label's nodes (through the label index) and the nodes
/// added since the last checkpoint, not every node. Read it with qv_cursor_next_node; free
/// it with qv_cursor_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_nodes(
    txn: *mut qv_txn,
    label: *const c_char,
    out: *mut *mut qv_cursor,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, null_mut());
        let (t, label, out) = (txn_arg!(txn), opt_cstr_arg!(label), out_arg!(out));
        let c = t.txn.nodes(label.map(|l| l.ident()).transpose()?)?;
        *out = cursor_into_raw(t, CursorKind::Node(c));
        Ok(QV_OK)
    })
}

/// Stores the cursor's next node id in `*out` and returns QV_OK, or returns QV_DONE at
/// the end. QV_MISUSE when the cursor's transaction has ended or it is an edge cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_node(c: *mut qv_cursor, out: *mut qv_node_id) -> qv_status {
    ffi_guard!(c, {
        clear!(out, 0);
        next_one::<NodeCursor>(cursor_arg!(c), out_arg!(out), "qv_cursor_next_node")
    })
}

/// Fills `buf[0..cap]` with the cursor's next edges, up to `cap` of them, and stores how
/// many in `*n`. Returns QV_OK when `*n > 0`, QV_DONE (and `*n = 0`) once the cursor is
/// exhausted. It may be mixed with qv_cursor_next_edge on the same cursor; together they
/// yield each edge once. The type strings live as qv_cursor_next_edge's do (until the
/// transaction ends). Returns QV_INVALID_ARGUMENT when `cap` is 0, QV_MISUSE when the
/// cursor's transaction has ended or it is not an edge cursor; on any error `*n` is 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_edges(
    c: *mut qv_cursor,
    buf: *mut qv_edge,
    cap: usize,
    n: *mut usize,
) -> qv_status {
    ffi_guard!(c, {
        clear!(n, 0);
        let (c, buf, n) = (cursor_arg!(c), slice_arg!(buf, cap), out_arg!(n));
        if cap == 0 {
            return Err(invalid("cap is 0; give room for at least one edge".into()));
        }
        next_many::<EdgeCursor>(c, buf, n, "qv_cursor_next_edges")
    })
}

/// Fills `buf[0..cap]` with the cursor's next node ids, up to `cap` of them, and stores
/// how many in `*n`. Returns QV_OK when `*n > 0`, QV_DONE (and `*n = 0`) once the cursor
/// is exhausted. It may be mixed with qv_cursor_next_node on the same cursor; together
/// they yield each node once. Returns QV_INVALID_ARGUMENT when `cap` is 0, QV_MISUSE when
/// the cursor's transaction has ended or it is not a node cursor; on any error `*n` is 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_nodes(
    c: *mut qv_cursor,
    buf: *mut qv_node_id,
    cap: usize,
    n: *mut usize,
) -> qv_status {
    ffi_guard!(c, {
        clear!(n, 0);
        let (c, buf, n) = (cursor_arg!(c), slice_arg!(buf, cap), out_arg!(n));
        if cap == 0 {
            return Err(invalid(
                "cap is 0; give room for at least one node id".into(),
            ));
        }
        next_many::<NodeCursor>(c, buf, n, "qv_cursor_next_nodes")
    })
}

/// Opens a cursor over every property of node `id`, as they are now (later writes in the
/// transaction do not change what it yields), in the order they were last set: a key set
/// again moves to the end. Read it with qv_cursor_next_prop; free it with qv_cursor_free.
/// Returns QV_OK, QV_NOT_FOUND (no such node).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_props(
    txn: *mut qv_txn,
    id: qv_node_id,
    out: *mut *mut qv_cursor,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, null_mut());
        let (t, out) = (txn_arg!(txn), out_arg!(out));
        let c = t.txn.node_prop_cursor(id)?;
        *out = cursor_into_raw(t, CursorKind::Prop(c));
        Ok(QV_OK)
    })
}

/// Opens a cursor over every property of edge `id`, as qv_node_props does for a node.
/// Returns QV_OK, QV_NOT_FOUND (no such edge).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_props(
    txn: *mut qv_txn,
    id: qv_edge_id,
    out: *mut *mut qv_cursor,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, null_mut());
        let (t, out) = (txn_arg!(txn), out_arg!(out));
        let c = t.txn.edge_prop_cursor(id)?;
        *out = cursor_into_raw(t, CursorKind::Prop(c));
        Ok(QV_OK)
    })
}

/// Fills `*out` with the cursor's next property and returns QV_OK, or returns QV_DONE at
/// the end. The key lives until the transaction ends; a string or bytes value until the
/// next write in the transaction or its end, as a qv_node_get value. QV_MISUSE when the
/// cursor's transaction has ended or it is not a property cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_prop(c: *mut qv_cursor, out: *mut qv_prop) -> qv_status {
    ffi_guard!(c, {
        clear!(out, qv_prop::default());
        next_one::<PropCursor>(cursor_arg!(c), out_arg!(out), "qv_cursor_next_prop")
    })
}

/// Frees a cursor, before or after its transaction ended. qv_cursor_free(NULL) does
/// nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_free(c: *mut qv_cursor) {
    let _ = ffi_guard!({
        // SAFETY: NULL or a cursor from qv_edges, qv_nodes or a property listing, which the
        // caller gives up.
        unsafe { cursor_free(c) };
        Ok(QV_OK)
    });
}

/// Stores in `*out` the number of edges of `node` in direction `dir` of type `type`
/// (NULL: any); a self-loop counts once, also for QV_BOTH. Returns QV_OK, QV_NOT_FOUND,
/// QV_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_degree(
    txn: *mut qv_txn,
    node: qv_node_id,
    dir: qv_dir,
    r#type: *const c_char,
    out: *mut u64,
) -> qv_status {
    ffi_guard!(txn, {
        clear!(out, 0);
        let (t, ty, out) = (txn_arg!(txn), opt_cstr_arg!(r#type, "type"), out_arg!(out));
        let ty = ty.map(|ty| ty.ident()).transpose()?;
        *out = t.txn.degree(node, dir_in(dir)?, ty)?;
        Ok(QV_OK)
    })
}
