//! Writes the seed corpora under `fuzz/corpus/<target>/` from real encodings: frames made by
//! `Frame::encode` (every kind, every value type) and frames cut from a real log, segment
//! headers and meta slots from a real database, node and edge records, property blobs,
//! adjacency blobs, free lists and label index chunks from its data files, and operation
//! sequences for `api_model`.
//!
//! Run it again whenever an on-disk format changes (seeds that no longer decode only make
//! the fuzzer start further away):
//!
//! ```text
//! cd fuzz && cargo run --example gen_corpus            # writes ./corpus
//! cargo run --example gen_corpus -- /some/other/dir
//! ```
//!
//! Every file it writes is named `seed-*`, and it removes the `seed-*` files of the targets
//! it writes that it did not write this time (seeds of an older format); files of other
//! names are left alone.

use quiver::testing::SplitMix64;
use quiver::testing::format::adj::{AdjList, Group};
use quiver::testing::format::frame::{SEGMENT_HEADER, sample_frames, sample_values};
use quiver::testing::format::free::FreeSpace;
use quiver::testing::format::labels::{CHUNK_HEADER, chunk_head, decode_chunk, encode_chunk};
use quiver::testing::format::meta::{FORMAT_VERSION, META_LEN, META_SLOT_OFFSETS};
use quiver::testing::format::props::BLOB_HEADER;
use quiver::testing::format::record::{EDGE_SIZE, FLAG_DELETED, FLAG_LIVE, MAX_48, NODE_SIZE};
use quiver::testing::format::{
    EdgeRec, Frame, Meta, NodeRec, PropBlob, SegmentHeader, ValueRef, unseal,
};
use quiver::{Database, Options, SyncMode};
use quiver_fuzz::crc32;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One random byte.
fn byte(rng: &mut SplitMix64) -> u8 {
    rng.next_u64() as u8
}

struct Out {
    root: PathBuf,
    files: usize,
    bytes: usize,
    /// The seed files written, by target.
    written: BTreeMap<String, BTreeSet<String>>,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        let file = format!("seed-{name}");
        std::fs::write(dir.join(&file), data).expect("write seed");
        let fresh = self
            .written
            .entry(target.to_string())
            .or_default()
            .insert(file);
        assert!(fresh, "seed {target}/seed-{name} written twice");
        self.files += 1;
        self.bytes += data.len();
    }

    /// Removes the `seed-*` files of the targets written that this run did not write: they
    /// come from an older generator or format. Returns how many.
    fn prune(&self) -> usize {
        let mut removed = 0;
        for (target, files) in &self.written {
            let dir = self.root.join(target);
            for entry in std::fs::read_dir(&dir).expect("list corpus directory") {
                let name = entry.expect("corpus entry").file_name();
                let name = name.to_string_lossy();
                if name.starts_with("seed-") && !files.contains(name.as_ref()) {
                    std::fs::remove_file(dir.join(name.as_ref())).expect("remove stale seed");
                    println!("removed stale {target}/{name}");
                    removed += 1;
                }
            }
        }
        removed
    }
}

fn values() -> Vec<(&'static str, ValueRef<'static>)> {
    sample_values()
}

/// Tag and payload of a value, as blobs and PropSet frames store it.
fn value_bytes(v: ValueRef<'_>) -> Vec<u8> {
    // A one-entry blob is header (8) + key (4) + value.
    PropBlob::EMPTY.with(1, Some(v))[12..].to_vec()
}

fn frames() -> Vec<(String, Frame<'static>)> {
    sample_frames()
}

fn with_lsn(lsn: u64, frame: &[u8]) -> Vec<u8> {
    let mut b = lsn.to_le_bytes().to_vec();
    b.extend_from_slice(frame);
    b
}

/// The files of a small real database, captured while open (the log, before the first
/// checkpoint) and after close. Property changes across checkpoints leave free space in
/// the heap, so its meta slots name free lists; nodes of several labels added across
/// checkpoints leave several label index chunks per label; edges of several types in both
/// directions, self-loops, parallel edges and a node with many edges leave adjacency blobs
/// of every shape (see `edges`).
struct RealDb {
    wal: Vec<u8>,
    /// The meta file before close: its two slots name the lists of the last two
    /// checkpoints (a clean close writes the last one's state into both).
    meta_open: Vec<u8>,
    meta: Vec<u8>,
    nodes: Vec<u8>,
    edges: Vec<u8>,
    props: Vec<u8>,
    labels: Vec<u8>,
}

