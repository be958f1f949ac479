package unmogrowp

import (
	"slices"
	"strings"
	"time"
)

// Breakdown dimensions (API.md section 4), in drill-down order. Each fact a breakdown
// counts has some of them (docs/breakdown.md):
//
//   - touchpoints (clicks, impressions) have media_source to channel, their own fields;
//   - install decisions (installs, organic_installs, reengagements) have media_source to
//     channel from the decision and country to os_version from their install event;
//   - a rejected install (rejected_installs) has media_source from its first rejected
//     touchpoint, campaign to channel from that touchpoint as stored ("" when it is not
//     found), and country to os_version from its install event;
//   - events (events, unique_devices, revenue, sessions) have media_source ("" as
//     "organic") and campaign as the pipeline stored them, and their own country to
//     os_version.
//
// A fact counts in a row whose value of a dimension it lacks is null, and a filter on a
// dimension it lacks keeps none of it.
const (
	DimMediaSource = "media_source"
	DimCampaign    = "campaign"
	DimAdset       = "adset"
	DimAd          = "ad"
	DimSiteID      = "site_id"
	DimChannel     = "channel"
	DimCountry     = "country"
	DimPlatform    = "platform"
	DimAppVersion  = "app_version"
	DimOSVersion   = "os_version"
)

// BreakdownDimensions are the dimensions a breakdown groups and filters by, in
// drill-down order.
var BreakdownDimensions = []string{
	DimMediaSource, DimCampaign, DimAdset, DimAd, DimSiteID, DimChannel,
	DimCountry, DimPlatform, DimAppVersion, DimOSVersion,
}

// Breakdown metrics.
const (
	MetricInstalls         = "installs"          // new installs (neither reinstalls nor re-attributions), not rejected
	MetricOrganicInstalls  = "organic_installs"  // the installs not attributed
	MetricClicks           = "clicks"            // click touchpoints, by touch time
	MetricImpressions      = "impressions"       // impression touchpoints, by touch time
	MetricConversionRate   = "conversion_rate"   // installs / clicks; 0 without clicks
	MetricEvents           = "events"            // events (of event_type when given), by event time
	MetricUniqueDevices    = "unique_devices"    // distinct devices among those events
	MetricRevenue          = "revenue"           // those events' revenue in the reporting currency
	MetricCost             = "cost"              // cost in the reporting currency (docs/cost.md)
	MetricECPI             = "ecpi"              // cost / installs; null without installs
	MetricROAS             = "roas"              // revenue / cost; null without cost
	MetricSessions         = "sessions"          // events of type session
	MetricRejectedInstalls = "rejected_installs" // new installs rejected (Reports)
	MetricReengagements    = "reengagements"     // re-engagement decisions (docs/breakdown.md)
)

// BreakdownMetrics are the metrics a breakdown can answer.
var BreakdownMetrics = []string{
	MetricInstalls, MetricOrganicInstalls, MetricClicks, MetricImpressions, MetricConversionRate,
	MetricEvents, MetricUniqueDevices, MetricRevenue, MetricCost, MetricECPI, MetricROAS,
	MetricSessions, MetricRejectedInstalls, MetricReengagements,
}

// DefaultBreakdownMetrics are the metrics of a breakdown that names none: the columns of
// the media_sources report.
var DefaultBreakdownMetrics = []string{
	MetricInstalls, MetricClicks, MetricImpressions, MetricConversionRate, MetricEvents,
	MetricRevenue, MetricRejectedInstalls, MetricCost, MetricECPI, MetricROAS,
}

// Breakdown limits.
const (
	DefaultBreakdownLimit = 100  // rows of a page when the request gives no limit
	MaxBreakdownLimit     = 5000 // rows of a page at most
)

