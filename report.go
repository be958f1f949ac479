package unmogrowp

import (
	"context"
	"math"
	"slices"
	"time"
)

// Chart types of GET /api/dashboard/charts/{chart_type}.
const (
	ChartInstalls     = "installs"      // new installs per interval: series "organic", "non_organic" and "rejected"
	ChartMediaSources = "media_sources" // new installs per media source ("rejected" for rejected installs): one series "installs"
	ChartEvents       = "events"        // events per interval: one series per top event type, and "other" (no series without events)
	ChartRevenue      = "revenue"       // revenue per interval: one series "revenue"
	ChartPlatforms    = "platforms"     // new installs per platform: one series "installs"
)

// Chart intervals: the width of a time category.
const (
	IntervalHour = "hour" // categories are RFC 3339 UTC times of whole hours
	IntervalDay  = "day"  // categories are dates of the report's zone, YYYY-MM-DD
)

// ChartEventTypes is how many event types the events chart shows as their own series; the
// rest are summed in one series named ChartOtherEvents.
const ChartEventTypes = 5

// ChartOtherEvents is the name of the events chart's series for the event types beyond the
// ChartEventTypes most frequent ones.
const ChartOtherEvents = "other"

// RetentionDays is the last day after install that a retention cohort counts: retained has
// RetentionDays+1 entries, day 0 (the install day) to day RetentionDays.
const RetentionDays = 30

// Reports answers the dashboard's and the analytics API's questions about one app over a
// time range [from, to) (API.md section 2). Implementations: package duckdb (embedded)
// and package clickhouse (distributed). What counts:
//
//   - an install is an install decision that is neither a reinstall nor a re-attribution;
//     it is non-organic when attributed, organic otherwise;
//   - a rejected install is a new install that is not attributed and has rejected
//     touchpoints (ATTRIBUTION.md, match_type "rejected"): it is neither organic nor
//     non-organic, is not in installs, and counts in rejected_installs, the same number
//     in Stats, the installs chart's "rejected" series, the media_sources chart's
//     "rejected" category, the sum of the media_sources report's rejected_installs (each
//     in the row of its first rejected touchpoint) and the fraud report's total; it is in
//     no retention or LTV cohort;
//   - installs, reinstalls and rejections count by install time, clicks and impressions by
//     touch time, events, revenue, sessions and active devices by event time;
//   - revenue is the sum of the revenue of the events converted to the scope's reporting
//     currency at the rates of each event's local date (ReportScope, Money), the events
//     whose amount has no rate counted in unconverted_amounts instead; each event's counts
//     within ±MaxRevenue (beyond it, as the bound) and a stored NaN as 0, so that the sums
//     of whatever is stored stay finite;
//   - days are calendar days of the scope's zone (ReportScope.Location); from and to are
//     instants (the API turns dates into the zone's midnights);
//   - an event's media source is the one the pipeline stored with it, "" counting as
//     "organic".
//
// Every method takes zero or one ReportScope (none: UTC days, revenue summed as stored).
// Every method returns EINVALID for an empty app id, a zero from or to, or to before from;
// an app with no data gets zeros, not ENOTFOUND (the caller checks that the app exists
// and is the user's).
type Reports interface {
	// Stats returns the dashboard's totals.
	Stats(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) (*Stats, error)

	// Chart returns one of the dashboard's charts (Chart* constants) with time categories
	// of the interval (IntervalHour or IntervalDay; "" means IntervalDay) for the time
	// charts, zero-filled over [from, to). Returns EINVALID for an unknown chart type or
	// interval, or for a range with more than MaxChartPoints categories.
	Chart(ctx context.Context, appID, chartType string, from, to time.Time, interval string, sc ...ReportScope) (*Chart, error)

	// MediaSourceReport returns the media_sources report: one row per media source and
	// campaign, organic as its own row (media source "organic").
	MediaSourceReport(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) (*MediaSourceReport, error)

	// TouchpointCosts returns the cost the app's touchpoints with a cost model carry,
	// touched in [from, to), summed per local day of the touch in the scope's zone (UTC
	// without one), media source, campaign and currency, sorted by those: a CostCPC click
	// and a CostCPM impression count by Touchpoint.CostAmount, a CostCPI touchpoint once
	// when it won an install that the reports count (attributed, neither a reinstall nor
	// a re-attribution). Amounts are rounded (RoundMoney) and in their own currency.
	TouchpointCosts(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) ([]DailyCost, error)

	// RetentionReport returns the retention report: one cohort per local day of the
	// installs in [from, to), oldest first.
	RetentionReport(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) (*RetentionReport, error)

	// RetentionBreakdown returns the retention report split by q.By and kept to the
	// installs q.Filters match (retentionbreakdown.go says which dimensions an install
	// has): per group of the By dimensions' values with installs in [from, to), the
	// cohorts RetentionReport counts for those installs, assembled by RetentionBuilder.
	// Without By and filters its one row's cohorts are RetentionReport's. Returns EINVALID
	// for an invalid query (RetentionQuery.Validate).
	RetentionBreakdown(ctx context.Context, appID string, from, to time.Time, q RetentionQuery, sc ...ReportScope) (*RetentionBreakdown, error)

	// LTVReport returns the LTV report of the installs in [from, to) (ltv.go). Returns
	// EINVALID for an invalid query (LTVQuery.Validate).
	LTVReport(ctx context.Context, appID string, from, to time.Time, q LTVQuery, sc ...ReportScope) (*LTVReport, error)

	// FraudReport returns the fraud report: the rejected touchpoints of the install
	// decisions in [from, to), counted by media source and reason.
	FraudReport(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) (*FraudReport, error)

	// Breakdown counts the breakdown of q (validated: BreakdownQuery.Validate) over
	// [from, to) and, with q.Compare, over the previous period (PreviousPeriod): the facts
	// q.Counts, grouped by q.By, filtered by q.Filters (breakdown.go says which facts have
	// which dimension), events, unique devices and revenue of q.EventType only when it is
	// set; revenue converted per local day (BreakdownBuilder). Sorting, cost and paging
	// are the caller's (BreakdownCounts.Report).
	Breakdown(ctx context.Context, appID string, from, to time.Time, q BreakdownQuery, sc ...ReportScope) (*BreakdownCounts, error)
}

