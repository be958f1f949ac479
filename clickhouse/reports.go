package clickhouse

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unmogrowp/unmogrowp"
)

// reportSQL holds the reports' queries, one file per query named after what runs it
// (stats.sql, chart_installs.sql, ...), in ClickHouse's dialect as of 18.16: package
// duckdb keeps its own variant of each file, and both give the same answers (the shared
// golden files of storetest.RunReports).
//
//go:embed sql/*.sql
var reportSQL embed.FS

// rejectedLookback is how much older than the report's range a rejected touchpoint may be:
// the longest click lookback ATTRIBUTION.md allows (30 days), and a day to spare.
const rejectedLookback = 31 * 24 * time.Hour

// query runs the report query of the named file with its arguments ($1, $2, ...), its
// LOCAL(column) calls in the zone of shifts (zone.go; nil: UTC).
func (s *Store) query(ctx context.Context, name string, shifts []unmogrowp.ZoneShift, args ...any) (chdriver.Rows, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	q, err := reportSQL.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	rows, err := s.conn.Query(ctx, strings.Join(statements(localize(string(q), shifts)), ";"), args...)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, classify(ctx, err))
	}
	return rows, nil
}

// each runs the named query and calls fn for each row; scan errors and fn's errors end it.
func (s *Store) each(ctx context.Context, name string, fn func(chdriver.Rows) error, args ...any) error {
	return s.eachIn(ctx, name, nil, fn, args...)
}

// eachIn is each with the query's LOCAL(column) calls in the zone of shifts.
func (s *Store) eachIn(ctx context.Context, name string, shifts []unmogrowp.ZoneShift, fn func(chdriver.Rows) error, args ...any) error {
	rows, err := s.query(ctx, name, shifts, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("report %s: %w", name, classify(ctx, err))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report %s: %w", name, classify(ctx, err))
	}
	return nil
}

// rangeArgs checks the arguments every report shares and returns the app id and the
// range in Unix microseconds as query arguments ($1, $2, $3).
func rangeArgs(appID string, from, to time.Time) ([]any, error) {
	if err := unmogrowp.ReportRange(appID, from, to); err != nil {
		return nil, err
	}
	return []any{appID, ceilMicros(from), ceilMicros(to)}, nil
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
	var n [10]uint64
	err = s.each(ctx, "stats", func(rows chdriver.Rows) error {
		return rows.Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8], &n[9])
	}, args...)
	if err != nil {
		return nil, err
	}
	st := unmogrowp.Stats{
		Installs: int64(n[0]), OrganicInstalls: int64(n[1]), NonOrganicInstalls: int64(n[2]),
		Reinstalls: int64(n[3]), RejectedInstalls: int64(n[4]), Clicks: int64(n[5]),
		Impressions: int64(n[6]), Events: int64(n[7]),
		ActiveDevices: int64(n[8]), Sessions: int64(n[9]),
	}
	money := unmogrowp.NewMoney(sc)
	err = s.eachIn(ctx, "chart_revenue", sc.Shifts(from, to), func(rows chdriver.Rows) error {
		_, v, err := scanRevenue(rows, money, nil)
		st.Revenue += v
		return err
	}, append(args, int64(86400_000_000))...)
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
func scanRevenue(rows chdriver.Rows, money *unmogrowp.Money, date func(time.Time) time.Time) (time.Time, float64, error) {
	var bucket int64
	var cur string
	var sum float64
	var n uint64
	if err := rows.Scan(&bucket, &cur, &sum, &n); err != nil {
		return time.Time{}, 0, err
	}
	b := fromMicros(bucket)
	d := b
	if date != nil {
		d = date(b)
	}
	v, _ := money.Convert(sum, int64(n), cur, d)
	return b, v, nil
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
	args = append(args, tl.Step().Microseconds())
	switch chartType {
	case unmogrowp.ChartInstalls:
		organic, nonOrganic, rejected := tl.Series("organic"), tl.Series("non_organic"), tl.Series("rejected")
		err = s.eachIn(ctx, "chart_installs", shifts, func(rows chdriver.Rows) error {
			var bucket int64
			var o, n, r uint64
			if err := rows.Scan(&bucket, &o, &n, &r); err != nil {
				return err
			}
			i := tl.Index(fromMicros(bucket))
			organic.Data[i], nonOrganic.Data[i], rejected.Data[i] = float64(o), float64(n), float64(r)
			return nil
		}, args...)
		return tl.Chart(err, sc, organic, nonOrganic, rejected)
	case unmogrowp.ChartRevenue:
		revenue := tl.Series("revenue")
		money := unmogrowp.NewMoney(sc)
		date := func(b time.Time) time.Time { return tl.Date(b, sc.Location) }
		err = s.eachIn(ctx, "chart_revenue", shifts, func(rows chdriver.Rows) error {
			bucket, v, err := scanRevenue(rows, money, date)
			revenue.Data[tl.Index(bucket)] += v
			return err
		}, args...)
		return tl.MoneyChart(err, sc, money, revenue)
	default: // unmogrowp.ChartEvents
		return s.eventsChart(ctx, tl, sc, shifts, args)
	}
}

