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
// by the dimensions and the install day, joined with the devices' active days.
func (s *Store) RetentionBreakdown(ctx context.Context, appID string, from, to time.Time, q unmogrowp.RetentionQuery, scopes ...unmogrowp.ReportScope) (*unmogrowp.RetentionBreakdown, error) {
	sc := unmogrowp.Scope(scopes...)
	b := unmogrowp.NewRetentionBuilder(q, sc)
	if err := s.retention(ctx, "retention breakdown", appID, from, to, q, sc, b.Add); err != nil {
		return nil, err
	}
	return b.Report(), nil
}

// RetentionReport returns the retention report of the installs of the app in [from, to),
// from one query (retentionSQL). The events that count are those of the cohorts' days up
// to unmogrowp.RetentionDays days after the last one, even after to; the days that have
// not ended by the scope's now are left out.
func (s *Store) RetentionReport(ctx context.Context, appID string, from, to time.Time, scopes ...unmogrowp.ReportScope) (*unmogrowp.RetentionReport, error) {
	sc := unmogrowp.Scope(scopes...)
	ret := unmogrowp.NewRetention(sc)
	err := s.retention(ctx, "retention", appID, from, to, unmogrowp.RetentionQuery{}, sc, func(_ []string, d time.Time, installs, dayN, devices int64, hasDay bool) {
		ret.Add(d, installs, dayN, devices, hasDay)
	})
	if err != nil {
		return nil, err
	}
	return ret.Report(), nil
}

// retention runs retentionSQL for q over the app's installs in [from, to) in sc's zone
// and calls add with each row: the values of q.By, the cohort's day, its installs, and
// day N with its devices (hasDay false: no device of the cohort has an event in range).
// An invalid range or q is EINVALID; the query's errors are wrapped with the report's name.
func (s *Store) retention(ctx context.Context, name, appID string, from, to time.Time, q unmogrowp.RetentionQuery, sc unmogrowp.ReportScope,
	add func(dims []string, day time.Time, installs, dayN, devices int64, hasDay bool)) error {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	evFrom, evTo := unmogrowp.RetentionEvents(from, to, sc.Location)
	days, shifts := activeDaysFor(sc, evFrom, evTo)
	query, args := retentionSQL(q, days, append(args, evFrom, evTo, unmogrowp.RetentionDays))
	if s.closed.Load() {
		return errClosed()
	}
	rows, err := s.db.QueryContext(ctx, localize(query, shifts), args...)
	if err != nil {
		return fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
	}
	defer rows.Close()
	dims := make([]string, len(q.By))
	dest := make([]any, 0, len(dims)+4)
	for i := range dims {
		dest = append(dest, &dims[i])
	}
	var d time.Time
	var installs int64
	var dayN, devices sql.NullInt64
	dest = append(dest, &d, &installs, &dayN, &devices)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
		}
		add(dims, d, installs, dayN.Int64, devices.Int64, dayN.Valid)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
	}
	return nil
}

// activeDays says where a retention query finds the devices' active days in the report's
// zone.
type activeDays int

const (
	activeUTC    activeDays = iota // device_days' UTC days
	activeHours                    // device_days' hours, reduced to the zone's days
	activeEvents                   // the events' times in the zone
)

// activeDaysOf returns where the retention query of sc's zone over the event times
// [from, to) finds the active days, and the zone's shifts there (none in UTC). device_days'
// hours serve a zone whose offsets over the range, and the instants they change, are whole
// hours: each UTC hour of the range then falls in one local day. The zones of half and
// quarter hours (Asia/Kolkata, Asia/Kathmandu, ...) read the events.
func activeDaysOf(sc unmogrowp.ReportScope, from, to time.Time) (activeDays, []unmogrowp.ZoneShift) {
	if sc.Location == time.UTC {
		return activeUTC, nil
	}
	shifts := sc.Shifts(from, to)
	for i, z := range shifts {
		if z.Offset%time.Hour != 0 || i > 0 && !z.Start.Truncate(time.Hour).Equal(z.Start) {
			return activeEvents, shifts
		}
	}
	return activeHours, shifts
}

// activeDaysFor is activeDaysOf, which tests replace to compare the ways.
var activeDaysFor = activeDaysOf

// retentionSQL writes the query of a retention breakdown and appends the filters' values
// to args, which hold $1 the app id, $2 and $3 the install range, $4 and $5 the event
// times that can count (unmogrowp.RetentionEvents), $6 the last day. Every row is (one
// column per q.By dimension, cohort day, installs, day N, devices), ordered by cohort day
// and day N; a cohort none of whose devices has an event in range comes once with day N
// NULL. The devices' active days come from where days says (activeDaysOf). The SQL holds
// only names from the code's own lists: every value is a bound argument.
func retentionSQL(q unmogrowp.RetentionQuery, days activeDays, args []any) (string, []any) {
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
	// device_days in UTC, and in a zone whose offsets are whole hours, where the UTC days'
	// hours (their masks) map to local days; elsewhere its id, the events' active days
	// read only for the cohorts' devices (hashing every event's id into its key costs more
	// than the join).
	device, active, activeAs := "device_key(x.device_id)", "", "active AS ("
	switch days {
	case activeUTC:
		active = `SELECT device_key AS device, CAST(day AS DATE) AS ed
    FROM device_days
    WHERE app_id = $1 AND day >= $4 AND day < $5`
	case activeHours:
		// Each UTC day's hours grouped by the local day they fall in: one to three
		// masks per day. The device_days of the UTC days that overlap [$4, $5); the
		// local days outside it are outside every cohort's days.
		// Materialized: else DuckDB 2.0 orders the joins the other way, the cohorts
		// with the masks first (a row per install and local day, spilled to disk),
		// which made the report four times as slow (BenchmarkReports,
		// TestReportsAtScale).
		activeAs = "active AS MATERIALIZED ("
		active = `SELECT dd.device_key AS device, m.ed
    FROM device_days dd JOIN (
        SELECT day, CAST(LOCAL(hour_start) AS DATE) AS ed, bit_or((1 << h)::INTEGER) AS mask
        FROM (SELECT day, h, day + to_hours(h) AS hour_start
              FROM range(date_trunc('day', CAST($4 AS TIMESTAMP)), CAST($5 AS TIMESTAMP), INTERVAL 1 DAY) AS d(day), range(24) AS hs(h))
        GROUP BY ALL
    ) m ON m.day = dd.day
    WHERE dd.app_id = $1 AND dd.day >= date_trunc('day', CAST($4 AS TIMESTAMP)) AND dd.day < $5
      AND dd.hours & m.mask <> 0`
	default:
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
), ` + activeAs + `
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