// MaxChartPoints caps the time categories of a chart (about 14 months of hours).
const MaxChartPoints = 10_000

// Stats are the dashboard's totals over a time range.
type Stats struct {
	Installs           int64   `json:"installs"`             // new installs: organic + non-organic (rejected ones are neither)
	OrganicInstalls    int64   `json:"organic_installs"`     // new installs not attributed and not rejected
	NonOrganicInstalls int64   `json:"non_organic_installs"` // new installs attributed to a touchpoint
	Reinstalls         int64   `json:"reinstalls"`           // install decisions with is_reinstall
	RejectedInstalls   int64   `json:"rejected_installs"`    // new installs not attributed, with rejected touchpoints
	Clicks             int64   `json:"clicks"`
	Impressions        int64   `json:"impressions"`
	ConversionRate     float64 `json:"conversion_rate"`     // non-organic installs / clicks; 0 without clicks
	Events             int64   `json:"events"`              // every stored event, install events included
	Revenue            float64 `json:"revenue"`             // sum of the events' revenue, any currency
	ActiveDevices      int64   `json:"active_devices"`      // distinct devices with an event
	Sessions           int64   `json:"sessions"`            // events of type session
	Currency           string  `json:"currency"`            // of Revenue: the scope's reporting currency
	UnconvertedAmounts int64   `json:"unconverted_amounts"` // events whose revenue had no rate (not in Revenue)
}

// Chart is a chart ready for ECharts: categories along the x axis and one data point per
// category in each series.
type Chart struct {
	Categories []string      `json:"categories"`
	Series     []ChartSeries `json:"series"`
	// Timezone is the zone whose days a day chart's categories are; "" for other charts.
	Timezone string `json:"timezone,omitempty"`
	// Currency and UnconvertedAmounts: the revenue chart's, as in Stats; absent in others.
	Currency           string `json:"currency,omitempty"`
	UnconvertedAmounts *int64 `json:"unconverted_amounts,omitempty"`
}

// ChartSeries is one named line or bar group of a Chart.
type ChartSeries struct {
	Name string    `json:"name"`
	Data []float64 `json:"data"`
}

// MediaSourceReport is the media_sources report.
type MediaSourceReport struct {
	Rows []MediaSourceRow `json:"rows"`
	// Currency is the currency of the rows' revenue and cost (the app's reporting
	// currency).
	Currency string `json:"currency"`
	// UnconvertedAmounts counts the amounts (revenue events and cost amounts) left out of
	// the rows' money for want of a rate to the report's currency.
	UnconvertedAmounts int64 `json:"unconverted_amounts"`
}

