// Package httpserve is what the HTTP listeners (ingest, api, the consumer's) share: the
// middleware every request passes through, the one mapping of the domain's error codes to
// statuses (Error), handlers that return their error (HandlerFunc), the JSON answers, the
// health check, the client address behind trusted proxies, the times the contract takes,
// and JSON answers to requests net/http refuses by itself. It is wtf's http package; it
// is named httpserve rather than http so that its users need not rename net/http or it.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// HandlerFunc is an HTTP handler that returns its error instead of answering it: ServeHTTP
// answers a non-nil error with Error. A handler that returns an error must not have
// written its answer.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (h HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		Error(w, r, err)
	}
}

// Error answers err: {"error": "<message>"} with the status of its code (StatusCode), the
// message of its *unmogrowp.Error, or "Internal error." for an error without a code, so
// internal details never reach a caller; and Retry-After when err carries one
// (RetryAfter). An error without a code that is context.DeadlineExceeded, in a request
// whose own context's deadline passed, is EUNAVAILABLE with Retry-After: 5: the request
// waited too long on a server. Under Middleware it counts the answer by code, and an internal error (a
// 500: EINTERNAL, or an error without a code) is logged once, with its cause, in the
// request's log line beside the request's id, method and path; without Middleware that
// error is logged to slog's default logger.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(r.Context().Err(), context.DeadlineExceeded) &&
		unmogrowp.ErrorCode(err) == unmogrowp.EINTERNAL {
		err = RetryAfter(fmt.Errorf("%w: %w", errDeadline, err), 5)
	}
	code := unmogrowp.ErrorCode(err)
	status := StatusCode(code)
	rec := recorderOf(w)
	switch {
	case rec != nil:
		rec.errs.add(code)
		if status == http.StatusInternalServerError && rec.cause == nil {
			rec.cause = err
		}
	case status == http.StatusInternalServerError:
		slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var ra *retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.seconds))
	}
	JSON(w, status, map[string]string{"error": unmogrowp.ErrorMessage(err)})
}

// errDeadline is what a request answers whose own deadline passed while a call it made,
// which says nothing of its own, waited.
var errDeadline = unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The request took too long; try again later.")

// RetryAfter returns err (its code and message) carrying a wait of seconds, which Error
// answers in Retry-After: for ERATELIMIT and EUNAVAILABLE errors.
func RetryAfter(err error, seconds int) error { return &retryAfter{err: err, seconds: seconds} }

// retryAfter is an error with the seconds of its Retry-After header.
type retryAfter struct {
	err     error
	seconds int
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

// StatusCode maps an error code to its HTTP status: the one place where that happens. A
// code it does not know, EINTERNAL included, is a 500.
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

// internalBody is the answer to an internal error.
const internalBody = `{"error":"Internal error."}`

// JSON answers v as JSON with the status: the one JSON writer of every listener. When v
// cannot be encoded (a NaN, say) it answers a 500 instead, whose cause is noted and
// counted as Error does.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		if rec := recorderOf(w); rec != nil {
			rec.errs.add(unmogrowp.EINTERNAL)
			if rec.cause == nil {
				rec.cause = fmt.Errorf("encode the answer: %w", err)
			}
		}
		status, b = http.StatusInternalServerError, []byte(internalBody)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
