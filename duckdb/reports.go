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

// query runs the report query of the named file with its arguments, its LOCAL(column)
// calls in the zone of shifts (zone.go; nil: UTC).
func (s *Store) query(ctx context.Context, name string, shifts []unmogrowp.ZoneShift, args ...any) (*sql.Rows, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	q, err := reportSQL.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	rows, err := s.db.QueryContext(ctx, localize(string(q), shifts), args...)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, withCtx(ctx, err))
	}
	return rows, nil
}

// each runs the named query and calls fn for each row; scan errors and fn's errors end it.
func (s *Store) each(ctx context.Context, name string, fn func(*sql.Rows) error, args ...any) error {
	return s.eachIn(ctx, name, nil, fn, args...)
}

// eachIn is each with the query's LOCAL(column) calls in the zone of shifts.
func (s *Store) eachIn(ctx context.Context, name string, shifts []unmogrowp.ZoneShift, fn func(*sql.Rows) error, args ...any) error {
	rows, err := s.query(ctx, name, shifts, args...)
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
// for what counts) from stats.sql, and its revenue converted per local day and currency
// from chart_revenue.sql.
func (s *Store) Stats(ctx context.Context, appID string, from, to time.Time, scopes ...unmogrowp.ReportScope) (*unmogrowp.Stats, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	fullFrom, fullTo := wholeDays(args[1].(time.Time), args[2].(time.Time))
	var st unmogrowp.Stats
	err = s.each(ctx, "stats", func(rows *sql.Rows) error {
		return rows.Scan(&st.Installs, &st.OrganicInstalls, &st.NonOrganicInstalls, &st.Reinstalls,
			&st.RejectedInstalls, &st.Clicks, &st.Impressions, &st.Events,
			&st.ActiveDevices, &st.Sessions)
	}, append(args, fullFrom, fullTo)...)
	if err != nil {
		return nil, err
	}
	money := unmogrowp.NewMoney(sc)
	err = s.eachIn(ctx, "chart_revenue", sc.Shifts(from, to), func(rows *sql.Rows) error {
		_, sum, err := scanRevenue(rows, money, nil)
		st.Revenue += sum
		return err
	}, append(args, unmogrowp.IntervalDay)...)
	if err != nil {
		return nil, err
	}
	st.ConversionRate = unmogrowp.Rate(st.NonOrganicInstalls, st.Clicks)
	st.Revenue = unmogrowp.RoundMoney(st.Revenue)
	st.Currency, st.UnconvertedAmounts = sc.Currency, money.Unconverted
	return &st, nil
}

// scanRevenue scans a row of (bucket, currency, sum, amounts) and converts the sum at the
// bucket's date (date(bucket), or the bucket itself for nil: a day), returning the bucket
// and the converted sum (0 if it did not convert: money counted it).
func scanRevenue(rows *sql.Rows, money *unmogrowp.Money, date func(time.Time) time.Time) (time.Time, float64, error) {
	var bucket time.Time
	var cur string
	var sum float64
	var n int64
	if err := rows.Scan(&bucket, &cur, &sum, &n); err != nil {
		return time.Time{}, 0, err
	}
	d := bucket
	if date != nil {
		d = date(bucket)
	}
	v, _ := money.Convert(sum, n, cur, d)
	return bucket, v, nil
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
// return the intervals that have data. Day charts' days are the scope's zone's; the
// revenue chart converts each interval's amounts at its date.
func (s *Store) Chart(ctx context.Context, appID, chartType string, from, to time.Time, interval string, scopes ...unmogrowp.ReportScope) (*unmogrowp.Chart, error) {
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
	sc := unmogrowp.Scope(scopes...)
	tl, err := unmogrowp.NewTimeline(from, to, interval, sc.Location)
	if err != nil {
		return nil, err
	}
	var shifts []unmogrowp.ZoneShift // hours are UTC's
	if tl.Interval() == unmogrowp.IntervalDay {
		shifts = sc.Shifts(from, to)
	}
	args = append(args, tl.Interval())
	switch chartType {
	case unmogrowp.ChartInstalls:
		organic, nonOrganic, rejected := tl.Series("organic"), tl.Series("non_organic"), tl.Series("rejected")
		err = s.eachIn(ctx, "chart_installs", shifts, func(rows *sql.Rows) error {
			var bucket time.Time
			var o, n, r int64
			if err := rows.Scan(&bucket, &o, &n, &r); err != nil {
				return err
			}
			i := tl.Index(bucket)
			organic.Data[i], nonOrganic.Data[i], rejected.Data[i] = float64(o), float64(n), float64(r)
			return nil
		}, args...)
		return tl.Chart(err, sc, organic, nonOrganic, rejected)
	case unmogrowp.ChartRevenue:
		revenue := tl.Series("revenue")
		money := unmogrowp.NewMoney(sc)
		date := func(b time.Time) time.Time { return tl.Date(b, sc.Location) }
		err = s.eachIn(ctx, "chart_revenue", shifts, func(rows *sql.Rows) error {
			bucket, v, err := scanRevenue(rows, money, date)
			revenue.Data[tl.Index(bucket)] += v
			return err
		}, args...)
		return tl.MoneyChart(err, sc, money, revenue)
	default: // unmogrowp.ChartEvents
		var series []unmogrowp.ChartSeries // in rank order
		err = s.eachIn(ctx, "chart_events", shifts, func(rows *sql.Rows) error {
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
		return tl.Chart(err, sc, series...)
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

// MediaSourceReport returns the media_sources report of the app over [from, to), from
// media_sources.sql, with each row's revenue converted per local day and currency from
// media_sources_revenue.sql.
func (s *Store) MediaSourceReport(ctx context.Context, appID string, from, to time.Time, scopes ...unmogrowp.ReportScope) (*unmogrowp.MediaSourceReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	rep := &unmogrowp.MediaSourceReport{Rows: []unmogrowp.MediaSourceRow{}, Currency: sc.Currency}
	err = s.each(ctx, "media_sources", func(rows *sql.Rows) error {
		var r unmogrowp.MediaSourceRow
		if err := rows.Scan(&r.MediaSource, &r.Campaign, &r.Clicks, &r.Impressions, &r.Installs,
			&r.Events, &r.RejectedInstalls, &r.Reengagements); err != nil {
			return err
		}
		r.ConversionRate = unmogrowp.Rate(r.Installs, r.Clicks)
		rep.Rows = append(rep.Rows, r)
		return nil
	}, append(args, ceilMicro(from.Add(-rejectedLookback)))...)
	if err != nil {
		return nil, err
	}
	money := unmogrowp.NewMoney(sc)
	rev := unmogrowp.NewRowRevenue(rep)
	err = s.eachIn(ctx, "media_sources_revenue", sc.Shifts(from, to), func(rows *sql.Rows) error {
		var src, camp, cur string
		var day time.Time
		var sum float64
		var n int64
		if err := rows.Scan(&src, &camp, &day, &cur, &sum, &n); err != nil {
			return err
		}
		if v, ok := money.Convert(sum, n, cur, day); ok {
			rev.Add(src, camp, v)
		}
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	rev.Done()
	rep.UnconvertedAmounts = money.Unconverted
	return rep, nil
}

// LTVReport returns the LTV report of the installs of the app in [from, to), from one
// query: ltv.sql, whose rows unmogrowp.LTVBuilder assembles and converts.
func (s *Store) LTVReport(ctx context.Context, appID string, from, to time.Time, q unmogrowp.LTVQuery, scopes ...unmogrowp.ReportScope) (*unmogrowp.LTVReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	b := unmogrowp.NewLTVBuilder(q, sc)
	evFrom, evTo := unmogrowp.CohortEvents(from, to, b.LastDay(), sc.Location)
	err = s.eachIn(ctx, "ltv", sc.Shifts(evFrom, evTo), func(rows *sql.Rows) error {
		var kind, src, camp string
		var day time.Time
		var n sql.NullInt64
		var cur sql.NullString
		var sum sql.NullFloat64
		var count int64
		if err := rows.Scan(&kind, &day, &src, &camp, &n, &cur, &sum, &count); err != nil {
			return err
		}
		switch kind {
		case "i":
			b.Cohort(day, src, camp, count)
		case "r":
			b.Revenue(day, src, camp, int(n.Int64), cur.String, sum.Float64, count)
		case "p":
			b.Paying(day, src, camp, int(n.Int64), count)
		}
		return nil
	}, append(args, q.GroupBy, ceilMicro(evFrom), ceilMicro(evTo), b.LastDay())...)
	if err != nil {
		return nil, err
	}
	return b.Report(), nil
}

// FraudReport returns the fraud report of the app's install decisions in [from, to), from
// two queries: fraud.sql for the rows, rejected_installs.sql for the total.
func (s *Store) FraudReport(ctx context.Context, appID string, from, to time.Time, _ ...unmogrowp.ReportScope) (*unmogrowp.FraudReport, error) {
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
