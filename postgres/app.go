package postgres

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// appColumns are the columns scanApp reads, in its order.
const appColumns = `id, owner_id, name, platform, bundle_id, ios_url, android_url, web_url,
	sdk_key, signing_secret, settings, created_at`

// The queries of AppByKey, each reading the key column it matched after appColumns.
const (
	bySDKKeyQuery        = `SELECT ` + appColumns + `, sdk_key FROM apps WHERE sdk_key = $1`
	byServerKeyHashQuery = `SELECT ` + appColumns + `, server_key_hash FROM apps WHERE server_key_hash = $1`
)

// CreateApp validates the app, fills its ID, SDKKey, SigningSecret and CreatedAt, stores it
// with the hash of a new server key, and returns its keys with the plain server key.
// Returns EINVALID for an empty name, invalid settings, or an OwnerID that names no user.
func (db *DB) CreateApp(ctx context.Context, app *unmogrowp.App) (unmogrowp.NewAppKeys, error) {
	if err := validateApp(app); err != nil {
		return unmogrowp.NewAppKeys{}, err
	}
	settings, err := encodeSettings(app.Settings)
	if err != nil {
		return unmogrowp.NewAppKeys{}, dbError("create app", err)
	}
	id, err := unmogrowp.NewID(unmogrowp.AppIDPrefix)
	if err != nil {
		return unmogrowp.NewAppKeys{}, dbError("create app", err)
	}
	keys, err := unmogrowp.GenerateAppKeys()
	if err != nil {
		return unmogrowp.NewAppKeys{}, dbError("create app", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps

	if _, err := db.pool.Exec(ctx, `INSERT INTO apps (id, owner_id, name, platform,
		bundle_id, ios_url, android_url, web_url, sdk_key, server_key_hash, signing_secret,
		settings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, nullString(app.OwnerID), app.Name, app.Platform, app.BundleID, app.IOSURL,
		app.AndroidURL, app.WebURL, keys.SDKKey, unmogrowp.HashServerKey(keys.ServerKey),
		keys.SigningSecret, settings, created.UnixMicro(),
	); err != nil {
		if isViolation(err, foreignKeyViolation, "") {
			return unmogrowp.NewAppKeys{}, errNoOwner()
		}
		return unmogrowp.NewAppKeys{}, dbError("create app", err)
	}

	app.ID = id
	app.SDKKey = keys.SDKKey
	app.SigningSecret = keys.SigningSecret
	app.CreatedAt = created
	if app.Settings.IPBlocklist == nil {
		app.Settings.IPBlocklist = []string{} // as it reads back
	}
	return keys, nil
}

// App returns the app with the id. Returns ENOTFOUND if there is none.
func (db *DB) App(ctx context.Context, id string) (*unmogrowp.App, error) {
	if !storable(id) {
		return nil, errAppNotFound()
	}
	app, err := scanApp(db.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errAppNotFound()
	}
	if err != nil {
		return nil, dbError("get app", err)
	}
	return app, nil
}

// AppByKey returns the app whose SDK key or server key (as kind says) is key. An SDK key is
// looked up and then compared in constant time; a server key is hashed, looked up by its
// hash, and the hashes compared in constant time. Returns EUNAUTHORIZED for an empty key,
// an unknown key, or a key of the other kind.
func (db *DB) AppByKey(ctx context.Context, key string, kind unmogrowp.KeyKind) (*unmogrowp.App, error) {
	if key == "" {
		return nil, errUnauthorized()
	}
	var query, arg string
	switch kind {
	case unmogrowp.SDKKey:
		if !storable(key) {
			return nil, errUnauthorized()
		}
		query, arg = bySDKKeyQuery, key
	case unmogrowp.ServerKey:
		query, arg = byServerKeyHashQuery, unmogrowp.HashServerKey(key) // hex: always storable
	default:
		return nil, fmt.Errorf("app by key: unknown key kind %d", kind)
	}
	var stored string
	app, err := scanApp(db.pool.QueryRow(ctx, query, arg), &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthorized()
	}
	if err != nil {
		return nil, dbError("app by key", err)
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(arg)) != 1 {
		return nil, errUnauthorized()
	}
	return app, nil
}

// Apps lists the apps of ownerID, or every app when ownerID is "", oldest first (ties by
// id). It returns an empty, non-nil slice when there are none.
func (db *DB) Apps(ctx context.Context, ownerID string) ([]*unmogrowp.App, error) {
	if !storable(ownerID) {
		return []*unmogrowp.App{}, nil
	}
	var (
		rows pgx.Rows
		err  error
	)
	if ownerID == "" {
		rows, err = db.pool.Query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY created_at, id`)
	} else {
		rows, err = db.pool.Query(ctx,
			`SELECT `+appColumns+` FROM apps WHERE owner_id = $1 ORDER BY created_at, id`, ownerID)
	}
	if err != nil {
		return nil, dbError("list apps", err)
	}
	defer rows.Close()
	apps := []*unmogrowp.App{}
	for rows.Next() {
		app, err := scanApp(rows)
		if err != nil {
			return nil, dbError("list apps", err)
		}
		apps = append(apps, app)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list apps", err)
	}
	return apps, nil
}

// UpdateApp replaces the name, platform, bundle id, URLs and settings of the app with
// app.ID; its owner, keys and creation time stay. Returns EINVALID for an empty name or
// invalid settings, ENOTFOUND if there is no such app.
func (db *DB) UpdateApp(ctx context.Context, app *unmogrowp.App) error {
	if err := validateApp(app); err != nil {
		return err
	}
	if !storable(app.ID) {
		return errAppNotFound()
	}
	settings, err := encodeSettings(app.Settings)
	if err != nil {
		return dbError("update app", err)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE apps SET name = $1, platform = $2, bundle_id = $3,
		ios_url = $4, android_url = $5, web_url = $6, settings = $7 WHERE id = $8`,
		app.Name, app.Platform, app.BundleID, app.IOSURL, app.AndroidURL, app.WebURL,
		settings, app.ID)
	if err != nil {
		return dbError("update app", err)
	}
	if tag.RowsAffected() == 0 {
		return errAppNotFound()
	}
	return nil
}

// RotateServerKey makes a new server key for the app and returns it; the old one stops
// working at once. Returns ENOTFOUND if there is no such app.
func (db *DB) RotateServerKey(ctx context.Context, id string) (string, error) {
	if !storable(id) {
		return "", errAppNotFound()
	}
	key, err := unmogrowp.GenerateServerKey()
	if err != nil {
		return "", dbError("rotate server key", err)
	}
	tag, err := db.pool.Exec(ctx,
		`UPDATE apps SET server_key_hash = $1 WHERE id = $2`, unmogrowp.HashServerKey(key), id)
	if err != nil {
		return "", dbError("rotate server key", err)
	}
	if tag.RowsAffected() == 0 {
		return "", errAppNotFound()
	}
	return key, nil
}

// DeleteApp removes the app, and its links with it. Returns ENOTFOUND if there is none.
func (db *DB) DeleteApp(ctx context.Context, id string) error {
	if !storable(id) {
		return errAppNotFound()
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM apps WHERE id = $1`, id)
	if err != nil {
		return dbError("delete app", err)
	}
	if tag.RowsAffected() == 0 {
		return errAppNotFound()
	}
	return nil
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
// ip_blocklist written as []. A json.RawMessage goes to the JSONB parameter as it is.
func encodeSettings(s unmogrowp.AppSettings) (json.RawMessage, error) {
	if s.IPBlocklist == nil {
		s.IPBlocklist = []string{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	return b, nil
}

// decodeSettings reads the settings column over the defaults, so that a setting added
// after the row was written reads back as its default.
func decodeSettings(b []byte) (unmogrowp.AppSettings, error) {
	s := unmogrowp.DefaultAppSettings()
	if err := json.Unmarshal(b, &s); err != nil {
		return s, err
	}
	if s.IPBlocklist == nil {
		s.IPBlocklist = []string{}
	}
	return s, nil
}

// scanApp reads the appColumns of one row, then any extra columns into extra.
func scanApp(row pgx.Row, extra ...any) (*unmogrowp.App, error) {
	var (
		app      unmogrowp.App
		owner    *string
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
		return nil, fmt.Errorf("app %s: decode settings: %w", app.ID, err)
	}
	if owner != nil {
		app.OwnerID = *owner
	}
	app.Settings = s
	app.CreatedAt = time.UnixMicro(created).UTC()
	return &app, nil
}

// nullString returns nil (NULL) for "", else s.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func errNoOwner() error {
	return unmogrowp.Errorf(unmogrowp.EINVALID, "The app's owner is not a user.")
}

func errAppNotFound() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "App not found.") }

func errUnauthorized() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "Unknown or missing app key.")
}
