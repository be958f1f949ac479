// Package logtest is the conformance suite of the log seam, unmogrowp.Log and
// unmogrowp.LogReader: every implementation (package wal, package kafka) runs it from its
// own tests against a real engine.
package logtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Opener opens the log under test on the state named by state, a fresh directory path
// per subtest (an implementation without local files derives the names of its state from
// it, such as a topic and a consumer group). Called again with the same state after the
// returned Closer was closed, it must open the same log: this is how the suite restarts
// it. The Closer releases the log and the reader; the suite closes it once.
type Opener func(t *testing.T, state string) (unmogrowp.Log, unmogrowp.LogReader, io.Closer)

// Run runs the conformance suite as parallel subtests of t: open must keep the states it
// is given apart.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"AppendThenRead", testAppendThenRead},
		{"ReadHonoursMax", testReadHonoursMax},
		{"ReadBlocksUntilAppend", testReadBlocksUntilAppend},
		{"ReadHonoursContext", testReadHonoursContext},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"CommitThenRestart", testCommitThenRestart},
		{"UncommittedDeliveredAgain", testUncommittedDeliveredAgain},
		{"AppendAfterClose", testAppendAfterClose},
		{"CloseWakesReader", testCloseWakesReader},
		{"LargeAndEmptyValues", testLargeAndEmptyValues},
		{"Lag", testLag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a state each
			h := &harness{open: open, state: t.TempDir()}
			tt.fn(t, h)
		})
	}
}

// harness opens and restarts one log state for a subtest.
type harness struct {
	open  Opener
	state string
}

// instance is one opened log; close is idempotent and also runs at the end of the test.
type instance struct {
	log    unmogrowp.Log
	reader unmogrowp.LogReader
	once   sync.Once
	closer io.Closer
	err    error
}

func (h *harness) start(t *testing.T) *instance {
	t.Helper()
	l, r, c := h.open(t, h.state)
	in := &instance{log: l, reader: r, closer: c}
	t.Cleanup(func() { in.close() })
	return in
}

func (in *instance) close() error {
	in.once.Do(func() { in.err = in.closer.Close() })
	return in.err
}

// stop closes the instance and fails the test if that fails.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

const wait = 10 * time.Second

func appendValues(t *testing.T, l unmogrowp.Log, key string, values ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := l.Append(ctx, key, values); err != nil {
		t.Fatalf("append %d values under %q: %v", len(values), key, err)
	}
}

// values returns n values "prefix-0", "prefix-1", ...
func values(prefix string, n int) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return vs
}

// readN reads exactly n records, failing on an error, on more than n, or after wait.
func readN(t *testing.T, r unmogrowp.LogReader, n, max int) []unmogrowp.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var got []unmogrowp.Record
	for len(got) < n {
		recs, err := r.Read(ctx, max)
		if err != nil {
			t.Fatalf("read after %d of %d records: %v", len(got), n, err)
		}
		if len(recs) == 0 || len(recs) > max {
			t.Fatalf("read(max=%d) returned %d records", max, len(recs))
		}
		got = append(got, recs...)
	}
	if len(got) > n {
		t.Fatalf("read %d records, want %d", len(got), n)
	}
	return got
}

// expectNone checks that no record becomes available for a short while.
func expectNone(t *testing.T, r unmogrowp.LogReader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	recs, err := r.Read(ctx, 100)
	if !errors.Is(err, context.DeadlineExceeded) || len(recs) != 0 {
		t.Fatalf("read on a drained log: %d records, err %v; want none and a deadline error", len(recs), err)
	}
}

// checkRecords checks got against the keys and values appended, in order, and that
// offsets increase within each partition.
func checkRecords(t *testing.T, got []unmogrowp.Record, key string, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Key != key || !bytes.Equal(r.Value, want[i]) {
			t.Fatalf("record %d: key %q value %.40q; want key %q value %.40q", i, r.Key, r.Value, key, want[i])
		}
	}
	checkOffsets(t, got)
}

func checkOffsets(t *testing.T, got []unmogrowp.Record) {
	t.Helper()
	last := map[int32]int64{}
	for i, r := range got {
		if prev, ok := last[r.Partition]; ok && r.Offset <= prev {
			t.Fatalf("record %d: partition %d offset %d after offset %d", i, r.Partition, r.Offset, prev)
		}
		if r.Offset < 0 {
			t.Fatalf("record %d: negative offset %d", i, r.Offset)
		}
		last[r.Partition] = r.Offset
	}
}

