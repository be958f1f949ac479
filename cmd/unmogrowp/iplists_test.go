package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestIPListsCommand imports each provider's file and a plain list with `iplists import`,
// lists them, and checks that a watcher of the store (what running processes use) sees
// each import on its next Load.
func TestIPListsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}
	src := filepath.Join("..", "..", "testdata", "iplists")
	ctx := context.Background()

	db, err := openMetadata(ctx, metadataURL(dir, ""), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := &unmogrowp.IPListWatcher{}
	has := func(addr string) bool {
		t.Helper()
		if err := w.Load(ctx, db); err != nil {
			t.Fatal(err)
		}
		return w.Contains(netip.MustParseAddr(addr))
	}
	if has("3.5.140.1") {
		t.Fatal("an empty store's watcher contains an address")
	}
	for _, f := range []struct{ file, out string }{
		{"ip-ranges.json", `imported 4 prefixes as "aws"`},
		{"cloud.json", `imported 3 prefixes as "gcp"`},
		{"ServiceTags_Public_20251103.json", `imported 3 prefixes as "azure"`},
		{"plain.txt", `imported 4 prefixes as "plain"`},
	} {
		out, err := runCLI(t, env, "iplists", "import", filepath.Join(src, f.file))
		if err != nil || strings.TrimSpace(out) != f.out {
			t.Fatalf("import %s: %q, %v; want %q", f.file, out, err, f.out)
		}
	}
	for _, a := range []string{"3.5.140.1", "2600:1f14::9", "34.1.208.5", "13.66.60.119", "192.0.2.7"} {
		if !has(a) {
			t.Errorf("the watcher lacks %s", a)
		}
	}
	out, err := runCLI(t, env, "iplists", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aws    4", "azure  3", "gcp    3", "plain  4"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	// A refreshed list replaces its predecessor: the watcher follows.
	fresh := filepath.Join(t.TempDir(), "aws.txt")
	if err := os.WriteFile(fresh, []byte("52.94.0.0/16\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, env, "iplists", "import", fresh, "--name", "aws"); err != nil || !strings.Contains(out, `1 prefixes as "aws"`) {
		t.Fatalf("import --name aws: %q, %v", out, err)
	}
	if has("3.5.140.1") || !has("52.94.1.1") {
		t.Fatal("the watcher did not follow the refreshed list")
	}

	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("10.0.0.0/8\nnope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, env, "iplists", "import", bad); err == nil || !strings.Contains(err.Error(), "Line 2") {
		t.Fatalf("a bad file: %v, want an error naming line 2", err)
	}
	if _, err := runCLI(t, env, "iplists", "import"); err == nil {
		t.Fatal("import without a file did not fail")
	}
}
