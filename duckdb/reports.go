package duckdb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"math"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Reports = (*Store)(nil)

// reportSQL holds the reports' queries, one file per query named after what runs it
// (stats.sql, chart_installs.sql, ...). They are DuckDB's dialect; another store keeps
// its own variant of each file beside its code.
//
//go:embed sql/*.sql
var reportSQL embed.FS

// rejectedLookback is how much older than the report's range a rejected touchpoint may be:
// the longest click lookback ATTRIBUTION.md allows (30 days), and a day to spare.
const rejectedLookback = 31 * 24 * time.Hour

// query runs the report query of the named file with its arguments.
func (s *Store) query(ctx context.Context, name string, args ...any) (*sql.Rows, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	q, err := reportSQL.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	rows, err := s.db.QueryContext(ctx, string(q), args...)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
	}
	return rows, nil
}

// each runs the named query and calls fn for each row; scan errors and fn's errors end it.
func (s *Store) each(ctx context.Context, name string, fn func(*sql.Rows) error, args ...any) error {
	rows, err := s.query(ctx, name, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
	}
	return nil
}

// rangeArgs checks the arguments every report shares and returns the app id and the
// range as query arguments ($1, $2, $3).
func rangeArgs(appID string, from, to time.Time) ([]any, error) {
	if err := unmogrowp.ReportRange(appID, from, to); err != nil {
		return nil, err
	}
	return []any{appID, ceilMicro(from), ceilMicro(to)}, nil
}

// Stats returns the dashboard's totals of the app over [from, to) (see unmogrowp.Reports
// for what counts), from one query: stats.sql.
func (s *Store) Stats(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.Stats, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	var st unmogrowp.Stats
	err = s.each(ctx, "stats", func(rows *sql.Rows) error {
		return rows.Scan(&st.Installs, &st.OrganicInstalls, &st.NonOrganicInstalls, &st.Reinstalls,
			&st.RejectedInstalls, &st.Clicks, &st.Impressions, &st.Events, &st.Revenue,
			&st.ActiveDevices, &st.Sessions)
	}, args...)
	if err != nil {
		return nil, err
	}
	st.ConversionRate = rate(st.NonOrganicInstalls, st.Clicks)
	st.Revenue = roundMoney(st.Revenue)
	return &st, nil
}

