// Package wal is the embedded write-ahead log of UnMoGrowP: one partition of records in
// segment files on local disk, appended with group commit (one write and one fdatasync for
// every append queued meanwhile), read back in order, and deleted once committed and past
// retention. It implements unmogrowp.Log and unmogrowp.LogReader.
//
// On disk, dir holds the segment files, each named by the offset of its first record
// (00000000000000000000.wal), a commit file with the offset after the last committed
// record, and a LOCK file that keeps a second process out; a damaged newest segment that
// recovery salvaged is kept beside it as <segment>.damaged (damage.go), and a write that
// failed is retried through a scratch file, probe (writefail.go). See frame.go for the
// framing.
package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var (
	_ unmogrowp.Log       = (*WAL)(nil)
	_ unmogrowp.LogReader = (*WAL)(nil)
)

// Options tune a WAL. The zero value is usable.
type Options struct {
	// SegmentSize is the size at which the log starts a new segment file (default 64 MiB).
	// A record larger than it gets a segment of its own.
	SegmentSize int64

	// Retention is how long a segment is kept after its last record was appended, once
	// all its records are committed. 0 deletes it as soon as it is fully committed.
	// Segments are deleted on Commit and when the log starts a new segment.
	Retention time.Duration

	// MaxPendingBytes bounds the bytes waiting for the next group write; Append waits
	// while it is reached (default 16 MiB).
	MaxPendingBytes int

	// CacheBytes is how much of the most recently written log the reader serves from
	// memory instead of the files (default 16 MiB).
	CacheBytes int

	// Logger receives recovery notes and write failures (default: discard).
	Logger *slog.Logger

	// StallTimeout is how long the write and fdatasync of a batch may take before the log
	// counts its disk as stalled (default 5 s): then Health reports it, an Append waiting
	// longer than StallTimeout for its records returns EUNAVAILABLE (they may still be
	// stored once the disk answers), and new appends are refused until the write ends.
	StallTimeout time.Duration

	// fault, set by tests, is asked before each segment write and sync, segment creation
	// and probe write, and fails it when it returns an error; for a write it also returns
	// how many of the bytes to write first, as a disk that fills does.
	fault func(op faultOp, n int) (int, error)
}

func (o *Options) setDefaults() {
	if o.SegmentSize <= 0 {
		o.SegmentSize = 64 << 20
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = 16 << 20
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
}

// DefaultStallTimeout is Options.StallTimeout's default.
const DefaultStallTimeout = 5 * time.Second

// WAL is an open write-ahead log. Its methods are safe for concurrent use; calls to Read
// are served one at a time.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	mu        sync.Mutex
	work      *sync.Cond // signalled when pend gains records or the log closes
	space     *sync.Cond // broadcast when pend is taken by the writer
	closed    bool
	quit      chan struct{} // closed by Close: ends the writer's retries
	failed    error         // a write failed and is retried: appends are refused meanwhile
	writing   time.Time     // when the writer began the write under way; zero while idle
	watchdog  *time.Timer   // wakes appenders waiting for space once a write stalls
	writeErrs int64         // writes, syncs and probes that failed since Open
	lost      int64         // records Open found damaged in the newest segment
	damaged   []string      // copies of damaged segments that Open moved aside
	next      int64         // offset of the next record to append
	segFill   int64         // bytes of the newest segment, counting pending frames
	pend      batch         // frames waiting for the writer
	durable   int64         // offset after the last record known durable: readers see below
	notify    chan struct{}
	segs      []*segment // oldest first; the last one is being appended to
	committed int64      // offset after the last durably committed record
	marks     []mark     // append times of uncommitted records, for Lag

	stopped chan struct{} // closed when the writer goroutine returns
	active  *os.File      // newest segment, owned by the writer goroutine
	free    [][]byte      // spare batch buffers, owned by the writer goroutine

	cache cache
	rd    reader

	commitMu   sync.Mutex
	commitWant int64 // highest position asked of Commit; under mu
}

// batch is the frames of consecutive records that the writer writes and syncs together.
type batch struct {
	buf    []byte
	first  int64   // offset of the first record
	end    int64   // offset after the last record
	micros int64   // append time of the first record
	last   int64   // append time of the last record
	splits []split // where new segments start inside buf
	g      *group
}

// split is a point in a batch where a new segment file begins.
type split struct {
	pos  int   // byte position in the batch
	base int64 // offset of the first record of the new segment
}

// group is what the appenders of one batch wait on.
type group struct {
	done chan struct{}
	err  error
}

func newGroup() *group { return &group{done: make(chan struct{})} }

