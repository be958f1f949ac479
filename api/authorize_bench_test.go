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
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// BenchmarkAuthorizeApp measures the authorization of an app route on SQLite, as the
// owner signed in with a session: "owner-only" is the check before teams (the session and
// the app read, its owner compared, no cache), "roles-uncached" the check with roles
// reading the store each time (the session, then the app joined with the caller's
// membership), "roles" the same through the auth cache (authcache.go), as the listener
// runs it; "server-key" and "server-key-uncached" are the server key's, with and without
// the cache. "roles-uncached" over "roles" is what the cache saves a request. Each also
// reports the process's CPU time per check (cpu-ns/op), steadier than wall time on a
// shared machine.
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
	session := map[string]string{"Authorization": "Bearer " + token}
	serverKey := map[string]string{"X-Api-Key": keys.ServerKey}
	for _, bc := range []struct {
		name    string
		teams   unmogrowp.TeamStore
		ttl     time.Duration
		headers map[string]string
	}{
		{"owner-only", nil, -1, session},
		{"roles-uncached", meta, -1, session},
		{"roles", meta, 0, session},
		{"server-key-uncached", meta, -1, serverKey},
		{"server-key", meta, 0, serverKey},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Config{Apps: meta, Links: meta, Users: meta, Teams: bc.teams, AuthCacheTTL: bc.ttl, Registry: prometheus.NewRegistry()})
			r := httptest.NewRequest("GET", "/api/apps/"+app.ID, nil)
			for k, v := range bc.headers {
				r.Header.Set(k, v)
			}
			cpu0 := testenv.ProcessCPU()
			for b.Loop() {
				if _, _, err := s.authorizeApp(r, app.ID, unmogrowp.RoleViewer); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := testenv.ProcessCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
