package main

import (
	"strings"
	"testing"
)

// TestAppsCreateNameLimit checks that `apps create` refuses a name longer than 200
// characters, naming the limit, as the API does.
func TestAppsCreateNameLimit(t *testing.T) {
	dir := t.TempDir()
	_, err := runCLI(t, nil, "apps", "create", "--name", strings.Repeat("n", 201), "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "at most 200 characters") {
		t.Fatalf("apps create with a 201-character name: %v, want an error naming the limit", err)
	}
	if out, err := runCLI(t, nil, "apps", "create", "--name", strings.Repeat("n", 200), "--data-dir", dir, "--json"); err != nil || !strings.Contains(out, `"sdk_key"`) {
		t.Fatalf("apps create with a 200-character name: %v %s", err, out)
	}
}
