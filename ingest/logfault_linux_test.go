package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/wal"
)

// TestBatchAnsweredUnavailableIsNotStored makes the log's segment file unable to grow in
// the middle of a batch of 100 events (a file size limit, RLIMIT_FSIZE: the write stops
// part way, as on a full disk). The batch is answered 503 "nothing was accepted", /health
// answers 503 degraded naming the log and why; once the file may grow again the listener
// takes events without a restart, and after the log is reopened it holds the events that
// were answered 200 and none of the batch answered 503.
func TestBatchAnsweredUnavailableIsNotStored(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d","event_id":"first"}`); r.Code != 200 {
		t.Fatalf("first event: %d %s", r.Code, r.Raw)
	}
	segs, err := filepath.Glob(filepath.Join(f.dir, "wal", "*.wal"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v %v", segs, err)
	}
	info, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(restore)
	limit := syscall.Rlimit{Cur: uint64(info.Size()) + 1500, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}

	batch := func(prefix string) string {
		var sb strings.Builder
		sb.WriteString(`{"events":[`)
		for i := range 100 {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"event_type":"purchase","device_id":"dev-%d","event_id":"%s-%d","revenue":1.5,"currency":"USD"}`, i, prefix, i)
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	wantError(t, f.sdk("/v1/events/batch", batch("refused")), 503, "nothing was accepted")
	h := f.do("GET", "/health", nil)
	reason, _ := h.Body["reason"].(string)
	if h.Code != 503 || h.Body["status"] != "degraded" || !strings.Contains(reason, "log: The event log is unable to write (file too large)") {
		t.Fatalf("health while the log cannot write: %d %s", h.Code, h.Raw)
	}

	restore()
	deadline := time.Now().Add(10 * time.Second)
	for f.do("GET", "/health", nil).Code != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("health still degraded 10 s after the log can write: %s", f.do("GET", "/health", nil).Raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := f.sdk("/v1/events/batch", batch("taken")); r.Code != 200 || r.Body["accepted"] != float64(100) {
		t.Fatalf("batch once the log can write: %d %s", r.Code, r.Raw)
	}

	f.log.Close()
	if f.log, err = wal.Open(context.Background(), filepath.Join(f.dir, "wal"), wal.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Close() })
	var refused, taken int
	for _, e := range f.logged() {
		switch {
		case strings.HasPrefix(e.EventID, "refused-"):
			refused++
		case strings.HasPrefix(e.EventID, "taken-"):
			taken++
		}
	}
	if refused != 0 || taken != 100 {
		t.Fatalf("after a restart the log holds %d events of the batch answered 503 and %d of the one answered 200, want 0 and 100", refused, taken)
	}
}
