// A program written only from ../shared/GO.md, the Go package's contract, as a user
// outside this repository would write it. go/test.sh copies it to a directory outside
// the repository, gives it a go.mod with require + replace, builds it against the
// installed library (pkg-config) and runs it; it exits non-zero on any surprise.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"quiver.local/quiver"
)

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func expect(what string, ok bool) {
	if !ok {
		fmt.Fprintf(os.Stderr, "unexpected: %s\n", what)
		os.Exit(1)
	}
}

func main() {
	dir, err := os.MkdirTemp("", "quiver-consumer")
	check("MkdirTemp", err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "graph")

	fmt.Println("libquiver", quiver.Version())
	_, err = quiver.Open(path, &quiver.Options{NoCreate: true})
	expect("NoCreate on a missing database gives ErrNotFound", errors.Is(err, quiver.ErrNotFound))

	db, err := quiver.Open(path, &quiver.Options{Sync: quiver.SyncNormal, BusyTimeout: time.Second})
	check("Open", err)

	var alice, bob quiver.NodeID
	var knows quiver.EdgeID
	err = db.Update(func(tx *quiver.Tx) error {
		var err error
		if alice, err = tx.CreateNode("Person", quiver.Props{"name": "Alice", "age": 30, "photo": []byte{0xFF, 0xD8}}); err != nil {
			return err
		}
		if bob, err = tx.CreateNode("Person", quiver.Props{"name": "Bob", "nick": nil}); err != nil {
			return err
		}
		if knows, err = tx.CreateEdge(alice, bob, "KNOWS", quiver.Props{"weight": 0.75}); err != nil {
			return err
		}
		if err := tx.Savepoint("before-city"); err != nil {
			return err
		}
		if _, err := tx.CreateNode("City", nil); err != nil {
			return err
		}
		return tx.RollbackTo("before-city")
	})
	check("Update", err)

	err = db.View(func(tx *quiver.Tx) error {
		label, err := tx.Label(alice)
		check("Label", err)
		expect("label Person", label == "Person")
		name, err := tx.NodeProp(alice, "name")
		check("NodeProp", err)
		age, err := tx.NodeProp(alice, "age")
		check("NodeProp age", err)
		expect("age is int64(30)", age == int64(30))
		nick, err := tx.NodeProp(bob, "nick")
		expect("stored null reads as nil", nick == nil && err == nil)
		_, err = tx.NodeProp(bob, "age")
		expect("unset key gives ErrNotFound", errors.Is(err, quiver.ErrNotFound))
		var qe *quiver.Error
		expect("errors are *quiver.Error", errors.As(err, &qe) && qe.Op == "NodeProp" && qe.Msg != "")
		props, err := tx.NodeProps(alice)
		check("NodeProps", err)
		expect("three properties", len(props) == 3)
		eprops, err := tx.EdgeProps(knows)
		check("EdgeProps", err)
		expect("edge weight", eprops["weight"] == 0.75)

		for e, err := range tx.Edges(alice, quiver.Out, "") {
			check("Edges", err)
			other, _ := tx.NodeProp(e.Dst, "name")
			fmt.Printf("%v -[%s]-> %v\n", name, e.Type, other)
		}
		e, err := tx.Edge(knows)
		check("Edge", err)
		expect("edge endpoints", e.Src == alice && e.Dst == bob && e.Type == "KNOWS")
		deg, err := tx.Degree(bob, quiver.In, "KNOWS")
		check("Degree", err)
		expect("degree 1", deg == 1)
		n := 0
		for _, err := range tx.Nodes("") {
			check("Nodes", err)
			n++
		}
		expect("two nodes (the city was rolled back)", n == 2)
		_, err = tx.CreateNode("X", nil)
		expect("a read transaction refuses writes", errors.Is(err, quiver.ErrReadOnly))
		return nil
	})
	check("View", err)

	tx, err := db.Begin(true)
	check("Begin", err)
	expect("Close with an open transaction is busy", errors.Is(db.Close(), quiver.ErrBusy))
	check("DeleteNode", tx.DeleteNode(bob, true))
	check("Commit", tx.Commit())
	expect("an ended Tx says ErrTxDone", errors.Is(tx.Rollback(), quiver.ErrTxDone))

	check("Checkpoint", db.Checkpoint())
	report, err := db.Check()
	check("Check", err)
	expect("no problems", report.Problems == 0 && report.FirstProblem == "")
	stats, err := db.Stats()
	check("Stats", err)
	expect("one node, no edge", stats.Nodes == 1 && stats.Edges == 0)
	if err := db.Backup(filepath.Join(dir, "copy"), false); err != nil {
		fmt.Println("Backup:", err)
	}
	check("Close", db.Close())
	check("second Close", db.Close())
	_, err = db.Begin(false)
	expect("a closed DB says ErrClosed", errors.Is(err, quiver.ErrClosed))
	fmt.Printf("ok: %d nodes, %d edges, %d checked\n", stats.Nodes, stats.Edges, report.NodesChecked)
}
