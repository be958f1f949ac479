package metadata

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// appColumns are the columns scanApp reads, in its order.
const appColumns = `id, owner_id, name, platform, bundle_id, ios_url, android_url, web_url,
	sdk_key, signing_secret, settings, created_at`

// The queries of AppByKey, each reading the key column it matched after appColumns.
const (
	bySDKKeyQuery        = `SELECT ` + appColumns + `, sdk_key FROM apps WHERE sdk_key = ?`
	byServerKeyHashQuery = `SELECT ` + appColumns + `, server_key_hash FROM apps WHERE server_key_hash = ?`
)

// CreateApp validates the app, fills its ID, SDKKey, SigningSecret and CreatedAt, stores it
// with the hash of a new server key, and returns its keys with the plain server key.
// Returns EINVALID for an empty name, invalid settings, text the engine cannot store, or
// an OwnerID that names no user; ECONFLICT for an app_store_id that another app claims.
func (db *DB) CreateApp(ctx context.Context, app *unmogrowp.App) (unmogrowp.NewAppKeys, error) {
	if err := validateApp(app); err != nil {
		return unmogrowp.NewAppKeys{}, err
	}
	settings, err := encodeSettings(app.Settings)
	if err != nil {
		return unmogrowp.NewAppKeys{}, fmt.Errorf("create app: %w", err)
	}
	id, err := unmogrowp.NewID(unmogrowp.AppIDPrefix)
	if err != nil {
		return unmogrowp.NewAppKeys{}, fmt.Errorf("create app: %w", err)
	}
	keys, err := unmogrowp.GenerateAppKeys()
	if err != nil {
		return unmogrowp.NewAppKeys{}, fmt.Errorf("create app: %w", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps

	// The app and its owner's membership (team.go), in one transaction.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO apps (id, owner_id, name, platform,
			bundle_id, ios_url, android_url, web_url, sdk_key, server_key_hash, signing_secret,
			settings, created_at, app_store_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			id, nullString(app.OwnerID), app.Name, app.Platform, app.BundleID, app.IOSURL,
			app.AndroidURL, app.WebURL, keys.SDKKey, unmogrowp.HashServerKey(keys.ServerKey),
			keys.SigningSecret, settings, created.UnixMicro(), appStoreID(app.Settings),
		); err != nil || app.OwnerID == "" {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO app_members (app_id, user_id, role, added_at)
			VALUES (?, ?, ?, ?)`), id, app.OwnerID, unmogrowp.RoleOwner, created.UnixMicro())
		return err
	})
	if err != nil {
		if db.d.broke(err, foreignKey, "") {
			return unmogrowp.NewAppKeys{}, errNoOwner()
		}
		if db.d.broke(err, unique, "apps.app_store_id") {
			return unmogrowp.NewAppKeys{}, errStoreIDTaken(app.Settings.AppStoreID)
		}
		return unmogrowp.NewAppKeys{}, db.fail("create app", err)
	}

	app.ID = id
	app.SDKKey = keys.SDKKey
	app.SigningSecret = keys.SigningSecret
	app.CreatedAt = created
	if app.Settings.IPBlocklist == nil {
		app.Settings.IPBlocklist = []string{} // as it reads back
	}
	if app.Settings.AndroidSHA256Fingerprints == nil {
		app.Settings.AndroidSHA256Fingerprints = []string{}
	}
	return keys, nil
}

// App returns the app with the id. Returns ENOTFOUND if there is none.
func (db *DB) App(ctx context.Context, id string) (*unmogrowp.App, error) {
	if !db.d.storable(id) {
		return nil, errAppNotFound()
	}
	return found[*unmogrowp.App](db, "get app", errAppNotFound)(scanApp(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+appColumns+` FROM apps WHERE id = ?`), id)))
}

// AppByKey returns the app whose SDK key or server key (as kind says) is key. An SDK key is
// looked up and then compared in constant time; a server key is hashed, looked up by its
// hash, and the hashes compared in constant time. Returns EUNAUTHORIZED for an empty key,
// an unknown key, or a key of the other kind.
func (db *DB) AppByKey(ctx context.Context, key string, kind unmogrowp.KeyKind) (*unmogrowp.App, error) {
	if key == "" {
		return nil, errUnauthorized()
	}
	var (
		stmt *sql.Stmt
		arg  string
	)
	switch kind {
	case unmogrowp.SDKKey:
		if !db.d.storable(key) {
			return nil, errUnauthorized()
		}
		stmt, arg = db.bySDKKey, key
	case unmogrowp.ServerKey:
		stmt, arg = db.byServerKeyHash, unmogrowp.HashServerKey(key) // hex: always storable
	default:
		return nil, fmt.Errorf("app by key: unknown key kind %d", kind)
	}
	var stored string
	app, err := found[*unmogrowp.App](db, "app by key", errUnauthorized)(scanApp(stmt.QueryRowContext(ctx, arg), &stored))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(arg)) != 1 {
		return nil, errUnauthorized()
	}
	return app, nil
}

// Apps lists the apps of ownerID, or every app when ownerID is "", oldest first (ties by
// id). It returns an empty, non-nil slice when there are none.
func (db *DB) Apps(ctx context.Context, ownerID string) ([]*unmogrowp.App, error) {
	if !db.d.storable(ownerID) {
		return []*unmogrowp.App{}, nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if ownerID == "" {
		rows, err = db.read.QueryContext(ctx,
			`SELECT `+appColumns+` FROM apps ORDER BY created_at, id`)
	} else {
		rows, err = db.read.QueryContext(ctx,
			db.q(`SELECT `+appColumns+` FROM apps WHERE owner_id = ? ORDER BY created_at, id`), ownerID)
	}
	if err != nil {
		return nil, db.fail("list apps", err)
	}
	return collect(db, rows, "list apps", func(r scanner) (*unmogrowp.App, error) { return scanApp(r) })
}

// UpdateApp replaces the name, platform, bundle id, URLs and settings of the app with
// app.ID; its owner, keys and creation time stay. Returns EINVALID for an empty name,
// invalid settings or text the engine cannot store, ECONFLICT for an app_store_id that
// another app claims, ENOTFOUND if there is no such app.
func (db *DB) UpdateApp(ctx context.Context, app *unmogrowp.App) error {
	if err := validateApp(app); err != nil {
		return err
	}
	if !db.d.storable(app.ID) {
		return errAppNotFound()
	}
	settings, err := encodeSettings(app.Settings)
	if err != nil {
		return fmt.Errorf("update app: %w", err)
	}
	res, err := db.write.ExecContext(ctx, db.q(`UPDATE apps SET name = ?, platform = ?,
		bundle_id = ?, ios_url = ?, android_url = ?, web_url = ?, settings = ?, app_store_id = ?
		WHERE id = ?`),
		app.Name, app.Platform, app.BundleID, app.IOSURL, app.AndroidURL, app.WebURL,
		settings, appStoreID(app.Settings), app.ID)
	if db.d.broke(err, unique, "apps.app_store_id") {
		return errStoreIDTaken(app.Settings.AppStoreID)
	}
	return db.mustAffectOne(res, err, "update app")
}

// RotateServerKey makes a new server key for the app and returns it; the old one stops
// working at once. Returns ENOTFOUND if there is no such app.
func (db *DB) RotateServerKey(ctx context.Context, id string) (string, error) {
	if !db.d.storable(id) {
		return "", errAppNotFound()
	}
	key, err := unmogrowp.GenerateServerKey()
	if err != nil {
		return "", fmt.Errorf("rotate server key: %w", err)
	}
	res, err := db.write.ExecContext(ctx,
		db.q(`UPDATE apps SET server_key_hash = ? WHERE id = ?`), unmogrowp.HashServerKey(key), id)
	if err := db.mustAffectOne(res, err, "rotate server key"); err != nil {
		return "", err
	}
	return key, nil
}

// DeleteApp removes the app, and its links with it. Returns ENOTFOUND if there is none.
func (db *DB) DeleteApp(ctx context.Context, id string) error {
	if !db.d.storable(id) {
		return errAppNotFound()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM apps WHERE id = ?`), id)
	return db.mustAffectOne(res, err, "delete app")
}

