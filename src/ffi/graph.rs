//! Nodes, edges, properties, cursors and degree.

use super::codes::{QV_BOTH, QV_DETACH, QV_DONE, QV_IN, QV_OK, QV_OUT};
use super::guard::{
    Fail, clear, ffi_guard, ident, invalid, null, opt_ident, out, value_in, value_out, value_zero,
};
use super::handle::{
    CursorKind, cursor_free, cursor_into_raw, cursor_mut, cursor_shared, qv_cursor, qv_txn,
    txn_mut, txn_shared,
};
use super::types::{qv_dir, qv_edge, qv_edge_id, qv_node_id, qv_prop, qv_status, qv_value};
use crate::graph::{Dir, EdgeInfo};
use crate::txn::Txn;
use std::ffi::c_char;

/// QV_NULL_ARGUMENT when `p` is NULL (all NULL checks come before any other check).
fn nonnull<T>(p: *const T, what: &str) -> Result<(), Fail> {
    if p.is_null() { Err(null(what)) } else { Ok(()) }
}

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

fn edge_zero() -> qv_edge {
    qv_edge {
        id: 0,
        src: 0,
        dst: 0,
        type_: std::ptr::null(),
    }
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
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, 0) };
        nonnull(txn, "txn")?;
        nonnull(label, "label")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL; live handle, NUL-terminated string, writable out.
        let (t, label, out) = unsafe {
            (
                txn_mut(txn)?,
                ident(label, "label")?,
                self::out(out, "out")?,
            )
        };
        *out = t.txn.insert_node(label)?;
        Ok(QV_OK)
    })
}

/// Deletes node `id`. Without QV_DETACH a node that still has edges is refused with
/// QV_CONSTRAINT (and nothing changes); with it, the node's edges are deleted in the same
/// transaction. Returns QV_OK, QV_NOT_FOUND, QV_CONSTRAINT, QV_READ_ONLY,
/// QV_INVALID_ARGUMENT (unknown flags).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_delete(txn: *mut qv_txn, id: qv_node_id, flags: u32) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or a live handle.
        let t = unsafe { txn_mut(txn) }?;
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
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, std::ptr::null()) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, out) = unsafe { (txn_mut(txn)?, self::out(out, "out")?) };
        *out = t.txn.node_label(id)?.as_ptr();
        Ok(QV_OK)
    })
}

/// Creates an edge `src -> dst` of type `type` and stores its id (>= 1) in `*out`.
/// Self-loops and several edges between the same nodes are allowed. Returns QV_OK,
/// QV_NOT_FOUND (an endpoint does not exist), QV_INVALID_ARGUMENT, QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_insert(
    txn: *mut qv_txn,
    src: qv_node_id,
    dst: qv_node_id,
    r#type: *const c_char,
    out: *mut qv_edge_id,
) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, 0) };
        nonnull(txn, "txn")?;
        nonnull(r#type, "type")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, ty, out) = unsafe {
            (
                txn_mut(txn)?,
                ident(r#type, "type")?,
                self::out(out, "out")?,
            )
        };
        *out = t.txn.insert_edge(src, dst, ty)?;
        Ok(QV_OK)
    })
}

/// Deletes edge `id`. Returns QV_OK, QV_NOT_FOUND, QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_delete(txn: *mut qv_txn, id: qv_edge_id) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or a live handle.
        unsafe { txn_mut(txn) }?.txn.delete_edge(id)?;
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
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, edge_zero()) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, out) = unsafe { (txn_mut(txn)?, self::out(out, "out")?) };
        let e = t.txn.get_edge(id)?;
        *out = edge_out(&t.txn, e)?;
        Ok(QV_OK)
    })
}

/// Which record a property call is about.
#[derive(Clone, Copy)]
enum On {
    Node,
    Edge,
}

