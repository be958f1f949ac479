package metadatatest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// RunUserStore runs the conformance suite of unmogrowp.UserStore. open must return a fresh,
// empty store, isolated from the others (the subtests run in parallel), each time it is
// called, and close it when t ends. If the store is also an
// unmogrowp.AppStore, the suite checks that an app's owner must be one of its users.
func RunUserStore(t *testing.T, open func(t *testing.T) unmogrowp.UserStore) {
	t.Run("CreateAndGet", func(t *testing.T) { t.Parallel(); testCreateUser(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { t.Parallel(); testCreateUserInvalid(t, open(t)) })
	t.Run("DuplicateEmail", func(t *testing.T) { t.Parallel(); testDuplicateEmail(t, open(t)) })
	t.Run("ConcurrentSameEmail", func(t *testing.T) { t.Parallel(); testConcurrentSameEmail(t, open(t)) })
	t.Run("Missing", func(t *testing.T) { t.Parallel(); testMissingUser(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { t.Parallel(); testSessions(t, open(t)) })
	t.Run("SessionExpiry", func(t *testing.T) { t.Parallel(); testSessionExpiry(t, open(t)) })
	t.Run("SessionInvalid", func(t *testing.T) { t.Parallel(); testSessionInvalid(t, open(t)) })
	t.Run("Google", func(t *testing.T) { t.Parallel(); testGoogle(t, open(t)) })
	t.Run("AppOwnerMustExist", func(t *testing.T) { t.Parallel(); testAppOwner(t, open(t)) })
}

// placeholderOwner matches the owner names that the app and link suites use.
var placeholderOwner = regexp.MustCompile(`^user_[0-9]+$`)

// ownerID returns the id of the owner that a suite calls name ("user_1"): in a store that
// also keeps users, the id of a user made for the name (the same one each time); in any
// other store, name itself. Other strings, "" and real ids, are returned as they are.
func ownerID(t *testing.T, s any, name string) string {
	t.Helper()
	us, ok := s.(unmogrowp.UserStore)
	if !ok || !placeholderOwner.MatchString(name) {
		return name
	}
	ctx := context.Background()
	email := name + "@owners.example"
	u, _, err := us.UserByEmail(ctx, email)
	if err == nil {
		return u.ID
	}
	wantCode(t, err, unmogrowp.ENOTFOUND)
	u = &unmogrowp.User{Email: email, Name: name}
	if err := us.CreateUser(ctx, u, ""); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u.ID
}

// createUser stores user with hash and fails the test on an error.
func createUser(t *testing.T, s unmogrowp.UserStore, user *unmogrowp.User, hash string) {
	t.Helper()
	if err := s.CreateUser(context.Background(), user, hash); err != nil {
		t.Fatalf("CreateUser(%q): %v", user.Email, err)
	}
}

// wantUser fails the test unless got and want hold the same values (wantStored).
func wantUser(t *testing.T, got, want *unmogrowp.User) {
	t.Helper()
	wantStored(t, "user", got, want, func(v *unmogrowp.User) *time.Time { return &v.CreatedAt })
}

// newSession stores a session of the user with a fresh token hash, expiring after d.
func newSession(t *testing.T, s unmogrowp.UserStore, userID string, d time.Duration) string {
	t.Helper()
	hash := unmogrowp.HashSessionToken(fmt.Sprintf("token-%s-%d", userID, time.Now().UnixNano()))
	err := s.CreateSession(context.Background(), &unmogrowp.Session{
		TokenHash: hash, UserID: userID, ExpiresAt: time.Now().Add(d),
	})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return hash
}

func testCreateUser(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	before := time.Now()
	u := &unmogrowp.User{Email: "  Ann.Smith@Example.COM ", Name: "  Ann Smith "}
	createUser(t, s, u, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
	after := time.Now()
	if u.ID == "" {
		t.Fatal("CreateUser filled no ID")
	}
	if u.Email != "ann.smith@example.com" || u.Name != "Ann Smith" {
		t.Errorf("CreateUser normalized to email %q, name %q", u.Email, u.Name)
	}
	if u.CreatedAt.Before(before.Add(-time.Millisecond)) || u.CreatedAt.After(after) {
		t.Errorf("CreatedAt %v not within [%v, %v]", u.CreatedAt, before, after)
	}

	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	wantUser(t, got, u)

	for _, email := range []string{"ann.smith@example.com", "ANN.SMITH@EXAMPLE.COM", " Ann.Smith@example.com\t"} {
		got, hash, err := s.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("UserByEmail(%q): %v", email, err)
		}
		wantUser(t, got, u)
		if hash != "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA" {
			t.Errorf("UserByEmail(%q) hash = %q", email, hash)
		}
	}

	// A user without a password (Google only) reads back an empty hash.
	g := &unmogrowp.User{Email: "bob@example.com", GoogleSubject: "1234567890"}
	createUser(t, s, g, "")
	got, hash, err := s.UserByEmail(ctx, "bob@example.com")
	if err != nil || hash != "" {
		t.Fatalf("UserByEmail(bob) = hash %q, %v; want no hash", hash, err)
	}
	wantUser(t, got, g)
	if g.ID == u.ID {
		t.Error("two users have the same id")
	}
}

func testCreateUserInvalid(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	wantCode(t, s.CreateUser(ctx, nil, "h"), unmogrowp.EINVALID)
	for _, tc := range []struct {
		name, email, userName, part string
	}{
		{"NoEmail", "", "Ann", "email is required"},
		{"BlankEmail", "   ", "Ann", "email is required"},
		{"NoAt", "ann.example.com", "Ann", "email must be an email address"},
		{"NoLocal", "@example.com", "Ann", "email must be an email address"},
		{"NoDomain", "ann@", "Ann", "email must be an email address"},
		{"TwoAts", "ann@b@example.com", "Ann", "email must be an email address"},
		{"Space", "ann smith@example.com", "Ann", "email must be an email address"},
		{"LongEmail", strings.Repeat("a", 243) + "@example.com", "Ann", "at most 254"},
		{"LongName", "ann@example.com", strings.Repeat("n", 257), "name must be at most 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateUser(ctx, &unmogrowp.User{Email: tc.email, Name: tc.userName}, "h")
			wantMessage(t, err, unmogrowp.EINVALID, tc.part)
		})
	}
	// At the limits.
	createUser(t, s, &unmogrowp.User{Email: strings.Repeat("a", 242) + "@example.com", Name: strings.Repeat("é", 256)}, "h")
}

func testDuplicateEmail(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	first := &unmogrowp.User{Email: "ann@example.com", Name: "Ann"}
	createUser(t, s, first, "h1")
	for _, email := range []string{"ann@example.com", "ANN@example.com", " Ann@Example.Com "} {
		err := s.CreateUser(ctx, &unmogrowp.User{Email: email, Name: "Other"}, "h2")
		wantMessage(t, err, unmogrowp.ECONFLICT, "already exists")
	}
	got, hash, err := s.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || got.Name != "Ann" || hash != "h1" {
		t.Errorf("a refused duplicate changed the user: %+v, hash %q", got, hash)
	}
	// Another email is fine.
	createUser(t, s, &unmogrowp.User{Email: "ann@example.org"}, "h3")
}

// testConcurrentSameEmail registers one email, in different cases, from many goroutines
// at once: exactly one succeeds and every other gets ECONFLICT.
func testConcurrentSameEmail(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   []string
		errs []error
	)
	for i := range n {
		email := "race@example.com"
		if i%2 == 1 {
			email = "Race@Example.com"
		}
		wg.Go(func() {
			u := &unmogrowp.User{Email: email, Name: fmt.Sprint(i)}
			err := s.CreateUser(ctx, u, "h")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok = append(ok, u.ID)
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(ok) != 1 {
		t.Fatalf("%d creations succeeded, want exactly 1 (errors: %v)", len(ok), errs)
	}
	for _, err := range errs {
		wantCode(t, err, unmogrowp.ECONFLICT)
	}
	got, _, err := s.UserByEmail(ctx, "race@example.com")
	if err != nil || got.ID != ok[0] {
		t.Fatalf("UserByEmail = %+v, %v; want the one created (%s)", got, err, ok[0])
	}
}

func testMissingUser(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	_, err := s.User(ctx, "usr_nosuchuser")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, _, err = s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, _, err = s.UserByEmail(ctx, "not an email")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.UserByGoogleSubject(ctx, "42")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.UserByGoogleSubject(ctx, "")
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

func testSessions(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	ann := &unmogrowp.User{Email: "ann@example.com", Name: "Ann"}
	createUser(t, s, ann, "h")
	bob := &unmogrowp.User{Email: "bob@example.com", Name: "Bob"}
	createUser(t, s, bob, "h")

	a1 := newSession(t, s, ann.ID, time.Hour)
	a2 := newSession(t, s, ann.ID, time.Hour)
	b1 := newSession(t, s, bob.ID, time.Hour)
	for _, tc := range []struct {
		hash string
		want *unmogrowp.User
	}{{a1, ann}, {a2, ann}, {b1, bob}} {
		got, _, err := s.UserBySession(ctx, tc.hash, time.Now())
		if err != nil {
			t.Fatalf("UserBySession: %v", err)
		}
		wantUser(t, got, tc.want)
	}

	// Revoking one session leaves the user's others.
	if err := s.RevokeSession(ctx, a1); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	_, _, err := s.UserBySession(ctx, a1, time.Now())
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	for _, h := range []string{a2, b1} {
		if _, _, err := s.UserBySession(ctx, h, time.Now()); err != nil {
			t.Errorf("another session stopped working: %v", err)
		}
	}
	// Revoking again, or an unknown session, is not an error.
	if err := s.RevokeSession(ctx, a1); err != nil {
		t.Errorf("RevokeSession again: %v", err)
	}
	if err := s.RevokeSession(ctx, unmogrowp.HashSessionToken("never issued")); err != nil {
		t.Errorf("RevokeSession of an unknown session: %v", err)
	}
	// An unknown hash, or a plain token in place of its hash, is refused.
	for _, h := range []string{"", unmogrowp.HashSessionToken("never issued"), "ut_plain"} {
		_, _, err := s.UserBySession(ctx, h, time.Now())
		wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	}
}

func testSessionExpiry(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	u := &unmogrowp.User{Email: "ann@example.com"}
	createUser(t, s, u, "h")

	expired := newSession(t, s, u.ID, -time.Second)
	_, _, err := s.UserBySession(ctx, expired, time.Now())
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)

	soon := newSession(t, s, u.ID, 300*time.Millisecond)
	if _, _, err := s.UserBySession(ctx, soon, time.Now()); err != nil {
		t.Fatalf("a session that has not expired yet: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	_, _, err = s.UserBySession(ctx, soon, time.Now())
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
}

func testSessionInvalid(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()
	u := &unmogrowp.User{Email: "ann@example.com"}
	createUser(t, s, u, "h")
	exp := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		s    *unmogrowp.Session
		code string
	}{
		{"Nil", nil, unmogrowp.EINVALID},
		{"NoHash", &unmogrowp.Session{UserID: u.ID, ExpiresAt: exp}, unmogrowp.EINVALID},
		{"NoUser", &unmogrowp.Session{TokenHash: "h1", ExpiresAt: exp}, unmogrowp.EINVALID},
		{"NoExpiry", &unmogrowp.Session{TokenHash: "h1", UserID: u.ID}, unmogrowp.EINVALID},
		{"UnknownUser", &unmogrowp.Session{TokenHash: "h1", UserID: "usr_nosuchuser", ExpiresAt: exp}, unmogrowp.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, s.CreateSession(ctx, tc.s), tc.code)
		})
	}
	h := newSession(t, s, u.ID, time.Hour)
	err := s.CreateSession(ctx, &unmogrowp.Session{TokenHash: h, UserID: u.ID, ExpiresAt: exp})
	wantCode(t, err, unmogrowp.ECONFLICT)
}

func testGoogle(t *testing.T, s unmogrowp.UserStore) {
	ctx := context.Background()

	// A new Google identity makes a user without a password, once.
	g := unmogrowp.GoogleIdentity{Subject: "111", Email: "Gina@Example.com", EmailVerified: true, Name: "Gina"}
	gina, created, err := s.GoogleUser(ctx, g)
	if err != nil || !created {
		t.Fatalf("GoogleUser(new) = created %v, %v", created, err)
	}
	if gina.Email != "gina@example.com" || gina.GoogleSubject != "111" || gina.Name != "Gina" || gina.ID == "" {
		t.Fatalf("GoogleUser(new) = %+v", gina)
	}
	again, created, err := s.GoogleUser(ctx, g)
	if err != nil || created {
		t.Fatalf("GoogleUser(again) = created %v, %v", created, err)
	}
	wantUser(t, again, gina)
	bySub, err := s.UserByGoogleSubject(ctx, "111")
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, bySub, gina)
	if _, hash, err := s.UserByEmail(ctx, "gina@example.com"); err != nil || hash != "" {
		t.Fatalf("a Google user has password hash %q (%v)", hash, err)
	}

	// A user who registered with a password is linked by a verified email...
	ann := &unmogrowp.User{Email: "ann@example.com", Name: "Ann"}
	createUser(t, s, ann, "h")
	linked, created, err := s.GoogleUser(ctx, unmogrowp.GoogleIdentity{Subject: "222", Email: "ANN@example.com", EmailVerified: true})
	if err != nil || created || linked.ID != ann.ID || linked.GoogleSubject != "222" {
		t.Fatalf("GoogleUser(link) = %+v, created %v, %v", linked, created, err)
	}
	if _, hash, _ := s.UserByEmail(ctx, "ann@example.com"); hash != "h" {
		t.Errorf("linking changed the password hash to %q", hash)
	}
	// ...but not by an unverified one,
	bob := &unmogrowp.User{Email: "bob@example.com"}
	createUser(t, s, bob, "h")
	_, _, err = s.GoogleUser(ctx, unmogrowp.GoogleIdentity{Subject: "333", Email: "bob@example.com"})
	wantCode(t, err, unmogrowp.EFORBIDDEN)
	// ...nor when the user is linked to another Google account.
	_, _, err = s.GoogleUser(ctx, unmogrowp.GoogleIdentity{Subject: "444", Email: "ann@example.com", EmailVerified: true})
	wantCode(t, err, unmogrowp.ECONFLICT)

	// One Google account, one user.
	err = s.CreateUser(ctx, &unmogrowp.User{Email: "other@example.com", GoogleSubject: "111"}, "")
	wantCode(t, err, unmogrowp.ECONFLICT)

	for _, bad := range []unmogrowp.GoogleIdentity{
		{Subject: "", Email: "x@example.com", EmailVerified: true},
		{Subject: "555", Email: "not an email", EmailVerified: true},
	} {
		_, _, err := s.GoogleUser(ctx, bad)
		wantCode(t, err, unmogrowp.EINVALID)
	}
}

// testAppOwner checks, in a store that keeps apps too, that an app's owner must be a user.
func testAppOwner(t *testing.T, s unmogrowp.UserStore) {
	apps, ok := s.(unmogrowp.AppStore)
	if !ok {
		t.Skip("the store keeps no apps")
	}
	ctx := context.Background()
	_, err := apps.CreateApp(ctx, fullApp("Orphan", "usr_nosuchuser"))
	wantCode(t, err, unmogrowp.EINVALID)

	u := &unmogrowp.User{Email: "owner@example.com"}
	createUser(t, s, u, "h")
	app := fullApp("Owned", u.ID)
	create(t, apps, app)
	got := get(t, apps, app.ID)
	if got.OwnerID != u.ID {
		t.Errorf("OwnerID = %q, want %q", got.OwnerID, u.ID)
	}
}
