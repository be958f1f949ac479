package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SubjectRequestStore = (*DB)(nil)

// requestColumns are the columns scanRequest reads, in its order.
const requestColumns = `app_id, id, type, regulation, status, identities, callback_urls,
	submitted_at, received_at, expected_at, completed_at, log_purged_by, response, results,
	results_expire, attempts, error`

func errNoRequest() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such subject request.")
}

func scanRequest(row scanner) (*unmogrowp.SubjectRequest, error) {
	var (
		r                                                          unmogrowp.SubjectRequest
		ids, urls                                                  string
		submitted, received, expected, completed, purged, rexpires int64
	)
	if err := row.Scan(&r.AppID, &r.ID, &r.Type, &r.Regulation, &r.Status, &ids, &urls,
		&submitted, &received, &expected, &completed, &purged, &r.Response, &r.Results,
		&rexpires, &r.Attempts, &r.Error); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ids), &r.Identities); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	if err := json.Unmarshal([]byte(urls), &r.CallbackURLs); err != nil {
		return nil, fmt.Errorf("callback urls: %w", err)
	}
	r.Submitted, r.Received, r.Expected = fromMicros(submitted), fromMicros(received), fromMicros(expected)
	r.Completed, r.LogPurgedBy, r.ResultsExpire = fromMicros(completed), fromMicros(purged), fromMicros(rexpires)
	return &r, nil
}

