package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/opendsr"
)

// metadataEngines are the metadata store's engines that the team tests run the API on:
// SQLite always, PostgreSQL when UNMOGROWP_TEST_POSTGRES_URL names a server.
var metadataEngines = []string{"sqlite", "postgres"}

// openMetadata opens a metadata store of the engine on a new database of tb's own, gone
// when tb ends.
func openMetadata(tb testing.TB, engine string) *metadata.DB {
	tb.Helper()
	u := metadata.SQLiteURL(filepath.Join(tb.TempDir(), "metadata.db"))
	if engine == "postgres" {
		u = postgresDatabase(tb)
	}
	meta, err := metadata.Open(context.Background(), u, metadata.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { meta.Close() })
	return meta
}

// postgresDatabase creates a database of tb's own on the server of
// UNMOGROWP_TEST_POSTGRES_URL and returns its URL; it is dropped when tb ends. It skips tb
// without a server.
func postgresDatabase(tb testing.TB) string {
	tb.Helper()
	admin := testenv.Server(tb, testenv.PostgresEnv, "apt-get install postgresql")
	var b [8]byte
	rand.Read(b[:])
	name := "unmogrowp_api_" + hex.EncodeToString(b[:])
	pgExec(tb, admin, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'")
	tb.Cleanup(func() { pgExec(tb, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pu, err := url.Parse(admin)
	if err != nil {
		tb.Fatal(err)
	}
	pu.Path = "/" + name
	return pu.String()
}

// pgExec runs one statement on the PostgreSQL database at dbURL.
func pgExec(tb testing.TB, dbURL, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect to %s: %v", testenv.PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// apiServer is the API with every store it takes on meta (the metadata store's) and store
// (the analytics store's), and cfg's other settings (a new registry when it has none),
// served until t ends.
func apiServer(t *testing.T, meta *metadata.DB, store *duckdb.Store, cfg api.Config) (*api.Server, *httptest.Server) {
	t.Helper()
	cfg.Apps, cfg.Links, cfg.Users, cfg.Teams, cfg.Accounts, cfg.Postbacks, cfg.Outbox = meta, meta, meta, meta, meta, meta, meta
	cfg.SKAN, cfg.FXRates, cfg.Costs, cfg.Deliveries, cfg.Consents = meta, meta, meta, meta, meta
	cfg.Results, cfg.SKANResults, cfg.Explain = store, store, store
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	h := api.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// teamServer is the API on a metadata store of the engine and a DuckDB store, with users
// registering through it, as tenancyServer.
func teamServer(t *testing.T, engine string) (*api.Server, *httptest.Server) {
	t.Helper()
	meta := openMetadata(t, engine)
	store := openDuckDB(t)
	signer, err := opendsr.LoadSigner(context.Background(), meta, "test")
	if err != nil {
		t.Fatal(err)
	}
	return apiServer(t, meta, store, api.Config{IngestURL: "http://t.example", Exports: meta, SecretKey: testSecretKey(t),
		OpenDSR: &api.OpenDSRConfig{Requests: meta, Signer: signer}})
}

// forEachEngine runs f in a subtest for each metadata engine the test can have.
func forEachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range metadataEngines {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}
