package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/mail"
	"github.com/unmogrowp/unmogrowp/opendsr"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/postback"
	"github.com/unmogrowp/unmogrowp/s3export"
	"github.com/unmogrowp/unmogrowp/wal"
	"github.com/unmogrowp/unmogrowp/web"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	return runRoles(ctx, "serve", roleIngestion|roleConsumer|roleAPI, args, getenv, stderr)
}

// serveGCPercent is Go's GOGC for `serve` when the environment sets none: a collection
// starts when the heap has grown by half what the last one left live, not by all of it
// (Go's default, 100). serve shares the machine's memory with DuckDB, which fills its
// memory_limit; the collector's headroom is most of Go's share, and collections are a
// small part of the process's CPU (docs/performance-analysis.md).
const serveGCPercent = 50

// runRoles runs a process of the roles until ctx is done: `unmogrowp serve` (all of them)
// or one service of the split deployment (`ingestion`, `consumer`, `api`).
func runRoles(ctx context.Context, name string, roles role, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig(name, args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	s, err := openServer(cfg, roles, logger)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	attrs := []any{"command", name, "version", version}
	for _, l := range s.listeners() {
		attrs = append(attrs, l.name, l.ln.Addr().String())
	}
	logger.Info("unmogrowp running", attrs...)
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return s.Close()
	case err := <-s.failed:
		logger.Error("shutting down: the pipeline cannot go on in this process; a restart reads the log again from its last commit", "err", err)
		return errors.Join(err, s.Close())
	}
}

// Server is one process of UnMoGrowP: every role in one process for `unmogrowp serve`, or
// one service of the split deployment. Tests start it on :0 addresses.
type Server struct {
	cfg      *Config
	roles    role
	logger   *slog.Logger
	registry *prometheus.Registry
	backends *backends
	pipeline *pipeline.Pipeline  // the consumer role's
	worker   *postback.Worker    // the consumer role's: delivers the outbox's postbacks
	exports  *s3export.Scheduler // the consumer role's: writes the scheduled exports
	// datacenters are the imported IP lists, kept current, for the consumer's
	// datacenter_ip rule and the API's explanations.
	datacenters *unmogrowp.IPListWatcher
	signer      *opendsr.Signer // the processor's key: the API's and the consumer's
	runner      *opendsr.Runner // the consumer role's: carries out OpenDSR requests

	ingestLn, apiLn, consumerLn, pprofLn net.Listener
	servers                              []*http.Server

	// failed gets the error that ended the pipeline when only a restart can put it right
	// (pipeline.ErrHeldLost): runRoles then stops the process.
	failed    chan error
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// openServer opens the backends of the roles and, for the consumer role, the pipeline.
func openServer(cfg *Config, roles role, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, roles: roles, logger: logger, registry: prometheus.NewRegistry(), datacenters: &unmogrowp.IPListWatcher{},
		failed: make(chan error, 1)}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b, err := openBackends(cfg, roles, logger)
	if err != nil {
		return nil, err
	}
	s.backends = b
	if b.wal != nil {
		registerWALMetrics(s.registry, b.wal)
	}
	if roles.has(roleConsumer | roleAPI) {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		s.signer, err = opendsr.LoadSigner(ctx, b.meta, processorDomain(cfg))
		cancel()
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("load the OpenDSR processor key: %w", err)
		}
	}
	if roles.has(roleConsumer) {
		if s.worker, err = newPostbackWorker(cfg, b.meta, s.registry, logger); err != nil {
			b.Close()
			return nil, err
		}
		s.exports = s3export.New(s3export.Config{
			Store: b.meta, Results: b.store, Deliveries: b.meta, Key: cfg.SecretKey,
			Delay: cfg.ExportDelay, LateWindow: cfg.ExportLateWindow, LateCheck: cfg.ExportLateCheck, Interval: cfg.ExportInterval,
			Logger: logger.With("component", "exports"),
		})
		postbacks := pipeline.NewPostbacks(b.meta, b.meta, pipeline.PostbacksOptions{
			Logger: logger, Enqueued: s.worker.Wake, Registerer: s.registry, Consents: b.meta,
		})
		attributor := pipeline.NewAttributor(b.meta, b.hot, b.store, pipeline.AttributorOptions{
			Logger: logger, Registerer: s.registry, Postbacks: postbacks, Datacenters: s.datacenters,
		})
		var yield time.Duration
		batch, hold := consumerBatchSize, 0
		if roles.has(roleIngestion) { // ingestion shares this process's CPU
			yield, batch = cfg.YieldLimit, serveBatchSize
			if schemeOf(cfg.HotStateURL) == "memory" { // rebuilt from the store at start: see pipeline.Options.HoldRows
				hold = duckdb.RowGroupRows
			}
		}
		s.pipeline = pipeline.New(b.reader, b.dedup, b.store, pipeline.Options{
			Logger: logger, Registerer: s.registry, Stage: attributor, YieldLimit: yield, BatchSize: batch,
			HoldRows: hold, HoldFor: cfg.HoldFor, Tombstones: opendsr.NewCache(b.meta),
		})
		s.runner = newRunner(cfg, b, s.signer, logger)
	}
	return s, nil
}

