package quiver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The kill -9 test. The test binary re-runs itself as a child (QUIVER_GO_CHILD=crash:...)
// that commits transaction after transaction on one database and prints "ack K" after
// Commit of transaction K returned nil. The parent SIGKILLs it at a random moment, reads
// every ack it printed, reopens the database and checks that every acknowledged commit
// is there, that the one in flight is there entirely or not at all, and that Check finds
// nothing. Rounds continue on the same database (each reopening runs recovery after the
// previous kill) and cycle through the sync modes: a process crash loses no returned
// commit in any of them.
//
// QUIVER_GO_CRASH_ROUNDS sets the number of rounds (default 8; CI runs more);
// QUIVER_GO_CRASH_SEED replays a failed run.
func TestCrashKill9(t *testing.T) {
	rounds := 8
	if s := os.Getenv("QUIVER_GO_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("QUIVER_GO_CRASH_ROUNDS=%q", s)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("QUIVER_GO_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("QUIVER_GO_CRASH_SEED=%q", s)
		}
	}
	t.Logf("seed %d (QUIVER_GO_CRASH_SEED=%d replays it), %d rounds", seed, seed, rounds)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "db")
	acked := uint64(0) // the highest acknowledged transaction over all rounds
	inFlightSeen := 0
	for round := 0; round < rounds; round++ {
		sync := SyncMode(round % 3)
		ackKill := 1 + rng.IntN(25)
		delay := time.Duration(rng.IntN(3000)) * time.Microsecond
		cmd, sc, stderr := startChild(t, "crash", fmt.Sprintf("%s:%d", path, sync))
		acksThisRound := 0
		readAck := func(line string) {
			if k, ok := strings.CutPrefix(line, "ack "); ok {
				n, err := strconv.ParseUint(k, 10, 64)
				if err != nil || n != acked+1 {
					t.Fatalf("round %d (seed %d): ack %q after %d", round, seed, line, acked)
				}
				acked = n
				acksThisRound++
			}
		}
		for acksThisRound < ackKill && sc.Scan() {
			readAck(sc.Text())
		}
		time.Sleep(delay)
		// Acks the child printed before the kill are still in the pipe.
		if !killChild(cmd, sc, readAck) {
			t.Fatalf("round %d (seed %d): child ended by itself (%v) before the kill:\n%s",
				round, seed, cmd.ProcessState, stderr.String())
		}
		last := verifyCrashDB(t, path, acked, round, seed)
		if last == acked+1 {
			inFlightSeen++ // the in-flight commit made it: it counts as acknowledged now
			acked = last
		}
	}
	t.Logf("%d transactions acknowledged in %d rounds; the in-flight one survived in %d", acked, rounds, inFlightSeen)
}

// verifyCrashDB opens the database after a kill and checks it against the acks; it
// returns the last transaction found.
func verifyCrashDB(t *testing.T, path string, acked uint64, round int, seed uint64) uint64 {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("round %d (seed %d): %s", round, seed, fmt.Sprintf(format, args...))
	}
	db, err := Open(path, &Options{NoCreate: true})
	if err != nil {
		fail("reopen: %v", err)
	}
	defer db.Close()
	rec := must[RecoveryStats](t)(db.LastRecovery())
	var last uint64
	err = db.View(func(tx *Tx) error {
		l, err := tx.NodeProp(crashRoot, "last")
		if err != nil {
			return err
		}
		last = uint64(l.(int64))
		if last < acked || last > acked+1 {
			fail("the database holds transactions 1..%d, but %d were acknowledged", last, acked)
		}
		ids, err := crashNodes(tx)
		if err != nil {
			return err
		}
		if uint64(len(ids)) != last {
			fail("%d transaction nodes for %d transactions", len(ids), last)
		}
		for k := uint64(1); k <= last; k++ {
			id, ok := ids[k]
			if !ok {
				fail("transaction %d is missing", k)
			}
			props, err := tx.NodeProps(id)
			if err != nil {
				return err
			}
			if p, _ := props["payload"].([]byte); !bytes.Equal(p, crashPayload(k)) {
				fail("transaction %d: payload of %d bytes differs", k, len(p))
			}
			links := 0
			for e, err := range tx.Edges(id, Out, "LINK") {
				if err != nil {
					return err
				}
				if v, err := tx.EdgeProp(e.ID, "seq"); err != nil || v != int64(k) {
					fail("transaction %d: edge %d seq %v %v", k, e.ID, v, err)
				}
				links++
			}
			if want := len(crashTargets(k)); links != want {
				fail("transaction %d: %d links, want %d", k, links, want)
			}
		}
		if n := countLabel(tx, "Ghost"); n != 0 {
			fail("%d nodes rolled back to a savepoint survived", n)
		}
		return nil
	})
	if err != nil {
		fail("%v", err)
	}
	rep, err := db.Check()
	if err != nil {
		fail("Check: %v (%+v)", err, rep)
	}
	t.Logf("round %d: acked %d, found %d; recovery replayed %d, discarded %d, truncated %d bytes",
		round, acked, last, rec.TxnsReplayed, rec.TxnsDiscarded, rec.BytesTruncated)
	return last
}

