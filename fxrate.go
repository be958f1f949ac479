package unmogrowp

import (
	"context"
	"math"
	"time"

	"golang.org/x/text/currency"
)

// FXRates are the exchange rates of one date, as the operator loads them (PUT
// /api/fx-rates, unmogrowp fx import): one unit of Base buys Rates[c] units of currency c.
// Rates are shared by every app of the server. Package fx converts amounts with them.
type FXRates struct {
	Date  string             `json:"date"` // YYYY-MM-DD
	Base  string             `json:"base"` // ISO 4217
	Rates map[string]float64 `json:"rates"`
}

// Validate checks the date, the base and each rate (a known ISO 4217 code, a finite rate
// above 0), upper-casing the codes in place. It returns an *Error with code EINVALID that
// names the field.
func (r *FXRates) Validate() error {
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		return Errorf(EINVALID, "date must be a date, YYYY-MM-DD.")
	}
	base, err := ValidCurrency(r.Base)
	if err != nil {
		return Errorf(EINVALID, "base must be an ISO 4217 currency code.")
	}
	r.Base = base
	if len(r.Rates) == 0 {
		return Errorf(EINVALID, "rates must hold at least one rate.")
	}
	rates := make(map[string]float64, len(r.Rates))
	for c, v := range r.Rates {
		code, err := ValidCurrency(c)
		if err != nil {
			return Errorf(EINVALID, "rates: %q is not an ISO 4217 currency code.", c)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return Errorf(EINVALID, "rates.%s must be a number above 0.", code)
		}
		rates[code] = v
	}
	r.Rates = rates
	return nil
}

// ValidCurrency returns code upper-cased if it is a known ISO 4217 currency code (as the
// Unicode CLDR lists them, which includes historic codes), and an EINVALID *Error
// otherwise.
func ValidCurrency(code string) (string, error) {
	if len(code) != 3 {
		return "", Errorf(EINVALID, "%q is not an ISO 4217 currency code.", code)
	}
	u, err := currency.ParseISO(code)
	if err != nil {
		return "", Errorf(EINVALID, "%q is not an ISO 4217 currency code.", code)
	}
	return u.String(), nil
}

// FXRateStore keeps the server's exchange rates, one FXRates per date. Implementation:
// package metadata (SQLite and PostgreSQL).
type FXRateStore interface {
	// PutFXRates stores each of rates, which must be valid (FXRates.Validate), replacing
	// all the rates stored for its date, in one transaction: all of them or none. Returns
	// EINVALID for an invalid one.
	PutFXRates(ctx context.Context, rates ...FXRates) error

	// FXRates returns the rates of the date (YYYY-MM-DD). Returns ENOTFOUND if the date has
	// none, EINVALID for a date that is not YYYY-MM-DD.
	FXRates(ctx context.Context, date string) (*FXRates, error)

	// AllFXRates returns every date's rates, oldest date first, and a version
	// (FXRatesVersion) no newer than they are.
	AllFXRates(ctx context.Context) ([]FXRates, int64, error)

	// FXRatesVersion returns a number that each PutFXRates changes: a reader that holds
	// the rates of one version needs to read them again only when it differs. It is cheap
	// (one row).
	FXRatesVersion(ctx context.Context) (int64, error)
}

// Converter converts money amounts between currencies at a date's rates (package fx's
// *Table is one; ReportScope.Rates holds it). Convert converts amount from the currency
// from to the currency to at the rates of the calendar date of date as it reads in date's
// own location (local dates come as midnight UTC of their day). It returns false when no
// rate converts the amount: reports then leave it out of converted totals and count it in
// unconverted_amounts. An amount converts to its own currency without rates.
type Converter interface {
	Convert(amount float64, from, to string, date time.Time) (float64, bool)
}
