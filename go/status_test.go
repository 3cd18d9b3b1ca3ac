package quiver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The sentinels match by status, and StatusName agrees with the library's qv_status_str.
func TestSentinelsAndStatusNames(t *testing.T) {
	sentinels := map[int]*Error{
		StatusNotFound: ErrNotFound, StatusNullArgument: ErrNullArgument,
		StatusInvalidArgument: ErrInvalidArgument, StatusMisuse: ErrMisuse,
		StatusBufferTooSmall: ErrBufferTooSmall, StatusBusy: ErrBusy, StatusLocked: ErrLocked,
		StatusReadOnly: ErrReadOnly, StatusConstraint: ErrConstraint,
		StatusInterrupted: ErrInterrupted, StatusIO: ErrIO, StatusFull: ErrFull,
		StatusCorrupt: ErrCorrupt, StatusFormat: ErrFormat, StatusPoisoned: ErrPoisoned,
		StatusInternal: ErrInternal,
	}
	for st, s := range sentinels {
		e := &Error{Op: "Op", Status: st, Msg: "m"}
		for st2, s2 := range sentinels {
			if got := errors.Is(e, s2); got != (st == st2) {
				t.Errorf("errors.Is(status %d, sentinel %d) = %v", st, st2, got)
			}
		}
		wrapped := fmt.Errorf("context: %w", e)
		if !errors.Is(wrapped, s) {
			t.Errorf("wrapped status %d does not match", st)
		}
		if !strings.Contains(e.Error(), StatusName(st)) || !strings.HasPrefix(e.Error(), "quiver: Op: m (") {
			t.Errorf("Error() = %q", e.Error())
		}
		// Two real errors of one status are not each other's sentinel.
		if errors.Is(e, &Error{Op: "Other", Status: st, Msg: "x"}) {
			t.Errorf("status %d: a non-sentinel target matched", st)
		}
	}
	if errors.Is(&Error{Status: StatusNotFound}, ErrClosed) || errors.Is(ErrNotFound, ErrTxDone) {
		t.Error("ErrClosed/ErrTxDone matched a status error")
	}
	for st := -3; st < 60; st++ {
		lib := cStatusName(st)
		if lib == "QV_UNKNOWN" {
			if _, ok := statusNames[st]; ok {
				t.Errorf("status %d: the library does not know %s", st, StatusName(st))
			}
			continue
		}
		if StatusName(st) != lib {
			t.Errorf("StatusName(%d) = %q, library says %q", st, StatusName(st), lib)
		}
	}
	if got := StatusName(99); got != "QV_UNKNOWN(99)" {
		t.Errorf("StatusName(99) = %q", got)
	}
	if v := Version(); v != headerVer {
		t.Errorf("Version() = %q, header %q", v, headerVer)
	}
}

