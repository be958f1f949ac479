package unmogrowp

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// BreakdownTotals are the numbers a breakdown counts for one row (or the whole breakdown)
// in one period, from which its metrics follow (BreakdownCounts.Report).
type BreakdownTotals struct {
	Clicks, Impressions             int64
	Installs, OrganicInstalls       int64
	RejectedInstalls, Reengagements int64
	Events, Sessions, UniqueDevices int64
	Revenue                         float64 // converted to the scope's currency, rounded (RoundMoney)
}

func (t *BreakdownTotals) add(u BreakdownTotals) {
	t.Clicks += u.Clicks
	t.Impressions += u.Impressions
	t.Installs += u.Installs
	t.OrganicInstalls += u.OrganicInstalls
	t.RejectedInstalls += u.RejectedInstalls
	t.Reengagements += u.Reengagements
	t.Events += u.Events
	t.Sessions += u.Sessions
	t.UniqueDevices += u.UniqueDevices
	t.Revenue += u.Revenue
}

// BreakdownCount is one row of a breakdown as a store counts it: its dimensions' values in
// the query's By order (nil: a dimension the row's facts lack) and its numbers in the
// range (Period[0]) and in the previous period (Period[1], zero without Compare).
type BreakdownCount struct {
	Dims   []*string
	Period [2]BreakdownTotals
}

// BreakdownCounts is what Reports.Breakdown answers: the rows in no particular order, the
// totals of each period (unique devices counted over the whole breakdown, not summed),
// and how many revenue amounts had no rate.
type BreakdownCounts struct {
	Rows               []BreakdownCount
	Totals             [2]BreakdownTotals
	UnconvertedAmounts int64
}

// BreakdownFact is one row a store's breakdown query returns: counts of one fact (Fact*)
// for one group of the query's By dimensions (stored values, in By order; those the fact
// lacks are ignored) in one period (0: the range, 1: the previous period). N1 and N2
// are, by fact: clicks and impressions; installs and organic installs; rejected
// installs; events and sessions; unique devices. An events row with revenue has the sum
// of Amounts amounts in Currency on the local Day (a date as midnight UTC).
type BreakdownFact struct {
	Fact     byte
	Period   int
	Dims     []string
	N1, N2   int64
	Revenue  float64
	Amounts  int64
	Currency string
	Day      time.Time
}

// BreakdownBuilder assembles BreakdownCounts from a store's BreakdownFacts: one
// implementation of the rows' merging, nulls and revenue conversion for every store.
type BreakdownBuilder struct {
	q     BreakdownQuery
	money *Money
	rows  map[string]int
	out   BreakdownCounts
}

// NewBreakdownBuilder starts the counts of the (validated) query in the scope.
func NewBreakdownBuilder(q BreakdownQuery, sc ReportScope) *BreakdownBuilder {
	return &BreakdownBuilder{q: q, money: NewMoney(sc), rows: map[string]int{}, out: BreakdownCounts{Rows: []BreakdownCount{}}}
}