// Facts a breakdown counts: the stored rows behind its metrics. Stores answer each in
// BreakdownCount.Fact.
const (
	FactTouchpoints   = 't' // clicks, impressions
	FactInstalls      = 'i' // installs, organic_installs
	FactReengagements = 'g' // reengagements: decisions of kind re-engagement
	FactRejected      = 'r' // rejected_installs
	FactEvents        = 'e' // events, sessions, revenue
	FactDevices       = 'u' // unique_devices per row
	FactDevicesTotals = 'U' // unique_devices of the whole breakdown (no dimensions)
)

// BreakdownQuery is what a breakdown asks, after Validate: the dimensions to group by in
// order, the metrics to answer in order, the filters (dimension to values), the event
// type that events, unique_devices and revenue count ("": every type), whether to compare
// with the previous period, the sort (a metric or a dimension of By, "-" prefix for
// descending) and the page.
type BreakdownQuery struct {
	By        []string
	Metrics   []string
	Filters   map[string][]string
	EventType string
	Compare   bool
	Sort      string
	Limit     int
	Offset    int // rows to skip: the page's cursor
}

// Validate fills in the defaults (By media_source, DefaultBreakdownMetrics, sort -installs
// when installs is a metric else the first metric descending, DefaultBreakdownLimit) and
// returns EINVALID naming the first unknown or repeated dimension, metric, filter or sort,
// or a limit out of 1..MaxBreakdownLimit.
func (q *BreakdownQuery) Validate() error {
	if len(q.By) == 0 {
		q.By = []string{DimMediaSource}
	}
	if err := validateDimensions(q.By, q.Filters); err != nil {
		return err
	}
	if len(q.Metrics) == 0 {
		q.Metrics = slices.Clone(DefaultBreakdownMetrics)
	}
	for i, m := range q.Metrics {
		if !slices.Contains(BreakdownMetrics, m) {
			return Errorf(EINVALID, "Unknown metric %q in metrics: use %s.", m, strings.Join(BreakdownMetrics, ", "))
		}
		if slices.Contains(q.Metrics[:i], m) {
			return Errorf(EINVALID, "Metric %q is twice in metrics.", m)
		}
	}
	if q.Sort == "" {
		q.Sort = "-" + q.Metrics[0]
		if slices.Contains(q.Metrics, MetricInstalls) {
			q.Sort = "-" + MetricInstalls
		}
	}
	if key := strings.TrimPrefix(q.Sort, "-"); !slices.Contains(q.Metrics, key) && !slices.Contains(q.By, key) {
		return Errorf(EINVALID, "Unknown sort %q: sort by one of the metrics or dimensions asked for, - in front for descending.", q.Sort)
	}
	if q.Limit == 0 {
		q.Limit = DefaultBreakdownLimit
	}
	if q.Limit < 1 || q.Limit > MaxBreakdownLimit {
		return Errorf(EINVALID, "limit must be from 1 to %d.", MaxBreakdownLimit)
	}
	if q.Offset < 0 {
		return Errorf(EINVALID, "cursor is not one this API made.")
	}
	return nil
}

// validateDimensions returns EINVALID naming the first unknown or repeated dimension of
// by, or the first (in BreakdownDimensions order) filter on an unknown dimension or
// without values: the checks of by and filter[...] that every report split by breakdown
// dimensions shares.
func validateDimensions(by []string, filters map[string][]string) error {
	for i, d := range by {
		if !slices.Contains(BreakdownDimensions, d) {
			return Errorf(EINVALID, "Unknown dimension %q in by: use %s.", d, strings.Join(BreakdownDimensions, ", "))
		}
		if slices.Contains(by[:i], d) {
			return Errorf(EINVALID, "Dimension %q is twice in by.", d)
		}
	}
	for d := range filters {
		if !slices.Contains(BreakdownDimensions, d) {
			return Errorf(EINVALID, "Unknown filter %q: filter by %s.", "filter["+d+"]", strings.Join(BreakdownDimensions, ", "))
		}
	}
	for _, d := range filterDims(filters) {
		if len(filters[d]) == 0 {
			return Errorf(EINVALID, "filter[%s] needs at least one value.", d)
		}
	}
	return nil
}

