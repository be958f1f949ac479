// Package ingest is the ingestion listener: the HTTP endpoints that SDKs, servers and ad
// networks send events and touchpoints to, the tracking links (/c/, /i/), and the SDK's
// deferred deep link lookup (API.md, section 1). It authenticates app keys, checks request
// signatures and rate limits, validates and normalises events and touchpoints, and
// acknowledges them only once the log has them durably.
package ingest

import (
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/skan"
)

// Config is what the ingestion listener needs. Log, Apps and Registry are required.
type Config struct {
	Log     unmogrowp.Log
	Apps    unmogrowp.AppStore
	Links   unmogrowp.LinkStore // links of /c/, /i/ and link_id in POST /v1/touchpoints; nil: those answer 503
	Devices Devices             // device attributions for GET /v1/attribution; nil: it answers 503
	// Consents gives the attribution object's third_party_sharing; nil: it is always true.
	Consents       Consents
	Health         map[string]func(context.Context) error // backends /health asks, by name
	TrustedProxies []netip.Prefix                         // peers whose X-Forwarded-For is believed
	CORSOrigins    []string                               // origins web SDKs may send from; "*" for any
	Registry       *prometheus.Registry                   // metrics are registered here and served at /metrics
	Logger         *slog.Logger
	Now            func() time.Time // the clock; time.Now when nil
	AppCacheTTL    time.Duration    // how long an app looked up by key, or a link by id, is kept; 5 s when 0
	// RateLimiter enforces the apps' rate_limit_per_second across every ingestion process
	// (package redis); nil: each process enforces it alone, in memory.
	RateLimiter RateLimiter
	// Signatures refuses a replayed signed request across every ingestion process (package
	// redis); nil: each process remembers the signatures it accepted, in memory, up to
	// MaxReplayEntries.
	Signatures Signatures
	// SKANApps finds the app of a postback sent to the /.well-known/ SKAN routes by its App
	// Store id (the metadata store); nil: every such postback is of an unknown app.
	SKANApps SKANApps
	// SKANKeys verifies SKAN postbacks; nil: Apple's published keys (skan.Apple).
	SKANKeys *skan.Keys
	// StoreTimeout bounds what a request waits for every server but the log together (the
	// app and link stores, the shared rate limiter and signature cache, the attribution
	// state): past it a request is answered 503 with Retry-After (or, for the rate
	// limiter, let through) instead of waiting on a server that stalls. The log's append
	// has its own timeout (the log's). 0 means DefaultStoreTimeout.
	StoreTimeout time.Duration
}

// DefaultStoreTimeout is Config.StoreTimeout's default.
const DefaultStoreTimeout = 3 * time.Second

// RateLimiter is a per-app rate limit shared by the processes that use it.
type RateLimiter interface {
	// Allow takes n events from the app's budget of perSecond a second and reports whether
	// they may pass. An error means the limit could not be checked.
	Allow(ctx context.Context, appID string, n, perSecond int) (bool, error)
}

// SignatureMaxSkew is how far X-Timestamp of a signed request may be from the server's clock.
const SignatureMaxSkew = 300 * time.Second

// Server serves the ingestion endpoints. It is an http.Handler.
type Server struct {
	cfg     Config
	apps    *appCache
	links   *linkCache
	handler http.Handler
	metrics *metrics
	bufs    sync.Pool
	replays *replayCache // the process's signatures; cfg.Signatures when none is shared

	skanKeys  *skan.Keys
	skanCount *prometheus.CounterVec
	storeIDs  *storeIDCache
	// associations are apple-app-site-association and assetlinks.json, made from every app.
	associations *associations
}

