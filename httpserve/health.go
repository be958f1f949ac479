package httpserve

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// HealthHandler answers GET /health: 200 {"status":"ok"} when every check passes, 503
// {"status":"degraded"} otherwise, with each check's result under "checks": "ok", the
// message of a failing check's *unmogrowp.Error (which says why, such as the log's full
// disk), or "unavailable" for any other error. A degraded answer also has "reason": the
// failing checks with their results, "name: result", joined by "; " in name order.
func HealthHandler(checks map[string]func(context.Context) error, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		results := map[string]string{}
		var failed []string
		for name, ping := range checks {
			results[name] = "ok"
			if err := ping(ctx); err != nil {
				logger.Warn("health check failed", "backend", name, "err", err)
				results[name] = "unavailable"
				if unmogrowp.ErrorCode(err) != unmogrowp.EINTERNAL {
					results[name] = unmogrowp.ErrorMessage(err)
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
