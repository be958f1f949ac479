package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestConcurrentGoogleUser signs the same new Google account in from several goroutines at
// once, as several api processes may: all get the same user, and exactly one made it.
// Under SQLite the single writer serialises them; here the unique constraints and
// GoogleUser's retry must.
func TestConcurrentGoogleUser(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
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
}

// TestUnstorableText passes strings that PostgreSQL's TEXT cannot hold (a NUL byte,
// invalid UTF-8), which SQLite stores as they are: lookups find nothing, writes are
// EINVALID, and nothing is an internal error.
func TestUnstorableText(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
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
			{"DeleteApp", db.DeleteApp(ctx, bad), unmogrowp.ENOTFOUND},
			{"RotateServerKey", second(db.RotateServerKey(ctx, bad)), unmogrowp.ENOTFOUND},
			{"Link", second(db.Link(ctx, bad)), unmogrowp.ENOTFOUND},
			{"User", second(db.User(ctx, bad)), unmogrowp.ENOTFOUND},
			{"UserByGoogleSubject", second(db.UserByGoogleSubject(ctx, bad)), unmogrowp.ENOTFOUND},
			{"UserBySession", second(db.UserBySession(ctx, bad)), unmogrowp.EUNAUTHORIZED},
			{"RevokeSession", db.RevokeSession(ctx, bad), ""},
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
