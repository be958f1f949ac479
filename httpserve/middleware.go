package httpserve

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
)

// RequestIDHeader is the header of every answer that names its request: the id its log
// line carries.
const RequestIDHeader = "X-Request-Id"

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	Listener    string       // "ingest", "api" or "consumer": a label on metrics and log lines
	Logger      *slog.Logger // nil: discard
	CORSOrigins []string     // allowed origins; "*" for any; none: no CORS headers
	Registry    *prometheus.Registry
	// QuietPrefixes are paths whose successful requests are logged at debug level: the
	// traffic itself, counted by metrics, rather than news.
	QuietPrefixes []string
}

// Middleware wraps h with what every listener needs: a request id (a new one per request,
// answered in X-Request-Id and written in the request's log line), panic recovery
// answering a JSON 500, CORS, a request-latency histogram, the count of error answers by
// code (Error) and one structured log line per request, which also holds the cause of an
// internal error (Error).
func Middleware(h http.Handler, cfg MiddlewareConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "unmogrowp_http_request_duration_seconds",
		Help:        "HTTP request latency by route and status code.",
		ConstLabels: prometheus.Labels{"listener": cfg.Listener},
		Buckets:     []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	errs := newErrorCounter(cfg.Listener)
	cfg.Registry.MustRegister(latency, errs.vec)
	ids := newRequestIDs()
	anyOrigin := slices.Contains(cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, errs: errs}
		rec.id = ids.next(&rec.idBuf)
		rec.idHeader[0] = rec.id
		w.Header()[RequestIDHeader] = rec.idHeader[:]
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				cfg.Logger.Error("panic serving request", "request_id", rec.id, "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					Error(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			latency.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(d.Seconds())
			level := slog.LevelInfo
			switch {
			case rec.status >= 500:
				level = slog.LevelError
			case rec.status < 400 && hasAnyPrefix(r.URL.Path, cfg.QuietPrefixes):
				level = slog.LevelDebug
			}
			if cfg.Logger.Enabled(r.Context(), level) {
				attrs := []slog.Attr{
					slog.String("listener", cfg.Listener), slog.String("request_id", rec.id),
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", rec.status), slog.Duration("duration", d),
					slog.String("remote", r.RemoteAddr), slog.Int64("bytes_in", r.ContentLength),
				}
				if rec.cause != nil { // an internal error's cause, logged once: here
					attrs = append(attrs, slog.String("err", rec.cause.Error()))
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
				rec.WriteHeader(http.StatusNoContent)
				return
			}
		}
		h.ServeHTTP(rec, r)
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

// requestIDs makes the ids of one Middleware's requests: a random prefix drawn once, so
// that ids of different processes and listeners differ, and a sequence number, so that
// making one costs no system call.
type requestIDs struct {
	prefix string
	seq    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

// next returns a new id, the prefix and a number in base 36, written in buf: the string
// shares buf's bytes (no allocation), so buf must not change while the id is in use.
func (g *requestIDs) next(buf *[requestIDMax]byte) string {
	b := strconv.AppendUint(append(buf[:0], g.prefix...), g.seq.Add(1), 36)
	return unsafe.String(&b[0], len(b))
}

// requestIDMax bounds a request id's length: a 13-byte prefix and at most 13 digits.
const requestIDMax = 26

// errorCounter counts the error answers of one listener by code.
type errorCounter struct {
	vec    *prometheus.CounterVec
	byCode map[string]prometheus.Counter
}

// errorCodes are the codes of package unmogrowp's errors, each a label value of the
// counter from the start.
var errorCodes = []string{
	unmogrowp.EINVALID, unmogrowp.EUNAUTHORIZED, unmogrowp.EFORBIDDEN, unmogrowp.ENOTFOUND,
	unmogrowp.ECONFLICT, unmogrowp.ETOOLARGE, unmogrowp.ERATELIMIT, unmogrowp.EUNAVAILABLE,
	unmogrowp.EINTERNAL,
}

func newErrorCounter(listener string) *errorCounter {
	c := &errorCounter{
		vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "unmogrowp_http_errors_total",
			Help:        "Error answers by the code of the error (Error), 400 to 503.",
			ConstLabels: prometheus.Labels{"listener": listener},
		}, []string{"code"}),
		byCode: map[string]prometheus.Counter{},
	}
	for _, code := range errorCodes {
		c.byCode[code] = c.vec.WithLabelValues(code)
	}
	return c
}

// add counts one error answer of the code; a code not in errorCodes counts as internal,
// as Error answers it.
func (c *errorCounter) add(code string) {
	counter, ok := c.byCode[code]
	if !ok {
		counter = c.byCode[unmogrowp.EINTERNAL]
	}
	counter.Inc()
}

// recorder is the ResponseWriter Middleware hands on: it records the status a handler
// wrote and the cause of an internal error it answered, and holds the request's id and
// the listener's error counter for Error.
type recorder struct {
	http.ResponseWriter
	status   int
	cause    error
	id       string             // in idBuf
	idBuf    [requestIDMax]byte // the bytes of id, kept here to spare an allocation
	idHeader [1]string          // the value of X-Request-Id, likewise
	errs     *errorCounter
}

// WriteHeader implements http.ResponseWriter.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorderOf returns the *recorder that w is or wraps (through Unwrap), or nil when w did
// not come from Middleware.
func recorderOf(w http.ResponseWriter) *recorder {
	for {
		switch v := w.(type) {
		case *recorder:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
}
