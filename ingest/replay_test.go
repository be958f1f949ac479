package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/redis"
)

// signed sends body to /v1/events/batch with the SDK key, X-Timestamp ts and the signature
// sig, and the headers.
func (f *fixture) signed(body []byte, ts int64, sig string, headers ...string) response {
	f.t.Helper()
	return f.do("POST", "/v1/events/batch", body, append([]string{"X-App-Key", f.app.SDKKey,
		"X-Timestamp", strconv.FormatInt(ts, 10), "X-Signature", sig}, headers...)...)
}

// TestSignatureOverGzip checks that the signature covers the body as sent (API.md: "the
// raw body"), compressed when Content-Encoding is gzip, not what it inflates to.
func TestSignatureOverGzip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true })
	plain := []byte(`[{"event_type":"session","device_id":"d"},{"event_type":"session","device_id":"e"}]`)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain)
	zw.Close()
	ts := f.now.Unix()
	wantError(t, f.signed(zipped.Bytes(), ts, Sign(f.app.SigningSecret, ts, plain), "Content-Encoding", "gzip"), 401, "does not match")
	if r := f.signed(zipped.Bytes(), ts, Sign(f.app.SigningSecret, ts, zipped.Bytes()), "Content-Encoding", "gzip"); r.Code != 200 || r.Body["accepted"] != 2.0 {
		t.Fatalf("signed over the gzip bytes: %d %s", r.Code, r.Raw)
	}
	// Bytes after the gzip stream are part of what was sent, so of what is signed.
	tail := append(bytes.Clone(zipped.Bytes()), "garbage"...)
	wantError(t, f.signed(tail, ts+1, Sign(f.app.SigningSecret, ts+1, zipped.Bytes()), "Content-Encoding", "gzip"), 400, "")
	if r := f.signed(plain, ts, Sign(f.app.SigningSecret, ts, plain)); r.Code != 200 {
		t.Fatalf("signed without encoding: %d %s", r.Code, r.Raw)
	}
	if got := f.logged(); len(got) != 4 {
		t.Fatalf("logged %d events, want 4", len(got))
	}
}

// TestSignatureReplay checks that a signed request is accepted once within its window:
// the same (key, X-Timestamp, X-Signature) again is a 401, a request refused with nothing
// accepted may be sent again as it is, and the cache forgets a second once its window ends.
func TestSignatureReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true; s.RateLimitPerSecond = 2 })
	body := []byte(`[{"event_type":"session","device_id":"d"}]`)
	ts := f.now.Unix()
	sig := Sign(f.app.SigningSecret, ts, body)
	if r := f.signed(body, ts, sig); r.Code != 200 {
		t.Fatalf("first: %d %s", r.Code, r.Raw)
	}
	wantError(t, f.signed(body, ts, sig), 401, "received already")
	f.now = f.now.Add(200 * time.Second)
	wantError(t, f.signed(body, ts, sig), 401, "received already")
	// The same body signed at another second is another request.
	if r := f.signed(body, ts+1, Sign(f.app.SigningSecret, ts+1, body)); r.Code != 200 {
		t.Fatalf("signed anew: %d %s", r.Code, r.Raw)
	}

	// A request refused by the rate limit took nothing: it may be sent again as it is.
	two := []byte(`[{"event_type":"session","device_id":"d"},{"event_type":"session","device_id":"e"}]`)
	ts2 := f.now.Unix()
	sig2 := Sign(f.app.SigningSecret, ts2, two)
	wantError(t, f.signed(two, ts2, sig2), 429, "rate limit")
	f.now = f.now.Add(time.Second)
	if r := f.signed(two, ts2, sig2); r.Code != 200 {
		t.Fatalf("sent again after a 429: %d %s", r.Code, r.Raw)
	}
	wantError(t, f.signed(two, ts2, sig2), 401, "received already")

	// Past the window the timestamp is stale, and the cache has let its second go.
	f.now = f.now.Add(400 * time.Second)
	wantError(t, f.signed(body, ts, sig), 401, "300 seconds")
	if r := f.signed(body, f.now.Unix(), Sign(f.app.SigningSecret, f.now.Unix(), body)); r.Code != 200 {
		t.Fatalf("a fresh request: %d %s", r.Code, r.Raw)
	}
	if n := f.srv.replays.n; n != 1 {
		t.Errorf("the cache holds %d signatures, want only the fresh one", n)
	}
	if got := f.logged(); len(got) != 5 {
		t.Fatalf("logged %d events, want 5", len(got))
	}
}

