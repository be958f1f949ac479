package metadatatest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// AccountStoreWithUsers is an account store that also keeps the users and sessions it
// secures: the metadata store.
type AccountStoreWithUsers interface {
	unmogrowp.AccountStore
	unmogrowp.UserStore
}

// RunAccountStore runs the conformance suite of unmogrowp.AccountStore. open must return a
// fresh, empty store, isolated from the others (the subtests run in parallel), each time
// it is called, and close it when t ends.
func RunAccountStore(t *testing.T, open func(t *testing.T) AccountStoreWithUsers) {
	t.Run("Sessions", func(t *testing.T) { t.Parallel(); testSessionList(t, open(t)) })
	t.Run("PasswordReset", func(t *testing.T) { t.Parallel(); testPasswordReset(t, open(t)) })
	t.Run("ConcurrentReset", func(t *testing.T) { t.Parallel(); testConcurrentReset(t, open(t)) })
	t.Run("TwoFactor", func(t *testing.T) { t.Parallel(); testTwoFactor(t, open(t)) })
	t.Run("ConcurrentRecoveryCode", func(t *testing.T) { t.Parallel(); testConcurrentRecoveryCode(t, open(t)) })
}

// storeSession stores a session of the user made at created and returns it.
func storeSession(t *testing.T, s unmogrowp.UserStore, userID, ua string, created time.Time) *unmogrowp.Session {
	t.Helper()
	sess := &unmogrowp.Session{TokenHash: unmogrowp.HashSessionToken(fmt.Sprint(userID, ua, created.UnixNano())), UserID: userID,
		CreatedAt: created, ExpiresAt: created.Add(time.Hour), UserAgent: ua, IP: "192.0.2.1"}
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func testSessionList(t *testing.T, s AccountStoreWithUsers) {
	ctx := context.Background()
	ann, bob := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com")
	now := time.Now().UTC().Truncate(time.Second)
	old := storeSession(t, s, ann.ID, "Firefox", now.Add(-30*time.Minute))
	recent := storeSession(t, s, ann.ID, "Safari \xff\x00long"+string(make([]byte, 600)), now.Add(-10*time.Minute))
	storeSession(t, s, bob.ID, "curl", now)
	expired := &unmogrowp.Session{TokenHash: "expired", UserID: ann.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	if err := s.CreateSession(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if old.ID == "" || old.ID == recent.ID || old.ID[:4] != unmogrowp.SessionIDPrefix || !old.LastSeenAt.Equal(old.CreatedAt) {
		t.Fatalf("CreateSession filled id %q (other %q), last seen %v", old.ID, recent.ID, old.LastSeenAt)
	}
	if len(recent.UserAgent) > unmogrowp.MaxSessionUserAgentLen {
		t.Errorf("user agent of %d bytes kept", len(recent.UserAgent))
	}

	list, err := s.Sessions(ctx, ann.ID, now)
	if err != nil || len(list) != 2 || list[0].ID != recent.ID || list[1].ID != old.ID {
		t.Fatalf("Sessions = %+v, %v; want the recent one, then the old one, without the expired", list, err)
	}
	if list[1].UserAgent != "Firefox" || list[1].IP != "192.0.2.1" || !list[1].CreatedAt.Equal(old.CreatedAt) || list[1].TokenHash != old.TokenHash {
		t.Errorf("Sessions[1] = %+v, want %+v", list[1], old)
	}

	// A use records the last use, at most once per granularity: the old session moves up.
	u, got, err := s.UserBySession(ctx, old.TokenHash, now)
	if err != nil || u.ID != ann.ID || got.ID != old.ID || !got.LastSeenAt.Equal(now) {
		t.Fatalf("UserBySession = %+v, %+v, %v", u, got, err)
	}
	if _, got, _ := s.UserBySession(ctx, old.TokenHash, now.Add(30*time.Second)); !got.LastSeenAt.Equal(now) {
		t.Errorf("a use within the granularity wrote last seen %v", got.LastSeenAt)
	}
	if list, _ := s.Sessions(ctx, ann.ID, now); len(list) != 2 || list[0].ID != old.ID {
		t.Errorf("after a use, Sessions = %+v; want the used one first", list)
	}

	// Revoking by id: only the user's own session.
	wantCode(t, s.RevokeUserSession(ctx, bob.ID, old.ID), unmogrowp.ENOTFOUND)
	wantCode(t, s.RevokeUserSession(ctx, ann.ID, "ses_nosuch"), unmogrowp.ENOTFOUND)
	if err := s.RevokeUserSession(ctx, ann.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserBySession(ctx, old.TokenHash, now)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	wantCode(t, s.RevokeUserSession(ctx, ann.ID, old.ID), unmogrowp.ENOTFOUND)
	if list, _ := s.Sessions(ctx, ann.ID, now); len(list) != 1 || list[0].ID != recent.ID {
		t.Errorf("after revoking, Sessions = %+v", list)
	}
	if list, err := s.Sessions(ctx, "usr_nosuch", now); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Sessions of an unknown user = %v, %v; want empty", list, err)
	}
}

func testPasswordReset(t *testing.T, s AccountStoreWithUsers) {
	ctx := context.Background()
	ann, bob := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com")
	now := time.Now()
	annSession := storeSession(t, s, ann.ID, "a", now)
	bobSession := storeSession(t, s, bob.ID, "b", now)
	reset := func(hash, userID string, expires time.Time) {
		t.Helper()
		if err := s.CreatePasswordReset(ctx, &unmogrowp.PasswordReset{TokenHash: hash, UserID: userID, ExpiresAt: expires}); err != nil {
			t.Fatalf("CreatePasswordReset: %v", err)
		}
	}
	wantCode(t, s.CreatePasswordReset(ctx, &unmogrowp.PasswordReset{TokenHash: "h", UserID: "usr_nosuch", ExpiresAt: now.Add(time.Hour)}), unmogrowp.ENOTFOUND)
	wantCode(t, s.CreatePasswordReset(ctx, &unmogrowp.PasswordReset{UserID: ann.ID, ExpiresAt: now}), unmogrowp.EINVALID)
	wantCode(t, s.CreatePasswordReset(ctx, nil), unmogrowp.EINVALID)
	reset("r1", ann.ID, now.Add(time.Hour))
	reset("r2", ann.ID, now.Add(time.Hour))
	reset("old", ann.ID, now.Add(-time.Second))
	reset("rb", bob.ID, now.Add(time.Hour))

	_, err := s.ResetPassword(ctx, "old", "new-hash", now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.ResetPassword(ctx, "nosuch", "new-hash", now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	u, err := s.ResetPassword(ctx, "r1", "new-hash", now)
	if err != nil || u.ID != ann.ID {
		t.Fatalf("ResetPassword = %+v, %v", u, err)
	}
	if _, hash, _ := s.UserByEmail(ctx, "ann@example.com"); hash != "new-hash" {
		t.Errorf("password hash = %q after the reset", hash)
	}
	// Single use, and the user's other resets and sessions are gone; bob's are not.
	for _, h := range []string{"r1", "r2"} {
		_, err := s.ResetPassword(ctx, h, "again", now)
		wantCode(t, err, unmogrowp.ENOTFOUND)
	}
	_, _, err = s.UserBySession(ctx, annSession.TokenHash, now)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	if _, _, err := s.UserBySession(ctx, bobSession.TokenHash, now); err != nil {
		t.Errorf("bob's session ended with ann's reset: %v", err)
	}

	// SetPassword does the same without a token.
	if err := s.SetPassword(ctx, bob.ID, "bob-hash"); err != nil {
		t.Fatal(err)
	}
	if _, hash, _ := s.UserByEmail(ctx, "bob@example.com"); hash != "bob-hash" {
		t.Errorf("bob's hash = %q", hash)
	}
	_, _, err = s.UserBySession(ctx, bobSession.TokenHash, now)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	_, err = s.ResetPassword(ctx, "rb", "x", now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.SetPassword(ctx, "usr_nosuch", "x"), unmogrowp.ENOTFOUND)
}

func testConcurrentReset(t *testing.T, s AccountStoreWithUsers) {
	ctx := context.Background()
	ann := teamUser(t, s, "ann@example.com")
	if err := s.CreatePasswordReset(ctx, &unmogrowp.PasswordReset{TokenHash: "once", UserID: ann.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := range n {
		wg.Go(func() {
			_, err := s.ResetPassword(ctx, "once", fmt.Sprint("hash-", i), time.Now())
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
				t.Errorf("ResetPassword: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of %d concurrent redemptions succeeded, want 1", ok, n)
	}
}

func testTwoFactor(t *testing.T, s AccountStoreWithUsers) {
	ctx := context.Background()
	ann := teamUser(t, s, "ann@example.com")
	want := func(secret string, enabled bool, left int) {
		t.Helper()
		tf, err := s.TwoFactor(ctx, ann.ID)
		if err != nil || tf.Secret != secret || tf.Enabled != enabled || tf.RecoveryCodesLeft != left {
			t.Fatalf("TwoFactor = %+v, %v; want secret %q enabled %v left %d", tf, err, secret, enabled, left)
		}
	}
	want("", false, 0)
	_, err := s.TwoFactor(ctx, "usr_nosuch")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.EnableTwoFactor(ctx, ann.ID, nil, 1), unmogrowp.ECONFLICT) // nothing pending
	wantCode(t, s.StartTwoFactor(ctx, ann.ID, ""), unmogrowp.EINVALID)
	wantCode(t, s.StartTwoFactor(ctx, "usr_nosuch", "S"), unmogrowp.ENOTFOUND)
	if err := s.StartTwoFactor(ctx, ann.ID, "FIRST"); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTwoFactor(ctx, ann.ID, "SECRET"); err != nil { // replaces the pending one
		t.Fatal(err)
	}
	want("SECRET", false, 0)
	codes := []string{"c1", "c2", "c3"}
	if err := s.EnableTwoFactor(ctx, ann.ID, codes, 100); err != nil {
		t.Fatal(err)
	}
	want("SECRET", true, 3)
	wantCode(t, s.StartTwoFactor(ctx, ann.ID, "OTHER"), unmogrowp.ECONFLICT)
	wantCode(t, s.EnableTwoFactor(ctx, ann.ID, codes, 101), unmogrowp.ECONFLICT)

	// A time step is good once, and only after the last one used (100, at enabling).
	wantCode(t, s.UseTOTPStep(ctx, ann.ID, 100), unmogrowp.ECONFLICT)
	if err := s.UseTOTPStep(ctx, ann.ID, 102); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UseTOTPStep(ctx, ann.ID, 102), unmogrowp.ECONFLICT)
	wantCode(t, s.UseTOTPStep(ctx, ann.ID, 101), unmogrowp.ECONFLICT)
	wantCode(t, s.UseTOTPStep(ctx, "usr_nosuch", 500), unmogrowp.ENOTFOUND)

	// A recovery code is good once.
	if err := s.UseRecoveryCode(ctx, ann.ID, "c2"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UseRecoveryCode(ctx, ann.ID, "c2"), unmogrowp.ENOTFOUND)
	wantCode(t, s.UseRecoveryCode(ctx, ann.ID, "nosuch"), unmogrowp.ENOTFOUND)
	want("SECRET", true, 2)

	if err := s.DisableTwoFactor(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	want("", false, 0)
	wantCode(t, s.UseRecoveryCode(ctx, ann.ID, "c1"), unmogrowp.ENOTFOUND)
	wantCode(t, s.DisableTwoFactor(ctx, "usr_nosuch"), unmogrowp.ENOTFOUND)
}

func testConcurrentRecoveryCode(t *testing.T, s AccountStoreWithUsers) {
	ctx := context.Background()
	ann := teamUser(t, s, "ann@example.com")
	if err := s.StartTwoFactor(ctx, ann.ID, "S"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTwoFactor(ctx, ann.ID, []string{"code"}, 1); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		codes, step int
	)
	for range n {
		wg.Go(func() {
			a, b := s.UseRecoveryCode(ctx, ann.ID, "code"), s.UseTOTPStep(ctx, ann.ID, 5)
			mu.Lock()
			defer mu.Unlock()
			if a == nil {
				codes++
			}
			if b == nil {
				step++
			}
		})
	}
	wg.Wait()
	if codes != 1 || step != 1 {
		t.Errorf("of %d concurrent uses, %d took the recovery code and %d the time step; want 1 each", n, codes, step)
	}
}
