package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestAppendHeld checks that batches held by AppendHeld are invisible, watermarks
// included, until CommitHeld commits them all (a partition first seen in one held batch
// and raised by the next, and a second partition); that a failed commit loses them all
// and the store then takes them again; that an Append commits what is held with its own
// batch; and that Close rolls back what is held.
func TestAppendHeld(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "held.duckdb")
	s := openAt(t, path)
	empty := readState(t, s)
	hold := func(b ...*[2]int64) {
		t.Helper()
		for _, pb := range b {
			if err := s.AppendHeld(ctx, mixedAt(int32(pb[0]), pb[1], 10)); err != nil {
				t.Fatalf("AppendHeld: %v", err)
			}
		}
	}
	hold(&[2]int64{0, 0}, &[2]int64{0, 20}, &[2]int64{1, 0})
	if got := readState(t, s); !got.equal(empty) {
		t.Fatalf("held batches visible before the commit: %v", got)
	}

	s.beforeCommit = func(context.Context, *sql.Conn) error { return errors.New("injected") }
	if err := s.CommitHeld(ctx); err == nil {
		t.Fatal("CommitHeld succeeded despite the injected failure")
	}
	s.beforeCommit = nil
	if got := readState(t, s); !got.equal(empty) {
		t.Fatalf("after a failed commit: %v, want nothing", got)
	}

	hold(&[2]int64{0, 0}, &[2]int64{0, 20}, &[2]int64{1, 0})
	if err := s.CommitHeld(ctx); err != nil {
		t.Fatal(err)
	}
	want := state{events: 30, touchpoints: 30, installs: 6, marks: map[int32]int64{0: 39, 1: 19}}
	if got := readState(t, s); !got.equal(want) {
		t.Fatalf("after the commit: %v, want %v", got, want)
	}

	hold(&[2]int64{1, 20})
	if err := s.Append(ctx, mixedAt(2, 0, 10)); err != nil {
		t.Fatal(err)
	}
	want = state{events: 50, touchpoints: 50, installs: 10, marks: map[int32]int64{0: 39, 1: 39, 2: 19}}
	if got := readState(t, s); !got.equal(want) {
		t.Fatalf("after an Append with a batch held: %v, want %v", got, want)
	}

	hold(&[2]int64{0, 40})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	if got := readState(t, s); !got.equal(want) {
		t.Fatalf("after Close with a batch held: %v, want %v", got, want)
	}
	if err := s.CommitHeld(ctx); err != nil {
		t.Errorf("CommitHeld with nothing held: %v", err)
	}
}
