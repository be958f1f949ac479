package wal

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestRecoveryFromDamagedTail writes a log, then many times copies it, damages the newest
// segment (truncation at a random point, flipped bytes at random points, or both) and
// reopens the copy. Recovery must keep exactly the records before the first damage, at
// their own offsets, and take new appends at the next offset.
func TestRecoveryFromDamagedTail(t *testing.T) {
	const records, iterations = 1500, 200
	rng := rand.New(rand.NewPCG(1, 2))
	src := t.TempDir()
	w, err := Open(context.Background(), src, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	orig := appendRandom(t, w, rng, records, 300)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, src)
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	last := segs[len(segs)-1]
	base, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(last), segmentExt), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// ends[i] is where record base+i ends in the newest segment, from the appended sizes.
	var ends []int64
	var pos int64
	for _, o := range orig[base:] {
		pos += int64(frameSize(len(o.key), len(o.value)))
		ends = append(ends, pos)
	}
	info, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != pos {
		t.Fatalf("newest segment is %d bytes, the records appended to it make %d", info.Size(), pos)
	}

	for it := range iterations {
		dir := t.TempDir()
		copyDir(t, src, dir)
		path := filepath.Join(dir, filepath.Base(last))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		damage := int64(len(data)) // first damaged byte
		mode := rng.IntN(3)        // 0: truncate, 1: flip, 2: both
		if mode != 1 {
			damage = rng.Int64N(int64(len(data)))
			data = data[:damage]
		}
		if mode != 0 && len(data) > 0 {
			seen := map[int64]bool{}
			for range 1 + rng.IntN(3) {
				p := rng.Int64N(int64(len(data)))
				if seen[p] {
					continue
				}
				seen[p] = true
				data[p] ^= byte(1 + rng.IntN(255))
				damage = min(damage, p)
			}
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		keep := 0 // records of the newest segment wholly before the damage
		for keep < len(ends) && ends[keep] <= damage {
			keep++
		}
		want := base + int64(keep)

		w, err := Open(context.Background(), dir, Options{SegmentSize: 64 << 10})
		if err != nil {
			t.Fatalf("iteration %d (mode %d, damage at %d): open: %v", it, mode, damage, err)
		}
		got := readAll(t, w)
		if int64(len(got)) != want {
			t.Fatalf("iteration %d (mode %d, damage at %d): recovered %d records, want %d", it, mode, damage, len(got), want)
		}
		checkPrefix(t, got, orig, 0)

		more := []original{{"app-new", []byte("after recovery")}, {"app-new", nil}}
		if err := w.Append(context.Background(), "app-new", [][]byte{more[0].value, more[1].value}); err != nil {
			t.Fatalf("iteration %d: append after recovery: %v", it, err)
		}
		after := readAll(t, w)
		combined := append(orig[:want:want], more...)
		if len(after) != 2 {
			t.Fatalf("iteration %d: read %d records after appending 2", it, len(after))
		}
		checkPrefix(t, after, combined, want)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if it%20 == 0 { // a second recovery finds a clean log
			w, err := Open(context.Background(), dir, Options{SegmentSize: 64 << 10})
			if err != nil {
				t.Fatalf("iteration %d: reopen: %v", it, err)
			}
			again := readAll(t, w)
			if len(again) != int(want)+2 {
				t.Fatalf("iteration %d: reopen read %d records, want %d", it, len(again), want+2)
			}
			checkPrefix(t, again, combined, 0)
			w.Close()
		}
	}
}

// TestRecoveryRefusesDamageInOlderSegments checks that damage anywhere but the tail of the
// newest segment stops Open with an error naming the file, instead of losing records.
func TestRecoveryRefusesDamageInOlderSegments(t *testing.T) {
	src := t.TempDir()
	w, err := Open(context.Background(), src, Options{SegmentSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	appendRandom(t, w, rand.New(rand.NewPCG(3, 4)), 300, 200)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, src)); n < 4 {
		t.Fatalf("want at least 4 segments, got %d", n)
	}

	tests := []struct {
		name   string
		damage func(t *testing.T, segs []string) string // returns the file to be named
	}{
		{"FlippedByte", func(t *testing.T, segs []string) string {
			return rewrite(t, segs[1], func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b })
		}},
		{"TornTail", func(t *testing.T, segs []string) string {
			return rewrite(t, segs[0], func(b []byte) []byte { return b[:len(b)-3] })
		}},
		{"ZeroedFrame", func(t *testing.T, segs []string) string {
			return rewrite(t, segs[2], func(b []byte) []byte { clear(b[:10]); return b })
		}},
		{"MissingSegment", func(t *testing.T, segs []string) string {
			if err := os.Remove(segs[1]); err != nil {
				t.Fatal(err)
			}
			return filepath.Base(segs[2])
		}},
		{"CorruptCommitFile", func(t *testing.T, segs []string) string {
			path := filepath.Join(filepath.Dir(segs[0]), commitName)
			if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
			return commitName
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, src, dir)
			name := tt.damage(t, segmentFiles(t, dir))
			w, err := Open(context.Background(), dir, Options{SegmentSize: 4 << 10})
			if err == nil {
				w.Close()
				t.Fatal("open succeeded on a damaged log")
			}
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("open error %q does not name %s", err, name)
			}
		})
	}
}

