package metadatatest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TeamStoreWithAppsAndUsers is a team store that also keeps the apps and users its
// members, invitations and tokens belong to: the metadata store.
type TeamStoreWithAppsAndUsers interface {
	unmogrowp.TeamStore
	unmogrowp.AppStore
	unmogrowp.UserStore
}

// RunTeamStore runs the conformance suite of unmogrowp.TeamStore. open must return a fresh,
// empty store, isolated from the others (the subtests run in parallel), each time it is
// called, and close it when t ends.
func RunTeamStore(t *testing.T, open func(t *testing.T) TeamStoreWithAppsAndUsers) {
	t.Run("OwnerIsMember", func(t *testing.T) { t.Parallel(); testOwnerIsMember(t, open(t)) })
	t.Run("Members", func(t *testing.T) { t.Parallel(); testMembers(t, open(t)) })
	t.Run("Transfer", func(t *testing.T) { t.Parallel(); testTransfer(t, open(t)) })
	t.Run("ConcurrentTransfers", func(t *testing.T) { t.Parallel(); testConcurrentTransfers(t, open(t)) })
	t.Run("Invitations", func(t *testing.T) { t.Parallel(); testInvitations(t, open(t)) })
	t.Run("ConcurrentAccept", func(t *testing.T) { t.Parallel(); testConcurrentAccept(t, open(t)) })
	t.Run("AccessTokens", func(t *testing.T) { t.Parallel(); testAccessTokens(t, open(t)) })
	t.Run("Audit", func(t *testing.T) { t.Parallel(); testAudit(t, open(t)) })
	t.Run("DeleteApp", func(t *testing.T) { t.Parallel(); testTeamDeleteApp(t, open(t)) })
}

// teamUser stores a user with the email and returns it.
func teamUser(t *testing.T, s unmogrowp.UserStore, email string) *unmogrowp.User {
	t.Helper()
	u := &unmogrowp.User{Email: email, Name: email[:1]}
	createUser(t, s, u, "")
	return u
}

// ownedApp stores an app owned by the user and returns it.
func ownedApp(t *testing.T, s unmogrowp.AppStore, name, ownerID string) *unmogrowp.App {
	t.Helper()
	app := &unmogrowp.App{Name: name, OwnerID: ownerID, Settings: unmogrowp.DefaultAppSettings()}
	if _, err := s.CreateApp(context.Background(), app); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	return app
}

// wantRole fails the test unless the user's role on the app is want.
func wantRole(t *testing.T, s unmogrowp.TeamStore, appID, userID string, want unmogrowp.Role) {
	t.Helper()
	_, got, err := s.AppRole(context.Background(), appID, userID)
	if err != nil || got != want {
		t.Fatalf("AppRole(%s, %s) = %q, %v; want %q", appID, userID, got, err, want)
	}
}

// roles returns the app's members as "email:role", in Members' order.
func roles(t *testing.T, s unmogrowp.TeamStore, appID string) []string {
	t.Helper()
	ms, err := s.Members(context.Background(), appID)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	out := []string{}
	for _, m := range ms {
		if m.AppID != appID {
			t.Errorf("member %+v of app %s", m, appID)
		}
		out = append(out, m.User.Email+":"+string(m.Role))
	}
	return out
}