/// # Safety
/// Pointers are NULL or valid as the exports document.
unsafe fn prop_set(
    txn: *mut qv_txn,
    on: On,
    id: u64,
    key: *const c_char,
    v: *const qv_value,
) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        nonnull(txn, "txn")?;
        nonnull(key, "key")?;
        nonnull(v, "value")?;
        // SAFETY: checked non-NULL; the value's bytes are readable as documented.
        let (t, key, v) = unsafe { (txn_mut(txn)?, ident(key, "key")?, value_in(&*v)?) };
        match on {
            On::Node => t.txn.set_node_prop(id, key, v)?,
            On::Edge => t.txn.set_edge_prop(id, key, v)?,
        }
        Ok(QV_OK)
    })
}

/// # Safety
/// Pointers are NULL or valid as the exports document.
unsafe fn prop_get(
    txn: *mut qv_txn,
    on: On,
    id: u64,
    key: *const c_char,
    out: *mut qv_value,
) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, value_zero()) };
        nonnull(txn, "txn")?;
        nonnull(key, "key")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, key, out) = unsafe { (txn_mut(txn)?, ident(key, "key")?, self::out(out, "out")?) };
        let v = match on {
            On::Node => t.txn.node_prop(id, key)?,
            On::Edge => t.txn.edge_prop(id, key)?,
        };
        let v = v.ok_or_else(|| crate::Error::NotFound(format!("{key:?} is not set")))?;
        *out = value_out(v);
        Ok(QV_OK)
    })
}

/// # Safety
/// Pointers are NULL or valid as the exports document.
unsafe fn prop_unset(txn: *mut qv_txn, on: On, id: u64, key: *const c_char) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        nonnull(txn, "txn")?;
        nonnull(key, "key")?;
        // SAFETY: checked non-NULL.
        let (t, key) = unsafe { (txn_mut(txn)?, ident(key, "key")?) };
        match on {
            On::Node => t.txn.unset_node_prop(id, key)?,
            On::Edge => t.txn.unset_edge_prop(id, key)?,
        }
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
    // SAFETY: forwarded from the caller.
    unsafe { prop_set(txn, On::Node, id, key, v) }
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
    // SAFETY: forwarded from the caller.
    unsafe { prop_get(txn, On::Node, id, key, out) }
}

/// Removes property `key` of node `id`; removing a key that is not set is a no-op
/// (QV_OK). Returns QV_OK, QV_NOT_FOUND (no such node), QV_READ_ONLY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_node_unset(
    txn: *mut qv_txn,
    id: qv_node_id,
    key: *const c_char,
) -> qv_status {
    // SAFETY: forwarded from the caller.
    unsafe { prop_unset(txn, On::Node, id, key) }
}

/// Sets property `key` of edge `id` (as qv_node_set).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_set(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
    v: *const qv_value,
) -> qv_status {
    // SAFETY: forwarded from the caller.
    unsafe { prop_set(txn, On::Edge, id, key, v) }
}

/// Fills `*out` with property `key` of edge `id` (as qv_node_get).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_get_prop(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
    out: *mut qv_value,
) -> qv_status {
    // SAFETY: forwarded from the caller.
    unsafe { prop_get(txn, On::Edge, id, key, out) }
}

/// Removes property `key` of edge `id` (as qv_node_unset).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_unset(
    txn: *mut qv_txn,
    id: qv_edge_id,
    key: *const c_char,
) -> qv_status {
    // SAFETY: forwarded from the caller.
    unsafe { prop_unset(txn, On::Edge, id, key) }
}

/// Opens a cursor over the edges of `node` in direction `dir`, of type `type` (NULL: any
/// type; a type never stored gives an empty cursor). The cursor yields the state as of
/// now: writes made later in the transaction do not change it, so deleting while
/// iterating is safe. Read it with qv_cursor_next_edge; free it with qv_cursor_free.
/// Returns QV_OK, QV_NOT_FOUND (no such node), QV_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edges(
    txn: *mut qv_txn,
    node: qv_node_id,
    dir: qv_dir,
    r#type: *const c_char,
    out: *mut *mut qv_cursor,
) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, std::ptr::null_mut()) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL; type is NULL or NUL-terminated.
        let (t, ty, out) = unsafe {
            (
                txn_mut(txn)?,
                opt_ident(r#type, "type")?,
                self::out(out, "out")?,
            )
        };
        let dir = dir_in(dir)?;
        let c = t.txn.edges(node, dir, ty)?;
        *out = cursor_into_raw(t, CursorKind::Edge(c));
        Ok(QV_OK)
    })
}

