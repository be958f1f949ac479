package unmogrowp

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cost models of a touchpoint's cost (docs/cost.md): what the advertiser pays the media
// source for.
const (
	CostCPI = "cpi" // per attributed install the touchpoint won
	CostCPC = "cpc" // per click
	CostCPM = "cpm" // per thousand impressions
)

// DefaultCostCurrency is the currency of a touchpoint's cost that names none.
const DefaultCostCurrency = "USD"

// MaxCost bounds one touchpoint's cost_value and one imported row's cost, as MaxRevenue
// bounds revenue: so that no sum of them can overflow.
const MaxCost = 1e9

// IsCurrencyCode reports whether s has the shape of an ISO 4217 code: three letters A to
// Z. Whether a rate exists for it is the reports' business (unconverted_amounts).
func IsCurrencyCode(s string) bool {
	return len(s) == 3 && strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) < 0
}

// ParseCostValue parses a cost as query strings and CSV cells carry it: a decimal number
// from 0 to MaxCost. field names it in the EINVALID error.
func ParseCostValue(field, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, Errorf(EINVALID, "%s must be a number.", field)
	}
	return v, checkCostValue(field, v)
}

func checkCostValue(field string, v float64) error {
	if !(v >= 0 && v <= MaxCost) { // NaN too
		return Errorf(EINVALID, "%s must be a number from 0 to %.0f.", field, float64(MaxCost))
	}
	return nil
}

// ValidateCost checks the touchpoint's cost fields (Validate calls it; its Type must be
// lower-case already): no cost at all, or
// a model (lower-cased) of CostCPI, CostCPC (clicks only) or CostCPM (impressions only), a
// value from 0 to MaxCost, and a currency code (upper-cased; "" is DefaultCostCurrency).
// A value or a currency without a model is refused, as is a model of the wrong type of
// touch: either is a mistake of the sender that would lose money silently.
func (tp *Touchpoint) ValidateCost() error {
	tp.CostModel = strings.ToLower(tp.CostModel)
	if tp.CostModel == "" {
		if tp.CostValue != 0 || tp.CostCurrency != "" {
			return Errorf(EINVALID, "cost_model is required with cost_value or cost_currency: cpi, cpc or cpm.")
		}
		return nil
	}
	switch tp.CostModel {
	case CostCPI:
	case CostCPC:
		if tp.Type != TouchClick {
			return Errorf(EINVALID, "cost_model cpc is a cost per click: an impression cannot have it.")
		}
	case CostCPM:
		if tp.Type != TouchImpression {
			return Errorf(EINVALID, "cost_model cpm is a cost per thousand impressions: a click cannot have it.")
		}
	default:
		return Errorf(EINVALID, "cost_model must be cpi, cpc or cpm.")
	}
	if err := checkCostValue("cost_value", tp.CostValue); err != nil {
		return err
	}
	tp.CostCurrency = strings.ToUpper(tp.CostCurrency)
	if tp.CostCurrency == "" {
		tp.CostCurrency = DefaultCostCurrency
	}
	if !IsCurrencyCode(tp.CostCurrency) {
		return Errorf(EINVALID, "cost_currency must be a three-letter ISO 4217 code.")
	}
	return nil
}

// Cost is one row of imported cost (POST /api/apps/{app_id}/costs): what an app spent on
// one day with one media source, down to campaign, adset, ad and country ("" for all).
type Cost struct {
	Date        string  `json:"date"` // YYYY-MM-DD, a day in the app's time zone
	MediaSource string  `json:"media_source"`
	Campaign    string  `json:"campaign"`
	Adset       string  `json:"adset"`
	Ad          string  `json:"ad"`
	Country     string  `json:"country"`
	Cost        float64 `json:"cost"`
	Currency    string  `json:"currency"`
	Impressions int64   `json:"impressions"`
	Clicks      int64   `json:"clicks"`
}

// CostColumns are the columns of a cost CSV and the keys of a cost JSON object, in the
// order the API writes them.
var CostColumns = []string{"date", "media_source", "campaign", "adset", "ad", "country", "cost", "currency", "impressions", "clicks"}

// Limits on imported cost.
const (
	MaxCostBytes = 64 << 20  // one POST /api/apps/{app_id}/costs body
	MaxCostRows  = 1_000_000 // rows in one request
)

