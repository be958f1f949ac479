package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// RetentionBreakdown returns the retention report of the app's installs in [from, to)
// split by q.By and kept to q.Filters, from one query (retentionSQL): the cohorts grouped
// by the dimensions and the install day, joined with the devices' active days as
// RetentionReport's queries do (retention.sql in UTC, retention_zone.sql elsewhere).
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
	zoned := sc.Location != time.UTC
	var shifts []unmogrowp.ZoneShift
	if zoned {
		shifts = sc.Shifts(evFrom, evTo)
	}
	query, args := retentionSQL(q, zoned, append(args, evFrom, evTo, unmogrowp.RetentionDays))
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.db.QueryContext(ctx, localize(query, shifts), args...)
	if err != nil {
		return nil, fmt.Errorf("report retention breakdown: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	b := unmogrowp.NewRetentionBuilder(q, sc)
	dims := make([]string, len(q.By))
	for rows.Next() {
		var d time.Time
		var installs int64
		var dayN, devices sql.NullInt64
		dest := make([]any, 0, len(dims)+4)
		for i := range dims {
			dest = append(dest, &dims[i])
		}
		if err := rows.Scan(append(dest, &d, &installs, &dayN, &devices)...); err != nil {
			return nil, fmt.Errorf("report retention breakdown: %w", withCtx(ctx, err))
		}
		b.Add(dims, d, installs, dayN.Int64, devices.Int64, dayN.Valid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report retention breakdown: %w", withCtx(ctx, err))
	}
	return b.Report(), nil
}

// retentionSQL writes the query of a retention breakdown and appends the filters' values
// to args, which hold $1 the app id, $2 and $3 the install range, $4 and $5 the event
// times that can count (unmogrowp.RetentionEvents), $6 the last day. Every row is (one
// column per q.By dimension, cohort day, installs, day N, devices), ordered by cohort day
// and day N; a cohort none of whose devices has an event in range comes once with day N
// NULL. In UTC (zoned false) the devices' active days come from device_days, elsewhere
// from the events in the zone (LOCAL). The SQL holds only names from the code's own
// lists: every value is a bound argument.
func retentionSQL(q unmogrowp.RetentionQuery, zoned bool, args []any) (string, []any) {
	bind := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	// col is the cohort's column of a dimension: the decision's own, or its install
	// event's ("" without one).
	col := func(d string) string {
		if unmogrowp.FactHas(unmogrowp.FactTouchpoints, d) {
			return "x." + d
		}
		return "coalesce(ev." + d + ", '')"
	}
	var dims, groups, sel, on, filters strings.Builder
	for i, d := range q.By {
		fmt.Fprintf(&dims, ", %s AS g%d", col(d), i)
		fmt.Fprintf(&groups, "g%d, ", i)
		fmt.Fprintf(&sel, "s.g%d, ", i)
		fmt.Fprintf(&on, " AND r.g%d = s.g%d", i, i)
	}
	for _, d := range q.FilterDims() {
		var ps []string
		for _, v := range q.Filters[d] {
			ps = append(ps, bind(v))
		}
		fmt.Fprintf(&filters, "\n      AND %s IN (%s)", col(d), strings.Join(ps, ", "))
	}
	installEvent := ""
	if q.NeedsInstallEvent() {
		installEvent = `
    LEFT JOIN (
        SELECT "partition", "offset", country, platform, app_version, os_version
        FROM events
        WHERE app_id = $1 AND event_time >= $2 AND event_time < $3 AND event_type = 'install'
    ) ev ON ev."partition" = x."partition" AND ev."offset" = x."offset"`
	}
	// device is how the cohorts and the active days name a device: its key in
	// device_days in UTC; elsewhere its id, the events' active days read only for the
	// cohorts' devices (hashing every event's id into its key costs more than the join).
	device, active := "device_key(x.device_id)", `SELECT device_key AS device, CAST(day AS DATE) AS ed
    FROM device_days
    WHERE app_id = $1 AND day >= $4 AND day < $5`
	if zoned {
		device, active = "x.device_id", `SELECT DISTINCT device_id AS device, CAST(LOCAL(event_time) AS DATE) AS ed
    FROM events
    WHERE app_id = $1 AND event_time >= $4 AND event_time < $5
      AND device_id IN (SELECT device FROM cohort)`
	}
	return `WITH cohort AS (
    SELECT ` + device + ` AS device, CAST(LOCAL(x.install_time) AS DATE) AS d` + dims.String() + `
    FROM installs x` + installEvent + `
    WHERE x.app_id = $1 AND x.install_time >= $2 AND x.install_time < $3
      AND NOT x.is_reinstall AND NOT x.is_reattribution
      AND (x.attributed OR x.rejected_count = 0) -- a rejected install is not an install` + filters.String() + `
), sizes AS (
    SELECT ` + groups.String() + `d, count(*) AS installs FROM cohort GROUP BY ALL
), active AS (
    ` + active + `
), ret AS (
    SELECT ` + strings.ReplaceAll(groups.String(), "g", "c.g") + `c.d, date_diff('day', c.d, a.ed) AS day, count(DISTINCT c.device) AS devices
    FROM cohort c JOIN active a ON a.device = c.device
    WHERE a.ed >= c.d AND a.ed <= c.d + CAST($6 AS INTEGER)
    GROUP BY ALL
)
SELECT ` + sel.String() + `s.d, s.installs, r.day, r.devices
FROM sizes s LEFT JOIN ret r ON r.d = s.d` + on.String() + `
ORDER BY s.d, r.day`, args
}
