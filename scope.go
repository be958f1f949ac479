package unmogrowp

import (
	"regexp"
	"strings"
	"time"
)

// ReportScope is how a report presents an app's data (docs/money.md): the days of its time
// zone and the money of its reporting currency. The zero value is UTC days and revenue
// summed as stored, whatever its currency.
type ReportScope struct {
	// Location is the app's time zone: days (of day charts, cohorts, and the dates amounts
	// convert at) are its calendar days. nil: UTC.
	Location *time.Location
	// Currency is the reporting currency: revenue converts to it at each amount's date,
	// and an amount that cannot is counted in UnconvertedAmounts instead of summed. "":
	// no conversion, amounts summed as stored.
	Currency string
	// Rates convert amounts; nil: only those already in Currency count.
	Rates Converter
	// Now is the report's present: the days of a cohort that have not ended by then are
	// left out of retention and LTV. Zero: the clock's now.
	Now time.Time
}

// Scope returns the first of scopes, which Reports methods take zero or one of, with
// Location and Now filled in (UTC, the clock's now).
func Scope(scopes ...ReportScope) ReportScope {
	var sc ReportScope
	if len(scopes) > 0 {
		sc = scopes[0]
	}
	if sc.Location == nil {
		sc.Location = time.UTC
	}
	if sc.Now.IsZero() {
		sc.Now = time.Now()
	}
	return sc
}

// Zone returns the scope's zone name as reports answer it ("UTC" for nil).
func (sc ReportScope) Zone() string {
	if sc.Location == nil {
		return "UTC"
	}
	return sc.Location.String()
}

// ZoneShift is one stretch of a time zone's offset: from Start until the next shift's
// Start, local time is UTC plus Offset.
type ZoneShift struct {
	Start  time.Time
	Offset time.Duration
}

// ZoneShifts returns the offsets of loc over [from, to), the first one starting at from:
// one shift for a zone without transitions in the range, one more after each daylight
// saving change. Stores turn them into SQL (a CASE over the time) that moves a UTC time
// into the zone's wall-clock time, so that a day bucket of the result is a local day; the
// offsets come from Go's time zone database, the same for every store.
func ZoneShifts(loc *time.Location, from, to time.Time) []ZoneShift {
	if loc == nil {
		loc = time.UTC
	}
	var out []ZoneShift
	for t := from; ; {
		lt := t.In(loc)
		_, off := lt.Zone()
		out = append(out, ZoneShift{Start: t, Offset: time.Duration(off) * time.Second})
		_, end := lt.ZoneBounds()
		if end.IsZero() || !end.Before(to) || len(out) > 1000 {
			return out
		}
		t = end
	}
}

// Shifts returns the offsets of the scope's zone (ZoneShifts) over [from, to) and a day
// either side, which covers every time a store's report query over that range reads.
func (sc ReportScope) Shifts(from, to time.Time) []ZoneShift {
	return ZoneShifts(sc.Location, from.Add(-24*time.Hour), to.Add(24*time.Hour))
}

