package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.PostbackStore = (*DB)(nil)

// postbackColumns are the columns scanPostback reads, in its order.
const postbackColumns = `id, app_id, name, kind, media_source, send_all, triggers, event_types,
	method, url_template, body_template, headers, secret, enabled, created_at`

// CreatePostback implements unmogrowp.PostbackStore.
func (db *DB) CreatePostback(ctx context.Context, p *unmogrowp.Postback) error {
	if p == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A postback is required.")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if !db.d.storable(p.AppID) {
		return errAppNotFound()
	}
	cols, err := postbackValues(p)
	if err != nil {
		return fmt.Errorf("create postback: %w", err)
	}
	id, err := unmogrowp.NewID(unmogrowp.PostbackIDPrefix)
	if err != nil {
		return fmt.Errorf("create postback: %w", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps
	args := append([]any{id, p.AppID}, cols...)
	args = append(args, created.UnixMicro())
	// One statement: the foreign key tells an unknown app (see CreateLink).
	if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO postbacks (`+postbackColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
		if db.d.broke(err, foreignKey, "") {
			return errAppNotFound()
		}
		return db.fail("create postback", err)
	}
	p.ID, p.CreatedAt = id, created
	normalizePostback(p)
	return nil
}

// Postback implements unmogrowp.PostbackStore.
func (db *DB) Postback(ctx context.Context, appID, id string) (*unmogrowp.Postback, error) {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, errPostbackNotFound()
	}
	return found[*unmogrowp.Postback](db, "get postback", errPostbackNotFound)(scanPostback(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+postbackColumns+` FROM postbacks WHERE id = ? AND app_id = ?`), id, appID)))
}

// Postbacks implements unmogrowp.PostbackStore.
func (db *DB) Postbacks(ctx context.Context, appID string) ([]*unmogrowp.Postback, error) {
	if !db.d.storable(appID) {
		return []*unmogrowp.Postback{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+postbackColumns+` FROM postbacks
		WHERE app_id = ? ORDER BY created_at, id`), appID)
	if err != nil {
		return nil, db.fail("list postbacks", err)
	}
	return collect(db, rows, "list postbacks", scanPostback)
}

// UpdatePostback implements unmogrowp.PostbackStore: it reads the postback and writes it
// back in one transaction that holds its row (SQLite: the write lock from BEGIN).
func (db *DB) UpdatePostback(ctx context.Context, appID, id string, upd unmogrowp.PostbackUpdate) (*unmogrowp.Postback, error) {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, errPostbackNotFound()
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.fail("update postback", err)
	}
	defer tx.Rollback()
	p, err := found[*unmogrowp.Postback](db, "update postback", errPostbackNotFound)(scanPostback(tx.QueryRowContext(ctx,
		db.q(`SELECT `+postbackColumns+` FROM postbacks WHERE id = ? AND app_id = ?`+db.d.forUpdate), id, appID)))
	if err != nil {
		return nil, err
	}
	upd.Apply(p)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cols, err := postbackValues(p)
	if err != nil {
		return nil, fmt.Errorf("update postback: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE postbacks SET name = ?, kind = ?, media_source = ?,
		send_all = ?, triggers = ?, event_types = ?, method = ?, url_template = ?, body_template = ?,
		headers = ?, secret = ?, enabled = ? WHERE id = ? AND app_id = ?`), append(cols, id, appID)...); err != nil {
		return nil, db.fail("update postback", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, db.fail("update postback", err)
	}
	normalizePostback(p)
	return p, nil
}

// DeletePostback implements unmogrowp.PostbackStore.
func (db *DB) DeletePostback(ctx context.Context, appID, id string) error {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return errPostbackNotFound()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM postbacks WHERE id = ? AND app_id = ?`), id, appID)
	return db.affectedOne(res, err, "delete postback", errPostbackNotFound)
}

// postbackValues returns the values of the columns of postbackColumns from name to
// enabled, in their order.
func postbackValues(p *unmogrowp.Postback) ([]any, error) {
	triggers, err := json.Marshal(nonNil(p.Triggers))
	if err != nil {
		return nil, err
	}
	eventTypes, err := json.Marshal(nonNil(p.EventTypes))
	if err != nil {
		return nil, err
	}
	headers := p.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	h, err := json.Marshal(headers)
	if err != nil {
		return nil, err
	}
	return []any{p.Name, p.Kind, p.MediaSource, p.SendAll, string(triggers), string(eventTypes),
		p.Method, p.URLTemplate, p.BodyTemplate, string(h), p.Secret, p.Enabled}, nil
}

// scanPostback reads the postbackColumns of one row.
func scanPostback(row scanner) (*unmogrowp.Postback, error) {
	var (
		p                             unmogrowp.Postback
		triggers, eventTypes, headers string
		created                       int64
	)
	if err := row.Scan(&p.ID, &p.AppID, &p.Name, &p.Kind, &p.MediaSource, &p.SendAll, &triggers,
		&eventTypes, &p.Method, &p.URLTemplate, &p.BodyTemplate, &headers, &p.Secret, &p.Enabled,
		&created); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		text string
		v    any
	}{{"triggers", triggers, &p.Triggers}, {"event_types", eventTypes, &p.EventTypes}, {"headers", headers, &p.Headers}} {
		if err := json.Unmarshal([]byte(c.text), c.v); err != nil {
			return nil, fmt.Errorf("postback %s: decode %s: %w", p.ID, c.name, err)
		}
	}
	p.CreatedAt = time.UnixMicro(created).UTC()
	normalizePostback(&p)
	return &p, nil
}

// normalizePostback makes the lists and map of p non-nil, as they read back.
func normalizePostback(p *unmogrowp.Postback) {
	p.Triggers, p.EventTypes = nonNil(p.Triggers), nonNil(p.EventTypes)
	if p.Headers == nil {
		p.Headers = map[string]string{}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func errPostbackNotFound() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "Postback not found.")
}
