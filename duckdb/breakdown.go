package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Breakdown counts the breakdown of q over [from, to) (and the previous period with
// q.Compare) in one query: a UNION ALL of one GROUP BY per fact q.Counts, each reading
// its table once over the whole range, the previous period split off by a CASE on the
// time (breakdownSQL); the events' revenue is read from device_revenue (revenue.go), the
// decisions' event dimensions from their own rows (installdims.go).
// unmogrowp.BreakdownBuilder merges the facts' rows.
func (s *Store) Breakdown(ctx context.Context, appID string, from, to time.Time, q unmogrowp.BreakdownQuery, scopes ...unmogrowp.ReportScope) (*unmogrowp.BreakdownCounts, error) {
	if err := unmogrowp.ReportRange(appID, from, to); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	lo, hi := q.ScanRange(from, to)
	b := unmogrowp.NewBreakdownBuilder(q, sc)
	query, args := breakdownSQL(q, appID, ceilMicro(lo), ceilMicro(hi), ceilMicro(from), ceilMicro(lo.Add(-rejectedLookback)))
	if query == "" {
		return b.Counts(), nil
	}
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.db.QueryContext(ctx, localize(query, sc.Shifts(lo, hi)), args...)
	if err != nil {
		return nil, fmt.Errorf("report breakdown: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		f := unmogrowp.BreakdownFact{Dims: make([]string, len(q.By))}
		var fact string
		var day sql.NullTime
		dest := []any{&fact, &f.Period}
		for i := range f.Dims {
			dest = append(dest, &f.Dims[i])
		}
		dest = append(dest, &f.N1, &f.N2, &f.Revenue, &f.Amounts, &f.Currency, &day)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("report breakdown: %w", withCtx(ctx, err))
		}
		f.Fact, f.Day = fact[0], day.Time
		b.Add(f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report breakdown: %w", withCtx(ctx, err))
	}
	return b.Counts(), nil
}

// breakdownSQL writes the breakdown's query, "" when it counts no fact, and its
// arguments: $1 the app id, $2 and $3 the range read (lo: the previous period's start
// when comparing; hi: to), then as the query uses them from (where the previous period
// ends), the oldest touch time of a rejected touchpoint (lookback), the event type and the
// filters' values: the driver wants every argument used. Every row is (fact,
// period, one column per q.By dimension, n1, n2, revenue, amounts, currency, day):
// unmogrowp.BreakdownFact. The SQL holds only names from the code's own lists: every value
// is a bound argument.
func breakdownSQL(q unmogrowp.BreakdownQuery, appID string, lo, hi, from, lookback time.Time) (string, []any) {
	args := []any{appID, lo, hi}
	bind := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var fromArg string
	period := func(col string) string {
		if !q.Compare {
			return "0"
		}
		if fromArg == "" {
			fromArg = bind(from)
		}
		return "CAST(" + col + " < " + fromArg + " AS INTEGER)"
	}
	// dims selects the By dimensions and filter the filters of a fact, col giving the
	// fact's column of a dimension it has.
	dims := func(fact byte, col func(string) string) string {
		var b strings.Builder
		for i, d := range q.By {
			c := "''"
			if unmogrowp.FactHas(fact, d) {
				c = col(d)
			}
			fmt.Fprintf(&b, ", %s AS d%d", c, i)
		}
		return b.String()
	}
	// filterOn is the condition of the filter on d for the fact, col giving its column;
	// filter is all the filters' conditions.
	filterOn := func(fact byte, d string, col func(string) string) string {
		var ps []string
		for _, v := range q.FilterValues(fact, d) {
			ps = append(ps, bind(v))
		}
		return fmt.Sprintf(" AND %s IN (%s)", col(d), strings.Join(ps, ", "))
	}
	filter := func(fact byte, col func(string) string) string {
		var b strings.Builder
		for _, d := range q.FilterDims() {
			b.WriteString(filterOn(fact, d, col))
		}
		return b.String()
	}
	// touchDim is whether a decision has d from its touchpoint, not from its event, and
	// needTouch whether a rejected install's dimensions or filters need its first
	// rejected touchpoint (all but its media source, which the decision holds).
	touchDim := func(d string) bool { return unmogrowp.FactHas(unmogrowp.FactTouchpoints, d) }
	var needTouch bool
	for _, d := range append(q.FilterDims(), q.By...) {
		needTouch = needTouch || (touchDim(d) && d != unmogrowp.DimMediaSource)
	}
	// A decision's event's dimensions are on its row (installdims.go): its install event's
	// for an install, its returning event's for a re-engagement.
	installCol := func(own func(string) string) func(string) string {
		return func(d string) string {
			if touchDim(d) {
				return own(d)
			}
			return "x." + d
		}
	}
	const noMoney = ", 0.0, 0, '', NULL::DATE"
	var parts []string
	if q.Counts(unmogrowp.FactTouchpoints) {
		col := func(d string) string { return d }
		parts = append(parts, `SELECT 't'`+", "+period("touch_time")+dims(unmogrowp.FactTouchpoints, col)+`,
        count(*) FILTER (WHERE type = 'click'), count(*) FILTER (WHERE type = 'impression')`+noMoney+`
    FROM touchpoints
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3`+filter(unmogrowp.FactTouchpoints, col)+`
    GROUP BY ALL`)
	}
	if q.Counts(unmogrowp.FactInstalls) {
		col := installCol(func(d string) string { return "x." + d })
		parts = append(parts, `SELECT 'i', `+period("x.install_time")+dims(unmogrowp.FactInstalls, col)+`,
        count(*), count(*) FILTER (WHERE NOT x.attributed)`+noMoney+`
    FROM installs x
    WHERE x.app_id = $1 AND x.install_time >= $2 AND x.install_time < $3
      AND NOT x.is_reinstall AND NOT x.is_reattribution AND (x.attributed OR x.rejected_count = 0)`+
			filter(unmogrowp.FactInstalls, col)+`
    GROUP BY ALL`)
	}
	if q.Counts(unmogrowp.FactReengagements) {
		col := installCol(func(d string) string { return "x." + d })
		parts = append(parts, `SELECT 'g', `+period("x.install_time")+dims(unmogrowp.FactReengagements, col)+`,
        count(*), 0`+noMoney+`
    FROM installs x
    WHERE x.app_id = $1 AND x.install_time >= $2 AND x.install_time < $3 AND x.reattribution_kind = 'reengagement'`+
			filter(unmogrowp.FactReengagements, col)+`
    GROUP BY ALL`)
	}
	if q.Counts(unmogrowp.FactRejected) {
		// Each rejected install in the row of its first rejected touchpoint, as the
		// media_sources report counts it (media_sources.sql); the touchpoint is read only
		// when a dimension or filter needs more of it than its media source.
		col := installCol(func(d string) string {
			if d == unmogrowp.DimMediaSource {
				return "x.r.media_source"
			}
			return "coalesce(tp." + d + ", '')"
		})
		touch := ""
		if needTouch {
			touch = `
    LEFT JOIN touchpoints tp
           ON tp.touchpoint_id = x.r.touchpoint_id AND tp.app_id = $1 AND tp.touch_time >= ` + bind(lookback) + ` AND tp.touch_time < $3`
		}
		parts = append(parts, `SELECT 'r', `+period("x.install_time")+dims(unmogrowp.FactRejected, col)+`,
        count(DISTINCT (x."partition", x."offset")), 0`+noMoney+`
    FROM (
        SELECT "partition", "offset", install_time, country, platform, app_version, os_version,
               from_json(rejected, '[{"touchpoint_id":"VARCHAR","media_source":"VARCHAR"}]')[1] AS r
        FROM installs
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND rejected_count > 0 AND NOT attributed AND NOT is_reinstall AND NOT is_reattribution
    ) x`+touch+`
    WHERE true`+filter(unmogrowp.FactRejected, col)+`
    GROUP BY ALL`)
	}
	eventType := ""
	if q.EventType != "" {
		eventType = bind(q.EventType)
	}
	// only is the condition of the events that events, unique devices and revenue count.
	only := func(expr string) string {
		if eventType == "" {
			return expr
		}
		return "CASE WHEN event_type = " + eventType + " THEN " + expr + " END"
	}
	events := func(sessions bool) string {
		switch {
		case eventType == "":
			return ""
		case sessions:
			return " AND event_type IN (" + eventType + ", 'session')"
		}
		return " AND event_type = " + eventType
	}
	col := func(d string) string { return d }
	sessions := slices.Contains(q.Metrics, unmogrowp.MetricSessions)
	// shared is whether the events are counted in the unique devices' scan: when both
	// count, and read the same events (every type, or the event type without sessions).
	shared := q.Counts(unmogrowp.FactEvents) && q.Counts(unmogrowp.FactDevices) && (eventType == "" || !sessions)
	if q.Counts(unmogrowp.FactEvents) {
		if !shared {
			parts = append(parts, `SELECT 'e', `+period("event_time")+dims(unmogrowp.FactEvents, col)+`,
        count(`+only("1")+`), count(*) FILTER (WHERE event_type = 'session')`+noMoney+`
    FROM events
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3`+events(sessions)+filter(unmogrowp.FactEvents, col)+`
    GROUP BY ALL`)
		}
		if q.CountsRevenue() {
			// The revenue of the same events, from device_revenue (revenue.go), which holds
			// each event with a revenue and its dimensions: a row of no events, to add to the
			// events' row of the same dimensions.
			parts = append(parts, `SELECT 'e', `+period("event_time")+dims(unmogrowp.FactEvents, col)+`,
        0, 0, revenue_sum(revenue), count(*), currency, CAST(LOCAL(event_time) AS DATE)
    FROM device_revenue
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3`+events(false)+filter(unmogrowp.FactEvents, col)+`
    GROUP BY ALL`)
		}
	}
	if q.Counts(unmogrowp.FactDevices) {
		// The devices of each row and of the whole breakdown in one scan of the events:
		// x holds each (period, dimensions, device) once with its events and sessions, so
		// a row's devices are its count of x's rows, and the totals' (one row per period,
		// whose d0 alone is NULL: the rows' columns are NOT NULL) the distinct devices of
		// the period's x rows. On 100M events this took a third less CPU than count(DISTINCT
		// device_id) over grouping sets of the events (docs/performance-analysis.md).
		// Shared, each row's events too: the rows' part makes a row of each fact, k.f.
		ds := dims(unmogrowp.FactDevices, col)
		set, nulls := "p", ""
		for i := range q.By {
			set += fmt.Sprintf(", d%d", i)
			nulls += ", NULL::VARCHAR"
		}
		facts := "('u')"
		if shared {
			facts = "('u'), ('e')"
		}
		parts = append(parts, `SELECT CASE WHEN d0 IS NULL THEN 'U' ELSE k.f END, p`+coalesceDims(len(q.By))+`,
        CASE WHEN k.f = 'e' THEN ne ELSE n END, CASE WHEN k.f = 'e' THEN ns ELSE 0 END`+noMoney+`
    FROM (
        WITH x AS MATERIALIZED (
            SELECT `+period("event_time")+` AS p`+ds+`, device_id,
                   count(*) AS c, count(*) FILTER (WHERE event_type = 'session') AS s
            FROM events
            WHERE app_id = $1 AND event_time >= $2 AND event_time < $3`+events(false)+filter(unmogrowp.FactDevices, col)+`
            GROUP BY ALL
        )
        SELECT `+set+`, count(*) AS n, CAST(sum(c) AS BIGINT) AS ne, CAST(sum(s) AS BIGINT) AS ns FROM x GROUP BY `+set+`
        UNION ALL
        SELECT p`+nulls+`, count(DISTINCT device_id), CAST(sum(c) AS BIGINT), CAST(sum(s) AS BIGINT) FROM x GROUP BY p
    ), (VALUES `+facts+`) k(f)
    WHERE k.f = 'u' OR d0 IS NOT NULL`)
	}
	if len(parts) == 0 {
		return "", nil
	}
	return strings.Join(parts, "\nUNION ALL\n"), args
}

// coalesceDims selects the n dimension columns d0, d1... of a grouping set's rows, ”
// for those the set leaves NULL.
func coalesceDims(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ", coalesce(d%d, '')", i)
	}
	return b.String()
}
