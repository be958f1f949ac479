// Package redis keeps the hot state on Redis, shared by every consumer of the distributed
// deployment: the touchpoint index and device decisions (HotState), the dedup ids (Dedup),
// the ingestion rate-limit counters (RateLimiter) and the signed requests ingestion accepted
// (Signatures). It talks to Redis 7 with go-redis v9.
//
// # Keys
//
// Every key starts with Options.Prefix and, but for the hot state's watermarks, holds its
// app id in braces, a Redis Cluster hash tag, so that an app's keys share a slot and every
// script touches one slot:
//
//	{prefix}tp:{app}:{id}      a touchpoint: its record (record.go), expiring Retention after its touch time
//	{prefix}k:{app}:{key}      the ids of the app's touchpoints under a key ("gaid:…", "fp:…"), a sorted set scored by touch time (ms)
//	{prefix}dev:{app}:{device} a device's latest install decision (record.go), no expiry (like package inmem)
//	{prefix}d:{app}:{hash}     a dedup entry: the 128-bit hash of the event id → "receive-time-ms partition:offset", expiring after the window
//	{prefix}rl:{app}:{second}  an app's rate-limit counter of one second
//	{prefix}sig:{app}:{ts}:{mac} a signed request's claim, expiring when its X-Timestamp's window ends
//	{prefix}watermarks         the hot state's watermarks: a hash, partition → offset
//
// Touchpoint ids are not indexed in sorted sets: a "tp:ID" key reads the record itself.
//
// # Round trips
//
// Candidates and RaiseWatermarks (once a batch) are one script call each; Device one GET,
// Watermarks one HGETALL; Apply, Claim and Allow one pipeline each
// (one round trip on a single server; Claim takes a second one only for ids already
// stored, duplicates and replays, and a third for those whose entry is past the window). Scripts are called by their SHA; when Redis has lost
// them (a restart, SCRIPT FLUSH) the pipeline is sent once more after loading them, which
// is safe because a script that answered NOSCRIPT did not run and the other commands of
// these pipelines are idempotent.
//
// # Cost
//
// Each operation is one script or pipeline, and Redis runs commands on one thread: the
// server time per operation bounds what one Redis core serves; shard by app (Redis
// Cluster) beyond. bench_test.go measures that time (INFO commandstats) and the memory of
// each record (MEMORY USAGE); the figures are in docs/performance-analysis.md ("redis").
//
// # Clocks
//
// Expiry is computed from Options.Now as relative TTLs (PX), never as absolute times, so a
// process's clock only needs to agree with its peers', not with the Redis server's.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

// Defaults for Options.
const (
	DefaultAddr    = "localhost:6379"
	DefaultPrefix  = "unmogrowp:"
	DefaultTimeout = 3 * time.Second
	// DefaultRetention is the longest click lookback ATTRIBUTION.md allows (30 days), as
	// for package inmem.
	DefaultRetention = 30 * 24 * time.Hour
)

// Options configure a HotState, a Dedup, a RateLimiter or a Signatures. Zero fields take the defaults.
// Each of them ignores the fields meant for the others.
type Options struct {
	// Client is the Redis client to use, a *goredis.Client (or a *goredis.ClusterClient: the
	// keys are laid out for Redis Cluster). Close does not close it. When nil, Open makes a
	// client from Addr, Username, Password, DB and TLS, and Close closes it.
	Client goredis.UniversalClient
	// Addr is host:port of the Redis server (the seed's REDIS_HOST and REDIS_PORT); default
	// DefaultAddr.
	Addr string
	// Username is the ACL user (Redis 6 and later); "" for the default user.
	Username string
	// Password is the server's password (REDIS_PASSWORD); "" for none.
	Password string
	// TLS, when not nil, is the TLS configuration of the connections (a rediss:// URL).
	TLS *tls.Config
	// DB is the database number (REDIS_DB).
	DB int
	// Timeout bounds the dial, each read and each write of the client Open makes; default
	// DefaultTimeout. An unreachable server fails calls with EUNAVAILABLE after a few
	// attempts of at most Timeout each.
	Timeout time.Duration

	// Prefix starts every key, so that deployments (and tests) can share a server; default
	// DefaultPrefix.
	Prefix string
	// Retention is how long, counted from its touch time, the HotState keeps a touchpoint at
	// least; default DefaultRetention. It must be at least the longest lookback of every app.
	Retention time.Duration
	// Window is how long the Dedup remembers an event id, counted from the receive time of
	// the record that claimed it; default unmogrowp.DedupWindow.
	Window time.Duration
	// Now returns the current time; default time.Now. Every TTL is computed from it.
	Now func() time.Time
	// Logger receives what cannot be returned (a touchpoint record that does not decode);
	// nil discards it.
	Logger *slog.Logger
}

