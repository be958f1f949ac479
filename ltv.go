package unmogrowp

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The groupings of the LTV report's cohorts (LTVQuery.GroupBy).
const (
	GroupByMediaSource = "media_source" // a cohort per install date and media source
	GroupByCampaign    = "campaign"     // a cohort per install date, media source and campaign
	GroupByNone        = "none"         // a cohort per install date
)

// DefaultLTVDays are the days of the LTV report when the query names none.
var DefaultLTVDays = []int{0, 1, 3, 7, 14, 30, 60, 90}

// MaxLTVDay is the last day after install the LTV report can count, and MaxLTVDays how
// many days a query may ask for.
const (
	MaxLTVDay  = 365
	MaxLTVDays = 32
)

// LTVQuery is what the LTV report groups by and counts.
type LTVQuery struct {
	GroupBy string // GroupByMediaSource (""), GroupByCampaign or GroupByNone
	Days    []int  // the days N after install to report, each 0..MaxLTVDay; nil: DefaultLTVDays
}

// Validate checks the query, sorts its days and drops repeats. It returns an EINVALID
// *Error naming group_by or days.
func (q *LTVQuery) Validate() error {
	switch q.GroupBy {
	case "":
		q.GroupBy = GroupByMediaSource
	case GroupByMediaSource, GroupByCampaign, GroupByNone:
	default:
		return Errorf(EINVALID, "group_by must be media_source, campaign or none.")
	}
	if q.Days == nil {
		q.Days = slices.Clone(DefaultLTVDays)
	}
	if len(q.Days) == 0 || len(q.Days) > MaxLTVDays {
		return Errorf(EINVALID, "days must list 1 to %d days.", MaxLTVDays)
	}
	for _, d := range q.Days {
		if d < 0 || d > MaxLTVDay {
			return Errorf(EINVALID, "days must be whole numbers from 0 to %d.", MaxLTVDay)
		}
	}
	slices.Sort(q.Days)
	q.Days = slices.Compact(q.Days)
	return nil
}

// LTVReport is the LTV report: per cohort of new installs (neither reinstalls nor
// re-attributions) of one local install date and group, the cumulative revenue of its
// devices from their install until the end of each asked day N after it. A day that has
// not ended yet for a cohort is absent from its maps.
type LTVReport struct {
	Currency           string      `json:"currency"`
	Timezone           string      `json:"timezone"`
	Cohorts            []LTVCohort `json:"cohorts"` // by install date, then most installs first, then source and campaign
	UnconvertedAmounts int64       `json:"unconverted_amounts"`
}

// LTVCohort is one cohort of the LTV report. Maps are keyed by the day N ("0", "7", ...).
// MediaSource is "" when grouped by none, Campaign "" unless grouped by campaign.
type LTVCohort struct {
	InstallDate string              `json:"install_date"` // YYYY-MM-DD, local
	MediaSource string              `json:"media_source"`
	Campaign    string              `json:"campaign"`
	Installs    int64               `json:"installs"`
	Cost        float64             `json:"cost"`         // in the report's currency; 0 without cost data
	Revenue     map[string]float64  `json:"revenue"`      // cumulative, converted
	ARPU        map[string]float64  `json:"arpu"`         // revenue / installs
	ROAS        map[string]*float64 `json:"roas"`         // revenue / cost; null without cost
	PayingUsers map[string]int64    `json:"paying_users"` // devices with revenue above 0 by then
}

// CohortCoster gives the cost of the LTV report's cohorts (CostSources is one, from the
// touchpoints and the imported cost): ByCohort returns the cost of [from, to) per local
// date of sc's zone and group of groupBy (a GroupBy of LTVQuery: MediaSource "" for
// none, Campaign "" unless by campaign), in sc's currency, and how many cost amounts had
// no rate.
type CohortCoster interface {
	ByCohort(ctx context.Context, appID string, from, to time.Time, groupBy string, sc ReportScope) (costs map[CampaignDay]float64, unconverted int64, err error)
}

// AddCosts sets the cost of each cohort that costs (CohortCoster.ByCohort's) name (a cost
// of a cohort the report does not have is left out: it bought no install in range) and
// its ROAS at each day reported, and adds unconverted, the cost amounts without a rate,
// to the report's unconverted amounts.
func (r *LTVReport) AddCosts(costs map[CampaignDay]float64, unconverted int64) {
	r.UnconvertedAmounts += unconverted
	for i := range r.Cohorts {
		c := &r.Cohorts[i]
		c.Cost = RoundMoney(costs[CampaignDay{c.InstallDate, c.MediaSource, c.Campaign}])
		for n, v := range c.Revenue {
			c.ROAS[n] = nil
			if c.Cost > 0 {
				roas := RoundMoney(v / c.Cost)
				c.ROAS[n] = &roas
			}
		}
	}
}

