package redis_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/redis"
)

var _ ingest.Signatures = (*redis.Signatures)(nil)

// TestSignatures checks that a signed request is claimed once across processes, until its
// window ends, and that a released claim may be made again.
func TestSignatures(t *testing.T) {
	addr := server(t)
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	prefix := newPrefix(t, addr)
	opts := options(addr, prefix)
	opts.Now = c.Now
	a, err := redis.OpenSignatures(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := redis.OpenSignatures(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	check := func(name string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	ts := c.Now().Unix()
	mac, other := bytes.Repeat([]byte{0xab}, 32), bytes.Repeat([]byte{0xcd}, 32)
	expires := c.Now().Add(301 * time.Second)

	ok, err := a.Claim(ctx, "app1", ts, mac, expires)
	check("first claim", ok, err, true)
	ok, err = b.Claim(ctx, "app1", ts, mac, expires)
	check("the same request through another process", ok, err, false)
	ok, err = b.Claim(ctx, "app1", ts+1, mac, expires)
	check("another timestamp", ok, err, true)
	ok, err = b.Claim(ctx, "app1", ts, other, expires)
	check("another signature", ok, err, true)
	ok, err = b.Claim(ctx, "app2", ts, mac, expires)
	check("another app", ok, err, true)

	if err := a.Release(ctx, "app1", ts, mac); err != nil {
		t.Fatal(err)
	}
	ok, err = b.Claim(ctx, "app1", ts, mac, expires)
	check("claim after release", ok, err, true)

	// Each claim lives until the end of its window, no longer.
	keys := keysUnder(t, addr, prefix)
	if len(keys) != 4 {
		t.Errorf("%d keys, want 4: %q", len(keys), keys)
	}
	for _, key := range keys {
		if d := pttl(t, addr, key); d <= 290*time.Second || d > 301*time.Second {
			t.Errorf("claim %q has TTL %v, want about 301 s", key, d)
		}
	}

	b.Close()
	if _, err := b.Claim(ctx, "app1", ts, mac, expires); err == nil {
		t.Error("Claim after Close succeeded")
	}
}
