package metadata

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestStalledServer puts a fault-injecting proxy (toxiproxy) between a PostgreSQL store and
// its server and stalls it (connections stay open, bytes are accepted, nothing is answered)
// while more calls than the pool has connections wait on it, none with a deadline of its
// own: each fails with EUNAVAILABLE once the server has been silent for IOTimeout, rather
// than waiting for ever, and once the server answers again the store serves calls without
// a restart (the stalled connections were closed, not returned to the pool).
func TestStalledServer(t *testing.T) {
	t.Parallel()
	dbURL := testDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Skip("skipped: the test rewrites a postgres:// URL's host to its proxy")
	}
	proxy := toxiproxy.NewProxy(toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()), "postgres", "127.0.0.1:0", u.Host)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	u.Host = proxy.Listen
	const timeout = 500 * time.Millisecond
	db, err := Open(context.Background(), u.String()+"?pool_max_conns=4", Options{IOTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	lookup := func() error { _, err := db.App(context.Background(), "app_missing"); return err }
	if err := lookup(); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Fatalf("before the stall: %v, want ENOTFOUND", err)
	}

	for _, stream := range []string{"upstream", "downstream"} {
		body := `{"name":"stall_` + stream + `","type":"timeout","stream":"` + stream + `","attributes":{"timeout":0}}`
		if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	const calls = 12 // three times the pool: the later ones wait for a connection first
	var wg sync.WaitGroup
	errs := make([]error, calls)
	took := make([]time.Duration, calls)
	for i := range calls {
		wg.Go(func() {
			start := time.Now()
			errs[i] = lookup()
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	// A call waits for its connection's silence; a later one first waits for a connection
	// to be freed, then opens a new one, which the server's silence ends too (each attempt
	// of the connect: with TLS, then without).
	const bound = 15 * time.Second
	for i, err := range errs {
		if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE || took[i] > bound {
			t.Errorf("call %d during the stall: %v (code %q) after %s, want EUNAVAILABLE within %s", i, err, code, took[i].Round(time.Millisecond), bound)
		}
	}
	t.Logf("calls during the stall answered EUNAVAILABLE after %s to %s", slices.Min(took).Round(time.Millisecond), slices.Max(took).Round(time.Millisecond))

	proxy.Toxics.ResetToxics(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := lookup()
		if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the stall ended the store still answers %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