func testOwnerIsMember(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann, bob := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com")
	app := ownedApp(t, s, "Game", ann.ID)
	got, role, err := s.AppRole(ctx, app.ID, ann.ID)
	if err != nil || role != unmogrowp.RoleOwner || got.ID != app.ID || got.Name != "Game" || got.OwnerID != ann.ID {
		t.Fatalf("AppRole of the creator = %+v, %q, %v", got, role, err)
	}
	wantRole(t, s, app.ID, bob.ID, unmogrowp.RoleNone)
	if _, _, err := s.AppRole(ctx, "app_nosuchapp", ann.ID); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Errorf("AppRole of an unknown app: %v, want ENOTFOUND", err)
	}
	if got := roles(t, s, app.ID); !slices.Equal(got, []string{"ann@example.com:owner"}) {
		t.Errorf("members = %q", got)
	}
	// An app without an owner (made on the command line) has no members.
	cli := ownedApp(t, s, "CLI", "")
	if got := roles(t, s, cli.ID); len(got) != 0 {
		t.Errorf("members of an app without owner = %q", got)
	}
	other := ownedApp(t, s, "Other", bob.ID)
	if _, err := s.AddMember(ctx, other.ID, ann.ID, unmogrowp.RoleViewer); err != nil {
		t.Fatal(err)
	}
	list, err := s.AppsOfUser(ctx, ann.ID)
	if err != nil || len(list) != 2 || list[0].App.ID != app.ID || list[0].Role != unmogrowp.RoleOwner ||
		list[1].App.ID != other.ID || list[1].Role != unmogrowp.RoleViewer {
		t.Fatalf("AppsOfUser(ann) = %+v, %v", list, err)
	}
	if list, err := s.AppsOfUser(ctx, "usr_nobody"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("AppsOfUser(nobody) = %+v, %v; want empty, not nil", list, err)
	}
}

