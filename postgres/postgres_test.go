package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/migrate"

	"github.com/jackc/pgx/v5"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/metadatatest"
	"github.com/unmogrowp/unmogrowp/testenv"
)

// enablePostgres says how to enable the tests that need PostgreSQL.
const enablePostgres = "apt-get install postgresql"

// testDatabase creates a database of t's own on the test server and returns its URL. The
// database is dropped, WITH (FORCE), when t ends; stores opened on it after this call are
// closed first (t.Cleanup runs last in, first out).
func testDatabase(t testing.TB) string {
	t.Helper()
	admin := testenv.Server(t, testenv.PostgresEnv, enablePostgres)
	var b [8]byte
	rand.Read(b[:])
	name := "unmogrowp_test_" + hex.EncodeToString(b[:])
	adminExec(t, admin, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`)
	t.Cleanup(func() { adminExec(t, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })

	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatalf("%s: %v", testenv.PostgresEnv, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return admin + " dbname=" + name // a key=value connection string: the last dbname wins
}

// adminExec runs one statement on the server's admin database, on a connection of its own.
func adminExec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", testenv.PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// openTest opens a store on a fresh database, closed when t ends, and returns it with the
// database's URL.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	dbURL := testDatabase(t)
	db, err := Open(context.Background(), dbURL, WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, dbURL
}

func TestAppStore(t *testing.T) {
	testenv.Server(t, testenv.PostgresEnv, enablePostgres) // skip once, not in every subtest
	metadatatest.RunAppStore(t, func(t *testing.T) unmogrowp.AppStore {
		db, _ := openTest(t)
		return db
	})
}

func TestLinkStore(t *testing.T) {
	testenv.Server(t, testenv.PostgresEnv, enablePostgres) // skip once, not in every subtest
	metadatatest.RunLinkStore(t, func(t *testing.T) metadatatest.LinkStoreWithApps {
		db, _ := openTest(t)
		return db
	})
}

func TestUserStore(t *testing.T) {
	testenv.Server(t, testenv.PostgresEnv, enablePostgres) // skip once, not in every subtest
	metadatatest.RunUserStore(t, func(t *testing.T) unmogrowp.UserStore {
		db, _ := openTest(t)
		return db
	})
}

func TestPing(t *testing.T) {
	db, _ := openTest(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a canceled context: %v, want context.Canceled", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type migrationRow struct {
	Version   int
	Name      string
	AppliedAt int64
}

func migrationRows(t *testing.T, db *DB) []migrationRow {
	t.Helper()
	rows, err := db.pool.Query(context.Background(),
		`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[migrationRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustApps(t *testing.T, db *DB) []*unmogrowp.App {
	t.Helper()
	apps, err := db.Apps(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// TestReopen opens the database twice more: the migrations are idempotent (no
// schema_migrations row changes), and the apps and their keys are as they were.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	db, dbURL := openTest(t)
	owner := &unmogrowp.User{Email: "owner@example.com"}
	if err := db.CreateUser(ctx, owner, ""); err != nil {
		t.Fatal(err)
	}
	var keys []unmogrowp.NewAppKeys
	for i := range 3 {
		s := unmogrowp.DefaultAppSettings()
		s.IPBlocklist = []string{"203.0.113.0/24"}
		k, err := db.CreateApp(ctx, &unmogrowp.App{Name: fmt.Sprintf("App %d", i), OwnerID: owner.ID, Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rotated, err := db.RotateServerKey(ctx, mustApps(t, db)[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	keys[1].ServerKey = rotated
	appsBefore := mustApps(t, db)
	migrationsBefore := migrationRows(t, db)
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(migrationsBefore) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", len(migrationsBefore), len(ms))
	}
	for i, m := range ms {
		if migrationsBefore[i].Version != m.Version || migrationsBefore[i].Name != m.Name {
			t.Errorf("schema_migrations row %d = %+v, want version %d %s", i, migrationsBefore[i], m.Version, m.Name)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for round := range 2 {
		db, err := Open(ctx, dbURL)
		if err != nil {
			t.Fatalf("reopen %d: %v", round, err)
		}
		if got := mustApps(t, db); !reflect.DeepEqual(got, appsBefore) {
			t.Errorf("reopen %d: apps\n got %+v\nwant %+v", round, got, appsBefore)
		}
		if got := migrationRows(t, db); !reflect.DeepEqual(got, migrationsBefore) {
			t.Errorf("reopen %d: schema_migrations\n got %+v\nwant %+v", round, got, migrationsBefore)
		}
		for i, k := range keys {
			for kind, key := range map[unmogrowp.KeyKind]string{unmogrowp.SDKKey: k.SDKKey, unmogrowp.ServerKey: k.ServerKey} {
				app, err := db.AppByKey(ctx, key, kind)
				if err != nil || app.ID != appsBefore[i].ID {
					t.Errorf("reopen %d: key kind %d of app %d: %v", round, kind, i, err)
				}
			}
		}
		db.Close()
	}
}

// countingHandler counts the records with a message, for all the loggers made from it.
type countingHandler struct {
	slog.Handler
	msg string
	mu  *sync.Mutex
	n   *int
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.mu.Lock()
		*h.n++
		h.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(as)
	return h
}

// TestConcurrentOpen opens a fresh database from several goroutines at once, as several
// api processes starting together do: every Open succeeds, each migration is applied
// exactly once, and every store works.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	dbURL := testDatabase(t)
	const openers = 6
	var (
		mu      sync.Mutex
		applied int
		wg      sync.WaitGroup
		dbs     = make([]*DB, openers)
		errs    = make([]error, openers)
	)
	logger := slog.New(countingHandler{slog.NewTextHandler(t.Output(), nil), "applied metadata migration", &mu, &applied})
	start := make(chan struct{})
	for i := range openers {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(ctx, dbURL, WithLogger(logger))
		})
	}
	close(start)
	wg.Wait()
	for i, db := range dbs {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer db.Close()
	}
	if t.Failed() {
		return
	}
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(ms) {
		t.Errorf("%d migrations applied in all, want %d (each once)", applied, len(ms))
	}
	if rows := migrationRows(t, dbs[0]); len(rows) != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", len(rows), len(ms))
	}
	for i, db := range dbs {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		if _, err := db.CreateApp(ctx, app); err != nil {
			t.Errorf("store %d: CreateApp: %v", i, err)
		}
	}
	if n := len(mustApps(t, dbs[0])); n != openers {
		t.Errorf("%d apps, want %d", n, openers)
	}
}

// TestMigrationsMirrorSQLite checks that this package's migrations are version for version
// the files of package sqlite: a schema version means the same schema on both stores.
func TestMigrationsMirrorSQLite(t *testing.T) {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("../sqlite/migrations")
	if err != nil {
		t.Skipf("no sqlite migrations to compare with: %v", err)
	}
	var want, got []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			want = append(want, e.Name())
		}
	}
	for _, m := range ms {
		got = append(got, m.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("postgres migrations %q, sqlite migrations %q: want the same files", got, want)
	}
}

// TestMigrationFailureRollsBack runs a migration that fails half way: it leaves no trace,
// and the schema version stays.
func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, db)
	bad := append(ms[:len(ms):len(ms)], migrate.Migration{Version: len(ms) + 1, Name: "9999_half.sql",
		SQL: `CREATE TABLE half (id TEXT PRIMARY KEY); INSERT INTO nowhere VALUES (1);`})
	if err := db.migrate(ctx, bad); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("migrate: %v, want an error naming the missing table", err)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('half') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("the failed migration's table exists")
	}
	if got := migrationRows(t, db); !reflect.DeepEqual(got, before) {
		t.Errorf("schema_migrations = %+v, want %+v", got, before)
	}
}

// TestNewerSchema refuses a database that a newer build migrated further.
func TestNewerSchema(t *testing.T) {
	db, dbURL := openTest(t)
	if _, err := db.pool.Exec(context.Background(), `INSERT INTO schema_migrations
		(version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(context.Background(), dbURL)
	if err == nil {
		db2.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

// TestMigrateUsers applies 0001 and 0002 alone, stores an app with a stray owner_id as a
// build of that schema could, then opens the database: 0003 turns the stray owner into
// NULL and adds the owner's foreign key.
func TestMigrateUsers(t *testing.T) {
	ctx := context.Background()
	dbURL := testDatabase(t)
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 || ms[2].Name != "0003_users.sql" {
		t.Fatalf("migration 3 is not 0003_users.sql: %+v", ms)
	}
	old, err := Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the schema of 0002: drop what 0003 made, then apply the first two again.
	for _, q := range []string{
		`DROP TABLE sessions`, `ALTER TABLE apps DROP CONSTRAINT apps_owner_id_fkey`,
		`DROP TABLE users`, `DELETE FROM schema_migrations WHERE version = 3`,
		`INSERT INTO apps (id, owner_id, name, sdk_key, server_key_hash, signing_secret, settings, created_at)
			VALUES ('app_a', NULL, 'A', 'pk_a', 'h_a', 'ss_a', '{"click_lookback_days":3}', 1)`,
		`INSERT INTO apps (id, owner_id, name, sdk_key, server_key_hash, signing_secret, settings, created_at)
			VALUES ('app_b', 'user_stray', 'B', 'pk_b', 'h_b', 'ss_b', '{}', 2)`,
		`INSERT INTO links (id, app_id, media_source, created_at) VALUES ('lk_1', 'app_a', 'net', 3)`,
	} {
		if _, err := old.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	db, err := Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("Open after 0002: %v", err)
	}
	defer db.Close()
	apps := mustApps(t, db)
	if len(apps) != 2 || apps[0].ID != "app_a" || apps[0].Settings.ClickLookbackDays != 3 ||
		apps[1].ID != "app_b" || apps[1].OwnerID != "" {
		t.Fatalf("apps after the migration: %+v", apps)
	}
	if _, err := db.Link(ctx, "lk_1"); err != nil {
		t.Errorf("link after the migration: %v", err)
	}
	_, err = db.CreateApp(ctx, &unmogrowp.App{Name: "Orphan", OwnerID: "usr_nosuchuser", Settings: unmogrowp.DefaultAppSettings()})
	if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("CreateApp with an unknown owner: %v, want EINVALID", err)
	}
}

// TestForeignKeys checks the schema's foreign keys and what deleting their targets does:
// an app's links go with it, a user's sessions go with them, and their apps stay without
// an owner.
func TestForeignKeys(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	rows, err := db.pool.Query(ctx, `SELECT conrelid::regclass || '.' || a.attname || '->' ||
		confrelid::regclass || ' ' || confdeltype::text
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		WHERE c.contype = 'f' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	fks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// confdeltype: c = CASCADE, n = SET NULL.
	if want := []string{"apps.owner_id->users n", "links.app_id->apps c", "sessions.user_id->users c"}; !slices.Equal(fks, want) {
		t.Errorf("foreign keys %q, want %q", fks, want)
	}

	u := &unmogrowp.User{Email: "ann@example.com"}
	if err := db.CreateUser(ctx, u, "h"); err != nil {
		t.Fatal(err)
	}
	app := &unmogrowp.App{Name: "Owned", OwnerID: u.ID, Settings: unmogrowp.DefaultAppSettings()}
	if _, err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	hash := unmogrowp.HashSessionToken("t")
	if err := db.CreateSession(ctx, &unmogrowp.Session{TokenHash: hash, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The product never deletes a user; the schema says what would happen if one were.
	if _, err := db.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.App(ctx, app.ID)
	if err != nil || got.OwnerID != "" {
		t.Errorf("the app of a deleted user: %+v, %v; want it kept without an owner", got, err)
	}
	if _, err := db.UserBySession(ctx, hash); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
		t.Errorf("the session of a deleted user: %v, want EUNAUTHORIZED", err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions left (%v), want 0", n, err)
	}
}

// TestNoPlainServerKey checks that no column of any table holds a plain server key,
// current or rotated away, while the hash is there.
func TestNoPlainServerKey(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	var secrets []string
	for i := range 5 {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		k, err := db.CreateApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		nk, err := db.RotateServerKey(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, k.ServerKey, nk)
	}
	rows, err := db.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, table := range tables {
		// Each row as its text form: every column, whatever its type.
		rows, err := db.pool.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		cells, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(strings.Join(cells, "\n"))
	}
	if !strings.Contains(all.String(), unmogrowp.HashServerKey(secrets[len(secrets)-1])) {
		t.Fatal("the current server key's hash is not stored: the scan reads the wrong thing")
	}
	for _, k := range secrets {
		if strings.Contains(all.String(), strings.TrimPrefix(k, unmogrowp.ServerKeyPrefix)) {
			t.Errorf("server key %s is stored in a column", k)
		}
	}
}

// TestLinksTies gives links the same creation time, which the conformance suite cannot:
// Links orders them by id, greatest first, byte by byte.
func TestLinksTies(t *testing.T) {
	db, _ := openTest(t)
	metadatatest.RunLinkTies(t, db, func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `UPDATE links SET created_at = 1000`)
		return err
	})
}

// TestUnavailable opens stores on servers that cannot be reached: each Open fails quickly
// with EUNAVAILABLE. It needs no PostgreSQL.
func TestUnavailable(t *testing.T) {
	// A port that nothing listens on: the connection is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()

	// A server that accepts connections and never answers: only the connect timeout ends
	// the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()

	for _, tc := range []struct {
		name string
		url  string
		opts []Option
		max  time.Duration
	}{
		{"Refused", "postgres://u:p@" + refused + "/db", nil, 2 * time.Second},
		{"SilentWithOption", "postgres://u:p@" + silent.Addr().String() + "/db", []Option{WithConnectTimeout(300 * time.Millisecond)}, 2 * time.Second},
		{"SilentWithURLTimeout", "postgres://u:p@" + silent.Addr().String() + "/db?connect_timeout=1", nil, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			db, err := Open(context.Background(), tc.url, tc.opts...)
			took := time.Since(start)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if code := unmogrowp.ErrorCode(err); code != unmogrowp.EUNAVAILABLE {
				t.Errorf("error code %q (%v), want %q", code, err, unmogrowp.EUNAVAILABLE)
			}
			if took > tc.max {
				t.Errorf("Open took %v, want at most %v", took, tc.max)
			}
		})
	}
}

// TestOpenBadURL refuses a URL it cannot parse with EINVALID, without repeating its
// password.
func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{
		"postgres://ann:s3cretpw@127.0.0.1:5432/db?sslmode=sometimes",
		"postgres://ann:s3cretpw@127.0.0.1:notaport/db",
		"postgres://ann:s3cretpw@127.0.0.1/db?connect_timeout=soon",
	} {
		db, err := Open(context.Background(), u)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded", u)
		}
		if code := unmogrowp.ErrorCode(err); code != unmogrowp.EINVALID {
			t.Errorf("Open(%q): code %q (%v), want %q", u, code, err, unmogrowp.EINVALID)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("Open(%q): the error shows the password: %v", u, err)
		}
	}
}
