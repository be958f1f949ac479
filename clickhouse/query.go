package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// selectEvents reads the columns in the order scanEvent expects. FINAL: a row written
// twice (a batch replayed after a crash) is read once.
const selectEvents = `SELECT "partition", "offset", event_id, app_id, event_type, device_id, user_id,
	session_id, event_time, received_at, platform, os_version, app_version, device_model,
	country, language, idfa, gaid, idfv, android_id, att_status, install_referrer,
	install_begin_at, revenue, has_revenue, currency, ip, user_agent, attribution, event_data,
	media_source, campaign
FROM events FINAL`

// Events returns the events that match f, by event time, then partition, then offset. It
// returns EUNAVAILABLE once the store is closed or when the server cannot be reached.
func (s *Store) Events(ctx context.Context, f unmogrowp.EventFilter) ([]unmogrowp.Event, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	where, args := eventWhere(f)
	query := selectEvents + where + ` ORDER BY event_time, "partition", "offset"`
	if f.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", classify(ctx, err))
	}
	defer rows.Close()
	var events []unmogrowp.Event
	for rows.Next() {
		var e unmogrowp.Event
		if err := scanEvent(rows, &e); err != nil {
			return nil, fmt.Errorf("query events: %w", classify(ctx, err))
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query events: %w", classify(ctx, err))
	}
	return events, nil
}

// CountEvents returns how many events match f, ignoring f.Limit. It returns EUNAVAILABLE
// once the store is closed or when the server cannot be reached.
func (s *Store) CountEvents(ctx context.Context, f unmogrowp.EventFilter) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed()
	}
	where, args := eventWhere(f)
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM events FINAL"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", classify(ctx, err))
	}
	return int64(n), nil
}

// eventWhere turns f into a WHERE clause (empty when f selects everything) with its
// arguments ($1, $2, ...). Values are bound, never spliced into the SQL: the driver quotes
// them.
func eventWhere(f unmogrowp.EventFilter) (string, []any) {
	var w where
	if f.AppID != "" {
		w.add("app_id = ", f.AppID)
	}
	if f.DeviceID != "" {
		w.add("device_id = ", f.DeviceID)
	}
	if f.EventType != "" {
		w.add("event_type = ", f.EventType)
	}
	if !f.From.IsZero() {
		w.add("event_time >= ", ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		w.add("event_time < ", ceilMicros(f.To))
	}
	return w.clause(), w.args
}

// where collects the conditions of a WHERE clause, each an expression followed by its
// argument's placeholder.
type where struct {
	conds []string
	args  []any
}

// add appends the condition expr $N, N being arg's place among the arguments.
func (w *where) add(expr string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, expr+"$"+strconv.Itoa(len(w.args)))
}

// raw appends a condition whose placeholders the caller numbered, with their arguments.
func (w *where) raw(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// next is the placeholder the next argument gets.
func (w *where) next(k int) string { return "$" + strconv.Itoa(len(w.args)+k) }

// clause is " WHERE cond AND cond ...", or "" without conditions.
func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// scanner is a row of a query: rows or a single row.
type scanner interface {
	Scan(dest ...any) error
}

// scanEvent reads one row of selectEvents into e.
func scanEvent(row scanner, e *unmogrowp.Event) error {
	var eventTime, receivedAt, installBeginAt int64
	var hasRevenue uint8
	var attribution, eventData string
	err := row.Scan(&e.Partition, &e.Offset, &e.EventID, &e.AppID, &e.EventType, &e.DeviceID,
		&e.UserID, &e.SessionID, &eventTime, &receivedAt, &e.Platform, &e.OSVersion,
		&e.AppVersion, &e.DeviceModel, &e.Country, &e.Language, &e.IDFA, &e.GAID, &e.IDFV,
		&e.AndroidID, &e.ATTStatus, &e.InstallReferrer, &installBeginAt, &e.Revenue, &hasRevenue,
		&e.Currency, &e.IP, &e.UserAgent, &attribution, &eventData, &e.MediaSource, &e.Campaign)
	if err != nil {
		return err
	}
	e.Timestamp, e.ReceivedAt, e.InstallBeginAt = fromMicros(eventTime), fromMicros(receivedAt), fromMicros(installBeginAt)
	e.HasRevenue = hasRevenue != 0
	e.Attribution, e.EventData = rawJSON(attribution), rawJSON(eventData)
	return nil
}

// rawJSON is the stored document s, nil when empty.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}
