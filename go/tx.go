package quiver

import (
	"log"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// NodeID identifies a node. Ids start at 1; 0 is never a valid id.
type NodeID uint64

// EdgeID identifies an edge. Ids start at 1; 0 is never a valid id.
type EdgeID uint64

// Dir is an edge direction relative to a node (qv_dir).
type Dir int

const (
	Out  Dir = 1 // edges leaving the node
	In   Dir = 2 // edges entering the node
	Both Dir = 3 // both; a self-loop is yielded and counted once
)

// Edge is an edge as read from the database.
type Edge struct {
	ID       EdgeID
	Src, Dst NodeID
	Type     string
}

// Tx is a transaction. It is meant for one goroutine at a time; a Tx shared by mistake is
// serialized by a mutex, never undefined behaviour. Commit or Rollback ends it; every
// later call returns an error matching ErrTxDone. A Tx that is never ended is rolled back
// when it is garbage-collected, and that is logged as a bug.
type Tx struct {
	state   *txState
	cleanup runtime.Cleanup
}

// txState is what the Tx's cleanup needs; it must not point back at the Tx. It holds the
// DB, so the DB stays reachable (and open) until the Tx is ended or cleaned up.
type txState struct {
	mu       sync.Mutex // held around every C call on ptr or its cursors
	ptr      *cTxn      // nil once ended
	db       *DB
	writable bool
	names    nameCache // labels and edge types, valid until the transaction ends
	ins      insertBuf // CreateNode's and CreateEdge's scratch space
}

func newTx(db *DB, ptr *cTxn, writable bool) *Tx {
	st := &txState{ptr: ptr, db: db, writable: writable}
	tx := &Tx{state: st}
	tx.cleanup = runtime.AddCleanup(tx, rollbackUnreachableTx, st)
	return tx
}

func rollbackUnreachableTx(st *txState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return
	}
	log.Printf("quiver: BUG: a transaction on %s was never committed or rolled back; "+
		"rolling it back as it is garbage-collected", st.db.state.path)
	st.end()
}

// end rolls back (unless the C side already freed it) and forgets the C transaction.
// Called with mu held.
func (st *txState) endWith(commit bool) error {
	p := st.ptr
	st.ptr = nil
	st.names.reset()
	var err error
	if commit {
		err = cCommit(p)
	} else {
		cRollback(p)
	}
	st.db.state.open.Add(-1)
	return err
}

func (st *txState) end() { _ = st.endWith(false) }

// with runs f on the C transaction with the Tx's mutex held, or returns ErrTxDone.
func (tx *Tx) with(op string, f func(st *txState) error) error {
	return withLocked(tx.state, op, txDoneError, f)
}

// txState is a lockedState: one C call at a time.
func (st *txState) lock()      { st.mu.Lock() }
func (st *txState) unlock()    { st.mu.Unlock() }
func (st *txState) live() bool { return st.ptr != nil }

// Writable reports whether tx is the write transaction.
func (tx *Tx) Writable() bool { return tx.state.writable }

// DB returns the database of the transaction.
func (tx *Tx) DB() *DB { return tx.state.db }

// Commit commits the transaction and ends it, whatever the outcome. For a write
// transaction the commit is durable when Commit returns nil (with SyncFull); on failure
// nothing of it is visible, now or after reopening. Committing a read transaction just
// ends it.
func (tx *Tx) Commit() error {
	err := tx.with("Commit", func(st *txState) error { return st.endWith(true) })
	tx.cleanup.Stop()
	return err
}

// Rollback abandons the transaction and ends it: nothing it wrote remains. It returns an
// error matching ErrTxDone if the transaction had already ended.
func (tx *Tx) Rollback() error {
	err := tx.with("Rollback", func(st *txState) error {
		st.end()
		return nil
	})
	tx.cleanup.Stop()
	return err
}

// CreateNode creates a node with label and props (which may be nil) and returns its id.
// If a property is refused, no node is left behind.
func (tx *Tx) CreateNode(label string, props Props) (NodeID, error) {
	id, err := create(tx, "CreateNode", false, 0, 0, "label", label, props)
	return NodeID(id), err
}