// Validate checks an imported cost row: date a real YYYY-MM-DD day, media_source present,
// strings at most MaxTouchpointFieldLen without control characters (ValidateName), cost
// from 0 to MaxCost, currency a code (upper-cased), impressions and clicks not negative.
// The EINVALID error names the column at fault and nothing else: the caller says where
// the row is.
func (c *Cost) Validate() error {
	_, err := c.Check()
	return err
}

// Check is Validate that also returns the column at fault ("" when valid), for a caller
// that names it apart from the message, such as the line and column of a CSV file.
func (c *Cost) Check() (column string, err error) {
	if _, err := time.Parse(time.DateOnly, c.Date); err != nil {
		if c.Date == "" {
			return "date", Errorf(EINVALID, "date is required.")
		}
		return "date", Errorf(EINVALID, "date must be a day as YYYY-MM-DD.")
	}
	for _, f := range []struct{ name, v string }{
		{"media_source", c.MediaSource}, {"campaign", c.Campaign}, {"adset", c.Adset},
		{"ad", c.Ad}, {"country", c.Country},
	} {
		if len(f.v) > MaxTouchpointFieldLen {
			return f.name, Errorf(EINVALID, "%s must be at most %d characters.", f.name, MaxTouchpointFieldLen)
		}
		if err := ValidateName(f.name, f.v); err != nil {
			return f.name, err
		}
	}
	if c.MediaSource == "" {
		return "media_source", Errorf(EINVALID, "media_source is required.")
	}
	if err := checkCostValue("cost", c.Cost); err != nil {
		return "cost", err
	}
	c.Currency = strings.ToUpper(c.Currency)
	switch {
	case c.Currency == "":
		return "currency", Errorf(EINVALID, "currency is required.")
	case !IsCurrencyCode(c.Currency):
		return "currency", Errorf(EINVALID, "currency must be a three-letter ISO 4217 code.")
	case c.Impressions < 0:
		return "impressions", Errorf(EINVALID, "impressions must not be negative.")
	case c.Clicks < 0:
		return "clicks", Errorf(EINVALID, "clicks must not be negative.")
	}
	return "", nil
}

// CostKey is the key imported cost is upserted on: a row with the key of a stored one
// replaces it.
type CostKey struct {
	Date, MediaSource, Campaign, Adset, Ad, Country string
}

// Key returns the row's CostKey.
func (c *Cost) Key() CostKey {
	return CostKey{c.Date, c.MediaSource, c.Campaign, c.Adset, c.Ad, c.Country}
}

// LastOfEachKey returns the rows with the last row of each CostKey in place of the
// earlier ones, ordered by CostKey (field by field, by bytes: the order of the stores'
// primary key): what storing them one after the other leaves, which an upsert statement
// of many rows cannot do itself (PostgreSQL's ON CONFLICT refuses to touch one row
// twice). The order makes a store's inserts fall one after the other in its key's index
// rather than all over it. costs is not modified.
func LastOfEachKey(costs []Cost) []Cost {
	order := make([]int, len(costs)) // the rows' indexes, sorted by key, then index
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(compareCostKeys(&costs[i], &costs[j]), cmp.Compare(i, j))
	})
	out := make([]Cost, 0, len(costs))
	for _, i := range order {
		if n := len(out); n > 0 && compareCostKeys(&out[n-1], &costs[i]) == 0 {
			out = out[:n-1] // a later row of the same key
		}
		out = append(out, costs[i])
	}
	return out
}

// compareCostKeys compares the CostKeys of a and b field by field, by bytes.
func compareCostKeys(a, b *Cost) int {
	if c := strings.Compare(a.Date, b.Date); c != 0 {
		return c
	}
	if c := strings.Compare(a.MediaSource, b.MediaSource); c != 0 {
		return c
	}
	if c := strings.Compare(a.Campaign, b.Campaign); c != 0 {
		return c
	}
	if c := strings.Compare(a.Adset, b.Adset); c != 0 {
		return c
	}
	if c := strings.Compare(a.Ad, b.Ad); c != 0 {
		return c
	}
	return strings.Compare(a.Country, b.Country)
}

// CostStore keeps an app's imported cost: the metadata store implements it, and
// metadatatest.RunCostStore is its conformance suite.
type CostStore interface {
	// PutCosts validates every row (Cost.Validate) and upserts them, all in one
	// transaction: a row replaces the stored row of its CostKey, a later row in costs an
	// earlier one of the same key. Returns EINVALID (nothing stored) for an invalid row,
	// naming it by its index, ENOTFOUND if the app does not exist. No rows: a no-op.
	PutCosts(ctx context.Context, appID string, costs []Cost) error

	// Costs returns the app's rows with date in [from, to] (YYYY-MM-DD; "" leaves that end
	// open), ordered by date, media source, campaign, adset, ad and country. An unknown
	// app has none: an empty, non-nil slice.
	Costs(ctx context.Context, appID, from, to string) ([]Cost, error)
}

