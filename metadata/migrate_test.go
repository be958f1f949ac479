package metadata

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/migrate"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestMigrationsMatch checks that the engines' migrations are version for version the same
// files: a schema version means the same schema in both.
func TestMigrationsMatch(t *testing.T) {
	var names [2][]string
	for i, d := range []*dialect{&sqliteDialect, &postgresDialect} {
		ms, err := migrate.Load(d.migrations)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		for _, m := range ms {
			names[i] = append(names[i], m.Name)
		}
	}
	if len(names[0]) < 3 || !slices.Equal(names[0], names[1]) {
		t.Errorf("sqlite migrations %q, postgres migrations %q: want the same files", names[0], names[1])
	}
}

// openAt returns a store on a new database of e migrated to version, and its URL.
func openAt(t *testing.T, e engine, version int) (*DB, string) {
	t.Helper()
	u := e.newURL(t)
	db, err := open(context.Background(), u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.migrate(context.Background(), migrations(t, db)[:version]); err != nil {
		t.Fatal(err)
	}
	return db, u
}

// TestLinksMigrationUpgrade opens a database made before links existed: 0002 applies, and
// the apps made before it take links that go with them.
func TestLinksMigrationUpgrade(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		old, u := openAt(t, e, 1)
		app := &unmogrowp.App{ID: "app_old"} // as a build of that schema stored it
		if _, err := old.write.ExecContext(ctx, `INSERT INTO apps (id, owner_id, name, sdk_key, server_key_hash, signing_secret, settings, created_at)
			VALUES ('app_old', NULL, 'Old', 'pk_old', 'h_old', 'ss_old', '{}', 1)`); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		db, err := Open(ctx, u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := migrationRows(t, db); len(got) != len(migrations(t, db)) || got[1].Name != "0002_links.sql" {
			t.Fatalf("schema_migrations after upgrade: %+v", got)
		}
		link := &unmogrowp.Link{AppID: app.ID, MediaSource: "facebook"}
		if err := db.CreateLink(ctx, link); err != nil {
			t.Fatalf("CreateLink for an app made before links: %v", err)
		}
		if err := db.DeleteApp(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if n := queryStrings(t, db, `SELECT CAST(COUNT(*) AS TEXT) FROM links`); !slices.Equal(n, []string{"0"}) {
			t.Fatalf("%s links left after their app was deleted", n)
		}
	})
}

// TestMigrateUsers applies 0001 and 0002 alone, stores apps and links as a build of that
// schema would (one with a stray owner_id), then opens the database with every migration:
// 0003 adds the owner's foreign key (SQLite rebuilds apps for it, with its indexes), keeps
// every app and link, and turns the stray owner into NULL.
func TestMigrateUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		old, u := openAt(t, e, 2)
		if ms := migrations(t, old); len(ms) < 3 || ms[2].Name != "0003_users.sql" {
			t.Fatalf("migration 3 is not 0003_users.sql: %+v", ms)
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
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		db, err := Open(ctx, u, Options{})
		if err != nil {
			t.Fatalf("Open after 0002: %v", err)
		}
		defer db.Close()
		apps := mustApps(t, db)
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
		wantForeignKeys(t, db, e)
		if e.name == "sqlite" {
			if got := queryStrings(t, db, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'apps' AND sql IS NOT NULL ORDER BY name`); !slices.Equal(got, []string{"apps_app_store_id", "apps_created_at", "apps_owner_id"}) {
				t.Errorf("indexes of apps = %q", got)
			}
			if got := queryStrings(t, db, `SELECT name FROM sqlite_schema WHERE name = 'apps_new'`); len(got) != 0 {
				t.Errorf("apps_new is left over")
			}
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
	})
}

// oldStore is what testdata/v3.<engine>.json says a database made by the build before this
// package (packages sqlite and postgres, schema version 3) holds: testdata/v3.sqlite, and
// testdata/v3.postgres.sql (pg_dump --inserts).
type oldStore struct {
	Users        []*unmogrowp.User // Users[0] has PasswordHash and the session
	PasswordHash string
	Apps         []*unmogrowp.App
	Keys         []unmogrowp.NewAppKeys // of Apps, in order; the server key after a rotation
	Links        []*unmogrowp.Link      // in the order they were made
	SessionHash  string
}

// TestOpenOldDatabase opens a database that the build before this package made: every
// schema_migrations row stays, and every app, key, link, user and session reads back as
// that build stored it; new writes work, and conflicts are told apart as before.
func TestOpenOldDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		var want oldStore
		b, err := os.ReadFile(filepath.Join("testdata", "v3."+e.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		// A setting added since the old build reads back as its default: read the stored
		// settings over the defaults, as the store does.
		var raw struct {
			Apps []struct{ Settings json.RawMessage }
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for i, a := range raw.Apps {
			want.Apps[i].Settings = unmogrowp.DefaultAppSettings()
			if err := json.Unmarshal(a.Settings, &want.Apps[i].Settings); err != nil {
				t.Fatal(err)
			}
		}
		u := e.newURL(t)
		switch e.name {
		case "sqlite":
			b, err := os.ReadFile(filepath.Join("testdata", "v3.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(strings.TrimPrefix(u, "sqlite://"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		case "postgres":
			dump, err := os.ReadFile(filepath.Join("testdata", "v3.postgres.sql"))
			if err != nil {
				t.Fatal(err)
			}
			adminExec(t, u, string(dump))
		}
		db, err := Open(ctx, u, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer db.Close()

		rows := migrationRows(t, db)
		if len(rows) != len(migrations(t, db)) {
			t.Errorf("%d schema_migrations rows, want %d", len(rows), len(migrations(t, db)))
		}
		for i, name := range []string{"0001_apps.sql", "0002_links.sql", "0003_users.sql"} {
			if rows[i].Version != i+1 || rows[i].Name != name || rows[i].AppliedAt == 0 {
				t.Errorf("schema_migrations row %d = %+v, want version %d %s as the old build applied it", i, rows[i], i+1, name)
			}
		}

		if got := mustApps(t, db); !reflect.DeepEqual(got, want.Apps) {
			t.Errorf("apps\n got %+v\nwant %+v", got, want.Apps)
		}
		for i, k := range want.Keys {
			for kind, key := range map[unmogrowp.KeyKind]string{unmogrowp.SDKKey: k.SDKKey, unmogrowp.ServerKey: k.ServerKey} {
				if app, err := db.AppByKey(ctx, key, kind); err != nil || app.ID != want.Apps[i].ID {
					t.Errorf("key kind %d of app %d: %v", kind, i, err)
				}
			}
		}
		for _, l := range want.Links {
			if got, err := db.Link(ctx, l.ID); err != nil || !reflect.DeepEqual(got, l) {
				t.Errorf("Link(%s) = %+v, %v; want %+v", l.ID, got, err, l)
			}
		}
		if links, err := db.Links(ctx, want.Apps[0].ID); err != nil || len(links) != 2 || links[0].ID != want.Links[1].ID {
			t.Errorf("Links of app 0: %+v, %v", links, err)
		}
		for _, wu := range want.Users {
			if got, err := db.User(ctx, wu.ID); err != nil || !reflect.DeepEqual(got, wu) {
				t.Errorf("User(%s) = %+v, %v; want %+v", wu.ID, got, err, wu)
			}
		}
		ann, bob := want.Users[0], want.Users[1]
		if got, hash, err := db.UserByEmail(ctx, ann.Email); err != nil || got.ID != ann.ID || hash != want.PasswordHash {
			t.Errorf("UserByEmail(%s) = %+v, %q, %v", ann.Email, got, hash, err)
		}
		if got, err := db.UserByGoogleSubject(ctx, bob.GoogleSubject); err != nil || got.ID != bob.ID {
			t.Errorf("UserByGoogleSubject(%s) = %+v, %v", bob.GoogleSubject, got, err)
		}
		if got, sess, err := db.UserBySession(ctx, want.SessionHash, time.Now()); err != nil || got.ID != ann.ID {
			t.Errorf("UserBySession = %+v, %v", got, err)
		} else if !strings.HasPrefix(sess.ID, unmogrowp.SessionIDPrefix) || len(sess.ID) != 24 || sess.LastSeenAt.Before(sess.CreatedAt) {
			// 0012 gave the session an id, and made its creation its last use.
			t.Errorf("migrated session = %+v; want an id and a last use", sess)
		}

		// 0008 made each app's owner its owner member; an app without owner has no members.
		for _, a := range want.Apps {
			ms, err := db.Members(ctx, a.ID)
			switch {
			case err != nil:
				t.Fatal(err)
			case a.OwnerID == "" && len(ms) != 0:
				t.Errorf("members of app %s without owner: %+v", a.ID, ms)
			case a.OwnerID != "" && (len(ms) != 1 || ms[0].User.ID != a.OwnerID || ms[0].Role != unmogrowp.RoleOwner || !ms[0].AddedAt.Equal(a.CreatedAt)):
				t.Errorf("members of app %s owned by %s: %+v, want its owner, since the app's creation", a.ID, a.OwnerID, ms)
			}
		}

		// Writes on the old schema: its constraints still tell what is taken.
		for _, tc := range []struct {
			user unmogrowp.User
			want string
		}{
			{unmogrowp.User{Email: ann.Email}, "email"},
			{unmogrowp.User{Email: "new@example.com", GoogleSubject: bob.GoogleSubject}, "Google account"},
		} {
			err := db.CreateUser(ctx, &tc.user, "")
			if unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT || !strings.Contains(unmogrowp.ErrorMessage(err), tc.want) {
				t.Errorf("CreateUser(%+v): %v, want ECONFLICT naming the %s", tc.user, err, tc.want)
			}
		}
		app := &unmogrowp.App{Name: "New", OwnerID: bob.ID, Settings: unmogrowp.DefaultAppSettings()}
		if _, err := db.CreateApp(ctx, app); err != nil {
			t.Fatalf("CreateApp: %v", err)
		}
		if err := db.CreateLink(ctx, &unmogrowp.Link{AppID: app.ID, MediaSource: "m"}); err != nil {
			t.Errorf("CreateLink: %v", err)
		}
		if err := db.DeleteApp(ctx, want.Apps[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Link(ctx, want.Links[0].ID); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			t.Errorf("the link of a deleted app: %v, want ENOTFOUND", err)
		}
	})
}
