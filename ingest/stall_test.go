package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// stalledApps is an app store whose server accepts requests and never answers: each call
// waits until its context ends, as a database client does on a stalled connection.
type stalledApps struct{ unmogrowp.AppStore }

func (stalledApps) AppByKey(ctx context.Context, _ string, _ unmogrowp.KeyKind) (*unmogrowp.App, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestStalledAppStore checks that a request whose app store stalls is answered 503 with
// Retry-After once StoreTimeout has passed, instead of waiting for the store, and that
// the log is left untouched.
func TestStalledAppStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.srv = New(Config{Log: f.log, Apps: stalledApps{f.meta}, Links: f.meta, Registry: prometheus.NewRegistry(), StoreTimeout: 300 * time.Millisecond})
	start := time.Now()
	r := f.sdk("/v1/events", `{"event_type":"session","device_id":"d"}`)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %s, want about the 300 ms StoreTimeout", took)
	}
	wantError(t, r, 503, "retry later")
	if got := f.records(); len(got) != 0 {
		t.Errorf("the log has %d records, want none", len(got))
	}
}
