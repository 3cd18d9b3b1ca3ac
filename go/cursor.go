package quiver

import "iter"

// batchSize is how many edges or node ids one cgo crossing reads.
const batchSize = 128

// Edges yields the edges of node id in direction dir, of type typ ("" = any type), as of
// the moment iteration starts: writes made later in the transaction do not change what
// it yields, so deleting while iterating is safe. An error (no such node, or the
// transaction ended) is yielded once, with a zero Edge, and ends the iteration.
//
// Edges are read in batches, one cgo crossing per batch; the Tx's mutex is not held
// while the loop body runs, so the body may use the Tx.
func (tx *Tx) Edges(id NodeID, dir Dir, typ string) iter.Seq2[Edge, error] {
	return func(yield func(Edge, error) bool) {
		const op = "Edges"
		if err := checkIdent(op, "edge type", typ); err != nil {
			yield(Edge{}, err)
			return
		}
		cur, err := withResult(tx, op, func(st *txState) (*cCursor, error) { return cEdges(st.ptr, id, dir, typ) })
		if err != nil {
			yield(Edge{}, err)
			return
		}
		defer tx.freeCursor(cur)
		cbuf := edgeBuffer(batchSize)
		defer freeEdgeBuffer(cbuf)
		out := make([]Edge, 0, batchSize)
		for {
			out = out[:0]
			err := tx.with(op, func(st *txState) error {
				n, err := cNextEdges(cur, cbuf)
				out = out[:n]
				for i := range out {
					out[i] = st.edge(&cbuf[i])
				}
				return err
			})
			for _, e := range out {
				if !yield(e, nil) {
					return
				}
			}
			if err != nil {
				yield(Edge{}, err)
				return
			}
			if len(out) == 0 {
				return
			}
		}
	}
}

// Nodes yields the ids of the live nodes with label ("" = all nodes) in id order, as of
// the moment iteration starts (as Edges).
func (tx *Tx) Nodes(label string) iter.Seq2[NodeID, error] {
	return func(yield func(NodeID, error) bool) {
		const op = "Nodes"
		if err := checkIdent(op, "label", label); err != nil {
			yield(0, err)
			return
		}
		cur, err := withResult(tx, op, func(st *txState) (*cCursor, error) { return cNodes(st.ptr, label) })
		if err != nil {
			yield(0, err)
			return
		}
		defer tx.freeCursor(cur)
		buf := make([]uint64, batchSize)
		for {
			n, err := withResult(tx, op, func(*txState) (int, error) { return cNextNodes(cur, buf) })
			for _, id := range buf[:n] {
				if !yield(NodeID(id), nil) {
					return
				}
			}
			if err != nil {
				yield(0, err)
				return
			}
			if n == 0 {
				return
			}
		}
	}
}

// freeCursor frees a cursor, before or after its transaction ended.
func (tx *Tx) freeCursor(c *cCursor) {
	st := tx.state
	st.mu.Lock()
	defer st.mu.Unlock()
	cCursorFree(c)
}

// nameCache keeps the Go copies of label and edge-type strings of one transaction, keyed
// by the library's pointer: such a string stays valid, at the same address, until the
// transaction ends, so one address always names the same string.
type nameCache struct {
	lastPtr *cChar
	last    string
	m       map[*cChar]string
}

// get is small enough to inline: a scan mostly meets the same type again.
func (c *nameCache) get(p *cChar) string {
	if p == c.lastPtr && p != nil {
		return c.last
	}
	return c.lookup(p)
}

func (c *nameCache) lookup(p *cChar) string {
	s, ok := c.m[p]
	if !ok {
		s = goString(p)
		if c.m == nil {
			c.m = make(map[*cChar]string)
		}
		c.m[p] = s
	}
	c.lastPtr, c.last = p, s
	return s
}

func (c *nameCache) reset() { *c = nameCache{} }
