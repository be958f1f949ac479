package metadata

import (
	"context"
	"strings"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.ConsentStore = (*DB)(nil)

// consentChunk is how many statements or device ids one statement of SetConsents or
// Consents takes at most: well below either engine's limit on parameters.
const consentChunk = 500

// SetConsents implements unmogrowp.ConsentStore: INSERT ... ON CONFLICT DO UPDATE whose
// WHERE keeps a stored statement that is not older, in one transaction.
func (db *DB) SetConsents(ctx context.Context, cs []unmogrowp.Consent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := unmogrowp.CheckConsents(cs); err != nil {
		return err
	}
	// One row per device (a statement cannot update a row twice in PostgreSQL): the
	// latest of the call's, in its order.
	type key struct{ app, device string }
	latest := map[key]int{}
	var order []key
	for i, c := range cs {
		k := key{c.AppID, c.DeviceID}
		j, ok := latest[k]
		switch {
		case !ok:
			order = append(order, k)
			latest[k] = i
		case c.Later(cs[j]):
			latest[k] = i
		}
	}
	if len(order) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.fail("set consents", err)
	}
	defer tx.Rollback()
	for len(order) > 0 {
		n := min(len(order), consentChunk)
		args := make([]any, 0, 5*n)
		for _, k := range order[:n] {
			c := cs[latest[k]]
			args = append(args, c.AppID, c.DeviceID, c.Partition, c.Offset, c.Sharing)
		}
		order = order[n:]
		q := `INSERT INTO device_consent (app_id, device_id, log_partition, log_offset, sharing) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?),`, n), ",") + `
			ON CONFLICT (app_id, device_id) DO UPDATE SET log_partition = excluded.log_partition,
				log_offset = excluded.log_offset, sharing = excluded.sharing
			WHERE device_consent.log_partition <> excluded.log_partition
				OR device_consent.log_offset < excluded.log_offset`
		if _, err := tx.ExecContext(ctx, db.q(q), args...); err != nil {
			return db.fail("set consents", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return db.fail("set consents", err)
	}
	return nil
}

// Consents implements unmogrowp.ConsentStore.
func (db *DB) Consents(ctx context.Context, appID string, deviceIDs []string) (map[string]unmogrowp.Consent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]unmogrowp.Consent{}
	if !db.d.storable(appID) {
		return out, nil
	}
	ids := make([]string, 0, len(deviceIDs))
	for _, id := range deviceIDs {
		if db.d.storable(id) {
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), consentChunk)
		args := make([]any, 0, n+1)
		args = append(args, appID)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		rows, err := db.read.QueryContext(ctx, db.q(`SELECT device_id, log_partition, log_offset, sharing
			FROM device_consent WHERE app_id = ? AND device_id IN (`+strings.TrimSuffix(strings.Repeat("?,", n), ",")+`)`), args...)
		if err != nil {
			return nil, db.fail("read consents", err)
		}
		cs, err := collect(db, rows, "read consents", func(row scanner) (unmogrowp.Consent, error) {
			c := unmogrowp.Consent{AppID: appID}
			err := row.Scan(&c.DeviceID, &c.Partition, &c.Offset, &c.Sharing)
			return c, err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[c.DeviceID] = c
		}
	}
	return out, nil
}
