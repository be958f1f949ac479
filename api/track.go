package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Tracker takes events for an app the API has authorized, with the semantics of the
// ingestion listener's /v1/events and /v1/events/batch sent with the app's server key:
// the ingestion listener's *ingest.Server (wired in cmd/unmogrowp).
type Tracker interface {
	// Track accepts body, one event (batch false) or a batch {"events": [...]}, for app. It
	// returns the answer of the ingestion endpoints, to be written as JSON with 200 OK, or
	// their error, answered with httpserve.Error: EINVALID, EFORBIDDEN and ETOOLARGE for
	// what the body holds, ERATELIMIT (with its Retry-After) over the app's rate limit,
	// EUNAVAILABLE when the log cannot take the events (then none is stored).
	Track(ctx context.Context, app *unmogrowp.App, body []byte, batch bool) (any, error)
}

// handleTrack runs POST /api/attribution/track (one event naming its app_id) and
// /api/attribution/batch ({"app_id", "events": [...]}): the seed's routes, for the apps
// the caller may use, with the ingestion endpoints' semantics and answers.
func (s *Server) handleTrack(batch bool) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit := int64(unmogrowp.MaxEventBytes)
		if batch {
			limit = unmogrowp.MaxBatchBytes
		}
		body, err := readBody(r, limit)
		if err != nil {
			return err
		}
		var head struct {
			AppID string `json:"app_id"`
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &head) != nil {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "The body must be a JSON object with app_id.")
		}
		if head.AppID == "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "app_id is required.")
		}
		app, _, err := s.authorizeApp(r, head.AppID, unmogrowp.RoleEditor)
		if err != nil {
			return fmt.Errorf("authorize app: %w", err)
		}
		if s.cfg.Tracker == nil {
			return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Event tracking is not configured on this listener.")
		}
		answer, err := s.cfg.Tracker.Track(r.Context(), app, body, batch)
		if err != nil {
			return fmt.Errorf("track: %w", err)
		}
		httpserve.JSON(w, http.StatusOK, answer)
		return nil
	}
}
