package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// selectEvents reads the columns in the order scanEvent expects.
const selectEvents = `SELECT "partition", "offset", event_id, app_id, event_type, device_id, user_id,
	session_id, event_time, received_at, platform, os_version, app_version, device_model,
	country, language, idfa, gaid, idfv, android_id, att_status, install_referrer,
	install_begin_at, revenue, currency, ip, user_agent, attribution, event_data,
	media_source, campaign
FROM events`

// Watermarks returns the highest stored offset of each log partition, read from the
// log_watermarks table that Append keeps in step with the events and touchpoints. It
// returns EUNAVAILABLE once the store is closed.
func (s *Store) Watermarks(ctx context.Context) (map[int32]int64, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT "partition", "offset" FROM log_watermarks`)
	if err != nil {
		return nil, fmt.Errorf("read watermarks: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	marks := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("read watermarks: %w", withCtx(ctx, err))
		}
		marks[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read watermarks: %w", withCtx(ctx, err))
	}
	return marks, nil
}

// Events returns the events that match f, by event time, then partition, then offset. It
// returns EUNAVAILABLE once the store is closed.
func (s *Store) Events(ctx context.Context, f unmogrowp.EventFilter) ([]unmogrowp.Event, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	where, args := whereClause(f)
	query := selectEvents + where + ` ORDER BY event_time, "partition", "offset"`
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	var events []unmogrowp.Event
	for rows.Next() {
		var e unmogrowp.Event
		if err := scanEvent(rows, &e); err != nil {
			return nil, fmt.Errorf("query events: %w", withCtx(ctx, err))
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query events: %w", withCtx(ctx, err))
	}
	return events, nil
}

// CountEvents returns how many events match f, ignoring f.Limit. It returns EUNAVAILABLE
// once the store is closed.
func (s *Store) CountEvents(ctx context.Context, f unmogrowp.EventFilter) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed()
	}
	where, args := whereClause(f)
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM events"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", withCtx(ctx, err))
	}
	return n, nil
}

// whereClause turns f into a WHERE clause (empty when f selects everything) with its
// arguments. Values are always bound, never spliced into the SQL.
func whereClause(f unmogrowp.EventFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if f.DeviceID != "" {
		add("device_id = ?", f.DeviceID)
	}
	if f.EventType != "" {
		add("event_type = ?", f.EventType)
	}
	if !f.From.IsZero() {
		add("event_time >= ?", ceilMicro(f.From))
	}
	if !f.To.IsZero() {
		add("event_time < ?", ceilMicro(f.To))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ceilMicro rounds t up to the microsecond, in UTC. Stored times are whole microseconds,
// so for any stored time x: x >= t exactly when x >= ceilMicro(t), and likewise for <.
func ceilMicro(t time.Time) time.Time {
	u := t.UTC().Truncate(time.Microsecond)
	if u.Before(t) {
		u = u.Add(time.Microsecond)
	}
	return u
}

// scanEvent reads one row of selectEvents into e.
func scanEvent(rows *sql.Rows, e *unmogrowp.Event) error {
	var installBeginAt sql.NullTime
	var revenue sql.NullFloat64
	err := rows.Scan(&e.Partition, &e.Offset, &e.EventID, &e.AppID, &e.EventType, &e.DeviceID,
		&e.UserID, &e.SessionID, &e.Timestamp, &e.ReceivedAt, &e.Platform, &e.OSVersion,
		&e.AppVersion, &e.DeviceModel, &e.Country, &e.Language, &e.IDFA, &e.GAID, &e.IDFV,
		&e.AndroidID, &e.ATTStatus, &e.InstallReferrer, &installBeginAt, &revenue, &e.Currency,
		&e.IP, &e.UserAgent, (*[]byte)(&e.Attribution), (*[]byte)(&e.EventData),
		&e.MediaSource, &e.Campaign)
	if err != nil {
		return err
	}
	e.Timestamp, e.ReceivedAt = utc(e.Timestamp), utc(e.ReceivedAt)
	if installBeginAt.Valid {
		e.InstallBeginAt = utc(installBeginAt.Time)
	}
	e.Revenue, e.HasRevenue = revenue.Float64, revenue.Valid
	return nil
}

// utc returns t in UTC, and the zero time for the stored form of the zero time.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// scanner is a *sql.Rows or a *sql.Row.
type scanner interface {
	Scan(dest ...any) error
}

// readTx runs read in a transaction, so that the several queries of one scan see the
// store as it was when the scan started, and rolls it back (it wrote nothing).
func (s *Store) readTx(ctx context.Context, read func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return read(tx)
}

// withCtx adds ctx's error to err when ctx is done and err does not say so already:
// DuckDB reports an interrupted statement as "INTERRUPT Error", without it.
func withCtx(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}