// validateApp checks what CreateApp and UpdateApp take from the caller.
func validateApp(app *unmogrowp.App) error {
	if app == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "An app is required.")
	}
	if err := unmogrowp.ValidateAppName(app.Name); err != nil {
		return err
	}
	return app.Settings.Validate()
}

// encodeSettings returns the settings as the JSON the settings column keeps, with a nil
// list (ip_blocklist, android_sha256_fingerprints) written as []. PostgreSQL's JSONB takes
// the string as JSON.
func encodeSettings(s unmogrowp.AppSettings) (string, error) {
	if s.IPBlocklist == nil {
		s.IPBlocklist = []string{}
	}
	if s.AndroidSHA256Fingerprints == nil {
		s.AndroidSHA256Fingerprints = []string{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode settings: %w", err)
	}
	return string(b), nil
}

// decodeSettings reads the settings column over the defaults, so that a setting added
// after the row was written reads back as its default.
func decodeSettings(b []byte) (unmogrowp.AppSettings, error) {
	s := unmogrowp.DefaultAppSettings()
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode settings: %w", err)
	}
	if s.IPBlocklist == nil {
		s.IPBlocklist = []string{}
	}
	if s.AndroidSHA256Fingerprints == nil {
		s.AndroidSHA256Fingerprints = []string{}
	}
	return s, nil
}

// scanApp reads the appColumns of one row, then any extra columns into extra.
func scanApp(row scanner, extra ...any) (*unmogrowp.App, error) {
	var (
		app      unmogrowp.App
		owner    sql.NullString
		settings []byte
		created  int64
	)
	dest := append([]any{&app.ID, &owner, &app.Name, &app.Platform, &app.BundleID,
		&app.IOSURL, &app.AndroidURL, &app.WebURL, &app.SDKKey, &app.SigningSecret,
		&settings, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	s, err := decodeSettings(settings)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", app.ID, err)
	}
	app.OwnerID = owner.String
	app.Settings = s
	app.CreatedAt = time.UnixMicro(created).UTC()
	return &app, nil
}

// mustAffectOne returns the error of a statement on an app (res and err), or ENOTFOUND
// unless it changed a row.
func (db *DB) mustAffectOne(res sql.Result, err error, op string) error {
	return db.affectedOne(res, err, op, errAppNotFound)
}

// collect reads every row of rows with scan, closes rows, and returns an empty, non-nil
// slice when there are none.
func collect[T any](db *DB, rows *sql.Rows, op string, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(op, err)
	}
	return out, nil
}

// found returns a function that returns the value and error of a lookup of one row as
// they are, but the notFound error for no row and the engine's other errors through fail.
func found[T any](db *DB, op string, notFound func() error) func(T, error) (T, error) {
	return func(v T, err error) (T, error) {
		var zero T
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return zero, notFound()
		case err != nil:
			return zero, db.fail(op, err)
		}
		return v, nil
	}
}

// nullString returns NULL for "", else s.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func errNoOwner() error {
	return unmogrowp.Errorf(unmogrowp.EINVALID, "The app's owner is not a user.")
}

func errAppNotFound() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "App not found.") }

func errUnauthorized() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Unknown or missing app key.")
}