// LTVDayKey is the key of day n in the LTV report's maps.
func LTVDayKey(n int) string { return strconv.Itoa(n) }

// LTVBuilder assembles an LTVReport from the rows a store's query gives (Cohort, Revenue,
// Paying, in any order), converting revenue at the date of its day and leaving out the
// days that have not ended: one implementation for every store.
type LTVBuilder struct {
	q       LTVQuery
	sc      ReportScope
	money   *Money
	cohorts map[ltvKey]*ltvCohort
}

type ltvKey struct {
	day       time.Time // local date as midnight UTC
	src, camp string
}

type ltvCohort struct {
	installs int64
	revenue  []float64 // by day after install, 0..last asked day
	paying   []int64   // devices paying first on that day
}

// NewLTVBuilder starts a report of the query, which must be valid (LTVQuery.Validate), in
// the scope (its Location and Now filled in: Scope).
func NewLTVBuilder(q LTVQuery, sc ReportScope) *LTVBuilder {
	return &LTVBuilder{q: q, sc: sc, money: NewMoney(sc), cohorts: map[ltvKey]*ltvCohort{}}
}

// LastDay is the last day after install the report counts: the query's largest.
func (b *LTVBuilder) LastDay() int { return b.q.Days[len(b.q.Days)-1] }

func (b *LTVBuilder) cohort(day time.Time, src, camp string) *ltvCohort {
	k := ltvKey{day.UTC(), src, camp}
	c := b.cohorts[k]
	if c == nil {
		n := b.LastDay() + 1
		c = &ltvCohort{revenue: make([]float64, n), paying: make([]int64, n)}
		b.cohorts[k] = c
	}
	return c
}

// Cohort records the installs of the cohort of a local date (as midnight UTC) and group.
func (b *LTVBuilder) Cohort(day time.Time, src, camp string, installs int64) {
	b.cohort(day, src, camp).installs += installs
}

// Revenue records the sum of n amounts in currency cur that the cohort's devices paid on
// day dayN after install (out of 0..LastDay: ignored).
func (b *LTVBuilder) Revenue(day time.Time, src, camp string, dayN int, cur string, sum float64, n int64) {
	if dayN < 0 || dayN > b.LastDay() {
		return
	}
	v, ok := b.money.Convert(sum, n, cur, day.AddDate(0, 0, dayN))
	if ok {
		b.cohort(day, src, camp).revenue[dayN] += v
	}
}

// Paying records devices of the cohort that paid for the first time on day dayN.
func (b *LTVBuilder) Paying(day time.Time, src, camp string, dayN int, devices int64) {
	if dayN < 0 || dayN > b.LastDay() {
		return
	}
	b.cohort(day, src, camp).paying[dayN] += devices
}

// Report returns the report: cohorts by install date, then most installs first, then by
// media source and campaign; the asked days of each that have ended by the scope's Now.
// Cohorts without installs (revenue of devices whose install is not in range) are left
// out.
func (b *LTVBuilder) Report() *LTVReport {
	rep := &LTVReport{Currency: b.sc.Currency, Timezone: b.sc.Zone(), Cohorts: []LTVCohort{}, UnconvertedAmounts: b.money.Unconverted}
	for k, c := range b.cohorts {
		if c.installs == 0 {
			continue
		}
		out := LTVCohort{
			InstallDate: k.day.Format(time.DateOnly), MediaSource: k.src, Campaign: k.camp, Installs: c.installs,
			Revenue: map[string]float64{}, ARPU: map[string]float64{}, ROAS: map[string]*float64{}, PayingUsers: map[string]int64{},
		}
		var rev float64
		var paying int64
		next := 0
		for _, n := range b.q.Days {
			if !Ended(k.day, n, b.sc.Location, b.sc.Now) {
				break
			}
			for ; next <= n; next++ {
				rev += c.revenue[next]
				paying += c.paying[next]
			}
			key := LTVDayKey(n)
			out.Revenue[key] = RoundMoney(rev)
			out.ARPU[key] = RoundMoney(rev / float64(c.installs))
			out.ROAS[key] = nil
			out.PayingUsers[key] = paying
		}
		rep.Cohorts = append(rep.Cohorts, out)
	}
	slices.SortFunc(rep.Cohorts, func(a, b LTVCohort) int {
		switch {
		case a.InstallDate != b.InstallDate:
			return strings.Compare(a.InstallDate, b.InstallDate)
		case a.Installs != b.Installs:
			return cmp.Compare(b.Installs, a.Installs)
		case a.MediaSource != b.MediaSource:
			return strings.Compare(a.MediaSource, b.MediaSource)
		}
		return strings.Compare(a.Campaign, b.Campaign)
	})
	return rep
}
