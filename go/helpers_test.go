package quiver

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// openTemp opens a new database in a temporary directory, closed when the test ends.
func openTemp(t testing.TB, opts *Options) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// mustUpdate runs fn in a write transaction and fails the test on error.
func mustUpdate(t testing.TB, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// wantErr checks that err is an *Error for op with the sentinel's status, a message
// containing msgPart, and that errors.Is matches target.
func wantErr(t testing.TB, err error, target error, op, msgPart string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v from %s, got nil", target, op)
	}
	if !errors.Is(err, target) {
		t.Fatalf("errors.Is(%v, %v) = false", err, target)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is not an *Error", err, err)
	}
	if op != "" && e.Op != op {
		t.Errorf("Op = %q, want %q (err %v)", e.Op, op, err)
	}
	if e.Msg == "" {
		t.Errorf("empty Msg in %v", err)
	}
	if !strings.Contains(e.Msg, msgPart) {
		t.Errorf("Msg %q does not contain %q", e.Msg, msgPart)
	}
	return e
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
