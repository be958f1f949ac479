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

// query runs the report query of the named file with its arguments ($1, $2, ...).
func (s *Store) query(ctx context.Context, name string, args ...any) (chdriver.Rows, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	q, err := reportSQL.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, err)
	}
	rows, err := s.conn.Query(ctx, strings.Join(statements(string(q)), ";"), args...)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", name, classify(ctx, err))
	}
	return rows, nil
}

// each runs the named query and calls fn for each row; scan errors and fn's errors end it.
func (s *Store) each(ctx context.Context, name string, fn func(chdriver.Rows) error, args ...any) error {
	rows, err := s.query(ctx, name, args...)
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
// for what counts), from one query: stats.sql.
func (s *Store) Stats(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.Stats, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	var n [10]uint64
	var revenue float64
	err = s.each(ctx, "stats", func(rows chdriver.Rows) error {
		return rows.Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &revenue, &n[8], &n[9])
	}, args...)
	if err != nil {
		return nil, err
	}
	st := unmogrowp.Stats{
		Installs: int64(n[0]), OrganicInstalls: int64(n[1]), NonOrganicInstalls: int64(n[2]),
		Reinstalls: int64(n[3]), RejectedInstalls: int64(n[4]), Clicks: int64(n[5]),
		Impressions: int64(n[6]), Events: int64(n[7]), Revenue: unmogrowp.RoundMoney(revenue),
		ActiveDevices: int64(n[8]), Sessions: int64(n[9]),
	}
	st.ConversionRate = unmogrowp.Rate(st.NonOrganicInstalls, st.Clicks)
	return &st, nil
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
	args = append(args, tl.Step().Microseconds())
	switch chartType {
	case unmogrowp.ChartInstalls:
		organic, nonOrganic, rejected := tl.Series("organic"), tl.Series("non_organic"), tl.Series("rejected")
		err = s.each(ctx, "chart_installs", func(rows chdriver.Rows) error {
			var bucket int64
			var o, n, r uint64
			if err := rows.Scan(&bucket, &o, &n, &r); err != nil {
				return err
			}
			i := tl.Index(fromMicros(bucket))
			organic.Data[i], nonOrganic.Data[i], rejected.Data[i] = float64(o), float64(n), float64(r)
			return nil
		}, args...)
		return tl.Chart(err, organic, nonOrganic, rejected)
	case unmogrowp.ChartRevenue:
		revenue := tl.Series("revenue")
		err = s.each(ctx, "chart_revenue", func(rows chdriver.Rows) error {
			var bucket int64
			var v float64
			if err := rows.Scan(&bucket, &v); err != nil {
				return err
			}
			revenue.Data[tl.Index(fromMicros(bucket))] = unmogrowp.RoundMoney(v)
			return nil
		}, args...)
		return tl.Chart(err, revenue)
	default: // unmogrowp.ChartEvents
		return s.eventsChart(ctx, tl, args)
	}
}

// eventsChart runs chart_events.sql and ranks its event types: the
// unmogrowp.ChartEventTypes with the most events in the range (ties by name) are a series
// each, in that order, and the others are summed in one last series,
// unmogrowp.ChartOtherEvents.
func (s *Store) eventsChart(ctx context.Context, tl *unmogrowp.Timeline, args []any) (*unmogrowp.Chart, error) {
	type cell struct {
		i         int // category
		eventType string
		n         uint64
	}
	var cells []cell
	totals := map[string]uint64{}
	err := s.each(ctx, "chart_events", func(rows chdriver.Rows) error {
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
	return tl.Chart(nil, series...)
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

// MediaSourceReport returns the media_sources report of the app over [from, to), from one
// query: media_sources.sql.
func (s *Store) MediaSourceReport(ctx context.Context, appID string, from, to time.Time) (*unmogrowp.MediaSourceReport, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	rep := &unmogrowp.MediaSourceReport{Rows: []unmogrowp.MediaSourceRow{}}
	err = s.each(ctx, "media_sources", func(rows chdriver.Rows) error {
		var r unmogrowp.MediaSourceRow
		var clicks, impressions, installs, events, rejected uint64
		if err := rows.Scan(&r.MediaSource, &r.Campaign, &clicks, &impressions, &installs,
			&events, &r.Revenue, &rejected); err != nil {
			return err
		}
		r.Clicks, r.Impressions, r.Installs = int64(clicks), int64(impressions), int64(installs)
		r.Events, r.RejectedInstalls = int64(events), int64(rejected)
		r.ConversionRate = unmogrowp.Rate(r.Installs, r.Clicks)
		r.Revenue = unmogrowp.RoundMoney(r.Revenue)
		rep.Rows = append(rep.Rows, r)
		return nil
	}, append(args, ceilMicros(from.Add(-rejectedLookback)))...)
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
	err = s.each(ctx, "retention", func(rows chdriver.Rows) error {
		var d, dayN int64
		var installs, devices uint64
		if err := rows.Scan(&d, &installs, &dayN, &devices); err != nil {
			return err
		}
		date := time.Unix(d*86400, 0).UTC().Format(time.DateOnly) // d is a day number
		if n := len(rep.Cohorts); n == 0 || rep.Cohorts[n-1].InstallDate != date {
			rep.Cohorts = append(rep.Cohorts, unmogrowp.RetentionCohort{
				InstallDate: date, Installs: int64(installs), Retained: make([]int64, unmogrowp.RetentionDays+1),
			})
		}
		if dayN >= 0 && dayN <= unmogrowp.RetentionDays {
			rep.Cohorts[len(rep.Cohorts)-1].Retained[dayN] = int64(devices)
		}
		return nil
	}, append(args, micros(evFrom), micros(evTo), unmogrowp.RetentionDays)...)
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