// Has reports whether the fact (Fact*) has the dimension.
func FactHas(fact byte, dim string) bool {
	i := slices.Index(BreakdownDimensions, dim)
	switch fact {
	case FactTouchpoints:
		return i >= 0 && i <= 5 // media_source .. channel
	case FactInstalls, FactRejected, FactReengagements:
		return i >= 0
	case FactEvents, FactDevices:
		return dim == DimMediaSource || dim == DimCampaign || i >= 6 // country .. os_version
	case FactDevicesTotals:
		return false
	}
	return false
}

// Counts reports whether a store must count the fact (Fact*) for the query: whether a
// metric needs it, and no filter is on a dimension it lacks (which would keep none of it).
// FactDevicesTotals is counted with FactDevices.
func (q *BreakdownQuery) Counts(fact byte) bool {
	needs := func(ms ...string) bool {
		return slices.ContainsFunc(ms, func(m string) bool { return slices.Contains(q.Metrics, m) })
	}
	var need bool
	switch fact {
	case FactTouchpoints:
		need = needs(MetricClicks, MetricImpressions, MetricConversionRate)
	case FactInstalls:
		need = needs(MetricInstalls, MetricOrganicInstalls, MetricConversionRate, MetricECPI)
	case FactReengagements:
		need = needs(MetricReengagements)
	case FactRejected:
		need = needs(MetricRejectedInstalls)
	case FactEvents:
		need = needs(MetricEvents, MetricRevenue, MetricROAS, MetricSessions)
	case FactDevices, FactDevicesTotals:
		need, fact = needs(MetricUniqueDevices), FactDevices
	}
	if !need {
		return false
	}
	for d := range q.Filters {
		if !FactHas(fact, d) {
			return false
		}
	}
	return true
}

// CountsRevenue reports whether the store must sum revenue: the events' per local day and
// currency, for BreakdownBuilder.Add to convert.
func (q *BreakdownQuery) CountsRevenue() bool {
	return slices.Contains(q.Metrics, MetricRevenue) || slices.Contains(q.Metrics, MetricROAS)
}

// CostApplies reports whether the breakdown has cost: cost is known per day, media source
// and campaign only, so a breakdown by or filtered on another dimension has none (cost,
// ecpi and roas null).
func (q *BreakdownQuery) CostApplies() bool {
	costDim := func(d string) bool { return d == DimMediaSource || d == DimCampaign }
	for d := range q.Filters {
		if !costDim(d) {
			return false
		}
	}
	return !slices.ContainsFunc(q.By, func(d string) bool { return !costDim(d) })
}

// FilterValues returns the values a store compares the fact's stored column of the
// dimension with: the filter's, plus "" for "organic" on events' media source, which
// stores an organic event's as "".
func (q *BreakdownQuery) FilterValues(fact byte, dim string) []string {
	vs := q.Filters[dim]
	if (fact == FactEvents || fact == FactDevices) && dim == DimMediaSource && slices.Contains(vs, MediaSourceOrganic) {
		return append(slices.Clone(vs), "")
	}
	return vs
}

// FilterDims returns the query's filtered dimensions in BreakdownDimensions order, so that
// stores write their SQL the same way every time.
func (q *BreakdownQuery) FilterDims() []string { return filterDims(q.Filters) }

// filterDims returns the dimensions of filters that are BreakdownDimensions, in their
// order.
func filterDims(filters map[string][]string) []string {
	var ds []string
	for _, d := range BreakdownDimensions {
		if _, ok := filters[d]; ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// PreviousPeriod returns the range of the same length just before [from, to).
func PreviousPeriod(from, to time.Time) (time.Time, time.Time) {
	return from.Add(-to.Sub(from)), from
}

// ScanRange returns the range a store reads for the query over [from, to): the previous
// period too when the query compares.
func (q *BreakdownQuery) ScanRange(from, to time.Time) (time.Time, time.Time) {
	if q.Compare {
		from, _ = PreviousPeriod(from, to)
	}
	return from, to
}
