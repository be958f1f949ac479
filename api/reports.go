package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// DefaultReportRange is the time range of the dashboard and report routes when the
// request gives no from: the last 7 days up to to (default now).
const DefaultReportRange = 7 * 24 * time.Hour

// reportQuery is what every dashboard and report route reads from its query string, and
// the scope of the app's settings that its reports answer in.
type reportQuery struct {
	app      *unmogrowp.App
	from, to time.Time
	scope    unmogrowp.ReportScope
}

// report wraps a handler of the dashboard and report routes (API.md, "Dashboard and
// reports"): it authorizes the app named by the app_id query parameter like the app
// routes do, and reads from and to, defaulting to the DefaultReportRange up to now: dates
// (YYYY-MM-DD) are whole days of the app's zone, to inclusive. The reports answer in the
// app's zone and reporting currency, with the server's exchange rates.
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
		loc := app.Settings.Location()
		from, to, err := queryRangeIn(params, loc)
		if err != nil {
			return err
		}
		q := reportQuery{app: app, from: from, to: to, scope: unmogrowp.ReportScope{Location: loc, Currency: app.Settings.ReportingCurrency}}
		if s.rates != nil {
			t, err := s.rates.Table(r.Context())
			if err != nil {
				return fmt.Errorf("read rates: %w", err)
			}
			q.scope.Rates = t
		}
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
	st, err := s.cfg.Results.Stats(r.Context(), q.app.ID, q.from, q.to, q.scope)
	return answer(w, "read stats", st, err)
}

func (s *Server) handleChart(w http.ResponseWriter, r *http.Request, q reportQuery) error {
	chartType := r.PathValue("chart_type")
	if !slices.Contains(unmogrowp.ChartTypes, chartType) {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such chart: the charts are installs, media_sources, events, revenue and platforms.")
	}
	c, err := s.cfg.Results.Chart(r.Context(), q.app.ID, chartType, q.from, q.to, r.URL.Query().Get("interval"), q.scope)
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
		v, err = s.retention(r, q)
	case "fraud":
		v, err = s.cfg.Results.FraudReport(r.Context(), q.app.ID, q.from, q.to, q.scope)
	case "ltv":
		v, err = s.ltv(r, q)
	case "skan":
		v, err = s.handleSKANReport(r, q)
	default:
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such report: the reports are media_sources, retention, fraud, ltv and skan.")
	}
	return answer(w, "read report", v, err)
}

// retention answers the retention report: split by the by parameter's dimensions and kept
// to the installs the filter[...] parameters match (parseDimensions) as
// unmogrowp.RetentionBreakdown when they are given, the report of the whole app's cohorts
// (unmogrowp.RetentionReport) when by is absent, filtered when filters are given.
func (s *Server) retention(r *http.Request, q reportQuery) (any, error) {
	rq, err := parseRetention(r.URL.Query())
	if err != nil {
		return nil, err
	}
	if len(rq.By) == 0 && len(rq.Filters) == 0 {
		return s.cfg.Results.RetentionReport(r.Context(), q.app.ID, q.from, q.to, q.scope)
	}
	rep, err := s.cfg.Results.RetentionBreakdown(r.Context(), q.app.ID, q.from, q.to, rq, q.scope)
	if err != nil || len(rq.By) > 0 {
		return rep, err
	}
	return rep.Whole(), nil
}

// parseRetention reads the retention report's by and filter[...] parameters
// (parseDimensions), returning EINVALID naming the parameter or the name at fault
// (unmogrowp.RetentionQuery.Validate).
func parseRetention(params url.Values) (unmogrowp.RetentionQuery, error) {
	var q unmogrowp.RetentionQuery
	var err error
	if q.By, q.Filters, err = parseDimensions(params); err != nil {
		return q, err
	}
	return q, q.Validate()
}

// ltv reads the LTV report's group_by and days (comma-separated) and answers the report,
// with the cost of its cohorts (s.costs, as media_sources counts cost) and so their ROAS.
func (s *Server) ltv(r *http.Request, q reportQuery) (*unmogrowp.LTVReport, error) {
	params := r.URL.Query()
	lq := unmogrowp.LTVQuery{GroupBy: params.Get("group_by")}
	if v := params.Get("days"); v != "" {
		lq.Days = []int{}
		for _, d := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "days must be whole numbers from 0 to %d, comma-separated.", unmogrowp.MaxLTVDay)
			}
			lq.Days = append(lq.Days, n)
		}
	}
	if err := lq.Validate(); err != nil {
		return nil, err
	}
	rep, err := s.cfg.Results.LTVReport(r.Context(), q.app.ID, q.from, q.to, lq, q.scope)
	if err != nil {
		return nil, err
	}
	costs, unconverted, err := s.costs.ByCohort(r.Context(), q.app.ID, q.from, q.to, lq.GroupBy, q.scope)
	if err != nil {
		return nil, fmt.Errorf("read costs: %w", err)
	}
	rep.AddCosts(costs, unconverted)
	return rep, nil
}