// serveBatchSize is the pipeline's batch in `unmogrowp serve`, where ingestion and the
// pipeline share the cores: a sixth of a DuckDB row group (duckdb.RowGroupRows), about
// four times pipeline.DefaultBatchSize, so a backlog drains in a quarter of the claim
// syncs and appender set-ups (BenchmarkPipeline, 200,000 events, 3 interleaved runs:
// 40,000 → 55,500 events/s, 16.6 → 15.3 µs of CPU an event, at 20,000). While a backlog
// drains, six such batches share one DuckDB transaction (pipeline.Options.HoldRows),
// which DuckDB compresses and writes to the database file as its row group fills, its WAL
// carrying only the place; smaller transactions go through its WAL and are compressed
// again at each checkpoint. Go holds the decoded rows of two batches at a time, not of
// two row groups. docs/performance-analysis.md has the figures.
const serveBatchSize = duckdb.RowGroupRows / 6

// consumerBatchSize is the pipeline's batch in the split consumer: ten times
// pipeline.DefaultBatchSize, so that a backlog reaches ClickHouse in INSERTs of 50,000
// rows, each one part, as ClickHouse advises (10,000 to 100,000 rows an INSERT): parts of
// 5,000 rows cost it 14 rows merged for each row inserted, most of its CPU. Redis takes
// the batch's claims, device reads and decisions in a pipeline each, whatever its size.
const consumerBatchSize = 10 * pipeline.DefaultBatchSize

// newRunner returns the runner of OpenDSR requests over the process's stores: it forgets
// erased devices in the hot state and the deduplicator it holds, and posts callbacks as
// postbacks go (POSTBACK_ALLOW_PRIVATE).
func newRunner(cfg *Config, b *backends, signer *opendsr.Signer, logger *slog.Logger) *opendsr.Runner {
	var forget []unmogrowp.Forgetter
	for _, x := range []any{b.hot, b.dedup} {
		if f, ok := x.(unmogrowp.Forgetter); ok {
			forget = append(forget, f)
		}
	}
	retention := cfg.LogRetention
	if retention == 0 {
		retention = 7 * 24 * time.Hour // Kafka's default retention.ms
		if schemeOf(cfg.LogURL) == "wal" {
			retention = cfg.WALRetention
		}
	}
	return opendsr.NewRunner(opendsr.RunnerOptions{
		Requests: b.meta, Analytics: b.store, Forget: forget, Signer: signer,
		Sender: postback.NewSender(postback.SenderOptions{AllowPrivate: cfg.PostbackAllowPrivate}),
		Domain: processorDomain(cfg), LogRetention: retention, Logger: logger,
		ResultsURL: func(appID, id string) string {
			return strings.TrimRight(cfg.PublicURL, "/") + "/api/apps/" + appID + "/opendsr/requests/" + id + "/results"
		},
	})
}