// LocalDay returns the calendar date of t in loc as midnight UTC: the form in which
// stores return a local day (a wall-clock time of the zone, with no zone of its own).
func LocalDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DayStart returns the instant the calendar date day (its Y-M-D as it reads in UTC)
// begins in loc: local midnight, or the first instant of the date where a daylight saving
// change skips midnight.
func DayStart(day time.Time, loc *time.Location) time.Time {
	y, m, d := day.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// LocalDays returns the instants of [from, to) extended to whole days of loc: from moved
// back to the start of its local day, to moved on to the start of the local day after the
// one it ends in. Cohort reports read the events of these whole days.
func LocalDays(from, to time.Time, loc *time.Location) (time.Time, time.Time) {
	start := DayStart(LocalDay(from, loc), loc)
	last := LocalDay(to.Add(-time.Nanosecond), loc)
	return start, DayStart(last.AddDate(0, 0, 1), loc)
}

// Money sums amounts of revenue in the scope's reporting currency: each group of amounts
// of one currency and date converts at that date's rate (Converter), and the amounts
// that do not convert are counted, not summed. The zero Money of a zero scope sums
// whatever it is given.
type Money struct {
	sc          ReportScope
	Unconverted int64 // how many amounts did not convert
}

// NewMoney returns a sum in the scope's currency.
func NewMoney(sc ReportScope) *Money { return &Money{sc: sc} }

// Convert returns sum, the sum of n amounts in currency cur on the calendar date day (its
// Y-M-D as it reads in UTC, as stores return local days), in the reporting currency, and
// true; or 0 and false after counting the n amounts as unconverted.
func (m *Money) Convert(sum float64, n int64, cur string, day time.Time) (float64, bool) {
	if m.sc.Currency == "" || cur == m.sc.Currency {
		return sum, true
	}
	if m.sc.Rates != nil {
		if v, ok := m.sc.Rates.Convert(sum, cur, m.sc.Currency, day.UTC()); ok {
			return v, true
		}
	}
	m.Unconverted += n
	return 0, false
}

// Ended reports whether the local day that is days after the calendar date day (as it
// reads in UTC) has ended in loc by now.
func Ended(day time.Time, days int, loc *time.Location, now time.Time) bool {
	return !DayStart(day.AddDate(0, 0, days+1), loc).After(now)
}

// RowRevenue adds converted revenue to the rows of a media_sources report by media
// source and campaign, adding a row for revenue whose source and campaign has none (events
// of a campaign without installs or touchpoints in range).
type RowRevenue struct {
	rep *MediaSourceReport
	idx map[[2]string]int
}

// NewRowRevenue starts adding revenue to rep's rows, whose Revenue it resets to 0.
func NewRowRevenue(rep *MediaSourceReport) *RowRevenue {
	r := &RowRevenue{rep: rep, idx: make(map[[2]string]int, len(rep.Rows))}
	for i := range rep.Rows {
		rep.Rows[i].Revenue = 0
		r.idx[[2]string{rep.Rows[i].MediaSource, rep.Rows[i].Campaign}] = i
	}
	return r
}

// Add adds converted revenue v to the row of the source and campaign.
func (r *RowRevenue) Add(src, camp string, v float64) {
	k := [2]string{src, camp}
	i, ok := r.idx[k]
	if !ok {
		i = len(r.rep.Rows)
		r.rep.Rows = append(r.rep.Rows, MediaSourceRow{MediaSource: src, Campaign: camp})
		r.idx[k] = i
	}
	r.rep.Rows[i].Revenue += v
}

// Done rounds the rows' revenue (RoundMoney).
func (r *RowRevenue) Done() {
	for i := range r.rep.Rows {
		r.rep.Rows[i].Revenue = RoundMoney(r.rep.Rows[i].Revenue)
	}
}

// Retention assembles a RetentionReport from a store's rows of (cohort day, installs, day
// N, devices), ordered by cohort day, leaving out the days that have not ended by the
// scope's Now: one implementation for every store.
type Retention struct {
	sc  ReportScope
	rep *RetentionReport
}

// NewRetention starts a retention report in the scope (Location and Now filled in: Scope).
func NewRetention(sc ReportScope) *Retention {
	return &Retention{sc: sc, rep: &RetentionReport{Cohorts: []RetentionCohort{}, Timezone: sc.Zone()}}
}

// Add records a row: the cohort of the local date day (as midnight UTC) with its
// installs, and, if hasDay, the devices active on day dayN after it.
func (r *Retention) Add(day time.Time, installs, dayN, devices int64, hasDay bool) {
	date := day.UTC().Format(time.DateOnly)
	if n := len(r.rep.Cohorts); n == 0 || r.rep.Cohorts[n-1].InstallDate != date {
		ended := 0
		for ended <= RetentionDays && Ended(day, ended, r.sc.Location, r.sc.Now) {
			ended++
		}
		r.rep.Cohorts = append(r.rep.Cohorts, RetentionCohort{InstallDate: date, Installs: installs, Retained: make([]int64, ended)})
	}
	if c := &r.rep.Cohorts[len(r.rep.Cohorts)-1]; hasDay && dayN >= 0 && dayN < int64(len(c.Retained)) {
		c.Retained[dayN] = devices
	}
}

// Report returns the report.
func (r *Retention) Report() *RetentionReport { return r.rep }

// localCall is how a report query asks for a time column in the report's zone:
// LOCAL(column), which LocalizeQuery replaces before the query runs.
var localCall = regexp.MustCompile(`LOCAL\(([a-z_."]+)\)`)

// LocalizeQuery replaces each LOCAL(column) of query with the column's wall-clock time in
// the zone of shifts (ZoneShifts, which must cover every time the query reads): the column
// itself in UTC (no shifts, or one of offset 0), else what shifted writes in the store's
// dialect for the column and the shifts (one offset, or one per transition). The SQL holds
// only what shifted makes of numbers the code made, no input.
func LocalizeQuery(query string, shifts []ZoneShift, shifted func(col string, shifts []ZoneShift) string) string {
	if !strings.Contains(query, "LOCAL(") {
		return query
	}
	return localCall.ReplaceAllStringFunc(query, func(call string) string {
		col := localCall.FindStringSubmatch(call)[1]
		if len(shifts) == 0 || len(shifts) == 1 && shifts[0].Offset == 0 {
			return col
		}
		return shifted(col, shifts)
	})
}
