package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/migrate"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/metadatatest"
	"github.com/unmogrowp/unmogrowp/internal/postbacktest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// engine is an engine the tests run the store on.
type engine struct {
	name string
	// require skips (or fails, under testenv.RequireEnv) a test that has no such engine.
	require func(t testing.TB)
	// newURL returns the URL of a new, empty database of t's own, gone when t ends.
	newURL func(t testing.TB) string
	// copyURL returns the URL of a new database of t's own that is a copy of the one at u,
	// which no store has open, gone when t ends.
	copyURL func(t testing.TB, u string) string
	// tables lists the tables of the store's schema.
	tables string
	// foreignKeys lists the foreign keys as "table.column->table.column ON-DELETE-ACTION".
	foreignKeys string
}

var engines = []engine{
	{
		name:    "sqlite",
		require: func(testing.TB) {},
		newURL: func(t testing.TB) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "metadata.db")
		},
		copyURL: func(t testing.TB, u string) string {
			src := strings.TrimPrefix(u, "sqlite://")
			dst := filepath.Join(t.TempDir(), "metadata.db")
			b, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(dst, b, 0o600)
			}
			if err != nil {
				t.Fatalf("copy %s: %v", src, err)
			}
			return "sqlite://" + dst
		},
		tables: `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`,
		foreignKeys: `SELECT m.name || '.' || f."from" || '->' || f."table" || '.' || f."to" || ' ' || f.on_delete
			FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY 1`,
	},
	{
		name:    "postgres",
		require: func(t testing.TB) { testenv.Server(t, testenv.PostgresEnv, enablePostgres) },
		newURL:  testDatabase,
		copyURL: func(t testing.TB, u string) string {
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			templateCopies.Lock()
			defer templateCopies.Unlock() // also when the copy fails t
			return testDatabaseFrom(t, strings.TrimPrefix(parsed.Path, "/"))
		},
		tables: `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`,
		foreignKeys: `SELECT conrelid::regclass || '.' || a.attname || '->' || confrelid::regclass || '.' ||
			fa.attname || ' ' || CASE confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE confdeltype::text END
			FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
			JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
			WHERE c.contype = 'f' ORDER BY 1`,
	},
}

// forEachEngine runs f in a parallel subtest for each engine that the test can have.
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			e.require(t)
			f(t, e)
		})
	}
}

// openTest opens a store on a new database of e, closed when t ends, and returns it with
// the database's URL.
func openTest(t testing.TB, e engine) (*DB, string) {
	t.Helper()
	u := e.newURL(t)
	return openURL(t, u), u
}

// openURL opens a store on the database at u, logging to t, closed when t ends.
func openURL(t testing.TB, u string) *DB {
	t.Helper()
	db, err := Open(context.Background(), u, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// TestConformance runs the conformance suites of the metadata seams on each engine. Each
// store is opened on a copy of one database migrated once, which spares every case the
// migrations (a fifth of a second with -race); the migrations have tests of their own.
func TestConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		migrated, template := openTest(t, e)
		if err := migrated.Close(); err != nil {
			t.Fatal(err)
		}
		open := func(t *testing.T) *DB { return openURL(t, e.copyURL(t, template)) }
		t.Run("AppStore", func(t *testing.T) {
			metadatatest.RunAppStore(t, func(t *testing.T) unmogrowp.AppStore { return open(t) })
		})
		t.Run("LinkStore", func(t *testing.T) {
			metadatatest.RunLinkStore(t, func(t *testing.T) metadatatest.LinkStoreWithApps { return open(t) })
		})
		t.Run("UserStore", func(t *testing.T) {
			metadatatest.RunUserStore(t, func(t *testing.T) unmogrowp.UserStore { return open(t) })
		})
		t.Run("AccountStore", func(t *testing.T) {
			metadatatest.RunAccountStore(t, func(t *testing.T) metadatatest.AccountStoreWithUsers { return open(t) })
		})
		t.Run("TeamStore", func(t *testing.T) {
			metadatatest.RunTeamStore(t, func(t *testing.T) metadatatest.TeamStoreWithAppsAndUsers { return open(t) })
		})
		t.Run("PostbackStore", func(t *testing.T) {
			metadatatest.RunPostbackStore(t, func(t *testing.T) metadatatest.PostbackStoreWithApps { return open(t) })
		})
		t.Run("FXRateStore", func(t *testing.T) {
			metadatatest.RunFXRateStore(t, func(t *testing.T) unmogrowp.FXRateStore { return open(t) })
		})
		t.Run("SKANConfigStore", func(t *testing.T) {
			metadatatest.RunSKANConfigStore(t, func(t *testing.T) metadatatest.SKANStoreWithApps { return open(t) })
		})
		t.Run("CostStore", func(t *testing.T) {
			metadatatest.RunCostStore(t, func(t *testing.T) metadatatest.CostStoreWithApps { return open(t) })
		})
		t.Run("ExportStore", func(t *testing.T) {
			metadatatest.RunExportStore(t, func(t *testing.T) metadatatest.ExportStoreWithApps { return open(t) })
		})
		t.Run("IPListStore", func(t *testing.T) {
			metadatatest.RunIPListStore(t, func(t *testing.T) unmogrowp.IPListStore { return open(t) })
		})
		t.Run("Outbox", func(t *testing.T) {
			postbacktest.Run(t, func(t *testing.T) unmogrowp.Outbox { return open(t) })
		})
		t.Run("ConsentStore", func(t *testing.T) {
			postbacktest.RunConsentStore(t, func(t *testing.T) unmogrowp.ConsentStore { return open(t) })
		})
		t.Run("SubjectRequestStore", func(t *testing.T) {
			metadatatest.RunSubjectRequestStore(t, func(t *testing.T) metadatatest.SubjectStoreWithOutbox { return open(t) })
		})
	})
}

