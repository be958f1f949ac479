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

// costsPerInsert is how many rows one INSERT of sqlitePutCosts carries: 11 placeholders a
// row, well under SQLite's 32766 parameters a statement.
const costsPerInsert = 500

// costsPerArrayInsert is how many rows one INSERT of postgresPutCosts carries: its 11
// parameters are arrays, of this many elements each.
const costsPerArrayInsert = 10_000

// PutCosts implements unmogrowp.CostStore: the rows are validated first, then, one row a
// key in key order (unmogrowp.LastOfEachKey: a statement may not touch one row twice, and
// rows in key order fill the key's index one page after the other), written in one
// transaction by the dialect's putCosts.
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
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.d.putCosts(ctx, tx, appID, rows) })
	if db.d.broke(err, foreignKey, "") {
		return errAppNotFound()
	}
	return db.fail("put costs", err)
}

// sqlitePutCosts is SQLite's dialect.putCosts: costsPerInsert rows an INSERT ... ON
// CONFLICT DO UPDATE, prepared once.
func sqlitePutCosts(ctx context.Context, tx *sql.Tx, appID string, rows []unmogrowp.Cost) error {
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
			_, err := tx.ExecContext(ctx, upsertCosts(len(chunk)), args...)
			return err // the last chunk
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, upsertCosts(costsPerInsert)); err != nil {
				return err
			}
			defer full.Close()
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// upsertCosts is SQLite's INSERT ... ON CONFLICT DO UPDATE of n rows.
func upsertCosts(n int) string {
	return `INSERT INTO costs (` + costColumns + `) VALUES ` + values(`(?,?,?,?,?,?,?,?,?,?,?)`, n) + upsertCostsConflict
}

// upsertCostsConflict is the ON CONFLICT clause of the cost upserts: a row with the key
// of a stored one replaces it.
const upsertCostsConflict = `
		ON CONFLICT (app_id, date, media_source, campaign, adset, ad, country) DO UPDATE SET
		cost = excluded.cost, currency = excluded.currency,
		impressions = excluded.impressions, clicks = excluded.clicks`

// postgresPutCosts is PostgreSQL's dialect.putCosts: costsPerArrayInsert rows an INSERT
// ... SELECT FROM unnest(arrays) ON CONFLICT DO UPDATE, a column an array parameter, which
// the server parses and plans once for all of the rows rather than once per 11 of its
// 65535 parameters.
func postgresPutCosts(ctx context.Context, tx *sql.Tx, appID string, rows []unmogrowp.Cost) error {
	for chunk := range slices.Chunk(rows, costsPerArrayInsert) {
		var text [7][]string // date, media_source, campaign, adset, ad, country, currency
		var cost []float64
		var counts [2][]int64 // impressions, clicks
		for i := range chunk {
			c := &chunk[i]
			for j, v := range [...]string{c.Date, c.MediaSource, c.Campaign, c.Adset, c.Ad, c.Country, c.Currency} {
				text[j] = append(text[j], v)
			}
			cost = append(cost, c.Cost)
			counts[0], counts[1] = append(counts[0], c.Impressions), append(counts[1], c.Clicks)
		}
		if _, err := tx.ExecContext(ctx, upsertCostArrays, appID, text[0], text[1], text[2], text[3], text[4], text[5],
			cost, text[6], counts[0], counts[1]); err != nil {
			return err
		}
	}
	return nil
}

// upsertCostArrays is PostgreSQL's INSERT ... ON CONFLICT DO UPDATE of the rows whose
// columns are the arrays $2 to $11.
const upsertCostArrays = `INSERT INTO costs (` + costColumns + `)
		SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::float8[], $9::text[], $10::int8[], $11::int8[])` + upsertCostsConflict

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