// MediaSourceRow is the media_sources report's row of one media source and campaign.
// Clicks and impressions come from touchpoints, installs from install decisions, events and
// revenue from the events stored with that media source and campaign. RejectedInstalls are
// the rejected installs (see Reports) whose first rejected touchpoint (the nearest to
// winning) is of this media source and campaign: each counts in one row, and in no row's
// installs.
type MediaSourceRow struct {
	MediaSource      string  `json:"media_source"`
	Campaign         string  `json:"campaign"`
	Clicks           int64   `json:"clicks"`
	Impressions      int64   `json:"impressions"`
	Installs         int64   `json:"installs"`
	ConversionRate   float64 `json:"conversion_rate"` // installs / clicks; 0 without clicks
	Events           int64   `json:"events"`
	Revenue          float64 `json:"revenue"`
	RejectedInstalls int64   `json:"rejected_installs"`
	// Reengagements are the re-engagements of dormant devices (ATTRIBUTION.md) this media
	// source and campaign made: decisions, not installs.
	Reengagements int64 `json:"reengagements"`
	// Cost is what the media source and campaign cost over the range, in the report's
	// currency (docs/cost.md); ECPI is Cost / Installs, nil (null) without installs; ROAS
	// is Revenue / Cost, nil (null) without cost. The analytics store leaves them zero:
	// MediaSourceReport.AddCost fills them from the cost of both stores.
	Cost float64  `json:"cost"`
	ECPI *float64 `json:"ecpi"`
	ROAS *float64 `json:"roas"`
}

// RetentionReport is the retention report.
type RetentionReport struct {
	Cohorts  []RetentionCohort `json:"cohorts"`
	Timezone string            `json:"timezone"` // whose days the cohorts' are
}

// RetentionCohort is the installs of one local day. Retained[N] is how many of the
// cohort's devices have an event on the N-th local day after their install day (day 0 is
// the install day, so the install event itself counts there); it has an entry for each
// day up to RetentionDays that has ended by the scope's now, so a day still under way is
// absent rather than 0.
type RetentionCohort struct {
	InstallDate string  `json:"install_date"` // YYYY-MM-DD
	Installs    int64   `json:"installs"`
	Retained    []int64 `json:"retained"`
}

// FraudReport is the fraud report.
type FraudReport struct {
	Rows []FraudRow `json:"rows"`
	// RejectedInstalls is how many rejected installs (see Reports) the range holds: Stats'
	// number. The rows' installs do not add up to it: an install that rejected touchpoints
	// of two sources is in both rows, and attributed installs may reject touchpoints too.
	RejectedInstalls int64 `json:"rejected_installs"`
}

// FraudRow counts the rejected touchpoints of one media source for one reason (one of
// RejectReasons): how many distinct touchpoints, and how many distinct install decisions
// rejected at least one of them.
type FraudRow struct {
	MediaSource string `json:"media_source"`
	Reason      string `json:"reason"`
	Touchpoints int64  `json:"touchpoints"`
	Installs    int64  `json:"installs"`
	// Count is Touchpoints, under the name the report had before it counted installs.
	Count int64 `json:"count"`
}

// ReportRange checks the arguments every Reports method shares: it returns an EINVALID
// *Error for an empty app id, a zero from or to, or to before from.
func ReportRange(appID string, from, to time.Time) error {
	switch {
	case appID == "":
		return Errorf(EINVALID, "app_id is required.")
	case from.IsZero() || to.IsZero():
		return Errorf(EINVALID, "from and to are required.")
	case to.Before(from):
		return Errorf(EINVALID, "to must not be before from.")
	}
	return nil
}

// Timeline lays out the time categories of a chart: the UTC hours, or the calendar days of
// the report's zone, that start in [from truncated to the interval, to). Stores fill its
// zero series from their queries' buckets, so that every chart has every category.
type Timeline struct {
	start      time.Time // a UTC hour, or a local date as midnight UTC
	step       time.Duration
	interval   string
	categories []string
}

// NewTimeline checks the interval (IntervalHour or IntervalDay; "" is a day) and lays out
// the categories: UTC hours, or the dates of loc (nil: UTC) whose days begin before to. It
// returns EINVALID for another interval, or a range of more than MaxChartPoints intervals.
func NewTimeline(from, to time.Time, interval string, loc *time.Location) (*Timeline, error) {
	if loc == nil {
		loc = time.UTC
	}
	tl := &Timeline{interval: interval, categories: []string{}}
	switch interval {
	case IntervalHour:
		tl.step = time.Hour
		tl.start = from.UTC().Truncate(time.Hour) // whole hours of UTC: the epoch is midnight
		if n := to.Sub(tl.start) / tl.step; n > MaxChartPoints {
			return nil, errTooManyPoints()
		}
		for t := tl.start; t.Before(to); t = t.Add(tl.step) {
			tl.categories = append(tl.categories, t.Format(time.RFC3339))
		}
	case IntervalDay, "":
		tl.interval, tl.step = IntervalDay, 24*time.Hour
		tl.start = LocalDay(from, loc)
		if n := to.Sub(from) / tl.step; n > MaxChartPoints {
			return nil, errTooManyPoints()
		}
		for d := tl.start; DayStart(d, loc).Before(to); d = d.AddDate(0, 0, 1) {
			tl.categories = append(tl.categories, d.Format(time.DateOnly))
		}
	default:
		return nil, Errorf(EINVALID, "Unknown interval %q: use hour or day.", interval)
	}
	return tl, nil
}

