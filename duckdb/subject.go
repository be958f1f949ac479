package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SubjectStore = (*Store)(nil)

// Erasure and access (unmogrowp.SubjectStore). A subject's rows are found by scanning the
// app's rows for its values: no index but installs' device_id helps, and none is needed
// for a request a day; BenchmarkEraseDevice measures one on a large store.

// subjectFields are the identity fields each table holds.
var subjectFields = map[string][]string{
	"events": {unmogrowp.FieldDeviceID, unmogrowp.FieldUserID, unmogrowp.FieldIDFA, unmogrowp.FieldGAID,
		unmogrowp.FieldIDFV, unmogrowp.FieldAndroidID},
	"touchpoints": {unmogrowp.FieldDeviceID, unmogrowp.FieldIDFA, unmogrowp.FieldGAID, unmogrowp.FieldAndroidID},
	"installs":    {unmogrowp.FieldDeviceID},
}

// subjectWhere returns the condition (with its arguments) that a row of table matches s:
// the app's, and any of its identity fields holding one of s's values (raw, or hashed
// with sha256, which DuckDB writes as lower-case hex), or for touchpoints its id among
// s.TouchpointIDs. ok is false when nothing of the table can match.
func subjectWhere(table string, s *unmogrowp.Subject) (cond string, args []any, ok bool) {
	var ors []string
	in := func(expr string, vs []string) {
		if len(vs) == 0 {
			return
		}
		ors = append(ors, expr+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vs)), ",")+")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	for _, f := range subjectFields[table] {
		in(f, s.Raw[f])
		in("sha256("+f+")", s.Hashed[f])
	}
	if table == "touchpoints" {
		in("touchpoint_id", s.TouchpointIDs)
	}
	if len(ors) == 0 {
		return "", nil, false
	}
	return "app_id = ? AND (" + strings.Join(ors, " OR ") + ")", append([]any{s.AppID}, args...), true
}

// ResolveSubject implements unmogrowp.SubjectStore: it adds to s the devices whose events
// match it, and their advertising and vendor ids (which match their touchpoints, and
// their other device ids after a reinstall), until no more devices come, then the
// touchpoints their installs were attributed to and their events' ids.
func (s *Store) ResolveSubject(ctx context.Context, sub unmogrowp.Subject) (unmogrowp.Subject, error) {
	if s.closed.Load() {
		return sub, errClosed()
	}
	sub = sub.Clone()
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		// Each round reads the events that match: their devices' ids and the ids they
		// carry widen the subject, and once a round widens it no more, its events are
		// every event of the subject's devices, whose ids are the claims to forget.
		converged := false
		var eventIDs []string
		for round := 0; round < 8 && !converged; round++ {
			cond, args, ok := subjectWhere("events", &sub)
			if !ok {
				return nil
			}
			before := sub.Size()
			rows, err := tx.QueryContext(ctx, `SELECT device_id, idfa, gaid, idfv, android_id, event_id FROM events WHERE `+cond, args...)
			if err != nil {
				return err
			}
			eventIDs = eventIDs[:0]
			var d, idfa, gaid, idfv, androidID, eventID string
			for rows.Next() {
				if err := rows.Scan(&d, &idfa, &gaid, &idfv, &androidID, &eventID); err != nil {
					rows.Close()
					return err
				}
				sub.Add(unmogrowp.FieldDeviceID, d)
				sub.Add(unmogrowp.FieldIDFA, idfa)
				sub.Add(unmogrowp.FieldGAID, gaid)
				sub.Add(unmogrowp.FieldIDFV, idfv)
				sub.Add(unmogrowp.FieldAndroidID, androidID)
				if eventID != "" {
					eventIDs = append(eventIDs, eventID)
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			converged = sub.Size() == before
		}
		devices := sub.Raw[unmogrowp.FieldDeviceID]
		if len(devices) == 0 {
			return nil
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(devices)), ",")
		args := []any{sub.AppID}
		for _, d := range devices {
			args = append(args, d)
		}
		var err error
		if sub.TouchpointIDs, err = strings1(ctx, tx, `SELECT DISTINCT touchpoint_id FROM installs
			WHERE app_id = ? AND touchpoint_id <> '' AND device_id IN (`+marks+`) ORDER BY 1`, args); err != nil {
			return err
		}
		if converged {
			slices.Sort(eventIDs)
			sub.EventIDs = slices.Compact(eventIDs)
			return nil
		}
		sub.EventIDs, err = strings1(ctx, tx, `SELECT DISTINCT event_id FROM events
			WHERE app_id = ? AND event_id <> '' AND device_id IN (`+marks+`) ORDER BY 1`, args)
		return err
	})
	if err != nil {
		return sub, fmt.Errorf("resolve subject: %w", withCtx(ctx, err))
	}
	return sub, nil
}

