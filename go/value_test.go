package quiver

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

const maxValueLen = 16 << 20 // QV_MAX_VALUE_LEN

// Every value type a property may be given, and what reading it back gives.
func TestValuesRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xA5, 0x00, 0x5A}, maxValueLen/3+1)[:maxValueLen]
	bigStr := strings.Repeat("é", maxValueLen/2)
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"true", true, true},
		{"false", false, false},
		{"int", int(-7), int64(-7)},
		{"int8", int8(math.MinInt8), int64(math.MinInt8)},
		{"int16", int16(math.MaxInt16), int64(math.MaxInt16)},
		{"int32", int32(math.MinInt32), int64(math.MinInt32)},
		{"int64 min", int64(math.MinInt64), int64(math.MinInt64)},
		{"int64 max", int64(math.MaxInt64), int64(math.MaxInt64)},
		{"int zero", 0, int64(0)},
		{"uint", uint(42), int64(42)},
		{"uint8", uint8(255), int64(255)},
		{"uint16", uint16(65535), int64(65535)},
		{"uint32", uint32(math.MaxUint32), int64(math.MaxUint32)},
		{"uint64 at MaxInt64", uint64(math.MaxInt64), int64(math.MaxInt64)},
		{"uintptr", uintptr(9), int64(9)},
		{"float32", float32(1.5), float64(1.5)},
		{"float64", 3.25, 3.25},
		{"float64 -0", math.Copysign(0, -1), math.Copysign(0, -1)},
		{"float64 +Inf", math.Inf(1), math.Inf(1)},
		{"float64 smallest", math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64},
		{"string", "héllo", "héllo"},
		{"empty string", "", ""},
		{"string with NUL", "a\x00b", "a\x00b"},
		{"bytes", []byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}},
		{"empty bytes", []byte{}, []byte{}},
		{"nil bytes", []byte(nil), []byte{}},
		{"16 MiB bytes", big, big},
		{"16 MiB string", bigStr, bigStr},
	}
	// One node and one edge per case: every set rewrites the record's whole property
	// blob, so two 16 MiB values on one record would make the test slow.
	db := openTemp(t, nil)
	nodes := make([]NodeID, len(cases))
	edges := make([]EdgeID, len(cases))
	mustUpdate(t, db, func(tx *Tx) error {
		for i, c := range cases {
			nodes[i] = must[NodeID](t)(tx.CreateNode("V", nil))
			edges[i] = must[EdgeID](t)(tx.CreateEdge(nodes[i], nodes[i], "SELF", nil))
			if err := tx.SetNodeProp(nodes[i], c.name, c.in); err != nil {
				t.Errorf("SetNodeProp %s: %v", c.name, err)
			}
			if err := tx.SetEdgeProp(edges[i], c.name, c.in); err != nil {
				t.Errorf("SetEdgeProp %s: %v", c.name, err)
			}
		}
		return nil
	})
	check := func(t *testing.T, got any, want any, what string) {
		t.Helper()
		if f, ok := want.(float64); ok && math.Signbit(f) {
			if g, ok := got.(float64); !ok || !math.Signbit(g) || g != 0 {
				t.Errorf("%s = %#v, want -0", what, got)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %.40v (%T), want %.40v (%T)", what, got, got, want, want)
		}
	}
	// Read back in a new read transaction, then keep the values after it ended.
	kept := map[string]any{}
	err := db.View(func(tx *Tx) error {
		for i, c := range cases {
			v, err := tx.NodeProp(nodes[i], c.name)
			if err != nil {
				t.Errorf("NodeProp %s: %v", c.name, err)
				continue
			}
			check(t, v, c.want, "node "+c.name)
			kept[c.name] = v
			v, err = tx.EdgeProp(edges[i], c.name)
			if err != nil {
				t.Errorf("EdgeProp %s: %v", c.name, err)
				continue
			}
			check(t, v, c.want, "edge "+c.name)
			for what, props := range map[string]Props{
				"NodeProps": must[Props](t)(tx.NodeProps(nodes[i])),
				"EdgeProps": must[Props](t)(tx.EdgeProps(edges[i])),
			} {
				if len(props) != 1 {
					t.Errorf("%s %s: %d properties", what, c.name, len(props))
				}
				got, ok := props[c.name]
				if !ok {
					t.Errorf("%s %s: key missing", what, c.name)
				}
				check(t, got, c.want, what+" "+c.name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The copies outlive the transaction, and later writes do not change them.
	mustUpdate(t, db, func(tx *Tx) error {
		for i, c := range cases {
			if err := tx.SetNodeProp(nodes[i], c.name, "overwritten"); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range cases {
		check(t, kept[c.name], c.want, "kept "+c.name)
	}
}

// Values read inside a write transaction are copies too: a later write in the same
// transaction (which invalidates the library's pointers) does not change them.
func TestValuesCopiedBeforeNextWrite(t *testing.T) {
	db := openTemp(t, nil)
	mustUpdate(t, db, func(tx *Tx) error {
		n := must[NodeID](t)(tx.CreateNode("N", Props{"s": "first", "b": []byte("bytes1")}))
		s := must[any](t)(tx.NodeProp(n, "s"))
		b := must[any](t)(tx.NodeProp(n, "b"))
		for i := 0; i < 100; i++ {
			if err := tx.SetNodeProp(n, "s", strings.Repeat("x", 100+i)); err != nil {
				return err
			}
			if err := tx.SetNodeProp(n, "b", bytes.Repeat([]byte("y"), 100+i)); err != nil {
				return err
			}
		}
		if s != "first" || !bytes.Equal(b.([]byte), []byte("bytes1")) {
			t.Errorf("copies changed: %q %q", s, b)
		}
		return nil
	})
}

// NodeProps and EdgeProps list every property, stored nulls included, as of the call.
func TestNodePropsEdgeProps(t *testing.T) {
	db := openTemp(t, nil)
	var n, bare NodeID
	var e EdgeID
	want := Props{"s": "str", "i": int64(-3), "f": 0.5, "b": true, "null": nil, "bytes": []byte{1, 0}}
	mustUpdate(t, db, func(tx *Tx) error {
		n = must[NodeID](t)(tx.CreateNode("N", Props{"s": "str", "i": -3, "f": float32(0.5),
			"b": true, "null": nil, "bytes": []byte{1, 0}, "gone": 1}))
		if err := tx.UnsetNodeProp(n, "gone"); err != nil {
			return err
		}
		bare = must[NodeID](t)(tx.CreateNode("Bare", nil))
		e = must[EdgeID](t)(tx.CreateEdge(n, bare, "E", Props(want)))
		// Inside the writing transaction the listing sees the writes so far.
		if got := must[Props](t)(tx.NodeProps(n)); !reflect.DeepEqual(got, want) {
			t.Errorf("NodeProps in the writer = %v", got)
		}
		return nil
	})
	var kept Props
	err := db.View(func(tx *Tx) error {
		kept = must[Props](t)(tx.NodeProps(n))
		if got := must[Props](t)(tx.EdgeProps(e)); !reflect.DeepEqual(got, want) {
			t.Errorf("EdgeProps = %v", got)
		}
		if got := must[Props](t)(tx.NodeProps(bare)); got == nil || len(got) != 0 {
			t.Errorf("NodeProps of a node without properties = %#v", got)
		}
		_, err := tx.NodeProps(999)
		wantErr(t, err, ErrNotFound, "NodeProps", "999")
		_, err = tx.NodeProps(0)
		wantErr(t, err, ErrNotFound, "NodeProps", "0")
		_, err = tx.EdgeProps(999)
		wantErr(t, err, ErrNotFound, "EdgeProps", "999")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The listing is a copy: it outlives the transaction and later writes.
	mustUpdate(t, db, func(tx *Tx) error {
		for k := range want {
			if err := tx.SetNodeProp(n, k, "changed"); err != nil {
				return err
			}
		}
		return nil
	})
	if !reflect.DeepEqual(kept, want) {
		t.Errorf("kept listing = %v", kept)
	}
	tx := must[*Tx](t)(db.Begin(false))
	_ = tx.Rollback()
	_, err = tx.NodeProps(n)
	wantErr(t, err, ErrTxDone, "NodeProps", "")
}

// A stored null is not an unset key; unsetting is idempotent.
func TestNullVersusUnset(t *testing.T) {
	db := openTemp(t, nil)
	mustUpdate(t, db, func(tx *Tx) error {
		n := must[NodeID](t)(tx.CreateNode("N", Props{"null": nil}))
		v, err := tx.NodeProp(n, "null")
		if err != nil || v != nil {
			t.Errorf("stored null: %v, %v", v, err)
		}
		_, err = tx.NodeProp(n, "unset")
		wantErr(t, err, ErrNotFound, "NodeProp", "not set")
		if err := tx.UnsetNodeProp(n, "null"); err != nil {
			t.Error(err)
		}
		_, err = tx.NodeProp(n, "null")
		wantErr(t, err, ErrNotFound, "NodeProp", "not set")
		if err := tx.UnsetNodeProp(n, "never"); err != nil {
			t.Errorf("unset of a key never set: %v", err)
		}
		e := must[EdgeID](t)(tx.CreateEdge(n, n, "E", Props{"null": nil}))
		if v, err := tx.EdgeProp(e, "null"); err != nil || v != nil {
			t.Errorf("edge stored null: %v, %v", v, err)
		}
		if err := tx.UnsetEdgeProp(e, "null"); err != nil {
			t.Error(err)
		}
		_, err = tx.EdgeProp(e, "null")
		wantErr(t, err, ErrNotFound, "EdgeProp", "not set")
		return nil
	})
}

// Values and identifiers the package or the library refuses, and what each error says.
func TestRefusedValuesAndIdentifiers(t *testing.T) {
	db := openTemp(t, nil)
	tooBig := make([]byte, maxValueLen+1)
	long := strings.Repeat("k", 1025)
	max := strings.Repeat("k", 1024)
	mustUpdate(t, db, func(tx *Tx) error {
		n := must[NodeID](t)(tx.CreateNode("N", nil))
		cases := []struct {
			name    string
			key     string
			v       any
			target  error
			msgPart string
		}{
			{"uint64 over int64", "k", uint64(math.MaxInt64) + 1, ErrInvalidArgument, "does not fit"},
			{"uint over int64", "k", uint(math.MaxUint64), ErrInvalidArgument, "does not fit"},
			{"struct", "k", struct{}{}, ErrInvalidArgument, "struct {}"},
			{"named int", "k", celsius(3), ErrInvalidArgument, "quiver.celsius"},
			{"pointer", "k", new(int), ErrInvalidArgument, "*int"},
			{"map", "k", map[string]any{}, ErrInvalidArgument, "map"},
			{"16 MiB + 1 bytes", "k", tooBig, ErrInvalidArgument, "16777216"},
			{"16 MiB + 1 string", "k", string(tooBig), ErrInvalidArgument, "16777216"},
			{"invalid UTF-8 string", "k", "\xff\xfe", ErrInvalidArgument, "UTF-8"},
			{"empty key", "", 1, ErrInvalidArgument, "empty"},
			{"key 1025 bytes", long, 1, ErrInvalidArgument, "1024"},
			{"NUL in key", "a\x00b", 1, ErrInvalidArgument, "NUL"},
			{"invalid UTF-8 key", "\xff", 1, ErrInvalidArgument, "UTF-8"},
		}
		for _, c := range cases {
			wantErr(t, tx.SetNodeProp(n, c.key, c.v), c.target, "SetNodeProp", c.msgPart)
		}
		// The longest key is fine.
		if err := tx.SetNodeProp(n, max, 1); err != nil {
			t.Errorf("1024-byte key: %v", err)
		}
		if v, err := tx.NodeProp(n, max); err != nil || v != int64(1) {
			t.Errorf("1024-byte key read: %v %v", v, err)
		}
		// NUL in every kind of identifier, refused before any C call.
		_, err := tx.CreateNode("La\x00bel", nil)
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "NUL")
		_, err = tx.CreateEdge(n, n, "T\x00", nil)
		wantErr(t, err, ErrInvalidArgument, "CreateEdge", "NUL")
		_, err = tx.CreateNode("L", Props{"k\x00": 1})
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "NUL")
		_, err = tx.NodeProp(n, "\x00")
		wantErr(t, err, ErrInvalidArgument, "NodeProp", "NUL")
		wantErr(t, tx.UnsetNodeProp(n, "x\x00"), ErrInvalidArgument, "UnsetNodeProp", "NUL")
		wantErr(t, tx.Savepoint("s\x00p"), ErrInvalidArgument, "Savepoint", "NUL")
		_, err = tx.Degree(n, Out, "\x00")
		wantErr(t, err, ErrInvalidArgument, "Degree", "NUL")
		for _, err := range tx.Edges(n, Out, "\x00") {
			wantErr(t, err, ErrInvalidArgument, "Edges", "NUL")
		}
		for _, err := range tx.Nodes("\x00") {
			wantErr(t, err, ErrInvalidArgument, "Nodes", "NUL")
		}
		// Labels and types: empty and too long.
		_, err = tx.CreateNode("", nil)
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "empty")
		_, err = tx.CreateNode(long, nil)
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "1024")
		_, err = tx.CreateEdge(n, n, "", nil)
		wantErr(t, err, ErrInvalidArgument, "CreateEdge", "empty")
		// A bad property in CreateNode leaves no node behind.
		before := countNodes(t, tx)
		_, err = tx.CreateNode("L", Props{"ok": 1, "bad": tooBig})
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "16777216")
		_, err = tx.CreateNode("L", Props{"ok": 1, "bad": struct{}{}})
		wantErr(t, err, ErrInvalidArgument, "CreateNode", "struct")
		_, err = tx.CreateEdge(n, n, "E", Props{"a": 1, "z": "\xff"})
		wantErr(t, err, ErrInvalidArgument, "CreateEdge", "UTF-8")
		if after := countNodes(t, tx); after != before {
			t.Errorf("nodes %d -> %d after refused CreateNode", before, after)
		}
		if d := must[uint64](t)(tx.Degree(n, Both, "")); d != 0 {
			t.Errorf("degree %d after a refused CreateEdge", d)
		}
		return nil
	})
}

// celsius is a named integer type: not one of the types a value may have.
type celsius int

func countNodes(t testing.TB, tx *Tx) int {
	t.Helper()
	n := 0
	for _, err := range tx.Nodes("") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// A create whose property the library refuses is one qv_node_insert_with (or
// qv_edge_insert_with) call with no effect: no node or edge is left, not even for a moment
// in the write set, and no id is used up (an insert followed by a delete would have used
// one), so the next create gets the id the refused one would have had, as from C.
func TestCreateWithRefusedPropertyHasNoEffect(t *testing.T) {
	db := openTemp(t, &Options{Sync: SyncOff})
	var a, b NodeID
	var e, f EdgeID
	mustUpdate(t, db, func(tx *Tx) error {
		a = must[NodeID](t)(tx.CreateNode("N", nil))
		e = must[EdgeID](t)(tx.CreateEdge(a, a, "E", nil))
		refused := []struct {
			props   Props
			msgPart string
		}{
			{Props{"ok": 1, "": 2}, "empty"},                             // a bad key
			{Props{"a": 1, "z": "\xff"}, "UTF-8"},                        // a bad value, last in key order
			{Props{"a": "\xff", "z": 1}, "UTF-8"},                        // a bad value, first in key order
			{Props{"k": strings.Repeat("x", maxValueLen+1)}, "16777216"}, // a value too long
		}
		for _, r := range refused {
			_, err := tx.CreateNode("N", r.props)
			wantErr(t, err, ErrInvalidArgument, "CreateNode", r.msgPart)
			_, err = tx.CreateEdge(a, a, "E", r.props)
			wantErr(t, err, ErrInvalidArgument, "CreateEdge", r.msgPart)
		}
		if n := countNodes(t, tx); n != 1 {
			t.Errorf("%d nodes after refused creates, want 1", n)
		}
		if d := must[uint64](t)(tx.Degree(a, Both, "")); d != 1 {
			t.Errorf("degree %d after refused creates, want 1", d)
		}
		b = must[NodeID](t)(tx.CreateNode("N", Props{"k": "v"}))
		f = must[EdgeID](t)(tx.CreateEdge(a, b, "E", Props{"k": int64(1)}))
		// More properties than the shim keeps on the C stack.
		many := Props{}
		for i := range 40 {
			many[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", i)
		}
		m := must[NodeID](t)(tx.CreateNode("N", many))
		if got := must[Props](t)(tx.NodeProps(m)); !reflect.DeepEqual(got, many) {
			t.Errorf("40 properties: got %v", got)
		}
		many["k39"] = []byte("\xff")
		many["k40"] = "\xff"
		_, err := tx.CreateEdge(a, m, "E", many)
		wantErr(t, err, ErrInvalidArgument, "CreateEdge", "UTF-8")
		if err := tx.DeleteNode(m, false); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if b != a+1 || f != e+1 {
		t.Errorf("ids after refused creates: node %d (want %d), edge %d (want %d)", b, a+1, f, e+1)
	}
	tx := must[*Tx](t)(db.Begin(false))
	defer func() { _ = tx.Rollback() }()
	if n := countNodes(t, tx); n != 2 {
		t.Errorf("%d nodes committed, want 2", n)
	}
	if p := must[Props](t)(tx.NodeProps(b)); !reflect.DeepEqual(p, Props{"k": "v"}) {
		t.Errorf("props of node %d = %v", b, p)
	}
	if p := must[Props](t)(tx.EdgeProps(f)); !reflect.DeepEqual(p, Props{"k": int64(1)}) {
		t.Errorf("props of edge %d = %v", f, p)
	}
}
