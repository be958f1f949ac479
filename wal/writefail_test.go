package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// disk fails the WAL's file operations while full is set, as a disk that filled or went
// bad does: a write of kind opWrite writes half its bytes and fails with ENOSPC; opSync
// fails the fdatasync with EIO after the write went through; opCreate fails the creation
// of a new segment with ENOSPC after the old one was written and synced. Probe writes fail
// while full, with the same error.
type disk struct {
	full atomic.Bool
	kind atomic.Int32 // a faultOp
}

func (d *disk) fault(op faultOp, n int) (int, error) {
	if !d.full.Load() {
		return 0, nil
	}
	kind := faultOp(d.kind.Load())
	err := syscall.ENOSPC
	if kind == opSync {
		err = syscall.EIO
	}
	switch {
	case op == opProbe || op == kind && op == opWrite:
		return n / 2, err
	case op == kind:
		return 0, err
	}
	return 0, nil
}

// waitWritable waits until the log's Health is nil again.
func waitWritable(t *testing.T, w *WAL) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.Health(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not take writes again within 10 s: %v", w.Health(context.Background()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// values returns n distinct values named after prefix.
func values(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%03d-%s", prefix, i, strings.Repeat("x", 80))
	}
	return out
}

// TestWriteFailureRecovers fails a batch of 100 records in each way a disk can (a write
// cut short by a full disk, a failed fdatasync, a failed segment creation in the middle of
// the batch): the append fails with EUNAVAILABLE, Health and Status say the log cannot
// write and why, appends are refused while the disk stays full, and once it is not the log
// takes appends again by itself. None of the failed batch's records is ever read, before
// or after a reopen, and every acknowledged one is, at dense offsets.
func TestWriteFailureRecovers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kind   faultOp
		reason string
	}{
		{"PartialWrite", opWrite, "no space left on device"},
		{"FailedSync", opSync, "input/output error"},
		{"FailedSegmentCreation", opCreate, "no space left on device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			d := &disk{}
			d.kind.Store(int32(tt.kind))
			opts := Options{SegmentSize: 4 << 10, fault: d.fault}
			w := openWAL(t, dir, opts)
			var acked [][]byte
			before := values("before", 30)
			if err := w.Append(ctx, "app", before); err != nil {
				t.Fatal(err)
			}
			acked = append(acked, before...)

			d.full.Store(true)
			err := w.Append(ctx, "app", values("failed", 100))
			if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
				t.Fatalf("append on a failing disk: %v, want EUNAVAILABLE", err)
			}
			herr := w.Health(ctx)
			if unmogrowp.ErrorCode(herr) != unmogrowp.EUNAVAILABLE || !strings.Contains(unmogrowp.ErrorMessage(herr), tt.reason) {
				t.Fatalf("Health while the disk is failing: %v, want EUNAVAILABLE naming %q", herr, tt.reason)
			}
			if st := w.Status(); st.Writable || st.WriteErrors == 0 {
				t.Fatalf("Status while the disk is failing: %+v", st)
			}
			if err := w.Append(ctx, "app", values("refused", 5)); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
				t.Fatalf("append while the disk is still failing: %v, want EUNAVAILABLE", err)
			}
			if got := readAll(t, w); len(got) != len(before) {
				t.Fatalf("read %d records while failing, want the %d acknowledged", len(got), len(before))
			}

			d.full.Store(false)
			checkWritesAgain(t, w, dir, acked, len(before))
		})
	}
}

// checkWritesAgain waits until w takes appends again and appends more records. w must then
// hold exactly acked and them, from offset from on, and the log reopened from dir all of
// them.
func checkWritesAgain(t *testing.T, w *WAL, dir string, acked [][]byte, from int) {
	t.Helper()
	waitWritable(t, w)
	if st := w.Status(); !st.Writable {
		t.Fatalf("Status after recovery: %+v", st)
	}
	after := values("after", 100)
	if err := w.Append(context.Background(), "app", after); err != nil {
		t.Fatalf("append after the disk recovered: %v", err)
	}
	acked = append(acked, after...)
	checkExactly(t, readAll(t, w), acked, from)
	w.Close()
	w = openWAL(t, dir, Options{})
	checkExactly(t, readAll(t, w), acked, 0)
}

// checkExactly checks that got is want[from:] at offsets from on.
func checkExactly(t *testing.T, got []unmogrowp.Record, want [][]byte, from int) {
	t.Helper()
	if len(got) != len(want)-from {
		t.Fatalf("read %d records, want %d", len(got), len(want)-from)
	}
	for i, r := range got {
		if r.Offset != int64(from+i) || string(r.Value) != string(want[from+i]) {
			t.Fatalf("record %d is %q at offset %d, want %q at %d", i, r.Value, r.Offset, want[from+i], from+i)
		}
	}
}

// TestWriteFailuresUnderConcurrentAppends has eight appenders append numbered batches while
// the disk fails and recovers, in every way, many times. In the end, before and after a
// reopen, the log holds exactly the records of the appends that returned nil, each once,
// at dense offsets: a failed append is never partly stored, and the offsets given out again
// after a failure are not read twice.
func TestWriteFailuresUnderConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := &disk{}
	w := openWAL(t, dir, Options{SegmentSize: 8 << 10, fault: d.fault})
	var mu sync.Mutex
	acked := map[string]bool{}
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				vals := values(fmt.Sprintf("g%d-b%d", g, b), 1+b%40)
				if err := w.Append(ctx, "app", vals); err != nil {
					if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
						t.Errorf("append: %v", err)
					}
					failed.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, v := range vals {
					acked[string(v)] = true
				}
				mu.Unlock()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 12 {
		time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
		d.kind.Store(int32([]faultOp{opWrite, opSync, opCreate}[rng.IntN(3)]))
		d.full.Store(true)
		time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
		d.full.Store(false)
		waitWritable(t, w)
	}
	close(stop)
	wg.Wait()
	if failed.Load() == 0 {
		t.Fatal("no append failed")
	}
	check := func(got []unmogrowp.Record) {
		t.Helper()
		seen := map[string]bool{}
		for i, r := range got {
			if r.Offset != int64(i) {
				t.Fatalf("record %d at offset %d", i, r.Offset)
			}
			if !acked[string(r.Value)] || seen[string(r.Value)] {
				t.Fatalf("record %q at offset %d was not acknowledged, or is there twice", r.Value, r.Offset)
			}
			seen[string(r.Value)] = true
		}
		if len(seen) != len(acked) {
			t.Fatalf("read %d of the %d acknowledged records", len(seen), len(acked))
		}
	}
	check(readAll(t, w))
	w.Close()
	w = openWAL(t, dir, Options{SegmentSize: 8 << 10})
	check(readAll(t, w))
	t.Logf("%d records acknowledged, %d appends failed, %d segments", len(acked), failed.Load(), len(segmentFiles(t, dir)))
}