// mark is the append time of a record, kept for Lag at most every markEvery.
type mark struct {
	offset int64
	micros int64
}

const markEvery = 10 * time.Millisecond

// addMark records that the record at offset was appended at micros, if the last mark is
// older than markEvery. Called with mu held.
func (w *WAL) addMark(offset, micros int64) {
	if n := len(w.marks); n == 0 || micros-w.marks[n-1].micros >= markEvery.Microseconds() {
		w.marks = append(w.marks, mark{offset, micros})
	}
}

// Open opens the log in dir, creating dir if needed, and recovers it: a torn tail of the
// newest segment (damage that no valid frame follows) is logged and cut off; damage in the
// newest segment that valid frames follow is corruption, not a torn write: the segment is
// rewritten with every valid record, the lost offsets are marked skipped, the damaged file
// is kept beside it as <name>.damaged and the loss is logged as an error and reported in
// Status (see salvage). Damage in any older segment makes Open fail with an error naming
// the file. The reader starts after the last committed record.
//
// The directory is given as a URL, wal:relative/dir or wal:///absolute/dir, or as a bare
// path (unmogrowp.FilePath); another form is EINVALID. ctx is not used: recovery runs
// to its end.
func Open(ctx context.Context, rawURL string, opts Options) (*WAL, error) {
	dir, err := unmogrowp.FilePath("wal", rawURL)
	if err != nil {
		return nil, err
	}
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open wal: %s is in use by another process: %w", dir, err)
	}
	w := &WAL{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger.With("wal", dir),
		lock:    lock,
		notify:  make(chan struct{}),
		stopped: make(chan struct{}),
		quit:    make(chan struct{}),
	}
	w.work = sync.NewCond(&w.mu)
	w.space = sync.NewCond(&w.mu)
	w.watchdog = time.AfterFunc(time.Hour, w.space.Broadcast)
	w.watchdog.Stop()
	w.cache.max = opts.CacheBytes
	if err := w.recover(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open wal: %w", err)
	}
	os.Remove(filepath.Join(dir, probeName)) // left by a crash during a retry, if any
	w.pend.g = newGroup()
	w.commitWant = w.committed
	w.rd.next = w.committed
	w.rd.sem = make(chan struct{}, 1)
	go w.run()
	return w, nil
}

// recover reads the commit file and scans the segments, cutting a damaged tail off the
// newest one, then opens the newest segment for appending.
func (w *WAL) recover() error {
	committed, err := readCommit(w.dir)
	if err != nil {
		return err
	}
	segs, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	next := int64(-1)
	for i, s := range segs {
		if next >= 0 && s.base != next {
			if s.base < next {
				return fmt.Errorf("segment %s overlaps the one before it (which ends at offset %d)", s.path, next)
			}
			if s.base > committed {
				return fmt.Errorf("segment %s starts at offset %d but the segment before it ends at %d: records are missing", s.path, s.base, next)
			}
			// Allowed: the commit file was ahead of a cut tail (see below), and the
			// missing records were all processed.
			w.log.Warn("wal: offsets missing between segments, all committed", "from", next, "to", s.base, "segment", s.path)
		}
		if err := w.scan(s, committed, i == len(segs)-1); err != nil {
			return err
		}
		next = s.end
	}
	if next < 0 {
		next = 0
	}
	if committed > next {
		// The commit file is ahead of the log: records past the cut tail were processed
		// before they were lost. Their offsets are never reused; a new segment starts at
		// the committed position.
		w.log.Warn("wal: committed position is past the end of the log", "committed", committed, "end", next)
		if n := len(segs); n > 0 && segs[n-1].size == 0 {
			if err := os.Remove(segs[n-1].path); err != nil {
				return fmt.Errorf("remove empty segment: %w", err)
			}
			segs = segs[:n-1]
		}
		next = committed
	}
	if n := len(segs); n == 0 || segs[n-1].end != next {
		s := &segment{base: next, end: next, path: filepath.Join(w.dir, segmentName(next))}
		f, err := createSegment(s.path, w.dir)
		if err != nil {
			return err
		}
		segs = append(segs, s)
		w.active = f
	} else {
		f, err := os.OpenFile(segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("open segment: %w", err)
		}
		w.active = f
	}
	w.segs = segs
	w.next, w.durable = next, next
	w.committed = committed
	w.segFill = segs[len(segs)-1].size
	return nil
}

