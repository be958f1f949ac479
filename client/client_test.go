package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/client"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/wal"
)

// server is the real ingestion listener on a real WAL and SQLite metadata store, behind
// front, which sees every request first and may answer it itself.
type server struct {
	t         *testing.T
	url       string
	log       *wal.WAL
	serverKey string
	requests  atomic.Int64
	front     func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(dir, "metadata.db")), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	log, err := wal.Open(context.Background(), filepath.Join(dir, "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	app := &unmogrowp.App{Name: "Client", Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, log: log, serverKey: keys.ServerKey}
	h := ingest.New(ingest.Config{Log: log, Apps: meta, Links: meta, Registry: prometheus.NewRegistry()})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.front != nil {
			s.front(w, r, h)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// records returns the values of every record the log has so far, events and touchpoints.
func (s *server) records() (events []unmogrowp.Event, touches []unmogrowp.Touchpoint) {
	s.t.Helper()
	for {
		if n, _ := s.log.Lag(); n == 0 {
			return events, touches
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		recs, err := s.log.Read(ctx, 10000)
		cancel()
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range recs {
			var e unmogrowp.Event
			if unmogrowp.DecodeEventRecord(r.Value, &e) == nil {
				events = append(events, e)
				continue
			}
			var tp unmogrowp.Touchpoint
			if err := unmogrowp.DecodeTouchpointRecord(r.Value, &tp); err != nil {
				s.t.Fatalf("a record neither event nor touchpoint: %v", err)
			}
			touches = append(touches, tp)
		}
		if err := s.log.Commit(context.Background(), recs); err != nil {
			s.t.Fatal(err)
		}
	}
}

// TestBatchesAndClose sends 250 events and 3 touchpoints in batches of 100: Close sends
// them all in 4 requests, each event with its own id, the touchpoints by the server key.
func TestBatchesAndClose(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := client.New(client.Config{Endpoint: s.url, ServerKey: s.serverKey, BatchSize: 100, FlushInterval: time.Hour})
	ctx := context.Background()
	for i := range 250 {
		ev := client.Event{EventType: "purchase", DeviceID: "d1", Revenue: client.Float(1.5), Currency: "EUR", EventData: map[string]any{"i": i}}
		if err := c.Track(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := c.Touch(ctx, client.Touchpoint{Type: "click", MediaSource: "net", GAID: "g1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Track(ctx, client.Event{EventType: "x", DeviceID: "d"}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Track after Close: %v, want ErrClosed", err)
	}
	events, touches := s.records()
	ids := map[string]bool{}
	for _, e := range events {
		ids[e.EventID] = true
		if e.Revenue != 1.5 || e.Currency != "EUR" {
			t.Fatalf("event %+v", e)
		}
	}
	if len(events) != 250 || len(ids) != 250 || len(touches) != 3 || touches[0].MediaSource != "net" {
		t.Fatalf("logged %d events (%d ids) and %d touchpoints, want 250, 250, 3", len(events), len(ids), len(touches))
	}
	if n := s.requests.Load(); n != 4 {
		t.Fatalf("%d requests, want 4 (100, 100, 50 events, 3 touchpoints)", n)
	}
}

// TestRetriesKeepEventIDs loses the answers to the first two requests (the server took
// the events, then the connection broke): the client sends the same events again, with
// the same ids, which the pipeline then stores once. A 400 is not retried.
func TestRetriesKeepEventIDs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var n atomic.Int64
	s.front = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			panic(http.ErrAbortHandler) // the connection drops
		default:
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		}
	}
	var mu sync.Mutex
	var reported []string
	c := client.New(client.Config{Endpoint: s.url, ServerKey: s.serverKey, FlushInterval: time.Hour, MaxBackoff: 10 * time.Millisecond,
		OnError: func(err error) { mu.Lock(); reported = append(reported, err.Error()); mu.Unlock() }})
	ctx := context.Background()
	for range 3 {
		if err := c.Track(ctx, client.Event{EventType: "session", DeviceID: "d1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	events, _ := s.records()
	if len(events) != 9 {
		t.Fatalf("logged %d events, want 9 (3 events, sent 3 times)", len(events))
	}
	for i := range 3 {
		if events[i].EventID != events[i+3].EventID || events[i].EventID != events[i+6].EventID {
			t.Fatalf("event %d sent with ids %s, %s, %s: a retry must keep the id", i, events[i].EventID, events[i+3].EventID, events[i+6].EventID)
		}
	}
	if len(reported) != 0 {
		t.Fatalf("reported %v for a batch delivered at last", reported)
	}

	// An invalid event is refused by the server and reported, not retried.
	before := s.requests.Load()
	if err := c.Track(ctx, client.Event{EventType: "session"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.requests.Load() - before; got != 1 || len(reported) != 1 || !strings.Contains(reported[0], "device_id is required") {
		t.Fatalf("an invalid event: %d requests, reported %q; want 1 request and the server's reason", got, reported)
	}
}

// TestQueueBound fills the queue while the server holds the first request: Track drops
// with ErrQueueFull, or, with Block, waits until its context ends.
func TestQueueBound(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	release := make(chan struct{})
	s.front = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		<-release
		next.ServeHTTP(w, r)
	}
	ctx := context.Background()
	for _, block := range []bool{false, true} {
		c := client.New(client.Config{Endpoint: s.url, ServerKey: s.serverKey, BatchSize: 1, QueueSize: 2, Block: block})
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err = c.Track(tctx, client.Event{EventType: "session", DeviceID: "d1"})
			cancel()
		}
		want := client.ErrQueueFull
		if block {
			want = context.DeadlineExceeded
		}
		if !errors.Is(err, want) {
			t.Fatalf("block=%v: Track into a full queue: %v, want %v", block, err, want)
		}
		defer c.Close(ctx)
	}
	close(release)
}
