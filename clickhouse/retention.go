package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// RetentionBreakdown returns the retention report of the app's installs in [from, to)
// split by q.By and kept to q.Filters, from one query (retentionSQL): retention.sql with
// the cohorts grouped by the dimensions as well as the install day.
func (s *Store) RetentionBreakdown(ctx context.Context, appID string, from, to time.Time, q unmogrowp.RetentionQuery, scopes ...unmogrowp.ReportScope) (*unmogrowp.RetentionBreakdown, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	evFrom, evTo := unmogrowp.RetentionEvents(from, to, sc.Location)
	query, args := retentionSQL(q, append(args, micros(evFrom), micros(evTo), unmogrowp.RetentionDays))
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.conn.Query(ctx, localize(query, sc.Shifts(evFrom, evTo)), args...)
	if err != nil {
		return nil, fmt.Errorf("report retention breakdown: %w", classify(ctx, err))
	}
	defer rows.Close()
	b := unmogrowp.NewRetentionBuilder(q, sc)
	dims := make([]string, len(q.By))
	for rows.Next() {
		var d, dayN int64
		var installs, devices uint64
		dest := make([]any, 0, len(dims)+4)
		for i := range dims {
			dest = append(dest, &dims[i])
		}
		if err := rows.Scan(append(dest, &d, &installs, &dayN, &devices)...); err != nil {
			return nil, fmt.Errorf("report retention breakdown: %w", classify(ctx, err))
		}
		b.Add(dims, dayTime(d), int64(installs), dayN, int64(devices), true)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report retention breakdown: %w", classify(ctx, err))
	}
	return b.Report(), nil
}

// retentionSQL writes the query of a retention breakdown and appends the filters' values
// to args, which hold $1 the app id, $2 and $3 the install range, $4 and $5 the event
// times that can count (unmogrowp.RetentionEvents), $6 the last day, times in Unix
// microseconds. Every row is (one column per q.By dimension, cohort day since the epoch,
// installs, day N, devices), ordered by cohort day and day N; a cohort none of whose
// devices has an event in range comes once with day 0 and 0 devices. 18.16 has no WITH
// of subqueries and joins two tables per SELECT: the cohorts' subquery is written twice,
// as retention.sql writes it. The SQL holds only names from the code's own lists: every
// value is a bound argument.
func retentionSQL(q unmogrowp.RetentionQuery, args []any) (string, []any) {
	bind := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var dims, groups, filters strings.Builder
	for i, d := range q.By {
		fmt.Fprintf(&dims, ", toString(%s) AS g%d", d, i)
		fmt.Fprintf(&groups, "g%d, ", i)
	}
	for _, d := range q.FilterDims() {
		var ps []string
		for _, v := range q.Filters[d] {
			ps = append(ps, bind(v))
		}
		fmt.Fprintf(&filters, " AND %s IN (%s)", d, strings.Join(ps, ", "))
	}
	installs := `
        SELECT "partition", "offset", device_id, install_time, media_source, campaign, adset, ad, site_id, channel
        FROM installs FINAL
        WHERE app_id = $1 AND install_time >= $2 AND install_time < $3
          AND NOT is_reinstall AND NOT is_reattribution
          AND (attributed OR length(rejected_reason) = 0) -- a rejected install is not an install
    `
	if q.NeedsInstallEvent() {
		// An install without its install event joins as ''.
		installs = `
        SELECT device_id, install_time, media_source, campaign, adset, ad, site_id, channel,
               country, platform, app_version, os_version
        FROM (` + installs + `)
        ANY LEFT JOIN (
            SELECT "partition", "offset", country, platform, app_version, os_version
            FROM events FINAL
            WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND event_type = 'install'
        ) USING "partition", "offset"
    `
	}
	cohort := `
        SELECT device_id, intDiv(LOCAL(install_time), 86400000000) AS d` + dims.String() + `
        FROM (` + installs + `)
        WHERE 1` + filters.String() + `
    `
	return `SELECT ` + groups.String() + `d, installs, day_n, devices
FROM (
    SELECT ` + groups.String() + `d, count() AS installs
    FROM (` + cohort + `)
    GROUP BY ` + groups.String() + `d
)
ALL LEFT JOIN (
    SELECT ` + groups.String() + `d, ed - d AS day_n, uniqExact(device_id) AS devices
    FROM (
        SELECT DISTINCT device_id, intDiv(LOCAL(event_time), 86400000000) AS ed
        FROM events FINAL
        WHERE app_id = $1 AND event_time >= $4 AND event_time < $5
    )
    ALL INNER JOIN (` + cohort + `) USING device_id
    WHERE ed >= d AND ed <= d + $6
    GROUP BY ` + groups.String() + `d, day_n
) USING ` + groups.String() + `d
ORDER BY d, day_n`, args
}
