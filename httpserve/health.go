package httpserve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// HealthCheckTimeout is how long /health waits for each check: a server that accepts
// bytes and answers nothing fails its check after it, as one that refuses does at once.
const HealthCheckTimeout = 2 * time.Second

// HealthHandler answers GET /health: 200 {"status":"ok"} when every check passes, 503
// {"status":"degraded"} otherwise, with each check's result under "checks": "ok", the
// message of a failing check's *unmogrowp.Error (which says why, such as the log's full
// disk), "timed out" for a check that did not answer within HealthCheckTimeout, or
// "unavailable" for any other error. A degraded answer also has "reason": the
// failing checks with their results, "name: result", joined by "; " in name order.
//
// The checks run concurrently, each under its own HealthCheckTimeout: one check that
// stalls fails alone, "timed out", and the answer comes within the timeout even when a
// check ignores its context.
func HealthHandler(checks map[string]func(context.Context) error, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), HealthCheckTimeout)
		defer cancel()
		type result struct {
			name string
			err  error
		}
		done := make(chan result, len(checks)) // buffered: a check that overruns never blocks
		for name, ping := range checks {
			go func() { done <- result{name, ping(ctx)} }()
		}
		results := map[string]string{}
		for name := range checks {
			results[name] = "timed out" // until it answers
		}
	wait:
		for range checks {
			select {
			case res := <-done:
				results[res.name] = "ok"
				if res.err != nil {
					logger.Warn("health check failed", "backend", res.name, "err", res.err)
					results[res.name] = "unavailable"
					switch {
					case errors.Is(res.err, context.DeadlineExceeded):
						results[res.name] = "timed out"
					case unmogrowp.ErrorCode(res.err) != unmogrowp.EINTERNAL:
						results[res.name] = unmogrowp.ErrorMessage(res.err)
					}
				}
			case <-ctx.Done():
				break wait
			}
		}
		var failed []string
		for name, res := range results {
			if res != "ok" {
				if res == "timed out" {
					logger.Warn("health check failed", "backend", name, "err", "timed out")
				}
				failed = append(failed, name)
			}
		}
		if len(failed) == 0 {
			JSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": results})
			return
		}
		slices.Sort(failed)
		for i, name := range failed {
			failed[i] = name + ": " + results[name]
		}
		JSON(w, http.StatusServiceUnavailable, map[string]any{
			"status": "degraded", "reason": strings.Join(failed, "; "), "checks": results,
		})
	}
}

// NotFound answers a JSON 404 for a route that does not exist.
func NotFound(w http.ResponseWriter, r *http.Request) {
	Error(w, r, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such endpoint: %s %s.", r.Method, r.URL.Path))
}
