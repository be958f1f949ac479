package wal

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// reader is the read position of the log and what serves it: the recently written
// batches in memory, else a buffered segment file.
type reader struct {
	sem  chan struct{} // held by the one Read in progress
	next int64         // offset of the next record to return

	seg    *segment   // segment open for reading
	f      *os.File   //
	sr     *segReader //
	srNext int64      // offset of the frame sr returns next

	hint     *chunk // cache chunk of the last cached read, and where it stopped
	hintPos  int    //
	hintNext int64  //

	lastKey string // reused while keys repeat, to save an allocation per record

	values slab // where Read copies the values it returns
}

func (r *reader) acquire() { r.sem <- struct{}{} }
func (r *reader) release() { <-r.sem }

func (r *reader) closeFile() {
	if r.f != nil {
		r.f.Close()
	}
	r.seg, r.f, r.sr = nil, nil, nil
}

// record copies a frame into a Record.
func (r *reader) record(f frame, s *slab) unmogrowp.Record {
	if string(f.key) != r.lastKey {
		r.lastKey = string(f.key)
	}
	return unmogrowp.Record{Partition: 0, Offset: f.offset, Key: r.lastKey, Value: s.copy(f.value)}
}

// slab hands out copies of values from shared blocks: one allocation for many records.
// Once recycle has been called, it keeps the blocks it hands out until the next call,
// which makes them free, and copy takes free blocks before it allocates.
type slab struct {
	buf       []byte   // the block being filled
	recycling bool     // recycle has been called: used is kept
	used      [][]byte // the blocks values were copied to since the last recycle
	free      [][]byte // blocks whose values nobody reads, to fill again
}

const slabSize = 256 << 10

// maxFreeSlabs bounds the blocks a slab keeps free: enough for the values of a batch of
// 20,000 records of about 400 bytes, which `unmogrowp serve` reads at once.
const maxFreeSlabs = 48

func (s *slab) copy(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	if len(p) > cap(s.buf)-len(s.buf) {
		if len(p) >= slabSize/4 {
			return append([]byte(nil), p...)
		}
		if n := len(s.free); n > 0 {
			s.buf, s.free[n-1] = s.free[n-1], nil
			s.free = s.free[:n-1]
		} else {
			s.buf = make([]byte, 0, slabSize)
		}
		if s.recycling {
			s.used = append(s.used, s.buf)
		}
	}
	start := len(s.buf)
	s.buf = append(s.buf, p...)
	return s.buf[start:len(s.buf):len(s.buf)]
}

// recycle makes every block handed out free (up to maxFreeSlabs of them; the others are
// left to the garbage collector): the values copied so far are no longer read.
func (s *slab) recycle() {
	s.recycling = true
	for i, b := range s.used {
		if len(s.free) < maxFreeSlabs {
			s.free = append(s.free, b[:0])
		}
		s.used[i] = nil
	}
	s.used, s.buf = s.used[:0], nil
}

// chunk is one written batch kept in memory: the frames of records [first, end).
type chunk struct {
	first, end int64
	data       []byte
}

// cache holds the most recently written batches, in offset order and without gaps.
type cache struct {
	mu     sync.RWMutex
	chunks []*chunk
	bytes  int // capacity of the chunks' buffers
	max    int
}

// add appends a written batch and evicts the oldest ones past the size limit, handing a
// few of their buffers to free for reuse. Called by the writer goroutine only.
func (c *cache) add(ch *chunk, free *[][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chunks = append(c.chunks, ch)
	c.bytes += cap(ch.data)
	for c.bytes > c.max && len(c.chunks) > 1 {
		old := c.chunks[0]
		c.chunks[0] = nil
		c.chunks = c.chunks[1:]
		c.bytes -= cap(old.data)
		if len(*free) < 4 {
			*free = append(*free, old.data[:0])
		}
	}
}

// first returns the offset of the first cached record, or MaxInt64 when there is none.
func (c *cache) first() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.chunks) == 0 {
		return math.MaxInt64
	}
	return c.chunks[0].first
}

