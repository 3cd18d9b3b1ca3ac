//! Layer 5: the graph. Nodes, edges and properties as operations on a transaction: each
//! write validates its arguments, then builds a log frame and hands it to `Txn::log`,
//! which applies and logs it. Reads follow adjacency chains through the records.

pub mod check;
mod cursor;
mod digest;
mod sha256;

pub use check::CheckReport;
pub use cursor::{Dir, EdgeCursor, EdgeInfo, NodeCursor, PropCursor};

use crate::error::{Error, Result};
use crate::format::frame::Target;
use crate::format::props::{BLOB_HEADER, encode_blob};
use crate::format::{Frame, ValueRef};
use crate::store::{Adj, Edge, Node, Props};
use crate::txn::Txn;
use crate::validate::{MAX_NODE_EDGES, MAX_PROPS_LEN, check_ident, check_value};
use std::ffi::CStr;

/// Checks the keys and values of an insert's properties and the size of their blob; returns
/// them with each key once (its last value, in its last position).
fn checked_props<'p, 'v>(
    props: &[(&'p str, ValueRef<'v>)],
) -> Result<Vec<(&'p str, ValueRef<'v>)>> {
    let mut out: Vec<(&str, ValueRef<'_>)> = Vec::with_capacity(props.len());
    let mut seen = std::collections::HashSet::with_capacity(props.len());
    for &(key, value) in props {
        check_ident(key, "property key")?;
        check_value(&value)?;
        if !seen.insert(key) {
            out.retain(|(k, _)| *k != key);
        }
        out.push((key, value));
    }
    let len = BLOB_HEADER + out.iter().map(|(_, v)| 4 + v.encoded_len()).sum::<usize>();
    if len > MAX_PROPS_LEN {
        return Err(Error::InvalidArgument(format!(
            "the properties of this record would exceed {MAX_PROPS_LEN} bytes"
        )));
    }
    Ok(out)
}

/// Whether an adjacency body of `len` bytes can take `adds` more entries. An entry takes
/// 12 bytes and at most 8 more for a new group, so a body stays within 8 + 20 *
/// MAX_NODE_EDGES bytes (under 4 GiB, what a blob's length field holds), and a list is
/// refused only once it holds MAX_NODE_EDGES entries or more.
fn room_for_edges(len: usize, adds: usize) -> bool {
    len + 20 * adds <= 8 + 20 * MAX_NODE_EDGES
}

fn not_found(what: &str, id: u64) -> Error {
    Error::NotFound(format!("{what} {id} does not exist"))
}

impl Txn {
    /// The live node `id`.
    fn live_node(&self, id: u64) -> Result<Node> {
        self.shared().check()?;
        match self.node(id)? {
            Some(n) if n.is_live() => Ok(n),
            _ => Err(not_found("node", id)),
        }
    }

    /// The live edge `id`.
    fn live_edge(&self, id: u64) -> Result<Edge> {
        self.shared().check()?;
        match self.edge(id)? {
            Some(e) if e.is_live() => Ok(e),
            _ => Err(not_found("edge", id)),
        }
    }

    /// The properties of the live node or edge `id`.
    fn live_props(&self, target: Target, id: u64) -> Result<Props> {
        Ok(match target {
            Target::Node => self.live_node(id)?.props,
            Target::Edge => self.live_edge(id)?.props,
        })
    }

    /// Creates a node with `label`; returns its id.
    pub fn insert_node(&mut self, label: &str) -> Result<u64> {
        self.insert_node_with(label, &[])
    }

    /// Creates a node with `label` and properties `props` in one log frame; returns its id.
    /// The same result as [`Txn::insert_node`] followed by one [`Txn::set_node_prop`] per
    /// entry, in order (a key given twice: the last value wins, in the last position). Any
    /// invalid entry fails the call with no effect.
    pub fn insert_node_with(&mut self, label: &str, props: &[(&str, ValueRef<'_>)]) -> Result<u64> {
        check_ident(label, "label")?;
        let props = checked_props(props)?;
        self.require_write()?;
        let label = self.intern(label)?;
        let blob = self.encode_props(&props)?;
        let id = self.alloc_node_id()?;
        self.log(Frame::NodeInsert {
            id,
            label,
            props: &blob,
        })?;
        Ok(id)
    }

    /// Deletes node `id`. With `detach`, its edges go too; without, a node with edges is
    /// a constraint error.
    pub fn delete_node(&mut self, id: u64, detach: bool) -> Result<()> {
        self.require_write()?;
        // Not kept across the deletes: a copy of the record would share its edge list,
        // which each delete would then copy again.
        let has_edges = self.live_node(id)?.adj != Adj::None;
        if has_edges {
            if !detach {
                return Err(Error::Constraint(format!(
                    "node {id} still has edges; delete them first or pass QV_DETACH"
                )));
            }
            let edges: Vec<u64> = self.edges(id, Dir::Both, None)?.collect_ids()?;
            // Last first: each removal is then at the end of this node's list, with
            // nothing after it to move.
            for e in edges.into_iter().rev() {
                self.delete_edge(e)?;
            }
        }
        self.log(Frame::NodeDelete { id })
    }

    /// The label of node `id`, valid until the transaction ends.
    pub fn node_label(&self, id: u64) -> Result<&CStr> {
        let n = self.live_node(id)?;
        self.name_of(n.label)
    }

    /// Creates an edge `src -> dst` of type `etype`; returns its id.
    pub fn insert_edge(&mut self, src: u64, dst: u64, etype: &str) -> Result<u64> {
        self.insert_edge_with(src, dst, etype, &[])
    }

    /// Creates an edge with properties in one log frame, as [`Txn::insert_node_with`] does
    /// for a node; returns its id.
    pub fn insert_edge_with(
        &mut self,
        src: u64,
        dst: u64,
        etype: &str,
        props: &[(&str, ValueRef<'_>)],
    ) -> Result<u64> {
        check_ident(etype, "edge type")?;
        let props = checked_props(props)?;
        self.require_write()?;
        self.shared().check()?;
        // A self-loop adds two entries to one list.
        let adds = if src == dst { 2 } else { 1 };
        for n in [src, dst] {
            let Some(len) = self.adj_len(n)? else {
                return Err(not_found("node", n));
            };
            if !room_for_edges(len, adds) {
                return Err(Error::Constraint(format!(
                    "node {n} has {MAX_NODE_EDGES} edges or more, the most a node can have"
                )));
            }
        }
        let etype = self.intern(etype)?;
        let blob = self.encode_props(&props)?;
        let id = self.alloc_edge_id()?;
        self.log(Frame::EdgeInsert {
            id,
            src,
            dst,
            etype,
            props: &blob,
        })?;
        Ok(id)
    }

    /// The blob of `props` (checked by [`checked_props`]), interning the keys; empty for
    /// no properties.
    fn encode_props(&mut self, props: &[(&str, ValueRef<'_>)]) -> Result<Vec<u8>> {
        if props.is_empty() {
            return Ok(Vec::new());
        }
        let mut entries = Vec::with_capacity(props.len());
        for (key, value) in props {
            entries.push((self.intern(key)?, *value));
        }
        Ok(encode_blob(entries))
    }

    /// Deletes edge `id`.
    pub fn delete_edge(&mut self, id: u64) -> Result<()> {
        self.require_write()?;
        let e = self.live_edge(id)?;
        self.log(Frame::EdgeDelete {
            id,
            src: e.src,
            dst: e.dst,
            etype: e.etype,
        })
    }

    /// Edge `id`.
    pub fn get_edge(&self, id: u64) -> Result<EdgeInfo> {
        let e = self.live_edge(id)?;
        Ok(EdgeInfo {
            id,
            src: e.src,
            dst: e.dst,
            etype: e.etype,
        })
    }

    fn set_prop(
        &mut self,
        target: Target,
        id: u64,
        key: &str,
        value: Option<ValueRef<'_>>,
    ) -> Result<()> {
        check_ident(key, "property key")?;
        if let Some(v) = &value {
            check_value(v)?;
        }
        self.require_write()?;
        let props = self.live_props(target, id)?;
        if value.is_none() {
            // Unsetting a key that is not set changes nothing and logs nothing.
            let Some(k) = self.string_id(key) else {
                return Ok(());
            };
            if self.blob(&props)?.get(k).is_none() {
                return Ok(());
            }
            return self.log(Frame::PropUnset { target, id, key: k });
        }
        let value = value.unwrap_or(ValueRef::Null);
        // The new blob keeps every entry but the one this key replaces.
        let replaced = self.string_id(key);
        let current = self.blob(&props)?;
        let old_len = current
            .iter()
            .filter(|(k, _)| Some(*k) != replaced)
            .map(|(_, v)| 4 + v.encoded_len())
            .sum::<usize>();
        if BLOB_HEADER + old_len + 4 + value.encoded_len() > MAX_PROPS_LEN {
            return Err(Error::InvalidArgument(format!(
                "the properties of this record would exceed {MAX_PROPS_LEN} bytes"
            )));
        }
        let key = self.intern(key)?;
        self.log(Frame::PropSet {
            target,
            id,
            key,
            value,
        })
    }

    fn get_prop(&self, target: Target, id: u64, key: &str) -> Result<Option<ValueRef<'_>>> {
        // An interned key passed check_ident when it was interned.
        let k = self.string_id(key);
        if k.is_none() {
            check_ident(key, "property key")?;
        }
        let props = self.live_props(target, id)?;
        let Some(k) = k else {
            return Ok(None);
        };
        self.prop(&props, k)
    }

    /// Sets property `key` of node `id`.
    pub fn set_node_prop(&mut self, id: u64, key: &str, value: ValueRef<'_>) -> Result<()> {
        self.set_prop(Target::Node, id, key, Some(value))
    }

    /// Property `key` of node `id` (None: not set). Strings and bytes point into the
    /// database until the next write in this transaction.
    pub fn node_prop(&self, id: u64, key: &str) -> Result<Option<ValueRef<'_>>> {
        self.get_prop(Target::Node, id, key)
    }

    /// Removes property `key` of node `id` (no-op when not set).
    pub fn unset_node_prop(&mut self, id: u64, key: &str) -> Result<()> {
        self.set_prop(Target::Node, id, key, None)
    }

    /// Sets property `key` of edge `id`.
    pub fn set_edge_prop(&mut self, id: u64, key: &str, value: ValueRef<'_>) -> Result<()> {
        self.set_prop(Target::Edge, id, key, Some(value))
    }

    /// Property `key` of edge `id` (None: not set).
    pub fn edge_prop(&self, id: u64, key: &str) -> Result<Option<ValueRef<'_>>> {
        self.get_prop(Target::Edge, id, key)
    }

    /// Removes property `key` of edge `id` (no-op when not set).
    pub fn unset_edge_prop(&mut self, id: u64, key: &str) -> Result<()> {
        self.set_prop(Target::Edge, id, key, None)
    }

    /// All properties of node `id`, as (key, value), in the order they were last set.
    pub fn node_props(&self, id: u64) -> Result<Vec<(&CStr, ValueRef<'_>)>> {
        self.named_props(Target::Node, id)
    }

    /// All properties of edge `id`, as (key, value), in the order they were last set.
    pub fn edge_props(&self, id: u64) -> Result<Vec<(&CStr, ValueRef<'_>)>> {
        self.named_props(Target::Edge, id)
    }

    fn named_props(&self, target: Target, id: u64) -> Result<Vec<(&CStr, ValueRef<'_>)>> {
        let props = self.live_props(target, id)?;
        let blob = self.blob(&props)?;
        blob.iter()
            .map(|(k, v)| Ok((self.name_of(k)?, v)))
            .collect()
    }

    /// A cursor over the properties of node `id` as they are now (see [`PropCursor`]).
    pub fn node_prop_cursor(&self, id: u64) -> Result<PropCursor> {
        Ok(PropCursor::open(self.live_props(Target::Node, id)?))
    }

    /// A cursor over the properties of edge `id` as they are now (see [`PropCursor`]).
    pub fn edge_prop_cursor(&self, id: u64) -> Result<PropCursor> {
        Ok(PropCursor::open(self.live_props(Target::Edge, id)?))
    }

    /// A cursor over the edges of `node` in direction `dir`, of type `etype` (None: any).
    /// It yields the state as of now: later writes in this transaction do not change it.
    pub fn edges(&self, node: u64, dir: Dir, etype: Option<&str>) -> Result<EdgeCursor> {
        if let Some(t) = etype {
            check_ident(t, "edge type")?;
        }
        let n = self.live_node(node)?;
        let etype = etype.map(|t| self.string_id(t).unwrap_or(0));
        EdgeCursor::open(self, node, &n, dir, etype)
    }

    /// A cursor over the live nodes, of `label` (None: all), in id order.
    pub fn nodes(&self, label: Option<&str>) -> Result<NodeCursor> {
        if let Some(l) = label {
            check_ident(l, "label")?;
        }
        self.shared().check()?;
        let label = label.map(|l| self.string_id(l).unwrap_or(0));
        NodeCursor::open(self, label)
    }

    /// Number of edges of `node` in `dir` of type `etype` (None: any); a self-loop
    /// counts once.
    pub fn degree(&self, node: u64, dir: Dir, etype: Option<&str>) -> Result<u64> {
        self.edges(node, dir, etype)?.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_takes_max_node_edges_and_its_list_stays_under_4_gib() {
        let max = MAX_NODE_EDGES;
        // Worst case: every entry in a group of its own (20 bytes an entry).
        let worst = |e: usize| 8 + 20 * e;
        assert!(room_for_edges(worst(max - 1), 1));
        assert!(room_for_edges(worst(max - 2), 2));
        assert!(!room_for_edges(worst(max), 1));
        assert!(!room_for_edges(worst(max - 1), 2));
        // One group: 12 bytes an entry; refused only past MAX_NODE_EDGES entries.
        let one_group = |e: usize| 16 + 12 * e;
        assert!(room_for_edges(one_group(max), 1));
        assert!(
            worst(max) < u32::MAX as usize - 8,
            "the largest body fits a blob"
        );
    }
}
