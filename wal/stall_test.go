package wal

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestStalledDiskAnswers stalls the log's fdatasync (a disk that takes bytes and never
// answers) while appends come: the append whose batch is being written, one queued behind
// it and one waiting for room in the pending bytes each return EUNAVAILABLE within
// StallTimeout instead of hanging, Health and Status say the disk stalls, and a new append
// is refused at once. Once the disk answers, the log takes appends again by itself, and it
// holds every acknowledged record once, a refused one never, and the ones given up on
// (which may still be stored) at most once.
func TestStalledDiskAnswers(t *testing.T) {
	ctx := context.Background()
	const stall = 300 * time.Millisecond
	release := make(chan struct{})
	var stalling sync.Once
	blocked := make(chan struct{})
	stallNow := make(chan struct{})
	fault := func(op faultOp, n int) (int, error) {
		select {
		case <-stallNow:
		default:
			return 0, nil
		}
		if op == opSync {
			stalling.Do(func() { close(blocked) })
			<-release
		}
		return 0, nil
	}
	w := openWAL(t, t.TempDir(), Options{StallTimeout: stall, MaxPendingBytes: 1 << 10, fault: fault})
	before := values("before", 10)
	if err := w.Append(ctx, "app", before); err != nil {
		t.Fatal(err)
	}
	close(stallNow)

	type answer struct {
		name string
		err  error
		took time.Duration
	}
	answers := make(chan answer, 3)
	appendAsync := func(name string, vals [][]byte) {
		go func() {
			start := time.Now()
			err := w.Append(ctx, "app", vals)
			answers <- answer{name, err, time.Since(start)}
		}()
	}
	appendAsync("written", values("written", 5))
	<-blocked
	appendAsync("queued", values("queued", 5))    // into the pending batch
	time.Sleep(20 * time.Millisecond)             // queued first, then:
	appendAsync("waiting", values("waiting", 20)) // over MaxPendingBytes: waits for room
	for range 3 {
		a := <-answers
		if unmogrowp.ErrorCode(a.err) != unmogrowp.EUNAVAILABLE || a.took > stall+200*time.Millisecond {
			t.Errorf("append %s on a stalled disk: %v after %s, want EUNAVAILABLE within %s", a.name, a.err, a.took, stall)
		}
	}
	herr := w.Health(ctx)
	if unmogrowp.ErrorCode(herr) != unmogrowp.EUNAVAILABLE || !strings.Contains(unmogrowp.ErrorMessage(herr), "has not finished a write") {
		t.Errorf("Health on a stalled disk: %v, want EUNAVAILABLE saying the disk stalls", herr)
	}
	if w.Status().Writable {
		t.Error("Status on a stalled disk: writable")
	}
	start := time.Now()
	if err := w.Append(ctx, "app", values("refused", 5)); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE || time.Since(start) > 50*time.Millisecond {
		t.Errorf("append while the disk stalls: %v after %s, want EUNAVAILABLE at once", err, time.Since(start))
	}

	close(release)
	waitWritable(t, w)
	after := values("after", 10)
	if err := w.Append(ctx, "app", after); err != nil {
		t.Fatalf("append once the disk answers: %v", err)
	}
	seen := map[string]int{}
	for _, r := range readAll(t, w) {
		seen[string(r.Value)]++
	}
	for _, v := range append(before, after...) {
		if seen[string(v)] != 1 {
			t.Errorf("acknowledged record %.12q read %d times, want once", v, seen[string(v)])
		}
	}
	for v, n := range seen {
		if strings.HasPrefix(v, "refused") || strings.HasPrefix(v, "waiting") || n > 1 {
			t.Errorf("record %.12q read %d times: refused, or twice", v, n)
		}
	}
}
