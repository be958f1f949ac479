package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Breakdown counts the breakdown of q over [from, to) (and the previous period with
// q.Compare) in one query: a UNION ALL of one GROUP BY per fact q.Counts, each reading
// its table once over the whole range, the previous period split off by a comparison on
// the time (breakdownSQL). unmogrowp.BreakdownBuilder merges the facts' rows, as it does
// package duckdb's.
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
	query, args := breakdownSQL(q, appID, ceilMicros(lo), ceilMicros(hi), ceilMicros(from), ceilMicros(lo.Add(-rejectedLookback)))
	if query == "" {
		return b.Counts(), nil
	}
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.conn.Query(ctx, localize(query, sc.Shifts(lo, hi)), args...)
	if err != nil {
		return nil, fmt.Errorf("report breakdown: %w", classify(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		f := unmogrowp.BreakdownFact{Dims: make([]string, len(q.By))}
		var fact string
		var period, day int64
		dest := []any{&fact, &period}
		for i := range f.Dims {
			dest = append(dest, &f.Dims[i])
		}
		dest = append(dest, &f.N1, &f.N2, &f.Revenue, &f.Amounts, &f.Currency, &day)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("report breakdown: %w", classify(ctx, err))
		}
		f.Fact, f.Period, f.Day = fact[0], int(period), time.Unix(day*86400, 0).UTC()
		b.Add(f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report breakdown: %w", classify(ctx, err))
	}
	return b.Counts(), nil
}

// breakdownSQL writes the breakdown's query, "" when it counts no fact, and its
// arguments: $1 the app id, $2 and $3 the range read in Unix microseconds (lo: the
// previous period's start when comparing; hi: to), then as the query uses them from
// (where the previous period ends), the oldest touch time of a rejected touchpoint
// (lookback), the event type and the filters' values. Every row is (fact, period, one
// column per q.By dimension, n1, n2, revenue, amounts, currency, day since the epoch), all
// of one type in every part of the UNION ALL, as 18.16 wants: unmogrowp.BreakdownFact.
// 18.16 has no WITH of subqueries and joins two tables per SELECT, hence the nesting. The
// SQL holds only names from the code's own lists: every value is a bound argument.
func breakdownSQL(q unmogrowp.BreakdownQuery, appID string, lo, hi, from, lookback int64) (string, []any) {
	args := []any{appID, lo, hi}
	bind := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var fromArg string
	period := func(col string) string {
		if !q.Compare {
			return "toInt64(0)"
		}
		if fromArg == "" {
			fromArg = bind(from)
		}
		return "toInt64(" + col + " < " + fromArg + ")"
	}
	var groupBy strings.Builder
	groupBy.WriteString("\n    GROUP BY period")
	for i := range q.By {
		fmt.Fprintf(&groupBy, ", d%d", i)
	}
	// dims selects the By dimensions of a fact (a column of the same name, '' for one it
	// lacks), filter its filters.
	dims := func(fact byte) string {
		var b strings.Builder
		for i, d := range q.By {
			c := "''"
			if unmogrowp.FactHas(fact, d) {
				c = d
			}
			fmt.Fprintf(&b, ", toString(%s) AS d%d", c, i)
		}
		return b.String()
	}
	filter := func(fact byte) string {
		var b strings.Builder
		for _, d := range q.FilterDims() {
			var ps []string
			for _, v := range q.FilterValues(fact, d) {
				ps = append(ps, bind(v))
			}
			fmt.Fprintf(&b, " AND %s IN (%s)", d, strings.Join(ps, ", "))
		}
		return b.String()
	}
	needEvent := slices.ContainsFunc(append(q.FilterDims(), q.By...), func(d string) bool {
		return !unmogrowp.FactHas(unmogrowp.FactTouchpoints, d)
	})
	installEvent := ""
	if needEvent {
		installEvent = `
    ANY LEFT JOIN (
        SELECT "partition", "offset", country, platform, app_version, os_version
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND event_type = 'install'
    ) USING "partition", "offset"`
	}
	const noMoney = ", toFloat64(0) AS revenue, toInt64(0) AS amounts, '' AS currency, toInt64(0) AS day"
	var parts []string
	if q.Counts(unmogrowp.FactTouchpoints) {
		parts = append(parts, `SELECT 't' AS fact, `+period("touch_time")+` AS period`+dims(unmogrowp.FactTouchpoints)+`,
        toInt64(countIf(type = 'click')) AS n1, toInt64(countIf(type = 'impression')) AS n2`+noMoney+`
    FROM touchpoints FINAL
    WHERE app_id = $1 AND touch_time >= $2 AND touch_time < $3`+filter(unmogrowp.FactTouchpoints)+groupBy.String())
	}
	if q.Counts(unmogrowp.FactInstalls) {
		parts = append(parts, `SELECT 'i', `+period("install_time")+` AS period`+dims(unmogrowp.FactInstalls)+`,
        toInt64(count()), toInt64(countIf(NOT attributed))`+noMoney+`
    FROM (
        SELECT "partition", "offset", install_time, attributed, media_source, campaign, adset, ad, site_id, channel
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT is_reinstall AND NOT is_reattribution AND (attributed OR length(rejected_reason) = 0)
    )`+installEvent+`
    WHERE 1`+filter(unmogrowp.FactInstalls)+groupBy.String())
	}
	if q.Counts(unmogrowp.FactReengagements) {
		// A re-engagement's event is the returning one (a session, an open), not an install.
		returnEvent := strings.Replace(installEvent, " AND event_type = 'install'", "", 1)
		parts = append(parts, `SELECT 'g', `+period("install_time")+` AS period`+dims(unmogrowp.FactReengagements)+`,
        toInt64(count()), toInt64(0)`+noMoney+`
    FROM (
        SELECT "partition", "offset", install_time, media_source, campaign, adset, ad, site_id, channel
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3 AND reattribution_kind = 'reengagement'
    )`+returnEvent+`
    WHERE 1`+filter(unmogrowp.FactReengagements)+groupBy.String())
	}
	if q.Counts(unmogrowp.FactRejected) {
		// Each rejected install in the row of its first rejected touchpoint, as the
		// media_sources report counts it (media_sources.sql); a touchpoint not found
		// joins as ''.
		parts = append(parts, `SELECT 'r', `+period("install_time")+` AS period`+dims(unmogrowp.FactRejected)+`,
        toInt64(uniqExact("partition", "offset")), toInt64(0)`+noMoney+`
    FROM (
        SELECT "partition", "offset", install_time, media_source, campaign, adset, ad, site_id, channel
        FROM (
            SELECT "partition", "offset", install_time,
                   rejected_touchpoint_id[1] AS touchpoint_id, rejected_media_source[1] AS media_source
            FROM installs FINAL
            WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
              AND NOT attributed AND NOT is_reinstall AND NOT is_reattribution AND length(rejected_reason) > 0
        )
        ANY LEFT JOIN (
            -- No FINAL: a replayed touchpoint's copies have the same fields.
            SELECT touchpoint_id, campaign, adset, ad, site_id, channel
            FROM touchpoints
            WHERE app_id = $1 AND touch_time >= `+bind(lookback)+` AND touch_time < $3
        ) USING touchpoint_id
    )`+installEvent+`
    WHERE 1`+filter(unmogrowp.FactRejected)+groupBy.String())
	}
	eventType := ""
	if q.EventType != "" {
		eventType = bind(q.EventType)
	}
	// only is the condition of the events that events, unique devices and revenue count.
	only := func(cond string) string {
		if eventType == "" {
			return cond
		}
		return "(" + cond + ") AND event_type = " + eventType
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
	if q.Counts(unmogrowp.FactEvents) {
		money := noMoney
		if q.CountsRevenue() {
			money = `, sumIf(if(isNaN(revenue), 0, least(greatest(revenue, -1e9), 1e9)), ` + only("has_revenue") + `) AS revenue,
        toInt64(countIf(` + only("has_revenue") + `)) AS amounts, currency, toInt64(intDiv(LOCAL(event_time), 86400000000)) AS day`
		}
		groups := groupBy.String()
		if q.CountsRevenue() {
			groups += ", currency, day"
		}
		parts = append(parts, `SELECT 'e', `+period("event_time")+` AS period`+dims(unmogrowp.FactEvents)+`,
        toInt64(countIf(`+only("1")+`)), toInt64(countIf(event_type = 'session'))`+money+`
    FROM events FINAL
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3`+events(slices.Contains(q.Metrics, unmogrowp.MetricSessions))+
			filter(unmogrowp.FactEvents)+groups)
	}
	if q.Counts(unmogrowp.FactDevices) {
		for _, fact := range []byte{unmogrowp.FactDevices, unmogrowp.FactDevicesTotals} {
			parts = append(parts, `SELECT '`+string(fact)+`', `+period("event_time")+` AS period`+dims(fact)+`,
        toInt64(uniqExact(device_id)), toInt64(0)`+noMoney+`
    FROM events FINAL
    WHERE app_id = $1 AND event_time >= $2 AND event_time < $3`+events(false)+filter(unmogrowp.FactDevices)+groupBy.String())
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	return strings.Join(parts, "\nUNION ALL\n"), args
}