// DailyCost is an amount of cost of one day, media source and campaign in one currency:
// what the analytics store sums from touchpoints (Reports.TouchpointCosts), and what
// MergeCosts makes of both kinds of cost.
type DailyCost struct {
	Date        string  `json:"date"` // YYYY-MM-DD
	MediaSource string  `json:"media_source"`
	Campaign    string  `json:"campaign"`
	Currency    string  `json:"currency"`
	Amount      float64 `json:"amount"`
}

// CampaignDay is the key of cost in reports: a day, a media source and a campaign.
type CampaignDay struct {
	Date, MediaSource, Campaign string
}

// MergeCosts sums both kinds of cost per CampaignDay and currency, imported cost winning:
// a CampaignDay with any imported row takes no touchpoint cost (no double counting). The
// result is sorted by date, media source, campaign and currency, its amounts rounded
// (RoundMoney).
func MergeCosts(imported []Cost, touch []DailyCost) []DailyCost {
	type key struct {
		CampaignDay
		currency string
	}
	sums := map[key]float64{}
	hasImported := map[CampaignDay]bool{}
	for _, c := range imported {
		cd := CampaignDay{c.Date, c.MediaSource, c.Campaign}
		hasImported[cd] = true
		sums[key{cd, c.Currency}] += c.Cost
	}
	for _, t := range touch {
		cd := CampaignDay{t.Date, t.MediaSource, t.Campaign}
		if !hasImported[cd] {
			sums[key{cd, t.Currency}] += t.Amount
		}
	}
	out := make([]DailyCost, 0, len(sums))
	for k, v := range sums {
		out = append(out, DailyCost{Date: k.Date, MediaSource: k.MediaSource, Campaign: k.Campaign, Currency: k.currency, Amount: RoundMoney(v)})
	}
	slices.SortFunc(out, func(a, b DailyCost) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.MediaSource, b.MediaSource),
			cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}

// ConvertCosts converts each cost to the scope's currency at the rate of its own date
// (Money: the scope's Rates) and sums them per CampaignDay (rounded, RoundMoney).
// unconverted counts the costs that had no rate, which are left out.
func ConvertCosts(costs []DailyCost, sc ReportScope) (sums map[CampaignDay]float64, unconverted int64) {
	money := NewMoney(sc)
	sums = map[CampaignDay]float64{}
	for _, c := range costs {
		date, err := time.Parse(time.DateOnly, c.Date) // the local date as midnight UTC
		if err != nil {
			unconverted++
			continue
		}
		if v, ok := money.Convert(c.Amount, 1, c.Currency, date); ok {
			sums[CampaignDay{c.Date, c.MediaSource, c.Campaign}] += v
		}
	}
	for k, v := range sums {
		sums[k] = RoundMoney(v)
	}
	return sums, unconverted + money.Unconverted
}

// CostDates returns the days whose cost a report over [from, to) counts, as Costs takes
// them: the calendar days of loc (nil: UTC) that start in [from, to). ok is false when
// there is none.
func CostDates(from, to time.Time, loc *time.Location) (first, last string, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	f := LocalDay(from, loc)
	if DayStart(f, loc).Before(from) {
		f = f.AddDate(0, 0, 1)
	}
	l := LocalDay(to.Add(-time.Nanosecond), loc)
	if l.Before(f) {
		return "", "", false
	}
	return f.Format(time.DateOnly), l.Format(time.DateOnly), true
}

// CostSources are where an app's cost comes from: the touchpoints in the analytics store
// and the rows imported into the metadata store (nil: none). They are the LTV report's
// CohortCoster.
type CostSources struct {
	Touchpoints interface {
		TouchpointCosts(ctx context.Context, appID string, from, to time.Time, sc ...ReportScope) ([]DailyCost, error)
	}
	Imported CostStore
}

var _ CohortCoster = CostSources{}

