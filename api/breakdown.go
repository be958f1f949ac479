package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// maxEventTypeLen bounds the breakdown's event_type, as ingestion bounds an event's type.
const maxEventTypeLen = 100

// handleBreakdown answers GET /api/analytics/reports/breakdown (API.md section 4): the
// analytics store's counts (Reports.Breakdown), with the cost of both stores
// (CostSources.Daily, as the media_sources report counts it) when a cost metric is asked
// and the breakdown has cost, sorted and paged (BreakdownCounts.Report).
func (s *Server) handleBreakdown(w http.ResponseWriter, r *http.Request, q reportQuery) error {
	bq, err := parseBreakdown(r.URL.Query())
	if err != nil {
		return err
	}
	counts, err := s.cfg.Results.Breakdown(r.Context(), q.app.ID, q.from, q.to, bq, q.scope)
	if err != nil {
		return fmt.Errorf("read breakdown: %w", err)
	}
	var cost *unmogrowp.BreakdownCost
	if bq.CostApplies() && slices.ContainsFunc(bq.Metrics, func(m string) bool {
		return m == unmogrowp.MetricCost || m == unmogrowp.MetricECPI || m == unmogrowp.MetricROAS
	}) {
		cost = &unmogrowp.BreakdownCost{}
		ranges := [][2]time.Time{{q.from, q.to}}
		if bq.Compare {
			pf, pt := unmogrowp.PreviousPeriod(q.from, q.to)
			ranges = append(ranges, [2]time.Time{pf, pt})
		}
		for p, rg := range ranges {
			daily, unconverted, err := s.costs.Daily(r.Context(), q.app.ID, rg[0], rg[1], q.scope)
			if err != nil {
				return fmt.Errorf("read cost: %w", err)
			}
			cost.Period[p], cost.Unconverted = daily, cost.Unconverted+unconverted
		}
	}
	rep, next := counts.Report(bq, cost, q.scope)
	if next >= 0 {
		c := breakdownCursor(next)
		rep.NextCursor = &c
	}
	return answer(w, "read breakdown", rep, nil)
}

// parseBreakdown reads a breakdown's query parameters: by, metrics (comma-separated),
// filter[<dimension>]=a,b (repeated: the values of each), event_type,
// compare=previous_period, sort, limit and cursor. It returns EINVALID naming the
// parameter or the name at fault (BreakdownQuery.Validate).
func parseBreakdown(params url.Values) (unmogrowp.BreakdownQuery, error) {
	var q unmogrowp.BreakdownQuery
	var err error
	q.By, q.Filters, err = parseDimensions(params)
	if err != nil {
		return q, err
	}
	q.Metrics = paramList(params, "metrics")
	q.EventType = params.Get("event_type")
	if len(q.EventType) > maxEventTypeLen {
		return q, unmogrowp.Errorf(unmogrowp.EINVALID, "event_type must be at most %d characters.", maxEventTypeLen)
	}
	switch c := params.Get("compare"); c {
	case "":
	case "previous_period":
		q.Compare = true
	default:
		return q, unmogrowp.Errorf(unmogrowp.EINVALID, "Unknown compare %q: use previous_period.", c)
	}
	q.Sort = params.Get("sort")
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return q, unmogrowp.Errorf(unmogrowp.EINVALID, "limit must be from 1 to %d.", unmogrowp.MaxBreakdownLimit)
		}
		q.Limit = n
	}
	if c := params.Get("cursor"); c != "" {
		n, ok := parseBreakdownCursor(c)
		if !ok {
			return q, unmogrowp.Errorf(unmogrowp.EINVALID, "cursor is not one this API made.")
		}
		q.Offset = n
	}
	return q, q.Validate()
}

// paramList returns the comma-separated values of the parameter, from every time it is
// given, blanks trimmed and empty values dropped.
func paramList(params url.Values, name string) []string {
	var out []string
	for _, v := range params[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseDimensions reads the parameters of the reports split by breakdown dimensions (the
// breakdown, retention): by (comma-separated) and filter[<dimension>]=a,b (repeated: the
// values of each). It returns EINVALID naming a parameter that starts with filter and is
// not of that form; the names are the caller's to check (unmogrowp.BreakdownQuery,
// unmogrowp.RetentionQuery).
func parseDimensions(params url.Values) (by []string, filters map[string][]string, err error) {
	for key, vs := range params {
		if !strings.HasPrefix(key, "filter") {
			continue
		}
		dim, open := strings.CutPrefix(key, "filter[")
		dim, closed := strings.CutSuffix(dim, "]")
		if !open || !closed || dim == "" {
			return nil, nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Unknown parameter %q: filters are filter[<dimension>]=a,b.", key)
		}
		if filters == nil {
			filters = map[string][]string{}
		}
		for _, v := range vs {
			for _, s := range strings.Split(v, ",") {
				filters[dim] = append(filters[dim], strings.TrimSpace(s))
			}
		}
	}
	return paramList(params, "by"), filters, nil
}

// breakdownCursor is the cursor of the page that starts at row offset: opaque to clients.
func breakdownCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("b:" + strconv.Itoa(offset)))
}

// parseBreakdownCursor returns the offset of a cursor breakdownCursor made, and false for
// anything else, including an encoding with the line breaks base64's decoder skips.
func parseBreakdownCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != c {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "b:")
	n, err := strconv.Atoi(s)
	if !ok || err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}