// New returns the ingestion listener's handler for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AppCacheTTL == 0 {
		cfg.AppCacheTTL = 5 * time.Second
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	s := &Server{
		cfg: cfg, apps: newAppCache(cfg.Apps, cfg.AppCacheTTL, cfg.Now),
		links: newLinkCache(cfg.Links, cfg.Apps, cfg.AppCacheTTL, cfg.Now), metrics: newMetrics(cfg.Registry),
		replays:      newReplayCache(cfg.Now, MaxReplayEntries),
		associations: &associations{apps: cfg.Apps, ttl: cfg.AppCacheTTL, now: cfg.Now},
	}
	if s.cfg.Signatures == nil {
		s.cfg.Signatures = s.replays
	}
	s.skanKeys, s.skanCount = cfg.SKANKeys, skan.Counter(cfg.Registry)
	if s.skanKeys == nil {
		s.skanKeys = skan.Apple()
	}
	s.storeIDs = &storeIDCache{ttl: cfg.AppCacheTTL, now: cfg.Now, byID: map[int64]cachedApp{}}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, withDeadline(rt.handler, cfg.StoreTimeout))
	}
	mux.HandleFunc("/", httpserve.NotFound)
	s.handler = httpserve.Middleware(mux, httpserve.MiddlewareConfig{
		Listener: "ingest", Logger: cfg.Logger, CORSOrigins: cfg.CORSOrigins,
		Registry: cfg.Registry, QuietPrefixes: []string{"/v1/", "/c/", "/i/", "/.well-known/"},
	})
	return s
}

// withDeadline gives each request's context a deadline of d from its start, which every
// call to a server but the log inherits (appendLog takes the context without it). It
// wraps each route, not the mux, so that the mux sets the route's pattern on the request
// the middleware labels its metrics with.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// route is one route of the ingestion listener.
type route struct {
	pattern string
	handler http.Handler
}

// routes lists every route of the listener; any other path answers a JSON 404. The
// OpenAPI document's test compares its paths with this list.
func (s *Server) routes() []route {
	return append([]route{
		{"GET /health", httpserve.HealthHandler(s.cfg.Health, s.cfg.Logger)},
		{"GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})},
		{"POST /v1/events", httpserve.HandlerFunc(s.handleEvent)},
		{"POST /v1/events/batch", httpserve.HandlerFunc(s.handleBatch)},
		{"POST /v1/touchpoints", httpserve.HandlerFunc(s.handleTouchpoints)},
		{"GET /c/{link_id}", httpserve.HandlerFunc(s.handleClick)},
		{"GET /i/{link_id}", httpserve.HandlerFunc(s.handleImpression)},
		{"GET /v1/attribution", httpserve.HandlerFunc(s.handleAttribution)},
		{"POST /.well-known/skadnetwork/report-attribution/{$}", httpserve.HandlerFunc(s.handleSKANAppleCopy)},
		{"POST /.well-known/appattribution/report-attribution/{$}", httpserve.HandlerFunc(s.handleSKANAppleCopy)},
		{"POST /v1/skan/postbacks", httpserve.HandlerFunc(s.handleSKANForwarded)},
		{"POST /v1/deeplinks", httpserve.HandlerFunc(s.handleDeeplink)},
		{"GET " + appleAssociationPath, httpserve.HandlerFunc(s.handleAppleAssociation)},
		{"GET " + assetLinksPath, httpserve.HandlerFunc(s.handleAssetLinks)},
	}, s.segmentRoutes()...)
}

// RoutePatterns lists the patterns ("METHOD /path/{param}") of every route the listener
// serves, for the tests that keep its documentation true.
func (s *Server) RoutePatterns() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, strings.TrimSuffix(rt.pattern, "{$}")) // {$}: the path exactly, not below it
	}
	return out
}

// ForgetApp drops what the listener caches of the app (its keys, its links' app), so that
// a rotated server key is refused from the next request on and a changed setting or a
// deleted app takes effect at once: the API calls it when it changes an app in this
// process. Other processes see the change within Config.AppCacheTTL.
func (s *Server) ForgetApp(appID string) {
	s.apps.forget(appID)
	s.links.forget(appID)
	s.storeIDs.forget()
	s.associations.forget()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) error {
	return s.ingest(w, r, false)
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) error {
	return s.ingest(w, r, true)
}

