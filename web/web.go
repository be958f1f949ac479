// Package web is the dashboard: the SvelteKit app under this folder, built to static files
// in build/ (committed, so that `go build` needs no Node) and embedded in the binary, and
// the handler that serves it on the API listener.
//
// Rebuild it with `npm ci && npm run build` in this folder; CI fails when the committed
// build differs from a fresh one.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:embed all:build
var build embed.FS

// Cache policies: hashed assets never change under their name; everything else (index.html
// above all, which names the current hashed assets) is revalidated on every use.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// immutablePrefix is where SvelteKit puts the assets whose names carry a hash of their
// content.
const immutablePrefix = "/_app/immutable/"

// contentTypes are the types of the files a build holds, fixed here rather than read from
// the system's MIME tables, which differ between machines (and often lack woff2).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".txt":   "text/plain; charset=utf-8",
	".map":   "application/json",
}

// file is one file of the build, ready to serve.
type file struct {
	name        string // base name, for http.ServeContent
	body        []byte
	gz          []byte // gzip-compressed body; nil when compression does not pay
	contentType string
	etag        string // strong ETag of body
	cache       string
}

// Handler returns the handler that serves the dashboard: the build's files by path, and
// index.html for a page path (isPage: "/" and paths under the dashboard's routes, such as
// /apps/app_123/reports), so that the single-page app's router shows the page. Any other
// path answers a JSON 404: /metrics, /wp-login.php, an asset of an older build under
// /_app/ (which must not come back as HTML), and paths under /api/, which belong to the
// API and must not reach this handler. Only GET and HEAD are served. Every answer carries
// a strict Content-Security-Policy (csp.go), nosniff, a same-origin Referrer-Policy and
// frame denial.
func Handler() http.Handler {
	sub, err := fs.Sub(build, "build")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	files, err := load(sub)
	if err != nil {
		panic(err) // embedded files are always readable
	}
	return newHandler(files)
}

// load reads every file of fsys into memory, keyed by its URL path ("/index.html").
func load(fsys fs.FS) (map[string]*file, error) {
	files := map[string]*file{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		urlPath := "/" + p
		sum := sha256.Sum256(body)
		f := &file{
			name:        path.Base(p),
			body:        body,
			contentType: contentTypes[path.Ext(p)],
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			cache:       cacheRevalidate,
		}
		if f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		if strings.HasPrefix(urlPath, immutablePrefix) {
			f.cache = cacheImmutable
		}
		f.gz = compress(f)
		files[urlPath] = f
		return nil
	})
	return files, err
}

// compress returns the gzip encoding of a text file's body when it saves at least a tenth,
// else nil. Fonts and images are compressed already.
func compress(f *file) []byte {
	text := strings.HasPrefix(f.contentType, "text/") || strings.HasPrefix(f.contentType, "application/json") || f.contentType == "image/svg+xml"
	if !text || len(f.body) < 1024 {
		return nil
	}
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(f.body)
	w.Close()
	if b.Len() > len(f.body)*9/10 {
		return nil
	}
	return b.Bytes()
}

type handler struct {
	files map[string]*file
	index *file
	csp   string // the Content-Security-Policy of every answer (csp.go)
}

func newHandler(files map[string]*file) *handler {
	var pages [][]byte
	for _, f := range files {
		if f.contentType == contentTypes[".html"] {
			pages = append(pages, f.body)
		}
	}
	return &handler{files: files, index: files["/index.html"], csp: contentSecurityPolicy(inlineScriptHashes(pages...))}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", frameOptions)
	hdr.Set("Referrer-Policy", referrerPolicy)
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		notFound(w)
		return
	}
	f := h.files[path.Clean("/"+p)]
	if f == nil {
		if !isPage(p) || h.index == nil {
			notFound(w)
			return
		}
		f = h.index
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	serve(w, r, f)
}

// pageRoots are the first segments of the dashboard's page paths: the folders of
// src/routes, route groups such as (app) seen through. TestPageRootsMatchRoutes keeps the
// list equal to them.
var pageRoots = []string{"account", "apps", "auth", "invitations", "login", "portfolio", "reset-password"}

// isPage reports whether p, a path that is no file of the build, is a page of the
// dashboard, which index.html shows: "/", or a path whose first segment is one of
// pageRoots and whose last segment has no file extension (/apps/app_1/reports is a page,
// /apps/app_1/x.js is not). Any other path is not: /metrics, /_app/..., /robots.txt.
func isPage(p string) bool {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return true
	}
	first, _, _ := strings.Cut(p, "/")
	return slices.Contains(pageRoots, first) && path.Ext(p) == ""
}

// serve writes f, gzip-compressed when the client takes it.
func serve(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cache)
	body, etag := f.body, f.etag
	if f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip (and does not refuse
// it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, "Not found.") }

// writeError answers an error as the API does (API.md): {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + msg + `"}` + "\n"))
}
