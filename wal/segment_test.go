package wal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// segmentBases returns the first offsets of the segment files in dir, from their names.
func segmentBases(t *testing.T, dir string) []int64 {
	t.Helper()
	var bases []int64
	for _, p := range segmentFiles(t, dir) {
		var b int64
		if _, err := fmt.Sscanf(filepath.Base(p), "%020d.wal", &b); err != nil {
			t.Fatalf("segment name %s: %v", p, err)
		}
		bases = append(bases, b)
	}
	return bases
}

func TestSegmentRotationAndDeletion(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{SegmentSize: 1 << 10})
	ctx := context.Background()
	val := make([]byte, 100)
	for i := range 10 {
		vals := make([][]byte, 10)
		for j := range vals {
			vals[j] = fmt.Appendf(nil, "%03d%s", i*10+j, val[:97])
		}
		if err := w.Append(ctx, "app", vals); err != nil {
			t.Fatal(err)
		}
	}
	per := int64(1<<10) / int64(frameSize(3, 100)) // records per segment
	bases := segmentBases(t, dir)
	if want := int((100 + per - 1) / per); len(bases) != want {
		t.Fatalf("100 records, %d per segment, made %d segments (want %d): %v", per, len(bases), want, bases)
	}
	for i, b := range bases {
		if b != per*int64(i) {
			t.Fatalf("segment %d starts at %d, want %d", i, b, per*int64(i))
		}
	}
	recs := readAll(t, w)
	if len(recs) != 100 {
		t.Fatalf("read %d records, want 100", len(recs))
	}

	if err := w.Commit(ctx, recs[:50]); err != nil { // offsets 0..49
		t.Fatal(err)
	}
	// Segments ending at or before offset 50 go; the one holding offset 50 stays.
	if got, first := segmentBases(t, dir), 50/per*per; got[0] != first || int64(len(got)) != int64(len(bases))-first/per {
		t.Fatalf("after committing 0..49, segments start at %v, want from %d on", got, first)
	}
	if err := w.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if got := segmentBases(t, dir); len(got) != 1 || got[0] != bases[len(bases)-1] {
		t.Fatalf("after committing everything, segments %v, want just the newest", got)
	}
	w.Close()

	w = openWAL(t, dir, Options{SegmentSize: 1 << 10})
	if got := readAll(t, w); len(got) != 0 {
		t.Fatalf("read %d committed records after restart", len(got))
	}
	if err := w.Append(ctx, "app", [][]byte{[]byte("next")}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, w); len(got) != 1 || got[0].Offset != 100 {
		t.Fatalf("after restart read %+v, want one record at offset 100", got)
	}
}

func TestSegmentRetention(t *testing.T) {
	dir := t.TempDir()
	const retention = 2 * time.Second // longer than the appends take on a loaded machine
	w := openWAL(t, dir, Options{SegmentSize: 512, Retention: retention})
	ctx := context.Background()
	appendRandom(t, w, rand.New(rand.NewPCG(7, 8)), 40, 100)
	recs := readAll(t, w)
	before := len(segmentFiles(t, dir))
	if err := w.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n != before || n < 3 {
		t.Fatalf("committed segments younger than retention: %d files, had %d", n, before)
	}
	time.Sleep(retention + 50*time.Millisecond)
	if err := w.Commit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n != 1 {
		t.Fatalf("after retention %d segment files remain, want 1", n)
	}
}

func TestRestartAcrossManySegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 4 << 10, CacheBytes: 1}
	w := openWAL(t, dir, opts)
	orig := appendRandom(t, w, rand.New(rand.NewPCG(9, 10)), 5000, 120)
	w.Close()
	if n := len(segmentFiles(t, dir)); n < 50 {
		t.Fatalf("want many segments, got %d", n)
	}

	w = openWAL(t, dir, opts)
	got := readAll(t, w)
	if len(got) != len(orig) {
		t.Fatalf("read %d records, want %d", len(got), len(orig))
	}
	checkPrefix(t, got, orig, 0)
	if err := w.Commit(context.Background(), got[:2345]); err != nil {
		t.Fatal(err)
	}
	w.Close()

	w = openWAL(t, dir, opts)
	rest := readAll(t, w)
	if len(rest) != len(orig)-2345 {
		t.Fatalf("after committing 2345 read %d records, want %d", len(rest), len(orig)-2345)
	}
	checkPrefix(t, rest, orig, 2345)
	if n, _ := w.Lag(); n != int64(len(orig)-2345) {
		t.Fatalf("lag %d, want %d", n, len(orig)-2345)
	}
}