// CreateEdge creates an edge src -> dst of type typ with props (which may be nil) and
// returns its id. Self-loops and parallel edges are allowed. If a property is refused,
// no edge is left behind.
func (tx *Tx) CreateEdge(src, dst NodeID, typ string, props Props) (EdgeID, error) {
	id, err := create(tx, "CreateEdge", true, src, dst, "edge type", typ, props)
	return EdgeID(id), err
}

// create checks name (what it is, for the message) and props, then creates a node or an
// edge (as edge says) with its properties in one C call (qv_node_insert_with or
// qv_edge_insert_with), which has no effect at all if the library refuses a property.
func create(tx *Tx, op string, edge bool, src, dst NodeID, what, name string, props Props) (uint64, error) {
	if err := checkIdent(op, what, name); err != nil {
		return 0, err
	}
	kvs, err := encodeProps(op, props)
	if err != nil {
		return 0, err
	}
	return withResult(tx, op, func(st *txState) (uint64, error) {
		return cInsertWith(op, edge, st.ptr, &st.ins, src, dst, name, kvs)
	})
}

type keyValue struct {
	key string
	val value
}

// encodeProps checks every key and value that Go can check before the C call. Keys are
// sorted so that which one fails first (here or in the library, which checks them in
// order) does not depend on map order.
func encodeProps(op string, props Props) ([]keyValue, error) {
	if len(props) == 0 {
		return nil, nil
	}
	kvs := make([]keyValue, 0, len(props))
	for k, v := range props {
		if err := checkIdent(op, "property key", k); err != nil {
			return nil, err
		}
		val, err := encodeValue(op, v)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, keyValue{k, val})
	}
	slices.SortFunc(kvs, func(a, b keyValue) int { return strings.Compare(a.key, b.key) })
	return kvs, nil
}

// DeleteNode deletes node id. A node that still has edges is refused with ErrConstraint
// unless detach is true, which deletes its edges too.
func (tx *Tx) DeleteNode(id NodeID, detach bool) error {
	const op = "DeleteNode"
	flags := uint32(0)
	if detach {
		flags = detachFlag
	}
	return tx.with(op, func(st *txState) error { return cNodeDelete(op, st.ptr, id, flags) })
}

// DeleteEdge deletes edge id.
func (tx *Tx) DeleteEdge(id EdgeID) error {
	const op = "DeleteEdge"
	return tx.with(op, func(st *txState) error { return cEdgeDelete(op, st.ptr, id) })
}

// Label returns the label of node id (ErrNotFound if there is no such node).
func (tx *Tx) Label(id NodeID) (string, error) {
	return withResult(tx, "Label", func(st *txState) (string, error) {
		p, err := cNodeLabel(st.ptr, id)
		if err != nil {
			return "", err
		}
		return st.names.get(p), nil
	})
}

// Edge returns edge id (ErrNotFound if there is no such edge).
func (tx *Tx) Edge(id EdgeID) (Edge, error) {
	return withResult(tx, "Edge", func(st *txState) (Edge, error) {
		ce, err := cEdgeGet(st.ptr, id)
		if err != nil {
			return Edge{}, err
		}
		return st.edge(&ce), nil
	})
}

func (st *txState) edge(ce *cEdge) Edge {
	id, src, dst, typ := edgeFields(ce)
	return Edge{ID: id, Src: src, Dst: dst, Type: st.names.get(typ)}
}

// NodeProp returns property key of node id: nil for a stored null; an error with
// ErrNotFound when there is no such node or the key is not set (the message says which).
func (tx *Tx) NodeProp(id NodeID, key string) (any, error) {
	return tx.getProp("NodeProp", false, uint64(id), key)
}

// EdgeProp returns property key of edge id, as NodeProp.
func (tx *Tx) EdgeProp(id EdgeID, key string) (any, error) {
	return tx.getProp("EdgeProp", true, uint64(id), key)
}

func (tx *Tx) getProp(op string, edge bool, id uint64, key string) (any, error) {
	if err := checkIdent(op, "property key", key); err != nil {
		return nil, err
	}
	return withResult(tx, op, func(st *txState) (any, error) { return cGet(op, edge, st.ptr, id, key) })
}

// NodeProps returns every property of node id (an empty Props for a node without any),
// copied out of the library's memory.
func (tx *Tx) NodeProps(id NodeID) (Props, error) {
	return tx.allProps("NodeProps", false, uint64(id))
}

