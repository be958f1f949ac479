// Package api is the API listener (API.md, section 2): the JSON API that the dashboard and
// marketers' scripts read attribution results and manage tracking links through.
//
// Routes authenticate a signed-in user by the bearer token from login or register, or, in
// the dashboard, by the session cookie those set beside it (session.go, with CSRF
// protection); an app's routes (/api/apps/{app_id}/...) also take that app's server key in X-Api-Key, the
// secret an advertiser's servers already hold, for scripts. Another user's app, or another
// app's key, gets the same 404 as an app that does not exist, so ids leak nothing.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/postback"
)

// Results is what the API reads attribution results and reports from: the analytics
// store.
type Results interface {
	unmogrowp.Reports

	// Attribution returns the latest install decision of an app's device. Returns
	// ENOTFOUND if the device has no stored install.
	Attribution(ctx context.Context, appID, deviceID string) (*unmogrowp.Install, error)

	// Installs returns a page of an app's install decisions, newest first, and the cursor
	// of the next page ("" for none). Returns EINVALID for a bad cursor.
	Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error)
}

// Config is what the API listener needs. Apps, Links, Results and Registry are required.
type Config struct {
	Apps     unmogrowp.AppStore
	Links    unmogrowp.LinkStore
	Users    unmogrowp.UserStore // users and sessions, for the account routes; nil: they answer 503
	Results  Results
	Tracker  Tracker                                // where /api/attribution/track and /batch send events; nil: they answer 503
	Health   map[string]func(context.Context) error // backends /health asks, by name
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// IngestURL is the ingestion listener's public base URL (https://t.example.com), which
	// tracking links' click and impression URLs start with.
	IngestURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed when the
	// account routes rate-limit per client address.
	TrustedProxies []netip.Prefix
	// Google enables sign-in with Google (POST /api/auth/google and the code flow of
	// /api/auth/google/start and /callback); nil: those routes answer 404.
	Google *GoogleConfig
	// Dashboard is the dashboard, served at / (nil: 404).
	Dashboard http.Handler
	// AppCache is told when an app's server key is rotated, or the app updated or deleted,
	// so that a cache of apps by key in this process forgets it at once: in `serve`, the
	// ingestion listener. nil: none to tell.
	AppCache AppCache
	// Postbacks are the apps' postbacks and webhooks (POSTBACKS.md); nil: their routes
	// answer 503.
	Postbacks unmogrowp.PostbackStore
	// Outbox is where the deliveries list reads; nil: that route answers 503.
	Outbox unmogrowp.Outbox
	// PostbackSender sends test postbacks; nil: a sender with the production settings,
	// which refuses non-public addresses (give one with AllowPrivate for
	// POSTBACK_ALLOW_PRIVATE).
	PostbackSender *postback.Sender
	// FXRates are the server's exchange rates, which reports convert revenue with and
	// /api/fx-rates loads and reads; nil: no rates (revenue in another currency than the
	// app's is unconverted) and those routes answer 503.
	FXRates unmogrowp.FXRateStore
	// AdminEmails are the users (by email, any case) who may load exchange rates.
	AdminEmails []string
	// Costs give the LTV report's cohorts their cost (and so ROAS); nil: cost 0, ROAS null.
	Costs unmogrowp.CohortCoster
}

// AppCache is a cache of apps by key, such as the ingestion listener's (*ingest.Server,
// wired in cmd/unmogrowp).
type AppCache interface {
	// ForgetApp drops what the cache holds of the app, so that its next lookup asks the
	// store.
	ForgetApp(appID string)
}

// Limits of GET /api/apps/{app_id}/installs.
const (
	DefaultInstallsLimit = 100
	MaxInstallsLimit     = 1000
)

// Server serves the API. It is an http.Handler.
type Server struct {
	cfg         Config
	handler     http.Handler
	crossOrigin *http.CrossOriginProtection // refuses cross-site browser requests (session.go)
	patterns    []string                    // of every route, as registered
	sender      *postback.Sender            // of test postbacks
	rates       *fx.Cache                   // of cfg.FXRates; nil without
}

