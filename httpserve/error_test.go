package httpserve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// serve runs one request through Middleware around h, logging JSON lines to logs, and
// returns the answer.
func serve(t *testing.T, h http.Handler, reg *prometheus.Registry, logs *bytes.Buffer, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	mw := Middleware(h, MiddlewareConfig{Listener: "test", Logger: slog.New(slog.NewJSONHandler(logs, nil)), Registry: reg})
	rec := httptest.NewRecorder()
	mw.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// logLines decodes the JSON log lines in logs.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestError checks the one mapping of error codes to statuses and bodies, the count of
// each answer by listener and code, and Retry-After.
func TestError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string // the counter's label
		body   string
	}{
		{"Invalid", unmogrowp.Errorf(unmogrowp.EINVALID, "Bad."), 400, "invalid", `{"error":"Bad."}`},
		{"Unauthorized", unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Who?"), 401, "unauthorized", `{"error":"Who?"}`},
		{"Forbidden", unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "No."), 403, "forbidden", `{"error":"No."}`},
		{"NotFound", unmogrowp.Errorf(unmogrowp.ENOTFOUND, "None."), 404, "not_found", `{"error":"None."}`},
		{"Conflict", unmogrowp.Errorf(unmogrowp.ECONFLICT, "Taken."), 409, "conflict", `{"error":"Taken."}`},
		{"TooLarge", unmogrowp.Errorf(unmogrowp.ETOOLARGE, "Big."), 413, "too_large", `{"error":"Big."}`},
		{"RateLimit", unmogrowp.Errorf(unmogrowp.ERATELIMIT, "Slow."), 429, "rate_limited", `{"error":"Slow."}`},
		{"Unavailable", unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Later."), 503, "unavailable", `{"error":"Later."}`},
		{"Internal", unmogrowp.Errorf(unmogrowp.EINTERNAL, "Oops."), 500, "internal", `{"error":"Oops."}`},
		{"Wrapped", fmt.Errorf("read: %w", unmogrowp.Errorf(unmogrowp.ENOTFOUND, "None.")), 404, "not_found", `{"error":"None."}`},
		{"NoCode", errors.New("disk on fire"), 500, "internal", `{"error":"Internal error."}`},
		{"UnknownCode", &unmogrowp.Error{Code: "odd", Message: "Odd."}, 500, "internal", `{"error":"Odd."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			var logs bytes.Buffer
			rec := serve(t, HandlerFunc(func(http.ResponseWriter, *http.Request) error { return tc.err }), reg, &logs, "GET", "/x")
			if rec.Code != tc.status || strings.TrimSpace(rec.Body.String()) != tc.body || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("answer %d %q %q, want %d %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.status, tc.body)
			}
			if rec.Header().Get("Retry-After") != "" {
				t.Errorf("Retry-After %q without RetryAfter", rec.Header().Get("Retry-After"))
			}
			if n := errorCount(t, reg, tc.code); n != 1 {
				t.Errorf("answers of code %s counted %v, want 1", tc.code, n)
			}
		})
	}
	t.Run("RetryAfter", func(t *testing.T) {
		var logs bytes.Buffer
		err := RetryAfter(unmogrowp.Errorf(unmogrowp.ERATELIMIT, "Slow."), 7)
		rec := serve(t, HandlerFunc(func(http.ResponseWriter, *http.Request) error { return fmt.Errorf("limit: %w", err) }), prometheus.NewRegistry(), &logs, "GET", "/x")
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "7" || strings.TrimSpace(rec.Body.String()) != `{"error":"Slow."}` {
			t.Errorf("answer %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
	})
	// A call that gave up when the request's own deadline passed, with no code of its
	// own, is the request waiting too long on a server: 503 and Retry-After. The same error
	// while the request still has time is an internal error.
	t.Run("RequestDeadline", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			timeout time.Duration
			status  int
			retry   string
		}{{"Passed", time.Millisecond, 503, "5"}, {"NotPassed", time.Hour, 500, ""}} {
			var logs bytes.Buffer
			h := HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				if tc.timeout == time.Hour {
					return fmt.Errorf("query: %w", context.DeadlineExceeded) // a deadline of the call's own, not the request's
				}
				<-r.Context().Done()
				return fmt.Errorf("query: %w", r.Context().Err())
			})
			deadline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithTimeout(r.Context(), tc.timeout)
				defer cancel()
				h.ServeHTTP(w, r.WithContext(ctx))
			})
			rec := serve(t, deadline, prometheus.NewRegistry(), &logs, "GET", "/x")
			if rec.Code != tc.status || rec.Header().Get("Retry-After") != tc.retry {
				t.Errorf("%s: answer %d, Retry-After %q %q, want %d and %q", tc.name, rec.Code, rec.Header().Get("Retry-After"), rec.Body, tc.status, tc.retry)
			}
		}
	})
	t.Run("NilIsNoAnswer", func(t *testing.T) {
		var logs bytes.Buffer
		rec := serve(t, HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}), prometheus.NewRegistry(), &logs, "GET", "/x")
		if rec.Code != 204 || rec.Body.Len() != 0 {
			t.Errorf("answer %d %q", rec.Code, rec.Body)
		}
	})
}

// errorCount returns the count of error answers of code in reg, and fails the test when
// the counter has not every code from the start.
func errorCount(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	series := 0
	for _, mf := range mfs {
		if mf.GetName() != "unmogrowp_http_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					n = m.GetCounter().GetValue()
				}
			}
		}
	}
	if series != len(errorCodes) {
		t.Errorf("the error counter has %d series, want one for each of %d codes", series, len(errorCodes))
	}
	return n
}

// TestRequestID checks that every answer has a request id of its own in X-Request-Id,
// and that the request's log line carries the same id.
func TestRequestID(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	h := Middleware(http.HandlerFunc(NotFound), MiddlewareConfig{Listener: "test", Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: reg})
	seen := map[string]bool{}
	for i := range 3 {
		logs.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/nowhere", nil))
		id := rec.Header().Get(RequestIDHeader)
		if !regexp.MustCompile(`^[0-9a-f]{12}-[0-9a-z]+$`).MatchString(id) || seen[id] {
			t.Fatalf("request %d: id %q (seen before: %v)", i, id, seen[id])
		}
		seen[id] = true
		lines := logLines(t, &logs)
		if len(lines) != 1 || lines[0]["request_id"] != id || lines[0]["msg"] != "request" {
			t.Errorf("request %d: logged %v, want one request line with id %s", i, lines, id)
		}
	}
	// The preflight answered by the middleware itself has one too.
	rec := httptest.NewRecorder()
	Middleware(http.HandlerFunc(NotFound), MiddlewareConfig{Listener: "cors", CORSOrigins: []string{"*"}, Registry: reg}).
		ServeHTTP(rec, func() *http.Request {
			r := httptest.NewRequest("OPTIONS", "/x", nil)
			r.Header.Set("Origin", "https://a.example")
			r.Header.Set("Access-Control-Request-Method", "POST")
			return r
		}())
	if rec.Code != 204 || rec.Header().Get(RequestIDHeader) == "" {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
}

// TestInternalErrorLoggedOnce checks that a 500, from an error without a code or from an
// answer JSON cannot carry (a NaN), is logged once, in the request's line, with the
// request's id, method, path and cause, and that the caller sees none of it; and that
// other errors, a 503 included, log no cause.
func TestInternalErrorLoggedOnce(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /store", HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return fmt.Errorf("read stats: %w", errors.New("disk on fire"))
	}))
	mux.HandleFunc("GET /nan", func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusOK, map[string]float64{"revenue": math.Inf(1)})
	})
	mux.Handle("GET /missing", HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such thing.")
	}))
	mux.Handle("GET /away", HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return fmt.Errorf("ping: %w", unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Later."))
	}))
	for path, want := range map[string]struct {
		code  int
		cause string
	}{
		"/store":   {500, "read stats: disk on fire"},
		"/nan":     {500, "encode the answer: json: unsupported value: +Inf"},
		"/missing": {404, ""},
		"/away":    {503, ""},
	} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			rec := serve(t, mux, reg, &logs, "GET", path+"?q=1")
			if rec.Code != want.code || strings.Contains(rec.Body.String(), "fire") || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("answer %d %s", rec.Code, rec.Body)
			}
			lines := logLines(t, &logs)
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want one: %q", len(lines), logs.String())
			}
			line := lines[0]
			cause, _ := line["err"].(string)
			if line["path"] != path || line["method"] != "GET" || line["request_id"] != rec.Header().Get(RequestIDHeader) || cause != want.cause || (want.code >= 500) != (line["level"] == "ERROR") {
				t.Errorf("logged %v, want path %s, id %s and cause %q", line, path, rec.Header().Get(RequestIDHeader), want.cause)
			}
			if want.code == 500 {
				if v := errorCount(t, reg, unmogrowp.EINTERNAL); v != 1 {
					t.Errorf("internal errors counted %v, want 1", v)
				}
			}
		})
	}
}

func TestPanicAnswersJSON500(t *testing.T) {
	var logs bytes.Buffer
	rec := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), prometheus.NewRegistry(), &logs, "GET", "/")
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"error"`) || strings.Contains(string(body), "boom") {
		t.Fatalf("panic: %d %s", rec.Code, body)
	}
	lines := logLines(t, &logs)
	if len(lines) != 2 || lines[0]["msg"] != "panic serving request" || lines[1]["status"] != float64(500) || lines[0]["request_id"] != rec.Header().Get(RequestIDHeader) {
		t.Errorf("logged %v, want the panic and the request", lines)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.1 ,2001:db8::/32")
	if err != nil || len(got) != 3 || got[1] != netip.MustParsePrefix("192.0.2.1/32") {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Fatal("accepted a bad CIDR")
	}
}

// TestListenersDependOnThisPackageOnly keeps the listeners apart: api and ingest share
// this package, and neither imports the other (nor anything that does).
func TestListenersDependOnThisPackageOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/unmogrowp/unmogrowp/"
	for pkg, banned := range map[string]string{"api": "ingest", "ingest": "api"} {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		has := func(p string) bool {
			for _, d := range deps {
				if d == mod+p {
					return true
				}
			}
			return false
		}
		if has(banned) {
			t.Errorf("%s depends on %s", pkg, banned)
		}
		if !has("httpserve") {
			t.Errorf("%s does not depend on httpserve", pkg)
		}
	}
}