const crashRoot = NodeID(1)

func init() { children["crash"] = crashChild }

// crashChild commits transactions until it is killed. Transaction K creates a node "T"
// with seq K and a payload, links it to earlier transactions' nodes, sets the root's
// "last" to K, and, every fifth, creates a node it rolls back to a savepoint.
func crashChild(arg string) int {
	i := strings.LastIndexByte(arg, ':')
	path := arg[:i]
	sync, _ := strconv.Atoi(arg[i+1:])
	db, err := Open(path, &Options{Sync: SyncMode(sync)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var last uint64
	var ids map[uint64]NodeID
	err = db.Update(func(tx *Tx) error {
		if _, err := tx.Label(crashRoot); err != nil {
			if _, err := tx.CreateNode("Root", Props{"last": 0}); err != nil {
				return err
			}
		}
		l, err := tx.NodeProp(crashRoot, "last")
		if err != nil {
			return err
		}
		last = uint64(l.(int64))
		ids, err = crashNodes(tx)
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for k := last + 1; ; k++ {
		err := db.Update(func(tx *Tx) error {
			n, err := tx.CreateNode("T", Props{"seq": k, "payload": crashPayload(k)})
			if err != nil {
				return err
			}
			for _, target := range crashTargets(k) {
				if _, err := tx.CreateEdge(n, ids[target], "LINK", Props{"seq": k}); err != nil {
					return err
				}
			}
			if k%5 == 0 {
				if err := tx.Savepoint("sp"); err != nil {
					return err
				}
				if _, err := tx.CreateNode("Ghost", Props{"seq": k}); err != nil {
					return err
				}
				if err := tx.RollbackTo("sp"); err != nil {
					return err
				}
			}
			ids[k] = n
			return tx.SetNodeProp(crashRoot, "last", k)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ack %d\n", k)
	}
}

// crashNodes maps each transaction number to its node.
func crashNodes(tx *Tx) (map[uint64]NodeID, error) {
	ids := map[uint64]NodeID{}
	for id, err := range tx.Nodes("T") {
		if err != nil {
			return nil, err
		}
		v, err := tx.NodeProp(id, "seq")
		if err != nil {
			return nil, err
		}
		k := uint64(v.(int64))
		if _, dup := ids[k]; dup {
			return nil, fmt.Errorf("transaction %d twice", k)
		}
		ids[k] = id
	}
	return ids, nil
}

// crashPayload is transaction k's payload: 0 to 6 KiB, different for every k.
func crashPayload(k uint64) []byte {
	p := make([]byte, (k*7919)%6144)
	for i := range p {
		p[i] = byte(k + uint64(i)*31)
	}
	return p
}

// crashTargets are the earlier transactions that transaction k links to.
func crashTargets(k uint64) []uint64 {
	var out []uint64
	for _, d := range []uint64{1, 2, 7} {
		if k > d && (k+d)%3 != 0 {
			out = append(out, k-d)
		}
	}
	return out
}