// Add records one row of a store's query.
func (b *BreakdownBuilder) Add(f BreakdownFact) {
	if f.Period != 1 {
		f.Period = 0
	}
	var t BreakdownTotals
	switch f.Fact {
	case FactTouchpoints:
		t.Clicks, t.Impressions = f.N1, f.N2
	case FactInstalls:
		t.Installs, t.OrganicInstalls = f.N1, f.N2
	case FactRejected:
		t.RejectedInstalls = f.N1
	case FactReengagements:
		t.Reengagements = f.N1
	case FactEvents:
		t.Events, t.Sessions = f.N1, f.N2
		if f.Amounts > 0 {
			t.Revenue, _ = b.money.Convert(f.Revenue, f.Amounts, f.Currency, f.Day)
		}
	case FactDevices:
		t.UniqueDevices = f.N1
	case FactDevicesTotals:
		b.out.Totals[f.Period].UniqueDevices += f.N1
		return
	}
	dims := make([]*string, len(b.q.By))
	var key strings.Builder
	for i, d := range b.q.By {
		if !FactHas(f.Fact, d) || i >= len(f.Dims) {
			key.WriteString("\x00n")
			continue
		}
		v := f.Dims[i]
		if d == DimMediaSource && v == "" && (f.Fact == FactEvents || f.Fact == FactDevices) {
			v = MediaSourceOrganic
		}
		dims[i] = &v
		key.WriteString("\x00v")
		key.WriteString(v)
	}
	i, ok := b.rows[key.String()]
	if !ok {
		i = len(b.out.Rows)
		b.rows[key.String()] = i
		b.out.Rows = append(b.out.Rows, BreakdownCount{Dims: dims})
	}
	b.out.Rows[i].Period[f.Period].add(t)
	t.UniqueDevices = 0 // the totals' come from FactDevicesTotals
	b.out.Totals[f.Period].add(t)
}

// Counts returns the counts, revenue rounded (RoundMoney).
func (b *BreakdownBuilder) Counts() *BreakdownCounts {
	for i := range b.out.Rows {
		for p := range b.out.Rows[i].Period {
			b.out.Rows[i].Period[p].Revenue = RoundMoney(b.out.Rows[i].Period[p].Revenue)
		}
	}
	for p := range b.out.Totals {
		b.out.Totals[p].Revenue = RoundMoney(b.out.Totals[p].Revenue)
	}
	b.out.UnconvertedAmounts = b.money.Unconverted
	return &b.out
}

// Breakdown is the answer of GET /api/analytics/reports/breakdown (API.md section 4).
type Breakdown struct {
	Rows   []BreakdownRow `json:"rows"`
	Totals BreakdownRow   `json:"totals"` // no dimensions
	// Currency is the currency of revenue and cost, Timezone the zone whose days cost and
	// revenue convert at.
	Currency string `json:"currency"`
	Timezone string `json:"timezone"`
	// UnconvertedAmounts counts the amounts (revenue events and cost) left out of the
	// money for want of a rate, in both periods.
	UnconvertedAmounts int64 `json:"unconverted_amounts"`
	// NextCursor is the cursor of the next page, null on the last.
	NextCursor *string `json:"next_cursor"`
}

// BreakdownRow is a row of a Breakdown: its dimensions, then its metrics, in the query's
// order, as one JSON object; with Compare, "previous" and "change" objects of the same
// metrics. A nil value is JSON null.
type BreakdownRow struct {
	By       []string
	Dims     []*string
	Metrics  []string
	Values   []*float64
	Previous []*float64 // nil without Compare
	Change   []*float64
}