/// Fills `*out` with the cursor's next edge and returns QV_OK, or returns QV_DONE at the
/// end. QV_MISUSE when the cursor's transaction has ended or it is a node cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_edge(c: *mut qv_cursor, out: *mut qv_edge) -> qv_status {
    // SAFETY: NULL or a live cursor (only read on a panic).
    ffi_guard!(|| unsafe { cursor_shared(c) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, edge_zero()) };
        nonnull(c, "cursor")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL; a live cursor.
        let (kind, t) = unsafe { cursor_mut(c) }?;
        let CursorKind::Edge(cur) = kind else {
            return Err(super::guard::misuse(
                "qv_cursor_next_edge on a cursor of nodes or properties",
            ));
        };
        match cur.next(t)? {
            Some(e) => {
                // SAFETY: checked non-NULL.
                unsafe { *out = edge_out(t, e)? };
                Ok(QV_OK)
            }
            None => Ok(QV_DONE),
        }
    })
}

/// Opens a cursor over the live nodes with `label` (NULL: all nodes) in id order. It
/// yields the state as of now (as qv_edges). A label never stored gives an empty cursor.
/// Read it with qv_cursor_next_node; free it with qv_cursor_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_nodes(
    txn: *mut qv_txn,
    label: *const c_char,
    out: *mut *mut qv_cursor,
) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, std::ptr::null_mut()) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, label, out) = unsafe {
            (
                txn_mut(txn)?,
                opt_ident(label, "label")?,
                self::out(out, "out")?,
            )
        };
        let c = t.txn.nodes(label)?;
        *out = cursor_into_raw(t, CursorKind::Node(c));
        Ok(QV_OK)
    })
}

/// Stores the cursor's next node id in `*out` and returns QV_OK, or returns QV_DONE at
/// the end. QV_MISUSE when the cursor's transaction has ended or it is an edge cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_node(c: *mut qv_cursor, out: *mut qv_node_id) -> qv_status {
    // SAFETY: NULL or a live cursor (only read on a panic).
    ffi_guard!(|| unsafe { cursor_shared(c) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, 0) };
        nonnull(c, "cursor")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL; a live cursor.
        let (kind, t) = unsafe { cursor_mut(c) }?;
        let CursorKind::Node(cur) = kind else {
            return Err(super::guard::misuse(
                "qv_cursor_next_node on a cursor of edges or properties",
            ));
        };
        match cur.next(t)? {
            Some(id) => {
                // SAFETY: checked non-NULL.
                unsafe { *out = id };
                Ok(QV_OK)
            }
            None => Ok(QV_DONE),
        }
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
    // SAFETY: NULL or a live cursor (only read on a panic).
    ffi_guard!(|| unsafe { cursor_shared(c) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(n, 0) };
        nonnull(c, "cursor")?;
        nonnull(buf, "buf")?;
        nonnull(n, "n")?;
        if cap == 0 {
            return Err(invalid("cap is 0; give room for at least one edge".into()));
        }
        // SAFETY: checked non-NULL; a live cursor.
        let (kind, t) = unsafe { cursor_mut(c) }?;
        let CursorKind::Edge(cur) = kind else {
            return Err(super::guard::misuse(
                "qv_cursor_next_edges on a cursor of nodes or properties",
            ));
        };
        // SAFETY: the caller gives `cap` writable qv_edge slots at `buf`.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        let mut got = 0;
        while got < cap {
            let Some(e) = cur.next(t)? else { break };
            out[got] = edge_out(t, e)?;
            got += 1;
        }
        // SAFETY: checked non-NULL.
        unsafe { *n = got };
        Ok(if got > 0 { QV_OK } else { QV_DONE })
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
    // SAFETY: NULL or a live cursor (only read on a panic).
    ffi_guard!(|| unsafe { cursor_shared(c) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(n, 0) };
        nonnull(c, "cursor")?;
        nonnull(buf, "buf")?;
        nonnull(n, "n")?;
        if cap == 0 {
            return Err(invalid(
                "cap is 0; give room for at least one node id".into(),
            ));
        }
        // SAFETY: checked non-NULL; a live cursor.
        let (kind, t) = unsafe { cursor_mut(c) }?;
        let CursorKind::Node(cur) = kind else {
            return Err(super::guard::misuse(
                "qv_cursor_next_nodes on a cursor of edges or properties",
            ));
        };
        // SAFETY: the caller gives `cap` writable qv_node_id slots at `buf`.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        let mut got = 0;
        while got < cap {
            let Some(id) = cur.next(t)? else { break };
            out[got] = id;
            got += 1;
        }
        // SAFETY: checked non-NULL.
        unsafe { *n = got };
        Ok(if got > 0 { QV_OK } else { QV_DONE })
    })
}