func commit(t *testing.T, r unmogrowp.LogReader, recs []unmogrowp.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.Commit(ctx, recs); err != nil {
		t.Fatalf("commit %d records: %v", len(recs), err)
	}
}

func testAppendThenRead(t *testing.T, h *harness) {
	in := h.start(t)
	first := values("a", 3)
	appendValues(t, in.log, "app-a", first...)
	got := readN(t, in.reader, 3, 100)
	checkRecords(t, got, "app-a", first)
	kept := make([][]byte, len(got))
	for i, r := range got {
		kept[i] = bytes.Clone(r.Value)
	}

	second := values("b", 2)
	appendValues(t, in.log, "app-a", second...)
	more := readN(t, in.reader, 2, 100)
	checkRecords(t, more, "app-a", second)
	checkOffsets(t, append(append([]unmogrowp.Record(nil), got...), more...))
	for i, r := range got {
		if !bytes.Equal(r.Value, kept[i]) {
			t.Fatalf("record %d changed after a later read: %q, was %q", i, r.Value, kept[i])
		}
	}
	expectNone(t, in.reader)
}

func testReadHonoursMax(t *testing.T, h *harness) {
	in := h.start(t)
	want := values("m", 10)
	appendValues(t, in.log, "app-m", want...)
	checkRecords(t, readN(t, in.reader, 10, 3), "app-m", want)
}

func testReadBlocksUntilAppend(t *testing.T, h *harness) {
	in := h.start(t)
	type result struct {
		recs []unmogrowp.Record
		err  error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	go func() {
		recs, err := in.reader.Read(ctx, 10)
		done <- result{recs, err}
	}()
	select {
	case res := <-done:
		t.Fatalf("read returned before any append: %d records, err %v", len(res.recs), res.err)
	case <-time.After(150 * time.Millisecond):
	}
	appendValues(t, in.log, "app-b", []byte("wake"))
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("read: %v", res.err)
		}
		checkRecords(t, res.recs, "app-b", [][]byte{[]byte("wake")})
	case <-time.After(wait):
		t.Fatal("read did not return after an append")
	}
}

