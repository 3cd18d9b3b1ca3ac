//! GW1 phases W1–W4 (shared/WORKLOAD.md) against Quiver's Rust API, plus the disk's raw
//! append + fdatasync limit measured beside W2.
//!
//! Environment: `QV_SIZE` = `S` (default) or `L`; `QV_BENCH_DIR` = the database directory
//! (default: a fresh directory under the system temp dir). The directory is removed at the
//! end. Output: one line per metric on stdout, `quiver PHASE METRIC VALUE`; progress notes
//! go to stderr.

use quiver::testing::SplitMix64;
use quiver::{Database, Dir, Options, ValueRef};
use std::error::Error;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 42;
/// W1 commits after this many operations. One operation is a node insert together with
/// its two property sets (age, name), or an edge insert together with its property set
/// (since).
const BATCH_OPS: usize = 100_000;
const W2_TXNS: usize = 2_000;
/// W2 and the raw fsync loop alternate in blocks of this many, so both see the same disk.
const W2_BLOCK: usize = 100;
const RAW_WRITE_BYTES: usize = 4096;
const W3_READS: usize = 1_000_000;
const W4_STARTS: usize = 100_000;

/// A random node index below `n` (`rnd() % N`, as the workload says). SplitMix64 is the
/// workload's only source of randomness, with the constants of `bench/gw1.c`.
fn node(rng: &mut SplitMix64, n: usize) -> u32 {
    rng.below(n as u64) as u32
}

/// Every number the workload draws, in the workload's order, made before any timing.
struct Workload {
    n: usize,
    /// Edge j: (src index, dst index).
    edges: Vec<(u32, u32)>,
    /// W2 transaction k: the dst index of its edge (its src is the new node N + k).
    w2_dst: Vec<u32>,
    w3_nodes: Vec<u32>,
    w4_starts: Vec<u32>,
}

impl Workload {
    fn generate(n: usize, m: usize) -> Workload {
        let mut rng = SplitMix64::new(SEED);
        let edges = (0..m)
            .map(|_| {
                let src = node(&mut rng, n);
                let dst = node(&mut rng, n);
                (src, dst)
            })
            .collect();
        let w2_dst = (0..W2_TXNS).map(|_| node(&mut rng, n)).collect();
        let w3_nodes = (0..W3_READS).map(|_| node(&mut rng, n)).collect();
        let w4_starts = (0..W4_STARTS).map(|_| node(&mut rng, n)).collect();
        Workload {
            n,
            edges,
            w2_dst,
            w3_nodes,
            w4_starts,
        }
    }

    fn age(index: usize) -> i64 {
        (index % 100) as i64
    }

    fn since(edge_index: usize) -> i64 {
        2000 + (edge_index % 25) as i64
    }
}

/// The checksums a correct engine must produce, from a plain in-memory graph.
struct Expected {
    w3_age_sum: i64,
    w4_dst_sum: u64,
    w4_edges: u64,
}

impl Expected {
    fn compute(w: &Workload) -> Expected {
        // Adjacency in compressed form: the out-neighbours of node i are
        // targets[offsets[i]..offsets[i + 1]]; the W2 edges leave nodes N..N+2000.
        let total_nodes = w.n + W2_TXNS;
        let all_edges = || {
            w.edges.iter().copied().chain(
                w.w2_dst
                    .iter()
                    .enumerate()
                    .map(|(k, &d)| ((w.n + k) as u32, d)),
            )
        };
        let mut offsets = vec![0usize; total_nodes + 1];
        for (s, _) in all_edges() {
            offsets[s as usize + 1] += 1;
        }
        for i in 0..total_nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; offsets[total_nodes]];
        for (s, d) in all_edges() {
            targets[fill[s as usize]] = d;
            fill[s as usize] += 1;
        }
        let w3_age_sum = w.w3_nodes.iter().map(|&i| Workload::age(i as usize)).sum();
        let mut w4_dst_sum = 0u64;
        let mut w4_edges = 0u64;
        for &s in &w.w4_starts {
            let out = &targets[offsets[s as usize]..offsets[s as usize + 1]];
            w4_edges += out.len() as u64;
            w4_dst_sum += out.iter().map(|&d| d as u64).sum::<u64>();
        }
        Expected {
            w3_age_sum,
            w4_dst_sum,
            w4_edges,
        }
    }
}

/// Workload index <-> engine id. Quiver assigns ids itself, so the bench records them.
#[derive(Default)]
struct IdMap {
    id_of: Vec<u64>,
    /// Engine id -> workload index (u32::MAX where no workload node has that id).
    index_of: Vec<u32>,
}

impl IdMap {
    fn push(&mut self, id: u64) {
        let index = self.id_of.len() as u32;
        self.id_of.push(id);
        let slot = id as usize;
        if self.index_of.len() <= slot {
            self.index_of.resize(slot + 1, u32::MAX);
        }
        self.index_of[slot] = index;
    }