// scan reads every frame of s, checking each one's checksum and offset. In the newest
// segment a damaged or torn tail is logged and cut off; elsewhere it is an error.
func (w *WAL) scan(s *segment, committed int64, newest bool) error {
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat segment: %w", err)
	}
	r := newSegReader(f, info.Size())
	for {
		at := r.pos() // where the frame begins: a frame with a wrong offset is read whole
		fr, err := r.next()
		if err == io.EOF {
			break
		}
		if err == nil && fr.offset != s.end {
			err = fmt.Errorf("offset %d where %d was expected", fr.offset, s.end)
		}
		if err != nil {
			if !newest || !isDamage(err) {
				return fmt.Errorf("segment %s is corrupt at byte %d: %w", s.path, at, err)
			}
			return w.salvage(s, f, at, committed, err)
		}
		w.scanned(s, fr, committed)
	}
	s.size = r.pos()
	return nil
}

// scanned adds a valid frame that recovery read from s, in order, to s and the Lag marks.
func (w *WAL) scanned(s *segment, fr frame, committed int64) {
	if end, ok := fr.skip(); ok {
		s.end = end
		return
	}
	if fr.offset >= committed {
		w.addMark(fr.offset, fr.micros)
	}
	s.end++
	s.lastTime = fr.micros
}

// isDamage tells a damaged frame from an I/O error.
func isDamage(err error) bool {
	var pe *os.PathError
	return !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF)
}

// createSegment creates a segment file and fsyncs dir so that it persists.
func createSegment(path, dir string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("create segment: %w", err)
	}
	return f, nil
}

// unavailable is the error of an append or read on a closed or failed log.
func unavailable(why string) error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The event log is %s.", why)
}

// Append stores values in order under key and returns nil once all of them are written
// and fdatasynced. Concurrent calls share one write and one sync. It returns an error
// with code EUNAVAILABLE after Close, when the write or sync of its records fails (none
// of them is then readable, now or after a restart: the log is cut back to its durable
// end before Append returns), while the log retries after such a failure (see
// Health), and when its records are not durable within Options.StallTimeout or a write
// under way has taken that long (a stalled disk: the records may then still be stored
// once it answers); EINVALID for a key over MaxKeyBytes, ETOOLARGE for a value over MaxValueBytes,
// and ctx.Err() if ctx is done first (the records may then still be stored).
func (w *WAL) Append(ctx context.Context, key string, values [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(key) > MaxKeyBytes {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Log key is over %d bytes.", MaxKeyBytes)
	}
	need := 0
	for _, v := range values {
		if len(v) > MaxValueBytes {
			return unmogrowp.Errorf(unmogrowp.ETOOLARGE, "Log record is over %d bytes.", MaxValueBytes)
		}
		need += frameSize(len(key), len(v))
	}
	now := time.Now().UnixMicro()
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return unavailable("closed")
		}
		if w.failed != nil {
			err := w.failed
			w.mu.Unlock()
			return unavailable(cannotWrite(err))
		}
		if w.stalled() {
			w.mu.Unlock()
			return w.stallError()
		}
		if len(w.pend.buf) == 0 || len(w.pend.buf)+need <= w.opts.MaxPendingBytes {
			break
		}
		w.space.Wait()
	}
	if len(values) == 0 {
		w.mu.Unlock()
		return nil
	}
	b := &w.pend
	if len(b.buf) == 0 {
		b.first, b.micros = w.next, now
	}
	for _, v := range values {
		n := int64(frameSize(len(key), len(v)))
		if w.segFill > 0 && w.segFill+n > w.opts.SegmentSize {
			b.splits = append(b.splits, split{pos: len(b.buf), base: w.next})
			w.segFill = 0
		}
		b.buf = appendFrame(b.buf, w.next, now, key, v)
		w.next++
		w.segFill += n
	}
	b.end, b.last = w.next, now
	g := b.g
	w.work.Signal()
	w.mu.Unlock()
	stall := time.NewTimer(w.opts.StallTimeout)
	defer stall.Stop()
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	case <-stall.C:
		return w.stallError()
	}
}

// stalled tells whether the write under way has taken StallTimeout or more. Called with mu
// held.
func (w *WAL) stalled() bool {
	return !w.writing.IsZero() && time.Since(w.writing) >= w.opts.StallTimeout
}

// stallError is the error of an append refused or given up on because the disk stalls.
func (w *WAL) stallError() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
		"The event log's disk has not finished a write within %s; retry later.", w.opts.StallTimeout)
}

