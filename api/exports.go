package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Limits of GET /api/apps/{app_id}/exports/{export_id}/runs.
const (
	DefaultExportRunsLimit = 100
	MaxExportRunsLimit     = 1000
)

// exportBodyFields and destinationFields are the fields a scheduled export's body may have.
var (
	exportBodyFields  = []string{"reports", "format", "cadence", "destination", "start"}
	destinationFields = []string{"type", "endpoint", "region", "bucket", "prefix", "access_key_id", "secret_access_key", "path_style"}
)

// decodeExportBody decodes the body of POST /api/apps/{app_id}/exports: a field that is
// not one of an export's, or of the wrong type, is refused with EINVALID naming it
// (destination's as destination.<name>). It does not validate the values
// (ScheduledExport.Validate does).
func decodeExportBody(body []byte) (unmogrowp.ScheduledExport, error) {
	var e unmogrowp.ScheduledExport
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return e, unmogrowp.Errorf(unmogrowp.EINVALID, "The body must be a JSON object.")
	}
	if err := knownFields(raw, exportBodyFields, ""); err != nil {
		return e, err
	}
	field := func(name string, v any) error {
		if b, ok := raw[name]; ok && string(b) != "null" {
			if err := json.Unmarshal(b, v); err != nil {
				return unmogrowp.Errorf(unmogrowp.EINVALID, "%s has the wrong type.", name)
			}
		}
		return nil
	}
	var start string
	if err := cmpErr(field("reports", &e.Reports), field("format", &e.Format), field("cadence", &e.Cadence), field("start", &start)); err != nil {
		return e, err
	}
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return e, unmogrowp.Errorf(unmogrowp.EINVALID, "start must be an RFC 3339 time (2026-03-01T00:00:00Z).")
		}
		e.Start = t
	}
	var dest map[string]json.RawMessage
	if b, ok := raw["destination"]; !ok || string(b) == "null" {
		return e, unmogrowp.Errorf(unmogrowp.EINVALID, "destination is required.")
	} else if err := json.Unmarshal(b, &dest); err != nil || dest == nil {
		return e, unmogrowp.Errorf(unmogrowp.EINVALID, "destination must be an object.")
	}
	if err := knownFields(dest, destinationFields, "destination."); err != nil {
		return e, err
	}
	d := &e.Destination
	for name, v := range map[string]any{
		"type": &d.Type, "endpoint": &d.Endpoint, "region": &d.Region, "bucket": &d.Bucket, "prefix": &d.Prefix,
		"access_key_id": &d.AccessKeyID, "secret_access_key": &d.SecretAccessKey, "path_style": &d.PathStyle,
	} {
		if b, ok := dest[name]; ok && string(b) != "null" {
			if err := json.Unmarshal(b, v); err != nil {
				return e, unmogrowp.Errorf(unmogrowp.EINVALID, "destination.%s has the wrong type.", name)
			}
		}
	}
	return e, nil
}

// cmpErr returns the first error that is not nil.
func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// knownFields refuses a field of raw that is not one of known, naming it after prefix.
func knownFields(raw map[string]json.RawMessage, known []string, prefix string) error {
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "%s%s is not a field of an export; the fields are %s.",
				prefix, name, strings.Join(known, ", "))
		}
	}
	return nil
}

// exportJSON is a scheduled export as the API shows it: never its secret access key
// (has_secret says there is one).
type exportJSON struct {
	ID          string          `json:"id"`
	Reports     []string        `json:"reports"`
	Format      string          `json:"format"`
	Cadence     string          `json:"cadence"`
	Destination destinationJSON `json:"destination"`
	Start       string          `json:"start"`
	CreatedAt   string          `json:"created_at"`
}

type destinationJSON struct {
	Type        string `json:"type"`
	Endpoint    string `json:"endpoint"`
	Region      string `json:"region"`
	Bucket      string `json:"bucket"`
	Prefix      string `json:"prefix"`
	AccessKeyID string `json:"access_key_id"`
	PathStyle   bool   `json:"path_style"`
	HasSecret   bool   `json:"has_secret"`
}