// strings1 returns the first column of query's rows.
func strings1(ctx context.Context, tx *sql.Tx, query string, args []any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SubjectTouchpoints implements unmogrowp.SubjectStore.
func (s *Store) SubjectTouchpoints(ctx context.Context, sub unmogrowp.Subject) ([]unmogrowp.Touchpoint, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	cond, args, ok := subjectWhere("touchpoints", &sub)
	if !ok {
		return nil, nil
	}
	var out []unmogrowp.Touchpoint
	err := s.scanTouchpointsWhere(ctx, cond, args, func(tp *unmogrowp.Touchpoint) error {
		out = append(out, *tp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read subject touchpoints: %w", withCtx(ctx, err))
	}
	return out, nil
}

// CountSubject implements unmogrowp.SubjectStore: the events, touchpoints, installs,
// device_days and device_revenue rows that match.
func (s *Store) CountSubject(ctx context.Context, sub unmogrowp.Subject) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed()
	}
	var total int64
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		for _, q := range subjectStatements("SELECT count(*) FROM ", &sub, func(t string) string { return t }) {
			queries := []statement{q}
			if sub.After != nil {
				if q.derived {
					continue // derived rows have no log position; they go with the events'
				}
				queries = queries[:0]
				conds, args := afterWhere(sub.After)
				for i, c := range conds {
					queries = append(queries, statement{query: q.query + " AND " + c, args: append(slices.Clone(q.args), args[i]...)})
				}
			}
			for _, q := range queries {
				var n int64
				if err := tx.QueryRowContext(ctx, q.query, q.args...).Scan(&n); err != nil {
					return err
				}
				total += n
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count subject: %w", withCtx(ctx, err))
	}
	return total, nil
}

// statement is one query and its arguments.
type statement struct {
	query   string
	args    []any
	derived bool // rows derived from others' (device_days, device_revenue): not counted as the subject's
}

// subjectStatements returns verb (SELECT count(*) FROM, DELETE FROM) over each table's
// rows of sub: events, touchpoints, installs, and device_days and device_revenue by the
// devices' keys.
func subjectStatements(verb string, sub *unmogrowp.Subject, name func(string) string) []statement {
	var out []statement
	for _, table := range []string{"events", "touchpoints", "installs"} {
		if cond, args, ok := subjectWhere(table, sub); ok {
			out = append(out, statement{verb + name(table) + " WHERE " + cond, args, false})
		}
	}
	if devices := sub.Raw[unmogrowp.FieldDeviceID]; len(devices) > 0 {
		args := []any{sub.AppID}
		for _, d := range devices {
			args = append(args, deviceKey(d))
		}
		in := strings.TrimSuffix(strings.Repeat("?,", len(devices)), ",")
		for _, table := range []string{"device_days", "device_revenue"} {
			out = append(out, statement{verb + name(table) + " WHERE app_id = ? AND device_key IN (" + in + ")", args, true})
		}
	}
	return out
}

// EraseSubject implements unmogrowp.SubjectStore: one transaction on the writer's
// connection deletes the rows of every table, after the held and staged batches are
// committed (nothing is staged meanwhile); once it commits, no read sees them. DuckDB
// reclaims their space at its next checkpoint. The count is the events', touchpoints' and
// installs' rows DELETE reports.
func (s *Store) EraseSubject(ctx context.Context, sub unmogrowp.Subject) (int64, error) {
	stmts := subjectStatements("DELETE FROM ", &sub, s.fileTable)
	if len(stmts) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stage.mu.Lock() // nothing is staged until the erasure commits
	defer s.stage.mu.Unlock()
	if s.closed.Load() {
		return 0, errClosed()
	}
	if err := s.ready(ctx); err != nil { // the writer's connection reads the file only
		return 0, fmt.Errorf("erase subject: %w", err)
	}
	// Held and staged batches first: the erasure must reach their rows too, and it
	// deletes from the file's tables.
	if s.held != nil || s.stage.seq > s.stage.moved {
		if err := s.commitHeld(ctx, true); err != nil {
			s.heldLost = true // for the holder's next AppendHeld or CommitHeld to report
			return 0, fmt.Errorf("erase subject: %w", err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return 0, fmt.Errorf("erase subject: begin: %w", withCtx(ctx, err))
	}
	var deleted int64
	err := func() error {
		for _, st := range stmts {
			res, err := s.w.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			if !st.derived {
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				deleted += n
			}
		}
		return s.commit()
	}()
	if err != nil {
		if _, rbErr := s.w.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			s.log.Warn("rollback after a failed erasure; dropping the writer connection", "err", rbErr)
			_ = s.w.Close()
			s.w = nil
		}
		return 0, fmt.Errorf("erase subject: %w", withCtx(ctx, err))
	}
	if err := s.wal.committed(); err != nil {
		s.log.Error("sync the WAL's directory after commit", "err", err)
	}
	return deleted, nil
}

// scanTouchpointsWhere calls fn with each touchpoint that matches cond, by touch time.
func (s *Store) scanTouchpointsWhere(ctx context.Context, cond string, args []any, fn func(*unmogrowp.Touchpoint) error) error {
	return s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, selectTouchpoints+" WHERE "+cond+` ORDER BY touch_time, "partition", "offset"`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var tp unmogrowp.Touchpoint
		for rows.Next() {
			if err := scanTouchpoint(rows, &tp); err != nil {
				return err
			}
			if err := fn(&tp); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// afterWhere returns the conditions that a row was stored above marks
// (unmogrowp.Subject.After), to be counted apart: one per partition, and one per range of
// partitions marks does not name (below the first, between two, above the last). Each is
// a plain conjunction of comparisons, so that DuckDB skips the row groups outside it by
// their min-max index (rows are stored in log order), which an OR or a NOT IN would keep
// it from.
func afterWhere(marks map[int32]int64) (conds []string, args [][]any) {
	if len(marks) == 0 {
		return []string{"true"}, [][]any{nil}
	}
	parts := slices.Sorted(maps.Keys(marks))
	for _, p := range parts {
		conds = append(conds, `"partition" = ? AND "offset" > ?`)
		args = append(args, []any{p, marks[p]})
	}
	conds = append(conds, `"partition" < ?`, `"partition" > ?`)
	args = append(args, []any{parts[0]}, []any{parts[len(parts)-1]})
	for i := 1; i < len(parts); i++ {
		if parts[i] > parts[i-1]+1 {
			conds = append(conds, `"partition" > ? AND "partition" < ?`)
			args = append(args, []any{parts[i-1], parts[i]})
		}
	}
	return conds, args
}