// batchError is one rejected event of a batch, by its index in the request.
type batchError struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// ingest runs both event endpoints: authenticate, read, verify, decode, validate, append to
// the log, answer.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, batch bool) error {
	app, kind, err := s.authenticate(r)
	if err != nil {
		return s.refuse(err, 1)
	}
	limit := int64(unmogrowp.MaxEventBytes)
	if batch {
		limit = unmogrowp.MaxBatchBytes
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	signed := app.Settings.RequireSignature && kind == unmogrowp.SDKKey
	var wire []byte // the body as received, which the signature covers
	wirep := &wire
	if !signed {
		wirep = nil
	}
	body, err := readWireBody(r, limit, buf.body[:0], wirep)
	buf.body = body[:0]
	if err != nil {
		return s.refuse(err, 1)
	}
	var release func()
	if signed {
		if release, err = s.checkSignature(r, app, wire); err != nil {
			return s.refuse(err, 1)
		}
	}
	ip, ua := "", ""
	if kind == unmogrowp.SDKKey {
		ip, ua = httpserve.ClientIP(r, s.cfg.TrustedProxies), strings.ToValidUTF8(r.UserAgent(), "\uFFFD") // a header, not the sender's text
	}
	answer, err := s.accept(r.Context(), app, kind, ip, ua, body, batch, buf)
	return answerAccepted(w, answer, err, release)
}

// answerAccepted writes the answer of an event request with 200 OK, or, for err, releases
// the request's signature (release, when it was signed) if nothing was accepted for a
// reason that a retry of the same request may overcome (a rate limit, a 5xx), and returns
// err to be answered.
func answerAccepted(w http.ResponseWriter, answer any, err error, release func()) error {
	if err != nil {
		if code := unmogrowp.ErrorCode(err); release != nil && (code == unmogrowp.ERATELIMIT || httpserve.StatusCode(code) >= 500) {
			release() // nothing accepted: the same request may be sent again
		}
		return err
	}
	httpserve.JSON(w, http.StatusOK, answer)
	return nil
}

