package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs the binary's run with args and the environment env, and returns its stdout.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr of %v: %s", args, stderr.String())
	}
	return stdout.String(), err
}

// TestLinksCommand creates an app, then links of it with `links create`, and lists them.
func TestLinksCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}

	out, err := runCLI(t, nil, "apps", "create", "--name", "My Game", "--platform", "ios", "--json", "--data-dir", dir)
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
		{"NoSubcommand", []string{"links"}, "help requested"},
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