// EdgeProps returns every property of edge id, as NodeProps.
func (tx *Tx) EdgeProps(id EdgeID) (Props, error) {
	return tx.allProps("EdgeProps", true, uint64(id))
}

func (tx *Tx) allProps(op string, edge bool, id uint64) (Props, error) {
	return withResult(tx, op, func(st *txState) (Props, error) {
		cur, err := cProps(op, edge, st.ptr, id)
		if err != nil {
			return nil, err
		}
		defer cCursorFree(cur)
		props := Props{}
		for {
			key, v, ok, err := cNextProp(op, cur)
			if err != nil {
				return nil, err
			}
			if !ok {
				return props, nil
			}
			props[st.names.get(key)] = v
		}
	})
}

// SetNodeProp sets property key of node id to v (nil stores a null, which is not the same
// as unset).
func (tx *Tx) SetNodeProp(id NodeID, key string, v any) error {
	return tx.setProp("SetNodeProp", false, uint64(id), key, v)
}

// SetEdgeProp sets property key of edge id to v, as SetNodeProp.
func (tx *Tx) SetEdgeProp(id EdgeID, key string, v any) error {
	return tx.setProp("SetEdgeProp", true, uint64(id), key, v)
}

func (tx *Tx) setProp(op string, edge bool, id uint64, key string, v any) error {
	if err := checkIdent(op, "property key", key); err != nil {
		return err
	}
	val, err := encodeValue(op, v)
	if err != nil {
		return err
	}
	err = tx.with(op, func(st *txState) error { return cSet(op, edge, st.ptr, id, key, &val) })
	runtime.KeepAlive(v) // val.p points into v's bytes
	return err
}

// UnsetNodeProp removes property key of node id; removing a key that is not set is a
// no-op.
func (tx *Tx) UnsetNodeProp(id NodeID, key string) error {
	return tx.unsetProp("UnsetNodeProp", false, uint64(id), key)
}

// UnsetEdgeProp removes property key of edge id, as UnsetNodeProp.
func (tx *Tx) UnsetEdgeProp(id EdgeID, key string) error {
	return tx.unsetProp("UnsetEdgeProp", true, uint64(id), key)
}

func (tx *Tx) unsetProp(op string, edge bool, id uint64, key string) error {
	if err := checkIdent(op, "property key", key); err != nil {
		return err
	}
	return tx.with(op, func(st *txState) error { return cUnset(op, edge, st.ptr, id, key) })
}

// Degree returns the number of edges of node id in direction dir, of type typ ("" = any
// type); a self-loop counts once, also for Both.
func (tx *Tx) Degree(id NodeID, dir Dir, typ string) (uint64, error) {
	const op = "Degree"
	if err := checkIdent(op, "edge type", typ); err != nil {
		return 0, err
	}
	return withResult(tx, op, func(st *txState) (uint64, error) { return cDegree(st.ptr, id, dir, typ) })
}

// Digest returns the SHA-256 content digest of the transaction's snapshot (its own
// writes included): equal for two databases exactly when they hold the same nodes and
// edges, ids included, with the same labels, types and properties. The encoding is
// documented with qv_digest in quiver.h. It reads every record.
func (tx *Tx) Digest() ([32]byte, error) {
	return withResult(tx, "Digest", func(st *txState) ([32]byte, error) { return cDigest(st.ptr) })
}

// Savepoint starts a savepoint called name in a write transaction. Names may repeat (the
// most recent of a name is meant). Savepoints still open at commit are committed.
func (tx *Tx) Savepoint(name string) error { return tx.savepoint("Savepoint", spSet, name) }

// RollbackTo undoes everything the transaction did after the most recent savepoint
// called name; the savepoint stays.
func (tx *Tx) RollbackTo(name string) error { return tx.savepoint("RollbackTo", spRollbackTo, name) }

// Release removes the most recent savepoint called name and every later one; their
// changes stay in the transaction.
func (tx *Tx) Release(name string) error { return tx.savepoint("Release", spRelease, name) }

func (tx *Tx) savepoint(op string, which int, name string) error {
	if err := checkIdent(op, "savepoint name", name); err != nil {
		return err
	}
	return tx.with(op, func(st *txState) error { return cSavepoint(op, which, st.ptr, name) })
}
