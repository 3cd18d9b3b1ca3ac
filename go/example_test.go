package quiver_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"quiver.local/quiver"
)

// A first program: open (creating) a database, write a small graph in one transaction,
// read it back in another.
func Example() {
	dir, err := os.MkdirTemp("", "quiver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := quiver.Open(filepath.Join(dir, "graph"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var ada quiver.NodeID
	err = db.Update(func(tx *quiver.Tx) error {
		ada, err = tx.CreateNode("Person", quiver.Props{"name": "Ada", "born": 1815})
		if err != nil {
			return err
		}
		charles, err := tx.CreateNode("Person", quiver.Props{"name": "Charles"})
		if err != nil {
			return err
		}
		_, err = tx.CreateEdge(ada, charles, "KNOWS", quiver.Props{"since": 1833})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	err = db.View(func(tx *quiver.Tx) error {
		name, err := tx.NodeProp(ada, "name")
		if err != nil {
			return err
		}
		for e, err := range tx.Edges(ada, quiver.Out, "KNOWS") {
			if err != nil {
				return err
			}
			friend, err := tx.NodeProp(e.Dst, "name")
			if err != nil {
				return err
			}
			since, _ := tx.EdgeProp(e.ID, "since")
			fmt.Printf("%s %s %s since %d\n", name, e.Type, friend, since)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output: Ada KNOWS Charles since 1833
}

func tempDB() (*quiver.DB, func()) {
	dir, err := os.MkdirTemp("", "quiver-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := quiver.Open(filepath.Join(dir, "graph"), nil)
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

// Update commits when the function returns nil and rolls back when it returns an error
// (or panics).
func ExampleDB_Update() {
	db, done := tempDB()
	defer done()

	errNoThanks := errors.New("changed my mind")
	err := db.Update(func(tx *quiver.Tx) error {
		if _, err := tx.CreateNode("Draft", nil); err != nil {
			return err
		}
		return errNoThanks // rolls back: the node is not kept
	})
	fmt.Println(err)

	stats, _ := db.Stats()
	fmt.Println("nodes:", stats.Nodes)
	// Output:
	// changed my mind
	// nodes: 0
}

// Begin and Commit by hand, when a function does not fit. The transaction must be ended
// on every path; a deferred Rollback after Commit is harmless.
func ExampleDB_Begin() {
	db, done := tempDB()
	defer done()

	tx, err := db.Begin(true)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback() // no-op (ErrTxDone) once committed

	if _, err := tx.CreateNode("Person", nil); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(tx.Rollback(), quiver.ErrTxDone))
	// Output: true
}

// Nodes iterates over the nodes with a label, in id order.
func ExampleTx_Nodes() {
	db, done := tempDB()
	defer done()
	_ = db.Update(func(tx *quiver.Tx) error {
		for _, label := range []string{"City", "Person", "City"} {
			if _, err := tx.CreateNode(label, nil); err != nil {
				return err
			}
		}
		return nil
	})
	_ = db.View(func(tx *quiver.Tx) error {
		for id, err := range tx.Nodes("City") {
			if err != nil {
				return err
			}
			fmt.Println("city", id)
		}
		return nil
	})
	// Output:
	// city 1
	// city 3
}

// Edges iterates over a node's edges in a direction, of one type or of any (""); Degree
// counts them without reading them.
func ExampleTx_Edges() {
	db, done := tempDB()
	defer done()
	_ = db.Update(func(tx *quiver.Tx) error {
		hub, _ := tx.CreateNode("Hub", nil)
		for i := 0; i < 3; i++ {
			n, _ := tx.CreateNode("Spoke", nil)
			if _, err := tx.CreateEdge(hub, n, "LINK", nil); err != nil {
				return err
			}
		}
		_, err := tx.CreateEdge(hub, hub, "SELF", nil)
		return err
	})
	_ = db.View(func(tx *quiver.Tx) error {
		for e, err := range tx.Edges(1, quiver.Out, "") {
			if err != nil {
				return err
			}
			fmt.Printf("edge %d: %d -> %d %s\n", e.ID, e.Src, e.Dst, e.Type)
		}
		links, _ := tx.Degree(1, quiver.Both, "LINK")
		all, _ := tx.Degree(1, quiver.Both, "")
		fmt.Println("links:", links, "all:", all) // a self-loop counts once
		return nil
	})
	// Unordered output:
	// edge 1: 1 -> 2 LINK
	// edge 2: 1 -> 3 LINK
	// edge 3: 1 -> 4 LINK
	// edge 4: 1 -> 1 SELF
	// links: 3 all: 4
}

// A property set to nil is a stored null; a property never set is ErrNotFound.
func ExampleTx_NodeProp() {
	db, done := tempDB()
	defer done()
	_ = db.Update(func(tx *quiver.Tx) error {
		n, err := tx.CreateNode("Person", quiver.Props{"nickname": nil})
		if err != nil {
			return err
		}
		v, err := tx.NodeProp(n, "nickname")
		fmt.Println(v, err)
		_, err = tx.NodeProp(n, "email")
		fmt.Println(errors.Is(err, quiver.ErrNotFound))
		return nil
	})
	// Output:
	// <nil> <nil>
	// true
}

// NodeProps lists every property; values come back as nil, bool, int64, float64, string
// or []byte, whatever integer or float type they were given as.
func ExampleTx_NodeProps() {
	db, done := tempDB()
	defer done()
	_ = db.Update(func(tx *quiver.Tx) error {
		n, err := tx.CreateNode("Sensor", quiver.Props{
			"id": uint16(7), "gain": float32(0.5), "on": true, "raw": []byte{1, 2}, "name": "s7",
		})
		if err != nil {
			return err
		}
		props, err := tx.NodeProps(n)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("%s: %v (%T)\n", k, props[k], props[k])
		}
		return nil
	})
	// Output:
	// gain: 0.5 (float64)
	// id: 7 (int64)
	// name: s7 (string)
	// on: true (bool)
	// raw: [1 2] ([]uint8)
}

// Savepoints undo part of a write transaction.
func ExampleTx_Savepoint() {
	db, done := tempDB()
	defer done()
	_ = db.Update(func(tx *quiver.Tx) error {
		n, _ := tx.CreateNode("Account", quiver.Props{"balance": 100})
		_ = tx.Savepoint("transfer")
		_ = tx.SetNodeProp(n, "balance", -50)
		_ = tx.RollbackTo("transfer") // undo the overdraft
		_ = tx.Release("transfer")
		v, _ := tx.NodeProp(n, "balance")
		fmt.Println(v)
		return nil
	})
	// Output: 100
}

// Every failure is an *Error with the operation, the status and the library's message;
// errors.Is matches it against the sentinel of its status.
func ExampleError() {
	db, done := tempDB()
	defer done()
	err := db.View(func(tx *quiver.Tx) error {
		_, err := tx.Label(42)
		return err
	})
	var e *quiver.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, quiver.StatusName(e.Status), e.Msg)
	}
	fmt.Println(errors.Is(err, quiver.ErrNotFound))
	fmt.Println(err)
	// Output:
	// Label QV_NOT_FOUND node 42 does not exist
	// true
	// quiver: Label: node 42 does not exist (QV_NOT_FOUND)
}
