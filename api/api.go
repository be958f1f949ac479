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
	"cmp"
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
	unmogrowp.Exporter

	// Attribution returns the latest install decision of an app's device. Returns
	// ENOTFOUND if the device has no stored install.
	Attribution(ctx context.Context, appID, deviceID string) (*unmogrowp.Install, error)

	// Installs returns a page of an app's install decisions, newest first, and the cursor
	// of the next page ("" for none). Returns EINVALID for a bad cursor.
	Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error)
}

// Config is what the API listener needs. Apps, Links, Results and Registry are required.
type Config struct {
	Apps  unmogrowp.AppStore
	Links unmogrowp.LinkStore
	Users unmogrowp.UserStore // users and sessions, for the account routes; nil: they answer 503
	// Teams are apps' members, invitations, personal access tokens and audit logs
	// (teams.go); nil: an app's owner (App.OwnerID) is its only member, and the team,
	// token and audit routes answer 503.
	Teams    unmogrowp.TeamStore
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
	// Costs are the apps' imported cost (docs/cost.md); nil: its routes answer 503, and
	// reports count touchpoint cost only.
	Costs unmogrowp.CostStore
	// Deliveries is where the postback_deliveries export reads; nil: it answers 503.
	Deliveries DeliveryExporter
	// Consents gives the attribution object's third_party_sharing: the device's latest
	// statement. nil: it is always true.
	Consents unmogrowp.ConsentStore
	// Accounts keep password resets, two-factor sign-in and the sessions list
	// (account.go); nil: those routes answer 503 and login asks for no second factor.
	Accounts unmogrowp.AccountStore
	// Signup says who may register (SignupOpen when ""): SignupInvite only with an
	// invitation token, SignupClosed nobody (403).
	Signup SignupMode
	// Mailer sends invitations and password-reset links by mail; nil: invitation links
	// are only shown to the inviter and password resets by mail answer 503.
	Mailer Mailer
	// DashboardURL is the dashboard's public base URL (https://dash.example.com), which
	// mailed links start with; required with Mailer.
	DashboardURL string
	// AuthCacheTTL is how long what authorizing a request reads from the stores (the user
	// of a session or access token, a member's role and the app, the app of a server key)
	// is believed before it is read again: the bound on how late another process's
	// revocation takes effect here (authcache.go). 0: DefaultAuthCacheTTL; negative: no
	// cache.
	AuthCacheTTL time.Duration
	// RequestTimeout bounds each request's calls to the stores (its context's deadline):
	// a server that is gone or stalls gets the request a 503 with Retry-After once it
	// passes, instead of holding it, and requests waiting for a connection to the same
	// server give up with it. 0: DefaultRequestTimeout.
	RequestTimeout time.Duration
	// PostbackSender sends test postbacks; nil: a sender with the production settings,
	// which refuses non-public addresses (give one with AllowPrivate for
	// POSTBACK_ALLOW_PRIVATE).
	PostbackSender *postback.Sender
	// FXRates are the server's exchange rates, which reports convert revenue and cost with
	// and /api/fx-rates loads and reads; nil: no rates (money in another currency than the
	// app's reporting currency is unconverted) and those routes answer 503.
	FXRates unmogrowp.FXRateStore
	// AdminEmails are the users (by email, any case) who may load exchange rates.
	AdminEmails []string
	// SKAN keeps the apps' SKAN schema and networks (the metadata store); SKANResults is
	// where SKAN postbacks are read (the analytics store). nil: the SKAN routes answer 503.
	SKAN        unmogrowp.SKANConfigStore
	SKANResults unmogrowp.SKANStore
	// Exports keeps the scheduled exports to object storage (docs/export.md); nil: their
	// routes answer 503. SecretKey (SECRETS_KEY) seals their destinations' secrets; nil:
	// creating one answers 503 saying so.
	Exports   unmogrowp.ExportStore
	SecretKey *unmogrowp.SecretKey
	// Explain is where the explain route reads install events and touchpoints (the
	// analytics store); nil: it answers 503.
	Explain Explainer
	// Datacenters are the datacenter_ip rule's ranges for explanations (the imported IP
	// lists); nil: none.
	Datacenters unmogrowp.IPSet
	// OpenDSR serves the subject request routes (opendsr.go); nil: they answer 503.
	OpenDSR *OpenDSRConfig
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
	auth        *authCache                  // of what authorization reads
	codes       *keyedLimiter               // two-factor code attempts per user
	rates       *fx.Cache                   // of cfg.FXRates; nil without
	costs       unmogrowp.CostSources       // of cfg.Results and cfg.Costs: the media_sources and LTV reports' cost
}

