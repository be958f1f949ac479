package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

const indexHTML = `<!doctype html><html><head><script src="/_app/immutable/entry/start.abc123.js"></script></head><body>app</body></html>`

// testHandler serves a small build of known files.
func testHandler(t *testing.T) http.Handler {
	t.Helper()
	files, err := load(fstest.MapFS{
		"index.html":                             {Data: []byte(indexHTML)},
		"favicon.svg":                            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"_app/version.json":                      {Data: []byte(`{"version":"x"}`)},
		"_app/immutable/entry/start.abc123.js":   {Data: bytes.Repeat([]byte("console.log('start');\n"), 200)},
		"_app/immutable/assets/0.def456.css":     {Data: []byte("body{margin:0}")},
		"_app/immutable/assets/inter.a1b2.woff2": {Data: []byte("wOF2\x00\x01")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return newHandler(files)
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := testHandler(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, cache string
		bodyHas            string
	}{
		{"root is index.html", "GET", "/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"a page path falls back to index.html", "GET", "/apps/app_1/reports", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"a trailing slash too", "GET", "/apps/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"index.html by name", "GET", "/index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"a static file", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg"},
		{"the version file is revalidated", "GET", "/_app/version.json", 200, "application/json", "no-cache", `"version"`},
		{"a hashed script is immutable", "GET", "/_app/immutable/entry/start.abc123.js", 200, "text/javascript; charset=utf-8", cacheImmutable, "console.log"},
		{"a hashed stylesheet is immutable", "GET", "/_app/immutable/assets/0.def456.css", 200, "text/css; charset=utf-8", cacheImmutable, "margin"},
		{"a font", "GET", "/_app/immutable/assets/inter.a1b2.woff2", 200, "font/woff2", cacheImmutable, "wOF2"},
		{"a missing asset is 404, not index.html", "GET", "/_app/immutable/entry/start.old.js", 404, "application/json", "", "Not found"},
		{"API paths never get index.html", "GET", "/api/apps", 404, "application/json", "", "Not found"},
		{"nor the bare /api", "GET", "/api", 404, "application/json", "", "Not found"},
		{"a dot-dot path stays inside", "GET", "/_app/../index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"HEAD", "HEAD", "/favicon.svg", 200, "image/svg+xml", "no-cache", ""},
		{"POST is refused", "POST", "/apps", 405, "application/json", "", "Method not allowed"},
		{"the sign-in page", "GET", "/login", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"Google's landing page", "GET", "/auth/google", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"/metrics is no page", "GET", "/metrics", 404, "application/json", "", "Not found"},
		{"nor any path outside the routes", "GET", "/wp-admin/setup", 404, "application/json", "", "Not found"},
		{"nor a missing file", "GET", "/robots.txt", 404, "application/json", "", "Not found"},
		{"nor a file name under a page", "GET", "/apps/app_1/x.js", 404, "application/json", "", "Not found"},
		{"a prefix of a route is not the route", "GET", "/appsx", 404, "application/json", "", "Not found"},
		{"POST to no page is 404, not 405", "POST", "/metrics", 404, "application/json", "", "Not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if !strings.Contains(string(body), tc.bodyHas) {
				t.Errorf("body %.100q does not contain %q", body, tc.bodyHas)
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestHandlerGzip(t *testing.T) {
	h := testHandler(t)
	const js = "/_app/immutable/entry/start.abc123.js"
	plain := get(t, h, "GET", js)
	want, _ := io.ReadAll(plain.Body)

	f := func(acceptEncoding string, gzipped bool) {
		t.Helper()
		resp := get(t, h, "GET", js, "Accept-Encoding", acceptEncoding)
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%q: Vary %q", acceptEncoding, resp.Header.Get("Vary"))
		}
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != gzipped {
			t.Fatalf("%q: gzip %v, want %v", acceptEncoding, got, gzipped)
		}
		var r io.Reader = resp.Body
		if gzipped {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, want) {
			t.Errorf("%q: body differs from the plain one", acceptEncoding)
		}
	}
	f("gzip, deflate, br", true)
	f("br;q=1.0, gzip;q=0.8", true)
	f("gzip;q=0", false)
	f("", false)
	f("br", false)

	// Small and already compressed files are served as they are.
	if resp := get(t, h, "GET", "/_app/immutable/assets/inter.a1b2.woff2", "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("a font was gzip-compressed")
	}
}

func TestHandlerConditional(t *testing.T) {
	h := testHandler(t)
	for _, ae := range []string{"", "gzip"} {
		first := get(t, h, "GET", "/_app/immutable/entry/start.abc123.js", "Accept-Encoding", ae)
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("Accept-Encoding %q: no ETag", ae)
		}
		again := get(t, h, "GET", "/_app/immutable/entry/start.abc123.js", "Accept-Encoding", ae, "If-None-Match", etag)
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("Accept-Encoding %q: If-None-Match answered %d, want 304", ae, again.StatusCode)
		}
	}
	plain := get(t, h, "GET", "/_app/immutable/entry/start.abc123.js").Header.Get("ETag")
	gz := get(t, h, "GET", "/_app/immutable/entry/start.abc123.js", "Accept-Encoding", "gzip").Header.Get("ETag")
	if plain == gz {
		t.Errorf("the gzip encoding has the plain body's ETag %s", plain)
	}
}

// TestEmbeddedBuild checks the committed build: it has an index.html, every asset that
// index.html names is there and served as immutable, and page paths get index.html.
func TestEmbeddedBuild(t *testing.T) {
	h := Handler()
	resp := get(t, h, "GET", "/apps/app_x/overview")
	index, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(index), "<html") {
		t.Fatalf("a page path answered %d %.200q", resp.StatusCode, index)
	}
	assets := regexp.MustCompile(`/_app/immutable/[A-Za-z0-9_./-]+\.(?:js|css)`).FindAllString(string(index), -1)
	if len(assets) == 0 {
		t.Fatalf("index.html names no /_app/immutable/ asset:\n%s", index)
	}
	for _, a := range assets {
		r := get(t, h, "GET", a)
		if r.StatusCode != 200 {
			t.Errorf("%s: %d; is web/build stale? Run `npm ci && npm run build` in web/", a, r.StatusCode)
			continue
		}
		if r.Header.Get("Cache-Control") != cacheImmutable {
			t.Errorf("%s: Cache-Control %q", a, r.Header.Get("Cache-Control"))
		}
	}
}

// TestSecurityHeaders checks that every answer of the dashboard, pages, assets and errors
// alike, carries the Content-Security-Policy, nosniff, the Referrer-Policy and frame denial.
func TestSecurityHeaders(t *testing.T) {
	h := testHandler(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/apps/app_1/reports"},
		{"GET", "/_app/immutable/entry/start.abc123.js"},
		{"GET", "/favicon.svg"},
		{"GET", "/_app/immutable/entry/start.old.js"},
		{"GET", "/api/apps"},
		{"POST", "/apps"},
	} {
		resp := get(t, h, tc.method, tc.path)
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "same-origin",
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s %s (%d): %s %q, want %q", tc.method, tc.path, resp.StatusCode, name, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s %s: Content-Security-Policy %q lacks %q", tc.method, tc.path, csp, d)
			}
		}
	}
}

