package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestAppsCommand creates apps with `apps create --owner`: the app belongs to the user
// with that email (so it is in their list of apps, which the dashboard and the API show),
// keeps its store URLs, and `apps list` names its owner. An unknown owner, a missing one
// or a URL the API would refuse is an error that creates nothing.
func TestAppsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"UnknownOwner", []string{"--owner", "Nobody@Example.com", "--name", "G"}, "--owner nobody@example.com: no user has this email; register it first"},
		{"NoOwner", []string{"--name", "G"}, "--owner is required"},
		{"InvalidOwner", []string{"--owner", "nobody", "--name", "G"}, "--owner: email must be an email address"},
		{"NoName", []string{"--owner", "a@example.com"}, "--name is required"},
		{"JavaScriptURL", []string{"--owner", "a@example.com", "--name", "G", "--ios-url", "javascript:alert(1)"}, "--ios-url must not be a javascript: URL."},
		{"RelativeURL", []string{"--owner", "a@example.com", "--name", "G", "--android-url", "play.google.com/store"}, "--android-url must be an absolute URL"},
		{"NoHost", []string{"--owner", "a@example.com", "--name", "G", "--web-url", "https:///x"}, "--web-url must name a host."},
		{"Argument", []string{"--owner", "a@example.com", "--name", "G", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, env, append([]string{"apps", "create"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}

	owner := testOwner(t, dir, "")
	out, err := runCLI(t, env, "apps", "create", "--owner", strings.ToUpper(owner), "--name", "My Game", "--platform", "ios",
		"--ios-url", "https://apps.apple.com/app/id123456789",
		"--android-url", "https://play.google.com/store/apps/details?id=com.example.game",
		"--web-url", "https://game.example.com", "--json")
	if err != nil {
		t.Fatalf("apps create: %v", err)
	}
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil || created["id"] == "" || created["owner"] != owner {
		t.Fatalf("apps create --json printed %q (%v), want its id and owner %q", out, err, owner)
	}

	db, err := openMetadata(ctx, metadataURL(dir, ""), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	user, _, err := db.UserByEmail(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"nobody@example.com", "a@example.com"} {
		if _, _, err := db.UserByEmail(ctx, email); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			t.Errorf("user %s: err %v, want ENOTFOUND: a failed apps create made a user", email, err)
		}
	}
	all, err := db.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	owned, err := db.Apps(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(owned) != 1 || owned[0].ID != created["id"] {
		t.Fatalf("%d apps, %d of them the owner's, want the one created (%s): failed creates stored apps, or it has no owner", len(all), len(owned), created["id"])
	}
	if a := owned[0]; a.IOSURL != "https://apps.apple.com/app/id123456789" ||
		a.AndroidURL != "https://play.google.com/store/apps/details?id=com.example.game" || a.WebURL != "https://game.example.com" {
		t.Errorf("stored URLs ios %q, android %q, web %q", a.IOSURL, a.AndroidURL, a.WebURL)
	}

	out, err = runCLI(t, env, "apps", "list")
	if err != nil {
		t.Fatalf("apps list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME OWNER PLATFORM SDK KEY CREATED" {
		t.Fatalf("apps list printed:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 5 || f[0] != created["id"] || f[3] != owner || f[4] != "ios" {
		t.Fatalf("apps list row %q, want id %s, name My Game, owner %s, platform ios", lines[1], created["id"], owner)
	}
}

// TestHelpExitsZero runs the binary: help asked for (-h, --help, help) prints usage and
// exits 0; a command line that is not valid prints usage and exits 2.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout and stderr
	}{
		{[]string{"--help"}, 0, "usage: unmogrowp <command>"},
		{[]string{"help"}, 0, "usage: unmogrowp <command>"},
		{[]string{"apps", "--help"}, 0, "usage: unmogrowp apps create --owner EMAIL"},
		{[]string{"apps", "-h"}, 0, "usage: unmogrowp apps create"},
		{[]string{"apps", "create", "--help"}, 0, "-owner string"},
		{[]string{"links", "--help"}, 0, "usage: unmogrowp links create"},
		{[]string{"links", "create", "--help"}, 0, "-media-source string"},
		{[]string{"links", "list", "-h"}, 0, "-ingest-url string"},
		{[]string{"serve", "-h"}, 0, "usage: unmogrowp serve"},
		{nil, 2, "usage: unmogrowp <command>"},
		{[]string{"apps"}, 2, "usage: unmogrowp apps create"},
		{[]string{"links", "delete"}, 2, "usage: unmogrowp links create"},
		{[]string{"apps", "create", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"nonsense"}, 2, `unknown command "nonsense"`},
		// The tools that measure the product are unmogrowp-bench's, not the product's.
		{[]string{"loadgen", "--key", "k"}, 2, `unknown command "loadgen"`},
		{[]string{"baseline"}, 2, `unknown command "baseline"`},
	} {
		t.Run(strings.Join(append([]string{"unmogrowp"}, tc.args...), " "), func(t *testing.T) {
			cmd := exec.Command(binPath, tc.args...)
			cmd.Env = append(os.Environ(), "UNMOGROWP_DATA_DIR="+filepath.Join(t.TempDir(), "data"))
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit status %d, want %d; output, want it to contain %q:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}

// TestAppsCreateNameLimit checks that `apps create` refuses a name longer than 200
// characters, naming the limit, as the API does.
func TestAppsCreateNameLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	owner := testOwner(t, dir, "")
	_, err := runCLI(t, nil, "apps", "create", "--owner", owner, "--name", strings.Repeat("n", 201), "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "at most 200 characters") {
		t.Fatalf("apps create with a 201-character name: %v, want an error naming the limit", err)
	}
	if out, err := runCLI(t, nil, "apps", "create", "--owner", owner, "--name", strings.Repeat("n", 200), "--data-dir", dir, "--json"); err != nil || !strings.Contains(out, `"sdk_key"`) {
		t.Fatalf("apps create with a 200-character name: %v %s", err, out)
	}
}