// read appends to out the cached records from r.next on, below durable, up to max in
// all. It reports false, doing nothing, when r.next is not cached.
func (c *cache) read(r *reader, out []unmogrowp.Record, max int, durable int64, s *slab) ([]unmogrowp.Record, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.chunks)
	if n == 0 || r.next < c.chunks[0].first || r.next >= c.chunks[n-1].end {
		return out, false
	}
	i := sort.Search(n, func(i int) bool { return c.chunks[i].end > r.next })
	for ; i < n && len(out) < max && r.next < durable; i++ {
		ch := c.chunks[i]
		pos := 0
		if ch == r.hint && r.next == r.hintNext {
			pos = r.hintPos
		} else {
			for off := ch.first; off < r.next; off++ {
				l, _ := frameLen(ch.data[pos:])
				pos += l
			}
		}
		for pos < len(ch.data) && len(out) < max && r.next < durable {
			l, _ := frameLen(ch.data[pos:])
			out = append(out, r.record(parseFrame(ch.data[pos:pos+l]), s))
			pos += l
			r.next++
		}
		r.hint, r.hintPos, r.hintNext = ch, pos, r.next
	}
	return out, true
}

// Read waits until a record after the ones it returned before is durable, then returns up
// to max of them (max below 1 counts as 1). Their values are copies the caller may keep
// until it calls RecycleValues (values share backing arrays, within a call and across
// calls). A new WAL reads from the record after the last committed one. Read returns
// ctx.Err() when ctx is done first, an error with code EUNAVAILABLE once the log is
// closed, and an error if a segment file cannot be read.
func (w *WAL) Read(ctx context.Context, max int) ([]unmogrowp.Record, error) {
	if max < 1 {
		max = 1
	}
	select {
	case w.rd.sem <- struct{}{}:
	default:
		select {
		case w.rd.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer w.rd.release()
	for {
		out, err := w.read(ctx, max)
		if err != nil || len(out) > 0 {
			return out, err
		}
		// Every record up to the durable end was a skip frame: wait for more.
	}
}

// RecycleValues lets later Reads reuse the memory of the values of every record Read has
// returned so far: the caller no longer reads them, nor anything that shares their bytes.
// Without it, each Read's values are new memory for the garbage collector to reclaim.
// From its first call on, the log keeps the memory of the values it returns until the
// next call, so a caller that calls it calls it again once done with each batch. It waits
// for a Read in progress.
func (w *WAL) RecycleValues() {
	w.rd.acquire()
	defer w.rd.release()
	w.rd.values.recycle()
}

// read is Read with the reader held; it returns no records when the ones it reached were
// all lost to damage (skip frames).
func (w *WAL) read(ctx context.Context, max int) ([]unmogrowp.Record, error) {
	var durable int64
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return nil, unavailable("closed")
		}
		durable = w.durable
		ch := w.notify
		w.mu.Unlock()
		if w.rd.next < durable {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([]unmogrowp.Record, 0, min(int64(max), durable-w.rd.next))
	s := &w.rd.values
	for len(out) < max && w.rd.next < durable {
		var ok bool
		if out, ok = w.cache.read(&w.rd, out, max, durable, s); ok {
			continue
		}
		n, next := len(out), w.rd.next
		var err error
		out, err = w.readDisk(out, max, durable, s)
		if err == nil && len(out) == n && w.rd.next == next {
			err = fmt.Errorf("read wal: no progress at offset %d", next)
		}
		if err != nil {
			if len(out) > 0 {
				return out, nil
			}
			return nil, err
		}
	}
	return out, nil
}

// readDisk appends to out records read from the segment files, from w.rd.next on, until
// max, durable or the first cached record.
func (w *WAL) readDisk(out []unmogrowp.Record, max int, durable int64, s *slab) ([]unmogrowp.Record, error) {
	r := &w.rd
	stop := min(durable, w.cache.first())
	if r.sr == nil || r.srNext != r.next {
		if err := w.openAt(r.next); err != nil {
			return out, err
		}
	}
	for len(out) < max && r.next < stop {
		f, err := r.sr.next()
		if err == io.EOF {
			w.mu.Lock()
			size := r.seg.size
			w.mu.Unlock()
			if size > r.sr.limit {
				r.sr.limit = size
				continue
			}
			prev := r.seg
			if err := w.openAt(r.next); err != nil {
				return out, err
			}
			if r.seg == prev {
				return out, fmt.Errorf("read wal: segment %s ends before offset %d", prev.path, r.next)
			}
			continue
		}
		if err == nil && f.offset != r.next {
			err = fmt.Errorf("offset %d where %d was expected", f.offset, r.next)
		}
		if err != nil {
			path := r.seg.path
			r.closeFile()
			return out, fmt.Errorf("read wal segment %s: %w", path, err)
		}
		if end, ok := f.skip(); ok {
			w.log.Warn("wal: reader skips records lost to damage", "from", f.offset, "to", end)
			r.next, r.srNext = end, end
			continue
		}
		out = append(out, r.record(f, s))
		r.next++
		r.srNext++
	}
	return out, nil
}

// openAt opens the segment holding offset off and positions the reader at it. If the
// records from off on were deleted (committed past the read position) or are missing, it
// moves the read position to the first record there is.
func (w *WAL) openAt(off int64) error {
	r := &w.rd
	w.mu.Lock()
	var seg *segment
	for _, s := range w.segs {
		if s.end > off {
			seg = s
			break
		}
	}
	var size int64
	if seg != nil {
		size = seg.size
	}
	w.mu.Unlock()
	if seg == nil {
		return fmt.Errorf("read wal: no segment holds offset %d", off)
	}
	if seg.base > off {
		w.log.Warn("wal: records skipped by the reader are gone", "from", off, "to", seg.base)
		r.next, off = seg.base, seg.base
	}
	if r.seg != seg {
		r.closeFile()
		f, err := os.Open(seg.path)
		if err != nil {
			return fmt.Errorf("read wal: %w", err)
		}
		r.seg, r.f, r.sr = seg, f, newSegReader(f, size)
		r.srNext = seg.base
	}
	r.sr.limit = max(r.sr.limit, size)
	if r.srNext > off {
		r.sr.reset()
		r.srNext = seg.base
	}
	for r.srNext < off {
		f, err := r.sr.next()
		if err != nil {
			r.closeFile()
			return fmt.Errorf("read wal segment %s: %w", seg.path, err)
		}
		if end, ok := f.skip(); ok {
			r.srNext = end
		} else {
			r.srNext++
		}
	}
	if r.srNext > off { // off is one of the records lost to damage
		r.next = r.srNext
	}
	return nil
}

// Commit durably records that every record up to the highest offset of partition 0 in
// recs is processed: a new WAL starts reading after it, and segments whose records are
// all committed are deleted once older than Retention. Concurrent commits share one write
// of the commit file. It returns an error with code EUNAVAILABLE after Close and an error
// if the commit file cannot be written.
func (w *WAL) Commit(ctx context.Context, recs []unmogrowp.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	target := int64(-1)
	for i := range recs {
		if recs[i].Partition == 0 && recs[i].Offset+1 > target {
			target = recs[i].Offset + 1
		}
	}
	if target < 0 {
		return nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return unavailable("closed")
	}
	target = min(target, w.durable)
	w.commitWant = max(w.commitWant, target)
	w.mu.Unlock()

	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	w.mu.Lock()
	want, done := w.commitWant, w.committed
	w.mu.Unlock()
	if done >= target {
		w.deleteOld() // a segment may have aged past Retention since
		return nil
	}
	if err := writeCommit(w.dir, want); err != nil {
		return fmt.Errorf("commit wal: %w", err)
	}
	w.mu.Lock()
	w.committed = want
	if w.committed >= w.durable {
		w.marks = w.marks[:0]
	}
	for len(w.marks) > 1 && w.marks[1].offset <= w.committed {
		w.marks = w.marks[1:]
	}
	w.mu.Unlock()
	w.deleteOld()
	return nil
}

// deleteOld deletes the oldest segments whose records are all committed and whose last
// record is older than Retention; the newest segment always stays.
func (w *WAL) deleteOld() {
	now := time.Now().UnixMicro()
	w.mu.Lock()
	var doomed []*segment
	for len(w.segs) > 1 {
		s := w.segs[0]
		if s.end > w.committed || now-s.lastTime < w.opts.Retention.Microseconds() {
			break
		}
		doomed = append(doomed, s)
		w.segs[0] = nil
		w.segs = w.segs[1:]
	}
	w.mu.Unlock()
	for _, s := range doomed {
		if err := os.Remove(s.path); err != nil {
			w.log.Warn("wal: delete segment", "segment", s.path, "err", err)
		}
	}
}

// Lag returns how many durable records are not committed yet and roughly how long ago the
// oldest of them was appended (within markEvery); 0, 0 when all are committed.
func (w *WAL) Lag() (records int64, oldest time.Duration) {
	w.mu.Lock()
	n := w.durable - w.committed
	var micros int64
	if n > 0 && len(w.marks) > 0 {
		micros = w.marks[0].micros
	}
	w.mu.Unlock()
	if n <= 0 {
		return 0, 0
	}
	if micros == 0 {
		return n, 0
	}
	return n, max(time.Since(time.UnixMicro(micros)), 0)
}
