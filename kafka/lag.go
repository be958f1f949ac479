package kafka

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tracker follows the partitions a Reader owns, for Commit (which partitions it may
// commit, from which offset on) and for Lag. It is the client's HookFetchRecordBuffered,
// so it sees every record the client fetches, before any Read returns it.
type tracker struct {
	topic string
	mu    sync.Mutex
	parts map[int32]*part // the partitions owned
}

// part is what the tracker knows of one owned partition.
type part struct {
	start int64  // offset of the first record not committed; -1 until known
	end   int64  // offset after the last record known to exist; -1 until known
	marks []mark // producer times of fetched records from about start on, oldest first
}

// mark is the producer timestamp of the record at offset; one is kept at most every
// markEvery of timestamps, so the age Lag reports is within markEvery.
type mark struct {
	offset int64
	micros int64
}

const markEvery = 10 * time.Millisecond

var _ kgo.HookFetchRecordBuffered = (*tracker)(nil)

// add starts tracking newly assigned partitions, their positions unknown until the
// first record fetched (fetching starts at the committed offset).
func (t *tracker) add(ps []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		t.parts[p] = &part{start: -1, end: -1}
	}
}

// remove stops tracking revoked or lost partitions.
func (t *tracker) remove(ps []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		delete(t.parts, p)
	}
}

// OnFetchRecordBuffered implements kgo.HookFetchRecordBuffered: a record of an owned
// partition was fetched.
func (t *tracker) OnFetchRecordBuffered(r *kgo.Record) {
	if r.Topic != t.topic {
		return
	}
	micros := r.Timestamp.UnixMicro()
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[r.Partition]
	if p == nil {
		return
	}
	if p.start < 0 {
		p.start = r.Offset
	}
	if r.Offset < p.start {
		return
	}
	p.end = max(p.end, r.Offset+1)
	n := len(p.marks)
	if n == 0 || r.Offset > p.marks[n-1].offset && abs(micros-p.marks[n-1].micros) >= markEvery.Microseconds() {
		p.marks = append(p.marks, mark{r.Offset, micros})
	}
}

// watermark records a partition's high watermark from a fetch Read returned.
func (t *tracker) watermark(partition int32, hwm int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.parts[partition]; p != nil && p.start >= 0 {
		p.end = max(p.end, hwm)
	}
}

// toCommit returns the offsets of want to commit: those of owned partitions that are
// past the committed offset. It also returns the partitions not owned.
func (t *tracker) toCommit(want map[int32]int64) (offsets map[int32]kgo.EpochOffset, notOwned []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	offsets = make(map[int32]kgo.EpochOffset, len(want))
	for partition, off := range want {
		p := t.parts[partition]
		switch {
		case p == nil:
			notOwned = append(notOwned, partition)
		case p.start < 0 || off > p.start:
			// Epoch -1: the log's records do not carry their leader epoch, so the
			// commit opts out of the client's truncation detection.
			offsets[partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	return offsets, notOwned
}

// committed moves the committed offsets of the partitions done to those in offsets.
func (t *tracker) committed(done []int32, offsets map[int32]kgo.EpochOffset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, partition := range done {
		p := t.parts[partition]
		if p == nil {
			continue
		}
		p.start = max(p.start, offsets[partition].Offset)
		p.end = max(p.end, p.start)
		i := 0
		for i+1 < len(p.marks) && p.marks[i+1].offset <= p.start {
			i++
		}
		p.marks = p.marks[i:]
		if p.start >= p.end {
			p.marks = p.marks[:0]
		}
	}
}

// lag sums the uncommitted records of the owned partitions and returns the age of the
// oldest producer timestamp among them.
func (t *tracker) lag() (int64, time.Duration) {
	t.mu.Lock()
	var n, oldest int64
	for _, p := range t.parts {
		if p.start < 0 || p.end <= p.start {
			continue
		}
		n += p.end - p.start
		if len(p.marks) > 0 && (oldest == 0 || p.marks[0].micros < oldest) {
			oldest = p.marks[0].micros
		}
	}
	t.mu.Unlock()
	if n == 0 || oldest == 0 {
		return n, 0
	}
	return n, max(time.Since(time.UnixMicro(oldest)), 0)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
