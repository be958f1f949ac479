package metadata

import (
	"context"
	"database/sql"
	"slices"

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
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for ks := range slices.Chunk(order, consentChunk) {
			args := make([]any, 0, 5*len(ks))
			for _, k := range ks {
				c := cs[latest[k]]
				args = append(args, c.AppID, c.DeviceID, c.Partition, c.Offset, c.Sharing)
			}
			q := `INSERT INTO device_consent (app_id, device_id, log_partition, log_offset, sharing)
				VALUES ` + values(`(?, ?, ?, ?, ?)`, len(ks)) + `
				ON CONFLICT (app_id, device_id) DO UPDATE SET log_partition = excluded.log_partition,
					log_offset = excluded.log_offset, sharing = excluded.sharing
				WHERE device_consent.log_partition <> excluded.log_partition
					OR device_consent.log_offset < excluded.log_offset`
			if _, err := tx.ExecContext(ctx, db.q(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
	return db.fail("set consents", err)
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
	for chunk := range slices.Chunk(ids, consentChunk) {
		rows, err := db.read.QueryContext(ctx, db.q(`SELECT device_id, log_partition, log_offset, sharing
			FROM device_consent WHERE app_id = ? AND device_id IN (`+values("?", len(chunk))+`)`),
			appAndIDs(appID, chunk)...)
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

// appAndIDs returns the arguments of a statement on the app's rows with the ids: appID,
// then the ids.
func appAndIDs(appID string, ids []string) []any {
	args := make([]any, 0, 1+len(ids))
	args = append(args, appID)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}
