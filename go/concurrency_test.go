package quiver

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 64 goroutines make failing calls at once, on more OS threads than cores, yielding
// between calls so that goroutines migrate between threads: each error must carry the
// message of its own call (the message is read inside the same C call). A version that
// read qv_last_error in a second cgo call would mix them up.
func TestErrorMessagePerCall(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	dir := t.TempDir()
	db := openTemp(t, nil)
	var node NodeID
	mustUpdate(t, db, func(tx *Tx) error {
		node = must[NodeID](t)(tx.CreateNode("N", nil))
		return nil
	})
	const goroutines = 64
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan string, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			report := func(format string, args ...any) {
				if bad.Add(1) <= 10 {
					errs <- fmt.Sprintf(format, args...)
				}
			}
			tx, err := db.Begin(false)
			if err != nil {
				report("Begin: %v", err)
				return
			}
			defer tx.Rollback()
			for i := 0; i < rounds; i++ {
				id := NodeID(1_000_000*(g+1) + i)
				var err error
				var op, want string
				switch i % 4 {
				case 0:
					_, err = tx.Label(id)
					op, want = "Label", "node "+strconv.FormatUint(uint64(id), 10)+" "
				case 1:
					key := fmt.Sprintf("key-%d-%d", g, i)
					_, err = tx.NodeProp(node, key)
					op, want = "NodeProp", `"`+key+`"`
				case 2:
					_, err = tx.Edge(EdgeID(id))
					op, want = "Edge", "edge "+strconv.FormatUint(uint64(id), 10)+" "
				case 3:
					p := filepath.Join(dir, fmt.Sprintf("missing-%d-%d", g, i))
					_, err = Open(p, &Options{NoCreate: true})
					op, want = "Open", p
				}
				var e *Error
				switch {
				case !errors.As(err, &e):
					report("goroutine %d call %d: %v is not an *Error", g, i, err)
				case e.Op != op || !strings.Contains(e.Msg+" ", want):
					report("goroutine %d call %d (%s, want %q): got %v", g, i, op, want, err)
				}
				runtime.Gosched()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d errors carried another call's message or op", n, goroutines*rounds)
	}
}

// Readers see consistent snapshots while a writer commits, all at once (run with -race).
func TestReadersAndWriter(t *testing.T) {
	db := openTemp(t, &Options{Sync: SyncOff})
	var root NodeID
	mustUpdate(t, db, func(tx *Tx) error {
		root = must[NodeID](t)(tx.CreateNode("Root", Props{"pairs": 0}))
		return nil
	})
	commits := 300
	if testing.Short() {
		commits = 60
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 16)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				err := db.View(func(tx *Tx) error {
					v, err := tx.NodeProp(root, "pairs")
					if err != nil {
						return err
					}
					pairs := v.(int64)
					nodes := countLabel(tx, "P")
					edges := 0
					for e, err := range tx.Edges(root, Out, "HAS") {
						if err != nil {
							return err
						}
						if e.Src != root || e.Type != "HAS" {
							return fmt.Errorf("bad edge %+v", e)
						}
						edges++
					}
					if int64(nodes) != 2*pairs || int64(edges) != pairs {
						return fmt.Errorf("snapshot mixes commits: pairs=%d nodes=%d edges=%d", pairs, nodes, edges)
					}
					reads.Add(1)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 1; i <= commits; i++ {
		err := db.Update(func(tx *Tx) error {
			a, err := tx.CreateNode("P", Props{"i": i})
			if err != nil {
				return err
			}
			if _, err := tx.CreateNode("P", nil); err != nil {
				return err
			}
			if _, err := tx.CreateEdge(root, a, "HAS", nil); err != nil {
				return err
			}
			return tx.SetNodeProp(root, "pairs", i)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d consistent reads during %d commits", reads.Load(), commits)
}

// A Tx shared by several goroutines by mistake is serialized: no crash, no lost write,
// nothing for the race detector.
func TestSharedTxIsSerialized(t *testing.T) {
	db := openTemp(t, nil)
	tx := must[*Tx](t)(db.Begin(true))
	var wg sync.WaitGroup
	const goroutines, each = 8, 100
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n, err := tx.CreateNode(fmt.Sprintf("G%d", g), Props{"i": i, "s": "v"})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := tx.CreateEdge(n, n, fmt.Sprintf("T%d", i%4), nil); err != nil {
					t.Error(err)
					return
				}
				if v, err := tx.NodeProp(n, "s"); err != nil || v != "v" {
					t.Errorf("NodeProp: %v %v", v, err)
				}
				for e, err := range tx.Edges(n, Both, "") {
					if err != nil || e.Src != n || e.Type != fmt.Sprintf("T%d", i%4) {
						t.Errorf("edge %+v %v", e, err)
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if n := countNodes(t, tx); n != goroutines*each {
		t.Errorf("%d nodes, want %d", n, goroutines*each)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Close racing with calls from other goroutines: each call succeeds, or says ErrClosed
// (or ErrBusy for Close itself); nothing crashes.
func TestCloseRacesWithCalls(t *testing.T) {
	for round := 0; round < 20; round++ {
		db, err := Open(filepath.Join(t.TempDir(), "db"), &Options{Sync: SyncOff})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					var err error
					switch i % 3 {
					case 0:
						_, err = db.Stats()
					case 1:
						err = db.View(func(tx *Tx) error { _, err := tx.Label(1); return err })
						if errors.Is(err, ErrNotFound) {
							err = nil
						}
					case 2:
						err = db.Update(func(tx *Tx) error { _, err := tx.CreateNode("N", nil); return err })
					}
					if err != nil && !errors.Is(err, ErrClosed) {
						t.Errorf("call during Close: %v", err)
					}
				}
			}()
		}
		time.Sleep(time.Duration(round) * 100 * time.Microsecond)
		for {
			err := db.Close()
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("Close: %v", err)
			}
			runtime.Gosched()
		}
		wg.Wait()
	}
}
