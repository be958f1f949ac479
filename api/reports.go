package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// DefaultReportRange is the time range of the dashboard and report routes when the
// request gives no from: the last 7 days up to to (default now).
const DefaultReportRange = 7 * 24 * time.Hour

// reportQuery is what every dashboard and report route reads from its query string.
type reportQuery struct {
	app      *unmogrowp.App
	from, to time.Time
}

// report wraps a handler of the dashboard and report routes (API.md, "Dashboard and
// reports"): it authorizes the app named by the app_id query parameter like the app
// routes do, and reads from and to, defaulting to the DefaultReportRange up to now.
func (s *Server) report(h func(w http.ResponseWriter, r *http.Request, q reportQuery) error) httpserve.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		params := r.URL.Query()
		appID := params.Get("app_id")
		if appID == "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "app_id is required.")
		}
		app, _, err := s.authorizeApp(r, appID, unmogrowp.RoleViewer)
		if err != nil {
			return fmt.Errorf("authorize app: %w", err)
		}
		from, to, err := queryRange(params)
		if err != nil {
			return err
		}
		q := reportQuery{app: app, from: from, to: to}
		if q.to.IsZero() {
			q.to = time.Now().UTC()
		}
		if q.from.IsZero() {
			q.from = q.to.Add(-DefaultReportRange)
		}
		if q.to.Before(q.from) { // a from after the default to
			return errRangeReversed()
		}
		return h(w, r, q)
	}
}

// answer writes a report's result, or returns its error with what was read.
func answer(w http.ResponseWriter, what string, v any, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	httpserve.JSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, q reportQuery) error {
	st, err := s.cfg.Results.Stats(r.Context(), q.app.ID, q.from, q.to)
	return answer(w, "read stats", st, err)
}

func (s *Server) handleChart(w http.ResponseWriter, r *http.Request, q reportQuery) error {
	chartType := r.PathValue("chart_type")
	if !slices.Contains(unmogrowp.ChartTypes, chartType) {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such chart: the charts are installs, media_sources, events, revenue and platforms.")
	}
	c, err := s.cfg.Results.Chart(r.Context(), q.app.ID, chartType, q.from, q.to, r.URL.Query().Get("interval"))
	return answer(w, "read chart", c, err)
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, q reportQuery) error {
	var (
		v   any
		err error
	)
	switch r.PathValue("report_id") {
	case "media_sources":
		v, err = s.mediaSourceReport(r, q)
	case "retention":
		v, err = s.cfg.Results.RetentionReport(r.Context(), q.app.ID, q.from, q.to)
	case "fraud":
		v, err = s.cfg.Results.FraudReport(r.Context(), q.app.ID, q.from, q.to)
	case "skan":
		v, err = s.handleSKANReport(r, q)
	default:
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such report: the reports are media_sources, retention, fraud and skan.")
	}
	return answer(w, "read report", v, err)
}