// CreateSubjectRequest implements unmogrowp.SubjectRequestStore: INSERT ... ON CONFLICT DO
// NOTHING, and the tombstones in the same transaction when it inserted.
func (db *DB) CreateSubjectRequest(ctx context.Context, r *unmogrowp.SubjectRequest) (*unmogrowp.SubjectRequest, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if !db.d.storable(r.AppID) || !db.d.storable(r.ID) {
		return nil, false, unmogrowp.Errorf(unmogrowp.EINVALID, "The request's ids must be text.")
	}
	ids, err := json.Marshal(r.Identities)
	if err != nil {
		return nil, false, fmt.Errorf("create subject request: %w", err)
	}
	urls, err := json.Marshal(r.CallbackURLs)
	if err != nil {
		return nil, false, fmt.Errorf("create subject request: %w", err)
	}
	if r.CallbackURLs == nil {
		urls = []byte("[]")
	}
	inserted := false
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`INSERT INTO opendsr_requests (app_id, id, type, regulation,
			status, identities, callback_urls, submitted_at, received_at, expected_at, response)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, id) DO NOTHING`),
			r.AppID, r.ID, r.Type, r.Regulation, unmogrowp.RequestPending, string(ids), string(urls),
			toMicros(r.Submitted), toMicros(r.Received), toMicros(r.Expected), r.Response)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // n == 0: stored already
		}
		inserted = true
		if r.Type != unmogrowp.RequestErasure {
			return nil
		}
		for _, t := range r.Tombstones() {
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO opendsr_tombstones (app_id, field, hash, request_id)
				VALUES (?, ?, ?, ?)`), t.AppID, t.Field, t.Hash, t.RequestID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, db.fail("create subject request", err)
	}
	if !inserted {
		old, err := db.SubjectRequest(ctx, r.AppID, r.ID)
		return old, false, err
	}
	stored, err := db.SubjectRequest(ctx, r.AppID, r.ID)
	return stored, err == nil, err
}

// SubjectRequest implements unmogrowp.SubjectRequestStore.
func (db *DB) SubjectRequest(ctx context.Context, appID, id string) (*unmogrowp.SubjectRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, errNoRequest()
	}
	return found[*unmogrowp.SubjectRequest](db, "read subject request", errNoRequest)(
		scanRequest(db.read.QueryRowContext(ctx, db.q(`SELECT `+requestColumns+`
			FROM opendsr_requests WHERE app_id = ? AND id = ?`), appID, id)))
}

// CancelSubjectRequest implements unmogrowp.SubjectRequestStore.
func (db *DB) CancelSubjectRequest(ctx context.Context, appID, id string) (*unmogrowp.SubjectRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, errNoRequest()
	}
	cancelled := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`UPDATE opendsr_requests SET status = ?
			WHERE app_id = ? AND id = ? AND status = ?`), unmogrowp.RequestCancelled, appID, id, unmogrowp.RequestPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // n == 0: not pending, or no such request
		}
		cancelled = true
		_, err = tx.ExecContext(ctx, db.q(`DELETE FROM opendsr_tombstones WHERE app_id = ? AND request_id = ?`), appID, id)
		return err
	})
	if err != nil {
		return nil, db.fail("cancel subject request", err)
	}
	if !cancelled {
		r, err := db.SubjectRequest(ctx, appID, id)
		if err != nil {
			return nil, err
		}
		return nil, unmogrowp.Errorf(unmogrowp.ECONFLICT, "Only a pending request can be cancelled; this one is %s.", r.Status)
	}
	return db.SubjectRequest(ctx, appID, id)
}

// ClaimSubjectRequest implements unmogrowp.SubjectRequestStore: it reads the oldest
// candidate, then takes it with an UPDATE whose WHERE checks it is still one, so that of
// two claims of one request only one changes it; the other finds nothing this time.
func (db *DB) ClaimSubjectRequest(ctx context.Context, now time.Time, lease time.Duration) (*unmogrowp.SubjectRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var appID, id string
	err := db.read.QueryRowContext(ctx, db.q(`SELECT app_id, id FROM opendsr_requests
		WHERE status IN ('pending', 'in_progress') AND lease_until <= ?
		ORDER BY received_at, app_id, id LIMIT 1`), now.UnixMicro()).Scan(&appID, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, db.fail("claim subject request", err)
	}
	res, err := db.write.ExecContext(ctx, db.q(`UPDATE opendsr_requests
		SET status = ?, lease_until = ?, attempts = attempts + 1
		WHERE app_id = ? AND id = ? AND status IN ('pending', 'in_progress') AND lease_until <= ?`),
		unmogrowp.RequestInProgress, now.Add(lease).UnixMicro(), appID, id, now.UnixMicro())
	if err != nil {
		return nil, db.fail("claim subject request", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, db.fail("claim subject request", err)
	} else if n == 0 {
		return nil, nil // another claim, or a cancellation, came first
	}
	return db.SubjectRequest(ctx, appID, id)
}

// FinishSubjectRequest implements unmogrowp.SubjectRequestStore.
func (db *DB) FinishSubjectRequest(ctx context.Context, r *unmogrowp.SubjectRequest, file []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if r.Status == unmogrowp.RequestCompleted {
			res, err = tx.ExecContext(ctx, db.q(`UPDATE opendsr_requests SET status = ?, completed_at = ?,
				log_purged_by = ?, results = ?, results_expire = ?, error = '', lease_until = 0
				WHERE app_id = ? AND id = ?`), r.Status, toMicros(r.Completed), toMicros(r.LogPurgedBy),
				r.Results, toMicros(r.ResultsExpire), r.AppID, r.ID)
		} else {
			res, err = tx.ExecContext(ctx, db.q(`UPDATE opendsr_requests SET error = ?, lease_until = 0
				WHERE app_id = ? AND id = ?`), r.Error, r.AppID, r.ID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoRequest()
		}
		if file == nil {
			return nil
		}
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO opendsr_files (app_id, request_id, data, expires_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (app_id, request_id) DO UPDATE SET data = excluded.data,
			expires_at = excluded.expires_at`), r.AppID, r.ID, file, toMicros(r.ResultsExpire))
		return err
	})
	return db.fail("finish subject request", err)
}

// SubjectRequestFile implements unmogrowp.SubjectRequestStore.
func (db *DB) SubjectRequestFile(ctx context.Context, appID, id string, now time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	noFile := func() error {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This request has no file, or it has expired.")
	}
	if !db.d.storable(appID) || !db.d.storable(id) {
		return nil, noFile()
	}
	var data []byte
	err := db.read.QueryRowContext(ctx, db.q(`SELECT data FROM opendsr_files
		WHERE app_id = ? AND request_id = ? AND expires_at > ?`), appID, id, now.UnixMicro()).Scan(&data)
	return found[[]byte](db, "read subject request file", noFile)(data, err)
}