// eventsChart runs chart_events.sql and ranks its event types: the
// unmogrowp.ChartEventTypes with the most events in the range (ties by name) are a series
// each, in that order, and the others are summed in one last series,
// unmogrowp.ChartOtherEvents.
func (s *Store) eventsChart(ctx context.Context, tl *unmogrowp.Timeline, sc unmogrowp.ReportScope, shifts []unmogrowp.ZoneShift, args []any) (*unmogrowp.Chart, error) {
	type cell struct {
		i         int // category
		eventType string
		n         uint64
	}
	var cells []cell
	totals := map[string]uint64{}
	err := s.eachIn(ctx, "chart_events", shifts, func(rows chdriver.Rows) error {
		var c cell
		var bucket int64
		if err := rows.Scan(&bucket, &c.eventType, &c.n); err != nil {
			return err
		}
		c.i = tl.Index(fromMicros(bucket))
		cells = append(cells, c)
		totals[c.eventType] += c.n
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	ranked := slices.SortedFunc(maps.Keys(totals), func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b], totals[a]), strings.Compare(a, b))
	})
	rank := map[string]int{}
	var series []unmogrowp.ChartSeries
	for i, t := range ranked {
		if i == unmogrowp.ChartEventTypes {
			series = append(series, tl.Series(unmogrowp.ChartOtherEvents))
			break
		}
		rank[t] = i
		series = append(series, tl.Series(t))
	}
	for _, c := range cells {
		r, ok := rank[c.eventType]
		if !ok {
			r = len(series) - 1 // other
		}
		series[r].Data[c.i] += float64(c.n)
	}
	return tl.Chart(nil, sc, series...)
}

// categoryChart runs a query of (category, installs) rows, in order, into a chart with
// one series "installs".
func (s *Store) categoryChart(ctx context.Context, name string, args []any) (*unmogrowp.Chart, error) {
	c := &unmogrowp.Chart{Categories: []string{}, Series: []unmogrowp.ChartSeries{{Name: "installs", Data: []float64{}}}}
	err := s.each(ctx, name, func(rows chdriver.Rows) error {
		var cat string
		var n uint64
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
	err = s.each(ctx, "media_sources", func(rows chdriver.Rows) error {
		var r unmogrowp.MediaSourceRow
		var clicks, impressions, installs, events, rejected, reengagements uint64
		if err := rows.Scan(&r.MediaSource, &r.Campaign, &clicks, &impressions, &installs,
			&events, &rejected, &reengagements); err != nil {
			return err
		}
		r.Clicks, r.Impressions, r.Installs = int64(clicks), int64(impressions), int64(installs)
		r.Events, r.RejectedInstalls, r.Reengagements = int64(events), int64(rejected), int64(reengagements)
		r.ConversionRate = unmogrowp.Rate(r.Installs, r.Clicks)
		rep.Rows = append(rep.Rows, r)
		return nil
	}, append(args, ceilMicros(from.Add(-rejectedLookback)))...)
	if err != nil {
		return nil, err
	}
	money := unmogrowp.NewMoney(sc)
	rev := unmogrowp.NewRowRevenue(rep)
	err = s.eachIn(ctx, "media_sources_revenue", sc.Shifts(from, to), func(rows chdriver.Rows) error {
		var src, camp, cur string
		var day int64
		var sum float64
		var n uint64
		if err := rows.Scan(&src, &camp, &day, &cur, &sum, &n); err != nil {
			return err
		}
		if v, ok := money.Convert(sum, int64(n), cur, dayTime(day)); ok {
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

// dayTime is midnight UTC of day d since the epoch: a local date as stores return it.
func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// RetentionReport returns the retention report of the installs of the app in [from, to),
// from one query: retention.sql. The events that count are those of the cohorts' days
// up to unmogrowp.RetentionDays days after the last one, even after to; the days that
// have not ended by the scope's now are left out.
func (s *Store) RetentionReport(ctx context.Context, appID string, from, to time.Time, scopes ...unmogrowp.ReportScope) (*unmogrowp.RetentionReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	evFrom, evTo := unmogrowp.RetentionEvents(from, to, sc.Location)
	ret := unmogrowp.NewRetention(sc)
	err = s.eachIn(ctx, "retention", sc.Shifts(evFrom, evTo), func(rows chdriver.Rows) error {
		var d, dayN int64
		var installs, devices uint64
		if err := rows.Scan(&d, &installs, &dayN, &devices); err != nil {
			return err
		}
		ret.Add(dayTime(d), int64(installs), dayN, int64(devices), true)
		return nil
	}, append(args, micros(evFrom), micros(evTo), unmogrowp.RetentionDays)...)
	if err != nil {
		return nil, err
	}
	return ret.Report(), nil
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
	err = s.eachIn(ctx, "ltv", sc.Shifts(evFrom, evTo), func(rows chdriver.Rows) error {
		var kind, src, camp, cur string
		var day, n int64
		var sum float64
		var count uint64
		if err := rows.Scan(&kind, &day, &src, &camp, &n, &cur, &sum, &count); err != nil {
			return err
		}
		switch kind {
		case "i":
			b.Cohort(dayTime(day), src, camp, int64(count))
		case "r":
			b.Revenue(dayTime(day), src, camp, int(n), cur, sum, int64(count))
		case "p":
			b.Paying(dayTime(day), src, camp, int(n), int64(count))
		}
		return nil
	}, append(args, q.GroupBy, ceilMicros(evFrom), ceilMicros(evTo), int64(b.LastDay()))...)
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
	err = s.each(ctx, "fraud", func(rows chdriver.Rows) error {
		var r unmogrowp.FraudRow
		var tps, installs uint64
		if err := rows.Scan(&r.MediaSource, &r.Reason, &tps, &installs); err != nil {
			return err
		}
		r.Touchpoints, r.Installs, r.Count = int64(tps), int64(installs), int64(tps)
		rep.Rows = append(rep.Rows, r)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, "rejected_installs", func(rows chdriver.Rows) error {
		var n uint64
		err := rows.Scan(&n)
		rep.RejectedInstalls = int64(n)
		return err
	}, args...)
	if err != nil {
		return nil, err
	}
	return rep, nil
}
