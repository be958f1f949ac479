package metadata

import (
	"context"
	"database/sql"
	"slices"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.CostStore = (*DB)(nil)

// costColumns are the columns of the costs table, in the order costValues gives them.
const costColumns = `app_id, date, media_source, campaign, adset, ad, country, cost, currency, impressions, clicks`

// costsPerInsert is how many rows one INSERT of PutCosts carries: 11 placeholders a row,
// well under SQLite's 32766 and PostgreSQL's 65535 parameters a statement. Many rows a
// statement is what makes 100,000 rows take a second, not a minute, over a network.
const costsPerInsert = 500

// PutCosts implements unmogrowp.CostStore: the rows are validated first, then written in
// one transaction, costsPerInsert rows an INSERT ... ON CONFLICT DO UPDATE (prepared
// once), after
// unmogrowp.LastOfEachKey (a statement may not touch one row twice).
func (db *DB) PutCosts(ctx context.Context, appID string, costs []unmogrowp.Cost) error {
	rows := make([]unmogrowp.Cost, len(costs))
	copy(rows, costs)
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "costs[%d]: %s", i, unmogrowp.ErrorMessage(err))
		}
	}
	if !db.d.storable(appID) {
		return errAppNotFound()
	}
	if len(rows) == 0 {
		return nil
	}
	rows = unmogrowp.LastOfEachKey(rows)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt // the statement of a whole chunk, prepared once
		args := make([]any, 0, costsPerInsert*11)
		for chunk := range slices.Chunk(rows, costsPerInsert) {
			args = args[:0]
			for i := range chunk {
				c := &chunk[i]
				args = append(args, appID, c.Date, c.MediaSource, c.Campaign, c.Adset, c.Ad, c.Country,
					c.Cost, c.Currency, c.Impressions, c.Clicks)
			}
			if len(chunk) < costsPerInsert {
				_, err := tx.ExecContext(ctx, db.q(upsertCosts(len(chunk))), args...)
				return err // the last chunk
			}
			if full == nil {
				var err error
				if full, err = tx.PrepareContext(ctx, db.q(upsertCosts(costsPerInsert))); err != nil {
					return err
				}
				defer full.Close()
			}
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if db.d.broke(err, foreignKey, "") {
		return errAppNotFound()
	}
	return db.fail("put costs", err)
}

// upsertCosts is the INSERT ... ON CONFLICT DO UPDATE of n rows, with ? placeholders.
func upsertCosts(n int) string {
	return `INSERT INTO costs (` + costColumns + `) VALUES ` + values(`(?,?,?,?,?,?,?,?,?,?,?)`, n) + `
		ON CONFLICT (app_id, date, media_source, campaign, adset, ad, country) DO UPDATE SET
		cost = excluded.cost, currency = excluded.currency,
		impressions = excluded.impressions, clicks = excluded.clicks`
}

// Costs implements unmogrowp.CostStore.
func (db *DB) Costs(ctx context.Context, appID, from, to string) ([]unmogrowp.Cost, error) {
	if !db.d.storable(appID) || !db.d.storable(from) || !db.d.storable(to) {
		return []unmogrowp.Cost{}, nil
	}
	query := `SELECT date, media_source, campaign, adset, ad, country, cost, currency, impressions, clicks
		FROM costs WHERE app_id = ?`
	args := []any{appID}
	if from != "" {
		query += ` AND date >= ?`
		args = append(args, from)
	}
	if to != "" {
		query += ` AND date <= ?`
		args = append(args, to)
	}
	rows, err := db.read.QueryContext(ctx, db.q(query+` ORDER BY date, media_source, campaign, adset, ad, country`), args...)
	if err != nil {
		return nil, db.fail("list costs", err)
	}
	return collect(db, rows, "list costs", func(s scanner) (unmogrowp.Cost, error) {
		var c unmogrowp.Cost
		err := s.Scan(&c.Date, &c.MediaSource, &c.Campaign, &c.Adset, &c.Ad, &c.Country, &c.Cost,
			&c.Currency, &c.Impressions, &c.Clicks)
		return c, err
	})
}