// New returns the API listener's handler for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.IngestURL = strings.TrimRight(cfg.IngestURL, "/")
	s := &Server{cfg: cfg, crossOrigin: http.NewCrossOriginProtection(), sender: cfg.PostbackSender}
	if s.sender == nil {
		s.sender = postback.NewSender(postback.SenderOptions{})
	}
	if cfg.FXRates != nil {
		s.rates = fx.NewCache(cfg.FXRates)
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	mux.Handle("GET /health", httpserve.HealthHandler(cfg.Health, cfg.Logger))
	mux.HandleFunc("GET /api/openapi.json", handleOpenAPI)
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	s.authRoutes(mux)
	s.patterns = mux.patterns
	// The fallbacks, not routes of the API: a JSON 404 under /api/, the dashboard elsewhere.
	mux.ServeMux.HandleFunc("/api/", httpserve.NotFound)
	if cfg.Dashboard != nil {
		mux.ServeMux.Handle("/", cfg.Dashboard)
	} else {
		mux.ServeMux.HandleFunc("/", httpserve.NotFound)
	}
	s.handler = httpserve.Middleware(noSniff(mux), httpserve.MiddlewareConfig{Listener: "api", Logger: cfg.Logger, Registry: cfg.Registry})
	return s
}

// noSniff marks every answer X-Content-Type-Options: nosniff, so that a browser takes a
// JSON answer for JSON, never for a script or a page, whatever it holds.
func noSniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// routeMux is a ServeMux that remembers the patterns of the routes registered through it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern and remembers the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern and remembers the pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// route is one route of the API that needs authentication.
type route struct {
	pattern string
	handler http.Handler
}