// rewrite applies f to the contents of path and returns the file's base name.
func rewrite(t *testing.T, path string, f func([]byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(path)
}

// TestRecoveryCommitAheadOfLog covers a commit file past the end of the log (a committed
// tail lost to damage): offsets are not reused, and the gap left is accepted on reopen.
func TestRecoveryCommitAheadOfLog(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	orig := appendRandom(t, w, rand.New(rand.NewPCG(5, 6)), 50, 100)
	recs := readAll(t, w)
	if err := w.Commit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	w.Close()
	seg := segmentFiles(t, dir)[0]
	cut := int64(0)
	for _, o := range orig[:30] {
		cut += int64(frameSize(len(o.key), len(o.value)))
	}
	if err := os.Truncate(seg, cut+5); err != nil { // records 30.. gone, a torn frame left
		t.Fatal(err)
	}

	for round := range 2 {
		w = openWAL(t, dir, Options{})
		if err := w.Append(context.Background(), "k", [][]byte{[]byte("v")}); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, w)
		if len(got) != 1 || got[0].Offset != int64(50+round) {
			t.Fatalf("round %d: read %v after the commit, want one record at offset %d", round, got, 50+round)
		}
		if err := w.Commit(context.Background(), got); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
}

// TestAppendFailureRefusesFurtherAppends breaks the segment file under the writer: the
// append in flight fails with EUNAVAILABLE and is never visible, later ones are refused,
// and a reopen recovers.
func TestAppendFailureRefusesFurtherAppends(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	ctx := context.Background()
	if err := w.Append(ctx, "k", [][]byte{[]byte("ok")}); err != nil {
		t.Fatal(err)
	}
	w.active.Close() // the next write fails; its offset was never visible and is reused
	for i := range 2 {
		err := w.Append(ctx, "k", [][]byte{[]byte("lost")})
		if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
			t.Fatalf("append %d on a failed log: %v, want EUNAVAILABLE", i, err)
		}
	}
	if got := readAll(t, w); len(got) != 1 || string(got[0].Value) != "ok" {
		t.Fatalf("read %d records from the failed log, want just the durable one", len(got))
	}
	w.Close()

	w = openWAL(t, dir, Options{})
	if err := w.Append(ctx, "k", [][]byte{[]byte("again")}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, w)
	if len(got) != 2 || string(got[0].Value) != "ok" || string(got[1].Value) != "again" || got[1].Offset != 1 {
		t.Fatalf("after reopen read %+v", got)
	}
}

// TestRecoveryCutsFrameWithWrongOffset puts a whole, valid frame with a stale offset at the
// end of the newest segment (a copy of its first frame). Recovery must cut it off where it
// begins, so that an append made after the recovery survives the next one.
func TestRecoveryCutsFrameWithWrongOffset(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{})
	ctx := context.Background()
	if err := w.Append(ctx, "k", [][]byte{[]byte("r0"), []byte("r1"), []byte("r2")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, dir)
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	stale := data[:frameSize(1, 2)] // record 0 again, where record 3 belongs
	if err := os.WriteFile(segs[0], append(data, stale...), 0o644); err != nil {
		t.Fatal(err)
	}

	w = openWAL(t, dir, Options{})
	if err := w.Append(ctx, "k", [][]byte{[]byte("r3")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, dir, Options{})
	defer w.Close()
	got := readAll(t, w)
	if len(got) != 4 {
		t.Fatalf("read %d records after two recoveries, want 4", len(got))
	}
	for i, r := range got {
		if r.Offset != int64(i) || string(r.Value) != "r"+strconv.Itoa(i) {
			t.Errorf("record %d = offset %d value %q, want offset %d value r%d", i, r.Offset, r.Value, i, i)
		}
	}
}