fn real_db(scratch: &Path) -> RealDb {
    let dir = scratch.join("db");
    let _ = std::fs::remove_dir_all(&dir);
    let opts = Options {
        sync: SyncMode::Off,
        ..Options::default()
    };
    let db = Database::open(&dir, &opts).expect("create");
    let mut t = db.begin_write().expect("begin");
    let a = t.insert_node("Person").expect("node");
    let b = t.insert_node("Ünïcode").expect("node");
    let e = t.insert_edge(a, b, "KNOWS").expect("edge");
    t.insert_edge(b, b, "SELF").expect("edge");
    for (i, (_, v)) in values().into_iter().enumerate() {
        t.set_node_prop(a, &format!("k{i}"), v).expect("prop");
    }
    t.set_edge_prop(e, "since", ValueRef::Int(2020))
        .expect("prop");
    t.commit().expect("commit");
    let mut t = db.begin_write().expect("begin");
    t.savepoint("sp").expect("savepoint");
    t.insert_node("Gone").expect("node");
    t.rollback_to("sp").expect("rollback_to");
    t.set_node_prop(b, "name", ValueRef::Str("b"))
        .expect("prop");
    t.unset_node_prop(a, "k0").expect("unset");
    t.commit().expect("commit");
    let mut t = db.begin_write().expect("begin");
    let c = t.insert_node("Person").expect("node");
    t.delete_edge(e).expect("delete edge");
    t.delete_node(c, false).expect("delete node");
    t.commit().expect("commit");
    let wal_name = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wal-"))
        .min()
        .expect("a log segment");
    let wal = std::fs::read(dir.join(wal_name)).expect("read log");
    db.checkpoint().expect("checkpoint");
    edges(&db, a, b);
    free_space(&db, a);
    let read = |n: &str| std::fs::read(dir.join(n)).expect("read file");
    let meta_open = read("meta");
    db.close().expect("close");
    let r = RealDb {
        wal,
        meta_open,
        meta: read("meta"),
        nodes: read("nodes"),
        edges: read("edges"),
        props: read("props"),
        labels: read("labels"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// Edges whose adjacency blobs the adjacency seeds cut out of the heap: a hub with a few
/// hundred edges of several types in both directions (parallel edges, two kinds of
/// self-loop, edges to `a` and `b`) and nodes with one edge or a few; then, across a
/// checkpoint (which rewrites, and so frees, the blobs it changes), deletions that take
/// edges out of the middle of a group, empty a group, empty a direction (spoke 10 keeps
/// only its incoming edge) and leave two nodes with no edges at all (no blob).
fn edges(db: &Database, a: u64, b: u64) {
    let mut t = db.begin_write().expect("begin");
    let hub = t.insert_node("Person").expect("node");
    let spokes: Vec<u64> = (0..24)
        .map(|_| t.insert_node("Item").expect("node"))
        .collect();
    let mut doomed = Vec::new();
    for (i, &s) in spokes.iter().enumerate() {
        let ty = ["LINKS", "LIKES", "FOLLOWS"][i % 3];
        t.insert_edge(hub, s, ty).expect("edge");
        if i % 4 == 0 {
            t.insert_edge(s, hub, "KNOWS").expect("edge");
        }
        if i % 5 == 0 {
            doomed.push(t.insert_edge(s, hub, "GONE").expect("edge"));
        }
    }
    // Many edges: parallel ones to the first spokes, two types interleaved.
    for i in 0..160 {
        let ty = ["LINKS", "OWNS"][i % 2];
        let e = t.insert_edge(hub, spokes[i % 6], ty).expect("edge");
        if i % 37 == 3 {
            doomed.push(e);
        }
    }
    t.insert_edge(hub, hub, "SELF").expect("edge");
    t.insert_edge(hub, hub, "LIKES").expect("edge");
    t.insert_edge(hub, a, "KNOWS").expect("edge");
    t.insert_edge(b, hub, "LIKES").expect("edge");
    let (x, y) = (
        t.insert_node("Item").expect("node"),
        t.insert_node("Item").expect("node"),
    );
    doomed.push(t.insert_edge(x, y, "GONE").expect("edge"));
    doomed.push(t.insert_edge(y, y, "GONE").expect("edge"));
    t.commit().expect("commit");
    db.checkpoint().expect("checkpoint");
    let mut t = db.begin_write().expect("begin");
    for e in doomed {
        t.delete_edge(e).expect("delete edge");
    }
    t.insert_edge(spokes[1], spokes[7], "LINKS").expect("edge");
    t.commit().expect("commit");
    db.checkpoint().expect("checkpoint");
}

/// Checkpoints that free heap blobs: a blob a checkpointed record named becomes free when
/// a later checkpoint writes that record naming another blob (or none). The extents are
/// kept apart (blobs that stay live between them), so the lists hold several; the last
/// checkpoint reuses some of them and frees the list blob the slot before named.
fn free_space(db: &Database, a: u64) {
    let mut t = db.begin_write().expect("begin");
    let n: Vec<u64> = (0..6)
        .map(|i| {
            let id = t.insert_node("Item").expect("node");
            t.set_node_prop(id, "i", ValueRef::Int(i)).expect("prop");
            id
        })
        .collect();
    t.commit().expect("commit");
    db.checkpoint().expect("checkpoint");
    let mut t = db.begin_write().expect("begin");
    t.set_node_prop(a, "k1", ValueRef::Str("changed"))
        .expect("prop");
    t.set_node_prop(n[1], "i", ValueRef::Str("now a longer string"))
        .expect("prop");
    t.delete_node(n[3], false).expect("delete node");
    t.unset_node_prop(n[5], "i").expect("unset");
    t.commit().expect("commit");
    db.checkpoint().expect("checkpoint");
    let mut t = db.begin_write().expect("begin");
    t.set_node_prop(n[0], "i", ValueRef::Int(100))
        .expect("prop");
    let m = t.insert_node("Item").expect("node");
    t.set_node_prop(m, "i", ValueRef::Int(7)).expect("prop");
    t.commit().expect("commit");
    db.checkpoint().expect("checkpoint");
}

fn gen_frames(out: &mut Out, real: &RealDb) {
    for (i, (name, f)) in frames().into_iter().enumerate() {
        let lsn = [0u64, 64, 4096, 1 << 40][i % 4];
        let mut b = Vec::new();
        f.encode(lsn, 1 + i as u64, &mut b);
        out.put("frame", &name, &with_lsn(lsn, &b));
    }
    // A frame followed by the next one (the decoder reads only the first).
    let mut b = Vec::new();
    let n = Frame::Begin { durable_lsn: 0 }.encode(64, 7, &mut b);
    Frame::Commit { durable_lsn: 64 }.encode(64 + n as u64, 7, &mut b);
    out.put("frame", "begin-then-commit", &with_lsn(64, &b));
    // Frames cut from a real log, at their real LSNs: the first 40 and every edge frame.
    let h = SegmentHeader::decode(&real.wal[..SEGMENT_HEADER]).expect("real header");
    let mut pos = SEGMENT_HEADER;
    let (mut seen, mut kept, mut edge_frames) = (0, 0, 0);
    while pos < real.wal.len() {
        let lsn = h.base_lsn + (pos - SEGMENT_HEADER) as u64;
        let Ok((_, f, n)) = Frame::decode(&real.wal[pos..], lsn) else {
            break;
        };
        let edge = matches!(f, Frame::EdgeInsert { .. } | Frame::EdgeDelete { .. });
        edge_frames += usize::from(edge);
        if seen < 40 || edge {
            out.put(
                "frame",
                &format!("real-{seen:02}"),
                &with_lsn(lsn, &real.wal[pos..pos + n]),
            );
            kept += 1;
        }
        seen += 1;
        pos += n;
    }
    println!("real log: {seen} frames, {edge_frames} of edges; kept {kept}");
    assert!(
        edge_frames >= 3,
        "the real log should hold edge inserts and a delete"
    );
    // A few rejects: a stale LSN, a torn frame, a flipped bit.
    let mut b = Vec::new();
    Frame::NodeInsert {
        id: 1,
        label: 1,
        props: &[],
    }
    .encode(64, 1, &mut b);
    out.put("frame", "reject-stale-lsn", &with_lsn(72, &b));
    out.put("frame", "reject-torn", &with_lsn(64, &b[..b.len() - 3]));
    let mut d = b.clone();
    d[20] ^= 4;
    out.put("frame", "reject-bitflip", &with_lsn(64, &d));
}

fn gen_headers(out: &mut Out, real: &RealDb) {
    out.put("segment_header", "real", &real.wal[..SEGMENT_HEADER]);
    let mut rng = SplitMix64::new(7);
    for i in 0..12 {
        let h = SegmentHeader {
            db_id: if i % 3 == 0 { 1 } else { rng.next_u64() | 1 },
            number: [1, 2, 0x10, u64::MAX][i % 4],
            base_lsn: [0, 64, 1 << 20, rng.next_u64()][i / 3 % 4],
        };
        out.put("segment_header", &format!("h{i:02}"), &h.encode());
    }
    let mut d = real.wal[..SEGMENT_HEADER].to_vec();
    d[9] ^= 1;
    out.put("segment_header", "reject-version", &d);
    out.put(
        "segment_header",
        "reject-short",
        &real.wal[..SEGMENT_HEADER - 24],
    );
}

fn gen_meta(out: &mut Out, real: &RealDb) {
    for (i, off) in META_SLOT_OFFSETS.iter().enumerate() {
        let off = *off as usize;
        if let Some(slot) = real.meta.get(off..off + META_LEN) {
            out.put("meta", &format!("real-slot{i}"), slot);
        }
        if let Some(slot) = real.meta_open.get(off..off + META_LEN) {
            out.put("meta", &format!("real-open-slot{i}"), slot);
        }
    }
    let mut rng = SplitMix64::new(11);
    for i in 0..14 {
        // Every other slot names a free list.
        let (free_off, free_len, free_crc) = if i % 2 == 1 {
            (
                16 + rng.below(1 << 20),
                24 + 16 * rng.below(64),
                rng.next_u64() as u32,
            )
        } else {
            (0, 0, 0)
        };
        let m = Meta {
            generation: 1 + i,
            db_id: rng.next_u64() | 1,
            checkpoint_lsn: rng.below(1 << 30),
            last_txn: i * 3,
            next_node: 1 + rng.below(1000),
            next_edge: 1 + rng.below(1000),
            string_count: rng.below(50),
            strings_len: rng.below(4096),
            heap_len: 16 + rng.below(1 << 20),
            live_nodes: rng.below(1000),
            live_edges: rng.below(1000),
            free_off,
            free_len,
            free_crc,
            // Every third slot names no label chunks (a database with no nodes yet).
            labels_len: if i % 3 == 0 { 0 } else { rng.below(1 << 16) },
        };
        let m = if i == 13 {
            Meta {
                generation: u64::MAX,
                ..Meta::default()
            }
        } else {
            m
        };
        out.put("meta", &format!("m{i:02}"), &m.encode());
    }
    // Other format versions with a valid checksum: in format 2's layout (108 bytes, the
    // CRC of bytes 0..104 at 104), as format 2 wrote and a later format might, and in the
    // current layout (the CRC of bytes 0..136 at 136, the last 4 of `META_LEN`): format 3,
    // which had it too (edges in linked chains, before adjacency blobs), and the next one.
    let m = Meta {
        generation: 5,
        db_id: 0xfeed,
        heap_len: 16,
        ..Meta::default()
    };
    for (name, version) in [("version-2", 2u32), ("version-future-v2-layout", 99)] {
        let mut b = m.encode()[..108].to_vec();
        b[8..12].copy_from_slice(&version.to_le_bytes());
        b[104..108].fill(0);
        let crc = crc32(&b[..104]);
        b[104..108].copy_from_slice(&crc.to_le_bytes());
        out.put("meta", name, &b);
    }
    for (name, version) in [("version-3", 3), ("version-future", FORMAT_VERSION + 1)] {
        assert_ne!(version, FORMAT_VERSION, "{name}");
        let mut b = m.encode();
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let body = META_LEN - 4;
        let crc = crc32(&b[..body]);
        b[body..META_LEN].copy_from_slice(&crc.to_le_bytes());
        out.put("meta", name, &b);
    }
    let mut d = Meta::default().encode();
    d[40] ^= 0x80;
    out.put("meta", "reject-bitflip", &d);
}

/// The flags of the `i`th made-up record: every third one is deleted.
fn record_flags(i: u64) -> u32 {
    if i % 3 == 2 { FLAG_DELETED } else { FLAG_LIVE }
}

/// A heap offset (property or adjacency blob) of the `i`th made-up record: none for even
/// `i`, else a random one.
fn record_blob(i: u64, rng: &mut SplitMix64) -> u64 {
    if i.is_multiple_of(2) {
        0
    } else {
        16 + rng.below(1 << 20)
    }
}

fn gen_records(out: &mut Out, real: &RealDb) {
    for (i, chunk) in real.nodes.chunks_exact(NODE_SIZE).enumerate().take(6) {
        out.put("records", &format!("real-node{i}"), chunk);
    }
    for (i, chunk) in real.edges.chunks_exact(EDGE_SIZE).enumerate().take(6) {
        out.put("records", &format!("real-edge{i}"), chunk);
    }
    let mut rng = SplitMix64::new(13);
    for i in 0..8u64 {
        let n = NodeRec {
            flags: record_flags(i),
            label: byte(&mut rng) as u32,
            adj: if i == 7 {
                MAX_48
            } else {
                record_blob(i + 1, &mut rng)
            },
            props: record_blob(i, &mut rng),
        };
        // The records target takes the slot id from the flags byte (see its comment).
        out.put(
            "records",
            &format!("node{i}"),
            &n.encode(u64::from(n.flags)),
        );
        let e = EdgeRec {
            flags: record_flags(i),
            etype: byte(&mut rng) as u32,
            src: 1 + rng.below(100),
            dst: 1 + rng.below(100),
            props: if i == 7 {
                MAX_48
            } else {
                record_blob(i, &mut rng)
            },
        };
        out.put(
            "records",
            &format!("edge{i}"),
            &e.encode(u64::from(e.flags)),
        );
    }
    out.put("records", "empty-node", &[0u8; NODE_SIZE]);
    out.put("records", "empty-edge", &[0u8; EDGE_SIZE]);
    let mut d = EdgeRec {
        flags: FLAG_LIVE,
        src: 1,
        dst: 2,
        ..EdgeRec::default()
    }
    .encode(1);
    d[3] ^= 1;
    out.put("records", "reject-bitflip", &d);
}

/// The heap offsets of the property blobs the real database's node and edge records name.
fn real_blob_offsets(real: &RealDb) -> Vec<u64> {
    let nodes = real.nodes.chunks_exact(NODE_SIZE).enumerate();
    let edges = real.edges.chunks_exact(EDGE_SIZE).enumerate();
    let mut offs: Vec<u64> = nodes
        .filter_map(|(id, b)| NodeRec::decode(b, id as u64).ok().map(|r| r.props))
        .chain(edges.filter_map(|(id, b)| EdgeRec::decode(b, id as u64).ok().map(|r| r.props)))
        .filter(|&off| off != 0)
        .collect();
    offs.sort_unstable();
    offs.dedup();
    offs
}

fn gen_props(out: &mut Out, real: &RealDb) {
    // The blobs the real records name (the heap also holds freed blobs and free lists),
    // each followed by an edit.
    let offs = real_blob_offsets(real);
    assert!(
        offs.len() >= 4,
        "the real database names {} blobs",
        offs.len()
    );
    for (i, off) in offs.into_iter().enumerate() {
        let pos = off as usize;
        let (_, n) = PropBlob::parse(&real.props[pos..]).expect("a blob a record names");
        let mut b = real.props[pos..pos + n].to_vec();
        b.push((i * 5) as u8 % 0x80);
        b.extend(value_bytes(values()[i % values().len()].1));
        out.put("props", &format!("real-{i:02}"), &b);
    }
    // Built with `with`: one entry of every value type, then growing blobs.
    let all = values();
    for (name, v) in &all {
        let mut b = PropBlob::EMPTY.with(3, Some(*v));
        b.push(0x00); // edit: the existing key
        b.extend(value_bytes(ValueRef::Int(7)));
        out.put("props", &format!("one-{name}"), &b);
    }
    let mut blob = PropBlob::EMPTY.with(0, None);
    out.put("props", "empty", &blob);
    for (k, (_, v)) in all.iter().enumerate().take(8) {
        let (p, _) = PropBlob::parse(&blob).expect("parses");
        blob = p.with(k as u32 * 7 + 1, Some(*v));
        let mut b = blob.clone();
        b.push(0x90); // edit: a raw key follows
        b.extend(99u32.to_le_bytes());
        b.extend(value_bytes(ValueRef::Str("new")));
        out.put("props", &format!("grow-{k}"), &b);
    }
    let mut d = PropBlob::EMPTY.with(1, Some(ValueRef::Str("abc")));
    d[10] ^= 1;
    out.put("props", "reject-bitflip", &d);
}

/// The (node id, heap offset) of every adjacency blob the real database's node records name.
fn real_adj_offsets(real: &RealDb) -> Vec<(u64, u64)> {
    real.nodes
        .chunks_exact(NODE_SIZE)
        .enumerate()
        .filter_map(|(id, b)| {
            NodeRec::decode(b, id as u64)
                .ok()
                .map(|r| (id as u64, r.adj))
        })
        .filter(|&(_, off)| off != 0)
        .collect()
}

fn adj_group(etype: u32, edges: &[(u64, u64)]) -> Group {
    Group {
        etype,
        edges: edges.to_vec(),
    }
}

fn adj_list(out: Vec<Group>, inc: Vec<Group>) -> AdjList {
    AdjList::from_groups(&out, &inc)
}

/// Whether node `id`'s list holds a self-loop: an edge out of `id` to `id` that is also
/// an edge into `id` from `id`.
fn has_self_loop(id: u64, l: &AdjList) -> bool {
    let [out, inc] = l.groups();
    let ins: BTreeSet<u64> = inc
        .iter()
        .flat_map(|g| &g.edges)
        .filter(|&&(_, n)| n == id)
        .map(|&(e, _)| e)
        .collect();
    out.iter()
        .flat_map(|g| &g.edges)
        .any(|&(e, n)| n == id && ins.contains(&e))
}

fn gen_adjacency(out: &mut Out, real: &RealDb) {
    use fix_mode::*;
    // The blobs the real node records name, cut out of the heap (the heap also holds
    // freed adjacency blobs, property blobs and free lists).
    let mut lists = Vec::new();
    for (id, off) in real_adj_offsets(real) {
        let pos = off as usize;
        let (body, _, n) = unseal(&real.props[pos..]).expect("an adjacency blob a node names");
        let list = AdjList::decode_body(body).expect("a real adjacency blob");
        assert_eq!(
            list.encode_body(),
            body,
            "node {id}: the real blob re-encodes"
        );
        out.put(
            "adjacency",
            &format!("real-node{id:02}"),
            &mode_input(AS_IS, &real.props[pos..pos + n]),
        );
        lists.push((id, off, n, list));
    }
    let any = |f: fn(u64, &AdjList) -> bool| lists.iter().any(|(id, _, _, l)| f(*id, l));
    assert!(
        any(|_, l| l.groups()[0].len() >= 3 && l.groups()[1].len() >= 2),
        "the real database should have a node with several edge types in both directions"
    );
    assert!(
        any(has_self_loop),
        "the real database should have a self-loop"
    );
    assert!(
        any(|_, l| l.len() >= 100),
        "the real database should have a node with many edges"
    );
    assert!(
        any(|_, l| l.groups()[0].is_empty() && !l.groups()[1].is_empty()),
        "the real database should have a node with incoming edges only"
    );
    let (hub, off, n, l) = lists
        .iter()
        .max_by_key(|(_, _, _, l)| l.len())
        .expect("real adjacency blobs");
    println!(
        "{} adjacency blobs; node {hub}'s, the largest: {} out groups, {} in groups, {} edges, \
         {n} bytes",
        lists.len(),
        l.groups()[0].len(),
        l.groups()[1].len(),
        l.len()
    );
    // The largest again, with the heap bytes after it (`unseal` reads only the blob), and
    // fixed up by the target (so mutations of its body get past the CRC).
    let pos = *off as usize;
    let tail = &real.props[pos..(pos + n + 64).min(real.props.len())];
    out.put(
        "adjacency",
        "real-largest-then-heap",
        &mode_input(AS_IS, tail),
    );
    out.put(
        "adjacency",
        "real-largest-fixed",
        &mode_input(FIX_LEN_CRC, &real.props[pos..pos + n]),
    );

    // Made up.
    let m = MAX_48;
    let mut made: Vec<(String, AdjList)> = vec![
        ("empty".into(), AdjList::default()),
        (
            "one-out".into(),
            adj_list(vec![adj_group(1, &[(1, 2)])], vec![]),
        ),
        (
            "one-in".into(),
            adj_list(vec![], vec![adj_group(1, &[(1, 2)])]),
        ),
        (
            "self-loop".into(),
            adj_list(vec![adj_group(3, &[(5, 9)])], vec![adj_group(3, &[(5, 9)])]),
        ),
        (
            "max-48".into(),
            adj_list(
                vec![adj_group(u32::MAX, &[(m - 2, 1), (m - 1, m), (m, m)])],
                vec![adj_group(0, &[(1, m)]), adj_group(u32::MAX - 1, &[(m, m)])],
            ),
        ),
        (
            "one-large-group".into(),
            adj_list(
                vec![adj_group(
                    4,
                    &(1..=300).map(|e| (e * 3, 7)).collect::<Vec<_>>(),
                )],
                vec![],
            ),
        ),
    ];
    // Edge ids are distinct within a direction, as the format promises (`decode_body`
    // does not check it across groups).
    let mut rng = SplitMix64::new(29);
    let mut many = AdjList::default();
    for (out_dir, groups) in [(true, 20u32), (false, 12)] {
        let mut ids: Vec<u64> = (1..=400).collect();
        for g in 0..groups {
            for _ in 0..1 + rng.below(5) {
                let e = ids.swap_remove(rng.below(ids.len() as u64) as usize);
                many.add(out_dir, 1 + g * 3, e, 1 + rng.below(500));
            }
        }
    }
    made.push(("many-groups".into(), many));
    for (name, l) in &made {
        let body = l.encode_body();
        assert_eq!(AdjList::decode_body(&body).as_ref(), Ok(l), "{name}");
        out.put("adjacency", name, &mode_input(AS_IS, &framed(&body)));
    }
    // Random lists the target fixes up.
    for i in 0..6 {
        let mut l = AdjList::default();
        let mut used = [BTreeSet::new(), BTreeSet::new()];
        let id_range = [64, 1 << 10, 1 << 20, 1 << 32, m, m][i];
        for _ in 0..1 + rng.below(60) {
            let etype = rng.below([1, 3, 8, 40, 1 << 32, 2][i]) as u32;
            let dir = rng.below(2) as usize;
            let e = 1 + rng.below(id_range);
            if used[dir].insert(e) {
                l.add(dir == 0, etype, e, 1 + rng.below(id_range));
            }
        }
        let body = l.encode_body();
        assert_eq!(AdjList::decode_body(&body).as_ref(), Ok(&l), "random-{i}");
        out.put(
            "adjacency",
            &format!("random-{i}"),
            &mode_input(FIX_LEN_CRC, &framed(&body)),
        );
    }

    // Refused: each breaks one rule, the body ones under a valid length and CRC.
    let good = adj_list(
        vec![adj_group(2, &[(3, 4), (8, 1)]), adj_group(6, &[(5, 5)])],
        vec![adj_group(2, &[(9, 7)])],
    )
    .encode_body();
    let mut trailing = good.clone();
    trailing.push(0);
    let mut group_count = good.clone();
    group_count[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut entry_count = good.clone();
    entry_count[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut in_count_short = good.clone();
    in_count_short[4..8].copy_from_slice(&0u32.to_le_bytes());
    let body_rejects: [(&str, Vec<u8>); 14] = [
        (
            "reject-types-out-of-order",
            adj_list(
                vec![adj_group(5, &[(1, 2)]), adj_group(3, &[(4, 2)])],
                vec![],
            )
            .encode_body(),
        ),
        (
            "reject-types-equal",
            adj_list(
                vec![adj_group(3, &[(1, 2)]), adj_group(3, &[(4, 2)])],
                vec![],
            )
            .encode_body(),
        ),
        (
            "reject-in-types-out-of-order",
            adj_list(
                vec![adj_group(1, &[(1, 2)])],
                vec![adj_group(9, &[(6, 2)]), adj_group(8, &[(7, 2)])],
            )
            .encode_body(),
        ),
        (
            "reject-edges-out-of-order",
            adj_list(vec![adj_group(1, &[(7, 2), (5, 3)])], vec![]).encode_body(),
        ),
        (
            "reject-edges-equal",
            adj_list(vec![], vec![adj_group(1, &[(7, 2), (7, 3)])]).encode_body(),
        ),
        (
            "reject-zero-edge",
            adj_list(vec![adj_group(1, &[(0, 2), (5, 3)])], vec![]).encode_body(),
        ),
        (
            "reject-zero-neighbour",
            adj_list(vec![], vec![adj_group(1, &[(4, 0)])]).encode_body(),
        ),
        (
            "reject-empty-group",
            adj_list(vec![adj_group(1, &[(1, 2)]), adj_group(2, &[])], vec![]).encode_body(),
        ),
        ("reject-trailing-byte", trailing),
        ("reject-truncated-body", good[..good.len() - 1].to_vec()),
        ("reject-short-directory", good[..6].to_vec()),
        ("reject-group-count", group_count),
        ("reject-entry-count", entry_count),
        ("reject-in-count-short", in_count_short),
    ];
    for (name, body) in body_rejects {
        assert!(AdjList::decode_body(&body).is_err(), "{name} is accepted");
        out.put("adjacency", name, &mode_input(AS_IS, &framed(&body)));
    }
    // Refused by `unseal`: a bad CRC (the target fixes it up under FIX_CRC), a length past
    // the end, a short header.
    let blob = framed(&good);
    let mut bad_crc = blob.clone();
    bad_crc[5] ^= 0x10;
    let framing_rejects: [(&str, u8, Vec<u8>); 4] = [
        ("reject-bad-crc", AS_IS, bad_crc.clone()),
        ("bad-crc-fixed", FIX_CRC, bad_crc),
        ("reject-torn", AS_IS, blob[..blob.len() - 5].to_vec()),
        ("reject-short-header", AS_IS, blob[..6].to_vec()),
    ];
    for (name, mode, b) in framing_rejects {
        assert!(unseal(&b).is_err(), "{name} unseals");
        out.put("adjacency", name, &mode_input(mode, &b));
    }
}

/// Opcodes of `free_list`'s operations (see its doc comment): the kind is the opcode
/// modulo 4.
mod free_op {
    pub const INSERT: u8 = 0;
    pub const REMOVE: u8 = 1;
    pub const TAKE: u8 = 2;
    pub const OVERLAPS: u8 = 3;
    /// The offset is relative to the selected extent's end, not its start.
    pub const AT_END: u8 = 4;
    /// A raw u64 offset and u64 length follow instead of selector, delta and u16 length.
    pub const RAW: u8 = 8;
}

/// Bytes of the heap file's header: free extents start at or after it.
const HEAP_HEADER: u64 = 16;

/// A `free_list` input: the heap range, a body, then operations.
fn free_input(lo: u64, hi: u64, body: &[u8], ops: &[u8]) -> Vec<u8> {
    let mut b = lo.to_le_bytes().to_vec();
    b.extend(hi.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(ops);
    b
}

/// A free-list body holding `extents` as given (valid or not) under `count`.
fn free_body(magic: &[u8; 8], count: u64, extents: &[(u64, u64)]) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend(count.to_le_bytes());
    for (o, l) in extents {
        b.extend(o.to_le_bytes());
        b.extend(l.to_le_bytes());
    }
    b
}

/// One `free_list` operation on extent `sel`, `delta` bytes from its start (or end).
fn free_op(kind: u8, sel: u8, delta: i8, len: u16) -> Vec<u8> {
    let mut b = vec![kind, sel, delta as u8];
    b.extend(len.to_le_bytes());
    b
}

/// A few of each operation, around the extents' edges.
fn free_ops_edges() -> Vec<u8> {
    use free_op::*;
    [
        free_op(OVERLAPS, 0, -1, 1),
        free_op(OVERLAPS | AT_END, 0, 0, 8),
        free_op(INSERT | AT_END, 0, 0, 8), // touches the first extent's end
        free_op(REMOVE, 1, 4, 4),          // splits the second
        free_op(TAKE, 0, 0, 0),            // exactly the first extent's length
        free_op(INSERT, 2, -3, 3),         // touches the third extent's start
        free_op(REMOVE | AT_END, 0, -2, 64),
        free_op(TAKE, 1, -1, 0),
        free_op(OVERLAPS | AT_END, 1, -1, 1),
    ]
    .concat()
}

/// Random operations, mostly near extents, some raw.
fn free_ops_random(rng: &mut SplitMix64, n: usize, hi: u64) -> Vec<u8> {
    let mut b = Vec::new();
    for _ in 0..n {
        let kind = rng.below(8) as u8;
        if rng.below(6) == 0 {
            b.push(kind | free_op::RAW);
            b.extend(rng.below(hi).to_le_bytes());
            b.extend(rng.below(1 << 12).to_le_bytes());
        } else {
            let delta = rng.below(33) as i8 - 16;
            b.extend(free_op(kind, byte(rng), delta, rng.below(200) as u16));
        }
    }
    b
}

fn gen_free_list(out: &mut Out, real: &RealDb) {
    // The lists the real database's meta slots name before close, cut out of its heap
    // (the blob's body, after the length and CRC every heap blob starts with).
    let mut real_lists = 0;
    for (i, off) in META_SLOT_OFFSETS.iter().enumerate() {
        let off = *off as usize;
        let Some(Ok(m)) = real.meta_open.get(off..off + META_LEN).map(Meta::decode) else {
            continue;
        };
        if m.free_off == 0 {
            continue;
        }
        let blob = &real.props[m.free_off as usize..(m.free_off + m.free_len) as usize];
        let body = &blob[BLOB_HEADER..];
        let f = FreeSpace::decode_body(body, HEAP_HEADER, m.heap_len).expect("the real free list");
        println!(
            "meta slot {i} (generation {}) names a free list of {} extents, {} bytes",
            m.generation,
            f.extents().count(),
            f.bytes()
        );
        let input = free_input(HEAP_HEADER, m.heap_len, body, &free_ops_edges());
        out.put("free_list", &format!("real-slot{i}"), &input);
        real_lists += 1;
    }
    assert_eq!(
        real_lists, 2,
        "the real database's meta slots should both name free lists"
    );
    // Made up, within a 1 MiB heap.
    let hi = 1 << 20;
    let empty = FreeSpace::default().encode_body();
    out.put(
        "free_list",
        "empty",
        &free_input(16, hi, &empty, &free_ops_edges()),
    );
    out.put("free_list", "empty-heap", &free_input(16, 16, &empty, &[]));
    let mut one = FreeSpace::default();
    one.insert(16, 24); // right after the heap header
    out.put(
        "free_list",
        "one-at-lo",
        &free_input(16, hi, &one.encode_body(), &free_ops_edges()),
    );
    let mut top = FreeSpace::default();
    top.insert(64, 8);
    top.insert(hi - 40, 40); // up to the end of the heap
    out.put(
        "free_list",
        "to-hi",
        &free_input(16, hi, &top.encode_body(), &free_ops_edges()),
    );
    let mut wide = FreeSpace::default();
    wide.insert(16, 100);
    wide.insert(u64::MAX - 64, 64); // the top of the offset range
    out.put(
        "free_list",
        "wide",
        &free_input(16, u64::MAX, &wide.encode_body(), &free_ops_edges()),
    );
    let mut rng = SplitMix64::new(17);
    for i in 0..6 {
        let mut f = FreeSpace::default();
        for _ in 0..1 + rng.below(24) {
            let off = 16 + rng.below(hi - 16 - 4096);
            f.insert(off, 1 + rng.below(4096));
        }
        let ops = free_ops_random(&mut rng, 10 + 8 * i, hi);
        out.put(
            "free_list",
            &format!("random-{i}"),
            &free_input(16, hi, &f.encode_body(), &ops),
        );
    }
    // Refused: each breaks one rule.
    let m = b"QVFREE01";
    let rejects: [(&str, u64, Vec<u8>); 11] = [
        ("reject-magic", hi, free_body(b"QVFREE02", 1, &[(16, 8)])),
        ("reject-touching", hi, free_body(m, 2, &[(16, 8), (24, 8)])),
        (
            "reject-overlapping",
            hi,
            free_body(m, 2, &[(16, 16), (24, 8)]),
        ),
        ("reject-unsorted", hi, free_body(m, 2, &[(100, 8), (16, 8)])),
        ("reject-empty-extent", hi, free_body(m, 1, &[(16, 0)])),
        ("reject-below-lo", hi, free_body(m, 1, &[(8, 8)])),
        ("reject-past-hi", hi, free_body(m, 1, &[(hi - 4, 8)])),
        (
            "reject-wraps",
            u64::MAX,
            free_body(m, 1, &[(u64::MAX - 4, 8)]),
        ),
        ("reject-count-short", hi, free_body(m, 2, &[(16, 8)])),
        (
            "reject-count-overflow",
            hi,
            free_body(m, u64::MAX / 8, &[(16, 8)]),
        ),
        (
            "reject-truncated",
            hi,
            free_body(m, 1, &[(16, 8)])[..20].to_vec(),
        ),
    ];
    for (name, hi, body) in rejects {
        assert!(
            FreeSpace::decode_body(&body, 16, hi).is_err(),
            "{name} is accepted"
        );
        out.put("free_list", name, &free_input(16, hi, &body, &[]));
    }
}

/// Mode bits of a `labels` or `adjacency` input (its first byte; see the targets' doc
/// comments): both frame their bytes as u32 length | u32 CRC | body.
mod fix_mode {
    /// The chunk bytes as they are.
    pub const AS_IS: u8 = 0;
    /// The target stores the CRC of the length field and the body before decoding.
    pub const FIX_CRC: u8 = 1;
    /// The target sets the length field to the bytes after the header (then the CRC).
    pub const FIX_LEN_CRC: u8 = 3;
}

/// A `labels` or `adjacency` input: the mode byte, then the framed bytes.
fn mode_input(mode: u8, chunk: &[u8]) -> Vec<u8> {
    let mut b = vec![mode];
    b.extend_from_slice(chunk);
    b
}

/// `body` (valid or not) under its true length and CRC: a label index chunk, or a heap blob
/// as `props::seal` frames it.
fn framed(body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).to_le_bytes();
    let mut covered = len.to_vec();
    covered.extend_from_slice(body);
    let mut b = len.to_vec();
    b.extend(crc32(&covered).to_le_bytes());
    b.extend_from_slice(body);
    b
}

/// A chunk body: `label`, then the varints given as raw bytes.
fn raw_body(label: u32, varints: &[&[u8]]) -> Vec<u8> {
    let mut b = label.to_le_bytes().to_vec();
    for v in varints {
        b.extend_from_slice(v);
    }
    b
}

/// The meta slot of `meta` with the highest generation, if either slot decodes.
fn newest_slot(meta: &[u8]) -> Option<Meta> {
    META_SLOT_OFFSETS
        .iter()
        .filter_map(|&off| meta.get(off as usize..off as usize + META_LEN))
        .filter_map(|slot| Meta::decode(slot).ok())
        .max_by_key(|m| m.generation)
}

fn gen_labels(out: &mut Out, real: &RealDb) {
    use fix_mode::*;
    // The chunks of the real database's labels file, up to the length its newest meta
    // slot gives (bytes past it are not the checkpoint's).
    let m = newest_slot(&real.meta).expect("the real database's meta slot");
    let len = m.labels_len as usize;
    let file = &real.labels[..len];
    let mut at = 0;
    let mut per_label: BTreeMap<u32, usize> = BTreeMap::new();
    while at < len {
        let (label, ids, n) = decode_chunk(&file[at..]).expect("a real label chunk");
        assert_eq!(chunk_head(&file[at..]), Ok((n, label)));
        let k = per_label.entry(label).or_default();
        out.put(
            "labels",
            &format!("real-label{label}-{k}"),
            &mode_input(AS_IS, &file[at..at + n]),
        );
        *k += 1;
        println!(
            "labels file offset {at}: label {label}, {} ids {ids:?}",
            ids.len()
        );
        at += n;
    }
    assert!(
        per_label.len() >= 2 && per_label.values().any(|&k| k >= 2),
        "the real database's labels file should hold chunks of several labels, some \
         label in several chunks: {per_label:?}"
    );
    // The whole file (the decoder reads its first chunk) and a copy the target fixes up.
    out.put("labels", "real-file", &mode_input(AS_IS, file));
    out.put("labels", "real-file-fixed", &mode_input(FIX_CRC, file));
    // Made up.
    let max_48 = MAX_48;
    let made: [(&str, u32, Vec<u64>); 10] = [
        ("one-id", 1, vec![1]),
        ("one-id-high", 7, vec![max_48]),
        ("dense", 3, (1..=300).collect()),
        ("dense-from-1000", 0, (1000..1130).collect()),
        (
            "near-2-48",
            9,
            vec![max_48 - 4, max_48 - 1, max_48, max_48 + 1, 1 << 49],
        ),
        (
            "large-deltas",
            2,
            vec![1, 1 << 20, 1 << 40, 1 << 56, (1 << 63) + 5],
        ),
        ("ten-byte-first", u32::MAX, vec![u64::MAX]),
        ("ten-byte-delta", 5, vec![1, u64::MAX]),
        (
            "one-byte-edges",
            4,
            vec![127, 128, 255, 256, 16_383, 16_384, 16_512],
        ),
        (
            "sparse",
            11,
            (0..40).map(|i| 1 + i * 1000 + i * i).collect(),
        ),
    ];
    for (name, label, ids) in made {
        let chunk = encode_chunk(label, &ids);
        assert_eq!(
            decode_chunk(&chunk),
            Ok((label, ids, chunk.len())),
            "{name}"
        );
        out.put("labels", name, &mode_input(AS_IS, &chunk));
    }
    // Two chunks in a row (the decoder reads the first), and random ones the target
    // fixes up (so mutations of their bodies still pass the CRC).
    let mut two = encode_chunk(1, &[2, 3, 5]);
    two.extend(encode_chunk(1, &[8, 13]));
    out.put("labels", "two-chunks", &mode_input(AS_IS, &two));
    let mut rng = SplitMix64::new(23);
    for i in 0..6 {
        let mut id = 0;
        let ids: Vec<u64> = (0..1 + rng.below(40))
            .map(|_| {
                id += 1 + rng.below([1, 8, 200, 1 << 20, 1 << 40, 1 << 50][i]);
                id
            })
            .collect();
        let chunk = encode_chunk(rng.below(64) as u32, &ids);
        out.put(
            "labels",
            &format!("random-{i}"),
            &mode_input(FIX_LEN_CRC, &chunk),
        );
    }
    // Refused: each breaks one rule (the body ones under a valid length and CRC).
    let good = encode_chunk(7, &[3, 4, 90]);
    let mut bad_crc = good.clone();
    bad_crc[5] ^= 0x20;
    let ten_byte_max: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    let rejects: [(&str, Vec<u8>); 15] = [
        ("reject-bad-crc", bad_crc),
        ("reject-truncated", good[..good.len() - 1].to_vec()),
        ("reject-truncated-header", good[..CHUNK_HEADER + 2].to_vec()),
        ("reject-short-body", framed(&raw_body(7, &[&[1]]))),
        ("reject-count-zero", framed(&raw_body(7, &[&[0], &[5]]))),
        (
            "reject-count-too-big",
            framed(&raw_body(7, &[&[0xff, 0x01], &[5]])),
        ),
        (
            "reject-count-short",
            framed(&raw_body(7, &[&[3], &[5], &[1]])),
        ),
        ("reject-id-zero", framed(&raw_body(7, &[&[1], &[0]]))),
        (
            "reject-zero-delta",
            framed(&raw_body(7, &[&[2], &[5], &[0]])),
        ),
        (
            "reject-redundant-varint",
            framed(&raw_body(7, &[&[1], &[0x85, 0x00]])),
        ),
        (
            "reject-redundant-count",
            framed(&raw_body(7, &[&[0x81, 0x00], &[5]])),
        ),
        (
            "reject-trailing-byte",
            framed(&raw_body(7, &[&[1], &[5], &[0]])),
        ),
        (
            "reject-varint-11-bytes",
            framed(&raw_body(7, &[&[1], &[0xff; 10], &[0x01]])),
        ),
        (
            "reject-varint-out-of-range",
            framed(&raw_body(7, &[&[1], &[0xff; 9], &[0x02]])),
        ),
        (
            "reject-id-overflow",
            framed(&raw_body(7, &[&[2], ten_byte_max, &[1]])),
        ),
    ];
    for (name, chunk) in rejects {
        assert!(decode_chunk(&chunk).is_err(), "{name} is accepted");
        out.put("labels", name, &mode_input(AS_IS, &chunk));
    }
}

/// Opcodes of `api_model` (an opcode byte is taken modulo 24).
mod op {
    pub const INSERT_NODE: u8 = 0;
    pub const INSERT_EDGE: u8 = 3;
    pub const DELETE_EDGE: u8 = 6;
    pub const DELETE_NODE: u8 = 7;
    pub const SET: u8 = 8;
    pub const UNSET: u8 = 10;
    pub const POINT_READ: u8 = 11;
    pub const SAVEPOINT: u8 = 12;
    pub const ROLLBACK_TO: u8 = 13;
    pub const RELEASE: u8 = 14;
    pub const COMMIT: u8 = 15;
    pub const ROLLBACK: u8 = 17;
    pub const CHECKPOINT: u8 = 18;
    pub const READER: u8 = 19;
    pub const REOPEN: u8 = 20;
    /// Followed by a byte: even, a power loss; odd, a process crash.
    pub const CRASH: u8 = 21;
    /// 22 + 24 * k: k = 0 compare in the transaction, 1 delete while iterating, 2 misuse.
    pub const COMPARE: u8 = 22;
    pub const DELETE_ITER: u8 = 22 + 24;
    pub const MISUSE: u8 = 23;
}

/// The bytes `api_model`'s value decoder reads for a value.
fn model_value(rng: &mut SplitMix64) -> Vec<u8> {
    let kind = rng.below(8) as u8;
    let mut b = vec![kind | (byte(rng) & 0x80)];
    match kind {
        2 => {
            let sub = rng.below(4) as u8;
            b[0] = 2 | (sub << 3);
            match sub {
                2 => b.push(byte(rng)),
                3 => b.extend(rng.next_u64().to_le_bytes()),
                _ => {}
            }
        }
        3 => b.extend(rng.next_u64().to_le_bytes()),
        4 | 5 => {
            let n = rng.below(8) as u8;
            b.push(n);
            b.extend((0..n).map(|_| byte(rng)));
        }
        6 => {
            let n = rng.below(12) as u8;
            b.push(n);
            b.extend((0..n).map(|_| byte(rng)));
        }
        7 => {
            b.push(rng.below(40) as u8);
            b.push(byte(rng));
        }
        _ => {}
    }
    b
}

/// A random operation sequence for `api_model`, weighted towards building a graph.
fn model_ops(rng: &mut SplitMix64, cfg: u8, n: usize, power: bool) -> Vec<u8> {
    let mut b = vec![cfg];
    for _ in 0..n {
        let r = rng.below(100);
        match r {
            0..=17 => b.extend([op::INSERT_NODE, byte(rng)]),
            18..=35 => b.extend([op::INSERT_EDGE, byte(rng), byte(rng), byte(rng)]),
            36..=39 => b.extend([op::DELETE_EDGE, byte(rng)]),
            40..=43 => b.extend([op::DELETE_NODE, byte(rng), byte(rng)]),
            44..=55 => {
                b.extend([op::SET, byte(rng), byte(rng), byte(rng)]);
                b.extend(model_value(rng));
            }
            56..=58 => b.extend([op::UNSET, byte(rng), byte(rng), byte(rng)]),
            59..=60 => b.extend([op::POINT_READ, byte(rng), byte(rng)]),
            61..=63 => b.extend([op::SAVEPOINT, byte(rng)]),
            64..=65 => b.extend([op::ROLLBACK_TO, byte(rng)]),
            66 => b.extend([op::RELEASE, byte(rng)]),
            67..=78 => b.push(op::COMMIT),
            79..=80 => b.extend([op::ROLLBACK, byte(rng)]),
            81..=83 => b.push(op::CHECKPOINT),
            84..=86 => b.extend([op::READER, byte(rng)]),
            87..=88 => b.push(op::REOPEN),
            89..=90 if power => b.extend([op::CRASH, byte(rng)]),
            91..=92 => b.push(op::COMPARE),
            93..=94 => b.extend([op::DELETE_ITER, byte(rng), byte(rng), byte(rng)]),
            95..=96 => b.extend([op::MISUSE, byte(rng), byte(rng)]),
            _ => b.push(op::COMMIT),
        }
    }
    b.push(op::COMMIT);
    b
}

fn gen_model(out: &mut Out) {
    // Hand-written: one of each feature, in a readable order.
    let build = [
        op::INSERT_NODE,
        0,
        op::INSERT_NODE,
        1,
        op::INSERT_NODE,
        2,
        op::INSERT_EDGE,
        0,
        1,
        0,
        op::INSERT_EDGE,
        1,
        1,
        1,
        op::INSERT_EDGE,
        2,
        0,
        2,
        op::SET,
        0,
        0,
        0,
        4,
        3,
        b'a',
        b'b',
        b'c',
        op::SET,
        1,
        0,
        1,
        2 | (3 << 3),
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
    ];
    let mut seq = |name: &str, cfg: u8, tail: &[u8]| {
        let mut b = vec![cfg];
        b.extend(build);
        b.extend(tail);
        out.put("api_model", name, &b);
    };
    seq("commit", 0, &[op::COMMIT]);
    seq("commit-full", 1, &[op::COMMIT, op::CRASH, 0]);
    seq(
        "commit-kill",
        0,
        &[op::COMMIT, op::INSERT_NODE, 0, op::CRASH, 1],
    );
    seq(
        "savepoints",
        0,
        &[
            op::SAVEPOINT,
            0,
            op::INSERT_NODE,
            3,
            op::SAVEPOINT,
            1,
            op::DELETE_NODE,
            0,
            1,
            op::ROLLBACK_TO,
            0,
            op::RELEASE,
            0,
            op::COMPARE,
            op::COMMIT,
        ],
    );
    seq("rollback", 0, &[op::ROLLBACK, 0, op::REOPEN]);
    seq(
        "reader-checkpoint",
        0,
        &[
            op::COMMIT,
            op::READER,
            0,
            op::DELETE_NODE,
            0,
            1,
            op::COMMIT,
            op::CHECKPOINT,
            op::READER,
            2,
        ],
    );
    seq(
        "reopen-busy",
        2,
        &[op::REOPEN, op::COMMIT, op::REOPEN, op::CRASH, 1],
    );
    seq(
        "delete-iterating",
        4,
        &[op::DELETE_ITER, 1, 0, 2, op::COMMIT, op::POINT_READ, 0, 0],
    );
    let mut misuse = Vec::new();
    for k in 0..9 {
        misuse.extend([op::MISUSE, k, 0]);
    }
    misuse.push(op::COMMIT);
    seq("misuse", 0, &misuse);
    seq(
        "power-loss-off",
        2 | (1 << 3),
        &[
            op::COMMIT,
            op::CHECKPOINT,
            op::INSERT_NODE,
            0,
            op::COMMIT,
            op::INSERT_NODE,
            1,
            op::COMMIT,
            op::CRASH,
            0,
        ],
    );
    // Random sequences over every configuration (sync mode, segment and checkpoint sizes).
    let mut rng = SplitMix64::new(0x5EED);
    for i in 0..32u8 {
        let len = 20 + rng.below(120) as usize;
        let power = i % 4 != 3;
        out.put(
            "api_model",
            &format!("random-{i:02}"),
            &model_ops(&mut rng, i, len, power),
        );
    }
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let scratch = std::env::temp_dir().join(format!("qv-gen-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch");
    let real = real_db(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let mut out = Out {
        root: root.clone(),
        files: 0,
        bytes: 0,
        written: BTreeMap::new(),
    };
    gen_frames(&mut out, &real);
    gen_headers(&mut out, &real);
    gen_meta(&mut out, &real);
    gen_records(&mut out, &real);
    gen_props(&mut out, &real);
    gen_adjacency(&mut out, &real);
    gen_free_list(&mut out, &real);
    gen_labels(&mut out, &real);
    gen_model(&mut out);
    let removed = out.prune();
    println!(
        "wrote {} seed files, {} bytes, under {}; removed {removed} stale ones",
        out.files,
        out.bytes,
        root.display()
    );
}
