package quiver

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// digestOf returns the content digest of db's latest commit.
func digestOf(t testing.TB, db *DB) [32]byte {
	t.Helper()
	var d [32]byte
	if err := db.View(func(tx *Tx) error {
		var err error
		d, err = tx.Digest()
		return err
	}); err != nil {
		t.Fatalf("Digest: %v", err)
	}
	return d
}

// openCopy opens a backup (which must exist), checks it and returns it, closed when the
// test ends.
func openCopy(t testing.TB, dest string) *DB {
	t.Helper()
	c, err := Open(dest, &Options{NoCreate: true})
	if err != nil {
		t.Fatalf("open the copy %s: %v", dest, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if rep, err := c.Check(); err != nil {
		t.Fatalf("Check of the copy: %v (%+v)", err, rep)
	}
	return c
}

// copyDigest opens the backup at dest, checks it, and returns its digest (closed again).
func copyDigest(t testing.TB, dest string) [32]byte {
	t.Helper()
	c := openCopy(t, dest)
	d := digestOf(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return d
}

// backupLeftovers lists the hidden ".NAME.qvbackup-*" siblings of dest.
func backupLeftovers(t testing.TB, dest string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dest))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	prefix := "." + filepath.Base(dest) + ".qvbackup-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// wantNothingAt fails unless neither dest nor a hidden sibling of it exists.
func wantNothingAt(t testing.TB, dest string) {
	t.Helper()
	if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after a failed backup (%v)", dest, err)
	}
	if left := backupLeftovers(t, dest); len(left) > 0 {
		t.Errorf("hidden backup directories left beside %s: %v", dest, left)
	}
}

// dirBytes is the total size of the files in dir.
func dirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// blob is value k of a property, n bytes, different for every k.
func blob(k, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(k*131 + i*7)
	}
	return p
}

