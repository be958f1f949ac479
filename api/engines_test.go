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
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/opendsr"
)

// metadataEngines are the metadata store's engines that the team tests run the API on:
// SQLite always, PostgreSQL when UNMOGROWP_TEST_POSTGRES_URL names a server.
var metadataEngines = []string{"sqlite", "postgres"}

// openMetadata opens a metadata store of the engine on a new database of t's own, gone
// when t ends.
func openMetadata(t *testing.T, engine string) *metadata.DB {
	t.Helper()
	ctx := context.Background()
	u := metadata.SQLiteURL(filepath.Join(t.TempDir(), "metadata.db"))
	if engine == "postgres" {
		admin := testenv.Server(t, testenv.PostgresEnv, "apt-get install postgresql")
		var b [8]byte
		rand.Read(b[:])
		name := "unmogrowp_api_" + hex.EncodeToString(b[:])
		pgExec(t, admin, "CREATE DATABASE "+name)
		t.Cleanup(func() { pgExec(t, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
		pu, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		pu.Path = "/" + name
		u = pu.String()
	}
	meta, err := metadata.Open(ctx, u, metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}

// pgExec runs one statement on the PostgreSQL database at dbURL.
func pgExec(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", testenv.PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// teamServer is the API on a metadata store of the engine and a DuckDB store, with users
// registering through it, as tenancyServer.
func teamServer(t *testing.T, engine string) (*api.Server, *httptest.Server) {
	t.Helper()
	meta := openMetadata(t, engine)
	_, store := openStores(t)
	signer, err := opendsr.LoadSigner(context.Background(), meta, "test")
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{Apps: meta, Links: meta, Users: meta, Teams: meta, Accounts: meta, Results: store, Postbacks: meta, Outbox: meta, SKAN: meta, SKANResults: store, FXRates: meta, Costs: meta, Deliveries: meta, Consents: meta,
		Registry: prometheus.NewRegistry(), IngestURL: "http://t.example",
		OpenDSR: &api.OpenDSRConfig{Requests: meta, Signer: signer}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// forEachEngine runs f in a subtest for each metadata engine the test can have.
func forEachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range metadataEngines {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}
