package wal

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRecoveryFromDamagedNewestSegment writes a log, then many times copies it, damages the
// newest segment (truncation at a random point, bytes flipped at random points across the
// whole segment, or both) and reopens the copy. Recovery must keep every record whose frame
// is intact, at its own offset, and lose no record silently: a torn tail (truncation) may
// be cut, but a record lost to a flipped byte must be counted in Status, logged, and the
// damaged file kept aside as it was. New appends take the next offset.
func TestRecoveryFromDamagedNewestSegment(t *testing.T) {
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

	var salvaged, flippedLost int
	for it := range iterations {
		dir := t.TempDir()
		copyDir(t, src, dir)
		path := filepath.Join(dir, filepath.Base(last))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cut := int64(len(data)) // bytes left after truncation
		mode := rng.IntN(3)     // 0: truncate, 1: flip, 2: both
		if mode != 1 {
			cut = rng.Int64N(int64(len(data)))
			data = data[:cut]
		}
		var flips []int64
		if mode != 0 && len(data) > 0 {
			for range 1 + rng.IntN(3) {
				p := rng.Int64N(int64(len(data)))
				if !slices.Contains(flips, p) {
					flips = append(flips, p)
					data[p] ^= byte(1 + rng.IntN(255))
				}
			}
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// intact[i]: record base+i is wholly before the cut and has no flipped byte.
		intact := make([]bool, len(ends))
		lastIntact := int64(-1)
		for i, e := range ends {
			start := e - int64(frameSize(len(orig[base+int64(i)].key), len(orig[base+int64(i)].value)))
			intact[i] = e <= cut && !slices.ContainsFunc(flips, func(p int64) bool { return p >= start && p < e })
			if intact[i] {
				lastIntact = int64(i)
			}
		}
		// Lost to a flip rather than to the cut: must not go unnoticed.
		var lostToFlips, skipped int64
		for i := range ends {
			if !intact[i] && ends[i] <= cut {
				lostToFlips++
				if int64(i) < lastIntact {
					skipped++
				}
			}
		}
		var logs bytes.Buffer
		opts := Options{SegmentSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		w, err := Open(context.Background(), dir, opts)
		if err != nil {
			t.Fatalf("iteration %d (mode %d, cut at %d, flips %v): open: %v", it, mode, cut, flips, err)
		}
		got := readAll(t, w)
		var want []int64 // offsets that must be read, in order
		for off := range base {
			want = append(want, off)
		}
		for i, ok := range intact {
			if ok {
				want = append(want, base+int64(i))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("iteration %d (mode %d, cut at %d, flips %v): recovered %d records, want %d", it, mode, cut, flips, len(got), len(want))
		}
		for i, r := range got {
			if r.Offset != want[i] || r.Key != orig[r.Offset].key || !bytes.Equal(r.Value, orig[r.Offset].value) {
				t.Fatalf("iteration %d: record %d is offset %d, want %d with the value appended there", it, i, r.Offset, want[i])
			}
		}
		st := w.Status()
		if st.LostRecords != skipped {
			t.Fatalf("iteration %d: Status counts %d records lost, want %d", it, st.LostRecords, skipped)
		}
		if lostToFlips > 0 {
			flippedLost++
			if len(st.Damaged) != 1 {
				t.Fatalf("iteration %d: %d records lost to flipped bytes, damaged copies %v", it, lostToFlips, st.Damaged)
			}
			kept, err := os.ReadFile(st.Damaged[0])
			if err != nil || !bytes.Equal(kept, data) {
				t.Fatalf("iteration %d: damaged copy %s is not the damaged file as it was (%v)", it, st.Damaged[0], err)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), filepath.Base(path)) {
				t.Fatalf("iteration %d: no error naming the segment logged:\n%s", it, logs.String())
			}
		} else if len(st.Damaged) != 0 {
			t.Fatalf("iteration %d: a torn tail moved the segment aside: %v", it, st.Damaged)
		}
		if skipped > 0 {
			salvaged++
		}

		next := base + lastIntact + 1
		more := []original{{"app-new", []byte("after recovery")}, {"app-new", nil}}
		if err := w.Append(context.Background(), "app-new", [][]byte{more[0].value, more[1].value}); err != nil {
			t.Fatalf("iteration %d: append after recovery: %v", it, err)
		}
		after := readAll(t, w)
		if len(after) != 2 || after[0].Offset != next || after[1].Offset != next+1 || string(after[0].Value) != "after recovery" {
			t.Fatalf("iteration %d: read %+v after appending 2, want offsets %d and %d", it, after, next, next+1)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if it%10 == 0 { // a second recovery finds a clean log
			w, err := Open(context.Background(), dir, Options{SegmentSize: 64 << 10})
			if err != nil {
				t.Fatalf("iteration %d: reopen: %v", it, err)
			}
			again := readAll(t, w)
			if len(again) != len(want)+2 || again[len(again)-1].Offset != next+1 {
				t.Fatalf("iteration %d: reopen read %d records, want %d", it, len(again), len(want)+2)
			}
			if st := w.Status(); st.LostRecords != 0 || len(st.Damaged) != 0 {
				t.Fatalf("iteration %d: second recovery found damage again: %+v", it, st)
			}
			w.Close()
		}
	}
	t.Logf("%d of %d iterations lost records to flipped bytes; %d skipped damaged records that intact ones follow", flippedLost, iterations, salvaged)
	if salvaged == 0 {
		t.Fatal("no iteration damaged a record that intact ones follow")
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

// TestReaderStepsOverLostRecords damages records 5 and 6 of ten in the only segment, with
// the commit file at 6 (inside the lost ones): the reader starts at 7, and after two more
// segments are appended a new reader from the start reads every kept record across the
// skip frame of what is now an older segment.
func TestReaderStepsOverLostRecords(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, Options{SegmentSize: 1 << 10})
	ctx := context.Background()
	vals := make([][]byte, 10)
	for i := range vals {
		vals[i] = []byte("record-" + strconv.Itoa(i))
	}
	if err := w.Append(ctx, "k", vals); err != nil {
		t.Fatal(err)
	}
	w.Close()
	n := frameSize(1, len(vals[0]))
	rewrite(t, segmentFiles(t, dir)[0], func(b []byte) []byte {
		b[5*n+frameHeader+2] ^= 1
		b[6*n+frameHeader+2] ^= 1
		return b
	})
	if err := writeCommit(dir, 6); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, dir, Options{SegmentSize: 1 << 10})
	if st := w.Status(); st.LostRecords != 2 || len(st.Damaged) != 1 {
		t.Fatalf("status after recovery: %+v, want 2 records lost and one damaged copy", st)
	}
	got := readAll(t, w)
	if len(got) != 3 || got[0].Offset != 7 || string(got[0].Value) != "record-7" {
		t.Fatalf("read %+v after the commit at 6, want records 7 to 9", got)
	}
	for range 3 { // two new segments: the salvaged one is no longer the newest
		if err := w.Append(ctx, "k", [][]byte{make([]byte, 600)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := writeCommit(dir, 0); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, dir, Options{SegmentSize: 1 << 10})
	got = readAll(t, w)
	var offs []int64
	for _, r := range got {
		offs = append(offs, r.Offset)
	}
	if want := []int64{0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12}; !slices.Equal(offs, want) {
		t.Fatalf("read offsets %v, want %v", offs, want)
	}
}