// Track accepts events for app that another listener has authenticated (the API's
// /api/attribution/track and /batch for a signed-in user), with the same semantics as
// /v1/events and /v1/events/batch sent with the app's server key: ip and user_agent in the
// body are honoured. body is the request's body, already read. It returns the answer
// those endpoints give, which the caller writes as JSON with 200 OK, or their error, with
// its code and, for a rate limit, its Retry-After (httpserve.RetryAfter), which the
// caller answers with httpserve.Error.
func (s *Server) Track(ctx context.Context, app *unmogrowp.App, body []byte, batch bool) (any, error) {
	limit := unmogrowp.MaxEventBytes
	if batch {
		limit = unmogrowp.MaxBatchBytes
	}
	if len(body) > limit {
		return nil, s.refuse(tooLarge(int64(limit)), 1)
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	return s.accept(ctx, app, unmogrowp.ServerKey, "", "", body, batch, buf)
}

// accept is the part of both event endpoints after authentication: split, rate limit,
// decode, validate, append to the log. It returns the answer to write with 200 OK, or the
// error to answer, counted as rejected. ip and ua are the device's, for a request with the
// SDK key. The events decoded from body share its bytes (eventBatch): none of them is
// kept after accept returns.
func (s *Server) accept(ctx context.Context, app *unmogrowp.App, kind unmogrowp.KeyKind, ip, ua string, body []byte, batch bool, buf *ingestBuf) (any, error) {
	events := getEventBatch()
	defer events.release()
	if batch {
		if err := events.splitBatch(body); err != nil {
			return nil, s.refuse(err, 1)
		}
		if events.len() > unmogrowp.MaxBatchEvents {
			return nil, s.refuse(unmogrowp.Errorf(unmogrowp.ETOOLARGE, "A batch holds at most %d events; this one has %d.", unmogrowp.MaxBatchEvents, events.len()), events.len())
		}
		for i := range events.len() {
			if len(events.raw(i)) > unmogrowp.MaxEventBytes {
				return nil, s.refuse(unmogrowp.Errorf(unmogrowp.ETOOLARGE, "Event %d is larger than %d bytes.", i, unmogrowp.MaxEventBytes), events.len())
			}
		}
	} else {
		events.single(body)
	}
	if err := s.allow(ctx, app, events.len()); err != nil {
		return nil, err
	}

	n, errs, eventID, err := s.admitAll(ctx, app, kind, ip, ua, events.len(), batch, buf, func(i int, e *unmogrowp.Event) error {
		err := events.decode(i, e)
		if err == nil && e.AppID != "" && e.AppID != app.ID {
			return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "This key belongs to another app than %q.", e.AppID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !batch {
		return eventAccepted{EventID: eventID, Status: "accepted"}, nil
	}
	if errs == nil {
		errs = []batchError{}
	}
	return batchAccepted{Accepted: n, Errors: errs, Rejected: len(errs), Status: batchStatus(n, len(errs))}, nil
}

// admitAll decodes the n events of a request with decode (into buf.event, which it clears
// before returning), admits them (admit) and appends the admitted ones to the log, under
// the app's key. It returns how many it appended, the refused ones of a batch by index,
// and the event id of the last one appended. The request is refused whole, with the error
// counted, when decode says EFORBIDDEN (another app's event), when an event sent alone is
// refused, and when the log cannot take the events (EUNAVAILABLE).
func (s *Server) admitAll(ctx context.Context, app *unmogrowp.App, kind unmogrowp.KeyKind, ip, ua string, n int, batch bool, buf *ingestBuf, decode func(int, *unmogrowp.Event) error) (int, []batchError, string, error) {
	defer func() { buf.event = unmogrowp.Event{} }()
	now := s.cfg.Now().UTC()
	var errs []batchError
	values := buf.values[:0]
	recs := buf.recs[:0]
	var eventID string
	for i := range n {
		e := &buf.event
		err := decode(i, e)
		if unmogrowp.ErrorCode(err) == unmogrowp.EFORBIDDEN {
			return 0, nil, "", s.refuse(err, n)
		}
		if err == nil {
			err = admit(e, app, kind, ip, ua, now)
		}
		if err != nil {
			if !batch {
				return 0, nil, "", s.refuse(err, 1)
			}
			s.metrics.rejected(unmogrowp.ErrorCode(err), 1)
			errs = append(errs, batchError{Index: i, Error: unmogrowp.ErrorMessage(err)})
			continue
		}
		eventID = e.EventID
		start := len(recs)
		recs = unmogrowp.EncodeEventRecord(recs, e)
		values = append(values, recs[start:len(recs):len(recs)])
	}
	buf.values, buf.recs = values[:0], recs[:0]
	if len(values) > 0 {
		if err := s.appendLog(ctx, app.ID, values, "events"); err != nil {
			return 0, nil, "", s.refuse(err, len(values))
		}
		s.metrics.accepted.Add(float64(len(values)))
	}
	return len(values), errs, eventID, nil
}

// admit validates a decoded event of app received at now (Event.Validate) and sets what
// ingestion decides: its app, the device's address and user agent for a request with the
// SDK key (ip, ua: only a server key may say which device's they were), an event id when
// it has none. The error is Validate's.
func admit(e *unmogrowp.Event, app *unmogrowp.App, kind unmogrowp.KeyKind, ip, ua string, now time.Time) error {
	if err := e.Validate(now, app.Settings.MaxEventAge()); err != nil {
		return err
	}
	e.AppID = app.ID
	if kind == unmogrowp.SDKKey {
		e.IP, e.UserAgent = ip, ua
	}
	if e.EventID == "" {
		e.EventID = newEventID()
	}
	return nil
}

// batchStatus is the status of a batch's answer (events or touchpoints): "rejected" when
// it held items and none of them was accepted, "accepted" otherwise (an empty batch is
// accepted: nothing in it was refused). The answer keeps its shape and its 200 either way.
func batchStatus(accepted, rejected int) string {
	if accepted == 0 && rejected > 0 {
		return "rejected"
	}
	return "accepted"
}

// eventAccepted is the answer to an accepted event (fields in the order of their names, as
// a map of them was written before: a struct is cheaper to encode).
type eventAccepted struct {
	EventID string `json:"event_id"`
	Status  string `json:"status"`
}

// batchAccepted is the answer to a batch of events (fields in the order of their names).
type batchAccepted struct {
	Accepted int          `json:"accepted"`
	Errors   []batchError `json:"errors"`
	Rejected int          `json:"rejected"`
	Status   string       `json:"status"`
}

// allow takes n events or touchpoints from the app's rate limit. When they may not pass,
// it counts them rejected and returns an ERATELIMIT error with its Retry-After. A request
// of more than the limit (a batch larger than the whole burst) can never pass: it is
// refused with Retry-After: 1 and a message saying so, whatever the limiter holds, so the
// in-process and the shared limiter agree. A shared limiter that cannot be reached lets
// them pass (and logs it): the limit protects the pipeline, and refusing every event while
// Redis is away would lose more than it protects.
func (s *Server) allow(ctx context.Context, app *unmogrowp.App, n int) error {
	if perSecond := app.Settings.RateLimitPerSecond; perSecond > 0 && n > perSecond {
		return s.refuse(httpserve.RetryAfter(unmogrowp.Errorf(unmogrowp.ERATELIMIT, "This request holds %d events or touchpoints, more than the app's rate limit of %d per second: it can never pass whole; send at most %d at a time.", n, perSecond, perSecond), 1), n)
	}
	var wait time.Duration
	if s.cfg.RateLimiter == nil {
		wait = s.apps.allow(app, n)
	} else if ok, err := s.cfg.RateLimiter.Allow(ctx, app.ID, n, app.Settings.RateLimitPerSecond); err != nil {
		s.cfg.Logger.Warn("rate limit unchecked", "app_id", app.ID, "err", err)
	} else if !ok {
		wait = time.Second
	}
	if wait <= 0 {
		return nil
	}
	return s.refuse(httpserve.RetryAfter(unmogrowp.Errorf(unmogrowp.ERATELIMIT, "The app's rate limit of %d events and touchpoints per second is exceeded; retry later.", app.Settings.RateLimitPerSecond), int(wait/time.Second)), n)
}

// appendLog appends the encoded records under the app's key and returns nil once they are
// durable. When the log fails it logs why and returns EUNAVAILABLE naming what (events,
// touchpoints): then nothing may be acknowledged, and the log stores none of them. It
// waits for the log's answer even after ctx is cancelled, so that the answer is true.
func (s *Server) appendLog(ctx context.Context, appID string, values [][]byte, what string) error {
	start := time.Now()
	// Not the request's cancellation: a client that half-closes its connection cancels the
	// context yet reads the answer, which must say whether the log has the records.
	err := s.cfg.Log.Append(context.WithoutCancel(ctx), appID, values)
	s.metrics.logAppend.Observe(time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	s.cfg.Logger.Error("append to log", "app_id", appID, what, len(values), "err", err)
	return retryLater("The event log cannot take %s now; nothing was accepted, retry later.", what)
}

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503 answered because a
// server (the log, the metadata store, the hot state) cannot be reached now.
const RetryAfterUnavailable = 5

// retryLater is an EUNAVAILABLE error answered with Retry-After: RetryAfterUnavailable.
func retryLater(format string, args ...any) error {
	return httpserve.RetryAfter(unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, format, args...), RetryAfterUnavailable)
}

// authenticate finds the app of the request's key: X-Api-Key (server key) or X-App-Key
// (SDK key).
func (s *Server) authenticate(r *http.Request) (*unmogrowp.App, unmogrowp.KeyKind, error) {
	key, kind := r.Header.Get("X-Api-Key"), unmogrowp.ServerKey
	if key == "" {
		key, kind = r.Header.Get("X-App-Key"), unmogrowp.SDKKey
	}
	if key == "" {
		return nil, 0, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "An app key is required: send X-App-Key (SDK key) or X-Api-Key (server key).")
	}
	app, err := s.lookupKey(r.Context(), key, kind)
	return app, kind, err
}

// lookupKey returns the app of a key of the kind: EUNAUTHORIZED for an unknown key,
// EUNAVAILABLE (logged) when the app store fails.
func (s *Server) lookupKey(ctx context.Context, key string, kind unmogrowp.KeyKind) (*unmogrowp.App, error) {
	app, err := s.apps.lookup(ctx, key, kind)
	if err != nil {
		if unmogrowp.ErrorCode(err) == unmogrowp.EUNAUTHORIZED {
			return nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Unknown app key.")
		}
		s.cfg.Logger.Error("look up app key", "err", err)
		return nil, retryLater("The app store cannot be reached; retry later.")
	}
	return app, nil
}

// verifySignature checks X-Timestamp and X-Signature: sha256=<hex HMAC-SHA256(secret,
// "<X-Timestamp>.<raw body>")>, where the raw body is wire, the bytes received (still
// compressed when Content-Encoding says so). It returns the timestamp and the MAC, which
// identify the signed request.
func verifySignature(r *http.Request, wire []byte, secret string, now time.Time) (int64, []byte, error) {
	ts, sig := r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature")
	if ts == "" || sig == "" {
		return 0, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "This app requires signed requests: send X-Timestamp and X-Signature.")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "X-Timestamp must be unix seconds.")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureMaxSkew || d < -SignatureMaxSkew {
		return 0, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "X-Timestamp is more than 300 seconds from the server's clock.")
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return 0, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "X-Signature must be sha256=<hex>.")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(wire)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return 0, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "X-Signature does not match the body.")
	}
	return sec, got, nil
}