// routes lists every authenticated /api/ route but the account ones: the tenancy test
// walks exactly this list, so a route added here without a tenancy case fails it.
func (s *Server) routes() []route {
	return []route{
		{"GET /api/apps", s.user(s.handleApps)},
		{"POST /api/apps", s.user(s.handleCreateApp)},
		{"GET /api/apps/{app_id}", s.app(s.handleApp)},
		{"PATCH /api/apps/{app_id}", s.app(s.handlePatchApp)},
		{"DELETE /api/apps/{app_id}", s.app(s.handleDeleteApp)},
		{"POST /api/apps/{app_id}/keys/rotate", s.app(s.handleRotateKey)},
		{"GET /api/apps/{app_id}/attribution/{device_id}", s.app(s.handleAttribution)},
		{"GET /api/apps/{app_id}/installs", s.app(s.handleInstalls)},
		{"GET /api/apps/{app_id}/links", s.app(s.handleLinks)},
		{"POST /api/apps/{app_id}/links", s.app(s.handleCreateLink)},
		{"GET /api/apps/{app_id}/postbacks", s.app(s.handlePostbacks)},
		{"POST /api/apps/{app_id}/postbacks", s.app(s.handleCreatePostback)},
		{"POST /api/apps/{app_id}/postbacks/preview", s.app(s.handlePreviewPostback)},
		{"GET /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handlePostback)},
		{"PATCH /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handlePatchPostback)},
		{"DELETE /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handleDeletePostback)},
		{"POST /api/apps/{app_id}/postbacks/{postback_id}/test", s.app(s.handleTestPostback)},
		{"GET /api/apps/{app_id}/postbacks/{postback_id}/deliveries", s.app(s.handleDeliveries)},
		{"POST /api/attribution/track", s.handleTrack(false)},
		{"POST /api/attribution/batch", s.handleTrack(true)},
		{"GET /api/dashboard/stats", s.report(s.handleStats)},
		{"GET /api/dashboard/charts/{chart_type}", s.report(s.handleChart)},
		{"GET /api/analytics/reports/{report_id}", s.report(s.handleReport)},
		{"GET /api/fx-rates", s.user(s.handleFXRates)},
		{"PUT /api/fx-rates", s.user(s.handlePutFXRates)},
	}
}

// RoutePatterns lists the patterns of the authenticated app routes, for tests that must
// cover each of them.
func (s *Server) RoutePatterns() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// AllRoutePatterns lists the patterns ("METHOD /path/{param}") of every route the listener
// serves with its configuration (sign-in with Google's, but GET /api/auth/google, only when
// it is configured): the authenticated ones of RoutePatterns, the account routes, /health
// and /api/openapi.json.
// Other paths answer a JSON 404 under /api/ and the dashboard elsewhere.
func (s *Server) AllRoutePatterns() []string {
	return slices.Clone(s.patterns)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// user wraps a handler of a signed-in user's routes.
func (s *Server) user(h func(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.currentUser(r)
		if err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
		return h(w, r, u)
	}
}

// app wraps a handler of one app's routes: it authorizes the request for the app named by
// {app_id} and passes the app on.
func (s *Server) app(h func(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		app, err := s.authorizeApp(r, r.PathValue("app_id"))
		if err != nil {
			return fmt.Errorf("authorize app: %w", err)
		}
		return h(w, r, app)
	}
}

// authorizeApp returns the app with the id if the request may use it: a signed-in user
// (Authorization: Bearer, or the session cookie) who owns it, or the app's own server key (X-Api-Key, for
// advertisers' scripts). It returns EUNAUTHORIZED without valid credentials, EFORBIDDEN
// for a cookie request that fails the CSRF check, and ENOTFOUND
// for an app that does not exist or is someone else's, so ids leak nothing.
func (s *Server) authorizeApp(r *http.Request, appID string) (*unmogrowp.App, error) {
	if key := r.Header.Get("X-Api-Key"); key != "" && r.Header.Get("Authorization") == "" {
		app, err := s.cfg.Apps.AppByKey(r.Context(), key, unmogrowp.ServerKey)
		switch {
		case unmogrowp.ErrorCode(err) == unmogrowp.EUNAUTHORIZED:
			return nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Unknown key.")
		case err != nil:
			return nil, err
		case app.ID != appID:
			return nil, errNoApp()
		}
		return app, nil
	}
	u, err := s.currentUser(r)
	if err != nil {
		return nil, err
	}
	app, err := s.cfg.Apps.App(r.Context(), appID)
	switch {
	case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND:
		return nil, errNoApp()
	case err != nil:
		return nil, err
	case app.OwnerID != u.ID:
		return nil, errNoApp()
	}
	return app, nil
}

// queryRange reads the from and to query parameters; each is zero when absent. It returns
// EINVALID naming the one that is not a time, or when both are given and to is before from
// (the reports' and installs' answer alike).
func queryRange(q url.Values) (from, to time.Time, err error) {
	return queryRangeIn(q, nil)
}

// queryRangeIn is queryRange that, with a loc, also takes dates, YYYY-MM-DD, as whole days
// of loc: from as the start of its day, to as the end of its day (to is inclusive).
func queryRangeIn(q url.Values, loc *time.Location) (from, to time.Time, err error) {
	for _, p := range []struct {
		name string
		t    *time.Time
		end  bool
	}{{"from", &from, false}, {"to", &to, true}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if d, derr := time.Parse(time.DateOnly, v); derr == nil && loc != nil {
			if p.end {
				d = d.AddDate(0, 0, 1)
			}
			*p.t = unmogrowp.DayStart(d, loc)
			continue
		}
		if *p.t, err = httpserve.ParseTime(v); err != nil {
			if loc != nil {
				return time.Time{}, time.Time{}, unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a date (YYYY-MM-DD), unix seconds, unix milliseconds or an RFC 3339 time.", p.name)
			}
			return time.Time{}, time.Time{}, unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be unix seconds, unix milliseconds or an RFC 3339 time.", p.name)
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return time.Time{}, time.Time{}, errRangeReversed()
	}
	return from, to, nil
}

// queryLimit reads the limit query parameter of a paged list: def when absent, EINVALID
// unless it is a whole number from 1 to most.
func queryLimit(q url.Values, def, most int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, unmogrowp.Errorf(unmogrowp.EINVALID, "limit must be a whole number from 1 to %d.", most)
	}
	return n, nil
}

func errRangeReversed() error {
	return unmogrowp.Errorf(unmogrowp.EINVALID, "to must not be before from.")
}

func errNoApp() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such app.") }

func (s *Server) handleAttribution(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	deviceID := r.PathValue("device_id")
	if err := unmogrowp.ValidateName("device_id", deviceID); err != nil {
		return err // no event could have stored such an id
	}
	in, err := s.cfg.Results.Attribution(r.Context(), app.ID, deviceID)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This device has no processed install yet.")
	}
	if err != nil {
		return fmt.Errorf("read attribution: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, in.Attribution)
	return nil
}

func (s *Server) handleInstalls(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	q := r.URL.Query()
	f := unmogrowp.InstallFilter{AppID: app.ID, Cursor: q.Get("cursor")}
	var err error
	if f.From, f.To, err = queryRange(q); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(q, DefaultInstallsLimit, MaxInstallsLimit); err != nil {
		return err
	}
	installs, next, err := s.cfg.Results.Installs(r.Context(), f)
	if err != nil {
		return fmt.Errorf("read installs: %w", err)
	}
	out := make([]unmogrowp.Attribution, len(installs))
	for i := range installs {
		out[i] = installs[i].Attribution
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"installs": out, "next_cursor": next})
	return nil
}