// conn is what HotState, Dedup and RateLimiter share: the client, the key prefix, the
// clock and the closed flag.
type conn struct {
	client  goredis.UniversalClient
	owned   bool // Close closes client
	prefix  string
	now     func() time.Time
	log     *slog.Logger
	scripts []script
	closed  atomic.Bool
}

// script is a Lua script called by its SHA (goredis.Script) with its source, which
// loadScripts loads. (goredis.Script.Load cannot be pipelined: it would keep an empty SHA.)
type script struct {
	src string
	*goredis.Script
}

func newScript(src string) script { return script{src, goredis.NewScript(src)} }

// ParseURL returns the Options of a URL of the form
// redis://[[user]:password@]host[:port][/db][?prefix=p] (rediss:// for TLS): Addr,
// Username, Password, DB, TLS, and Prefix (DefaultPrefix when the URL has none). The port
// defaults to 6379 and the database to 0. It returns EINVALID for another scheme, a
// malformed URL, an empty prefix or another query parameter.
func ParseURL(raw string) (Options, error) {
	invalid := unmogrowp.Errorf(unmogrowp.EINVALID, "The Redis URL must look like redis://:password@host:6379/0?prefix=unmogrowp: (rediss:// for TLS).")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" || u.Fragment != "" {
		return Options{}, invalid
	}
	q := u.Query()
	prefix := DefaultPrefix
	if p, ok := q["prefix"]; ok {
		if len(p) != 1 || p[0] == "" {
			return Options{}, invalid
		}
		prefix = p[0]
		delete(q, "prefix")
	}
	if len(q) > 0 {
		return Options{}, invalid
	}
	u.RawQuery = ""
	g, err := goredis.ParseURL(u.String())
	if err != nil {
		return Options{}, invalid
	}
	return Options{Addr: g.Addr, Username: g.Username, Password: g.Password, DB: g.DB, TLS: g.TLSConfig, Prefix: prefix}, nil
}

