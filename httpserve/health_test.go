package httpserve

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestHealthStalledCheck checks that a check that never answers, even one that ignores
// its context (a stalled server behind a client without a deadline), fails alone as
// "timed out" within HealthCheckTimeout, and that the others still report their own
// results: each check runs concurrently under its own timeout.
func TestHealthStalledCheck(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	h := HealthHandler(map[string]func(context.Context) error{
		"stalled":  func(context.Context) error { <-block; return nil },
		"slow":     func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		"down":     func(context.Context) error { return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Redis is unavailable.") },
		"internal": func(context.Context) error { return errors.New("boom") },
		"fine":     func(context.Context) error { return nil },
	}, slog.New(slog.DiscardHandler))
	start := time.Now()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/health", nil))
	if took := time.Since(start); took > HealthCheckTimeout+time.Second {
		t.Errorf("/health took %s, want at most its %s timeout", took, HealthCheckTimeout)
	}
	var got struct {
		Status string            `json:"status"`
		Reason string            `json:"reason"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := map[string]string{"stalled": "timed out", "slow": "timed out", "down": "Redis is unavailable.", "internal": "unavailable", "fine": "ok"}
	for name, w := range want {
		if got.Checks[name] != w {
			t.Errorf("check %s: %q, want %q", name, got.Checks[name], w)
		}
	}
	if r := "down: Redis is unavailable.; internal: unavailable; slow: timed out; stalled: timed out"; got.Status != "degraded" || got.Reason != r {
		t.Errorf("status %q reason %q, want degraded and %q", got.Status, got.Reason, r)
	}
}