// scriptSrc returns the sources of a policy's script-src directive.
func scriptSrc(t *testing.T, csp string) []string {
	t.Helper()
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" {
			return f[1:]
		}
	}
	t.Fatalf("Content-Security-Policy %q has no script-src", csp)
	return nil
}

// TestCSPInlineScripts allows exactly the inline scripts of the build's pages, by the hash
// of each one's text, and nothing else inline.
func TestCSPInlineScripts(t *testing.T) {
	const boot = "\n\t\t\t\t{ __sveltekit_x = { base: \"\" }; }\n\t\t\t"
	files, err := load(fstest.MapFS{
		"index.html": {Data: []byte(`<!doctype html><html><head><script src="/_app/a.js"></script>` +
			`<script type="module" src="/_app/b.js"> </script></head><body><div style="display: contents"><script>` + boot + `</script></div></body></html>`)},
		"other.html": {Data: []byte(`<script>console.log(1)</script><script>` + boot + `</script>`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := scriptSrc(t, get(t, newHandler(files), "GET", "/").Header.Get("Content-Security-Policy"))
	want := []string{"'self'", "'sha256-" + b64sha256(boot) + "'", "'sha256-" + b64sha256("console.log(1)") + "'"}
	slices.Sort(want[1:])
	if !slices.Equal(got, want) {
		t.Errorf("script-src %q, want %q", got, want)
	}
}

// b64sha256 is the base64 SHA-256 of s, as CSP hashes are written.
func b64sha256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestEmbeddedBuildCSP checks the committed build against its policy: each inline script
// of index.html is allowed by its hash, and no script source is unsafe. The browser test
// (cmd/unmogrowp's TestDashboardInBrowser) runs the whole dashboard under it.
func TestEmbeddedBuildCSP(t *testing.T) {
	resp := get(t, Handler(), "GET", "/")
	index, _ := io.ReadAll(resp.Body)
	src := scriptSrc(t, resp.Header.Get("Content-Security-Policy"))
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(string(index), -1)
	if len(inline) == 0 {
		t.Fatalf("index.html has no inline script (SvelteKit's bootstrap):\n%s", index)
	}
	for _, m := range inline {
		if h := "'sha256-" + b64sha256(m[1]) + "'"; !slices.Contains(src, h) {
			t.Errorf("script-src %q lacks %s, the hash of the inline script %.80q", src, h, m[1])
		}
	}
	for _, s := range src {
		if strings.Contains(s, "unsafe") || s == "*" || strings.HasSuffix(s, ":") {
			t.Errorf("script-src allows %s", s)
		}
	}
}

// TestPageRootsMatchRoutes keeps pageRoots equal to the first segments of the dashboard's
// routes (the folders of src/routes, route groups seen through), so that a page added to
// the dashboard is served and a page removed stops being one.
func TestPageRootsMatchRoutes(t *testing.T) {
	var roots []string
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case !e.IsDir():
			case strings.HasPrefix(name, "(") && strings.HasSuffix(name, ")"):
				walk(filepath.Join(dir, name)) // a group adds no segment
			case strings.ContainsAny(name, "[]"):
				t.Errorf("src/routes has a parameter as its first segment (%s): every path would be a page; change isPage", name)
			default:
				roots = append(roots, name)
			}
		}
	}
	walk("src/routes")
	slices.Sort(roots)
	if !slices.Equal(roots, pageRoots) {
		t.Errorf("src/routes' first segments are %q; pageRoots is %q", roots, pageRoots)
	}
}
