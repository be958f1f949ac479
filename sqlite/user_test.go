package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/unmogrowp/unmogrowp/migrate"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/metadatatest"
)

func TestUserStore(t *testing.T) {
	metadatatest.RunUserStore(t, func(t *testing.T) unmogrowp.UserStore {
		db, _ := openTest(t)
		return db
	})
}

// TestMigrateUsers applies 0001 and 0002 alone, stores apps and links as a build of that
// schema would (one with a stray owner_id), then opens the file with every migration: 0003
// rebuilds apps with the owner foreign key and its indexes, keeps every app and link, and
// turns the stray owner into NULL.
func TestMigrateUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "metadata.db")
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 || ms[2].Name != "0003_users.sql" {
		t.Fatalf("migration 3 is not 0003_users.sql: %+v", ms)
	}
	old := &DB{path: path, logger: slog.New(slog.DiscardHandler)}
	if old.write, err = openPool(path, false); err != nil {
		t.Fatal(err)
	}
	if err := old.migrate(ctx, ms[:2]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO apps (id, owner_id, name, sdk_key, server_key_hash, signing_secret, settings, created_at)
			VALUES ('app_a', NULL, 'A', 'pk_a', 'h_a', 'ss_a', '{"click_lookback_days":3}', 1)`,
		`INSERT INTO apps (id, owner_id, name, sdk_key, server_key_hash, signing_secret, settings, created_at)
			VALUES ('app_b', 'user_stray', 'B', 'pk_b', 'h_b', 'ss_b', '{}', 2)`,
		`INSERT INTO links (id, app_id, media_source, created_at) VALUES ('lk_1', 'app_a', 'net', 3)`,
		`INSERT INTO links (id, app_id, media_source, created_at) VALUES ('lk_2', 'app_b', 'net', 4)`,
	} {
		if _, err := old.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.write.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open after 0002: %v", err)
	}
	defer db.Close()

	apps, err := db.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].ID != "app_a" || apps[1].ID != "app_b" ||
		apps[0].Settings.ClickLookbackDays != 3 || apps[0].SDKKey != "pk_a" {
		t.Fatalf("apps after the migration: %+v", apps)
	}
	if apps[1].OwnerID != "" {
		t.Errorf("the stray owner_id is %q, want NULL", apps[1].OwnerID)
	}
	for _, id := range []string{"lk_1", "lk_2"} {
		if _, err := db.Link(ctx, id); err != nil {
			t.Errorf("link %s after the migration: %v", id, err)
		}
	}

	// The schema: the foreign keys of apps and links, and the indexes of apps.
	var fks []string
	rows, err := db.read.QueryContext(ctx, `SELECT m.Name || '.' || f."from" || '->' || f."table" || '.' || f."to" || ' ' || f.on_delete
		FROM sqlite_schema m, pragma_foreign_key_list(m.Name) f WHERE m.type = 'table' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	fks = scanStrings(t, rows)
	wantFKs := []string{
		"apps.owner_id->users.id SET NULL",
		"links.app_id->apps.id CASCADE",
		"sessions.user_id->users.id CASCADE",
	}
	if !reflect.DeepEqual(fks, wantFKs) {
		t.Errorf("foreign keys = %q, want %q", fks, wantFKs)
	}
	rows, err = db.read.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'apps' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	if got := scanStrings(t, rows); !slices.Equal(got, []string{"apps_created_at", "apps_owner_id"}) {
		t.Errorf("indexes of apps = %q", got)
	}
	var leftover int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'apps_new'`).Scan(&leftover); err != nil || leftover != 0 {
		t.Errorf("apps_new is left over (%v)", err)
	}

	// The foreign keys hold: an app of no user is refused, deleting an app still cascades.
	_, err = db.CreateApp(ctx, &unmogrowp.App{Name: "Orphan", OwnerID: "usr_nosuchuser", Settings: unmogrowp.DefaultAppSettings()})
	if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("CreateApp with an unknown owner: %v, want EINVALID", err)
	}
	if err := db.DeleteApp(ctx, "app_a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Link(ctx, "lk_1"); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Errorf("the link of a deleted app: %v, want ENOTFOUND", err)
	}
}

// TestNoPlainSessionToken checks that the sessions table keeps the token's hash only.
func TestNoPlainSessionToken(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	u := &unmogrowp.User{Email: "ann@example.com"}
	if err := db.CreateUser(ctx, u, "h"); err != nil {
		t.Fatal(err)
	}
	token := "ut_plain-token-for-the-test"
	hash := unmogrowp.HashSessionToken(token)
	if err := db.CreateSession(ctx, &unmogrowp.Session{TokenHash: hash, UserID: u.ID, ExpiresAt: u.CreatedAt.Add(unmogrowp.SessionLifetime)}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT token_hash || ' ' || user_id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	got := scanStrings(t, rows)
	if want := []string{hash + " " + u.ID}; !slices.Equal(got, want) {
		t.Errorf("sessions rows = %q, want %q", got, want)
	}
}

func scanStrings(t *testing.T, rows *sql.Rows) []string {
	t.Helper()
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
