package quiver

import (
	"bytes"
	"errors"
	"log"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNodesEdgesLabelsDegrees(t *testing.T) {
	db := openTemp(t, nil)
	var a, b, c NodeID
	var ab, ac, aa, ba EdgeID
	mustUpdate(t, db, func(tx *Tx) error {
		if !tx.Writable() || tx.DB() != db {
			t.Error("Writable/DB")
		}
		a = must[NodeID](t)(tx.CreateNode("Person", Props{"name": "a"}))
		b = must[NodeID](t)(tx.CreateNode("Person", nil))
		c = must[NodeID](t)(tx.CreateNode("City", Props{}))
		ab = must[EdgeID](t)(tx.CreateEdge(a, b, "KNOWS", Props{"w": 1.5}))
		ac = must[EdgeID](t)(tx.CreateEdge(a, c, "LIVES_IN", nil))
		aa = must[EdgeID](t)(tx.CreateEdge(a, a, "KNOWS", nil)) // self-loop
		ba = must[EdgeID](t)(tx.CreateEdge(b, a, "KNOWS", nil))
		must[EdgeID](t)(tx.CreateEdge(a, b, "KNOWS", nil)) // parallel edge, deleted below
		return nil
	})
	err := db.View(func(tx *Tx) error {
		if tx.Writable() {
			t.Error("read tx is writable")
		}
		if a == 0 || b == 0 || c == 0 || a == b || b == c {
			t.Errorf("ids %d %d %d", a, b, c)
		}
		for id, want := range map[NodeID]string{a: "Person", b: "Person", c: "City"} {
			if got := must[string](t)(tx.Label(id)); got != want {
				t.Errorf("Label(%d) = %q, want %q", id, got, want)
			}
		}
		if e := must[Edge](t)(tx.Edge(ab)); e != (Edge{ab, a, b, "KNOWS"}) {
			t.Errorf("Edge(ab) = %+v", e)
		}
		if e := must[Edge](t)(tx.Edge(aa)); e != (Edge{aa, a, a, "KNOWS"}) {
			t.Errorf("Edge(aa) = %+v", e)
		}
		if v := must[any](t)(tx.EdgeProp(ab, "w")); v != 1.5 {
			t.Errorf("EdgeProp = %v", v)
		}
		degrees := []struct {
			n    NodeID
			d    Dir
			typ  string
			want uint64
		}{
			{a, Out, "", 4}, {a, In, "", 2}, {a, Both, "", 5}, // self-loop counted once in Both
			{a, Out, "KNOWS", 3}, {a, Out, "LIVES_IN", 1}, {a, Out, "NEVER_STORED", 0},
			{b, In, "KNOWS", 2}, {c, Both, "", 1}, {c, Out, "", 0},
		}
		for _, d := range degrees {
			if got := must[uint64](t)(tx.Degree(d.n, d.d, d.typ)); got != d.want {
				t.Errorf("Degree(%d, %d, %q) = %d, want %d", d.n, d.d, d.typ, got, d.want)
			}
		}
		_ = ac
		_ = ba
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Deletes: an edge, a node with edges (refused, then detached), id 0 and unknown ids.
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.DeleteEdge(ab); err != nil {
			return err
		}
		_, err := tx.Edge(ab)
		wantErr(t, err, ErrNotFound, "Edge", "does not exist")
		wantErr(t, tx.DeleteEdge(ab), ErrNotFound, "DeleteEdge", "does not exist")
		wantErr(t, tx.DeleteNode(c, false), ErrConstraint, "DeleteNode", "")
		if err := tx.DeleteNode(c, true); err != nil {
			return err
		}
		_, err = tx.Edge(ac)
		wantErr(t, err, ErrNotFound, "Edge", "")
		_, err = tx.Label(c)
		wantErr(t, err, ErrNotFound, "Label", "does not exist")
		wantErr(t, tx.DeleteNode(c, true), ErrNotFound, "DeleteNode", "")
		return nil
	})
	s := must[Stats](t)(db.Stats())
	if s.Nodes != 2 || s.Edges != 3 {
		t.Errorf("stats %+v", s)
	}
}

// Id 0 is never valid: every call taking an id says not found.
func TestIDZero(t *testing.T) {
	db := openTemp(t, nil)
	mustUpdate(t, db, func(tx *Tx) error {
		n := must[NodeID](t)(tx.CreateNode("N", nil))
		_, err := tx.Label(0)
		wantErr(t, err, ErrNotFound, "Label", "0")
		_, err = tx.Edge(0)
		wantErr(t, err, ErrNotFound, "Edge", "0")
		_, err = tx.NodeProp(0, "k")
		wantErr(t, err, ErrNotFound, "NodeProp", "0")
		_, err = tx.EdgeProp(0, "k")
		wantErr(t, err, ErrNotFound, "EdgeProp", "0")
		wantErr(t, tx.SetNodeProp(0, "k", 1), ErrNotFound, "SetNodeProp", "0")
		wantErr(t, tx.SetEdgeProp(0, "k", 1), ErrNotFound, "SetEdgeProp", "0")
		wantErr(t, tx.UnsetNodeProp(0, "k"), ErrNotFound, "UnsetNodeProp", "0")
		wantErr(t, tx.UnsetEdgeProp(0, "k"), ErrNotFound, "UnsetEdgeProp", "0")
		wantErr(t, tx.DeleteNode(0, false), ErrNotFound, "DeleteNode", "0")
		wantErr(t, tx.DeleteEdge(0), ErrNotFound, "DeleteEdge", "0")
		_, err = tx.CreateEdge(0, n, "E", nil)
		wantErr(t, err, ErrNotFound, "CreateEdge", "0")
		_, err = tx.CreateEdge(n, 0, "E", nil)
		wantErr(t, err, ErrNotFound, "CreateEdge", "0")
		_, err = tx.Degree(0, Both, "")
		wantErr(t, err, ErrNotFound, "Degree", "0")
		for _, err := range tx.Edges(0, Both, "") {
			wantErr(t, err, ErrNotFound, "Edges", "0")
		}
		return nil
	})
}

func TestSavepoints(t *testing.T) {
	db := openTemp(t, nil)
	mustUpdate(t, db, func(tx *Tx) error {
		a := must[NodeID](t)(tx.CreateNode("A", Props{"v": 1}))
		if err := tx.Savepoint("sp"); err != nil {
			return err
		}
		b := must[NodeID](t)(tx.CreateNode("B", nil))
		if err := tx.SetNodeProp(a, "v", 2); err != nil {
			return err
		}
		if err := tx.RollbackTo("sp"); err != nil {
			return err
		}
		if _, err := tx.Label(b); !errors.Is(err, ErrNotFound) {
			t.Errorf("node created after the savepoint survived RollbackTo: %v", err)
		}
		if v := must[any](t)(tx.NodeProp(a, "v")); v != int64(1) {
			t.Errorf("v = %v after RollbackTo", v)
		}
		// The savepoint stays: roll back to it again, then release it.
		must[NodeID](t)(tx.CreateNode("C", nil))
		if err := tx.RollbackTo("sp"); err != nil {
			return err
		}
		if err := tx.Release("sp"); err != nil {
			return err
		}
		wantErr(t, tx.RollbackTo("sp"), ErrNotFound, "RollbackTo", "sp")
		wantErr(t, tx.Release("nope"), ErrNotFound, "Release", "nope")
		wantErr(t, tx.Savepoint(""), ErrInvalidArgument, "Savepoint", "empty")
		// Nested with a repeated name; release keeps the changes.
		if err := tx.Savepoint("x"); err != nil {
			return err
		}
		if err := tx.Savepoint("x"); err != nil {
			return err
		}
		must[NodeID](t)(tx.CreateNode("D", nil))
		if err := tx.Release("x"); err != nil {
			return err
		}
		if err := tx.RollbackTo("x"); err != nil { // the outer "x"
			return err
		}
		if n := countNodes(t, tx); n != 1 {
			t.Errorf("%d nodes, want 1", n)
		}
		must[NodeID](t)(tx.CreateNode("E", nil))
		return nil // savepoints still open at commit are committed
	})
	err := db.View(func(tx *Tx) error {
		if n := countNodes(t, tx); n != 2 {
			t.Errorf("%d nodes after commit, want 2", n)
		}
		wantErr(t, tx.Savepoint("r"), ErrReadOnly, "Savepoint", "")
		wantErr(t, tx.RollbackTo("r"), ErrReadOnly, "RollbackTo", "")
		wantErr(t, tx.Release("r"), ErrReadOnly, "Release", "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Commit and Rollback end the Tx; every later call says ErrTxDone (and ErrMisuse).
func TestTxDone(t *testing.T) {
	db := openTemp(t, nil)
	for _, commit := range []bool{true, false} {
		tx := must[*Tx](t)(db.Begin(true))
		n := must[NodeID](t)(tx.CreateNode("N", nil))
		if commit {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		} else if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		calls := map[string]error{
			"Commit":      tx.Commit(),
			"Rollback":    tx.Rollback(),
			"SetNodeProp": tx.SetNodeProp(n, "k", 1),
			"DeleteNode":  tx.DeleteNode(n, true),
			"Savepoint":   tx.Savepoint("s"),
		}
		_, calls["CreateNode"] = tx.CreateNode("N", nil)
		_, calls["Label"] = tx.Label(n)
		_, calls["NodeProp"] = tx.NodeProp(n, "k")
		_, calls["Degree"] = tx.Degree(n, Both, "")
		for _, err := range tx.Edges(n, Both, "") {
			calls["Edges"] = err
		}
		for _, err := range tx.Nodes("") {
			calls["Nodes"] = err
		}
		for op, err := range calls {
			e := wantErr(t, err, ErrTxDone, op, "committed or rolled back")
			if !errors.Is(e, ErrMisuse) {
				t.Errorf("%s: %v is not ErrMisuse", op, e)
			}
		}
	}
	// Rolled back work is gone; committed work is there.
	err := db.View(func(tx *Tx) error {
		if n := countNodes(t, tx); n != 1 {
			t.Errorf("%d nodes, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateAndView(t *testing.T) {
	db := openTemp(t, nil)
	errBoom := errors.New("boom")
	// fn's error rolls back and is returned as is.
	if err := db.Update(func(tx *Tx) error {
		must[NodeID](t)(tx.CreateNode("Gone", nil))
		return errBoom
	}); err != errBoom {
		t.Errorf("Update = %v, want errBoom", err)
	}
	// A panic rolls back and goes on.
	func() {
		defer func() {
			if p := recover(); p != "panic in fn" {
				t.Errorf("recovered %v", p)
			}
		}()
		_ = db.Update(func(tx *Tx) error {
			must[NodeID](t)(tx.CreateNode("Gone", nil))
			panic("panic in fn")
		})
	}()
	// The writer is free again (no transaction was left open), and nothing was committed.
	mustUpdate(t, db, func(tx *Tx) error {
		if n := countNodes(t, tx); n != 0 {
			t.Errorf("%d nodes after rolled-back Updates", n)
		}
		_, err := tx.CreateNode("Kept", nil)
		return err
	})
	if err := db.View(func(tx *Tx) error { return errBoom }); err != errBoom {
		t.Errorf("View = %v", err)
	}
	// View is read-only.
	err := db.View(func(tx *Tx) error {
		_, err := tx.CreateNode("N", nil)
		return err
	})
	wantErr(t, err, ErrReadOnly, "CreateNode", "")
	// fn ending the transaction itself: Update's commit then says ErrTxDone.
	err = db.Update(func(tx *Tx) error { return tx.Rollback() })
	wantErr(t, err, ErrTxDone, "Commit", "")
	if n := db.state.open.Load(); n != 0 {
		t.Errorf("%d transactions counted open", n)
	}
}

func TestCloseAndClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := must[*DB](t)(Open(path, nil))
	if db.Path() != path {
		t.Errorf("Path = %q", db.Path())
	}
	tx := must[*Tx](t)(db.Begin(false))
	wantErr(t, db.Close(), ErrBusy, "Close", "still open")
	// The DB still works after the refused Close.
	mustUpdate(t, db, func(tx *Tx) error { _, err := tx.CreateNode("N", nil); return err })
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err := db.Begin(true)
	wantErr(t, err, ErrClosed, "Begin", "closed")
	wantErr(t, db.Update(func(*Tx) error { return nil }), ErrClosed, "Begin", "closed")
	wantErr(t, db.View(func(*Tx) error { return nil }), ErrClosed, "Begin", "closed")
	wantErr(t, db.Checkpoint(), ErrClosed, "Checkpoint", "closed")
	_, err = db.Check()
	wantErr(t, err, ErrClosed, "Check", "closed")
	_, err = db.Stats()
	wantErr(t, err, ErrClosed, "Stats", "closed")
	_, err = db.LastRecovery()
	wantErr(t, err, ErrClosed, "LastRecovery", "closed")
	wantErr(t, db.Backup(path+".bak", false), ErrClosed, "Backup", "closed")
	// Reopen: the committed node is there.
	db2 := must[*DB](t)(Open(path, &Options{NoCreate: true}))
	defer db2.Close()
	_ = db2.View(func(tx *Tx) error {
		if n := countNodes(t, tx); n != 1 {
			t.Errorf("%d nodes after reopen", n)
		}
		return nil
	})
}

// syncBuffer is a bytes.Buffer safe for the cleanup goroutine to write while a test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLog sends what the package logs to a buffer while fn runs.
func captureLog(fn func(logged *syncBuffer)) {
	var buf syncBuffer
	old, flags := log.Writer(), log.Flags()
	log.SetOutput(&buf)
	log.SetFlags(0)
	defer func() {
		log.SetOutput(old)
		log.SetFlags(flags)
	}()
	fn(&buf)
}

// A Tx that is dropped without Commit or Rollback is rolled back by the garbage
// collector (and logged), which frees the writer and lets Close succeed.
func TestUnendedTxRolledBackWhenCollected(t *testing.T) {
	db := openTemp(t, &Options{BusyTimeout: 50 * time.Millisecond})
	captureLog(func(logged *syncBuffer) {
		func() {
			tx := must[*Tx](t)(db.Begin(true))
			must[NodeID](t)(tx.CreateNode("Leaked", nil))
			r := must[*Tx](t)(db.Begin(false))
			_ = r
		}()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if db.state.open.Load() == 0 && strings.Count(logged.String(), "never committed or rolled back") == 2 {
				return
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("%d transactions still open after GC; log: %q", db.state.open.Load(), logged.String())
	})
	mustUpdate(t, db, func(tx *Tx) error {
		if n := countNodes(t, tx); n != 0 {
			t.Errorf("the leaked transaction's node is visible")
		}
		return nil
	})
}

// A DB that is dropped without Close is closed by the garbage collector (and logged),
// which releases its lock.
func TestUnclosedDBClosedWhenCollected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	captureLog(func(logged *syncBuffer) {
		func() {
			db := must[*DB](t)(Open(path, nil))
			mustUpdate(t, db, func(tx *Tx) error { _, err := tx.CreateNode("N", nil); return err })
		}()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			runtime.GC()
			time.Sleep(time.Millisecond)
			if db, err := Open(path, nil); err == nil {
				if err := db.Close(); err != nil {
					t.Error(err)
				}
				if !strings.Contains(logged.String(), "was never closed") {
					t.Errorf("log: %q", logged.String())
				}
				return
			}
		}
		t.Error("the dropped DB was never closed")
	})
}

// Two databases with the same content have the same digest; any difference changes it.
func TestDigest(t *testing.T) {
	build := func(db *DB, extra bool) [32]byte {
		mustUpdate(t, db, func(tx *Tx) error {
			a := must[NodeID](t)(tx.CreateNode("A", Props{"s": "x", "f": 2.5, "n": nil}))
			b := must[NodeID](t)(tx.CreateNode("B", nil))
			must[EdgeID](t)(tx.CreateEdge(a, b, "E", Props{"w": 1}))
			if extra {
				return tx.SetNodeProp(b, "k", true)
			}
			return nil
		})
		var d [32]byte
		if err := db.View(func(tx *Tx) (err error) { d, err = tx.Digest(); return err }); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1, d2, d3 := build(openTemp(t, nil), false), build(openTemp(t, nil), false), build(openTemp(t, nil), true)
	if d1 != d2 {
		t.Errorf("same content, digests %x and %x", d1, d2)
	}
	if d1 == d3 || d1 == ([32]byte{}) {
		t.Errorf("digests %x and %x", d1, d3)
	}
	db := openTemp(t, nil)
	tx := must[*Tx](t)(db.Begin(true))
	empty := must[[32]byte](t)(tx.Digest())
	must[NodeID](t)(tx.CreateNode("N", nil))
	if withNode := must[[32]byte](t)(tx.Digest()); withNode == empty {
		t.Error("a write transaction's digest does not include its own writes")
	}
	_ = tx.Rollback()
	_, err := tx.Digest()
	wantErr(t, err, ErrTxDone, "Digest", "")
}

// By default the library checkpoints a commit within a few tenths of a second with no
// further call (the writer is idle); with UntimedCheckpoints it waits for CheckpointBytes.
func TestUntimedCheckpoints(t *testing.T) {
	commit := func(db *DB) {
		t.Helper()
		mustUpdate(t, db, func(tx *Tx) error {
			_, err := tx.CreateNode("N", Props{"v": int64(1)})
			return err
		})
	}
	timed := openTemp(t, nil)
	commit(timed)
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := must[Stats](t)(timed.Stats())
		if s.CheckpointLSN == s.LastCommitLSN {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timed checkpoint after 30 s: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}

	untimed := openTemp(t, &Options{UntimedCheckpoints: true})
	commit(untimed)
	time.Sleep(500 * time.Millisecond)
	if s := must[Stats](t)(untimed.Stats()); s.CheckpointLSN == s.LastCommitLSN {
		t.Errorf("checkpointed with UntimedCheckpoints: %+v", s)
	}
}
