//! What each log frame does to the records: the single definition, used by live
//! transactions (which build a frame, then apply it) and by recovery (which replays them).
//! Every effect is an assignment of fields named by the frame, so applying a frame to a
//! data file that already holds some of its effects (a checkpoint cut short) gives the
//! same records as applying it once.

use super::records::{Edge, Node, Props};
use crate::error::{Error, Result};
use crate::format::frame::Target;
use crate::format::record::{FLAG_DELETED, FLAG_LIVE};
use crate::format::{Frame, ValueRef};

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
    r.ok_or_else(|| {
        Error::Corrupt(format!(
            "log frame refers to {what} {id}, which has no record"
        ))
    })
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
            next_out,
            next_in,
            props,
        } => {
            rs.put_edge(
                id,
                Edge {
                    flags: FLAG_LIVE,
                    etype,
                    src,
                    dst,
                    next_out,
                    next_in,
                    props: blob(props),
                    ..Edge::default()
                },
            );
            let mut s = must(rs.node(src)?, "node", src)?;
            s.out_head = id;
            rs.put_node(src, s);
            if next_out != 0 {
                let mut e = must(rs.edge(next_out)?, "edge", next_out)?;
                e.prev_out = id;
                rs.put_edge(next_out, e);
            }
            let mut d = must(rs.node(dst)?, "node", dst)?;
            d.in_head = id;
            rs.put_node(dst, d);
            if next_in != 0 {
                let mut e = must(rs.edge(next_in)?, "edge", next_in)?;
                e.prev_in = id;
                rs.put_edge(next_in, e);
            }
            delta.edges = 1;
        }
        Frame::EdgeDelete {
            id,
            src,
            dst,
            prev_out,
            next_out,
            prev_in,
            next_in,
        } => {
            rs.put_edge(
                id,
                Edge {
                    flags: FLAG_DELETED,
                    ..Edge::default()
                },
            );
            if prev_out != 0 {
                let mut e = must(rs.edge(prev_out)?, "edge", prev_out)?;
                e.next_out = next_out;
                rs.put_edge(prev_out, e);
            } else {
                let mut s = must(rs.node(src)?, "node", src)?;
                s.out_head = next_out;
                rs.put_node(src, s);
            }
            if next_out != 0 {
                let mut e = must(rs.edge(next_out)?, "edge", next_out)?;
                e.prev_out = prev_out;
                rs.put_edge(next_out, e);
            }
            if prev_in != 0 {
                let mut e = must(rs.edge(prev_in)?, "edge", prev_in)?;
                e.next_in = next_in;
                rs.put_edge(prev_in, e);
            } else {
                let mut d = must(rs.node(dst)?, "node", dst)?;
                d.in_head = next_in;
                rs.put_node(dst, d);
            }
            if next_in != 0 {
                let mut e = must(rs.edge(next_in)?, "edge", next_in)?;
                e.prev_in = prev_in;
                rs.put_edge(next_in, e);
            }
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
