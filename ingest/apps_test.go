package ingest

import (
	"context"
	"testing"
	"time"
)

// TestRotatedServerKey checks the app cache's contract: a rotated server key keeps working
// for at most AppCacheTTL (5 s) on a listener that was not told, and stops at once on one
// that was (ForgetApp, which the API calls in the same process).
func TestRotatedServerKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	send := func(key string) response {
		t.Helper()
		return f.do("POST", "/v1/events", []byte(`{"event_type":"session","device_id":"d"}`), "X-Api-Key", key)
	}
	rotate := func() string {
		t.Helper()
		key, err := f.meta.RotateServerKey(context.Background(), f.app.ID)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	first := f.keys.ServerKey
	if r := send(first); r.Code != 200 {
		t.Fatalf("first key: %d %s", r.Code, r.Raw)
	}

	// Not told: the cached key works until the cache time ends, no longer.
	second := rotate()
	f.now = f.now.Add(4 * time.Second)
	if r := send(first); r.Code != 200 {
		t.Fatalf("rotated key within the cache time: %d %s", r.Code, r.Raw)
	}
	f.now = f.now.Add(time.Second)
	wantError(t, send(first), 401, "Unknown app key")
	if r := send(second); r.Code != 200 {
		t.Fatalf("second key: %d %s", r.Code, r.Raw)
	}

	// Told: at once.
	third := rotate()
	f.srv.ForgetApp(f.app.ID)
	wantError(t, send(second), 401, "Unknown app key")
	if r := send(third); r.Code != 200 {
		t.Fatalf("third key: %d %s", r.Code, r.Raw)
	}
	if got := f.logged(); len(got) != 4 {
		t.Fatalf("logged %d events, want 4", len(got))
	}
}
