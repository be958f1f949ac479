package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs the binary's run with args and the environment env, and returns its stdout.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	return runCLIStdin(t, env, "", args...)
}

// runCLIStdin is runCLI with stdin.
func runCLIStdin(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr of %v: %s", args, stderr.String())
	}
	return stdout.String(), err
}

// TestLinksCommand creates an app, then links of it with `links create`, and lists them.
func TestLinksCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}

	out, err := runCLI(t, nil, "apps", "create", "--owner", testOwner(t, dir, ""), "--name", "My Game", "--platform", "ios", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("apps create: %v", err)
	}
	var app struct{ ID string }
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.ID == "" {
		t.Fatalf("apps create printed %q: %v", out, err)
	}

	out, err = runCLI(t, env, "links", "create", "--app", app.ID, "--media-source", "facebook",
		"--campaign", "summer", "--ios-url", "https://apps.apple.com/app/id123",
		"--ingest-url", "https://track.example.com/", "--json")
	if err != nil {
		t.Fatalf("links create --json: %v", err)
	}
	var link map[string]any
	if err := json.Unmarshal([]byte(out), &link); err != nil {
		t.Fatalf("links create --json printed %q: %v", out, err)
	}
	id, _ := link["id"].(string)
	if !regexp.MustCompile(`^lk_[a-z2-7]{16}$`).MatchString(id) {
		t.Fatalf("link id %q in %s", id, out)
	}
	for k, want := range map[string]string{
		"app_id":         app.ID,
		"media_source":   "facebook",
		"campaign":       "summer",
		"ios_url":        "https://apps.apple.com/app/id123",
		"click_url":      "https://track.example.com/c/" + id,
		"impression_url": "https://track.example.com/i/" + id,
	} {
		if link[k] != want {
			t.Errorf("%s = %v, want %q", k, link[k], want)
		}
	}

	out, err = runCLI(t, env, "links", "create", "--app", app.ID, "--media-source", "google", "--campaign", "winter")
	if err != nil {
		t.Fatalf("links create: %v", err)
	}
	m := regexp.MustCompile(`(?m)^link_id: +(lk_\w+)\nclick_url: +http://localhost:8080/c/(lk_\w+)\nimpression_url: +http://localhost:8080/i/(lk_\w+)\n$`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] || m[1] != m[3] || m[1] == id {
		t.Fatalf("links create printed:\n%s", out)
	}

	out, err = runCLI(t, env, "links", "list", "--app", app.ID)
	if err != nil {
		t.Fatalf("links list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], m[1]) || !strings.Contains(lines[1], "google") || // newest first
		!strings.Contains(lines[2], id) || !strings.Contains(lines[2], "http://localhost:8080/c/"+id) {
		t.Fatalf("links list printed:\n%s", out)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"UnknownApp", []string{"links", "create", "--app", "app_doesnotexist0000", "--media-source", "x"}, "App not found."},
		{"NoApp", []string{"links", "create", "--media-source", "x"}, "--app is required"},
		{"NoMediaSource", []string{"links", "create", "--app", app.ID}, "--media-source is required"},
		{"BadURL", []string{"links", "create", "--app", app.ID, "--media-source", "x", "--web-url", "javascript:alert(1)"}, "web_url"},
		{"BadIngestURL", []string{"links", "create", "--app", app.ID, "--media-source", "x", "--ingest-url", "localhost:8080"}, "--ingest-url"},
		{"ListUnknownApp", []string{"links", "list", "--app", "app_doesnotexist0000"}, "App not found."},
		{"NoSubcommand", []string{"links"}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: err %v, want one containing %q", tc.args, err, tc.want)
			}
		})
	}
	if out, _ := runCLI(t, env, "links", "list", "--app", app.ID, "--json"); strings.Count(out, `"id":"lk_`) != 2 {
		t.Fatalf("failed creates stored links, or list --json is wrong:\n%s", out)
	}
}

// TestLinksPublicURL checks where the links commands' click and impression URLs start, as
// serve's: --ingest-url, else PUBLIC_URL (environment, then the UNMOGROWP_CONFIG file),
// else the URL of INGEST_ADDR (or PORT), localhost for a wildcard host.
func TestLinksPublicURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runCLI(t, nil, "apps", "create", "--owner", testOwner(t, dir, ""), "--name", "G", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("apps create: %v", err)
	}
	var app struct{ ID string }
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.ID == "" {
		t.Fatalf("apps create printed %q: %v", out, err)
	}
	configFile := filepath.Join(dir, "unmogrowp.env")
	if err := os.WriteFile(configFile, []byte("PUBLIC_URL=https://file.example.com\nINGEST_ADDR=:7000\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		flag string
		want string
	}{
		{"Default", nil, "", "http://localhost:8080"},
		{"PublicURL", map[string]string{"PUBLIC_URL": "https://t.example.com/"}, "", "https://t.example.com"},
		{"PublicURLOverIngestAddr", map[string]string{"PUBLIC_URL": "https://t.example.com", "INGEST_ADDR": ":9000"}, "", "https://t.example.com"},
		{"IngestAddr", map[string]string{"INGEST_ADDR": "0.0.0.0:9000"}, "", "http://localhost:9000"},
		{"IngestHost", map[string]string{"INGEST_ADDR": "127.0.0.1:9000"}, "", "http://127.0.0.1:9000"},
		{"Port", map[string]string{"PORT": "9001"}, "", "http://localhost:9001"},
		{"ConfigFile", map[string]string{"UNMOGROWP_CONFIG": configFile}, "", "https://file.example.com"},
		{"EnvironmentOverFile", map[string]string{"UNMOGROWP_CONFIG": configFile, "PUBLIC_URL": "https://env.example.com"}, "", "https://env.example.com"},
		{"FlagOverPublicURL", map[string]string{"PUBLIC_URL": "https://t.example.com"}, "https://flag.example.com", "https://flag.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"UNMOGROWP_DATA_DIR": dir}
			for k, v := range tc.env {
				env[k] = v
			}
			for _, cmd := range []string{"create", "list"} {
				args := []string{"links", cmd, "--app", app.ID, "--json"}
				if cmd == "create" {
					args = append(args, "--media-source", "facebook")
				}
				if tc.flag != "" {
					args = append(args, "--ingest-url", tc.flag)
				}
				out, err := runCLI(t, env, args...)
				if err != nil {
					t.Fatalf("links %s: %v", cmd, err)
				}
				if !strings.Contains(out, `"click_url":"`+tc.want+`/c/lk_`) || !strings.Contains(out, `"impression_url":"`+tc.want+`/i/lk_`) {
					t.Fatalf("links %s printed %s, want URLs on %s", cmd, out, tc.want)
				}
			}
		})
	}

	_, err = runCLI(t, map[string]string{"UNMOGROWP_DATA_DIR": dir, "PUBLIC_URL": "track.example.com"}, "links", "list", "--app", app.ID)
	if err == nil || !strings.Contains(err.Error(), "PUBLIC_URL") {
		t.Fatalf("links list with an invalid PUBLIC_URL: err %v, want one naming PUBLIC_URL", err)
	}
}