func newExportJSON(e *unmogrowp.ScheduledExport) exportJSON {
	d := e.Destination
	return exportJSON{
		ID: e.ID, Reports: e.Reports, Format: e.Format, Cadence: e.Cadence,
		Destination: destinationJSON{Type: d.Type, Endpoint: d.Endpoint, Region: d.Region, Bucket: d.Bucket,
			Prefix: d.Prefix, AccessKeyID: d.AccessKeyID, PathStyle: d.PathStyle, HasSecret: len(d.SealedSecret) > 0},
		Start: e.Start.UTC().Format(time.RFC3339), CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
}

// exportRunJSON is one report's period of an export. Times are RFC 3339 in UTC;
// next_attempt_at is null once the period is written, written_at and checked_at before.
type exportRunJSON struct {
	Report        string  `json:"report"`
	PeriodStart   string  `json:"period_start"`
	PeriodEnd     string  `json:"period_end"`
	Status        string  `json:"status"`
	Rows          int64   `json:"rows"`
	Bytes         int64   `json:"bytes"`
	SHA256        string  `json:"sha256"`
	Error         string  `json:"error"`
	Attempts      int     `json:"attempts"`
	Rewrites      int     `json:"rewrites"`
	NextAttemptAt *string `json:"next_attempt_at"`
	WrittenAt     *string `json:"written_at"`
	CheckedAt     *string `json:"checked_at"`
}

func newExportRunJSON(r *unmogrowp.ExportRun) exportRunJSON {
	out := exportRunJSON{
		Report: r.Report, PeriodStart: r.PeriodStart.UTC().Format(time.RFC3339), PeriodEnd: r.PeriodEnd.UTC().Format(time.RFC3339),
		Status: r.Status, Rows: r.Rows, Bytes: r.Bytes, SHA256: r.SHA256, Error: r.Error, Attempts: r.Attempts,
		Rewrites: r.Rewrites, WrittenAt: optionalTime(r.WrittenAt), CheckedAt: optionalTime(r.CheckedAt),
	}
	if r.Status != unmogrowp.RunSucceeded {
		out.NextAttemptAt = optionalTime(r.NextAttemptAt)
	}
	return out
}

// exports returns the export store, or EUNAVAILABLE if the server has none.
func (s *Server) exports() (unmogrowp.ExportStore, error) {
	if s.cfg.Exports == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Scheduled exports are not enabled on this server.")
	}
	return s.cfg.Exports, nil
}

func (s *Server) handleExports(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, err := s.exports()
	if err != nil {
		return err
	}
	es, err := store.ScheduledExports(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("list exports: %w", err)
	}
	out := make([]exportJSON, len(es))
	for i := range es {
		out[i] = newExportJSON(&es[i])
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"exports": out})
	return nil
}

func (s *Server) handleCreateExport(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, err := s.exports()
	if err != nil {
		return err
	}
	if s.cfg.SecretKey == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
			"Scheduled exports need the server setting SECRETS_KEY (32 random bytes in base64, such as openssl rand -base64 32 prints), which encrypts the destination's secret key; this server has none.")
	}
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return err
	}
	e, err := decodeExportBody(raw)
	if err != nil {
		return err
	}
	e.AppID = app.ID
	now := time.Now()
	if err := e.Validate(now); err != nil {
		return err
	}
	e.Destination.SealedSecret = s.cfg.SecretKey.Seal(e.Destination.SecretAccessKey, app.ID)
	e.Destination.SecretAccessKey = ""
	if err := store.CreateScheduledExport(r.Context(), &e, now); err != nil {
		return fmt.Errorf("create export: %w", err)
	}
	s.audit(r, app.ID, "export.create", e.ID, map[string]any{
		"reports": e.Reports, "format": e.Format, "cadence": e.Cadence,
		"destination": e.Destination.Endpoint + "/" + e.Destination.Bucket + "/" + e.Destination.Prefix,
	})
	httpserve.JSON(w, http.StatusCreated, newExportJSON(&e))
	return nil
}

// scheduledExport returns the app's export named by {export_id}: ENOTFOUND for one of
// another app, as for one that does not exist.
func (s *Server) scheduledExport(r *http.Request, app *unmogrowp.App) (unmogrowp.ExportStore, *unmogrowp.ScheduledExport, error) {
	store, err := s.exports()
	if err != nil {
		return nil, nil, err
	}
	e, err := store.ScheduledExport(r.Context(), app.ID, r.PathValue("export_id"))
	if err != nil {
		return nil, nil, fmt.Errorf("read export: %w", err)
	}
	return store, e, nil
}

func (s *Server) handleExportSchedule(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	_, e, err := s.scheduledExport(r, app)
	if err != nil {
		return err
	}
	httpserve.JSON(w, http.StatusOK, newExportJSON(e))
	return nil
}

func (s *Server) handleDeleteExport(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, err := s.exports()
	if err != nil {
		return err
	}
	if err := store.DeleteScheduledExport(r.Context(), app.ID, r.PathValue("export_id")); err != nil {
		return fmt.Errorf("delete export: %w", err)
	}
	s.audit(r, app.ID, "export.delete", r.PathValue("export_id"), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleExportRuns(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, e, err := s.scheduledExport(r, app)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r.URL.Query(), DefaultExportRunsLimit, MaxExportRunsLimit)
	if err != nil {
		return err
	}
	runs, err := store.ExportRuns(r.Context(), app.ID, e.ID, limit)
	if err != nil {
		return fmt.Errorf("list export runs: %w", err)
	}
	out := make([]exportRunJSON, len(runs))
	for i := range runs {
		out[i] = newExportRunJSON(&runs[i])
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"runs": out})
	return nil
}

// optionalTime is t in RFC 3339 (UTC), or nil for the zero time: JSON's null.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}
