//! What each log frame does to the records: the single definition, used by live
//! transactions (which build a frame, then apply it) and by recovery (which replays them).
//! Every effect is an assignment of fields named by the frame, or the addition or removal
//! of one edge id in a node's adjacency (a set), so applying a frame to a data file that
//! already holds some of its effects (a checkpoint cut short) gives the same records as
//! applying it once.

use super::records::{Adj, Edge, Node, Props};
use crate::error::{Error, Result};
use crate::format::adj::AdjList;
use crate::format::frame::Target;
use crate::format::record::{FLAG_DELETED, FLAG_LIVE};
use crate::format::{Frame, ValueRef};
use std::sync::Arc;

/// Record access for [`apply_frame`]: reads see earlier puts.
pub trait RecordStore {
    /// The node `id` (None if its slot was never committed).
    fn node(&self, id: u64) -> Result<Option<Node>>;
    /// The edge `id`.
    fn edge(&self, id: u64) -> Result<Option<Edge>>;
    /// Replaces node `id`.
    fn put_node(&mut self, id: u64, n: Node);
    /// Replaces edge `id`.
    fn put_edge(&mut self, id: u64, e: Edge);
    /// A blob equal to `props` with `key` set to `value` (removed for None).
    fn with_prop(&self, props: &Props, key: u32, value: Option<ValueRef<'_>>) -> Result<Props>;
    /// Records string `id` as `name`.
    fn intern(&mut self, id: u32, name: &str) -> Result<()>;
    /// Applies `f` to the adjacency of node `id` (see [`edit_adj`]); the node must have a
    /// record.
    fn edit_adj(&mut self, id: u64, f: &mut dyn FnMut(&mut AdjList)) -> Result<()>;
}

/// Applies `f` to the list `adj` names: one in memory that nothing else shares is changed
/// where it is (so a transaction adding many edges to one node copies its list once), any
/// other is copied first; `load` reads one in the heap. An emptied list becomes `None`.
pub fn edit_adj(
    adj: &mut Adj,
    load: impl FnOnce(u64) -> Result<AdjList>,
    f: &mut dyn FnMut(&mut AdjList),
) -> Result<()> {
    match adj {
        Adj::Heap(off) => *adj = Adj::Mem(Arc::new(load(*off)?)),
        Adj::None => *adj = Adj::Mem(Arc::default()),
        Adj::Mem(_) => {}
    }
    if let Adj::Mem(l) = adj {
        let l = Arc::make_mut(l);
        f(l);
        if l.is_empty() {
            *adj = Adj::None;
        }
    }
    Ok(())
}

/// The error for a frame naming a node or edge without a record.
pub fn no_record(what: &str, id: u64) -> Error {
    Error::Corrupt(format!(
        "log frame refers to {what} {id}, which has no record"
    ))
}

/// Change in live node and edge counts caused by a frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    /// Live nodes added (negative: removed).
    pub nodes: i64,
    /// Live edges added (negative: removed).
    pub edges: i64,
}

fn must<T>(r: Option<T>, what: &str, id: u64) -> Result<T> {
    r.ok_or_else(|| no_record(what, id))
}

/// The properties an insert frame carries (decoding verified the blob).
fn blob(props: &[u8]) -> Props {
    if props.is_empty() {
        Props::None
    } else {
        Props::Mem(props.into())
    }
}

/// Applies the effect of `frame` (transaction-control frames have none).
pub fn apply_frame(frame: &Frame<'_>, rs: &mut impl RecordStore) -> Result<Delta> {
    let mut delta = Delta::default();
    match *frame {
        Frame::NodeInsert { id, label, props } => {
            rs.put_node(
                id,
                Node {
                    flags: FLAG_LIVE,
                    label,
                    props: blob(props),
                    ..Node::default()
                },
            );
            delta.nodes = 1;
        }
        Frame::NodeDelete { id } => {
            rs.put_node(id, Node::deleted());
            delta.nodes = -1;
        }
        Frame::EdgeInsert {
            id,
            src,
            dst,
            etype,
            props,
        } => {
            rs.put_edge(
                id,
                Edge {
                    flags: FLAG_LIVE,
                    etype,
                    src,
                    dst,
                    props: blob(props),
                },
            );
            rs.edit_adj(src, &mut |l| l.add(true, etype, id, dst))?;
            rs.edit_adj(dst, &mut |l| l.add(false, etype, id, src))?;
            delta.edges = 1;
        }
        Frame::EdgeDelete {
            id,
            src,
            dst,
            etype,
        } => {
            rs.put_edge(
                id,
                Edge {
                    flags: FLAG_DELETED,
                    ..Edge::default()
                },
            );
            rs.edit_adj(src, &mut |l| l.remove(true, etype, id))?;
            rs.edit_adj(dst, &mut |l| l.remove(false, etype, id))?;
            delta.edges = -1;
        }
        Frame::PropSet {
            target,
            id,
            key,
            value,
        } => set_prop(rs, target, id, key, Some(value))?,
        Frame::PropUnset { target, id, key } => set_prop(rs, target, id, key, None)?,
        Frame::StringInsert { id, name } => rs.intern(id, name)?,
        Frame::Begin { .. }
        | Frame::Commit { .. }
        | Frame::Abort
        | Frame::Savepoint { .. }
        | Frame::RollbackTo { .. }
        | Frame::Checkpoint { .. }
        | Frame::SegmentEnd { .. } => {}
    }
    Ok(delta)
}

fn set_prop(
    rs: &mut impl RecordStore,
    target: Target,
    id: u64,
    key: u32,
    value: Option<ValueRef<'_>>,
) -> Result<()> {
    match target {
        Target::Node => {
            let mut n = must(rs.node(id)?, "node", id)?;
            n.props = rs.with_prop(&n.props, key, value)?;
            rs.put_node(id, n);
        }
        Target::Edge => {
            let mut e = must(rs.edge(id)?, "edge", id)?;
            e.props = rs.with_prop(&e.props, key, value)?;
            rs.put_edge(id, e);
        }
    }
    Ok(())
}
