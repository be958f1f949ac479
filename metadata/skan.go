package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SKANConfigStore = (*DB)(nil)

// appStoreID is the app_store_id column of the settings: NULL for none.
func appStoreID(s unmogrowp.AppSettings) sql.NullInt64 {
	return sql.NullInt64{Int64: s.AppStoreID, Valid: s.AppStoreID != 0}
}

func errStoreIDTaken(id int64) error {
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "settings.app_store_id %d belongs to another app.", id)
}

// AppByStoreID implements unmogrowp.SKANConfigStore, by the unique index on app_store_id.
func (db *DB) AppByStoreID(ctx context.Context, storeID int64) (*unmogrowp.App, error) {
	if storeID <= 0 {
		return nil, errAppNotFound()
	}
	return found[*unmogrowp.App](db, "app by store id", errAppNotFound)(scanApp(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+appColumns+` FROM apps WHERE app_store_id = ?`), storeID)))
}

// SKANConfig implements unmogrowp.SKANConfigStore.
func (db *DB) SKANConfig(ctx context.Context, appID string) (unmogrowp.SKANConfig, error) {
	var c unmogrowp.SKANConfig
	if !db.d.storable(appID) {
		return c, nil
	}
	var schema, networks string
	err := db.read.QueryRowContext(ctx, db.q(`SELECT schema, networks FROM skan_configs WHERE app_id = ?`), appID).Scan(&schema, &networks)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return c, nil
	case err != nil:
		return c, db.fail("read skan config", err)
	}
	if schema != "" {
		c.Schema = new(unmogrowp.SKANSchema)
		if err := json.Unmarshal([]byte(schema), c.Schema); err != nil {
			return c, fmt.Errorf("app %s: decode skan schema: %w", appID, err)
		}
	}
	if networks != "" {
		if err := json.Unmarshal([]byte(networks), &c.Networks); err != nil {
			return c, fmt.Errorf("app %s: decode skan networks: %w", appID, err)
		}
	}
	return c, nil
}

// PutSKANSchema implements unmogrowp.SKANConfigStore.
func (db *DB) PutSKANSchema(ctx context.Context, appID string, s *unmogrowp.SKANSchema) error {
	if s == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A schema is required.")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	return db.putSKAN(ctx, appID, "schema", s)
}

// PutSKANNetworks implements unmogrowp.SKANConfigStore.
func (db *DB) PutSKANNetworks(ctx context.Context, appID string, n *unmogrowp.SKANNetworks) error {
	if n == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Networks are required.")
	}
	if err := n.Validate(); err != nil {
		return err
	}
	return db.putSKAN(ctx, appID, "networks", n)
}

// putSKAN writes one column of the app's skan_configs row (column is a constant of the
// callers), creating the row if needed; the foreign key tells an unknown app.
func (db *DB) putSKAN(ctx context.Context, appID, column string, v any) error {
	if !db.d.storable(appID) {
		return errAppNotFound()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put skan %s: %w", column, err)
	}
	if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO skan_configs (app_id, `+column+`) VALUES (?, ?)
		ON CONFLICT (app_id) DO UPDATE SET `+column+` = excluded.`+column), appID, string(b)); err != nil {
		if db.d.broke(err, foreignKey, "") {
			return errAppNotFound()
		}
		return db.fail("put skan "+column, err)
	}
	return nil
}