// TestOpenChoosesEngine opens a store by each scheme and checks which engine answers.
func TestOpenChoosesEngine(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		db, u := openTest(t, e)
		if db.d.name != e.name {
			t.Errorf("Open(%q) chose %s", u, db.d.name)
		}
		var one int
		if err := db.read.QueryRow(`SELECT 1`).Scan(&one); err != nil || one != 1 {
			t.Errorf("SELECT 1 = %d, %v", one, err)
		}
	})
}

// TestOpenBadURL refuses URLs it cannot use with EINVALID, without repeating a password.
func TestOpenBadURL(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{
		"",
		"mysql://ann:s3cretpw@127.0.0.1/db",
		"/var/lib/unmogrowp/metadata.db",
		"sqlite:",
		"sqlite://",
		"sqlite://:memory:",
		"sqlite:file:x.db",
		"sqlite://" + filepath.Join(dir, "a?b.db"),
		"sqlite://" + filepath.Join(dir, "a%3Fb.db"),
		"sqlite://" + filepath.Join(dir, "a#b.db"),
		"sqlite://" + filepath.Join(dir, "bad%zzescape.db"),
		"postgres://ann:s3cretpw@127.0.0.1:5432/db?sslmode=sometimes",
		"postgres://ann:s3cretpw@127.0.0.1:notaport/db",
		"postgresql://ann:s3cretpw@127.0.0.1/db?connect_timeout=soon",
		"postgres://ann:s3cretpw@127.0.0.1/db?pool_max_conns=0",
	} {
		db, err := Open(context.Background(), u, Options{})
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if code := unmogrowp.ErrorCode(err); code != unmogrowp.EINVALID {
			t.Errorf("Open(%q): code %q (%v), want %q", u, code, err, unmogrowp.EINVALID)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("Open(%q): the error shows the password: %v", u, err)
		}
	}
	// A directory that does not exist: the path is valid, the file cannot be made.
	u := "sqlite://" + filepath.Join(dir, "missing", "dir", "metadata.db")
	if db, err := Open(context.Background(), u, Options{}); err == nil {
		db.Close()
		t.Errorf("Open(%q) succeeded", u)
	}
}

func TestPing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		db, err := Open(context.Background(), e.newURL(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
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
	})
}

type migrationRow struct {
	Version   int
	Name      string
	AppliedAt int64
}