/// # Safety
/// Pointers are NULL or valid as the exports document.
unsafe fn props_open(txn: *mut qv_txn, on: On, id: u64, out: *mut *mut qv_cursor) -> qv_status {
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, std::ptr::null_mut()) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, out) = unsafe { (txn_mut(txn)?, self::out(out, "out")?) };
        let c = match on {
            On::Node => t.txn.node_prop_cursor(id)?,
            On::Edge => t.txn.edge_prop_cursor(id)?,
        };
        *out = cursor_into_raw(t, CursorKind::Prop(c));
        Ok(QV_OK)
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
    // SAFETY: forwarded from the caller.
    unsafe { props_open(txn, On::Node, id, out) }
}

/// Opens a cursor over every property of edge `id`, as qv_node_props does for a node.
/// Returns QV_OK, QV_NOT_FOUND (no such edge).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_edge_props(
    txn: *mut qv_txn,
    id: qv_edge_id,
    out: *mut *mut qv_cursor,
) -> qv_status {
    // SAFETY: forwarded from the caller.
    unsafe { props_open(txn, On::Edge, id, out) }
}

/// Fills `*out` with the cursor's next property and returns QV_OK, or returns QV_DONE at
/// the end. The key lives until the transaction ends; a string or bytes value until the
/// next write in the transaction or its end, as a qv_node_get value. QV_MISUSE when the
/// cursor's transaction has ended or it is not a property cursor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_next_prop(c: *mut qv_cursor, out: *mut qv_prop) -> qv_status {
    // SAFETY: NULL or a live cursor (only read on a panic).
    ffi_guard!(|| unsafe { cursor_shared(c) }, {
        // SAFETY: NULL or writable.
        unsafe {
            clear(
                out,
                qv_prop {
                    key: std::ptr::null(),
                    value: value_zero(),
                },
            )
        };
        nonnull(c, "cursor")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL; a live cursor.
        let (kind, t) = unsafe { cursor_mut(c) }?;
        let CursorKind::Prop(cur) = kind else {
            return Err(super::guard::misuse(
                "qv_cursor_next_prop on a cursor of edges or nodes",
            ));
        };
        match cur.next(t)? {
            Some((key, value)) => {
                // SAFETY: checked non-NULL.
                unsafe {
                    *out = qv_prop {
                        key: key.as_ptr(),
                        value: value_out(value),
                    }
                };
                Ok(QV_OK)
            }
            None => Ok(QV_DONE),
        }
    })
}

/// Frees a cursor, before or after its transaction ended. qv_cursor_free(NULL) does
/// nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qv_cursor_free(c: *mut qv_cursor) {
    let _ = ffi_guard!(|| None, {
        // SAFETY: NULL or a cursor from qv_edges/qv_nodes, not used after this.
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
    // SAFETY: NULL or a live handle (only read on a panic).
    ffi_guard!(|| unsafe { txn_shared(txn) }, {
        // SAFETY: NULL or writable.
        unsafe { clear(out, 0) };
        nonnull(txn, "txn")?;
        nonnull(out, "out")?;
        // SAFETY: checked non-NULL.
        let (t, ty, out) = unsafe {
            (
                txn_mut(txn)?,
                opt_ident(r#type, "type")?,
                self::out(out, "out")?,
            )
        };
        *out = t.txn.degree(node, dir_in(dir)?, ty)?;
        Ok(QV_OK)
    })
}