// Sign returns the X-Signature value for a body sent at ts with the app's signing secret:
// what an SDK computes.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// readBody reads the request body into buf, decompressing gzip, and fails with ETOOLARGE
// past limit bytes (after decompression) and EINVALID for an unreadable body.
func readBody(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	return readWireBody(r, limit, buf, nil)
}

// readWireBody is readBody that, when wire is not nil, also sets *wire to the body as it
// was received, which a signature covers: the body itself without Content-Encoding, else
// the compressed bytes (at most MaxBatchBytes+1 of them are read, as for readBody).
func readWireBody(r *http.Request, limit int64, buf []byte, wire *[]byte) (body []byte, err error) {
	if r.ContentLength > limit && r.Header.Get("Content-Encoding") == "" {
		return buf, tooLarge(limit)
	}
	start := len(buf)
	var src io.Reader = r.Body
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
		if wire != nil {
			defer func() { *wire = body[start:] }()
		}
	case "gzip":
		in := io.LimitReader(r.Body, unmogrowp.MaxBatchBytes+1)
		if wire != nil {
			tee := &appender{}
			in = io.TeeReader(in, tee)
			defer func() {
				// The gzip reader may stop short of the body's end: the signature covers it all.
				if err == nil {
					if _, cerr := io.Copy(io.Discard, in); cerr != nil {
						err = unmogrowp.Errorf(unmogrowp.EINVALID, "The request body could not be read.")
					}
				}
				*wire = tee.b
			}()
		}
		zr, zerr := gzip.NewReader(in)
		if zerr != nil {
			return buf, unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid gzip.")
		}
		defer zr.Close()
		src = zr
	default:
		return buf, unmogrowp.Errorf(unmogrowp.EINVALID, "Content-Encoding %q is not supported; send gzip or no encoding.", enc)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if int64(len(buf)-start) > limit {
			return buf, tooLarge(limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf, tooLarge(limit)
			}
			return buf, unmogrowp.Errorf(unmogrowp.EINVALID, "The request body could not be read.")
		}
	}
}

// appender is an io.Writer that appends to b.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func tooLarge(limit int64) error {
	return unmogrowp.Errorf(unmogrowp.ETOOLARGE, "The body is larger than %d bytes.", limit)
}

// refuse counts n events or touchpoints rejected for err's reason (its code) and returns
// err, for the handler to answer.
func (s *Server) refuse(err error, n int) error {
	s.metrics.rejected(unmogrowp.ErrorCode(err), n)
	return err
}

// ingestBuf holds what one request reuses from the pool.
type ingestBuf struct {
	body   []byte
	recs   []byte
	values [][]byte
	event  unmogrowp.Event
}

func (s *Server) getBuf() *ingestBuf {
	if b, ok := s.bufs.Get().(*ingestBuf); ok {
		return b
	}
	return &ingestBuf{body: make([]byte, 0, 64<<10), recs: make([]byte, 0, 64<<10)}
}

// newEventID returns a random 128-bit id in hex, for events sent without event_id.
func newEventID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
