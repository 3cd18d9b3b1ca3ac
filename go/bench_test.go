package quiver

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation since start, next to the wall-clock ns/op:
// on a shared machine it is the steadier figure (time spent waiting for a core is not
// in it).
func reportCPU(b *testing.B, start time.Duration, perOp float64) {
	cpu := float64(cpuTime()-start) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
	if perOp > 1 {
		b.ReportMetric(cpu/perOp, "cpu-ns/edge")
	}
}

// The benchmarks that PERFORMANCE.md compares with the same operations from C
// (bench_c/bench.c, run both with bench_c/run.sh). Each is one operation per b.Loop
// iteration, on a database with SyncOff (no fsync in the figures).

// One cgo crossing: qv_version through a shim, no conversion of the result.
func BenchmarkCgoCrossing(b *testing.B) {
	start := cpuTime()
	for b.Loop() {
		cVersionPtr()
	}
	reportCPU(b, start, 1)
}

// CreateNode without properties, in write transactions of 10,000 inserts.
func BenchmarkCreateNode(b *testing.B) { benchCreateNode(b, nil) }

// CreateNode with two properties (a string and an int): one C call (qv_node_insert_with).
func BenchmarkCreateNodeProps(b *testing.B) {
	benchCreateNode(b, Props{"name": "Ada Lovelace", "born": 1815})
}

// benchCreateNode creates nodes with props, in write transactions of 10,000 inserts.
func benchCreateNode(b *testing.B, props Props) {
	db := openTemp(b, &Options{Sync: SyncOff})
	tx := must[*Tx](b)(db.Begin(true))
	i := 0
	start := cpuTime()
	for b.Loop() {
		if _, err := tx.CreateNode("Person", props); err != nil {
			b.Fatal(err)
		}
		if i++; i%10000 == 0 {
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			tx = must[*Tx](b)(db.Begin(true))
		}
	}
	reportCPU(b, start, 1)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// propDB has 1,000 nodes, each with an int "n" and a 32-byte string "s".
func propDB(b *testing.B) (*DB, []NodeID) {
	db := openTemp(b, &Options{Sync: SyncOff})
	ids := make([]NodeID, 1000)
	mustUpdate(b, db, func(tx *Tx) error {
		for i := range ids {
			ids[i] = must[NodeID](b)(tx.CreateNode("N", Props{"n": i, "s": "0123456789abcdef0123456789abcdef"}))
		}
		return nil
	})
	return db, ids
}

func benchGet(b *testing.B, key string) {
	db, ids := propDB(b)
	tx := must[*Tx](b)(db.Begin(false))
	defer tx.Rollback()
	i := 0
	start := cpuTime()
	for b.Loop() {
		if _, err := tx.NodeProp(ids[i%len(ids)], key); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, start, 1)
}

// NodeProp of an int: one C call, no allocation beyond boxing the int64.
func BenchmarkNodePropInt(b *testing.B) { benchGet(b, "n") }

// NodeProp of a 32-byte string: one C call and the copy.
func BenchmarkNodePropString(b *testing.B) { benchGet(b, "s") }

// A full scan of a node's 10,000 out edges through the Edges iterator (batches of 128).
func BenchmarkEdgesScan10k(b *testing.B) {
	db := openTemp(b, &Options{Sync: SyncOff})
	const edges = 10000
	var hub NodeID
	mustUpdate(b, db, func(tx *Tx) error {
		hub = must[NodeID](b)(tx.CreateNode("Hub", nil))
		others := make([]NodeID, 100)
		for i := range others {
			others[i] = must[NodeID](b)(tx.CreateNode("N", nil))
		}
		for i := 0; i < edges; i++ {
			must[EdgeID](b)(tx.CreateEdge(hub, others[i%len(others)], "LINK", nil))
		}
		return nil
	})
	tx := must[*Tx](b)(db.Begin(false))
	defer tx.Rollback()
	start := cpuTime()
	for b.Loop() {
		n := 0
		for e, err := range tx.Edges(hub, Out, "") {
			if err != nil {
				b.Fatal(err)
			}
			n += int(e.Dst & 1)
			_ = e.Type
		}
		_ = n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/edges, "ns/edge")
	reportCPU(b, start, edges)
}