func testMembers(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann, bob, cat := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com"), teamUser(t, s, "cat@example.com")
	app := ownedApp(t, s, "Game", ann.ID)

	before := time.Now()
	m, err := s.AddMember(ctx, app.ID, bob.ID, unmogrowp.RoleViewer)
	if err != nil || m.User.ID != bob.ID || m.User.Email != bob.Email || m.Role != unmogrowp.RoleViewer || m.AppID != app.ID ||
		m.AddedAt.Before(before.Add(-time.Millisecond)) || m.AddedAt.Location() != time.UTC {
		t.Fatalf("AddMember = %+v, %v", m, err)
	}
	_, err = s.AddMember(ctx, app.ID, bob.ID, unmogrowp.RoleEditor)
	wantCode(t, err, unmogrowp.ECONFLICT)
	wantRole(t, s, app.ID, bob.ID, unmogrowp.RoleViewer)
	for _, role := range []unmogrowp.Role{unmogrowp.RoleOwner, unmogrowp.RoleNone, "root"} {
		_, err := s.AddMember(ctx, app.ID, cat.ID, role)
		wantCode(t, err, unmogrowp.EINVALID)
		_, err = s.SetRole(ctx, app.ID, bob.ID, role)
		wantCode(t, err, unmogrowp.EINVALID)
	}
	_, err = s.AddMember(ctx, app.ID, "usr_nosuchuser", unmogrowp.RoleViewer)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.AddMember(ctx, "app_nosuchapp", cat.ID, unmogrowp.RoleViewer)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if _, err := s.AddMember(ctx, app.ID, cat.ID, unmogrowp.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if got := roles(t, s, app.ID); !slices.Equal(got, []string{"ann@example.com:owner", "bob@example.com:viewer", "cat@example.com:admin"}) {
		t.Errorf("members = %q", got)
	}

	if m, err := s.SetRole(ctx, app.ID, bob.ID, unmogrowp.RoleEditor); err != nil || m.Role != unmogrowp.RoleEditor || m.User.ID != bob.ID {
		t.Fatalf("SetRole = %+v, %v", m, err)
	}
	wantRole(t, s, app.ID, bob.ID, unmogrowp.RoleEditor)
	_, err = s.SetRole(ctx, app.ID, ann.ID, unmogrowp.RoleAdmin)
	wantCode(t, err, unmogrowp.ECONFLICT)
	wantRole(t, s, app.ID, ann.ID, unmogrowp.RoleOwner)
	_, err = s.SetRole(ctx, app.ID, "usr_nosuchuser", unmogrowp.RoleAdmin)
	wantCode(t, err, unmogrowp.ENOTFOUND)

	wantCode(t, s.RemoveMember(ctx, app.ID, ann.ID), unmogrowp.ECONFLICT) // the last owner cannot leave
	wantRole(t, s, app.ID, ann.ID, unmogrowp.RoleOwner)
	if err := s.RemoveMember(ctx, app.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	wantRole(t, s, app.ID, bob.ID, unmogrowp.RoleNone)
	wantCode(t, s.RemoveMember(ctx, app.ID, bob.ID), unmogrowp.ENOTFOUND)
	if got := roles(t, s, app.ID); !slices.Equal(got, []string{"ann@example.com:owner", "cat@example.com:admin"}) {
		t.Errorf("members after removal = %q", got)
	}
	// Another app's members are its own.
	other := ownedApp(t, s, "Other", bob.ID)
	wantCode(t, s.RemoveMember(ctx, other.ID, cat.ID), unmogrowp.ENOTFOUND)
	if got := roles(t, s, other.ID); !slices.Equal(got, []string{"bob@example.com:owner"}) {
		t.Errorf("members of the other app = %q", got)
	}
}

func testTransfer(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann, bob, cat := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com"), teamUser(t, s, "cat@example.com")
	app := ownedApp(t, s, "Game", ann.ID)
	if _, err := s.AddMember(ctx, app.ID, bob.ID, unmogrowp.RoleViewer); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.TransferOwnership(ctx, app.ID, cat.ID), unmogrowp.ENOTFOUND) // not a member
	wantCode(t, s.TransferOwnership(ctx, app.ID, ann.ID), unmogrowp.ECONFLICT) // the owner already
	wantCode(t, s.TransferOwnership(ctx, "app_nosuchapp", bob.ID), unmogrowp.ENOTFOUND)
	if err := s.TransferOwnership(ctx, app.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if got := roles(t, s, app.ID); !slices.Equal(got, []string{"bob@example.com:owner", "ann@example.com:admin"}) {
		t.Errorf("members after the transfer = %q", got)
	}
	if got, _, err := s.AppRole(ctx, app.ID, bob.ID); err != nil || got.OwnerID != bob.ID {
		t.Errorf("OwnerID after the transfer = %+v, %v", got, err)
	}
	if apps, err := s.Apps(ctx, bob.ID); err != nil || len(apps) != 1 || apps[0].ID != app.ID {
		t.Errorf("Apps(new owner) = %+v, %v", apps, err)
	}
	// The old owner, now an admin, may leave.
	if err := s.RemoveMember(ctx, app.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
}

// testConcurrentTransfers runs transfers of one app to several members at once: every
// one succeeds in turn or conflicts, and the app ends with exactly one owner.
func testConcurrentTransfers(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	owner := teamUser(t, s, "owner@example.com")
	app := ownedApp(t, s, "Game", owner.ID)
	var ids []string
	for i := range 6 {
		u := teamUser(t, s, fmt.Sprintf("m%d@example.com", i))
		if _, err := s.AddMember(ctx, app.ID, u.ID, unmogrowp.RoleEditor); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := s.TransferOwnership(ctx, app.ID, id); err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT {
				t.Errorf("TransferOwnership: %v", err)
			}
		})
	}
	wg.Wait()
	ms, err := s.Members(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	owners := 0
	for _, m := range ms {
		if m.Role == unmogrowp.RoleOwner {
			owners++
			if got, _, _ := s.AppRole(ctx, app.ID, m.User.ID); got.OwnerID != m.User.ID {
				t.Errorf("OwnerID %s, owner member %s", got.OwnerID, m.User.ID)
			}
		}
	}
	if owners != 1 || len(ms) != 7 || ms[0].Role != unmogrowp.RoleOwner {
		t.Errorf("%d owners among %d members after concurrent transfers, want 1 of 7 (first)", owners, len(ms))
	}
}

// invite stores an invitation of the email with a fresh token hash and returns it.
func invite(t *testing.T, s unmogrowp.TeamStore, appID, email string, role unmogrowp.Role, expires time.Time) *unmogrowp.Invitation {
	t.Helper()
	inv := &unmogrowp.Invitation{AppID: appID, Email: email, Role: role, ExpiresAt: expires,
		TokenHash: unmogrowp.HashSessionToken(fmt.Sprintf("inv-%s-%d", email, time.Now().UnixNano()))}
	if err := s.CreateInvitation(context.Background(), inv); err != nil {
		t.Fatalf("CreateInvitation(%s): %v", email, err)
	}
	return inv
}

func testInvitations(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	now := time.Now()
	ann, bob, cat := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com"), teamUser(t, s, "cat@example.com")
	app := ownedApp(t, s, "Game", ann.ID)

	inv := &unmogrowp.Invitation{AppID: app.ID, Email: " New@Example.com", Role: unmogrowp.RoleEditor, InvitedBy: ann.ID,
		TokenHash: unmogrowp.HashSessionToken("t1"), ExpiresAt: now.Add(unmogrowp.InvitationLifetime)}
	if err := s.CreateInvitation(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if inv.ID == "" || inv.Email != "new@example.com" || inv.CreatedAt.IsZero() {
		t.Errorf("CreateInvitation filled %+v", inv)
	}
	for name, bad := range map[string]unmogrowp.Invitation{
		"email":   {AppID: app.ID, Email: "nope", Role: unmogrowp.RoleViewer, TokenHash: "h", ExpiresAt: now.Add(time.Hour)},
		"owner":   {AppID: app.ID, Email: "x@example.com", Role: unmogrowp.RoleOwner, TokenHash: "h", ExpiresAt: now.Add(time.Hour)},
		"no hash": {AppID: app.ID, Email: "x@example.com", Role: unmogrowp.RoleViewer, ExpiresAt: now.Add(time.Hour)},
		"expiry":  {AppID: app.ID, Email: "x@example.com", Role: unmogrowp.RoleViewer, TokenHash: "h"},
	} {
		if err := s.CreateInvitation(ctx, &bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("CreateInvitation with a bad %s: %v, want EINVALID", name, err)
		}
	}
	err := s.CreateInvitation(ctx, &unmogrowp.Invitation{AppID: "app_nosuchapp", Email: "x@example.com", Role: unmogrowp.RoleViewer, TokenHash: "h2", ExpiresAt: now.Add(time.Hour)})
	wantCode(t, err, unmogrowp.ENOTFOUND)

	expired := invite(t, s, app.ID, "old@example.com", unmogrowp.RoleViewer, now.Add(-time.Second))
	list, err := s.Invitations(ctx, app.ID, now)
	if err != nil || len(list) != 1 || list[0].ID != inv.ID || list[0].TokenHash != inv.TokenHash ||
		list[0].Role != unmogrowp.RoleEditor || list[0].InvitedBy != ann.ID || !list[0].ExpiresAt.Equal(inv.ExpiresAt) {
		t.Fatalf("Invitations = %+v, %v; want the one that has not expired", list, err)
	}
	// A new invitation of the same email replaces the pending one.
	again := invite(t, s, app.ID, "new@example.com", unmogrowp.RoleViewer, now.Add(time.Hour))
	if list, _ := s.Invitations(ctx, app.ID, now); len(list) != 1 || list[0].ID != again.ID {
		t.Fatalf("Invitations after inviting again = %+v", list)
	}
	if _, err := s.AcceptInvitation(ctx, inv.TokenHash, bob.ID, now); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Errorf("accepting a replaced invitation: %v, want ENOTFOUND", err)
	}
	_, err = s.AcceptInvitation(ctx, expired.TokenHash, bob.ID, now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	for _, h := range []string{expired.TokenHash, inv.TokenHash, "nosuch", ""} {
		_, err := s.InvitationByToken(ctx, h, now)
		wantCode(t, err, unmogrowp.ENOTFOUND)
	}
	if got, err := s.InvitationByToken(ctx, again.TokenHash, now); err != nil || got.ID != again.ID || got.AppID != app.ID || got.Role != unmogrowp.RoleViewer {
		t.Fatalf("InvitationByToken = %+v, %v", got, err)
	}

	// Accepted once, by whoever holds the token.
	m, err := s.AcceptInvitation(ctx, again.TokenHash, bob.ID, now)
	if err != nil || m.User.ID != bob.ID || m.Role != unmogrowp.RoleViewer || m.AppID != app.ID {
		t.Fatalf("AcceptInvitation = %+v, %v", m, err)
	}
	_, err = s.AcceptInvitation(ctx, again.TokenHash, cat.ID, now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.InvitationByToken(ctx, again.TokenHash, now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if list, _ := s.Invitations(ctx, app.ID, now); len(list) != 0 {
		t.Errorf("Invitations after the accept = %+v", list)
	}
	// A member keeps a higher role than the invitation's, and gets a higher one.
	low := invite(t, s, app.ID, "bob@example.com", unmogrowp.RoleViewer, now.Add(time.Hour))
	if _, err := s.SetRole(ctx, app.ID, bob.ID, unmogrowp.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if m, err := s.AcceptInvitation(ctx, low.TokenHash, bob.ID, now); err != nil || m.Role != unmogrowp.RoleAdmin {
		t.Errorf("accepting a lower role = %+v, %v; want admin kept", m, err)
	}
	high := invite(t, s, app.ID, "ann@example.com", unmogrowp.RoleAdmin, now.Add(time.Hour))
	if m, err := s.AcceptInvitation(ctx, high.TokenHash, ann.ID, now); err != nil || m.Role != unmogrowp.RoleOwner {
		t.Errorf("the owner accepting = %+v, %v; want owner kept", m, err)
	}
	up := invite(t, s, app.ID, "cat@example.com", unmogrowp.RoleEditor, now.Add(time.Hour))
	if _, err := s.AddMember(ctx, app.ID, cat.ID, unmogrowp.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if m, err := s.AcceptInvitation(ctx, up.TokenHash, cat.ID, now); err != nil || m.Role != unmogrowp.RoleEditor {
		t.Errorf("accepting a higher role = %+v, %v; want editor", m, err)
	}

	gone := invite(t, s, app.ID, "gone@example.com", unmogrowp.RoleViewer, now.Add(time.Hour))
	wantCode(t, s.RevokeInvitation(ctx, "app_other", gone.ID), unmogrowp.ENOTFOUND)
	if err := s.RevokeInvitation(ctx, app.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RevokeInvitation(ctx, app.ID, gone.ID), unmogrowp.ENOTFOUND)
	_, err = s.AcceptInvitation(ctx, gone.TokenHash, cat.ID, now)
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

// testConcurrentAccept accepts one invitation from several users at once: exactly one
// becomes a member.
func testConcurrentAccept(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	app := ownedApp(t, s, "Game", teamUser(t, s, "owner@example.com").ID)
	inv := invite(t, s, app.ID, "x@example.com", unmogrowp.RoleEditor, time.Now().Add(time.Hour))
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := range 6 {
		u := teamUser(t, s, fmt.Sprintf("u%d@example.com", i))
		wg.Go(func() {
			_, err := s.AcceptInvitation(ctx, inv.TokenHash, u.ID, time.Now())
			switch unmogrowp.ErrorCode(err) {
			case "":
				mu.Lock()
				ok++
				mu.Unlock()
			case unmogrowp.ENOTFOUND:
			default:
				t.Errorf("AcceptInvitation: %v", err)
			}
		})
	}
	wg.Wait()
	if got := roles(t, s, app.ID); ok != 1 || len(got) != 2 {
		t.Errorf("%d accepts succeeded, members %q; want exactly one", ok, got)
	}
}

func testAccessTokens(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann, bob := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com")
	now := time.Now()
	read := &unmogrowp.AccessToken{UserID: ann.ID, Name: " CI ", Scope: unmogrowp.ScopeRead, TokenHash: unmogrowp.HashSessionToken("a1")}
	if err := s.CreateAccessToken(ctx, read); err != nil {
		t.Fatal(err)
	}
	if read.ID == "" || read.Name != "CI" || read.CreatedAt.IsZero() || !read.ExpiresAt.IsZero() {
		t.Errorf("CreateAccessToken filled %+v", read)
	}
	write := &unmogrowp.AccessToken{UserID: ann.ID, Name: "deploy", Scope: unmogrowp.ScopeWrite,
		TokenHash: unmogrowp.HashSessionToken("a2"), ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateAccessToken(ctx, write); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]unmogrowp.AccessToken{
		"name":    {UserID: ann.ID, Scope: unmogrowp.ScopeRead, TokenHash: "h"},
		"long":    {UserID: ann.ID, Name: string(make([]byte, 101)), Scope: unmogrowp.ScopeRead, TokenHash: "h"},
		"control": {UserID: ann.ID, Name: "a\x01", Scope: unmogrowp.ScopeRead, TokenHash: "h"},
		"scope":   {UserID: ann.ID, Name: "n", Scope: "admin", TokenHash: "h"},
		"hash":    {UserID: ann.ID, Name: "n", Scope: unmogrowp.ScopeRead},
	} {
		if err := s.CreateAccessToken(ctx, &bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("CreateAccessToken with a bad %s: %v, want EINVALID", name, err)
		}
	}
	err := s.CreateAccessToken(ctx, &unmogrowp.AccessToken{UserID: "usr_nosuchuser", Name: "n", Scope: unmogrowp.ScopeRead, TokenHash: "h3"})
	wantCode(t, err, unmogrowp.ENOTFOUND)

	list, err := s.AccessTokens(ctx, ann.ID)
	if err != nil || len(list) != 2 || list[0].ID != write.ID || list[1].ID != read.ID || list[0].Scope != unmogrowp.ScopeWrite ||
		!list[0].ExpiresAt.Equal(write.ExpiresAt) || !list[1].LastUsedAt.IsZero() {
		t.Fatalf("AccessTokens = %+v, %v", list, err)
	}
	if list, err := s.AccessTokens(ctx, bob.ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("AccessTokens(bob) = %+v, %v; want empty, not nil", list, err)
	}

	u, tok, err := s.UserByAccessToken(ctx, read.TokenHash, now)
	if err != nil || u.ID != ann.ID || u.Email != ann.Email || tok.ID != read.ID || tok.Scope != unmogrowp.ScopeRead || tok.LastUsedAt.IsZero() {
		t.Fatalf("UserByAccessToken = %+v, %+v, %v", u, tok, err)
	}
	if list, _ := s.AccessTokens(ctx, ann.ID); list[1].LastUsedAt.IsZero() {
		t.Error("the last use is not recorded")
	}
	if _, _, err := s.UserByAccessToken(ctx, write.TokenHash, now.Add(2*time.Hour)); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
		t.Errorf("an expired token: %v, want EUNAUTHORIZED", err)
	}
	for _, h := range []string{"", unmogrowp.HashSessionToken("unknown")} {
		if _, _, err := s.UserByAccessToken(ctx, h, now); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
			t.Errorf("token hash %q: %v, want EUNAUTHORIZED", h, err)
		}
	}
	wantCode(t, s.RevokeAccessToken(ctx, bob.ID, read.ID), unmogrowp.ENOTFOUND) // not bob's
	if err := s.RevokeAccessToken(ctx, ann.ID, read.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserByAccessToken(ctx, read.TokenHash, now); unmogrowp.ErrorCode(err) != unmogrowp.EUNAUTHORIZED {
		t.Errorf("a revoked token: %v, want EUNAUTHORIZED", err)
	}
	wantCode(t, s.RevokeAccessToken(ctx, ann.ID, read.ID), unmogrowp.ENOTFOUND)
}

func testAudit(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann := teamUser(t, s, "ann@example.com")
	app, other := ownedApp(t, s, "Game", ann.ID), ownedApp(t, s, "Other", ann.ID)
	base := time.Date(2025, 10, 21, 14, 0, 0, 0, time.UTC)
	var want []string
	for i := range 7 {
		e := &unmogrowp.AuditEntry{AppID: app.ID, At: base.Add(time.Duration(i/2) * time.Second), UserID: ann.ID, UserEmail: ann.Email,
			Via: "session", Action: "app.update", Target: app.ID, Changes: json.RawMessage(fmt.Sprintf(`{"name":{"from":"a","to":"b%d"}}`, i))}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == "" {
			t.Fatal("AppendAudit filled no ID")
		}
		want = append(want, e.ID)
	}
	if err := s.AppendAudit(ctx, &unmogrowp.AuditEntry{AppID: other.ID, Action: "app.keys.rotate", Via: "server_key"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AppendAudit(ctx, &unmogrowp.AuditEntry{AppID: app.ID}), unmogrowp.EINVALID)
	wantCode(t, s.AppendAudit(ctx, &unmogrowp.AuditEntry{AppID: "app_nosuchapp", Action: "x"}), unmogrowp.ENOTFOUND)

	all, next, err := s.Audit(ctx, unmogrowp.AuditFilter{AppID: app.ID})
	if err != nil || next != "" || len(all) != 7 {
		t.Fatalf("Audit = %d entries, %q, %v", len(all), next, err)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.At.Before(b.At) || (a.At.Equal(b.At) && a.ID < b.ID) {
			t.Errorf("entries %d and %d out of order: %v %s, %v %s", i-1, i, a.At, a.ID, b.At, b.ID)
		}
	}
	first := all[len(all)-1] // the oldest
	var changes map[string]map[string]string
	if err := json.Unmarshal(first.Changes, &changes); err != nil || changes["name"]["from"] != "a" ||
		!first.At.Equal(base) || first.UserEmail != ann.Email || first.Via != "session" || first.Action != "app.update" {
		t.Errorf("the oldest entry = %+v (%v)", first, err)
	}
	var paged []string
	cursor := ""
	for page := 0; ; page++ {
		es, next, err := s.Audit(ctx, unmogrowp.AuditFilter{AppID: app.ID, Limit: 3, Cursor: cursor})
		if err != nil || len(es) > 3 || page > 5 {
			t.Fatalf("page %d: %d entries, %v", page, len(es), err)
		}
		for _, e := range es {
			paged = append(paged, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var ids []string
	for _, e := range all {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("pages %q, want %q", paged, ids)
	}
	slices.Sort(paged)
	slices.Sort(want)
	if !slices.Equal(paged, want) {
		t.Errorf("entries %q, want the app's own %q", paged, want)
	}
	for _, c := range []string{"x", "1.", ".aud_x", "abc.aud_x"} {
		_, _, err := s.Audit(ctx, unmogrowp.AuditFilter{AppID: app.ID, Cursor: c})
		wantCode(t, err, unmogrowp.EINVALID)
	}
	if es, _, err := s.Audit(ctx, unmogrowp.AuditFilter{AppID: other.ID}); err != nil || len(es) != 1 || es[0].UserID != "" || string(es[0].Changes) != "{}" {
		t.Errorf("the other app's log = %+v, %v", es, err)
	}
}

func testTeamDeleteApp(t *testing.T, s TeamStoreWithAppsAndUsers) {
	ctx := context.Background()
	ann, bob := teamUser(t, s, "ann@example.com"), teamUser(t, s, "bob@example.com")
	app := ownedApp(t, s, "Game", ann.ID)
	if _, err := s.AddMember(ctx, app.ID, bob.ID, unmogrowp.RoleEditor); err != nil {
		t.Fatal(err)
	}
	inv := invite(t, s, app.ID, "x@example.com", unmogrowp.RoleViewer, time.Now().Add(time.Hour))
	if err := s.AppendAudit(ctx, &unmogrowp.AuditEntry{AppID: app.ID, Action: "app.update"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.AppsOfUser(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Errorf("AppsOfUser after the app was deleted = %+v, %v", list, err)
	}
	if got := roles(t, s, app.ID); len(got) != 0 {
		t.Errorf("members of a deleted app = %q", got)
	}
	_, err := s.AcceptInvitation(ctx, inv.TokenHash, bob.ID, time.Now())
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if es, _, err := s.Audit(ctx, unmogrowp.AuditFilter{AppID: app.ID}); err != nil || len(es) != 0 {
		t.Errorf("the audit log of a deleted app = %+v, %v", es, err)
	}
}
