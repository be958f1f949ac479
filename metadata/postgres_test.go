package metadata

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// enablePostgres says how to enable the tests that need PostgreSQL.
const enablePostgres = "apt-get install postgresql"

// testDatabase creates a database of t's own on the test server and returns its URL. The
// database is dropped, WITH (FORCE), when t ends; stores opened on it after this call are
// closed first (t.Cleanup runs last in, first out).
func testDatabase(t testing.TB) string {
	t.Helper()
	return testDatabaseFrom(t, "template0")
}

// templateCopies serializes the copies of a template database: PostgreSQL refuses a
// CREATE DATABASE from a template that another one is copying.
var templateCopies sync.Mutex

// testDatabaseFrom is testDatabase with the database a copy of template, which no session
// may be connected to.
func testDatabaseFrom(t testing.TB, template string) string {
	t.Helper()
	admin := testenv.Server(t, testenv.PostgresEnv, enablePostgres)
	var b [8]byte
	rand.Read(b[:])
	name := "unmogrowp_test_" + hex.EncodeToString(b[:])
	adminExec(t, admin, `CREATE DATABASE `+name+` TEMPLATE `+template+` ENCODING 'UTF8'`)
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

// adminExec runs SQL (one statement, or several without arguments) on the database at
// dbURL, on a connection of its own.
func adminExec(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", testenv.PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%.200s: %v", sql, err)
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

// TestConcurrentOpen opens a fresh PostgreSQL database from several goroutines at once, as
// several api processes starting together do: every Open succeeds, each migration is
// applied exactly once, and every store works.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
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
			dbs[i], errs[i] = Open(ctx, dbURL, Options{Logger: logger})
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
	ms := migrations(t, dbs[0])
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

// TestUnavailable opens stores on PostgreSQL servers that cannot be reached: each Open
// fails quickly with EUNAVAILABLE. It needs no PostgreSQL.
func TestUnavailable(t *testing.T) {
	t.Parallel()
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
		opts Options
		max  time.Duration
	}{
		{"Refused", "postgres://u:p@" + refused + "/db", Options{}, 2 * time.Second},
		{"SilentWithOption", "postgres://u:p@" + silent.Addr().String() + "/db", Options{ConnectTimeout: 300 * time.Millisecond}, 2 * time.Second},
		{"SilentWithURLTimeout", "postgres://u:p@" + silent.Addr().String() + "/db?connect_timeout=1", Options{}, 3 * time.Second},
		{"KeyValue", "host=127.0.0.1 port=" + strings.Split(refused, ":")[1] + " user=u dbname=db", Options{}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			db, err := Open(context.Background(), tc.url, tc.opts)
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

// TestUnstorableText passes strings that PostgreSQL's TEXT cannot hold (a NUL byte,
// invalid UTF-8), which SQLite stores as they are: lookups find nothing, writes are
// EINVALID, and nothing is an internal error.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t, engines[1])
	app := &unmogrowp.App{Name: "Ok", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00b", "\xff\xfe"} {
		code := func(err error) string { return unmogrowp.ErrorCode(err) }
		for _, c := range []struct {
			what string
			err  error
			want string
		}{
			{"App", second(db.App(ctx, bad)), unmogrowp.ENOTFOUND},
			{"AppByKey sdk", second(db.AppByKey(ctx, bad, unmogrowp.SDKKey)), unmogrowp.EUNAUTHORIZED},
			{"AppByKey server", second(db.AppByKey(ctx, bad, unmogrowp.ServerKey)), unmogrowp.EUNAUTHORIZED},
			{"UpdateApp", db.UpdateApp(ctx, &unmogrowp.App{ID: bad, Name: "x", Settings: unmogrowp.DefaultAppSettings()}), unmogrowp.ENOTFOUND},
			{"UpdateApp name", db.UpdateApp(ctx, &unmogrowp.App{ID: app.ID, Name: bad, Settings: unmogrowp.DefaultAppSettings()}), unmogrowp.EINVALID},
			{"DeleteApp", db.DeleteApp(ctx, bad), unmogrowp.ENOTFOUND},
			{"RotateServerKey", second(db.RotateServerKey(ctx, bad)), unmogrowp.ENOTFOUND},
			{"Link", second(db.Link(ctx, bad)), unmogrowp.ENOTFOUND},
			{"User", second(db.User(ctx, bad)), unmogrowp.ENOTFOUND},
			{"UserByGoogleSubject", second(db.UserByGoogleSubject(ctx, bad)), unmogrowp.ENOTFOUND},
			{"UserBySession", third(db.UserBySession(ctx, bad, time.Now())), unmogrowp.EUNAUTHORIZED},
			{"Sessions", second(db.Sessions(ctx, bad, time.Now())), ""},
			{"RevokeUserSession", db.RevokeUserSession(ctx, bad, bad), unmogrowp.ENOTFOUND},
			{"SetPassword", db.SetPassword(ctx, bad, "h"), unmogrowp.ENOTFOUND},
			{"ResetPassword", second(db.ResetPassword(ctx, bad, "h", time.Now())), unmogrowp.ENOTFOUND},
			{"TwoFactor", second(db.TwoFactor(ctx, bad)), unmogrowp.ENOTFOUND},
			{"StartTwoFactor", db.StartTwoFactor(ctx, bad, "S"), unmogrowp.ENOTFOUND},
			{"UseTOTPStep", db.UseTOTPStep(ctx, bad, 1), unmogrowp.ENOTFOUND},
			{"UseRecoveryCode", db.UseRecoveryCode(ctx, bad, bad), unmogrowp.ENOTFOUND},
			{"RevokeSession", db.RevokeSession(ctx, bad), ""},
			{"CreateSession", db.CreateSession(ctx, &unmogrowp.Session{TokenHash: "h", UserID: bad, ExpiresAt: time.Now().Add(time.Hour)}), unmogrowp.ENOTFOUND},
			{"CreateApp name", second(db.CreateApp(ctx, &unmogrowp.App{Name: bad, Settings: unmogrowp.DefaultAppSettings()})), unmogrowp.EINVALID},
			{"CreateLink campaign", db.CreateLink(ctx, &unmogrowp.Link{AppID: app.ID, MediaSource: "m", Campaign: bad}), unmogrowp.EINVALID},
			{"CreateLink app", db.CreateLink(ctx, &unmogrowp.Link{AppID: bad, MediaSource: "m"}), unmogrowp.ENOTFOUND},
			{"CreateUser name", db.CreateUser(ctx, &unmogrowp.User{Email: "x@example.com", Name: bad}, "h"), unmogrowp.EINVALID},
		} {
			if got := code(c.err); got != c.want {
				t.Errorf("%s(%q): code %q (%v), want %q", c.what, bad, got, c.err, c.want)
			}
		}
		apps, err := db.Apps(ctx, bad)
		if err != nil || len(apps) != 0 {
			t.Errorf("Apps(%q) = %d apps, %v", bad, len(apps), err)
		}
		links, err := db.Links(ctx, bad)
		if err != nil || len(links) != 0 {
			t.Errorf("Links(%q) = %d links, %v", bad, len(links), err)
		}
		if _, _, err := db.UserByEmail(ctx, "a"+bad+"@example.com"); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			t.Errorf("UserByEmail with %q: %v, want ENOTFOUND", bad, err)
		}
	}
	// A NUL in the JSON of the settings: JSONB refuses \u0000.
	s := unmogrowp.DefaultAppSettings()
	s.ReportingCurrency = "E\x00R"
	if _, err := db.CreateApp(ctx, &unmogrowp.App{Name: "Nul", Settings: s}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("CreateApp with a NUL in the settings: %v, want EINVALID", err)
	}
}

// second returns the error of a call that returns a value and an error.
func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