// PruneSubjectRequestFiles implements unmogrowp.SubjectRequestStore.
func (db *DB) PruneSubjectRequestFiles(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM opendsr_files WHERE expires_at <= ?`), now.UnixMicro())
	if err != nil {
		return 0, db.fail("prune subject request files", err)
	}
	n, err := res.RowsAffected()
	return int(n), db.fail("prune subject request files", err)
}

// TombstoneVersion implements unmogrowp.SubjectRequestStore: the highest seq and the
// count, which an addition raises and a removal lowers.
func (db *DB) TombstoneVersion(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var top, n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM opendsr_tombstones`).Scan(&top, &n); err != nil {
		return "", db.fail("read tombstone version", err)
	}
	return strconv.FormatInt(top, 10) + "/" + strconv.FormatInt(n, 10), nil
}

// AddTombstones implements unmogrowp.SubjectRequestStore, in one transaction.
func (db *DB) AddTombstones(ctx context.Context, ts []unmogrowp.Tombstone) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		if !db.d.storable(t.AppID) || !db.d.storable(t.RequestID) {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "A tombstone's ids must be text.")
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range ts {
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO opendsr_tombstones (app_id, field, hash, request_id)
				SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM opendsr_tombstones WHERE app_id = ? AND field = ? AND hash = ?)`),
				t.AppID, t.Field, t.Hash, t.RequestID, t.AppID, t.Field, t.Hash); err != nil {
				return err
			}
		}
		return nil
	})
	return db.fail("add tombstones", err)
}

// Tombstones implements unmogrowp.SubjectRequestStore.
func (db *DB) Tombstones(ctx context.Context) ([]unmogrowp.Tombstone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT app_id, field, hash, request_id FROM opendsr_tombstones ORDER BY seq`)
	if err != nil {
		return nil, db.fail("read tombstones", err)
	}
	return collect(db, rows, "read tombstones", func(row scanner) (unmogrowp.Tombstone, error) {
		var t unmogrowp.Tombstone
		err := row.Scan(&t.AppID, &t.Field, &t.Hash, &t.RequestID)
		return t, err
	})
}

// ProcessorKey implements unmogrowp.SubjectRequestStore: the first process to insert its
// pair wins (ON CONFLICT DO NOTHING), and every process reads the row back.
func (db *DB) ProcessorKey(ctx context.Context, generate func() (key, cert []byte, err error)) ([]byte, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	read := func() ([]byte, []byte, error) {
		var key, cert []byte
		err := db.read.QueryRowContext(ctx, `SELECT key, cert FROM opendsr_keys WHERE id = 1`).Scan(&key, &cert)
		return key, cert, err
	}
	key, cert, err := read()
	if err == nil {
		return key, cert, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, db.fail("read processor key", err)
	}
	if key, cert, err = generate(); err != nil {
		return nil, nil, fmt.Errorf("make processor key: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO opendsr_keys (id, key, cert) VALUES (1, ?, ?)
		ON CONFLICT (id) DO NOTHING`), key, cert); err != nil {
		return nil, nil, db.fail("store processor key", err)
	}
	if key, cert, err = read(); err != nil {
		return nil, nil, db.fail("read processor key", err)
	}
	return key, cert, nil
}

// EraseDevices implements unmogrowp.SubjectRequestStore, in one transaction.
func (db *DB) EraseDevices(ctx context.Context, appID string, deviceIDs []string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(deviceIDs))
	for _, id := range deviceIDs {
		if id != "" && db.d.storable(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !db.d.storable(appID) {
		return 0, nil
	}
	var total int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(ids, consentChunk) {
			args, in := appAndIDs(appID, chunk), `(`+values("?", len(chunk))+`)`
			for _, table := range []string{"device_consent", "postback_deliveries"} {
				res, err := tx.ExecContext(ctx, db.q(`DELETE FROM `+table+` WHERE app_id = ? AND device_id IN `+in), args...)
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				total += k
			}
		}
		return nil
	})
	if err != nil {
		return 0, db.fail("erase devices", err)
	}
	return total, nil
}
