package quiver

import (
	"fmt"
	"slices"
	"testing"
)

// A star: one hub with edges of two types to and from many nodes, more than several
// batches' worth.
func buildStar(t testing.TB, db *DB, spokes int) (hub NodeID, others []NodeID) {
	t.Helper()
	mustUpdate(t, db, func(tx *Tx) error {
		hub = must[NodeID](t)(tx.CreateNode("Hub", nil))
		for i := 0; i < spokes; i++ {
			label := "Even"
			if i%2 == 1 {
				label = "Odd"
			}
			n := must[NodeID](t)(tx.CreateNode(label, nil))
			others = append(others, n)
			typ := fmt.Sprintf("T%d", i%3)
			must[EdgeID](t)(tx.CreateEdge(hub, n, typ, nil))
			if i%5 == 0 {
				must[EdgeID](t)(tx.CreateEdge(n, hub, "BACK", nil))
			}
		}
		return nil
	})
	return hub, others
}

func collectEdges(t testing.TB, seq func(yield func(Edge, error) bool)) []Edge {
	t.Helper()
	var out []Edge
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestEdgesIterator(t *testing.T) {
	db := openTemp(t, nil)
	const spokes = 1000 // several batches
	hub, others := buildStar(t, db, spokes)
	err := db.View(func(tx *Tx) error {
		out := collectEdges(t, tx.Edges(hub, Out, ""))
		if len(out) != spokes {
			t.Fatalf("%d out edges, want %d", len(out), spokes)
		}
		seen := map[EdgeID]bool{}
		for _, e := range out {
			if e.Src != hub || seen[e.ID] || e.ID == 0 {
				t.Fatalf("bad edge %+v", e)
			}
			seen[e.ID] = true
			i := slices.Index(others, e.Dst)
			if want := fmt.Sprintf("T%d", i%3); e.Type != want {
				t.Fatalf("edge %+v: type %q, want %q", e, e.Type, want)
			}
		}
		for typ, want := range map[string]int{"T0": 334, "T1": 333, "T2": 333, "BACK": 0, "NONE": 0} {
			if n := len(collectEdges(t, tx.Edges(hub, Out, typ))); n != want {
				t.Errorf("Out %s: %d edges, want %d", typ, n, want)
			}
		}
		in := collectEdges(t, tx.Edges(hub, In, ""))
		if len(in) != 200 {
			t.Errorf("%d in edges", len(in))
		}
		for _, e := range in {
			if e.Dst != hub || e.Type != "BACK" {
				t.Fatalf("bad in edge %+v", e)
			}
		}
		if n := len(collectEdges(t, tx.Edges(hub, Both, ""))); n != 1200 {
			t.Errorf("%d edges both ways", n)
		}
		// The degree agrees with the iterator.
		if d := must[uint64](t)(tx.Degree(hub, Both, "")); d != 1200 {
			t.Errorf("Degree = %d", d)
		}
		// A node without edges: empty.
		if n := len(collectEdges(t, tx.Edges(others[1], Out, ""))); n != 0 {
			t.Errorf("%d edges from a leaf", n)
		}
		// Stopping early (break) frees the cursor and yields no more.
		count := 0
		for _, err := range tx.Edges(hub, Out, "") {
			if err != nil {
				t.Fatal(err)
			}
			count++
			if count == 130 {
				break
			}
		}
		if count != 130 {
			t.Errorf("count %d", count)
		}
		// A Seq can be iterated again, from the start.
		seq := tx.Edges(hub, In, "")
		if a, b := len(collectEdges(t, seq)), len(collectEdges(t, seq)); a != 200 || b != 200 {
			t.Errorf("re-iteration: %d then %d", a, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The loop body may write through the same Tx: the cursor yields the state as of the
// start, so deleting every edge while iterating visits each once.
func TestEdgesDeleteWhileIterating(t *testing.T) {
	db := openTemp(t, nil)
	hub, _ := buildStar(t, db, 300)
	mustUpdate(t, db, func(tx *Tx) error {
		n := 0
		for e, err := range tx.Edges(hub, Both, "") {
			if err != nil {
				return err
			}
			if err := tx.DeleteEdge(e.ID); err != nil {
				return err
			}
			n++
		}
		if n != 360 {
			t.Errorf("visited %d edges, want 360", n)
		}
		if d := must[uint64](t)(tx.Degree(hub, Both, "")); d != 0 {
			t.Errorf("degree %d after deleting all", d)
		}
		return nil
	})
}

// Ending the transaction inside the loop: the next batch yields ErrTxDone once.
func TestIteratorAfterTxEnds(t *testing.T) {
	db := openTemp(t, nil)
	hub, _ := buildStar(t, db, 500)
	tx := must[*Tx](t)(db.Begin(false))
	n, errs := 0, 0
	for _, err := range tx.Edges(hub, Out, "") {
		if err != nil {
			wantErr(t, err, ErrTxDone, "Edges", "")
			errs++
			continue
		}
		n++
		if n == 1 {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != batchSize || errs != 1 {
		t.Errorf("%d edges and %d errors, want %d and 1", n, errs, batchSize)
	}
	tx = must[*Tx](t)(db.Begin(false))
	n, errs = 0, 0
	for _, err := range tx.Nodes("") {
		if err != nil {
			wantErr(t, err, ErrTxDone, "Nodes", "")
			errs++
			continue
		}
		if n++; n == 1 {
			_ = tx.Rollback()
		}
	}
	if n != batchSize || errs != 1 {
		t.Errorf("%d nodes and %d errors, want %d and 1", n, errs, batchSize)
	}
}

func TestNodesIterator(t *testing.T) {
	db := openTemp(t, nil)
	hub, others := buildStar(t, db, 777)
	err := db.View(func(tx *Tx) error {
		var all []NodeID
		for id, err := range tx.Nodes("") {
			if err != nil {
				return err
			}
			all = append(all, id)
		}
		want := append([]NodeID{hub}, others...)
		if !slices.Equal(all, want) {
			t.Errorf("Nodes(\"\") = %d ids, not the %d created, in order", len(all), len(want))
		}
		counts := map[string]int{}
		for _, label := range []string{"Hub", "Even", "Odd", "Never"} {
			for id, err := range tx.Nodes(label) {
				if err != nil {
					return err
				}
				if got := must[string](t)(tx.Label(id)); got != label {
					t.Errorf("Nodes(%q) yielded node %d labelled %q", label, id, got)
				}
				counts[label]++
			}
		}
		if counts["Hub"] != 1 || counts["Even"] != 389 || counts["Odd"] != 388 || counts["Never"] != 0 {
			t.Errorf("counts %v", counts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An empty database: no nodes, no error.
	empty := openTemp(t, nil)
	_ = empty.View(func(tx *Tx) error {
		if n := countNodes(t, tx); n != 0 {
			t.Errorf("%d nodes in an empty database", n)
		}
		return nil
	})
}