    fn id(&self, index: u32) -> u64 {
        self.id_of[index as usize]
    }

    fn index(&self, id: u64) -> BenchResult<u32> {
        match self.index_of.get(id as usize) {
            Some(&i) if i != u32::MAX => Ok(i),
            _ => {
                Err(format!("engine returned node id {id}, which the bench never inserted").into())
            }
        }
    }
}

/// Removes the benchmark directory however the run ends.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("gw1: could not remove {}: {e}", self.0.display());
        }
    }
}

fn report(phase: &str, metric: &str, value: impl std::fmt::Display) {
    println!("quiver {phase} {metric} {value}");
}

fn rate(count: usize, t: Duration) -> String {
    format!("{:.1}", count as f64 / t.as_secs_f64())
}

fn validity(ok: bool) -> &'static str {
    if ok { "valid" } else { "INVALID" }
}

/// Sum of the sizes of the files under `dir`.
fn dir_bytes(dir: &Path) -> BenchResult<u64> {
    let mut total = 0;
    for ent in std::fs::read_dir(dir)? {
        let ent = ent?;
        let meta = ent.metadata()?;
        if meta.is_dir() {
            total += dir_bytes(&ent.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

fn bench_dir() -> BenchResult<PathBuf> {
    if let Some(d) = std::env::var_os("QV_BENCH_DIR") {
        let d = PathBuf::from(d);
        if d.exists() && std::fs::read_dir(&d)?.next().is_some() {
            return Err(format!("QV_BENCH_DIR {} exists and is not empty", d.display()).into());
        }
        return Ok(d);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    Ok(std::env::temp_dir().join(format!("quiver-gw1-{}-{nanos}", std::process::id())))
}

fn insert_person(txn: &mut quiver::Txn, index: usize, name: &mut String) -> BenchResult<u64> {
    let id = txn.insert_node("Person")?;
    txn.set_node_prop(id, "age", ValueRef::Int(Workload::age(index)))?;
    name.clear();
    write!(name, "p{index}")?;
    txn.set_node_prop(id, "name", ValueRef::Str(name))?;
    Ok(id)
}

fn insert_knows(txn: &mut quiver::Txn, src: u64, dst: u64, edge_index: usize) -> BenchResult<u64> {
    let e = txn.insert_edge(src, dst, "KNOWS")?;
    txn.set_edge_prop(e, "since", ValueRef::Int(Workload::since(edge_index)))?;
    Ok(e)
}

/// W1: all nodes, then all edges, committing (durably) every `BATCH_OPS` operations.
fn w1_load(db: &Database, w: &Workload, ids: &mut IdMap) -> BenchResult<(Duration, Duration)> {
    let mut name = String::new();
    let t0 = Instant::now();
    for chunk_start in (0..w.n).step_by(BATCH_OPS) {
        let mut txn = db.begin_write()?;
        for i in chunk_start..(chunk_start + BATCH_OPS).min(w.n) {
            ids.push(insert_person(&mut txn, i, &mut name)?);
        }
        txn.commit()?;
    }
    let nodes_t = t0.elapsed();
    let t1 = Instant::now();
    for (c, chunk) in w.edges.chunks(BATCH_OPS).enumerate() {
        let mut txn = db.begin_write()?;
        for (k, &(s, d)) in chunk.iter().enumerate() {
            insert_knows(&mut txn, ids.id(s), ids.id(d), c * BATCH_OPS + k)?;
        }
        txn.commit()?;
    }
    Ok((nodes_t, t1.elapsed()))
}

/// W2 transaction k: new node N + k (with the same properties as every node) and an edge
/// from it to an existing random node, numbered M + k for its `since`.
fn w2_txn(
    db: &Database,
    w: &Workload,
    ids: &mut IdMap,
    k: usize,
    name: &mut String,
) -> BenchResult<()> {
    let index = w.n + k;
    let mut txn = db.begin_write()?;
    let id = insert_person(&mut txn, index, name)?;
    insert_knows(&mut txn, id, ids.id(w.w2_dst[k]), w.edges.len() + k)?;
    txn.commit()?;
    ids.push(id);
    Ok(())
}

/// W2 and the raw limit, alternating in blocks; returns (W2 time, raw time).
fn w2_and_raw(
    db: &Database,
    dir: &Path,
    w: &Workload,
    ids: &mut IdMap,
) -> BenchResult<(Duration, Duration)> {
    let raw_path = dir.join("gw1-raw-fsync");
    let raw = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&raw_path)?;
    let page = vec![0xA5u8; RAW_WRITE_BYTES];
    let mut raw_off = 0u64;
    let mut raw_block = |raw: &File| -> BenchResult<Duration> {
        let t = Instant::now();
        for _ in 0..W2_BLOCK {
            raw.write_all_at(&page, raw_off)?;
            raw.sync_data()?;
            raw_off += RAW_WRITE_BYTES as u64;
        }
        Ok(t.elapsed())
    };
    let mut name = String::new();
    let (mut w2_t, mut raw_t) = (Duration::ZERO, Duration::ZERO);
    for block in 0..W2_TXNS / W2_BLOCK {
        // Alternate which goes first so neither always follows the other's writeback.
        if block % 2 == 1 {
            raw_t += raw_block(&raw)?;
        }
        let t = Instant::now();
        for k in block * W2_BLOCK..(block + 1) * W2_BLOCK {
            w2_txn(db, w, ids, k, &mut name)?;
        }
        w2_t += t.elapsed();
        if block % 2 == 0 {
            raw_t += raw_block(&raw)?;
        }
    }
    drop(raw);
    std::fs::remove_file(&raw_path)?;
    Ok((w2_t, raw_t))
}

/// W3: the age of each random node, in one read transaction; returns (time, sum of ages).
fn w3_reads(db: &Database, w: &Workload, ids: &IdMap) -> BenchResult<(Duration, i64)> {
    let txn = db.begin_read()?;
    let t = Instant::now();
    let mut sum = 0i64;
    for &i in &w.w3_nodes {
        match txn.node_prop(ids.id(i), "age")? {
            Some(ValueRef::Int(a)) => sum += a,
            other => return Err(format!("node index {i}: age is {other:?}").into()),
        }
    }
    let elapsed = t.elapsed();
    txn.commit()?;
    Ok((elapsed, sum))
}

/// W4: every outgoing edge of each random start node, in one read transaction; returns
/// (time, edges visited, sum of dst indices).
fn w4_one_hop(db: &Database, w: &Workload, ids: &IdMap) -> BenchResult<(Duration, u64, u64)> {
    let txn = db.begin_read()?;
    let t = Instant::now();
    let (mut visited, mut sum) = (0u64, 0u64);
    for &s in &w.w4_starts {
        let mut cur = txn.edges(ids.id(s), Dir::Out, None)?;
        while let Some(e) = cur.next()? {
            visited += 1;
            sum += ids.index(e.dst)? as u64;
        }
    }
    let elapsed = t.elapsed();
    txn.commit()?;
    Ok((elapsed, visited, sum))
}

fn main() -> BenchResult<()> {
    let size = std::env::var("QV_SIZE").unwrap_or_else(|_| "S".into());
    let (n, m) = match size.as_str() {
        "S" => (100_000, 500_000),
        "L" => (1_000_000, 5_000_000),
        other => return Err(format!("QV_SIZE must be S or L, not {other:?}").into()),
    };
    let dir = bench_dir()?;
    let _guard = DirGuard(dir.clone());
    eprintln!(
        "gw1: size {size} (N={n}, M={m}), directory {}",
        dir.display()
    );

    let w = Workload::generate(n, m);
    let expected = Expected::compute(&w);
    let opts = Options::default();
    let mut ids = IdMap::default();

    let db = Database::open(&dir, &opts)?;
    let (nodes_t, edges_t) = w1_load(&db, &w, &mut ids)?;
    let t = Instant::now();
    db.close()?;
    let close_t = t.elapsed();
    report("W1", "nodes_per_s", rate(n, nodes_t));
    report("W1", "edges_per_s", rate(m, edges_t));
    report(
        "W1",
        "total_s",
        format!("{:.3}", (nodes_t + edges_t).as_secs_f64()),
    );
    report("W1", "close_s", format!("{:.3}", close_t.as_secs_f64()));
    report("W1", "db_bytes", dir_bytes(&dir)?);

    let t = Instant::now();
    let db = Database::open(&dir, &opts)?;
    eprintln!("gw1: reopen took {:.3} s", t.elapsed().as_secs_f64());

    let (w2_t, raw_t) = w2_and_raw(&db, &dir, &w, &mut ids)?;
    let w2_rate = W2_TXNS as f64 / w2_t.as_secs_f64();
    let raw_rate = W2_TXNS as f64 / raw_t.as_secs_f64();
    report("W2", "commits_per_s", rate(W2_TXNS, w2_t));
    report("W2", "raw_fsync_per_s", rate(W2_TXNS, raw_t));
    report(
        "W2",
        "fraction_of_raw",
        format!("{:.3}", w2_rate / raw_rate),
    );

    let (w3_t, w3_sum) = w3_reads(&db, &w, &ids)?;
    report("W3", "reads_per_s", rate(W3_READS, w3_t));
    report("W3", "checksum", w3_sum);
    report("W3", "expected", expected.w3_age_sum);
    report("W3", "check", validity(w3_sum == expected.w3_age_sum));

    let (w4_t, visited, w4_sum) = w4_one_hop(&db, &w, &ids)?;
    report("W4", "edges_per_s", rate(visited as usize, w4_t));
    report("W4", "edges_visited", visited);
    report("W4", "checksum", w4_sum);
    report("W4", "expected", expected.w4_dst_sum);
    report(
        "W4",
        "check",
        validity(w4_sum == expected.w4_dst_sum && visited == expected.w4_edges),
    );

    db.close()?;
    Ok(())
}