// run is the writer goroutine: it takes everything pending, writes it with one write call
// per segment, syncs, publishes it to readers and wakes its appenders.
func (w *WAL) run() {
	defer close(w.stopped)
	for {
		w.mu.Lock()
		for len(w.pend.buf) == 0 && !w.closed {
			w.work.Wait()
		}
		if len(w.pend.buf) == 0 {
			w.mu.Unlock()
			return
		}
		b := w.pend
		w.pend = batch{buf: w.spare(), g: newGroup()}
		w.writing = time.Now()
		w.mu.Unlock()
		w.space.Broadcast()
		w.watchdog.Reset(w.opts.StallTimeout)

		sealed, err := w.write(&b)
		w.watchdog.Stop()
		if err != nil {
			w.mu.Lock()
			w.writing = time.Time{}
			w.mu.Unlock()
			w.fail(&b, sealed, err)
			continue
		}
		w.cache.add(&chunk{first: b.first, end: b.end, data: b.buf}, &w.free)
		w.mu.Lock()
		w.publish(&b, sealed)
		w.mu.Unlock()
		close(b.g.done)
		if len(sealed) > 0 {
			w.deleteOld()
		}
	}
}

// spare returns an empty batch buffer, reusing one when it can.
func (w *WAL) spare() []byte {
	if n := len(w.free); n > 0 {
		b := w.free[n-1]
		w.free = w.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 32<<10)
}

// write writes and syncs the batch, starting new segment files at its splits. Before a new
// segment file is created, the one before it is synced, so that only the newest segment
// can ever have a torn tail. It returns the new segments, also on failure (with the one
// whose creation failed): then fail removes them.
func (w *WAL) write(b *batch) ([]*segment, error) {
	var created []*segment
	pos := 0
	for _, sp := range b.splits {
		if err := w.writeAll(b.buf[pos:sp.pos]); err != nil {
			return created, err
		}
		if err := w.sync(); err != nil {
			return created, err
		}
		s := &segment{base: sp.base, end: sp.base, path: filepath.Join(w.dir, segmentName(sp.base))}
		created = append(created, s)
		if _, err := w.inject(opCreate, 0); err != nil {
			return created, fmt.Errorf("create segment: %w", err)
		}
		f, err := createSegment(s.path, w.dir)
		if err != nil {
			return created, err
		}
		if err := w.active.Close(); err != nil {
			w.log.Warn("wal: close segment", "err", err)
		}
		w.active = f
		pos = sp.pos
	}
	if err := w.writeAll(b.buf[pos:]); err != nil {
		return created, err
	}
	if err := w.sync(); err != nil {
		return created, err
	}
	return created, nil
}

// writeAll writes p at the end of the newest segment.
func (w *WAL) writeAll(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if n, err := w.inject(opWrite, len(p)); err != nil {
		w.active.Write(p[:n]) // what a filling disk takes before it fails
		return fmt.Errorf("write segment: %w", err)
	}
	if _, err := w.active.Write(p); err != nil {
		return fmt.Errorf("write segment: %w", err)
	}
	return nil
}

// sync fdatasyncs the newest segment.
func (w *WAL) sync() error {
	if _, err := w.inject(opSync, 0); err != nil {
		return fmt.Errorf("sync segment: %w", err)
	}
	if err := fdatasync(w.active); err != nil {
		return fmt.Errorf("sync segment: %w", err)
	}
	return nil
}

// publish makes a written batch visible: segment sizes and ends, the durable offset, the
// Lag marks, and a wake-up for waiting readers. Called with mu held.
func (w *WAL) publish(b *batch, created []*segment) {
	pos := 0
	cur := w.segs[len(w.segs)-1]
	for i, sp := range b.splits {
		cur.size += int64(sp.pos - pos)
		cur.end = sp.base
		cur.lastTime = b.last
		cur = created[i]
		w.segs = append(w.segs, cur)
		pos = sp.pos
	}
	cur.size += int64(len(b.buf) - pos)
	cur.end = b.end
	cur.lastTime = b.last
	w.addMark(b.first, b.micros)
	w.durable = b.end
	w.writing = time.Time{}
	close(w.notify)
	w.notify = make(chan struct{})
}

// Close waits for the pending appends to be written, then releases the log: appends
// after it fail with EUNAVAILABLE and blocked or later reads return an EUNAVAILABLE error.
// Calling it again returns nil.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.quit)
	w.work.Broadcast()
	w.space.Broadcast()
	w.mu.Unlock()
	<-w.stopped

	w.mu.Lock()
	close(w.notify)
	w.mu.Unlock()
	w.rd.acquire()
	w.rd.closeFile()
	w.rd.release()

	var errs []error
	if w.active != nil { // nil when a failed write could not be cut back
		if err := w.active.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close segment: %w", err))
		}
	}
	if err := w.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close lock file: %w", err))
	}
	return errors.Join(errs...)
}
