package duckdb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
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
	fullFrom, fullTo := wholeDays(args[1].(time.Time), args[2].(time.Time))
	args = append(args, fullFrom, fullTo)
	var st unmogrowp.Stats
	err = s.each(ctx, "stats", func(rows *sql.Rows) error {
		return rows.Scan(&st.Installs, &st.OrganicInstalls, &st.NonOrganicInstalls, &st.Reinstalls,
			&st.RejectedInstalls, &st.Clicks, &st.Impressions, &st.Events, &st.Revenue,
			&st.ActiveDevices, &st.Sessions)
	}, args...)
	if err != nil {
		return nil, err
	}
	st.ConversionRate = unmogrowp.Rate(st.NonOrganicInstalls, st.Clicks)
	st.Revenue = unmogrowp.RoundMoney(st.Revenue)
	return &st, nil
}

// wholeDays returns the whole UTC days within [from, to) as [fullFrom, fullTo), and
// to, to when there are none.
func wholeDays(from, to time.Time) (fullFrom, fullTo time.Time) {
	const day = 24 * time.Hour
	fullFrom, fullTo = from.UTC().Truncate(day), to.UTC().Truncate(day)
	if fullFrom.Before(from) {
		fullFrom = fullFrom.Add(day)
	}
	if !fullFrom.Before(fullTo) {
		return to, to
	}
	return fullFrom, fullTo
}

// Chart returns one of the dashboard's charts of the app over [from, to), each from its
// own query (chart_<type>.sql). Time charts are zero-filled here, in Go: the queries only
// return the intervals that have data.
func (s *Store) Chart(ctx context.Context, appID, chartType string, from, to time.Time, interval string) (*unmogrowp.Chart, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	if err := unmogrowp.CheckChart(chartType, interval); err != nil {
		return nil, err
	}
	switch chartType {
	case unmogrowp.ChartMediaSources:
		return s.categoryChart(ctx, "chart_media_sources", args)
	case unmogrowp.ChartPlatforms:
		return s.categoryChart(ctx, "chart_platforms", args)
	}
	tl, err := unmogrowp.NewTimeline(from, to, interval)
	if err != nil {
		return nil, err
	}
	args = append(args, tl.Interval())
	switch chartType {
	case unmogrowp.ChartInstalls:
		organic, nonOrganic, rejected := tl.Series("organic"), tl.Series("non_organic"), tl.Series("rejected")
		err = s.each(ctx, "chart_installs", func(rows *sql.Rows) error {
			var bucket time.Time
			var o, n, r int64
			if err := rows.Scan(&bucket, &o, &n, &r); err != nil {
				return err
			}
			i := tl.Index(bucket)
			organic.Data[i], nonOrganic.Data[i], rejected.Data[i] = float64(o), float64(n), float64(r)
			return nil
		}, args...)
		return tl.Chart(err, organic, nonOrganic, rejected)
	case unmogrowp.ChartRevenue:
		revenue := tl.Series("revenue")
		err = s.each(ctx, "chart_revenue", func(rows *sql.Rows) error {
			var bucket time.Time
			var v float64
			if err := rows.Scan(&bucket, &v); err != nil {
				return err
			}
			revenue.Data[tl.Index(bucket)] = unmogrowp.RoundMoney(v)
			return nil
		}, args...)
		return tl.Chart(err, revenue)
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
				series = append(series, tl.Series(name))
			}
			series[len(series)-1].Data[tl.Index(bucket)] += float64(n)
			return nil
		}, append(args, unmogrowp.ChartEventTypes)...)
		return tl.Chart(err, series...)
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
		r.ConversionRate = unmogrowp.Rate(r.Installs, r.Clicks)
		r.Revenue = unmogrowp.RoundMoney(r.Revenue)
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
	evFrom, evTo := unmogrowp.RetentionEvents(from, to)
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
// two queries: fraud.sql for the rows, rejected_installs.sql for the total.
func (s *Store) FraudReport(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.FraudReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	rep := &unmogrowp.FraudReport{Rows: []unmogrowp.FraudRow{}}
	err = s.each(ctx, "fraud", func(rows *sql.Rows) error {
		var r unmogrowp.FraudRow
		var src, reason sql.NullString
		if err := rows.Scan(&src, &reason, &r.Touchpoints, &r.Installs); err != nil {
			return err
		}
		r.MediaSource, r.Reason, r.Count = src.String, reason.String, r.Touchpoints
		rep.Rows = append(rep.Rows, r)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, "rejected_installs", func(rows *sql.Rows) error {
		return rows.Scan(&rep.RejectedInstalls)
	}, args...)
	if err != nil {
		return nil, err
	}
	return rep, nil
}
