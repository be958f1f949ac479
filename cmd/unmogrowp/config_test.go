package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/api"
)

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "unmogrowp.env")
	os.WriteFile(file, []byte("# comment\nINGEST_ADDR=:7000\nAPI_ADDR=:7001\nLOG_LEVEL=warn\nexport DATA=x\n"), 0o644)
	env := map[string]string{"UNMOGROWP_CONFIG": file, "API_ADDR": ":7101", "PORT": "9999"}
	c, err := loadConfig("serve", []string{"--log-level", "debug"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The environment beats the file, even through the seed's older PORT name.
	if c.IngestAddr != ":9999" {
		t.Fatalf("ingest addr %s, want :9999 (PORT in the environment beats the file)", c.IngestAddr)
	}
	if c.APIAddr != ":7101" || c.LogLevel.String() != "DEBUG" || c.DataDir != "./data" {
		t.Fatalf("got api %s level %s dir %s", c.APIAddr, c.LogLevel, c.DataDir)
	}
}

func TestConfigSeedPort(t *testing.T) {
	env := map[string]string{"PORT": "8088", "API_PORT": "3002"}
	c, err := loadConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.IngestAddr != ":8088" || c.APIAddr != ":3002" {
		t.Fatalf("PORT/API_PORT: %+v %v", c, err)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--ingest-addr", "x"}, nil, "INGEST_ADDR (--ingest-addr, from flag)"},
		{nil, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL (--log-level, from environment)"},
		{nil, map[string]string{"WAL_SEGMENT_BYTES": "12"}, "WAL_SEGMENT_BYTES"},
		{nil, map[string]string{"TRUSTED_PROXIES": "10.0.0.0/99"}, "TRUSTED_PROXIES"},
		{nil, map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"},
		{nil, map[string]string{"UNMOGROWP_CONFIG": "/nonexistent/file"}, "--config /nonexistent/file"},
		{nil, map[string]string{"GOOGLE_ISSUER_URL": "http://accounts.example.com"}, "GOOGLE_ISSUER_URL"},
		{nil, map[string]string{"GOOGLE_ISSUER_URL": "ftp://127.0.0.1"}, "GOOGLE_ISSUER_URL"},
		{nil, map[string]string{"GOOGLE_REDIRECT_URL": "javascript:alert(1)"}, "GOOGLE_REDIRECT_URL"},
		{nil, map[string]string{"GOOGLE_REDIRECT_URL": "dash.example.com/cb"}, "GOOGLE_REDIRECT_URL"},
		{nil, map[string]string{"POSTBACK_RETRY_DELAYS": "1m,soon"}, `POSTBACK_RETRY_DELAYS (--postback-retry-delays, from environment) = "1m,soon": "soon" is not a positive duration`},
		{nil, map[string]string{"POSTBACK_RETRY_DELAYS": "1m,-5s"}, "POSTBACK_RETRY_DELAYS"},
		{nil, map[string]string{"POSTBACK_ALLOW_PRIVATE": "sometimes"}, "POSTBACK_ALLOW_PRIVATE"},
		{nil, map[string]string{"ADMIN_EMAILS": "ops@example.com, root"}, "ADMIN_EMAILS"},
	} {
		_, err := loadConfig("serve", c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: err %v, want one line containing %q", c.args, c.env, err, c.want)
		}
	}
}

// TestConfigPostbacks reads the postback settings: by default seven attempts over the
// spec's delays and non-public addresses refused; an empty list (from a flag) means no
// retry, which the worker tells from its own default by a non-nil empty list.
func TestConfigPostbacks(t *testing.T) {
	c, err := loadConfig("serve", nil, func(string) string { return "" }, io.Discard)
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour}
	if err != nil || !slices.Equal(c.PostbackRetryDelays, want) || c.PostbackAllowPrivate {
		t.Fatalf("defaults: delays %v, allow private %v, %v", c.PostbackRetryDelays, c.PostbackAllowPrivate, err)
	}
	env := map[string]string{"POSTBACK_RETRY_DELAYS": " 100ms, 2s ", "POSTBACK_ALLOW_PRIVATE": "true"}
	c, err = loadConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || !slices.Equal(c.PostbackRetryDelays, []time.Duration{100 * time.Millisecond, 2 * time.Second}) || !c.PostbackAllowPrivate {
		t.Fatalf("set: delays %v, allow private %v, %v", c.PostbackRetryDelays, c.PostbackAllowPrivate, err)
	}
	c, err = loadConfig("serve", []string{"--postback-retry-delays", ""}, func(string) string { return "" }, io.Discard)
	if err != nil || c.PostbackRetryDelays == nil || len(c.PostbackRetryDelays) != 0 {
		t.Fatalf("no retry: delays %#v, %v", c.PostbackRetryDelays, err)
	}
}

func TestConfigGoogle(t *testing.T) {
	env := map[string]string{"GOOGLE_CLIENT_ID": "id.apps.googleusercontent.com", "GOOGLE_ISSUER_URL": "http://127.0.0.1:5556/dex",
		"GOOGLE_REDIRECT_URL": "https://dash.example.com/api/auth/google/callback"}
	c, err := loadConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.GoogleClientID != env["GOOGLE_CLIENT_ID"] || c.GoogleIssuerURL != env["GOOGLE_ISSUER_URL"] || c.GoogleRedirectURL != env["GOOGLE_REDIRECT_URL"] {
		t.Fatalf("google settings: %+v %v", c, err)
	}
	if c, _ := loadConfig("serve", nil, func(string) string { return "" }, io.Discard); c.GoogleIssuerURL != "https://accounts.google.com" || c.GoogleClientID != "" {
		t.Errorf("default issuer %q, client id %q", c.GoogleIssuerURL, c.GoogleClientID)
	}
}

// TestConfigAccountSecurity reads the sign-up mode, the mail settings and the auth cache's
// lifetime: open and 5 s by default; SMTP_URL needs SMTP_FROM and DASHBOARD_URL, and a
// URL the mailer would refuse is refused at start, without repeating its password.
func TestConfigAccountSecurity(t *testing.T) {
	c, err := loadConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.Signup != api.SignupOpen || c.AuthCacheTTL != 5*time.Second || c.SMTPURL != "" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	env := map[string]string{"SIGNUP": "invite", "SMTP_URL": "smtps://u:p@mail.example.com", "SMTP_FROM": "UnMoGrowP <noreply@example.com>",
		"DASHBOARD_URL": "https://dash.example.com/", "AUTH_CACHE_TTL": "0"}
	c, err = loadConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.Signup != api.SignupInvite || c.SMTPURL != env["SMTP_URL"] || c.DashboardURL != "https://dash.example.com" || c.AuthCacheTTL != 0 {
		t.Fatalf("set: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SIGNUP": "sometimes"}, "SIGNUP"},
		{map[string]string{"AUTH_CACHE_TTL": "-1s"}, "AUTH_CACHE_TTL"},
		{map[string]string{"SMTP_URL": "http://u:secretpw@mail.example.com"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com", "DASHBOARD_URL": "https://d.example.com"}, "SMTP_FROM"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com", "SMTP_FROM": "noreply@example.com"}, "DASHBOARD_URL"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com", "SMTP_FROM": "nobody", "DASHBOARD_URL": "https://d.example.com"}, "SMTP_FROM"},
	} {
		_, err := loadConfig("serve", nil, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%v: %v, want an error naming %s, without the password", tc.env, err, tc.want)
		}
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table true.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "`"+s.env+"`") || !strings.Contains(string(readme), "`--"+s.flag+"`") {
			t.Errorf("README's configuration table lacks %s / --%s", s.env, s.flag)
		}
	}
}
