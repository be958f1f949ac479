package unmogrowp

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// RetentionQuery is what the retention report split by dimensions asks
// (/api/analytics/reports/retention?by=&filter[...]=): the breakdown dimensions to split
// the cohorts by, in order, and the filters (dimension to values) the installs must
// match, several combining with AND. Every breakdown dimension applies, because the
// cohorts' installs are install decisions, which have them all (docs/breakdown.md):
// media_source to channel from the decision (organic installs as media source
// "organic"), country to os_version from its install event ("" when it has none).
type RetentionQuery struct {
	By      []string
	Filters map[string][]string
}

// Validate returns EINVALID naming the first unknown or repeated dimension of By, or an
// unknown filter or one without values, as BreakdownQuery.Validate words them. An empty By
// asks for one row without dimensions: the cohorts of the installs the filters keep.
func (q *RetentionQuery) Validate() error {
	return validateDimensions(q.By, q.Filters)
}

// FilterDims returns the query's filtered dimensions in BreakdownDimensions order, so that
// stores write their SQL the same way every time.
func (q *RetentionQuery) FilterDims() []string { return filterDims(q.Filters) }

// NeedsInstallEvent reports whether a store must join the installs with their install
// events: whether a dimension of By or of a filter is one the decision lacks (country to
// os_version).
func (q *RetentionQuery) NeedsInstallEvent() bool {
	return slices.ContainsFunc(append(q.FilterDims(), q.By...), func(d string) bool {
		return !FactHas(FactTouchpoints, d)
	})
}

// RetentionBreakdown is the retention report split by dimensions: one row per group of
// the query's By values that has installs in the range.
type RetentionBreakdown struct {
	Rows     []RetentionRow `json:"rows"`
	Timezone string         `json:"timezone"` // whose days the cohorts' are
}

// RetentionRow is one row of a RetentionBreakdown: the values of the query's By
// dimensions, and the cohorts of the installs that have them, counted as RetentionReport's
// (RetentionCohort: a day still under way is absent, not 0). In JSON it is one object:
// the dimensions in By order, then "cohorts".
type RetentionRow struct {
	By      []string
	Dims    []string
	Cohorts []RetentionCohort
}

// MarshalJSON writes the row as one object, its dimensions first in the query's order.
func (r RetentionRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, d := range r.By {
		k, _ := json.Marshal(d)
		v, _ := json.Marshal(r.Dims[i])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		b.WriteByte(',')
	}
	cohorts := r.Cohorts
	if cohorts == nil {
		cohorts = []RetentionCohort{}
	}
	c, err := json.Marshal(cohorts)
	if err != nil {
		return nil, err
	}
	b.WriteString(`"cohorts":`)
	b.Write(c)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Installs is how many installs the row's cohorts hold.
func (r RetentionRow) Installs() int64 {
	var n int64
	for _, c := range r.Cohorts {
		n += c.Installs
	}
	return n
}

// RetentionBuilder assembles a RetentionBreakdown from a store's rows of (the By
// dimensions' values, cohort day, installs, day N, devices), in cohort day order within
// each group of values, leaving out the days that have not ended by the scope's Now
// (Retention, one per row): one implementation for every store.
type RetentionBuilder struct {
	q    RetentionQuery
	sc   ReportScope
	at   map[string]int
	dims [][]string
	rets []*Retention
}

// NewRetentionBuilder starts the report of the (validated) query in the scope (Location
// and Now filled in: Scope).
func NewRetentionBuilder(q RetentionQuery, sc ReportScope) *RetentionBuilder {
	return &RetentionBuilder{q: q, sc: sc, at: map[string]int{}}
}

// Add records a row of the group of dims (the By dimensions' values, in order): the cohort
// of the local date day (as midnight UTC) with its installs, and, if hasDay, the devices
// active on day dayN after it.
func (b *RetentionBuilder) Add(dims []string, day time.Time, installs, dayN, devices int64, hasDay bool) {
	key := strings.Join(dims, "\x00")
	i, ok := b.at[key]
	if !ok {
		i = len(b.rets)
		b.at[key] = i
		b.dims = append(b.dims, slices.Clone(dims))
		b.rets = append(b.rets, NewRetention(b.sc))
	}
	b.rets[i].Add(day, installs, dayN, devices, hasDay)
}

// Report returns the report, its rows sorted by installs, most first, then by their
// dimensions' values in By order.
func (b *RetentionBuilder) Report() *RetentionBreakdown {
	rep := &RetentionBreakdown{Rows: make([]RetentionRow, 0, len(b.rets)), Timezone: b.sc.Zone()}
	for i, r := range b.rets {
		rep.Rows = append(rep.Rows, RetentionRow{By: b.q.By, Dims: b.dims[i], Cohorts: r.Report().Cohorts})
	}
	slices.SortStableFunc(rep.Rows, func(x, y RetentionRow) int {
		if c := cmp.Compare(y.Installs(), x.Installs()); c != 0 {
			return c
		}
		return slices.Compare(x.Dims, y.Dims)
	})
	return rep
}

// Whole returns the report of a query without By as a RetentionReport: its one row's
// cohorts (none when no install matches).
func (r *RetentionBreakdown) Whole() *RetentionReport {
	rep := &RetentionReport{Cohorts: []RetentionCohort{}, Timezone: r.Timezone}
	for _, row := range r.Rows {
		rep.Cohorts = append(rep.Cohorts, row.Cohorts...)
	}
	return rep
}
