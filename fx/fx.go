// Package fx converts money amounts between currencies with the exchange rates the
// operator loads (unmogrowp.FXRates, kept by an unmogrowp.FXRateStore): a Table of every
// date's rates in memory, a Cache that keeps a Table in step with the store, and the
// readers of the files `unmogrowp fx import` takes (the European Central Bank's
// eurofxref-hist.csv, JSON lines of FXRates).
//
// An amount converts at the rate of its own date; if that date has no rate for the pair
// of currencies, at the nearest earlier date within MaxRateAge days that has; otherwise it
// does not convert (and reports count it as unconverted).
package fx

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// MaxRateAge is how many days before an amount's date a rate may be and still convert it.
const MaxRateAge = 7

// Table holds the exchange rates of every loaded date. It is immutable once built and safe
// for concurrent use. A nil *Table has no rates: it converts only an amount to its own
// currency.
type Table struct {
	days map[int64]dayRates // by Unix day of the date
}

var _ unmogrowp.Converter = (*Table)(nil)

// dayRates are one date's rates: one unit of base buys rates[c] of c.
type dayRates struct {
	base  string
	rates map[string]float64
}

// rate returns how many units of c one unit of the date's base buys.
func (d dayRates) rate(c string) (float64, bool) {
	if c == d.base {
		return 1, true
	}
	r, ok := d.rates[c]
	return r, ok
}

// NewTable builds a table of rates, each valid (unmogrowp.FXRates.Validate). Of two for
// the same date the later wins. Returns EINVALID for an invalid one.
func NewTable(rates []unmogrowp.FXRates) (*Table, error) {
	t := &Table{days: make(map[int64]dayRates, len(rates))}
	for i := range rates {
		r := rates[i]
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rates of %s: %w", r.Date, err)
		}
		d, _ := time.Parse(time.DateOnly, r.Date) // Validate parsed it
		t.days[unixDay(d)] = dayRates{base: r.Base, rates: r.Rates}
	}
	return t, nil
}

// unixDay returns the number of days from 1970-01-01 to t's calendar date as it reads in
// t's own location.
func unixDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Convert converts amount from the currency from to the currency to at the rates of date,
// whose calendar date is read in date's own location (a time at midnight UTC, as a
// database's DATE scans, is its UTC date; an event time moved into the app's zone with
// In is its local date). It uses the date's rates if they have both currencies (the base
// of a date counts as having rate 1), else those of the nearest earlier date within
// MaxRateAge days that has both. It returns false, and 0, when no such date exists; the
// same currency converts to the amount itself, true, without rates.
func (t *Table) Convert(amount float64, from, to string, date time.Time) (float64, bool) {
	if from == to {
		return amount, true
	}
	if t == nil {
		return 0, false
	}
	day := unixDay(date)
	for k := int64(0); k <= MaxRateAge; k++ {
		d, ok := t.days[day-k]
		if !ok {
			continue
		}
		rf, okf := d.rate(from)
		rt, okt := d.rate(to)
		if okf && okt {
			return amount / rf * rt, true
		}
	}
	return 0, false
}

// Dates returns how many dates the table has rates for.
func (t *Table) Dates() int {
	if t == nil {
		return 0
	}
	return len(t.days)
}

// Cache keeps a Table of a store's rates and reloads it when the store's version
// (FXRatesVersion) changes, so that rates one process loads apply in every process that
// reads the same store. It is safe for concurrent use.
type Cache struct {
	store unmogrowp.FXRateStore

	mu      sync.Mutex
	table   *Table
	version int64
	loaded  bool
}

// NewCache returns a cache of the store's rates; it reads nothing until Table is called.
func NewCache(store unmogrowp.FXRateStore) *Cache { return &Cache{store: store} }

// Table returns the store's rates: the table already loaded if the store's version has
// not changed since (one small read), else the rates read again. It returns the store's
// error if it cannot read them.
func (c *Cache) Table(ctx context.Context) (*Table, error) {
	v, err := c.store.FXRatesVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("read fx rates version: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && v == c.version {
		return c.table, nil
	}
	all, version, err := c.store.AllFXRates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read fx rates: %w", err)
	}
	t, err := NewTable(all)
	if err != nil {
		return nil, err
	}
	c.table, c.version, c.loaded = t, version, true
	return t, nil
}
