package metadata

import (
	"context"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// ExportDeliveries calls fn with each of an app's postback deliveries created in
// [from, to), oldest first (ties by id), and stops at fn's first error, which it returns
// as it is. The rows come from the driver one at a time, so memory does not grow with
// their number; the engine sorts them (SQLite in a temporary B-tree, PostgreSQL within
// work_mem, spilling to disk). LeaseToken is empty in what it passes. It returns
// ctx.Err() when ctx is done and EUNAVAILABLE when the store cannot answer.
func (db *DB) ExportDeliveries(ctx context.Context, appID string, from, to time.Time, fn func(*unmogrowp.Delivery) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !db.d.storable(appID) {
		return nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+deliveryColumns+` FROM postback_deliveries
		WHERE app_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`),
		appID, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return db.fail("export deliveries", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return db.fail("export deliveries", err)
		}
		d.LeaseToken = ""
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return db.fail("export deliveries", err)
	}
	return nil
}