func testReadHonoursContext(t *testing.T, h *harness) {
	in := h.start(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.reader.Read(cancelled, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with a cancelled context: %v, want context.Canceled", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start := time.Now()
	recs, err := in.reader.Read(ctx, 10)
	if !errors.Is(err, context.DeadlineExceeded) || len(recs) != 0 {
		t.Fatalf("read on an empty log: %d records, err %v; want a deadline error", len(recs), err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > wait {
		t.Fatalf("read returned after %v, want about 100ms", d)
	}
}

func testConcurrentAppenders(t *testing.T, h *harness) {
	in := h.start(t)
	const appenders, calls, per = 16, 40, 5
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for g := range appenders {
		wg.Go(func() {
			key := fmt.Sprintf("app-%d", g)
			for c := range calls {
				vs := make([][]byte, per)
				for i := range vs {
					vs[i] = fmt.Appendf(nil, "%d/%d", g, c*per+i)
				}
				if err := in.log.Append(context.Background(), key, vs); err != nil {
					errs <- fmt.Errorf("appender %d call %d: %w", g, c, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readN(t, in.reader, appenders*calls*per, 500)
	checkOffsets(t, got)
	next := make([]int, appenders)
	for i, r := range got {
		var g, seq int
		if _, err := fmt.Sscanf(string(r.Value), "%d/%d", &g, &seq); err != nil || g < 0 || g >= appenders {
			t.Fatalf("record %d: unexpected value %q", i, r.Value)
		}
		if r.Key != fmt.Sprintf("app-%d", g) {
			t.Fatalf("record %d: key %q for appender %d", i, r.Key, g)
		}
		if seq != next[g] {
			t.Fatalf("record %d: appender %d's record %d where %d was due (lost, duplicated or reordered)", i, g, seq, next[g])
		}
		next[g]++
	}
	expectNone(t, in.reader)
}

func testCommitThenRestart(t *testing.T, h *harness) {
	in := h.start(t)
	want := values("c", 10)
	appendValues(t, in.log, "app-c", want...)
	got := readN(t, in.reader, 10, 100)
	checkRecords(t, got, "app-c", want)
	commit(t, in.reader, got[:4])
	in.stop(t)

	in = h.start(t)
	again := readN(t, in.reader, 6, 100)
	checkRecords(t, again, "app-c", want[4:])
	for i, r := range again {
		if r.Offset != got[4+i].Offset || r.Partition != got[4+i].Partition {
			t.Fatalf("record %d after restart at %d/%d, was %d/%d", i, r.Partition, r.Offset, got[4+i].Partition, got[4+i].Offset)
		}
	}
	expectNone(t, in.reader)

	appendValues(t, in.log, "app-c", []byte("after"))
	last := readN(t, in.reader, 1, 100)
	checkRecords(t, last, "app-c", [][]byte{[]byte("after")})
	if last[0].Partition == got[9].Partition && last[0].Offset <= got[9].Offset {
		t.Fatalf("append after restart got offset %d, not after %d", last[0].Offset, got[9].Offset)
	}
}

func testUncommittedDeliveredAgain(t *testing.T, h *harness) {
	in := h.start(t)
	want := values("u", 5)
	appendValues(t, in.log, "app-u", want...)
	got := readN(t, in.reader, 5, 100)
	in.stop(t)

	in = h.start(t)
	again := readN(t, in.reader, 5, 100)
	checkRecords(t, again, "app-u", want)
	for i := range again {
		if again[i].Offset != got[i].Offset || again[i].Partition != got[i].Partition {
			t.Fatalf("record %d delivered again at %d/%d, was %d/%d", i,
				again[i].Partition, again[i].Offset, got[i].Partition, got[i].Offset)
		}
	}
}

func testAppendAfterClose(t *testing.T, h *harness) {
	in := h.start(t)
	appendValues(t, in.log, "app-x", []byte("before"))
	in.stop(t)
	err := in.log.Append(context.Background(), "app-x", [][]byte{[]byte("after")})
	if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
		t.Fatalf("append after close: %v (code %q), want code %q", err, code, unmogrowp.EUNAVAILABLE)
	}
}

func testCloseWakesReader(t *testing.T, h *harness) {
	in := h.start(t)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
		defer cancel()
		_, err := in.reader.Read(ctx, 10)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	in.stop(t)
	select {
	case err := <-done:
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read blocked across close returned %v, want a close error", err)
		}
	case <-time.After(wait):
		t.Fatal("close did not wake a blocked read")
	}
}

func testLargeAndEmptyValues(t *testing.T, h *harness) {
	in := h.start(t)
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	want := [][]byte{big, {}, []byte("x"), bytes.Repeat([]byte{0}, 300), big[:1000]}
	appendValues(t, in.log, "app-l", want...)
	got := readN(t, in.reader, len(want), 100)
	checkRecords(t, got, "app-l", want)
	in.stop(t)

	in = h.start(t)
	checkRecords(t, readN(t, in.reader, len(want), 100), "app-l", want)
}

func testLag(t *testing.T, h *harness) {
	in := h.start(t)
	if n, age := in.reader.Lag(); n != 0 || age != 0 {
		t.Fatalf("lag of an empty log: %d records, %v", n, age)
	}
	appendValues(t, in.log, "app-g", values("g", 5)...)
	time.Sleep(50 * time.Millisecond)
	n, age := waitLag(t, in.reader, 5)
	if age < 40*time.Millisecond || age > time.Minute {
		t.Fatalf("lag age %v for records appended 50ms ago (%d records)", age, n)
	}
	got := readN(t, in.reader, 5, 100)
	commit(t, in.reader, got[:2])
	waitLag(t, in.reader, 3)
	commit(t, in.reader, got)
	if _, age := waitLag(t, in.reader, 0); age != 0 {
		t.Fatalf("lag age %v with everything committed", age)
	}
}

// waitLag waits until Lag reports want records (a distributed log may report it late).
func waitLag(t *testing.T, r unmogrowp.LogReader, want int64) (int64, time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		n, age := r.Lag()
		if n == want {
			return n, age
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag is %d records, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