// processorDomain is the OpenDSR processor's domain: PUBLIC_URL's host, or "localhost".
func processorDomain(cfg *Config) string {
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// Start opens the listeners of the roles and starts serving and processing.
func (s *Server) Start() (err error) {
	b := s.backends
	if s.roles.has(roleIngestion) {
		if s.ingestLn, err = net.Listen("tcp", s.cfg.IngestAddr); err != nil {
			return fmt.Errorf("listen on INGEST_ADDR %s: %w", s.cfg.IngestAddr, err)
		}
	}
	if s.roles.has(roleAPI) {
		if s.apiLn, err = net.Listen("tcp", s.cfg.APIAddr); err != nil {
			return fmt.Errorf("listen on API_ADDR %s: %w", s.cfg.APIAddr, err)
		}
	}
	if s.roles == roleConsumer {
		if s.consumerLn, err = net.Listen("tcp", s.cfg.ConsumerAddr); err != nil {
			return fmt.Errorf("listen on CONSUMER_ADDR %s: %w", s.cfg.ConsumerAddr, err)
		}
	}
	if s.cfg.PprofAddr != "" {
		if s.pprofLn, err = net.Listen("tcp", s.cfg.PprofAddr); err != nil {
			return fmt.Errorf("listen on PPROF_ADDR %s: %w", s.cfg.PprofAddr, err)
		}
		s.serve(pprofHandler(), s.pprofLn)
	}
	var ing *ingest.Server
	if s.roles.has(roleIngestion | roleAPI) {
		// The API's track routes go through the same ingestion code into the log.
		var devices ingest.Devices
		if b.hot != nil {
			devices = b.hot
		}
		ing = ingest.New(ingest.Config{
			Log: b.log, Apps: b.meta, Links: b.meta, SKANApps: b.meta, Devices: devices, Consents: b.meta, Health: b.health,
			TrustedProxies: s.cfg.TrustedProxies, CORSOrigins: s.cfg.CORSOrigins,
			Registry: s.registry, Logger: s.logger.With("component", "ingest"), RateLimiter: b.limit,
			Signatures: b.sigs,
		})
	}
	if s.ingestLn != nil {
		s.serve(ing, s.ingestLn)
	}
	if s.apiLn != nil {
		s.serve(s.apiHandler(ing), s.apiLn)
	}
	if s.consumerLn != nil {
		s.serve(httpserve.Middleware(s.consumerHandler(), httpserve.MiddlewareConfig{Listener: "consumer", Logger: s.logger, Registry: s.registry}), s.consumerLn)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.roles.has(roleConsumer | roleAPI) {
		// The lists as they are now, before the pipeline decides anything; then kept current.
		if err := s.datacenters.Load(ctx, b.meta); err != nil {
			s.logger.Warn("ip lists not loaded", "err", err)
		}
		s.wg.Go(func() { s.datacenters.Run(ctx, b.meta, 0, s.logger.With("component", "iplists")) })
	}
	if s.pipeline != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.pipeline.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.logger.Error("pipeline stopped", "err", err)
				if errors.Is(err, pipeline.ErrHeldLost) {
					s.failed <- err
				}
			}
		}()
	}
	if s.worker != nil {
		s.wg.Go(func() { s.worker.Run(ctx) })
	}
	if s.exports != nil {
		s.wg.Go(func() { _ = s.exports.Run(ctx) })
	}
	if s.runner != nil {
		s.wg.Go(func() { s.runner.Run(ctx) })
	}
	return nil
}