// TestReadWhileAppending reads concurrently with appenders across segment rotations,
// with a cache too small to hold much, so reads go to files that are being written.
func TestReadWhileAppending(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{SegmentSize: 8 << 10, CacheBytes: 4 << 10})
	const appenders, calls = 8, 50
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for c := range calls {
				vals := [][]byte{fmt.Appendf(nil, "%d/%d/a", g, c), fmt.Appendf(nil, "%d/%d/b", g, c)}
				if err := w.Append(context.Background(), fmt.Sprint(g), vals); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []unmogrowp.Record
	for len(got) < appenders*calls*2 {
		recs, err := w.Read(ctx, 7)
		if err != nil {
			t.Fatalf("read after %d: %v", len(got), err)
		}
		got = append(got, recs...)
	}
	wg.Wait()
	next := map[string]int{}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d at offset %d", i, r.Offset)
		}
		want := fmt.Sprintf("%s/%d/%c", r.Key, next[r.Key]/2, "ab"[next[r.Key]%2])
		if string(r.Value) != want {
			t.Fatalf("record %d: %q, want %q", i, r.Value, want)
		}
		next[r.Key]++
	}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	t.Run("CloseTwice", func(t *testing.T) {
		w := openWAL(t, t.TempDir(), Options{})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		if _, err := w.Read(ctx, 1); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
			t.Fatalf("read after close: %v", err)
		}
		if err := w.Commit(ctx, []unmogrowp.Record{{Offset: 0}}); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
			t.Fatalf("commit after close: %v", err)
		}
	})
	t.Run("SecondOpenRefused", func(t *testing.T) {
		dir := t.TempDir()
		openWAL(t, dir, Options{})
		if w, err := Open(context.Background(), dir, Options{}); err == nil {
			w.Close()
			t.Fatal("a second Open of an open log succeeded")
		}
	})
	t.Run("Limits", func(t *testing.T) {
		w := openWAL(t, t.TempDir(), Options{})
		err := w.Append(ctx, strings.Repeat("k", MaxKeyBytes+1), [][]byte{nil})
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Fatalf("append with a long key: %v", err)
		}
		err = w.Append(ctx, "k", [][]byte{make([]byte, MaxValueBytes+1)})
		if unmogrowp.ErrorCode(err) != unmogrowp.ETOOLARGE {
			t.Fatalf("append of a huge value: %v", err)
		}
		if err := w.Append(ctx, "k", nil); err != nil {
			t.Fatalf("append of nothing: %v", err)
		}
		if n, _ := w.Lag(); n != 0 {
			t.Fatalf("refused appends left lag %d", n)
		}
	})
	t.Run("CancelledAppend", func(t *testing.T) {
		w := openWAL(t, t.TempDir(), Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := w.Append(cctx, "k", [][]byte{nil}); !errors.Is(err, context.Canceled) {
			t.Fatalf("append with a cancelled context: %v", err)
		}
	})
	t.Run("CloseCompletesPendingAppends", func(t *testing.T) {
		dir := t.TempDir()
		w := openWAL(t, dir, Options{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		acked := 0
		for range 16 {
			wg.Go(func() {
				for {
					err := w.Append(ctx, "k", [][]byte{[]byte("v")})
					if err != nil {
						if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
							t.Errorf("append during close: %v", err)
						}
						return
					}
					mu.Lock()
					acked++
					mu.Unlock()
				}
			})
		}
		time.Sleep(50 * time.Millisecond)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		w = openWAL(t, dir, Options{})
		if got := len(readAll(t, w)); got < acked {
			t.Fatalf("%d appends acknowledged, %d records after reopen", acked, got)
		}
	})
	t.Run("ForeignFilesIgnored", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"notes.txt", "123.wal", "commit.tmp"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		w := openWAL(t, dir, Options{})
		if err := w.Append(ctx, "k", [][]byte{[]byte("v")}); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, w); len(got) != 1 || got[0].Offset != 0 {
			t.Fatalf("read %+v", got)
		}
	})
}