// Every status the library can return through this package, each with errors.Is, the
// operation and a non-empty message. (QV_IO and QV_POISONED, and QV_FULL, need a process
// of their own: TestIOErrorPoisons, TestDiskFull.)
func TestReachableStatuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db")

	// QV_NOT_FOUND: no database and NoCreate, or ReadOnly.
	_, err := Open(path, &Options{NoCreate: true})
	wantErr(t, err, ErrNotFound, "Open", "")
	_, err = Open(path, &Options{ReadOnly: true})
	wantErr(t, err, ErrNotFound, "Open", "")

	// QV_INVALID_ARGUMENT: bad options (the library's check and the package's).
	_, err = Open(path, &Options{Sync: 7})
	wantErr(t, err, ErrInvalidArgument, "Open", "")
	_, err = Open(path, &Options{BusyTimeout: -time.Second})
	wantErr(t, err, ErrInvalidArgument, "Open", "negative")
	_, err = Open("a\x00b", nil)
	wantErr(t, err, ErrInvalidArgument, "Open", "NUL")

	// QV_IO: a path whose parent is a regular file.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(filepath.Join(file, "db"), nil)
	wantErr(t, err, ErrIO, "Open", "")

	db := must[*DB](t)(Open(path, &Options{BusyTimeout: 20 * time.Millisecond}))
	defer db.Close()

	// QV_LOCKED: the same database opened twice.
	_, err = Open(path, nil)
	wantErr(t, err, ErrLocked, "Open", "")

	// QV_BUSY: a second writer, and a checkpoint, while the writer is held.
	w := must[*Tx](t)(db.Begin(true))
	start := time.Now()
	_, err = db.Begin(true)
	wantErr(t, err, ErrBusy, "Begin", "")
	if d := time.Since(start); d < 15*time.Millisecond || d > 5*time.Second {
		t.Errorf("busy after %v with a 20 ms timeout", d)
	}
	wantErr(t, db.Checkpoint(), ErrBusy, "Checkpoint", "")
	// QV_BUSY from Close, with a transaction open.
	wantErr(t, db.Close(), ErrBusy, "Close", "")

	// QV_CONSTRAINT.
	a := must[NodeID](t)(w.CreateNode("A", nil))
	must[EdgeID](t)(w.CreateEdge(a, a, "E", nil))
	wantErr(t, w.DeleteNode(a, false), ErrConstraint, "DeleteNode", "")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	// QV_READ_ONLY: a write in a read transaction.
	r := must[*Tx](t)(db.Begin(false))
	_, err = r.CreateNode("N", nil)
	wantErr(t, err, ErrReadOnly, "CreateNode", "")
	wantErr(t, r.SetNodeProp(a, "k", 1), ErrReadOnly, "SetNodeProp", "")
	wantErr(t, r.DeleteEdge(1), ErrReadOnly, "DeleteEdge", "")
	_ = r.Rollback()

	// QV_MISUSE: the package's own (closed DB, ended Tx).
	wantErr(t, r.Rollback(), ErrTxDone, "Rollback", "")

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.Checkpoint(), ErrClosed, "Checkpoint", "closed")

	// QV_READ_ONLY: a read-only database refuses a writer and a checkpoint.
	ro := must[*DB](t)(Open(path, &Options{ReadOnly: true}))
	_, err = ro.Begin(true)
	wantErr(t, err, ErrReadOnly, "Begin", "")
	wantErr(t, ro.Checkpoint(), ErrReadOnly, "Checkpoint", "")
	if err := ro.View(func(tx *Tx) error { _, err := tx.Label(a); return err }); err != nil {
		t.Errorf("read in a read-only database: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
}

// QV_CORRUPT from Check and from a read, and at Open; QV_FORMAT at Open. The file
// layouts are the ones ARCHITECTURE.md documents (as c-tests/test_errors.c uses them).
func TestCorruptAndFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db := must[*DB](t)(Open(path, nil))
	const marker = "CORRUPT-ME-MARKER-0123456789"
	var n, m NodeID
	mustUpdate(t, db, func(tx *Tx) error {
		n = must[NodeID](t)(tx.CreateNode("N", Props{"s": marker}))
		m = must[NodeID](t)(tx.CreateNode("M", nil))
		return nil
	})
	rep := must[CheckReport](t)(db.Check())
	if rep.Problems != 0 || rep.FirstProblem != "" || rep.NodesChecked < 2 {
		t.Errorf("clean check: %+v", rep)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A flipped byte in the property blob.
	props := filepath.Join(path, "props")
	data, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.LastIndex(data, []byte(marker))
	if at < 0 {
		t.Fatal("marker not found in the props file")
	}
	data[at+3] = 'X'
	if err := os.WriteFile(props, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db = must[*DB](t)(Open(path, nil))
	rep, err = db.Check()
	e := wantErr(t, err, ErrCorrupt, "Check", "problem")
	if rep.Problems < 1 || rep.FirstProblem == "" || !strings.Contains(e.Msg, rep.FirstProblem) {
		t.Errorf("report %+v, message %q", rep, e.Msg)
	}
	err = db.View(func(tx *Tx) error {
		_, err := tx.NodeProp(n, "s")
		wantErr(t, err, ErrCorrupt, "NodeProp", "")
		if l := must[string](t)(tx.Label(m)); l != "M" {
			t.Errorf("Label(m) = %q", l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The meta file: two 4 KiB slots, each 108 bytes "QUIVERDB", version (u32 LE) at 8,
	// CRC-32 (IEEE) of the first 104 bytes at 104.
	metaPath := filepath.Join(path, "meta")
	meta, err := os.ReadFile(metaPath)
	if err != nil || len(meta) < 4096+108 {
		t.Fatalf("meta: %d bytes, %v", len(meta), err)
	}
	patched := bytes.Clone(meta)
	for off := 0; off <= 4096; off += 4096 {
		slot := patched[off : off+108]
		if string(slot[:8]) != "QUIVERDB" {
			continue
		}
		binary.LittleEndian.PutUint32(slot[8:], 99) // a future version
		binary.LittleEndian.PutUint32(slot[104:], crc32.ChecksumIEEE(slot[:104]))
	}
	if err := os.WriteFile(metaPath, patched, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, nil)
	wantErr(t, err, ErrFormat, "Open", "version")

	// No valid slot at all.
	clear(patched[:108])
	clear(patched[4096 : 4096+108])
	if err := os.WriteFile(metaPath, patched, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, nil)
	wantErr(t, err, ErrCorrupt, "Open", "meta")
}

func init() {
	children["ioerror"] = ioErrorChild
	children["diskfull"] = diskFullChild
}

// ioErrorChild: a commit whose log write fails (RLIMIT_FSIZE: EFBIG) gives QV_IO and
// poisons the DB; every later call gives QV_POISONED until it is closed and reopened.
func ioErrorChild(path string) int {
	signal.Ignore(syscall.SIGXFSZ)
	db, err := Open(path, nil)
	if err != nil {
		reportErr("open", err)
		return 1
	}
	err = db.Update(func(tx *Tx) error { _, err := tx.CreateNode("Ok1", nil); return err })
	reportErr("commit1", err)
	old, err := db.Begin(false)
	reportErr("reader", err)
	tx, err := db.Begin(true)
	if err != nil {
		reportErr("begin", err)
		return 1
	}
	_, err = tx.CreateNode("Lost", Props{"big": make([]byte, 256<<10)})
	reportErr("insert", err)
	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &saved); err != nil {
		return 1
	}
	lim := saved
	lim.Cur = 64 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return 1
	}
	reportErr("commit2", tx.Commit())
	_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &saved)
	_, err = db.Begin(true)
	reportErr("begin_w", err)
	_, err = db.Begin(false)
	reportErr("begin_r", err)
	_, err = old.Label(1)
	reportErr("old_read", err)
	reportErr("checkpoint", db.Checkpoint())
	_, err = db.Check()
	reportErr("check", err)
	reportErr("close_busy", db.Close())
	_ = old.Rollback()
	reportErr("close", db.Close())
	db, err = Open(path, nil)
	reportErr("reopen", err)
	if err != nil {
		return 0
	}
	_ = db.View(func(tx *Tx) error {
		fmt.Printf("lost %d\n", countLabel(tx, "Lost"))
		fmt.Printf("ok1 %d\n", countLabel(tx, "Ok1"))
		return nil
	})
	reportErr("close2", db.Close())
	return 0
}

func countLabel(tx *Tx, label string) int {
	n := 0
	for _, err := range tx.Nodes(label) {
		if err != nil {
			return -1
		}
		n++
	}
	return n
}

func TestIOErrorPoisons(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	rep := runChild(t, childCmd(t, "ioerror", path))
	want := map[string]string{
		"commit1": "OK", "reader": "OK", "insert": "OK",
		"commit2": "QV_IO", "begin_w": "QV_POISONED", "begin_r": "QV_POISONED",
		"checkpoint": "QV_POISONED", "check": "QV_POISONED", "old_read": "QV_POISONED",
		"close_busy": "QV_BUSY", "close": "", "reopen": "OK", "lost": "0", "ok1": "1", "close2": "OK",
	}
	for k, w := range want {
		got, ok := rep[k]
		if !ok {
			t.Errorf("%s: not reported (report %v)", k, rep)
			continue
		}
		if w != "" && got != w && !strings.HasPrefix(got, w+" ") {
			t.Errorf("%s = %q, want %s", k, got, w)
		}
	}
	if !strings.Contains(rep["commit2"], "wal") {
		t.Errorf("commit2 message does not name the file: %s", rep["commit2"])
	}
}

// diskFullChild runs in a mount namespace of its own (the parent asks for one) and mounts
// a small tmpfs: commits fail with QV_FULL once it fills, and poison the DB.
func diskFullChild(dir string) int {
	if err := syscall.Mount("quiver-go-test", dir, "tmpfs", 0, "size=3m"); err != nil {
		fmt.Printf("skip mount: %v\n", err)
		return 0
	}
	db, err := Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		reportErr("open", err)
		return 0
	}
	var commitErr error
	for i := 0; i < 100 && commitErr == nil; i++ {
		commitErr = db.Update(func(tx *Tx) error {
			_, err := tx.CreateNode("N", Props{"v": make([]byte, 200<<10)})
			return err
		})
	}
	reportErr("commit", commitErr)
	_, err = db.Begin(false)
	reportErr("after", err)
	reportErr("close", db.Close())
	return 0
}

func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace and a tmpfs")
	}
	cmd := childCmd(t, "diskfull", t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	rep := runChild(t, cmd)
	if s, ok := rep["skip"]; ok {
		t.Skip(s)
	}
	if !strings.HasPrefix(rep["commit"], "QV_FULL") {
		t.Errorf("commit on a full disk: %q", rep["commit"])
	}
	if !strings.HasPrefix(rep["after"], "QV_POISONED") {
		t.Errorf("after QV_FULL: %q", rep["after"])
	}
	t.Logf("report: %v", rep)
}