// MarshalJSON writes the row as one object, its keys in the query's order.
func (r BreakdownRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	put := func(k string, v any) error {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(v)
		b.Write(vb)
		return err
	}
	object := func(vals []*float64) json.RawMessage {
		var o bytes.Buffer
		o.WriteByte('{')
		for i, m := range r.Metrics {
			if i > 0 {
				o.WriteByte(',')
			}
			kb, _ := json.Marshal(m)
			vb, _ := json.Marshal(vals[i])
			o.Write(kb)
			o.WriteByte(':')
			o.Write(vb)
		}
		o.WriteByte('}')
		return o.Bytes()
	}
	for i, d := range r.By {
		if err := put(d, r.Dims[i]); err != nil {
			return nil, err
		}
	}
	for i, m := range r.Metrics {
		if err := put(m, r.Values[i]); err != nil {
			return nil, err
		}
	}
	if r.Previous != nil {
		if err := put("previous", object(r.Previous)); err != nil {
			return nil, err
		}
		if err := put("change", object(r.Change)); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// BreakdownCost is the cost of a breakdown's periods per CampaignDay in the reporting
// currency (CostSources.Daily), with how many amounts had no rate; nil when the
// breakdown has none (BreakdownQuery.CostApplies false).
type BreakdownCost struct {
	Period      [2]map[CampaignDay]float64
	Unconverted int64
}

// Report turns the counts of the (validated) query into its Breakdown: each row's metrics
// (and, with Compare, the previous period's and the change), cost added per media source
// and campaign (a row of zeros for cost without counts; cost, ecpi and roas null without
// cost), rows sorted by q.Sort (nulls last; ties by the dimensions, nulls last) and the
// page of q.Offset and q.Limit cut. next is the offset of the next page, -1 on the last.
func (c *BreakdownCounts) Report(q BreakdownQuery, cost *BreakdownCost, sc ReportScope) (rep *Breakdown, next int) {
	rows := slices.Clone(c.Rows)
	var rowCost [][2]float64
	if cost != nil {
		rows, rowCost = addBreakdownCost(rows, q, cost)
	}
	rep = &Breakdown{Rows: make([]BreakdownRow, 0, len(rows)), Currency: sc.Currency, Timezone: sc.Zone(), UnconvertedAmounts: c.UnconvertedAmounts}
	costOf := func(i, p int) *float64 {
		if cost == nil {
			return nil
		}
		if i < 0 {
			v := 0.0
			for _, rc := range rowCost {
				v += rc[p]
			}
			v = RoundMoney(v)
			return &v
		}
		v := rowCost[i][p]
		return &v
	}
	row := func(dims []*string, periods [2]BreakdownTotals, i int) BreakdownRow {
		r := BreakdownRow{By: q.By, Dims: dims, Metrics: q.Metrics, Values: breakdownValues(q.Metrics, periods[0], costOf(i, 0))}
		if q.Compare {
			r.Previous = breakdownValues(q.Metrics, periods[1], costOf(i, 1))
			r.Change = make([]*float64, len(q.Metrics))
			for k := range q.Metrics {
				cur, prev := r.Values[k], r.Previous[k]
				if cur != nil && prev != nil && *prev != 0 {
					v := RoundMoney((*cur - *prev) / *prev)
					r.Change[k] = &v
				}
			}
		}
		return r
	}
	for i, r := range rows {
		rep.Rows = append(rep.Rows, row(r.Dims, r.Period, i))
	}
	rep.Totals = row(nil, c.Totals, -1)
	rep.Totals.By, rep.Totals.Dims = nil, nil
	if cost != nil {
		rep.UnconvertedAmounts += cost.Unconverted
	}
	sortBreakdown(rep.Rows, q)
	next = -1
	start := min(q.Offset, len(rep.Rows))
	end := min(start+q.Limit, len(rep.Rows))
	if end < len(rep.Rows) {
		next = end
	}
	rep.Rows = rep.Rows[start:end]
	return rep, next
}

// addBreakdownCost returns the rows with the cost of each period per row (rows added for
// cost without counts), cost matched on the rows' media source and campaign as By and
// the filters have them.
func addBreakdownCost(rows []BreakdownCount, q BreakdownQuery, cost *BreakdownCost) ([]BreakdownCount, [][2]float64) {
	at := map[string]int{}
	keyOf := func(cd CampaignDay) (string, []*string) {
		var k strings.Builder
		dims := make([]*string, len(q.By))
		for i, d := range q.By {
			v := cd.MediaSource
			if d == DimCampaign {
				v = cd.Campaign
			}
			dims[i] = &v
			k.WriteString("\x00v" + v)
		}
		return k.String(), dims
	}
	for i, r := range rows {
		var k strings.Builder
		for _, v := range r.Dims {
			if v == nil {
				k.WriteString("\x00n")
				continue
			}
			k.WriteString("\x00v" + *v)
		}
		at[k.String()] = i
	}
	rowCost := make([][2]float64, len(rows))
	for p, days := range cost.Period {
		for cd, v := range days {
			if vs, ok := q.Filters[DimMediaSource]; ok && !slices.Contains(vs, cd.MediaSource) {
				continue
			}
			if vs, ok := q.Filters[DimCampaign]; ok && !slices.Contains(vs, cd.Campaign) {
				continue
			}
			k, dims := keyOf(cd)
			i, ok := at[k]
			if !ok {
				i = len(rows)
				at[k] = i
				rows = append(rows, BreakdownCount{Dims: dims})
				rowCost = append(rowCost, [2]float64{})
			}
			rowCost[i][p] += v
		}
	}
	for i := range rowCost {
		rowCost[i][0], rowCost[i][1] = RoundMoney(rowCost[i][0]), RoundMoney(rowCost[i][1])
	}
	return rows, rowCost
}

// breakdownValues returns the metrics of t with cost (nil: none), in order.
func breakdownValues(metrics []string, t BreakdownTotals, cost *float64) []*float64 {
	vals := make([]*float64, len(metrics))
	num := func(v float64) *float64 { return &v }
	for i, m := range metrics {
		switch m {
		case MetricInstalls:
			vals[i] = num(float64(t.Installs))
		case MetricOrganicInstalls:
			vals[i] = num(float64(t.OrganicInstalls))
		case MetricClicks:
			vals[i] = num(float64(t.Clicks))
		case MetricImpressions:
			vals[i] = num(float64(t.Impressions))
		case MetricConversionRate:
			vals[i] = num(RoundMoney(Rate(t.Installs, t.Clicks)))
		case MetricEvents:
			vals[i] = num(float64(t.Events))
		case MetricUniqueDevices:
			vals[i] = num(float64(t.UniqueDevices))
		case MetricRevenue:
			vals[i] = num(t.Revenue)
		case MetricSessions:
			vals[i] = num(float64(t.Sessions))
		case MetricRejectedInstalls:
			vals[i] = num(float64(t.RejectedInstalls))
		case MetricReengagements:
			vals[i] = num(float64(t.Reengagements))
		case MetricCost:
			vals[i] = cost
		case MetricECPI:
			if cost != nil && t.Installs > 0 {
				vals[i] = num(RoundMoney(*cost / float64(t.Installs)))
			}
		case MetricROAS:
			if cost != nil && *cost > 0 {
				vals[i] = num(RoundMoney(t.Revenue / *cost))
			}
		}
	}
	return vals
}

// sortBreakdown sorts rows by q.Sort, nulls last whichever the direction, ties by the
// dimensions in By order (ascending, nulls last).
func sortBreakdown(rows []BreakdownRow, q BreakdownQuery) {
	key, desc := strings.CutPrefix(q.Sort, "-")
	metric, dim := slices.Index(q.Metrics, key), slices.Index(q.By, key)
	nullsLast := func(a, b bool) int { // a, b: is null
		switch {
		case a && b:
			return 0
		case a:
			return 1
		case b:
			return -1
		}
		return 0
	}
	dir := func(c int) int {
		if desc {
			return -c
		}
		return c
	}
	cmpDim := func(a, b *string) int {
		if a == nil || b == nil {
			return nullsLast(a == nil, b == nil)
		}
		return cmp.Compare(*a, *b)
	}
	slices.SortStableFunc(rows, func(a, b BreakdownRow) int {
		var c int
		if metric >= 0 {
			x, y := a.Values[metric], b.Values[metric]
			if x == nil || y == nil {
				c = nullsLast(x == nil, y == nil)
			} else {
				c = dir(cmp.Compare(*x, *y))
			}
		} else if x, y := a.Dims[dim], b.Dims[dim]; x == nil || y == nil {
			c = nullsLast(x == nil, y == nil)
		} else {
			c = dir(cmp.Compare(*x, *y))
		}
		if c != 0 {
			return c
		}
		for i := range a.Dims {
			if c := cmpDim(a.Dims[i], b.Dims[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}
