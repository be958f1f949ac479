package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// What the log does when a write fails (a full disk, an I/O error):
//
//  1. Appends are refused at once with EUNAVAILABLE (Health says why), and the appends
//     queued behind the failed batch are failed without being written: their offsets
//     follow the failed batch's, which are given out again.
//  2. The log is cut back to its durable end: the segment files the failed write created
//     are removed and the newest durable segment is truncated to its durable size and
//     synced. A failed fdatasync leaves the page cache in an unknown state, so nothing
//     after the last successful sync is trusted. Only then are the failed batch's appenders
//     answered, so that an append answered with an error is never read back, even after a
//     crash (a crash before the cut leaves them unanswered, not answered wrongly).
//  3. A probe (as many bytes as the failed batch, at most probeMax, written to a scratch
//     file, synced and removed) is retried with backoff; once it succeeds the log takes
//     appends again.
//
// Steps 2 and 3 are retried with backoff from retryMin to retryMax until they succeed or
// the log is closed.
const (
	retryMin  = 50 * time.Millisecond
	retryMax  = 5 * time.Second
	probeMax  = 1 << 20
	probeName = "probe"
)

// faultOp is an operation a test's Options.fault may fail.
type faultOp int

const (
	opWrite  faultOp = iota // a write to the newest segment
	opSync                  // its fdatasync
	opCreate                // the creation of a new segment
	opProbe                 // a probe write after a failure
)

// inject asks the test's fault function, if any, whether op on n bytes fails, and how many
// bytes a failing write writes first.
func (w *WAL) inject(op faultOp, n int) (int, error) {
	if w.opts.fault == nil {
		return 0, nil
	}
	k, err := w.opts.fault(op, n)
	return min(max(k, 0), n), err
}

// fail handles the failed write of batch b, which created the segments in created: see the
// comment at the top of this file. It returns once appends are taken again or the log is
// closed.
func (w *WAL) fail(b *batch, created []*segment, err error) {
	start := time.Now()
	w.log.Error("wal: write failed; refusing appends until a write succeeds", "err", err)
	w.mu.Lock()
	w.failed = err
	w.writeErrs++
	queued := w.pend
	w.pend = batch{buf: w.spare(), g: newGroup()}
	w.next = w.durable
	w.segFill = w.segs[len(w.segs)-1].size
	w.mu.Unlock()
	w.space.Broadcast()
	queued.g.err = unavailable(cannotWrite(err))
	close(queued.g.done)
	w.free = append(w.free, queued.buf[:0])

	answer := func() {
		b.g.err = unavailable(cannotWrite(err))
		close(b.g.done)
		w.free = append(w.free, b.buf[:0])
	}
	wait := retryMin
	for {
		cerr := w.cutBack(created)
		if cerr == nil {
			break
		}
		w.log.Error("wal: cannot cut the failed write back; appends wait for it", "err", cerr)
		w.setFailed(cerr)
		if !w.sleep(&wait) {
			w.log.Error("wal: closed before a failed write was cut back: its records may be read after a restart", "err", cerr)
			answer()
			return
		}
	}
	answer()
	size := min(max(len(b.buf), 4<<10), probeMax)
	for {
		perr := w.probe(size)
		if perr == nil {
			break
		}
		w.setFailed(perr)
		if !w.sleep(&wait) {
			return
		}
	}
	w.mu.Lock()
	w.failed = nil
	w.mu.Unlock()
	w.log.Info("wal: writes succeed again; taking appends", "after", time.Since(start).Round(time.Millisecond))
}

// setFailed records a failed retry: err is why appends are refused now.
func (w *WAL) setFailed(err error) {
	w.mu.Lock()
	w.failed = err
	w.writeErrs++
	w.mu.Unlock()
}

// sleep waits *wait, then doubles it up to retryMax. It reports false if the log was
// closed meanwhile.
func (w *WAL) sleep(wait *time.Duration) bool {
	t := time.NewTimer(*wait)
	defer t.Stop()
	*wait = min(2**wait, retryMax)
	select {
	case <-t.C:
		return true
	case <-w.quit:
		return false
	}
}

// cutBack returns the files to the log's durable state after a failed write: it removes
// the segment files the write created and truncates the newest durable segment to its
// durable size, synced, then reopens it for appending.
func (w *WAL) cutBack(created []*segment) error {
	if w.active != nil {
		w.active.Close()
		w.active = nil
	}
	for _, s := range created {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove segment of the failed write: %w", err)
		}
	}
	if len(created) > 0 {
		if err := syncDir(w.dir); err != nil {
			return fmt.Errorf("remove segment of the failed write: %w", err)
		}
	}
	w.mu.Lock()
	last := w.segs[len(w.segs)-1]
	size := last.size
	w.mu.Unlock()
	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("reopen segment: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("cut segment back to %d bytes: %w", size, err)
	}
	if err := fdatasync(f); err != nil {
		f.Close()
		return fmt.Errorf("cut segment back to %d bytes: %w", size, err)
	}
	w.active = f
	return nil
}

// probe tells whether the log's directory takes writes again: it writes n bytes to a
// scratch file, syncs it and removes it.
func (w *WAL) probe(n int) error {
	path := filepath.Join(w.dir, probeName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	if k, ferr := w.inject(opProbe, n); ferr != nil {
		f.Write(make([]byte, k))
		err = ferr
	} else if _, err = f.Write(make([]byte, n)); err == nil {
		err = fdatasync(f)
	}
	f.Close()
	if rerr := os.Remove(path); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	return nil
}

// cannotWrite says why the log cannot write, in words fit for a client: the system's
// error (such as "no space left on device") without the file names.
func cannotWrite(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return "unable to write (" + errno.Error() + ")"
	}
	return "unable to write"
}

// Health returns nil while the log takes appends, and an error with code EUNAVAILABLE
// saying why not (its message names the system's error, such as "no space left on
// device") after Close, while a failed write is retried, and while a write has taken
// Options.StallTimeout or more (a disk that stalls). ctx is not used: Health does
// not block.
func (w *WAL) Health(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return unavailable("closed")
	case w.failed != nil:
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
			"The event log is %s; appends are refused until a retried write succeeds.", cannotWrite(w.failed))
	case w.stalled():
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
			"The event log's disk has not finished a write for %s; appends are refused until it does.", time.Since(w.writing).Round(time.Second))
	}
	return nil
}

// Status is what the log reports for its metrics.
type Status struct {
	Writable    bool     // appends are taken (false after Close, while a failed write is retried, and while a write stalls)
	WriteErrors int64    // writes, syncs and retries that failed since Open
	LostRecords int64    // records that Open found damaged in the newest segment and skipped
	Damaged     []string // copies of damaged segments that Open moved aside, never deleted
}

// Status returns the log's current status.
func (w *WAL) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Status{
		Writable: !w.closed && w.failed == nil && !w.stalled(), WriteErrors: w.writeErrs,
		LostRecords: w.lost, Damaged: append([]string(nil), w.damaged...),
	}
}