// open connects to Redis, checks that it answers and loads the scripts. Returns
// EUNAVAILABLE when the server cannot be reached. rawURL, when not empty, is a URL as
// ParseURL takes it, whose fields replace those of opts.
func open(ctx context.Context, rawURL string, opts Options, what string, scripts ...script) (*conn, error) {
	if rawURL != "" {
		u, err := ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.Addr, opts.Username, opts.Password, opts.DB, opts.TLS, opts.Prefix = u.Addr, u.Username, u.Password, u.DB, u.TLS, u.Prefix
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &conn{client: opts.Client, prefix: opts.Prefix, now: opts.Now,
		log: opts.Logger.With("component", "redis", "part", what), scripts: scripts}
	if c.client == nil {
		if opts.Addr == "" {
			opts.Addr = DefaultAddr
		}
		if opts.Timeout <= 0 {
			opts.Timeout = DefaultTimeout
		}
		c.client = goredis.NewClient(&goredis.Options{
			Addr:         opts.Addr,
			Username:     opts.Username,
			Password:     opts.Password,
			DB:           opts.DB,
			TLSConfig:    opts.TLS,
			DialTimeout:  opts.Timeout,
			ReadTimeout:  opts.Timeout,
			WriteTimeout: opts.Timeout,
			PoolTimeout:  opts.Timeout,
			// A call's context bounds its reads and writes too, not only Timeout.
			ContextTimeoutEnabled: true,
			MaxRetries:            2,
			DialerRetries:         2,
			// Redis 7.0 knows neither CLIENT SETINFO nor CLIENT MAINT_NOTIFICATIONS.
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		c.owned = true
	}
	if err := c.loadScripts(ctx); err != nil {
		err = c.fail(ctx, "open "+what, err)
		if c.owned {
			c.client.Close()
		}
		return nil, err
	}
	return c, nil
}

// loadScripts loads the scripts into Redis's script cache (on every shard of a cluster).
func (c *conn) loadScripts(ctx context.Context) error {
	p := c.client.Pipeline()
	for _, s := range c.scripts {
		p.ScriptLoad(ctx, s.src)
	}
	if len(c.scripts) == 0 {
		p.Ping(ctx)
	}
	_, err := p.Exec(ctx)
	return err
}

// start returns the error a call must return before it talks to Redis: ctx.Err(), or
// EUNAVAILABLE after Close.
func (c *conn) start(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed.Load() {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The Redis %s is closed.", what)
	}
	return nil
}

// exec sends the commands fill queues in one pipeline and returns them; a command's
// goredis.Nil reply is not an error. When Redis answers NOSCRIPT it loads the scripts and
// sends the pipeline once more, so fill's commands must be safe to run twice.
func (c *conn) exec(ctx context.Context, op string, fill func(p goredis.Pipeliner)) ([]goredis.Cmder, error) {
	for attempt := 0; ; attempt++ {
		p := c.client.Pipeline()
		fill(p)
		cmds, _ := p.Exec(ctx)
		err := firstErr(cmds)
		if err != nil && attempt == 0 && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := c.loadScripts(ctx); err != nil {
				return nil, c.fail(ctx, op, err)
			}
			continue
		}
		if err != nil {
			return nil, c.fail(ctx, op, err)
		}
		return cmds, nil
	}
}

// firstErr returns the first error of cmds other than goredis.Nil.
func firstErr(cmds []goredis.Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
	}
	return nil
}

// fail turns an error of the client into the error a call returns: ctx.Err() when ctx is
// done; for an error reply of Redis, EUNAVAILABLE when Redis cannot take the request now
// (loading, read-only replica, out of memory, cluster down) and an EINTERNAL error (the code
// of any error without one) otherwise, such as a script error; EUNAVAILABLE for any other
// failure: the server cannot be reached, a connection broke or timed out, Close was called.
// The client's error stays in the chain for logs.
func (c *conn) fail(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var reply goredis.Error
	if errors.As(err, &reply) && !errors.Is(err, goredis.ErrClosed) {
		for _, busy := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "MAXCLIENTS"} {
			if goredis.HasErrorPrefix(err, busy) {
				return fmt.Errorf("redis %s: %w: %w", op, errUnavailable, err)
			}
		}
		return fmt.Errorf("redis %s: %w", op, err)
	}
	return fmt.Errorf("redis %s: %w: %w", op, errUnavailable, err)
}

var errUnavailable = unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Redis is unavailable.")

// ping reports whether Redis answers, as fail classifies errors.
func (c *conn) ping(ctx context.Context, what string) error {
	if err := c.start(ctx, what); err != nil {
		return err
	}
	if err := c.client.Ping(ctx).Err(); err != nil {
		return c.fail(ctx, "ping", err)
	}
	return nil
}

// close marks c closed and closes the client if c made it. Calls in progress fail with
// EUNAVAILABLE.
func (c *conn) close() error {
	if c.closed.Swap(true) || !c.owned {
		return nil
	}
	if err := c.client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// key returns the key of kind for an app: prefix, kind, ":", the app's hash tag, ":", the
// rest.
func (c *conn) key(kind, appID, rest string) string {
	return c.appPrefix(kind, appID) + rest
}

// appPrefix returns the start of the keys of kind for an app, up to and including the
// colon after the app's hash tag.
func (c *conn) appPrefix(kind, appID string) string {
	var b strings.Builder
	b.Grow(len(c.prefix) + len(kind) + len(appID) + 4)
	b.WriteString(c.prefix)
	b.WriteString(kind)
	b.WriteString(":{")
	if strings.ContainsAny(appID, "{}") {
		// No app id this code base makes has a brace; one that has is hashed, so that the
		// tag always ends where the app id does and two apps never share a key.
		h := xxh3.HashString128(appID)
		fmt.Fprintf(&b, "#%016x%016x", h.Hi, h.Lo)
	} else {
		b.WriteString(appID)
	}
	b.WriteString("}:")
	return b.String()
}

// bufString returns b's bytes as a string without copying them: for a buffer that its
// maker fills, hands over and never writes again.
func bufString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// ttl returns how long from now something that lives until end must be kept, in whole
// milliseconds, and false when end is not after now.
func ttl(now, end time.Time) (int64, bool) {
	ms := end.Sub(now).Milliseconds()
	return ms, ms > 0
}
