package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// TestDashboardInBrowser runs the dashboard's browser test (web/e2e/dashboard.test.mjs) in
// headless Chromium against the real binary: sign-up, an app, a link, events through the
// ingestion API, and the overview, reports, links and installs pages showing them; a
// postback created, previewed and tested against a receiver on loopback; a scheduled export
// created and its failed runs shown.
// Screenshots go to $UNMOGROWP_ARTIFACTS, or web/e2e/screenshots.
//
// It needs Debian's chromium and web/node_modules (npm ci); without them it is skipped,
// unless UNMOGROWP_REQUIRE_INTEGRATION=1 (as in CI), where it fails.
func TestDashboardInBrowser(t *testing.T) {
	// Test postbacks go to a receiver the browser test starts on loopback; scheduled
	// exports run at once (their destination refuses: no S3 server is needed).
	runBrowserTest(t, "dashboard.test.mjs", append([]string{"POSTBACK_ALLOW_PRIVATE=true"}, exportEnv...)...)
}

// TestReportsInBrowser runs the reports' browser test (web/e2e/reports.test.mjs): the
// breakdown explored in place (drill-down, dimension, filter, metrics, comparison, event
// type, its view restored from the URL), 500 rows timed in the page, tables at 390 px,
// the overview's comparison and 7-day buckets, the portfolio and the links' counts.
func TestReportsInBrowser(t *testing.T) {
	runBrowserTest(t, "reports.test.mjs")
}

// runBrowserTest runs the browser test web/e2e/<script> in headless Chromium against
// `serve` started with serveEnv, with UNMOGROWP_API_URL, UNMOGROWP_INGEST_URL and
// UNMOGROWP_ARTIFACTS set for it. It skips without Chromium, node or web/node_modules
// (fails with UNMOGROWP_REQUIRE_INTEGRATION=1), and with -short.
func runBrowserTest(t *testing.T, script string, serveEnv ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: runs without -short")
	}
	node, webDir := browserTools(t, "the browser test", "web")

	p := startServe(t, t.TempDir(), serveEnv...)
	artifacts := os.Getenv("UNMOGROWP_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(webDir, "e2e", "screenshots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", script))
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(),
		"UNMOGROWP_API_URL="+p.api,
		"UNMOGROWP_INGEST_URL="+p.ingest,
		"UNMOGROWP_ARTIFACTS="+artifacts,
	)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node e2e/%s:\n%s", script, out)
	if err != nil {
		t.Fatalf("browser test failed: %v (screenshots in %s)", err, artifacts)
	}
}

// browserTools returns node and the absolute path of the repository's folder rel, whose
// browser test (named what, for the skip message) runs in headless Chromium with
// rel/node_modules' playwright-core. Without Chromium, node or those modules it skips the
// test, or fails it with UNMOGROWP_REQUIRE_INTEGRATION=1.
func browserTools(t *testing.T, what, rel string) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, rel+"/node_modules/playwright-core")
	}
	if len(missing) > 0 {
		testenv.Missing(t, what+" needs "+strings.Join(missing, ", ")+" (to enable: apt-get install chromium nodejs && (cd "+rel+" && npm ci))")
	}
	return node, dir
}
