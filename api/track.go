package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/ingest"
)

// Tracker takes events for an app the API has authorized: the ingestion listener's
// *ingest.Server, whose Track answers as /v1/events and /v1/events/batch do.
type Tracker interface {
	Track(w http.ResponseWriter, r *http.Request, app *unmogrowp.App, body []byte, batch bool)
}

var _ Tracker = (*ingest.Server)(nil)

// handleTrack runs POST /api/attribution/track (one event naming its app_id) and
// /api/attribution/batch ({"app_id", "events": [...]}): the seed's routes, for the apps
// the caller may use, with the ingestion endpoints' semantics and answers.
func (s *Server) handleTrack(batch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit := int64(unmogrowp.MaxEventBytes)
		if batch {
			limit = unmogrowp.MaxBatchBytes
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.ETOOLARGE, "The body is larger than %d bytes.", limit))
			return
		case err != nil:
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.EINVALID, "The request body could not be read."))
			return
		}
		var head struct {
			AppID string `json:"app_id"`
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &head) != nil {
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.EINVALID, "The body must be a JSON object with app_id."))
			return
		}
		if head.AppID == "" {
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.EINVALID, "app_id is required."))
			return
		}
		app, err := s.authorizeApp(r, head.AppID)
		if err != nil {
			s.fail(w, "authorize app", err)
			return
		}
		if s.cfg.Tracker == nil {
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Event tracking is not configured on this listener."))
			return
		}
		s.cfg.Tracker.Track(w, r, app, body, batch)
	}
}