// fillVaried writes nodes and edges with every value type, deletes some of them and
// unsets some properties, with a checkpoint halfway (so the source has data both in its
// data files and in its log).
func fillVaried(t testing.TB, db *DB) {
	t.Helper()
	var ids []NodeID
	for round := 0; round < 2; round++ {
		mustUpdate(t, db, func(tx *Tx) error {
			for i := 0; i < 50; i++ {
				id, err := tx.CreateNode([]string{"Person", "City", "Thing"}[i%3], Props{
					"i": i, "f": float64(i) / 3, "s": fmt.Sprintf("name-%d-%d", round, i),
					"b": blob(i, 10+i*40), "t": i%2 == 0, "nil": nil,
				})
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			for i := 1; i < len(ids); i += 3 {
				if _, err := tx.CreateEdge(ids[i-1], ids[i], "NEXT", Props{"w": i}); err != nil {
					return err
				}
			}
			return nil
		})
		if round == 0 {
			if err := db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustUpdate(t, db, func(tx *Tx) error {
		for i := 5; i < len(ids); i += 11 {
			if err := tx.DeleteNode(ids[i], true); err != nil {
				return err
			}
		}
		if err := tx.UnsetNodeProp(ids[0], "s"); err != nil {
			return err
		}
		return tx.SetNodeProp(ids[1], "b", blob(999, 5000))
	})
}

// A backup, plain or compact, opens as a checked database with the source's exact
// content (digest: ids, labels, types, properties), nodes and edges counted alike, and
// an empty log; commits to the source after the backup are not in it.
func TestBackupRoundTrip(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			db := openTemp(t, nil)
			fillVaried(t, db)
			want := digestOf(t, db)
			wantStats := must[Stats](t)(db.Stats())
			dest := filepath.Join(t.TempDir(), "copy")
			if err := db.Backup(dest, compact); err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if left := backupLeftovers(t, dest); len(left) > 0 {
				t.Errorf("hidden directories left after a backup: %v", left)
			}
			// The source goes on; the copy keeps the commit it was made from.
			mustUpdate(t, db, func(tx *Tx) error {
				_, err := tx.CreateNode("After", nil)
				return err
			})
			c := openCopy(t, dest)
			if got := digestOf(t, c); got != want {
				t.Errorf("digest of the copy %x, of the source %x", got, want)
			}
			if digestOf(t, db) == want {
				t.Error("the source's digest did not change with a commit")
			}
			s := must[Stats](t)(c.Stats())
			if s.Nodes != wantStats.Nodes || s.Edges != wantStats.Edges {
				t.Errorf("copy has %d nodes, %d edges; source had %d, %d",
					s.Nodes, s.Edges, wantStats.Nodes, wantStats.Edges)
			}
			if rec := must[RecoveryStats](t)(c.LastRecovery()); rec.TxnsReplayed != 0 {
				t.Errorf("opening the copy replayed %d transactions; its log should be empty", rec.TxnsReplayed)
			}
			// The copy is a working database: it takes a commit and reopens with it.
			mustUpdate(t, c, func(tx *Tx) error {
				_, err := tx.CreateNode("InCopy", Props{"k": 1})
				return err
			})
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c = openCopy(t, dest)
			if err := c.View(func(tx *Tx) error {
				if n := countLabel(tx, "InCopy"); n != 1 {
					t.Errorf("%d InCopy nodes after reopening the copy", n)
				}
				if n := countLabel(tx, "After"); n != 0 {
					t.Errorf("a commit made after the backup is in the copy (%d nodes)", n)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// After many updates of large values, each checkpointed: the source reuses the space of
// superseded values (it holds the live ones and the round its last checkpoint freed, which
// only the next may reuse), a plain copy carries that free space, a compact one only the
// live values, and both hold the same content.
func TestBackupCompactIsSmaller(t *testing.T) {
	db := openTemp(t, nil)
	var ids []NodeID
	mustUpdate(t, db, func(tx *Tx) error {
		for i := 0; i < 20; i++ {
			ids = append(ids, must[NodeID](t)(tx.CreateNode("N", Props{"v": blob(i, 16<<10)})))
		}
		return nil
	})
	for round := 0; round < 30; round++ {
		mustUpdate(t, db, func(tx *Tx) error {
			for i, id := range ids {
				if err := tx.SetNodeProp(id, "v", blob(round*100+i, 16<<10)); err != nil {
					return err
				}
			}
			return nil
		})
		if err := db.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	want := digestOf(t, db)
	dir := t.TempDir()
	plain, compact := filepath.Join(dir, "plain"), filepath.Join(dir, "compact")
	if err := db.Backup(plain, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(compact, true); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{plain, compact} {
		if got := copyDigest(t, dest); got != want {
			t.Errorf("%s: digest %x, source %x", filepath.Base(dest), got, want)
		}
	}
	p, c := dirBytes(t, plain), dirBytes(t, compact)
	live := int64(len(ids)) * 16 << 10
	t.Logf("plain copy %d bytes, compact copy %d bytes, live values %d bytes", p, c, live)
	if p >= 4*live {
		t.Errorf("the plain copy (%d bytes) holds more than the live values and one freed round (%d bytes each)", p, live)
	}
	if p-c < live {
		t.Errorf("the compact copy (%d bytes) is not a freed round smaller than the plain one (%d bytes)", c, p)
	}
	if c < live {
		t.Errorf("the compact copy (%d bytes) is smaller than its live values (%d bytes)", c, live)
	}
}

// Refused destinations: the right sentinel, nothing created, the existing destination
// untouched, and the source unharmed.
func TestBackupRefusedDestinations(t *testing.T) {
	db := openTemp(t, nil)
	mustUpdate(t, db, func(tx *Tx) error {
		_, err := tx.CreateNode("N", Props{"k": "v"})
		return err
	})
	dir := t.TempDir()
	existingDir := filepath.Join(dir, "dir")
	if err := os.Mkdir(existingDir, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(existingDir, "keep")
	if err := os.WriteFile(marker, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	existingFile := filepath.Join(dir, "file")
	if err := os.WriteFile(existingFile, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{existingDir, existingFile, dangling} {
		wantErr(t, db.Backup(dest, false), ErrInvalidArgument, "Backup", "exists")
		if left := backupLeftovers(t, dest); len(left) > 0 {
			t.Errorf("%s: hidden directories left: %v", dest, left)
		}
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "mine" {
		t.Errorf("the existing destination was touched: %q %v", b, err)
	}
	if b, err := os.ReadFile(existingFile); err != nil || string(b) != "mine" {
		t.Errorf("the existing file was touched: %q %v", b, err)
	}
	wantErr(t, db.Backup(filepath.Join(dir, "no", "such", "parent"), true), ErrNotFound, "Backup", "")
	wantNothingAt(t, filepath.Join(dir, "no"))
	wantErr(t, db.Backup("", false), ErrInvalidArgument, "Backup", "")
	wantErr(t, db.Backup(filepath.Join(dir, "a\x00b"), false), ErrInvalidArgument, "Backup", "NUL")
	// The source is unharmed: it commits, checks and backs up.
	mustUpdate(t, db, func(tx *Tx) error {
		_, err := tx.CreateNode("N", nil)
		return err
	})
	if _, err := db.Check(); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "ok")
	if err := db.Backup(dest, false); err != nil {
		t.Fatalf("Backup after refusals: %v", err)
	}
	if got, want := copyDigest(t, dest), digestOf(t, db); got != want {
		t.Errorf("digest %x, want %x", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.Backup(filepath.Join(dir, "closed"), false), ErrClosed, "Backup", "closed")
	wantNothingAt(t, filepath.Join(dir, "closed"))
}

// fillLarge gives db n nodes "Big" with a value of size bytes each, checkpointed (the
// copy then reads them from the data files in several chunks).
func fillLarge(t testing.TB, db *DB, n, size int) {
	t.Helper()
	for i := 0; i < n; i += 16 {
		mustUpdate(t, db, func(tx *Tx) error {
			for j := i; j < i+16 && j < n; j++ {
				if _, err := tx.CreateNode("Big", Props{"seq": j, "v": blob(j, size)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
}

// waitCalls waits until the progress callback was called at least n times.
func waitCalls(t testing.TB, p *backupProgress, n uint64, errc <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if calls, _, _ := p.seen(); calls >= n {
			return
		}
		select {
		case err := <-errc:
			t.Fatalf("the backup ended (%v) before progress call %d", err, n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress call %d within 30 s", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A cancel from the progress callback, at its first call or in the middle of the copy,
// stops the backup with ErrInterrupted and leaves neither dest nor the hidden directory;
// the source is unharmed and a new backup to the same dest then succeeds.
func TestBackupCancel(t *testing.T) {
	db := openTemp(t, nil)
	fillLarge(t, db, 48, 128<<10) // 6 MiB: several progress calls
	want := digestOf(t, db)
	dest := filepath.Join(t.TempDir(), "copy")

	p := newBackupProgress()
	defer p.free()
	p.cancel()
	e := wantErr(t, db.backup(dest, false, p), ErrInterrupted, "Backup", "cancel")
	if e.Status != 24 {
		t.Errorf("status %d, want QV_INTERRUPTED = 24", e.Status)
	}
	if calls, _, _ := p.seen(); calls != 1 {
		t.Errorf("%d progress calls after a cancel at the first", calls)
	}
	wantNothingAt(t, dest)

	for _, compact := range []bool{false, true} {
		p := newBackupProgress()
		defer p.free()
		p.holdAt(3)
		errc := make(chan error, 1)
		go func() { errc <- db.backup(dest, compact, p) }()
		waitCalls(t, p, 3, errc)
		_, done, total := p.seen()
		if done == 0 || done >= total {
			t.Errorf("compact=%v: held at %d of %d bytes: not in the middle of the copy", compact, done, total)
		}
		if left := backupLeftovers(t, dest); len(left) != 1 {
			t.Errorf("compact=%v: during the copy, hidden directories %v (want one)", compact, left)
		}
		if _, err := os.Lstat(dest); err == nil {
			t.Errorf("compact=%v: %s exists during the copy", compact, dest)
		}
		// Readers and the writer go on while the backup is held.
		mustUpdate(t, db, func(tx *Tx) error {
			_, err := tx.CreateNode("During", nil)
			return err
		})
		p.cancel()
		wantErr(t, <-errc, ErrInterrupted, "Backup", "cancel")
		wantNothingAt(t, dest)
		if calls, _, _ := p.seen(); calls != 3 {
			t.Errorf("compact=%v: %d progress calls, want 3 (it stops at the one that cancels)", compact, calls)
		}
	}

	if rep, err := db.Check(); err != nil {
		t.Fatalf("Check after cancels: %v (%+v)", err, rep)
	}
	mustUpdate(t, db, func(tx *Tx) error {
		_, err := tx.CreateNode("After", nil)
		return err
	})
	want = digestOf(t, db)
	if err := db.Backup(dest, false); err != nil {
		t.Fatalf("Backup after cancels: %v", err)
	}
	if got := copyDigest(t, dest); got != want {
		t.Errorf("digest %x, want %x", got, want)
	}
}

// committer commits transaction after transaction until stopped: transaction k creates
// node "T" {seq: k, v: ...} and sets the root's "last" to k. acked is the last k whose
// Commit returned; err is read only after wg.Wait.
type committer struct {
	root  NodeID
	acked atomic.Uint64
	stop  atomic.Bool
	err   error
	wg    sync.WaitGroup
}

func startCommitter(t testing.TB, db *DB) *committer {
	t.Helper()
	c := &committer{}
	mustUpdate(t, db, func(tx *Tx) error {
		var err error
		c.root, err = tx.CreateNode("Root", Props{"last": 0})
		return err
	})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for k := uint64(1); !c.stop.Load(); k++ {
			err := db.Update(func(tx *Tx) error {
				if _, err := tx.CreateNode("T", Props{"seq": k, "v": blob(int(k), 100+int(k%50)*20)}); err != nil {
					return err
				}
				return tx.SetNodeProp(c.root, "last", k)
			})
			if err != nil {
				c.err = err
				return
			}
			c.acked.Store(k)
			time.Sleep(200 * time.Microsecond) // some thousands of commits, not a million
		}
	}()
	return c
}

func (c *committer) finish(t testing.TB) {
	t.Helper()
	c.stop.Store(true)
	c.wg.Wait()
	if c.err != nil {
		t.Fatalf("committer: %v", c.err)
	}
}

// verifyPrefix checks that the copy at dest holds exactly transactions 1..last of the
// committer with that root, whole, and returns last.
func verifyPrefix(t testing.TB, dest string, root NodeID) uint64 {
	t.Helper()
	c := openCopy(t, dest)
	var last uint64
	err := c.View(func(tx *Tx) error {
		l, err := tx.NodeProp(root, "last")
		if err != nil {
			return err
		}
		last = uint64(l.(int64))
		seen := map[uint64]bool{}
		for id, err := range tx.Nodes("T") {
			if err != nil {
				return err
			}
			props, err := tx.NodeProps(id)
			if err != nil {
				return err
			}
			k := uint64(props["seq"].(int64))
			if seen[k] || k == 0 || k > last {
				t.Errorf("%s: transaction %d twice or beyond the root's last (%d)", dest, k, last)
			}
			seen[k] = true
			if v, _ := props["v"].([]byte); !bytes.Equal(v, blob(int(k), 100+int(k%50)*20)) {
				t.Errorf("%s: transaction %d's value differs", dest, k)
			}
		}
		if uint64(len(seen)) != last {
			t.Errorf("%s: %d transactions for last = %d", dest, len(seen), last)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return last
}

// A goroutine commits throughout several backups. Each copy holds exactly a prefix of
// its commits: at least every commit acknowledged before Backup was called, and none
// acknowledged after the copy's snapshot. While a backup is held in its progress
// callback the writer commits on (a backup blocks no writer).
func TestBackupWhileCommitting(t *testing.T) {
	db := openTemp(t, &Options{Sync: SyncNormal})
	fillLarge(t, db, 32, 64<<10)
	w := startCommitter(t, db)
	defer w.finish(t)
	dir := t.TempDir()
	for i := 0; i < 6; i++ {
		dest := filepath.Join(dir, fmt.Sprintf("copy%d", i))
		before := w.acked.Load()
		held := i%2 == 0
		p := newBackupProgress()
		defer p.free()
		var atHold uint64
		if held {
			p.holdAt(1) // the first call: after the snapshot was taken
			errc := make(chan error, 1)
			go func() { errc <- db.backup(dest, i%3 == 0, p) }()
			waitCalls(t, p, 1, errc)
			atHold = w.acked.Load()
			deadline := time.Now().Add(30 * time.Second)
			for w.acked.Load() < atHold+5 {
				if time.Now().After(deadline) {
					t.Fatalf("backup %d: the writer committed %d transactions in 30 s while a backup ran",
						i, w.acked.Load()-atHold)
				}
				time.Sleep(time.Millisecond)
			}
			p.holdAt(0)
			if err := <-errc; err != nil {
				t.Fatalf("backup %d: %v", i, err)
			}
		} else if err := db.backup(dest, i%3 == 0, p); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		after := w.acked.Load()
		last := verifyPrefix(t, dest, w.root)
		t.Logf("backup %d (held %v): acked %d before, %d after; the copy holds 1..%d", i, held, before, after, last)
		if last < before || last > after {
			t.Errorf("backup %d holds 1..%d, but %d were acknowledged before it began and %d when it returned",
				i, last, before, after)
		}
		if held && last > atHold {
			t.Errorf("backup %d holds 1..%d, committed after its snapshot (%d were acknowledged by then)",
				i, last, atHold)
		}
	}
	w.finish(t)
	if w.acked.Load() == 0 {
		t.Error("the writer committed nothing")
	}
}

func init() { children["backup"] = backupChild }

// backupChild opens SRC, commits three transactions (node "K" {seq}) printing "ack SEQ",
// then backs up to DEST. MODE "hold": through the progress record, held at its second
// progress call (in the middle of the copy), printing "started CALLS DONE TOTAL" once
// there; MODE "plain": Backup, printing "started" before the call. Either way it prints
// "backup OK" or the error when Backup returns. arg: SRC|DEST|MODE.
func backupChild(arg string) int {
	parts := strings.Split(arg, "|")
	src, dest, mode := parts[0], parts[1], parts[2]
	db, err := Open(src, &Options{NoCreate: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var k uint64
	if err := db.View(func(tx *Tx) error { k = uint64(countLabel(tx, "K")); return nil }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < 3; i++ {
		k++
		if err := db.Update(func(tx *Tx) error {
			_, err := tx.CreateNode("K", Props{"seq": k})
			return err
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ack %d\n", k)
	}
	if mode == "plain" {
		fmt.Println("started")
		reportErr("backup", db.Backup(dest, false))
		return 0
	}
	p := newBackupProgress()
	p.holdAt(2)
	time.AfterFunc(time.Minute, p.cancel) // in case the parent never kills it
	go func() {
		for {
			if calls, done, total := p.seen(); calls >= 2 {
				fmt.Printf("started %d %d %d\n", calls, done, total)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	reportErr("backup", db.backup(dest, false, p))
	return 0
}

// kill -9 during a backup: the child is killed in the middle of the copy (held in its
// progress callback), or at a random moment of an unheld one. Then dest is absent (or,
// for an unheld backup that finished first, a complete copy), the source opens with all
// its commits and checks, and a new backup to the same dest succeeds with the source's
// content.
func TestBackupKill9(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	db, err := Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	const bigs, size = 96, 128 << 10 // 12 MiB
	fillLarge(t, db, bigs, size)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	acked := 0
	modes := []string{"hold", "plain", "hold", "plain"}
	for round, mode := range modes {
		dest := filepath.Join(dir, "copy")
		cmd, sc, stderr := startChild(t, "backup", src+"|"+dest+"|"+mode)
		started := ""
		for started == "" && sc.Scan() {
			line := sc.Text()
			var k int
			if _, err := fmt.Sscanf(line, "ack %d", &k); err == nil {
				if k != acked+1 {
					t.Fatalf("round %d: %q after ack %d", round, line, acked)
				}
				acked++
			} else if strings.HasPrefix(line, "started") {
				started = line
			}
		}
		if started == "" {
			_ = cmd.Wait()
			t.Fatalf("round %d: the child never started its backup:\n%s", round, stderr.String())
		}
		if mode == "plain" {
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		rest := ""
		if !killChild(cmd, sc, func(line string) { rest += line + "\n" }) {
			t.Fatalf("round %d: the child was not killed (%s); it said %q\n%s", round, cmd.ProcessState, rest, stderr.String())
		}

		db, err := Open(src, &Options{NoCreate: true})
		if err != nil {
			t.Fatalf("round %d: reopening the source: %v", round, err)
		}
		if rep, err := db.Check(); err != nil {
			t.Fatalf("round %d: Check of the source: %v (%+v)", round, err, rep)
		}
		if err := db.View(func(tx *Tx) error {
			if n := countLabel(tx, "K"); n != acked {
				t.Errorf("round %d: %d K commits in the source, %d acknowledged", round, n, acked)
			}
			if n := countLabel(tx, "Big"); n != bigs {
				t.Errorf("round %d: %d Big nodes, want %d", round, n, bigs)
			}
			for id, err := range tx.Nodes("Big") {
				if err != nil {
					return err
				}
				props := must[Props](t)(tx.NodeProps(id))
				if v, _ := props["v"].([]byte); !bytes.Equal(v, blob(int(props["seq"].(int64)), size)) {
					t.Errorf("round %d: node %d's value differs", round, id)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := digestOf(t, db)
		left := backupLeftovers(t, dest)
		_, statErr := os.Lstat(dest)
		switch {
		case mode == "hold" && statErr == nil:
			t.Errorf("round %d: %s exists after the child was killed in the middle of the copy", round, dest)
		case statErr == nil:
			// The unheld backup finished before the kill: it is complete.
			if got := copyDigest(t, dest); got != want {
				t.Errorf("round %d: a backup finished before the kill differs from the source", round)
			}
			t.Logf("round %d (%s): the backup finished before the kill (%q)", round, mode, rest)
		default:
			t.Logf("round %d (%s, %s): killed mid-copy; hidden directories left: %v", round, mode, started, left)
		}
		if err := os.RemoveAll(dest); err != nil {
			t.Fatal(err)
		}
		if err := db.Backup(dest, round%2 == 1); err != nil {
			t.Fatalf("round %d: a backup after the kill: %v", round, err)
		}
		if got := copyDigest(t, dest); got != want {
			t.Errorf("round %d: the new copy's digest differs from the source's", round)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dest); err != nil {
			t.Fatal(err)
		}
		for _, l := range left {
			if err := os.RemoveAll(filepath.Join(dir, l)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
