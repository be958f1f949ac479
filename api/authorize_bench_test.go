package api

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// BenchmarkAuthorizeApp measures the authorization of an app route on SQLite, as the
// owner signed in with a session: "owner-only" is the check before teams (the app read,
// its owner compared), "roles" the check with roles (the app read joined with the
// caller's membership, the role compared with the route's); "server-key" is the server
// key's. The difference of the first two is what roles add to a request.
func BenchmarkAuthorizeApp(b *testing.B) {
	ctx := context.Background()
	meta, err := metadata.Open(ctx, metadata.SQLiteURL(filepath.Join(b.TempDir(), "metadata.db")), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	u := &unmogrowp.User{Email: "ann@example.com"}
	if err := meta.CreateUser(ctx, u, ""); err != nil {
		b.Fatal(err)
	}
	token := sessionTokenPrefix + strings.Repeat("a", sessionTokenLen-len(sessionTokenPrefix))
	if err := meta.CreateSession(ctx, &unmogrowp.Session{TokenHash: unmogrowp.HashSessionToken(token), UserID: u.ID,
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	app := &unmogrowp.App{Name: "Game", OwnerID: u.ID, Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(ctx, app)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		teams   unmogrowp.TeamStore
		headers map[string]string
	}{
		{"owner-only", nil, map[string]string{"Authorization": "Bearer " + token}},
		{"roles", meta, map[string]string{"Authorization": "Bearer " + token}},
		{"server-key", meta, map[string]string{"X-Api-Key": keys.ServerKey}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Config{Apps: meta, Links: meta, Users: meta, Teams: bc.teams, Registry: prometheus.NewRegistry()})
			r := httptest.NewRequest("GET", "/api/apps/"+app.ID, nil)
			for k, v := range bc.headers {
				r.Header.Set(k, v)
			}
			for b.Loop() {
				if _, _, err := s.authorizeApp(r, app.ID, unmogrowp.RoleViewer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