// TestReplayCacheBound checks that the in-process cache holds at most its bound, forgetting
// the oldest seconds first.
func TestReplayCacheBound(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	c := newReplayCache(func() time.Time { return now }, 4)
	claim := func(ts int64, mac byte) bool {
		t.Helper()
		ok, err := c.Claim(context.Background(), "app", ts, []byte{mac}, time.Unix(ts+301, 0))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i, ts := range []int64{102, 102, 101, 100} {
		if !claim(now.Unix()-ts, byte(i)) {
			t.Fatalf("claim %d refused", i)
		}
	}
	if claim(now.Unix()-102, 0) {
		t.Fatal("a replay within the bound was accepted")
	}
	if !claim(now.Unix(), 9) { // full: the oldest second (two claims) goes
		t.Fatal("a new claim was refused")
	}
	if c.n != 3 || len(c.bySec) != 3 {
		t.Fatalf("%d claims in %d seconds, want 3 in 3", c.n, len(c.bySec))
	}
	if !claim(now.Unix()-102, 0) {
		t.Fatal("the forgotten oldest second still refuses")
	}
	if claim(now.Unix()-101, 2) || claim(now.Unix(), 9) {
		t.Fatal("newer seconds were forgotten")
	}
}

// TestSharedSignatures gives two ingestion servers one Redis signature cache: a request
// accepted by one is a replay for the other. With Redis away, each falls back to its own
// cache.
func TestSharedSignatures(t *testing.T) {
	t.Parallel()
	addr := testenv.Server(t, testenv.RedisEnv, "apt-get install redis-server")
	prefix := fmt.Sprintf("unmogrowp-test:ingest-sig-%d:", time.Now().UnixNano())
	sigs, err := redis.OpenSignatures(context.Background(), "", redis.Options{Addr: addr, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sigs.Close() })
	a := newFixture(t, func(s *unmogrowp.AppSettings) { s.RequireSignature = true })
	a.srv = New(Config{Log: a.log, Apps: a.meta, Registry: prometheus.NewRegistry(), Signatures: sigs, Now: func() time.Time { return a.now }})
	b := &fixture{t: t, log: a.log, meta: a.meta, app: a.app, keys: a.keys, remote: a.remote, now: a.now}
	b.srv = New(Config{Log: a.log, Apps: a.meta, Registry: prometheus.NewRegistry(), Signatures: sigs, Now: func() time.Time { return b.now }})
	// The time of the Redis TTLs is the real clock: sign at it.
	a.now, b.now = time.Now(), time.Now()
	body := []byte(`[{"event_type":"session","device_id":"d"}]`)
	ts := a.now.Unix()
	sig := Sign(a.app.SigningSecret, ts, body)
	if r := a.signed(body, ts, sig); r.Code != 200 {
		t.Fatalf("first server: %d %s", r.Code, r.Raw)
	}
	wantError(t, b.signed(body, ts, sig), 401, "received already")

	sigs.Close() // unreachable from now on
	ts++
	sig = Sign(a.app.SigningSecret, ts, body)
	if r := a.signed(body, ts, sig); r.Code != 200 {
		t.Fatalf("with Redis away: %d %s, want the request accepted", r.Code, r.Raw)
	}
	wantError(t, a.signed(body, ts, sig), 401, "received already")
}
