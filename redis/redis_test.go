package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/redis"
)

var ctx = context.Background()

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// server returns the address of the test Redis, or skips t (fails it under
// UNMOGROWP_REQUIRE_INTEGRATION=1).
func server(t testing.TB) string {
	t.Helper()
	return testenv.Server(t, testenv.RedisEnv, "apt-get install redis-server")
}

// newPrefix returns a key prefix of t's own and deletes every key under it when t ends
// (SCAN and UNLINK; never FLUSHDB: other packages' tests share the server).
func newPrefix(t testing.TB, addr string) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "unmogrowp-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		c := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		flush := func() {
			if len(keys) > 0 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					t.Errorf("cleanup: unlink: %v", err)
				}
				keys = keys[:0]
			}
		}
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				flush()
			}
		}
		flush()
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup: scan %s*: %v", prefix, err)
		}
	})
	return prefix
}

// keysUnder returns the keys under prefix.
func keysUnder(t testing.TB, addr, prefix string) []string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer c.Close()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

// pttl returns the remaining time to live of key.
func pttl(t testing.TB, addr, key string) time.Duration {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer c.Close()
	d, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL %q: %v", key, err)
	}
	return d
}

func options(addr, prefix string) redis.Options {
	return redis.Options{Addr: addr, Prefix: prefix, Logger: quiet()}
}

func openHotState(t testing.TB, opts redis.Options) *redis.HotState {
	t.Helper()
	h, err := redis.Open(ctx, "", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return h
}

func openDedup(t testing.TB, opts redis.Options) *redis.Dedup {
	t.Helper()
	d, err := redis.OpenDedup(ctx, "", opts)
	if err != nil {
		t.Fatalf("OpenDedup: %v", err)
	}
	return d
}

func openLimiter(t testing.TB, opts redis.Options) *redis.RateLimiter {
	t.Helper()
	r, err := redis.OpenRateLimiter(ctx, "", opts)
	if err != nil {
		t.Fatalf("OpenRateLimiter: %v", err)
	}
	return r
}

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wantUnavailable fails unless err has the code EUNAVAILABLE.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
		t.Errorf("%s: err = %v (code %q), want EUNAVAILABLE", what, err, code)
	}
}

// proxy forwards TCP connections to a server until Close, which drops them all: the
// server seems to go away.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(s, c); s.Close() })
			p.wg.Go(func() { io.Copy(c, s); c.Close() })
		}
	})
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// blackhole accepts connections and never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOpenUnreachable(t *testing.T) {
	// No test server needed: these servers are not there.
	for _, tt := range []struct {
		name string
		addr string
	}{
		{"refused", closedPort(t)},
		{"silent", blackhole(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := redis.Options{Addr: tt.addr, Timeout: 200 * time.Millisecond, Prefix: "x:", Logger: quiet()}
			start := time.Now()
			_, err := redis.Open(ctx, "", opts)
			wantUnavailable(t, "Open", err)
			_, err = redis.OpenDedup(ctx, "", opts)
			wantUnavailable(t, "OpenDedup", err)
			_, err = redis.OpenRateLimiter(ctx, "", opts)
			wantUnavailable(t, "OpenRateLimiter", err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("three Opens took %v to fail", d)
			}
			// A context that ends first wins.
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if _, err := redis.Open(short, "", opts); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Open with a short context: err = %v", err)
			}
		})
	}
}

// TestServerGoesAway opens everything through a proxy, then drops it: every call fails
// with EUNAVAILABLE, within a short timeout.
func TestServerGoesAway(t *testing.T) {
	addr := server(t)
	p := startProxy(t, addr)
	opts := options(p.Addr(), newPrefix(t, addr))
	opts.Timeout = 300 * time.Millisecond
	h := openHotState(t, opts)
	defer h.Close()
	d := openDedup(t, opts)
	defer d.Close()
	r := openLimiter(t, opts)
	defer r.Close()
	tp := unmogrowp.Touchpoint{ID: "tp-1", AppID: "app1", Type: unmogrowp.TouchClick, MediaSource: "m",
		Time: time.Now().Add(-time.Hour), GAID: "38400000-8cf0-11bd-b23e-10b96e40000d"}
	if err := h.Apply(ctx, []unmogrowp.Touchpoint{tp}, nil); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	p.Close()
	start := time.Now()
	_, err := h.Candidates(ctx, "app1", []string{"tp:tp-1", "gaid:" + tp.GAID})
	wantUnavailable(t, "Candidates", err)
	_, _, err = h.Device(ctx, "app1", "dev")
	wantUnavailable(t, "Device", err)
	wantUnavailable(t, "Apply", h.Apply(ctx, []unmogrowp.Touchpoint{tp}, nil))
	_, err = d.Claim(ctx, []unmogrowp.Claim{{AppID: "app1", EventID: "e1", Time: time.Now()}})
	wantUnavailable(t, "Claim", err)
	_, err = r.Allow(ctx, "app1", 1, 10)
	wantUnavailable(t, "Allow", err)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("five calls took %v to fail", d)
	}
}

func TestClosed(t *testing.T) {
	addr := server(t)
	opts := options(addr, newPrefix(t, addr))
	h := openHotState(t, opts)
	d := openDedup(t, opts)
	r := openLimiter(t, opts)
	for _, c := range []io.Closer{h, d, r, h, d, r} { // twice: Close is idempotent
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	_, err := h.Candidates(ctx, "app1", []string{"tp:x"})
	wantUnavailable(t, "Candidates", err)
	_, _, err = h.Device(ctx, "app1", "dev")
	wantUnavailable(t, "Device", err)
	wantUnavailable(t, "Apply", h.Apply(ctx, nil, []unmogrowp.Install{{}}))
	_, err = d.Claim(ctx, []unmogrowp.Claim{{AppID: "app1", EventID: "e1"}})
	wantUnavailable(t, "Claim", err)
	_, err = r.Allow(ctx, "app1", 1, 10)
	wantUnavailable(t, "Allow", err)
}

// TestSharedClient checks that a caller's client is used as is and outlives Close.
func TestSharedClient(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer client.Close()
	opts := redis.Options{Client: client, Prefix: prefix, Logger: quiet()}
	h := openHotState(t, opts)
	d := openDedup(t, opts)
	in := unmogrowp.Install{Offset: 1, Attribution: unmogrowp.Attribution{AppID: "app1", DeviceID: "dev-1"}}
	if err := h.Apply(ctx, nil, []unmogrowp.Install{in}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	h.Close()
	if got, err := d.Claim(ctx, []unmogrowp.Claim{{AppID: "app1", EventID: "e1", Time: time.Now()}}); err != nil || !got[0] {
		t.Errorf("Claim after the hot state closed: %v, %v", got, err)
	}
	d.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v", err)
	}
	if n := len(keysUnder(t, addr, prefix)); n != 2 {
		t.Errorf("%d keys under the prefix, want 2 (a device, a dedup entry)", n)
	}
}