func migrationRows(t *testing.T, db *DB) []migrationRow {
	t.Helper()
	rows, err := db.read.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.Version, &r.Name, &r.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// migrations returns the engine's migrations.
func migrations(t *testing.T, db *DB) []migrate.Migration {
	t.Helper()
	ms, err := migrate.Load(db.d.migrations)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func mustApps(t *testing.T, db *DB) []*unmogrowp.App {
	t.Helper()
	apps, err := db.Apps(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// queryStrings runs a query whose rows are one string each.
func queryStrings(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.read.Query(db.q(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReopen opens the database twice more: the migrations are idempotent (no
// schema_migrations row changes), and the apps and their keys are as they were.
func TestReopen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		u := e.newURL(t)
		db, err := Open(ctx, u, Options{})
		if err != nil {
			t.Fatal(err)
		}
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
		ms := migrations(t, db)
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
			db, err := Open(ctx, u, Options{})
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
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestNewerSchema refuses a database that a newer build migrated further.
func TestNewerSchema(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		db, u := openTest(t, e)
		if _, err := db.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at)
			VALUES (999, '0999_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		db2, err := Open(context.Background(), u, Options{})
		if err == nil {
			db2.Close()
			t.Fatal("Open accepted a database with a newer schema")
		}
		if !strings.Contains(err.Error(), "newer") {
			t.Errorf("error %q does not say the schema is newer", err)
		}
	})
}

// TestMigrationFailureRollsBack runs a migration that fails half way, and one that leaves a
// broken foreign key: neither leaves a trace, and the schema version stays.
func TestMigrationFailureRollsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		ms := migrations(t, db)
		before := migrationRows(t, db)
		for _, tc := range []struct {
			name, sql, want string
		}{
			{"BadStatement", `CREATE TABLE half (id TEXT PRIMARY KEY); INSERT INTO nowhere VALUES (1);`, "nowhere"},
			{"ForeignKey", `CREATE TABLE half (id TEXT PRIMARY KEY,
				app_id TEXT NOT NULL REFERENCES apps (id));
				INSERT INTO half (id, app_id) VALUES ('x', 'app_nosuchapp');`, "foreign key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				next := append(ms[:len(ms):len(ms)], migrate.Migration{Version: len(ms) + 1, Name: "9999_half.sql", SQL: tc.sql})
				err := db.migrate(ctx, next)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("migrate: %v, want an error saying %q", err, tc.want)
				}
				if _, err := db.read.Exec(`SELECT COUNT(*) FROM half`); err == nil {
					t.Error("the failed migration's table exists")
				}
				if got := migrationRows(t, db); !reflect.DeepEqual(got, before) {
					t.Errorf("schema_migrations = %+v, want %+v", got, before)
				}
				// Foreign keys are enforced after it (SQLite turns them off to migrate).
				_, err = db.CreateApp(ctx, &unmogrowp.App{Name: "Orphan", OwnerID: "usr_nosuchuser", Settings: unmogrowp.DefaultAppSettings()})
				if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
					t.Errorf("CreateApp with an unknown owner after a failed migration: %v, want EINVALID", err)
				}
			})
		}
	})
}

// TestForeignKeys checks the schema's foreign keys and what deleting their targets does:
// an app's links go with it, a user's sessions go with them, and their apps stay without
// an owner.
func TestForeignKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		wantForeignKeys(t, db, e)

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
		if _, err := db.write.Exec(db.q(`DELETE FROM users WHERE id = ?`), u.ID); err != nil {
			t.Fatal(err)
		}
		got, err := db.App(ctx, app.ID)
		if err != nil || got.OwnerID != "" {
			t.Errorf("the app of a deleted user: %+v, %v; want it kept without an owner", got, err)
		}
		if _, _, err := db.UserBySession(ctx, hash, time.Now()); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
			t.Errorf("the session of a deleted user: %v, want EUNAUTHORIZED", err)
		}
		if n := queryStrings(t, db, `SELECT CAST(COUNT(*) AS TEXT) FROM sessions`); !slices.Equal(n, []string{"0"}) {
			t.Errorf("%s sessions left, want 0", n)
		}
	})
}

// wantForeignKeys checks the foreign keys of the schema.
func wantForeignKeys(t *testing.T, db *DB, e engine) {
	t.Helper()
	want := []string{
		"access_tokens.user_id->users.id CASCADE",
		"app_members.app_id->apps.id CASCADE",
		"app_members.user_id->users.id CASCADE",
		"apps.owner_id->users.id SET NULL",
		"audit_log.app_id->apps.id CASCADE",
		"costs.app_id->apps.id CASCADE",
		"export_runs.export_id->scheduled_exports.id CASCADE",
		"invitations.app_id->apps.id CASCADE",
		"invitations.invited_by->users.id SET NULL",
		"links.app_id->apps.id CASCADE",
		"password_resets.user_id->users.id CASCADE",
		"postbacks.app_id->apps.id CASCADE",
		"recovery_codes.user_id->users.id CASCADE",
		"scheduled_exports.app_id->apps.id CASCADE",
		"sessions.user_id->users.id CASCADE",
		"skan_configs.app_id->apps.id CASCADE",
	}
	if got := queryStrings(t, db, e.foreignKeys); !slices.Equal(got, want) {
		t.Errorf("foreign keys %q, want %q", got, want)
	}
}