func errTooManyPoints() error {
	return Errorf(EINVALID, "The range has more than %d intervals: use a longer interval or a shorter range.", MaxChartPoints)
}

// Date returns the calendar date (as midnight UTC) that amounts of the bucket convert at:
// a day bucket is that date already; an hour bucket's is the local date its hour begins on.
func (tl *Timeline) Date(bucket time.Time, loc *time.Location) time.Time {
	if tl.interval == IntervalDay {
		return bucket.UTC()
	}
	return LocalDay(bucket, loc)
}

// Interval is the timeline's interval, IntervalHour or IntervalDay.
func (tl *Timeline) Interval() string { return tl.interval }

// Step is the length of the timeline's interval.
func (tl *Timeline) Step() time.Duration { return tl.step }

// Series returns a series of zeros, one per category.
func (tl *Timeline) Series(name string) ChartSeries {
	return ChartSeries{Name: name, Data: make([]float64, len(tl.categories))}
}

// Index returns the category of the interval that starts at bucket: a UTC hour in range,
// or a local date as midnight UTC (LocalDay), as the stores' day buckets are.
func (tl *Timeline) Index(bucket time.Time) int {
	i := int(bucket.UTC().Sub(tl.start) / tl.step)
	return min(max(i, 0), len(tl.categories)-1)
}

// Chart assembles the chart of the series, with the scope's zone if its categories are
// days, or returns err.
func (tl *Timeline) Chart(err error, sc ReportScope, series ...ChartSeries) (*Chart, error) {
	if err != nil {
		return nil, err
	}
	if series == nil {
		series = []ChartSeries{}
	}
	c := &Chart{Categories: tl.categories, Series: series}
	if tl.interval == IntervalDay {
		c.Timezone = sc.Zone()
	}
	return c, nil
}

// MoneyChart is Chart for series of money summed by m: their sums are rounded
// (RoundMoney), and the chart says their currency and how many amounts did not convert.
func (tl *Timeline) MoneyChart(err error, sc ReportScope, m *Money, series ...ChartSeries) (*Chart, error) {
	c, err := tl.Chart(err, sc, series...)
	if err != nil {
		return nil, err
	}
	for _, s := range c.Series {
		for i, v := range s.Data {
			s.Data[i] = RoundMoney(v)
		}
	}
	n := m.Unconverted
	c.Currency, c.UnconvertedAmounts = sc.Currency, &n
	return c, nil
}

// RoundMoney rounds a sum of revenue to a millionth: it drops the noise of floating-point
// addition (16.979999999999997), which would otherwise depend on the order a store's
// threads add in, so that every store gives the same answer.
// A sum too large to have digits below a millionth is returned as it is: rounding it would
// overflow (1e303 * 1e6) or only add noise.
func RoundMoney(v float64) float64 {
	if math.Abs(v) >= 1<<52/1e6 {
		return v
	}
	return math.Round(v*1e6) / 1e6
}

// Rate is n/d, 0 when d is 0: the conversion rates of the reports.
func Rate(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// ChartTypes are the chart types of Reports.Chart.
var ChartTypes = []string{ChartInstalls, ChartMediaSources, ChartEvents, ChartRevenue, ChartPlatforms}

// CheckChart returns EINVALID for a chart type not in ChartTypes, or an interval other than
// IntervalHour, IntervalDay or "" (a day): the arguments Reports.Chart refuses.
func CheckChart(chartType, interval string) error {
	switch interval {
	case IntervalHour, IntervalDay, "":
	default:
		return Errorf(EINVALID, "Unknown interval %q: use hour or day.", interval)
	}
	if !slices.Contains(ChartTypes, chartType) {
		return Errorf(EINVALID, "Unknown chart type %q: use installs, media_sources, events, revenue or platforms.", chartType)
	}
	return nil
}

// RetentionEvents returns the event times a retention report over installs in [from, to)
// reads: from the first cohort's local day to RetentionDays days after the last one's,
// whole days of loc (nil: UTC), even past to.
func RetentionEvents(from, to time.Time, loc *time.Location) (evFrom, evTo time.Time) {
	return CohortEvents(from, to, RetentionDays, loc)
}

// CohortEvents returns the event times a cohort report (retention, LTV) over installs in
// [from, to) reads to count lastDay days after install: from the first cohort's local day
// to lastDay days after the last one's, whole days of loc (nil: UTC).
func CohortEvents(from, to time.Time, lastDay int, loc *time.Location) (evFrom, evTo time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	evFrom, _ = LocalDays(from, to, loc)
	last := LocalDay(to.Add(-time.Nanosecond), loc)
	return evFrom, DayStart(last.AddDate(0, 0, lastDay+1), loc)
}
