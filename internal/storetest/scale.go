package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// ScaleRange is the range the scale test asks about: the last 7 days of the fixture.
func ScaleRange() (from, to time.Time) {
	to = FixtureStart.Add(FixtureSpan)
	return to.Add(-7 * 24 * time.Hour), to
}

// median returns the median of the durations.
func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// ScaleQuery is one of the dashboard's reports, asked of a store for the biggest app of
// GenerateFixture over ScaleRange.
type ScaleQuery struct {
	Name string // "stats", "chart=installs/day", "report=retention", ...
	Run  func() (any, error)
}

// ScaleQueries returns every report the dashboard asks for, bound to s, the biggest app of
// GenerateFixture and ScaleRange: what TimeReports and the stores' BenchmarkReports time.
func ScaleQueries(ctx context.Context, s ReportStore) []ScaleQuery {
	app := FixtureApps[0]
	from, to := ScaleRange()
	chart := func(c, interval string) func() (any, error) {
		return func() (any, error) { return s.Chart(ctx, app, c, from, to, interval) }
	}
	return []ScaleQuery{
		{"stats", func() (any, error) { return s.Stats(ctx, app, from, to) }},
		// The dashboard's "last 7 days" ends at the next minute: both ends are partial days.
		{"stats/rolling", func() (any, error) { return s.Stats(ctx, app, from.Add(-11*time.Hour), to.Add(-11*time.Hour)) }},
		{"chart=installs/day", chart(unmogrowp.ChartInstalls, unmogrowp.IntervalDay)},
		{"chart=installs/hour", chart(unmogrowp.ChartInstalls, unmogrowp.IntervalHour)},
		{"chart=media_sources", chart(unmogrowp.ChartMediaSources, "")},
		{"chart=events/hour", chart(unmogrowp.ChartEvents, unmogrowp.IntervalHour)},
		{"chart=revenue/day", chart(unmogrowp.ChartRevenue, unmogrowp.IntervalDay)},
		{"chart=platforms", chart(unmogrowp.ChartPlatforms, "")},
		{"report=media_sources", func() (any, error) { return s.MediaSourceReport(ctx, app, from, to) }},
		{"report=retention", func() (any, error) { return s.RetentionReport(ctx, app, from, to) }},
		{"report=fraud", func() (any, error) { return s.FraudReport(ctx, app, from, to) }},
	}
}

// TimeReports runs TimeQuery on every report of ScaleQueries.
func TimeReports(t *testing.T, s ReportStore) {
	for _, r := range ScaleQueries(context.Background(), s) {
		TimeQuery(t, r)
	}
}

// TimeQuery runs q 5 times (after one warm-up run) and logs the median, and the answer
// when it is Stats; it fails q when the median is over a second.
func TimeQuery(t *testing.T, q ScaleQuery) {
	first, err := q.Run()
	if err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	var ds []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := q.Run(); err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		ds = append(ds, time.Since(start))
	}
	m := median(ds)
	t.Logf("%-20s median %7.1f ms (runs %v)", q.Name, float64(m.Microseconds())/1000, roundAll(ds))
	if st, ok := first.(*unmogrowp.Stats); ok {
		t.Logf("  %+v", *st)
	}
	if m > time.Second {
		t.Errorf("%s: median %v, over 1s", q.Name, m)
	}
}

// roundAll rounds each duration to a millisecond, for the log.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// GenerateExportScale streams n events of one app over FixtureSpan from
// FixtureStart, in event-time order, to fn in batches of batchEvents: one device in 40 is
// new, its first event an install with a decision (a third of them attributed to a click
// with adset and channel), and the other events are sessions and purchases of earlier
// devices, with the fields an SDK sends (ids, versions, JSON event_data). It is what the
// export's scale figure reads: every row of the biggest export one request may ask for.
// fn must not keep the batch.
func GenerateExportScale(app string, n, batchEvents int, fn func(unmogrowp.Batch) error) error {
	r := rand.New(rand.NewPCG(uint64(n), 23))
	step := FixtureSpan / time.Duration(n)
	var b unmogrowp.Batch
	devices := 0
	for i := range n {
		at := FixtureStart.Add(time.Duration(i) * step).Truncate(time.Microsecond)
		e := unmogrowp.Event{
			Partition: int32(i % 4), Offset: int64(i), EventID: fmt.Sprintf("ev%012d", i), AppID: app,
			EventType: unmogrowp.EventSession, Timestamp: at, ReceivedAt: at.Add(1500 * time.Millisecond),
			Platform: unmogrowp.PlatformAndroid, OSVersion: "14", AppVersion: "2.3.1", DeviceModel: "Pixel 8",
			Country: "DE", Language: "de-DE", IP: "203.0.113.7", UserAgent: "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)",
			MediaSource: unmogrowp.MediaSourceOrganic,
		}
		if devices == 0 || i%40 == 0 {
			devices++
			e.EventType = unmogrowp.EventInstall
		}
		d := devices - 1
		if e.EventType != unmogrowp.EventInstall {
			d = r.IntN(devices)
		}
		e.DeviceID = fmt.Sprintf("device-%09d", d)
		e.GAID = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", d)
		if d%3 == 0 {
			e.MediaSource, e.Campaign = "googleadwords_int", fmt.Sprintf("campaign_%d", d%7)
		}
		if i%10 == 9 {
			e.EventType, e.Revenue, e.HasRevenue, e.Currency = "purchase", float64(d%50)+0.99, true, "EUR"
			e.EventData = json.RawMessage(fmt.Sprintf(`{"sku":"sku-%d","qty":%d}`, d%100, 1+i%3))
		}
		b.Events = append(b.Events, e)
		if e.EventType == unmogrowp.EventInstall {
			in := unmogrowp.Install{Partition: e.Partition, Offset: e.Offset, FirstInstallTime: at, Attribution: unmogrowp.Attribution{
				AppID: app, DeviceID: e.DeviceID, InstallEventID: e.EventID, InstallTime: at,
				MatchType: unmogrowp.MatchOrganic, MediaSource: unmogrowp.MediaSourceOrganic,
			}}
			if d%3 == 0 {
				in.Attributed, in.MatchType, in.TouchType = true, unmogrowp.MatchDeviceID, unmogrowp.TouchClick
				in.MediaSource, in.Campaign, in.Adset, in.Channel = e.MediaSource, e.Campaign, "adset_1", "youtube"
			}
			b.Installs = append(b.Installs, in)
		}
		if len(b.Events) == batchEvents || i == n-1 {
			if err := fn(b); err != nil {
				return err
			}
			b.Events, b.Installs = b.Events[:0], b.Installs[:0]
		}
	}
	return nil
}