// TestNoPlainSecrets checks that no column of any table holds a plain server key, current
// or rotated away, while the hash is there; and that sessions keep the token's hash only.
func TestNoPlainSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, u := openTest(t, e)
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
		user := &unmogrowp.User{Email: "ann@example.com"}
		if err := db.CreateUser(ctx, user, "h"); err != nil {
			t.Fatal(err)
		}
		token := "ut_plain-token-for-the-test"
		hash := unmogrowp.HashSessionToken(token)
		if err := db.CreateSession(ctx, &unmogrowp.Session{TokenHash: hash, UserID: user.ID, ExpiresAt: user.CreatedAt.Add(unmogrowp.SessionLifetime)}); err != nil {
			t.Fatal(err)
		}
		if got, want := queryStrings(t, db, `SELECT token_hash || ' ' || user_id FROM sessions`), []string{hash + " " + user.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions rows = %q, want %q", got, want)
		}

		all := strings.Join(allCells(t, db, e), "\n")
		if !strings.Contains(all, unmogrowp.HashServerKey(secrets[len(secrets)-1])) {
			t.Fatal("the current server key's hash is not stored: the scan reads the wrong thing")
		}
		for _, k := range append(secrets, token) {
			if strings.Contains(all, k) || strings.Contains(all, strings.TrimPrefix(k, unmogrowp.ServerKeyPrefix)) {
				t.Errorf("secret %s is stored in a column", k)
			}
		}
		if e.name == "sqlite" {
			noSecretsInFiles(t, strings.TrimPrefix(u, "sqlite://"), secrets)
		}
	})
}

// allCells returns every cell of every table as text.
func allCells(t *testing.T, db *DB, e engine) []string {
	t.Helper()
	var cells []string
	for _, table := range queryStrings(t, db, e.tables) {
		rows, err := db.read.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				cells = append(cells, v.String)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	if len(cells) == 0 {
		t.Fatal("read no cells")
	}
	return cells
}

// TestLinksTies gives links the same creation time, which the conformance suite cannot:
// Links orders them by id, greatest first, byte by byte.
func TestLinksTies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		db, _ := openTest(t, e)
		appID := metadatatest.RunLinkTies(t, db, func(ctx context.Context) error {
			_, err := db.write.ExecContext(ctx, `UPDATE links SET created_at = 1000`)
			return err
		})
		if e.name == "sqlite" {
			wantLinksPlan(t, db, appID)
		}
	})
}

// TestConcurrentGoogleUser signs the same new Google account in from several goroutines at
// once, as several api processes may: all get the same user, and exactly one made it.
// Under SQLite the single writer serialises them; under PostgreSQL the unique constraints
// and GoogleUser's retry must.
func TestConcurrentGoogleUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		// The race is a matter of timing: run it often enough to lose it some of the time.
		for round := range 20 {
			link := round%2 == 1 // else a new user
			g := unmogrowp.GoogleIdentity{Subject: fmt.Sprintf("g-%d", round),
				Email: fmt.Sprintf("user%d@example.com", round), EmailVerified: true}
			if link { // a user who registered with a password first
				if err := db.CreateUser(ctx, &unmogrowp.User{Email: g.Email}, "h"); err != nil {
					t.Fatal(err)
				}
			}
			const n = 8
			var (
				wg      sync.WaitGroup
				users   = make([]*unmogrowp.User, n)
				created = make([]bool, n)
				errs    = make([]error, n)
			)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					users[i], created[i], errs[i] = db.GoogleUser(ctx, g)
				})
			}
			close(start)
			wg.Wait()
			made := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("%s: GoogleUser %d: %v", g.Subject, i, errs[i])
				}
				if users[i].ID != users[0].ID || users[i].GoogleSubject != g.Subject {
					t.Errorf("%s: GoogleUser %d = %+v, want %+v", g.Subject, i, users[i], users[0])
				}
				if created[i] {
					made++
				}
			}
			if want := map[bool]int{false: 1, true: 0}[link]; made != want {
				t.Errorf("%s: %d sign-ins made the user, want %d", g.Subject, made, want)
			}
		}
	})
}

// TestEmailAndGoogleTaken creates a user whose email and Google subject both belong to
// others: the answer is the taken email, as before the two stores were one.
func TestEmailAndGoogleTaken(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		if err := db.CreateUser(ctx, &unmogrowp.User{Email: "ann@example.com"}, "h"); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, &unmogrowp.User{Email: "bob@example.com", GoogleSubject: "g-bob"}, ""); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			user unmogrowp.User
			want string
		}{
			{unmogrowp.User{Email: "ann@example.com", GoogleSubject: "g-bob"}, "email"},
			{unmogrowp.User{Email: "cat@example.com", GoogleSubject: "g-bob"}, "Google account"},
		} {
			err := db.CreateUser(ctx, &tc.user, "")
			if unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT || !strings.Contains(unmogrowp.ErrorMessage(err), tc.want) {
				t.Errorf("CreateUser(%+v): %v, want ECONFLICT naming the %s", tc.user, err, tc.want)
			}
		}
	})
}
