package redis_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/redis"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url  string
		want redis.Options
	}{
		{"redis://h", redis.Options{Addr: "h:6379", Prefix: redis.DefaultPrefix}},
		{"redis://:s3cret@h:6380/2?prefix=unmogrowp:", redis.Options{Addr: "h:6380", Password: "s3cret", DB: 2, Prefix: "unmogrowp:"}},
		{"redis://app:pw@10.0.0.1:6379/0?prefix=x%3Ay%3A", redis.Options{Addr: "10.0.0.1:6379", Username: "app", Password: "pw", Prefix: "x:y:"}},
		{"redis://[::1]:7000", redis.Options{Addr: "[::1]:7000", Prefix: redis.DefaultPrefix}},
	} {
		got, err := redis.ParseURL(tt.url)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	if o, err := redis.ParseURL("rediss://h:6380"); err != nil || o.TLS == nil {
		t.Errorf("ParseURL(rediss://h:6380) = %+v, %v; want a TLS configuration", o, err)
	}
	for _, bad := range []string{"", "memory:", "http://h:6379", "redis://", "redis://h/x", "redis://h?prefix=", "redis://h?pool_size=3", "redis://h:port"} {
		_, err := redis.ParseURL(bad)
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("ParseURL(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURL's error shows the password: %v", err)
		}
	}
}

// TestOpenURL: the URL given to the Opens decides the server and the key prefix.
func TestOpenURL(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	u := "redis://" + addr + "/0?prefix=" + url.QueryEscape(prefix)
	opts := redis.Options{Addr: "192.0.2.1:1", Prefix: "ignored:", Logger: quiet()}
	lim, err := redis.OpenRateLimiter(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	if ok, err := lim.Allow(ctx, "app", 1, 10); !ok || err != nil {
		t.Fatalf("Allow: %v %v", ok, err)
	}
	if keys := keysUnder(t, addr, prefix); len(keys) != 1 || !strings.Contains(keys[0], "rl:") {
		t.Errorf("keys under the URL's prefix: %q, want the one rate-limit counter", keys)
	}
	hot, err := redis.Open(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := hot.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	hot.Close()
	if err := hot.Ping(ctx); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Ping after Close: %v, want code %s", err, unmogrowp.EUNAVAILABLE)
	}
	d, err := redis.OpenDedup(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}
