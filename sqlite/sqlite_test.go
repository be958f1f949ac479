package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/migrate"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/metadatatest"
)

// openTest opens a store in a fresh temporary directory, closed when t ends.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metadata.db")
	db, err := Open(path, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, path
}

func TestAppStore(t *testing.T) {
	metadatatest.RunAppStore(t, func(t *testing.T) unmogrowp.AppStore {
		db, _ := openTest(t)
		return db
	})
}

// TestPragmas checks the settings of every connection of both pools, holding several
// connections at once so that the pools must open more than one.
func TestPragmas(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for _, p := range []struct {
		name      string
		pool      *sql.DB
		conns     int
		queryOnly int
	}{
		{"write", db.write, 1, 0},
		{"read", db.read, 4, 1},
	} {
		t.Run(p.name, func(t *testing.T) {
			var held []*sql.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for i := range p.conns {
				c, err := p.pool.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				for _, want := range []struct {
					pragma string
					value  string
				}{
					{"journal_mode", "wal"},
					{"synchronous", "2"}, // FULL
					{"foreign_keys", "1"},
					{"busy_timeout", "5000"},
					{"query_only", fmt.Sprint(p.queryOnly)},
				} {
					var got string
					if err := c.QueryRowContext(ctx, "PRAGMA "+want.pragma).Scan(&got); err != nil {
						t.Fatalf("conn %d: PRAGMA %s: %v", i, want.pragma, err)
					}
					if got != want.value {
						t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, want.pragma, got, want.value)
					}
				}
			}
			if n := p.pool.Stats().OpenConnections; n != p.conns {
				t.Errorf("%d open connections, want %d", n, p.conns)
			}
		})
	}
	if _, err := db.read.ExecContext(ctx, `DELETE FROM apps`); err == nil {
		t.Error("a read connection accepted a write")
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, path string }{
		{"Empty", ""},
		{"Memory", ":memory:"},
		{"URI", "file:x.db"},
		{"QuestionMark", filepath.Join(dir, "a?b.db")},
		{"MissingDirectory", filepath.Join(dir, "missing", "dir", "metadata.db")},
	} {
		path := tc.path
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(path, nil)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", path)
			}
		})
	}
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

// TestReopen closes the store and opens the file again: the apps, the keys and the
// schema_migrations rows are as they were, and no migration runs twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "metadata.db")
	db, err := Open(path, nil)
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
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), OwnerID: owner.ID, Settings: s}
		k, err := db.CreateApp(ctx, app)
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
	if len(migrationsBefore) == 0 {
		t.Fatal("no schema_migrations rows")
	}
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
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
		db, err = Open(path, nil)
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
}

func mustApps(t *testing.T, db *DB) []*unmogrowp.App {
	t.Helper()
	apps, err := db.Apps(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// TestNoPlainServerKey checks that no column of any table, nor any byte of the database
// file and its WAL, holds a plain server key, current or rotated away, while the hash is
// there.
func TestNoPlainServerKey(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	var secrets []string
	for i := range 5 {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		k, err := db.CreateApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, k.ServerKey)
		nk, err := db.RotateServerKey(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, nk)
	}

	var cells []string
	tables, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, table := range names {
		rows, err := db.read.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
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
		rows.Close()
	}
	if len(cells) == 0 {
		t.Fatal("read no cells")
	}
	all := strings.Join(cells, "\n")
	if !strings.Contains(all, unmogrowp.HashServerKey(secrets[len(secrets)-1])) {
		t.Fatal("the current server key's hash is not stored: the scan reads the wrong thing")
	}

	var raw []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	for _, k := range secrets {
		if strings.Contains(all, k) || strings.Contains(all, strings.TrimPrefix(k, unmogrowp.ServerKeyPrefix)) {
			t.Errorf("server key %s is stored in a column", k)
		}
		if bytes.Contains(raw, []byte(strings.TrimPrefix(k, unmogrowp.ServerKeyPrefix))) {
			t.Errorf("server key %s is in the database files", k)
		}
	}
}

// TestMigrationFailureRollsBack runs a migration that fails half way, and one that leaves a
// broken foreign key: neither leaves a trace, and the schema version stays.
func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, db)
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"BadStatement", `CREATE TABLE half (id TEXT PRIMARY KEY); INSERT INTO nowhere VALUES (1);`, "no such table"},
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
			var n int
			if err := db.read.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Error("the failed migration's table exists")
			}
			if got := migrationRows(t, db); !reflect.DeepEqual(got, before) {
				t.Errorf("schema_migrations = %+v, want %+v", got, before)
			}
			var fk int
			if err := db.write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
				t.Errorf("foreign_keys after a failed migration = %d (%v), want 1", fk, err)
			}
		})
	}
}

// TestNewerSchema refuses a database that a newer build migrated further.
func TestNewerSchema(t *testing.T) {
	db, path := openTest(t)
	if _, err := db.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at)
		VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, nil)
	if err == nil {
		db2.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

func TestLinkStore(t *testing.T) {
	metadatatest.RunLinkStore(t, func(t *testing.T) metadatatest.LinkStoreWithApps {
		db, _ := openTest(t)
		return db
	})
}

// TestLinksTies gives links the same creation time, which the conformance suite cannot:
// Links orders them by id, greatest first, and the query reads the index in order.
func TestLinksTies(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	appID := metadatatest.RunLinkTies(t, db, func(ctx context.Context) error {
		_, err := db.write.ExecContext(ctx, `UPDATE links SET created_at = 1000`)
		return err
	})

	rows, err := db.read.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT `+linkColumns+`
		FROM links WHERE app_id = ? ORDER BY created_at DESC, id DESC`, appID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "links_app_id") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("Links query plan %q: want the links_app_id index and no sort", p)
	}
}

// TestLinksMigrationUpgrade opens a database made before links existed: 0002 applies, and
// the apps made before it take links that go with them.
func TestLinksMigrationUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "metadata.db")
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	old := &DB{path: path, logger: slog.New(slog.DiscardHandler)}
	if old.write, err = openPool(path, false); err != nil {
		t.Fatal(err)
	}
	if err := old.migrate(ctx, ms[:1]); err != nil {
		t.Fatal(err)
	}
	app := &unmogrowp.App{Name: "Old", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := old.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := old.write.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := migrationRows(t, db); len(got) != len(ms) || got[1].Name != "0002_links.sql" {
		t.Fatalf("schema_migrations after upgrade: %+v", got)
	}
	link := &unmogrowp.Link{AppID: app.ID, MediaSource: "facebook"}
	if err := db.CreateLink(ctx, link); err != nil {
		t.Fatalf("CreateLink for an app made before links: %v", err)
	}
	if err := db.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM links`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d links left after their app was deleted (%v)", n, err)
	}
}
