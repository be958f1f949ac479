package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// member is one consumer of the group in TestKilledConsumerPartitionsTakenOver: what it
// read, in order, and what of that it committed.
type member struct {
	mu        sync.Mutex
	read      []unmogrowp.Record
	committed []unmogrowp.Record
}

func (m *member) add(recs []unmogrowp.Record, committed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read = append(m.read, recs...)
	if committed {
		m.committed = append(m.committed, recs...)
	}
}

func (m *member) snapshot() (read, committed []unmogrowp.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]unmogrowp.Record(nil), m.read...), append([]unmogrowp.Record(nil), m.committed...)
}

type pos struct {
	partition int32
	offset    int64
}

// TestKilledConsumerPartitionsTakenOver runs two consumers of one group on four
// partitions. A reads and commits, B joins and takes half of the partitions, then A
// reads one more batch and is closed without committing it, as if killed after storing
// nothing. B must take A's partitions over from A's last commit and receive that batch
// again: every appended record is committed by one of them, and each app's records reach
// each consumer in order, without gaps.
func TestKilledConsumerPartitionsTakenOver(t *testing.T) {
	brokers := startCluster(t)
	const topic, group = "takeover", "takeover-group"
	ensureTopic(t, brokers, topic, 4)
	opts := testOptions(brokers, topic, group)
	l := openLog(t, opts)

	const apps, perApp, perCall = 8, 200, 20
	appendSeqs := func(from, to int) {
		t.Helper()
		for s := from; s < to; s += perCall {
			for a := range apps {
				vs := make([][]byte, perCall)
				for i := range vs {
					vs[i] = fmt.Appendf(nil, "%d/%d", a, s+i)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := l.Append(ctx, fmt.Sprintf("app-%d", a), vs)
				cancel()
				if err != nil {
					t.Fatalf("append: %v", err)
				}
			}
		}
	}
	appendSeqs(0, perApp/2)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var a, b member

	// A joins alone, so it owns all four partitions, and processes one batch.
	ra := openReader(t, opts)
	recs, err := ra.Read(ctx, 50)
	if err != nil {
		t.Fatalf("A: read: %v", err)
	}
	if err := ra.Commit(ctx, recs); err != nil {
		t.Fatalf("A: commit: %v", err)
	}
	a.add(recs, true)

	// B joins and processes everything it gets, committing after each batch.
	rb := openReader(t, opts)
	bctx, cancelB := context.WithCancel(ctx)
	bDone := make(chan error, 1)
	go func() {
		for {
			recs, err := rb.Read(bctx, 50)
			if err != nil {
				if bctx.Err() != nil {
					err = nil
				}
				bDone <- err
				return
			}
			if err := rb.Commit(bctx, recs); err != nil {
				bDone <- fmt.Errorf("B: commit: %w", err)
				return
			}
			b.add(recs, true)
		}
	}()
	var stopOnce sync.Once
	var stopErr error
	stopB := func() error {
		stopOnce.Do(func() { cancelB(); stopErr = <-bDone })
		return stopErr
	}
	defer stopB()
	start := time.Now()
	waitFor(t, 10*time.Second, "B to receive records after the rebalance", func() bool {
		read, _ := b.snapshot()
		return len(read) > 0
	})
	t.Logf("B joined and received records after %v", time.Since(start))

	// A reads one more batch from the partitions it kept, and is killed before it
	// commits: its client goes away without a commit.
	lost, err := ra.Read(ctx, 50)
	if err != nil || len(lost) == 0 {
		t.Fatalf("A: last read: %d records, %v", len(lost), err)
	}
	a.add(lost, false)
	if err := ra.Close(); err != nil {
		t.Fatalf("A: close: %v", err)
	}
	start = time.Now()
	appendSeqs(perApp/2, perApp)

	// Every record must end up committed by A or B, and A's lost batch read by B.
	waitFor(t, 20*time.Second, "every record to be committed", func() bool {
		_, ac := a.snapshot()
		_, bc := b.snapshot()
		seen := map[string]bool{}
		for _, r := range append(ac, bc...) {
			seen[string(r.Value)] = true
		}
		return len(seen) == apps*perApp
	})
	t.Logf("B took A's partitions over and committed the rest after %v", time.Since(start))
	if err := stopB(); err != nil {
		t.Fatal(err)
	}

	aRead, _ := a.snapshot()
	bRead, _ := b.snapshot()
	inB := map[pos]string{}
	for _, r := range bRead {
		inB[pos{r.Partition, r.Offset}] = string(r.Value)
	}
	for _, r := range lost {
		if v, ok := inB[pos{r.Partition, r.Offset}]; !ok || v != string(r.Value) {
			t.Fatalf("record %q at %d/%d, read by A and not committed, was not delivered to B", r.Value, r.Partition, r.Offset)
		}
	}
	checkNoGaps(t, "A", aRead)
	checkNoGaps(t, "B", bRead)
	t.Logf("A read %d records (%d lost uncommitted), B read %d; %d appended", len(aRead), len(lost), len(bRead), apps*perApp)
}

// checkNoGaps checks that within one consumer's stream each app's records come in order:
// each one the successor of the one before, or an earlier one (a replay after a
// rebalance), never skipping any.
func checkNoGaps(t *testing.T, who string, recs []unmogrowp.Record) {
	t.Helper()
	last := map[int]int{}
	for i, r := range recs {
		var app, seq int
		if _, err := fmt.Sscanf(string(r.Value), "%d/%d", &app, &seq); err != nil {
			t.Fatalf("%s: record %d: unexpected value %q", who, i, r.Value)
		}
		if prev, ok := last[app]; ok && seq > prev+1 {
			t.Fatalf("%s: record %d: app %d seq %d after %d: records skipped", who, i, app, seq, prev)
		}
		last[app] = seq
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCommitAfterRevokeSkipped has A read records of all four partitions, then lose two
// of them to B before it commits: the commit succeeds for the partitions A kept and
// skips, with a warning, those it lost, which B (and any later owner) reads from the
// start.
func TestCommitAfterRevokeSkipped(t *testing.T) {
	brokers := startCluster(t)
	const topic, group = "revoked", "revoked-group"
	ensureTopic(t, brokers, topic, 4)
	opts := testOptions(brokers, topic, group)
	l := openLog(t, opts)
	const apps, perApp = 8, 50
	for a := range apps {
		vs := make([][]byte, perApp)
		for i := range vs {
			vs[i] = fmt.Appendf(nil, "%d/%d", a, i)
		}
		if err := l.Append(context.Background(), fmt.Sprintf("app-%d", a), vs); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	total := apps * perApp

	var logs syncBuffer
	aOpts := opts
	aOpts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ra := openReader(t, aOpts)
	read := readUntil(t, ra, 10*time.Second, func(got []unmogrowp.Record) bool { return len(got) >= total })
	parts := map[int32]int{}
	for _, r := range read {
		parts[r.Partition]++
	}
	if len(parts) != 4 {
		t.Fatalf("A read from partitions %v, want all four", parts)
	}

	rb := openReader(t, opts)
	fromB := readUntil(t, rb, 10*time.Second, func(got []unmogrowp.Record) bool { return len(got) > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ra.Commit(ctx, read); err != nil {
		t.Fatalf("A: commit after losing partitions: %v", err)
	}
	if !strings.Contains(logs.String(), "no longer owns") {
		t.Fatalf("no warning about the skipped partitions; log:\n%s", logs.String())
	}

	// B owns the partitions A lost and committed nothing: a later owner reads them in
	// full, and nothing of the partitions A kept and committed.
	ra.Close()
	rb.Close()
	rc := openReader(t, opts)
	fromC := readUntil(t, rc, 10*time.Second, func(got []unmogrowp.Record) bool { return len(got) > 0 })
	fromC = append(fromC, readIdle(t, rc)...)
	cParts := map[int32]int{}
	for _, r := range fromC {
		cParts[r.Partition]++
	}
	for _, r := range fromB {
		if cParts[r.Partition] == 0 {
			t.Fatalf("partition %d, which A lost to B, was committed", r.Partition)
		}
	}
	for p, n := range cParts {
		if n != parts[p] {
			t.Fatalf("C read %d records of partition %d, want all %d (A did not commit it)", n, p, parts[p])
		}
	}
	if len(cParts) == 4 {
		t.Fatal("A's commit for the partitions it kept did not happen")
	}
}

// readIdle reads until no record arrives for half a second.
func readIdle(t *testing.T, r unmogrowp.LogReader) []unmogrowp.Record {
	t.Helper()
	var got []unmogrowp.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		recs, err := r.Read(ctx, 100)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got = append(got, recs...)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes, for captured logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
