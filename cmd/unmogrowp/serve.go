package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/dedup"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/sqlite"
	"github.com/unmogrowp/unmogrowp/wal"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	s, err := openServer(cfg, logger)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	logger.Info("unmogrowp serving", "version", version, "ingest", s.IngestAddr(), "api", s.APIAddr(), "data_dir", cfg.DataDir)
	<-ctx.Done()
	logger.Info("shutting down")
	return s.Close()
}

// Server is `unmogrowp serve`: every component wired in one process on embedded storage.
// Tests start it on :0 addresses.
type Server struct {
	cfg    *Config
	logger *slog.Logger

	meta     *sqlite.DB
	log      *wal.WAL
	dedup    *dedup.Store
	store    *duckdb.Store
	hot      *inmem.State
	pipeline *pipeline.Pipeline
	registry *prometheus.Registry

	ingestLn, apiLn net.Listener
	ingestHTTP      *http.Server
	apiHTTP         *http.Server

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// touchpointRetention is how long the in-process hot state keeps a touchpoint, from its
// touch time: the longest click lookback an app may set (30 days) and a day to spare.
const touchpointRetention = 31 * 24 * time.Hour

// openServer opens the embedded backends under cfg.DataDir.
func openServer(cfg *Config, logger *slog.Logger) (_ *Server, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &Server{cfg: cfg, logger: logger, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			s.closeBackends()
		}
	}()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.meta, err = sqlite.Open(filepath.Join(cfg.DataDir, "metadata.db"), logger.With("component", "sqlite")); err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	if s.log, err = wal.Open(filepath.Join(cfg.DataDir, "wal"), wal.Options{
		SegmentSize: cfg.WALSegmentBytes, Retention: cfg.WALRetention, Logger: logger.With("component", "wal"),
	}); err != nil {
		return nil, fmt.Errorf("open write-ahead log: %w", err)
	}
	if s.dedup, err = dedup.Open(filepath.Join(cfg.DataDir, "dedup"), dedup.Options{Logger: logger.With("component", "dedup")}); err != nil {
		return nil, fmt.Errorf("open dedup state: %w", err)
	}
	if s.store, err = duckdb.Open(filepath.Join(cfg.DataDir, "analytics.duckdb"), duckdb.Options{
		Logger: logger.With("component", "duckdb"), MemoryLimit: cfg.DuckDBMemory,
	}); err != nil {
		return nil, fmt.Errorf("open analytics store: %w", err)
	}
	s.hot = inmem.New(inmem.Options{Retention: touchpointRetention, Logger: logger.With("component", "hotstate")})
	start := time.Now()
	tps, devices, err := pipeline.RestoreHotState(context.Background(), s.store, s.hot, start.Add(-touchpointRetention))
	if err != nil {
		return nil, fmt.Errorf("restore hot state from the analytics store: %w", err)
	}
	logger.Info("hot state restored", "touchpoints", tps, "devices", devices, "took", time.Since(start).Round(time.Millisecond))
	attributor := pipeline.NewAttributor(s.meta, s.hot, pipeline.AttributorOptions{Logger: logger, Registerer: s.registry})
	s.pipeline = pipeline.New(s.log, s.dedup, s.store, pipeline.Options{
		Logger: logger, Registerer: s.registry, Stage: attributor,
	})
	return s, nil
}

// Start opens the listeners and starts serving and processing.
func (s *Server) Start() (err error) {
	if s.ingestLn, err = net.Listen("tcp", s.cfg.IngestAddr); err != nil {
		return fmt.Errorf("listen on INGEST_ADDR %s: %w", s.cfg.IngestAddr, err)
	}
	if s.apiLn, err = net.Listen("tcp", s.cfg.APIAddr); err != nil {
		return fmt.Errorf("listen on API_ADDR %s: %w", s.cfg.APIAddr, err)
	}
	health := map[string]func(context.Context) error{
		"metadata": s.meta.Ping,
		"store":    s.store.Ping,
	}
	ing := ingest.New(ingest.Config{
		Log: s.log, Apps: s.meta, Links: s.meta, Devices: s.hot, Health: health,
		TrustedProxies: s.cfg.TrustedProxies, CORSOrigins: s.cfg.CORSOrigins,
		Registry: s.registry, Logger: s.logger.With("component", "ingest"),
	})
	s.ingestHTTP = newHTTPServer(ing, s.logger)
	publicURL := s.cfg.PublicURL
	if publicURL == "" {
		publicURL = localURL(s.ingestLn.Addr())
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
	apiHandler := api.New(api.Config{
		Apps: s.meta, Links: s.meta, Users: s.meta, Results: s.store, Tracker: ing, Health: health, Registry: s.registry,
		Logger: s.logger.With("component", "api"), IngestURL: publicURL, Google: google,
		TrustedProxies: s.cfg.TrustedProxies,
	})
	s.apiHTTP = newHTTPServer(apiHandler, s.logger)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := s.pipeline.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.logger.Error("pipeline stopped", "err", err)
		}
	}()
	for _, srv := range []struct {
		h  *http.Server
		ln net.Listener
	}{{s.ingestHTTP, s.ingestLn}, {s.apiHTTP, s.apiLn}} {
		go func() {
			defer s.wg.Done()
			if err := srv.h.Serve(srv.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logger.Error("listener stopped", "addr", srv.ln.Addr(), "err", err)
			}
		}()
	}
	return nil
}

// localURL is the http URL of a listener on this machine: its address, with localhost for
// a wildcard host (":8080" listens on [::]:8080, which a browser cannot open).
func localURL(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil || ap.Addr().IsUnspecified() {
		_, port, _ := net.SplitHostPort(addr.String())
		return "http://localhost:" + port
	}
	return "http://" + ap.String()
}

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
		for _, h := range []*http.Server{s.ingestHTTP, s.apiHTTP} {
			if h != nil {
				if err := h.Shutdown(ctx); err != nil {
					s.closeErr = errors.Join(s.closeErr, fmt.Errorf("shut down listener: %w", err))
				}
			}
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.closeErr = errors.Join(s.closeErr, s.closeBackends())
	})
	return s.closeErr
}

func (s *Server) closeBackends() error {
	var errs []error
	if s.log != nil {
		errs = append(errs, s.log.Close())
	}
	if s.dedup != nil {
		errs = append(errs, s.dedup.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.hot != nil {
		errs = append(errs, s.hot.Close())
	}
	if s.meta != nil {
		errs = append(errs, s.meta.Close())
	}
	return errors.Join(errs...)
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