// roundMoney rounds a sum of revenue to a millionth: it drops the noise of floating-point
// addition (16.979999999999997), which would otherwise depend on the order DuckDB's
// threads add in.
func roundMoney(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// rate is n/d, 0 when d is 0.
func rate(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Chart returns one of the dashboard's charts of the app over [from, to), each from its
// own query (chart_<type>.sql). Time charts are zero-filled here, in Go: the queries only
// return the intervals that have data.
func (s *Store) Chart(ctx context.Context, appID, chartType string, from, to time.Time, interval string) (*unmogrowp.Chart, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	switch interval {
	case unmogrowp.IntervalHour, unmogrowp.IntervalDay, "":
	default:
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Unknown interval %q: use hour or day.", interval)
	}
	switch chartType {
	case unmogrowp.ChartMediaSources:
		return s.categoryChart(ctx, "chart_media_sources", args)
	case unmogrowp.ChartPlatforms:
		return s.categoryChart(ctx, "chart_platforms", args)
	case unmogrowp.ChartInstalls, unmogrowp.ChartEvents, unmogrowp.ChartRevenue:
	default:
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID,
			"Unknown chart type %q: use installs, media_sources, events, revenue or platforms.", chartType)
	}
	tl, err := newTimeline(from, to, interval)
	if err != nil {
		return nil, err
	}
	args = append(args, tl.interval)
	switch chartType {
	case unmogrowp.ChartInstalls:
		organic, nonOrganic := tl.series("organic"), tl.series("non_organic")
		err = s.each(ctx, "chart_installs", func(rows *sql.Rows) error {
			var bucket time.Time
			var o, n int64
			if err := rows.Scan(&bucket, &o, &n); err != nil {
				return err
			}
			i := tl.index(bucket)
			organic.Data[i], nonOrganic.Data[i] = float64(o), float64(n)
			return nil
		}, args...)
		return tl.chart(err, organic, nonOrganic)
	case unmogrowp.ChartRevenue:
		revenue := tl.series("revenue")
		err = s.each(ctx, "chart_revenue", func(rows *sql.Rows) error {
			var bucket time.Time
			var v float64
			if err := rows.Scan(&bucket, &v); err != nil {
				return err
			}
			revenue.Data[tl.index(bucket)] = roundMoney(v)
			return nil
		}, args...)
		return tl.chart(err, revenue)
	default: // unmogrowp.ChartEvents
		var series []unmogrowp.ChartSeries // in rank order
		err = s.each(ctx, "chart_events", func(rows *sql.Rows) error {
			var bucket time.Time
			var name string
			var rank, n int64
			if err := rows.Scan(&bucket, &name, &rank, &n); err != nil {
				return err
			}
			if len(series) == 0 || series[len(series)-1].Name != name {
				series = append(series, tl.series(name))
			}
			series[len(series)-1].Data[tl.index(bucket)] += float64(n)
			return nil
		}, append(args, unmogrowp.ChartEventTypes)...)
		return tl.chart(err, series...)
	}
}

// categoryChart runs a query of (category, installs) rows, in order, into a chart with
// one series "installs".
func (s *Store) categoryChart(ctx context.Context, name string, args []any) (*unmogrowp.Chart, error) {
	c := &unmogrowp.Chart{Categories: []string{}, Series: []unmogrowp.ChartSeries{{Name: "installs", Data: []float64{}}}}
	err := s.each(ctx, name, func(rows *sql.Rows) error {
		var cat string
		var n int64
		if err := rows.Scan(&cat, &n); err != nil {
			return err
		}
		c.Categories = append(c.Categories, cat)
		c.Series[0].Data = append(c.Series[0].Data, float64(n))
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// timeline is the time categories of a chart: the intervals that start in
// [trunc(from), to), in UTC.
type timeline struct {
	interval   string // "hour" or "day", as date_trunc takes it
	start      time.Time
	step       time.Duration
	categories []string
}

// newTimeline checks the interval ("" is a day) and lays out the categories.
func newTimeline(from, to time.Time, interval string) (*timeline, error) {
	tl := &timeline{interval: interval, categories: []string{}}
	layout := time.RFC3339
	switch interval {
	case unmogrowp.IntervalHour:
		tl.step = time.Hour
	case unmogrowp.IntervalDay, "":
		tl.interval, tl.step, layout = unmogrowp.IntervalDay, 24*time.Hour, time.DateOnly
	default:
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Unknown interval %q: use hour or day.", interval)
	}
	tl.start = from.UTC().Truncate(tl.step) // whole hours and days of UTC: the epoch is midnight
	if n := to.Sub(tl.start) / tl.step; n > unmogrowp.MaxChartPoints {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID,
			"The range has more than %d intervals: use a longer interval or a shorter range.", unmogrowp.MaxChartPoints)
	}
	for t := tl.start; t.Before(to); t = t.Add(tl.step) {
		tl.categories = append(tl.categories, t.Format(layout))
	}
	return tl, nil
}

// series returns a series of zeros, one per category.
func (tl *timeline) series(name string) unmogrowp.ChartSeries {
	return unmogrowp.ChartSeries{Name: name, Data: make([]float64, len(tl.categories))}
}

// index returns the category of a bucket that date_trunc made from a time in range.
func (tl *timeline) index(bucket time.Time) int {
	i := int(bucket.UTC().Sub(tl.start) / tl.step)
	return min(max(i, 0), len(tl.categories)-1)
}

// chart assembles the chart, or returns err.
func (tl *timeline) chart(err error, series ...unmogrowp.ChartSeries) (*unmogrowp.Chart, error) {
	if err != nil {
		return nil, err
	}
	if series == nil {
		series = []unmogrowp.ChartSeries{}
	}
	return &unmogrowp.Chart{Categories: tl.categories, Series: series}, nil
}

// MediaSourceReport returns the media_sources report of the app over [from, to), from one
// query: media_sources.sql.
func (s *Store) MediaSourceReport(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.MediaSourceReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	rep := &unmogrowp.MediaSourceReport{Rows: []unmogrowp.MediaSourceRow{}}
	err = s.each(ctx, "media_sources", func(rows *sql.Rows) error {
		var r unmogrowp.MediaSourceRow
		if err := rows.Scan(&r.MediaSource, &r.Campaign, &r.Clicks, &r.Impressions, &r.Installs,
			&r.Events, &r.Revenue, &r.RejectedInstalls); err != nil {
			return err
		}
		r.ConversionRate = rate(r.Installs, r.Clicks)
		r.Revenue = roundMoney(r.Revenue)
		rep.Rows = append(rep.Rows, r)
		return nil
	}, append(args, ceilMicro(from.Add(-rejectedLookback)))...)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// RetentionReport returns the retention report of the installs of the app in [from, to),
// from one query: retention.sql. The events that count are those of the cohorts' days
// up to unmogrowp.RetentionDays days after the last one, even after to.
func (s *Store) RetentionReport(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.RetentionReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	const day = 24 * time.Hour
	evFrom := from.UTC().Truncate(day)
	evTo := to.UTC().Add(-time.Nanosecond).Truncate(day).Add((unmogrowp.RetentionDays + 1) * day)
	rep := &unmogrowp.RetentionReport{Cohorts: []unmogrowp.RetentionCohort{}}
	err = s.each(ctx, "retention", func(rows *sql.Rows) error {
		var d time.Time
		var installs int64
		var dayN, devices sql.NullInt64
		if err := rows.Scan(&d, &installs, &dayN, &devices); err != nil {
			return err
		}
		date := d.UTC().Format(time.DateOnly)
		if n := len(rep.Cohorts); n == 0 || rep.Cohorts[n-1].InstallDate != date {
			rep.Cohorts = append(rep.Cohorts, unmogrowp.RetentionCohort{
				InstallDate: date, Installs: installs, Retained: make([]int64, unmogrowp.RetentionDays+1),
			})
		}
		if dayN.Valid && dayN.Int64 >= 0 && dayN.Int64 <= unmogrowp.RetentionDays {
			rep.Cohorts[len(rep.Cohorts)-1].Retained[dayN.Int64] = devices.Int64
		}
		return nil
	}, append(args, evFrom, evTo, unmogrowp.RetentionDays)...)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// FraudReport returns the fraud report of the app's install decisions in [from, to), from
// one query: fraud.sql.
func (s *Store) FraudReport(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.FraudReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	rep := &unmogrowp.FraudReport{Rows: []unmogrowp.FraudRow{}}
	err = s.each(ctx, "fraud", func(rows *sql.Rows) error {
		var r unmogrowp.FraudRow
		var src, reason sql.NullString
		if err := rows.Scan(&src, &reason, &r.Count); err != nil {
			return err
		}
		r.MediaSource, r.Reason = src.String, reason.String
		rep.Rows = append(rep.Rows, r)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	return rep, nil
}