// Daily returns the app's cost of [from, to) per CampaignDay in the scope's currency and
// zone: touchpoints touched in [from, to), by their local day, and imported rows of the
// days CostDates gives (imported dates are the app's local days already), merged
// (MergeCosts: imported cost wins) and converted at the scope's Rates (ConvertCosts), and
// how many amounts had no rate. The LTV report takes a cohort's cost from it: the cost of
// its install date, media source and campaign.
func (s CostSources) Daily(ctx context.Context, appID string, from, to time.Time, sc ReportScope) (map[CampaignDay]float64, int64, error) {
	sc = Scope(sc)
	touch, err := s.Touchpoints.TouchpointCosts(ctx, appID, from, to, sc)
	if err != nil {
		return nil, 0, err
	}
	var imported []Cost
	if first, last, ok := CostDates(from, to, sc.Location); ok && s.Imported != nil {
		if imported, err = s.Imported.Costs(ctx, appID, first, last); err != nil {
			return nil, 0, err
		}
	}
	sums, unconverted := ConvertCosts(MergeCosts(imported, touch), sc)
	return sums, unconverted, nil
}

// AddCost fills the report's cost, ecpi and roas from cost per CampaignDay (Daily's),
// adding a row of zeros for a media source and campaign that has cost and no row yet, and
// sets its currency. ecpi is cost / installs, null without installs; roas revenue / cost,
// null without cost. Rows are then ordered as the stores order them: most installs first,
// then most clicks, then by media source and campaign.
func (r *MediaSourceReport) AddCost(costs map[CampaignDay]float64, currency string, unconverted int64) {
	type sc struct{ source, campaign string }
	at := make(map[sc]int, len(r.Rows))
	for i, row := range r.Rows {
		at[sc{row.MediaSource, row.Campaign}] = i
	}
	for k, v := range costs {
		i, ok := at[sc{k.MediaSource, k.Campaign}]
		if !ok {
			i = len(r.Rows)
			at[sc{k.MediaSource, k.Campaign}] = i
			r.Rows = append(r.Rows, MediaSourceRow{MediaSource: k.MediaSource, Campaign: k.Campaign})
		}
		r.Rows[i].Cost += v
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		row.Cost = RoundMoney(row.Cost)
		row.ECPI, row.ROAS = nil, nil
		if row.Installs > 0 {
			v := RoundMoney(row.Cost / float64(row.Installs))
			row.ECPI = &v
		}
		if row.Cost > 0 {
			v := RoundMoney(row.Revenue / row.Cost)
			row.ROAS = &v
		}
	}
	slices.SortStableFunc(r.Rows, func(a, b MediaSourceRow) int {
		return cmp.Or(cmp.Compare(b.Installs, a.Installs), cmp.Compare(b.Clicks, a.Clicks),
			cmp.Compare(a.MediaSource, b.MediaSource), cmp.Compare(a.Campaign, b.Campaign))
	})
	r.Currency = currency
	r.UnconvertedAmounts += unconverted
}

// CostAmount is a touchpoint's cost as the reports count it: CostValue for CostCPI and
// CostCPC, a thousandth of it for CostCPM, 0 without a model. A CPI cost counts only when
// the touchpoint wins an install; the caller knows whether it did.
func (tp *Touchpoint) CostAmount() float64 {
	switch tp.CostModel {
	case CostCPI, CostCPC:
		return tp.CostValue
	case CostCPM:
		return tp.CostValue / 1000
	}
	return 0
}

// ByCohort implements CohortCoster: Daily's cost of [from, to) in the scope, grouped as
// the LTV report groups cohorts: per day, media source and campaign (GroupByCampaign); per
// day and media source, Campaign "" (GroupByMediaSource); per day, MediaSource and
// Campaign "" (GroupByNone). A cohort's cost is the entry of its install date and group;
// unconverted counts the amounts with no rate, as Daily does. Returns EINVALID for
// another groupBy.
func (s CostSources) ByCohort(ctx context.Context, appID string, from, to time.Time, groupBy string, sc ReportScope) (costs map[CampaignDay]float64, unconverted int64, err error) {
	switch groupBy {
	case GroupByCampaign, GroupByMediaSource, GroupByNone:
	default:
		return nil, 0, Errorf(EINVALID, "group_by must be media_source, campaign or none.")
	}
	daily, unconverted, err := s.Daily(ctx, appID, from, to, sc)
	if err != nil || groupBy == GroupByCampaign {
		return daily, unconverted, err
	}
	costs = make(map[CampaignDay]float64, len(daily))
	for k, v := range daily {
		k.Campaign = ""
		if groupBy == GroupByNone {
			k.MediaSource = ""
		}
		costs[k] += v
	}
	for k, v := range costs {
		costs[k] = RoundMoney(v)
	}
	return costs, unconverted, nil
}
