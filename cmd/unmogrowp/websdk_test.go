package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// TestWebSDKInBrowser runs the web SDK's browser test (sdk/web/test/browser.test.mjs) in
// headless Chromium against `unmogrowp serve`: a landing page loads the script-tag build
// (sdk/web/dist/unmogrowp.min.js), a tracking link's web URL is that page. The visitor's
// install is attributed to the link's click by the click id of the landing URL; every
// event, the retried batch's too, is stored once; the device id persists across visits.
func TestWebSDKInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: runs without -short")
	}
	t.Parallel()
	node, sdkDir := browserTools(t, "the web SDK's browser test", "sdk/web")
	script, err := os.ReadFile(filepath.Join(sdkDir, "dist", "unmogrowp.min.js"))
	if err != nil {
		t.Fatal(err)
	}

	e := newEmbedded(t)
	k := e.createApp(t, "Web")
	setSettings(t, e, k.ID, func(s *unmogrowp.AppSettings) { s.MinCTITSeconds = 0 }) // the visitor lands within a second
	e.start(t)
	dir, p := e.dir, e.p
	page := fmt.Sprintf(`<!doctype html><title>Landing</title><script src="/unmogrowp.min.js"></script>
<script>unmogrowp.init({key: %q, endpoint: %q, flushInterval: 300})</script>`, k.SDKKey, p.ingest)
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/unmogrowp.min.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
		case "/other":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><title>Elsewhere</title>`))
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(page))
		}
	}))
	defer landing.Close()
	out, err := exec.Command(binPath, "links", "create", "--app", k.ID, "--media-source", "webnet", "--campaign", "launch",
		"--web-url", landing.URL+"/", "--data-dir", dir, "--json").Output()
	if err != nil {
		t.Fatalf("links create: %v", err)
	}
	var link struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &link); err != nil || link.ID == "" {
		t.Fatalf("links create printed %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("test", "browser.test.mjs"))
	cmd.Dir = sdkDir
	cmd.Env = append(os.Environ(), "CLICK_URL="+p.ingest+"/c/"+link.ID, "LANDING_URL="+landing.URL+"/", "INGEST_URL="+p.ingest)
	cmd.WaitDelay = 10 * time.Second
	res, err := cmd.CombinedOutput()
	t.Logf("node test/browser.test.mjs:\n%s", res)
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
	m := regexp.MustCompile(`(?m)^DEVICE=(\S+)$`).FindSubmatch(res)
	if m == nil {
		t.Fatal("the browser test printed no DEVICE=")
	}
	device := string(m[1])

	p.waitDrained(t)
	if a := attributionOf(t, e, k, device); a.MediaSource != "webnet" || a.Campaign != "launch" || a.MatchType != unmogrowp.MatchReferrer {
		t.Errorf("the visitor's install: attribution %+v, want webnet/launch by the click id", a)
	}
	var got []string
	for _, ev := range e.events(t, unmogrowp.EventFilter{AppID: k.ID, DeviceID: device}) {
		s := ev.EventType
		switch ev.EventType {
		case unmogrowp.EventInstall:
			s += " " + ev.Platform
			if attribution.ReferrerClickID(ev.InstallReferrer) != "" {
				s += " with click id"
			}
		case "revenue":
			s += fmt.Sprintf(" %v %s", ev.Revenue, ev.Currency)
		case "$identify":
			s += " " + ev.UserID
		}
		got = append(got, s)
	}
	want := []string{"install web with click id", "signup", "revenue 4.99 EUR", "$identify web-user", "before_leave", "session"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("stored for the visitor: %q, want %q (each once)", got, want)
	}
}

// TestWebSDKSize keeps the web SDK's script-tag build (sdk/web/dist/unmogrowp.min.js, which
// .ci/run rebuilds and compares) under 6 KB gzipped.
func TestWebSDKSize(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "sdk", "web", "dist", "unmogrowp.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
	zw.Write(script)
	zw.Close()
	if zipped.Len() >= 6<<10 {
		t.Fatalf("the web SDK is %d bytes gzipped, over 6 KB", zipped.Len())
	}
	t.Logf("web SDK: %d bytes, %d gzipped", len(script), zipped.Len())
}
