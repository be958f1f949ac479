package metadata

import (
	"context"
	"database/sql"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.FXRateStore = (*DB)(nil)

// PutFXRates implements unmogrowp.FXRateStore: in one transaction, each date's rows are
// deleted and its rates inserted in one statement, and the version increased once.
func (db *DB) PutFXRates(ctx context.Context, rates ...unmogrowp.FXRates) error {
	for i := range rates {
		if err := rates[i].Validate(); err != nil {
			return err
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		del := db.q(`DELETE FROM fx_rates WHERE date = ?`)
		for _, r := range rates {
			if _, err := tx.ExecContext(ctx, del, r.Date); err != nil {
				return err
			}
			args := make([]any, 0, 4*len(r.Rates))
			for c, v := range r.Rates {
				args = append(args, r.Date, r.Base, c, v)
			}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO fx_rates (date, base, currency, rate)
				VALUES `+values(`(?, ?, ?, ?)`, len(r.Rates))), args...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE fx_rates_version SET version = version + 1 WHERE id = 1`)
		return err
	})
	return db.fail("put fx rates", err)
}

// FXRates implements unmogrowp.FXRateStore.
func (db *DB) FXRates(ctx context.Context, date string) (*unmogrowp.FXRates, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "date must be a date, YYYY-MM-DD.")
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT date, base, currency, rate FROM fx_rates WHERE date = ?`), date)
	if err != nil {
		return nil, db.fail("get fx rates", err)
	}
	all, err := collectRates(db, rows)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No exchange rates for %s.", date)
	}
	return &all[0], nil
}

// AllFXRates implements unmogrowp.FXRateStore. The version is read before the rows: a
// load between the two reads makes the version older than the rows, never newer, so that
// a cache reads them again rather than keep rates older than its version.
func (db *DB) AllFXRates(ctx context.Context) ([]unmogrowp.FXRates, int64, error) {
	v, err := db.FXRatesVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT date, base, currency, rate FROM fx_rates ORDER BY date`)
	if err != nil {
		return nil, 0, db.fail("read fx rates", err)
	}
	all, err := collectRates(db, rows)
	if err != nil {
		return nil, 0, err
	}
	return all, v, nil
}

// FXRatesVersion implements unmogrowp.FXRateStore.
func (db *DB) FXRatesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.read.QueryRowContext(ctx, `SELECT version FROM fx_rates_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, db.fail("read fx rates version", err)
	}
	return v, nil
}

// collectRates reads rows of (date, base, currency, rate), ordered by date, into one
// FXRates per date, and closes them.
func collectRates(db *DB, rows *sql.Rows) ([]unmogrowp.FXRates, error) {
	defer rows.Close()
	var out []unmogrowp.FXRates
	for rows.Next() {
		var date, base, c string
		var v float64
		if err := rows.Scan(&date, &base, &c, &v); err != nil {
			return nil, db.fail("read fx rates", err)
		}
		if n := len(out); n == 0 || out[n-1].Date != date {
			out = append(out, unmogrowp.FXRates{Date: date, Base: base, Rates: map[string]float64{}})
		}
		out[len(out)-1].Rates[c] = v
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("read fx rates", err)
	}
	return out, nil
}