// New returns the API listener's handler for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.IngestURL = strings.TrimRight(cfg.IngestURL, "/")
	ttl := cfg.AuthCacheTTL
	if ttl == 0 {
		ttl = DefaultAuthCacheTTL
	}
	s := &Server{cfg: cfg, crossOrigin: http.NewCrossOriginProtection(), sender: cfg.PostbackSender, auth: newAuthCache(ttl),
		codes: newKeyedLimiter(codesPerUser, rateLimitInterval), costs: unmogrowp.CostSources{Touchpoints: cfg.Results, Imported: cfg.Costs}}
	if s.sender == nil {
		s.sender = postback.NewSender(postback.SenderOptions{})
	}
	if cfg.FXRates != nil {
		s.rates = fx.NewCache(cfg.FXRates)
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	mux.Handle("GET /health", httpserve.HealthHandler(cfg.Health, cfg.Logger))
	mux.HandleFunc("GET /api/openapi.json", handleOpenAPI)
	mux.Handle("GET "+CertificatePath, httpserve.HandlerFunc(s.handleCertificate))
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
	s.handler = httpserve.Middleware(noSniff(withDeadline(mux, cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout))),
		httpserve.MiddlewareConfig{Listener: "api", Logger: cfg.Logger, Registry: cfg.Registry})
	return s
}

// DefaultRequestTimeout is Config.RequestTimeout's default: under the HTTP server's own
// write timeout (30 s), so that the 503 can still be written.
const DefaultRequestTimeout = 25 * time.Second

// withDeadline gives each request's context a deadline timeout from its start, keeping
// the context it had for withoutDeadline.
func withDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), undeadlinedKey{}, r.Context()), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// undeadlinedKey keys, in a request's context, its context before withDeadline's deadline.
type undeadlinedKey struct{}