// newPostbackWorker returns the worker that delivers the postbacks of the outbox in meta,
// as POSTBACK_RETRY_DELAYS and POSTBACK_ALLOW_PRIVATE say, pruning its log as
// POSTBACK_LOG_RETENTION says, signing each request with its
// postback's secret as it stands at the attempt. Any number of consumers may run one:
// the outbox's leases make each attempt once.
func newPostbackWorker(cfg *Config, meta metadataStore, reg prometheus.Registerer, logger *slog.Logger) (*postback.Worker, error) {
	w, err := postback.NewWorker(postback.WorkerOptions{
		Outbox: meta,
		Sender: postback.NewSender(postback.SenderOptions{AllowPrivate: cfg.PostbackAllowPrivate}),
		Secret: func(ctx context.Context, appID, postbackID string) (string, error) {
			p, err := meta.Postback(ctx, appID, postbackID)
			if err != nil {
				return "", err
			}
			return p.Secret, nil
		},
		RetryDelays: cfg.PostbackRetryDelays,
		Retention:   cfg.PostbackLogRetention,
		Registerer:  reg,
		Logger:      logger.With("component", "postbacks"),
	})
	if err != nil {
		return nil, fmt.Errorf("postback worker: %w", err)
	}
	return w, nil
}

// registerWALMetrics exports the embedded log's status: whether it takes writes, its failed
// writes, and what damage it found at start.
func registerWALMetrics(reg prometheus.Registerer, w *wal.WAL) {
	gauge := func(name, help string, f func(wal.Status) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(w.Status()) })
	}
	reg.MustRegister(
		gauge("unmogrowp_log_writable", "1 while the write-ahead log takes appends, 0 while a failed write (such as a full disk) is retried.",
			func(st wal.Status) float64 { return b2f(st.Writable) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "unmogrowp_log_write_errors_total", Help: "Writes, syncs and retried writes of the write-ahead log that failed.",
		}, func() float64 { return float64(w.Status().WriteErrors) }),
		gauge("unmogrowp_log_damaged_records", "Records the write-ahead log found damaged in its newest segment at start and skipped.",
			func(st wal.Status) float64 { return float64(st.LostRecords) }),
		gauge("unmogrowp_log_damaged_segments", "Damaged segment files the write-ahead log moved aside (<name>.damaged) at start.",
			func(st wal.Status) float64 { return float64(len(st.Damaged)) }),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// The ingestion listener is the API's tracker and app cache in one process.
var (
	_ api.Tracker  = (*ingest.Server)(nil)
	_ api.AppCache = (*ingest.Server)(nil)
)

// apiHandler is the API listener's handler, sending tracked events through ing.
func (s *Server) apiHandler(ing *ingest.Server) http.Handler {
	publicURL := s.cfg.PublicURL
	if publicURL == "" && s.ingestLn != nil {
		publicURL = localURL(s.ingestLn.Addr())
	} else if publicURL == "" {
		s.logger.Warn("PUBLIC_URL is not set: tracking links' click and impression URLs will be paths without the ingestion listener's host")
	}
	var google *api.GoogleConfig
	if s.cfg.GoogleClientID != "" {
		google = &api.GoogleConfig{
			ClientID: s.cfg.GoogleClientID, ClientSecret: s.cfg.GoogleClientSecret,
			IssuerURL: s.cfg.GoogleIssuerURL, RedirectURL: s.cfg.GoogleRedirectURL,
		}
		s.logger.Info("sign-in with Google on", "issuer", google.IssuerURL,
			"code_flow", google.ClientSecret != "" && google.RedirectURL != "")
	}
	b := s.backends
	var (
		appCache api.AppCache
		tracker  api.Tracker
	)
	if ing != nil {
		appCache, tracker = ing, ing
	}
	var mailer api.Mailer
	if s.cfg.SMTPURL != "" {
		// loadConfig checked both, so this does not fail.
		if m, err := mail.New(mail.Options{URL: s.cfg.SMTPURL, From: s.cfg.SMTPFrom}); err != nil {
			s.logger.Error("mail off", "err", err)
		} else {
			mailer = m
			s.logger.Info("mail on", "smtp", m.Addr())
		}
	}
	ttl := s.cfg.AuthCacheTTL
	if ttl == 0 {
		ttl = -1 // AUTH_CACHE_TTL=0: no cache
	}
	var wake func()
	if s.runner != nil {
		wake = s.runner.Wake
	}
	return api.New(api.Config{
		Apps: b.meta, Links: b.meta, Users: b.meta, Teams: b.meta, Accounts: b.meta, Results: b.store, Tracker: tracker, Health: b.health, Registry: s.registry,
		Signup: s.cfg.Signup, Mailer: mailer, DashboardURL: s.cfg.DashboardURL, AuthCacheTTL: ttl, RequestTimeout: s.cfg.APITimeout,
		Logger: s.logger.With("component", "api"), IngestURL: publicURL, Google: google,
		TrustedProxies: s.cfg.TrustedProxies, Dashboard: web.Handler(), AppCache: appCache,
		Postbacks: b.meta, Outbox: b.meta, SKAN: b.meta, SKANResults: b.store, Costs: b.meta, Deliveries: b.meta, Consents: b.meta,
		Exports: b.meta, SecretKey: s.cfg.SecretKey,
		Explain: b.store, Datacenters: s.datacenters,
		FXRates: b.meta, AdminEmails: s.cfg.AdminEmails,
		PostbackSender: postback.NewSender(postback.SenderOptions{AllowPrivate: s.cfg.PostbackAllowPrivate}),
		OpenDSR:        &api.OpenDSRConfig{Requests: b.meta, Signer: s.signer, Wake: wake, Domain: processorDomain(s.cfg)},
	})
}

// consumerHandler serves the consumer service's /health and /metrics.
func (s *Server) consumerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /health", httpserve.HealthHandler(s.backends.health, s.logger))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}

// pprofHandler serves Go's runtime profiles (net/http/pprof) under /debug/pprof/.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serve serves h on ln until Close.
func (s *Server) serve(h http.Handler, ln net.Listener) {
	srv := newHTTPServer(h, s.logger)
	s.servers = append(s.servers, srv)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Go's own answers to requests it cannot parse are JSON too, as every other answer.
		if err := srv.Serve(httpserve.JSONProtocolErrors(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("listener stopped", "addr", ln.Addr(), "err", err)
		}
	}()
}

// namedListener is a listener with the name of its address setting, for the start-up log.
type namedListener struct {
	name string
	ln   net.Listener
}

// listeners are the listeners the process opened.
func (s *Server) listeners() []namedListener {
	var out []namedListener
	for _, l := range []namedListener{{"ingest", s.ingestLn}, {"api", s.apiLn}, {"consumer", s.consumerLn}, {"pprof", s.pprofLn}} {
		if l.ln != nil {
			out = append(out, l)
		}
	}
	return out
}

// localURL is the http URL of a listener on this machine: its address, with localhost for
// a wildcard host (":8080" listens on [::]:8080, which a browser cannot open).
func localURL(addr net.Addr) string { return addrURL(addr.String()) }

// IngestAddr is the ingestion listener's address.
func (s *Server) IngestAddr() string { return s.ingestLn.Addr().String() }

// APIAddr is the API listener's address.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// Close shuts down gracefully: stop accepting requests and wait for those in flight, stop
// the pipeline after its current batch, then flush and close every backend.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		for _, h := range s.servers {
			if err := h.Shutdown(ctx); err != nil {
				s.closeErr = errors.Join(s.closeErr, fmt.Errorf("shut down listener: %w", err))
			}
		}
		for _, ln := range []net.Listener{s.ingestLn, s.apiLn, s.consumerLn, s.pprofLn} {
			if ln != nil {
				ln.Close() // opened but never served when Start failed half-way
			}
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.closeErr = errors.Join(s.closeErr, s.backends.Close())
	})
	return s.closeErr
}

// newHTTPServer returns an http.Server with timeouts that keep slow or idle clients from
// holding connections forever.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
