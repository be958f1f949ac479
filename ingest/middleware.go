package ingest

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	Listener    string // "ingest" or "api": a label on metrics and log lines
	Logger      *slog.Logger
	CORSOrigins []string // allowed origins; "*" for any; none: no CORS headers
	Registry    *prometheus.Registry
	// QuietPrefixes are paths whose successful requests are logged at debug level: the
	// traffic itself, counted by metrics, rather than news.
	QuietPrefixes []string
}

// Middleware wraps h with what every listener needs: panic recovery answering a JSON 500,
// CORS, a request-latency histogram and a structured request log.
func Middleware(h http.Handler, cfg MiddlewareConfig) http.Handler {
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "unmogrowp_http_request_duration_seconds",
		Help:        "HTTP request latency by route and status code.",
		ConstLabels: prometheus.Labels{"listener": cfg.Listener},
		Buckets:     []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	cfg.Registry.MustRegister(latency)
	anyOrigin := slices.Contains(cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				cfg.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, unmogrowp.Errorf(unmogrowp.EINTERNAL, "Internal error."))
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			latency.WithLabelValues(route, strconv.Itoa(sw.status)).Observe(d.Seconds())
			level := slog.LevelInfo
			switch {
			case sw.status >= 500:
				level = slog.LevelError
			case sw.status < 400 && hasAnyPrefix(r.URL.Path, cfg.QuietPrefixes):
				level = slog.LevelDebug
			}
			if cfg.Logger.Enabled(r.Context(), level) {
				attrs := []slog.Attr{
					slog.String("listener", cfg.Listener), slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Int("status", sw.status),
					slog.Duration("duration", d), slog.String("remote", r.RemoteAddr),
					slog.Int64("bytes_in", r.ContentLength),
				}
				if sw.cause != nil { // an internal error's cause, logged once: here
					attrs = append(attrs, slog.String("err", sw.cause.Error()))
				}
				cfg.Logger.LogAttrs(r.Context(), level, "request", attrs...)
			}
		}()
		if origin := r.Header.Get("Origin"); origin != "" && (anyOrigin || slices.Contains(cfg.CORSOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization, X-App-Key, X-Api-Key, X-Timestamp, X-Signature")
				h.Set("Access-Control-Max-Age", "86400")
				sw.WriteHeader(http.StatusNoContent)
				return
			}
		}
		h.ServeHTTP(sw, r)
	})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// statusWriter records the status a handler wrote, and the cause of an internal error it
// answered (noteCause).
type statusWriter struct {
	http.ResponseWriter
	status int
	cause  error
}

// noteCause records err as the cause of the 500 being written to w, for Middleware's log
// line of the request, when w is or wraps a *statusWriter (the first cause noted wins).
func noteCause(w http.ResponseWriter, err error) {
	for {
		switch v := w.(type) {
		case *statusWriter:
			if v.cause == nil {
				v.cause = err
			}
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return
		}
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// StatusCode maps an error code to its HTTP status: the one place where that happens.
func StatusCode(code string) int {
	switch code {
	case unmogrowp.EINVALID:
		return http.StatusBadRequest
	case unmogrowp.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case unmogrowp.EFORBIDDEN:
		return http.StatusForbidden
	case unmogrowp.ENOTFOUND:
		return http.StatusNotFound
	case unmogrowp.ECONFLICT:
		return http.StatusConflict
	case unmogrowp.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case unmogrowp.ERATELIMIT:
		return http.StatusTooManyRequests
	case unmogrowp.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers {"error": "..."} with the status of err's code. An internal error's
// cause goes to the request's log line (noteCause), not to the caller.
func writeError(w http.ResponseWriter, err error) {
	code := unmogrowp.ErrorCode(err)
	if code == unmogrowp.EINTERNAL {
		noteCause(w, err)
	}
	writeJSON(w, StatusCode(code), map[string]string{"error": unmogrowp.ErrorMessage(err)})
}

// writeJSON answers v as JSON with the status, or a 500 (its cause noted) when v cannot be
// encoded.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		noteCause(w, fmt.Errorf("encode the answer: %w", err))
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