// withoutDeadline returns r's context without withDeadline's deadline, for a handler
// that streams an answer for as long as its client reads (an export). It still ends when
// the client goes away or the server shuts down.
func withoutDeadline(r *http.Request) context.Context {
	if ctx, ok := r.Context().Value(undeadlinedKey{}).(context.Context); ok {
		return ctx
	}
	return r.Context()
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

// routes lists every authenticated /api/ route but the account ones: the tenancy and role
// tests walk exactly this list, so a route added here without a tenancy case fails them.
//
// Each app route declares the role it needs (API.md, "Teams") where it is listed: s.app
// needs viewer for GET and HEAD and editor for any other method; s.appRole names the
// role of a route that needs more (admin, owner). authorizeApp checks it before the
// handler runs, so no handler can forget it.
func (s *Server) routes() []route {
	return []route{
		{"GET /api/apps", s.user(s.handleApps)},
		{"POST /api/apps", s.user(s.handleCreateApp)},
		{"GET /api/apps/{app_id}", s.app(s.handleApp)},
		{"PATCH /api/apps/{app_id}", s.appRole(unmogrowp.RoleAdmin, s.handlePatchApp)},
		{"DELETE /api/apps/{app_id}", s.appRole(unmogrowp.RoleOwner, s.handleDeleteApp)},
		{"POST /api/apps/{app_id}/keys/rotate", s.appRole(unmogrowp.RoleAdmin, s.handleRotateKey)},
		{"GET /api/apps/{app_id}/attribution/{device_id}", s.app(s.handleAttribution)},
		{"GET /api/apps/{app_id}/attribution/{device_id}/explain", s.app(s.handleExplain)},
		{"GET /api/apps/{app_id}/installs", s.app(s.handleInstalls)},
		{"GET /api/apps/{app_id}/export/{report}", s.app(s.handleExport)},
		{"GET /api/apps/{app_id}/exports", s.app(s.handleExports)},
		// Creating or deleting a scheduled export needs admin: it sends every raw row,
		// personal data included, to a bucket outside the server.
		{"POST /api/apps/{app_id}/exports", s.appRole(unmogrowp.RoleAdmin, s.handleCreateExport)},
		{"GET /api/apps/{app_id}/exports/{export_id}", s.app(s.handleExportSchedule)},
		{"DELETE /api/apps/{app_id}/exports/{export_id}", s.appRole(unmogrowp.RoleAdmin, s.handleDeleteExport)},
		{"GET /api/apps/{app_id}/exports/{export_id}/runs", s.app(s.handleExportRuns)},
		{"GET /api/apps/{app_id}/links", s.app(s.handleLinks)},
		{"POST /api/apps/{app_id}/links", s.app(s.handleCreateLink)},
		{"PATCH /api/apps/{app_id}/links/{link_id}", s.app(s.handlePatchLink)},
		{"DELETE /api/apps/{app_id}/links/{link_id}", s.app(s.handleDeleteLink)},
		{"GET /api/apps/{app_id}/links/{link_id}/qr", s.app(s.handleLinkQR)},
		{"GET /api/apps/{app_id}/postbacks", s.app(s.handlePostbacks)},
		{"POST /api/apps/{app_id}/postbacks", s.app(s.handleCreatePostback)},
		{"POST /api/apps/{app_id}/postbacks/preview", s.app(s.handlePreviewPostback)},
		{"GET /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handlePostback)},
		{"PATCH /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handlePatchPostback)},
		{"DELETE /api/apps/{app_id}/postbacks/{postback_id}", s.app(s.handleDeletePostback)},
		{"POST /api/apps/{app_id}/postbacks/{postback_id}/test", s.app(s.handleTestPostback)},
		{"GET /api/apps/{app_id}/postbacks/{postback_id}/deliveries", s.app(s.handleDeliveries)},
		{"GET /api/apps/{app_id}/members", s.app(s.handleMembers)},
		{"POST /api/apps/{app_id}/members", s.appRole(unmogrowp.RoleAdmin, s.handleAddMember)},
		{"PATCH /api/apps/{app_id}/members/{user_id}", s.appRole(unmogrowp.RoleAdmin, s.handlePatchMember)},
		{"DELETE /api/apps/{app_id}/members/{user_id}", s.appRole(unmogrowp.RoleAdmin, s.handleRemoveMember)},
		{"DELETE /api/apps/{app_id}/invitations/{invitation_id}", s.appRole(unmogrowp.RoleAdmin, s.handleRevokeInvitation)},
		{"POST /api/apps/{app_id}/leave", s.appRole(unmogrowp.RoleViewer, s.handleLeave)},
		{"POST /api/apps/{app_id}/transfer", s.appRole(unmogrowp.RoleOwner, s.handleTransfer)},
		{"GET /api/apps/{app_id}/audit", s.appRole(unmogrowp.RoleAdmin, s.handleAudit)},
		{"POST /api/invitations/{token}/accept", s.user(s.handleAcceptInvitation)},
		{"GET /api/auth/tokens", s.user(s.handleTokens)},
		{"POST /api/auth/tokens", s.user(s.handleCreateToken)},
		{"DELETE /api/auth/tokens/{token_id}", s.user(s.handleRevokeToken)},
		{"GET /api/apps/{app_id}/skan/schema", s.app(s.handleGetSKANSchema)},
		{"PUT /api/apps/{app_id}/skan/schema", s.app(s.handlePutSKANSchema)},
		{"GET /api/apps/{app_id}/skan/networks", s.app(s.handleGetSKANNetworks)},
		{"PUT /api/apps/{app_id}/skan/networks", s.app(s.handlePutSKANNetworks)},
		{"GET /api/apps/{app_id}/skan/postbacks", s.app(s.handleSKANPostbacks)},
		{"GET /api/apps/{app_id}/costs", s.app(s.handleCosts)},
		{"GET /api/apps/{app_id}/opendsr/discovery", s.app(s.handleOpenDSRDiscovery)},
		{"POST /api/apps/{app_id}/opendsr/requests", s.app(s.handleCreateOpenDSRRequest)},
		{"GET /api/apps/{app_id}/opendsr/requests/{subject_request_id}", s.app(s.handleOpenDSRStatus)},
		{"DELETE /api/apps/{app_id}/opendsr/requests/{subject_request_id}", s.app(s.handleCancelOpenDSRRequest)},
		{"GET /api/apps/{app_id}/opendsr/requests/{subject_request_id}/results", s.app(s.handleOpenDSRResults)},
		{"POST /api/apps/{app_id}/costs", s.app(s.handlePutCosts)},
		{"GET /api/auth/sessions", s.user(s.handleSessions)},
		{"DELETE /api/auth/sessions/{session_id}", s.user(s.handleRevokeSession)},
		{"GET /api/auth/two-factor", s.user(s.handleTwoFactor)},
		{"POST /api/auth/two-factor", s.user(s.handleStartTwoFactor)},
		{"POST /api/auth/two-factor/confirm", s.user(s.handleConfirmTwoFactor)},
		{"POST /api/auth/two-factor/disable", s.user(s.handleDisableTwoFactor)},
		{"POST /api/attribution/track", s.handleTrack(false)},
		{"POST /api/attribution/batch", s.handleTrack(true)},
		{"GET /api/dashboard/stats", s.report(s.handleStats)},
		{"GET /api/dashboard/charts/{chart_type}", s.report(s.handleChart)},
		{"GET /api/analytics/reports/breakdown", s.report(s.handleBreakdown)},
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

// user wraps a handler of a signed-in user's routes; the caller is in the request's
// context (callerOf).
func (s *Server) user(h func(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.currentCaller(r)
		if err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)), c.user)
	}
}

// app wraps a handler of one app's routes that needs the default role of its method
// (methodRole: viewer to read, editor to change): it authorizes the request for the app
// named by {app_id} and passes the app on; the caller is in the request's context
// (callerOf).
func (s *Server) app(h func(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error) httpserve.HandlerFunc {
	return s.appRole(unmogrowp.RoleNone, h)
}

// appRole is app for a route that needs the role need; RoleNone: methodRole's.
func (s *Server) appRole(need unmogrowp.Role, h func(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		role := need
		if role == unmogrowp.RoleNone {
			role = methodRole(r.Method)
		}
		app, c, err := s.authorizeApp(r, r.PathValue("app_id"), role)
		if err != nil {
			return fmt.Errorf("authorize app: %w", err)
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)), app)
	}
}

// methodRole is the role a route of an app needs by default: viewer for GET and HEAD,
// which only read, and editor for the methods that change something.
func methodRole(method string) unmogrowp.Role {
	if method == http.MethodGet || method == http.MethodHead {
		return unmogrowp.RoleViewer
	}
	return unmogrowp.RoleEditor
}

// ServerKeyRole is the role an app's server key (X-Api-Key) acts with on the app's
// routes: editor. The key is in the advertiser's servers and its ad networks' hands, so
// it may read the app, manage links and postbacks and send events, but not change the
// app's settings, rotate its own key, manage members or delete the app: those need a
// signed-in admin or the owner.
const ServerKeyRole = unmogrowp.RoleEditor

// authorizeApp returns the app with the id and the caller if the request may use it with
// the role need: a signed-in user (Authorization: Bearer with a session or personal
// access token, or the session cookie) with at least that role on it, or the app's own
// server key (X-Api-Key, for advertisers' scripts), which acts as ServerKeyRole. It
// returns EUNAUTHORIZED without valid credentials; ENOTFOUND for an app that does not
// exist or that the caller has no role on, so ids leak nothing; EFORBIDDEN for a role
// below need, a read-only token on a method that changes something, or a cookie request
// that fails the CSRF check. What it reads is kept in s.auth for a few seconds
// (authcache.go), so that a request usually costs no store read.
func (s *Server) authorizeApp(r *http.Request, appID string, need unmogrowp.Role) (*unmogrowp.App, *caller, error) {
	now := time.Now()
	if key := r.Header.Get("X-Api-Key"); key != "" && r.Header.Get("Authorization") == "" {
		hash := unmogrowp.HashSessionToken(key)
		app, ok := s.auth.keyApp(hash, now)
		var err error
		if !ok {
			gen := s.auth.generation()
			if app, err = s.cfg.Apps.AppByKey(r.Context(), key, unmogrowp.ServerKey); err == nil {
				s.auth.putKeyApp(gen, hash, app, now)
			}
		}
		switch {
		case unmogrowp.ErrorCode(err) == unmogrowp.EUNAUTHORIZED:
			return nil, nil, unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Unknown key.")
		case err != nil:
			return nil, nil, err
		case app.ID != appID:
			return nil, nil, errNoApp()
		case !ServerKeyRole.AtLeast(need):
			return nil, nil, unmogrowp.Errorf(unmogrowp.EFORBIDDEN,
				"The server key acts as an editor of its app; this needs the %s role: sign in as a member who has it.", need)
		}
		return app, &caller{role: ServerKeyRole}, nil
	}
	c, err := s.currentCaller(r)
	if err != nil {
		return nil, nil, err
	}
	var (
		app *unmogrowp.App
		ok  bool
	)
	switch {
	case s.cfg.Teams == nil:
		if app, err = s.cfg.Apps.App(r.Context(), appID); err == nil && app.OwnerID == c.user.ID {
			c.role = unmogrowp.RoleOwner
		}
	default:
		if app, c.role, ok = s.auth.role(appID, c.user.ID, now); !ok {
			gen := s.auth.generation()
			if app, c.role, err = s.cfg.Teams.AppRole(r.Context(), appID, c.user.ID); err == nil {
				s.auth.putRole(gen, app, c.user.ID, c.role, now)
			}
		}
	}
	switch {
	case unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND:
		return nil, nil, errNoApp()
	case err != nil:
		return nil, nil, err
	case c.role == unmogrowp.RoleNone:
		return nil, nil, errNoApp()
	case !c.role.AtLeast(need):
		return nil, nil, unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "This needs the %s role on the app; you are its %s.", need, c.role)
	}
	return app, c, nil
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
	if s.cfg.Consents != nil {
		cs, err := s.cfg.Consents.Consents(r.Context(), app.ID, []string{deviceID})
		if err != nil {
			return fmt.Errorf("read consent: %w", err)
		}
		c, stated := cs[deviceID]
		in.NoSharing = stated && !c.Sharing
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
