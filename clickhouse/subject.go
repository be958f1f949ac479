package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SubjectStore = (*Store)(nil)

// Erasure and access (unmogrowp.SubjectStore). ClickHouse deletes rows with a mutation,
// ALTER TABLE ... DELETE WHERE, which it has run since 1.1.54388 and which 18.16 runs in the
// background: the statement returns at once (18.16 has no mutations_sync), and the server
// then rewrites every data part of the table without the matching rows (18.16 rewrites
// each part, matching rows or not). A read sees a part's rows gone once its new part
// replaces it. EraseSubject therefore waits for system.mutations to list the table's
// mutations as done before it returns: then no part holds the rows.

// mutationPoll is how often EraseSubject looks at system.mutations.
const mutationPoll = 100 * time.Millisecond

// subjectFields are the identity fields each table holds.
var subjectFields = map[string][]string{
	"events": {unmogrowp.FieldDeviceID, unmogrowp.FieldUserID, unmogrowp.FieldIDFA, unmogrowp.FieldGAID,
		unmogrowp.FieldIDFV, unmogrowp.FieldAndroidID},
	"touchpoints": {unmogrowp.FieldDeviceID, unmogrowp.FieldIDFA, unmogrowp.FieldGAID, unmogrowp.FieldAndroidID},
	"installs":    {unmogrowp.FieldDeviceID},
}

// subjectWhere returns the condition that a row of table matches s, with its arguments
// numbered from $1: the app's, and any identity field holding one of s's values (raw, or
// lower(hex(SHA256(field))) for hashed ones), or for touchpoints its id among
// s.TouchpointIDs. ok is false when nothing of the table can match.
func subjectWhere(table string, s *unmogrowp.Subject) (cond string, args []any, ok bool) {
	args = []any{s.AppID}
	var ors []string
	in := func(expr string, vs []string) {
		if len(vs) == 0 {
			return
		}
		marks := make([]string, len(vs))
		for i, v := range vs {
			args = append(args, v)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		ors = append(ors, expr+" IN ("+strings.Join(marks, ", ")+")")
	}
	for _, f := range subjectFields[table] {
		in(f, s.Raw[f])
		in("lower(hex(SHA256("+f+")))", s.Hashed[f])
	}
	if table == "touchpoints" {
		in("touchpoint_id", s.TouchpointIDs)
	}
	if len(ors) == 0 {
		return "", nil, false
	}
	return "app_id = $1 AND (" + strings.Join(ors, " OR ") + ")", args, true
}

// ResolveSubject implements unmogrowp.SubjectStore, as the DuckDB store does: the devices
// whose events match s and their advertising and vendor ids, until no more devices come,
// then the touchpoints their installs were attributed to and their events' ids.
func (s *Store) ResolveSubject(ctx context.Context, sub unmogrowp.Subject) (unmogrowp.Subject, error) {
	if s.closed.Load() {
		return sub, errClosed()
	}
	sub = sub.Clone()
	for round := 0; round < 8; round++ {
		cond, args, ok := subjectWhere("events", &sub)
		if !ok {
			return sub, nil
		}
		before := sub.Size()
		rows, err := s.conn.Query(ctx, `SELECT DISTINCT device_id, idfa, gaid, idfv, android_id FROM events WHERE `+cond, args...)
		if err != nil {
			return sub, fmt.Errorf("resolve subject: %w", classify(ctx, err))
		}
		var d, idfa, gaid, idfv, androidID string
		for rows.Next() {
			if err := rows.Scan(&d, &idfa, &gaid, &idfv, &androidID); err != nil {
				rows.Close()
				return sub, fmt.Errorf("resolve subject: %w", classify(ctx, err))
			}
			sub.Add(unmogrowp.FieldDeviceID, d)
			sub.Add(unmogrowp.FieldIDFA, idfa)
			sub.Add(unmogrowp.FieldGAID, gaid)
			sub.Add(unmogrowp.FieldIDFV, idfv)
			sub.Add(unmogrowp.FieldAndroidID, androidID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sub, fmt.Errorf("resolve subject: %w", classify(ctx, err))
		}
		if sub.Size() == before {
			break
		}
	}
	devices := sub.Raw[unmogrowp.FieldDeviceID]
	if len(devices) == 0 {
		return sub, nil
	}
	var err error
	if sub.TouchpointIDs, err = s.strings1(ctx, `SELECT DISTINCT touchpoint_id FROM installs
		WHERE app_id = $1 AND touchpoint_id <> '' AND has($2, device_id) ORDER BY touchpoint_id`, sub.AppID, devices); err != nil {
		return sub, fmt.Errorf("resolve subject: %w", err)
	}
	if sub.EventIDs, err = s.strings1(ctx, `SELECT DISTINCT event_id FROM events
		WHERE app_id = $1 AND event_id <> '' AND has($2, device_id) ORDER BY event_id`, sub.AppID, devices); err != nil {
		return sub, fmt.Errorf("resolve subject: %w", err)
	}
	return sub, nil
}

// strings1 returns the first column of query's rows.
func (s *Store) strings1(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, classify(ctx, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, classify(ctx, err)
		}
		out = append(out, v)
	}
	return out, classify(ctx, rows.Err())
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
	rows, err := s.conn.Query(ctx, selectTouchpoints+" WHERE "+cond+` ORDER BY touch_time, "partition", "offset"`, args...)
	if err != nil {
		return nil, fmt.Errorf("read subject touchpoints: %w", classify(ctx, err))
	}
	defer rows.Close()
	var out []unmogrowp.Touchpoint
	for rows.Next() {
		var tp unmogrowp.Touchpoint
		if err := scanTouchpoint(rows, &tp); err != nil {
			return nil, fmt.Errorf("read subject touchpoints: %w", classify(ctx, err))
		}
		out = append(out, tp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read subject touchpoints: %w", classify(ctx, err))
	}
	return out, nil
}

// CountSubject implements unmogrowp.SubjectStore: the events, touchpoints and installs
// rows that match, every copy counted (no FINAL), above sub.After when it is set.
func (s *Store) CountSubject(ctx context.Context, sub unmogrowp.Subject) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed()
	}
	var total int64
	for _, table := range []string{"events", "touchpoints", "installs"} {
		cond, args, ok := subjectWhere(table, &sub)
		if !ok {
			continue
		}
		if sub.After != nil {
			c, a := afterWhere(sub.After, len(args))
			cond, args = cond+" AND "+c, append(args, a...)
		}
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("count subject: %w", classify(ctx, err))
		}
		total += int64(n)
	}
	return total, nil
}

// EraseSubject implements unmogrowp.SubjectStore: the rows counted, a mutation per table
// (none when nothing matches), then a wait for every mutation of the three tables to be
// done (see the top of this file). ctx bounds
// the wait; a mutation left running when it ends still completes on the server.
func (s *Store) EraseSubject(ctx context.Context, sub unmogrowp.Subject) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed()
	}
	// A mutation says nothing of the rows it deletes: count them first.
	n, err := s.CountSubject(ctx, sub)
	if err != nil || n == 0 {
		return 0, err
	}
	var tables []string
	for _, table := range []string{"events", "touchpoints", "installs"} {
		cond, args, ok := subjectWhere(table, &sub)
		if !ok {
			continue
		}
		if err := s.conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond, args...); err != nil {
			return 0, fmt.Errorf("erase subject from %s: %w", table, classify(ctx, err))
		}
		tables = append(tables, table)
	}
	t := time.NewTicker(mutationPoll)
	defer t.Stop()
	for {
		var running uint64
		if err := s.conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND has($1, table) AND is_done = 0`, tables).Scan(&running); err != nil {
			return 0, fmt.Errorf("erase subject: read mutations: %w", classify(ctx, err))
		}
		if running == 0 {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("erase subject: wait for %d mutations: %w", running, ctx.Err())
		case <-t.C:
		}
	}
}

// afterWhere is the condition that a row was stored above marks (unmogrowp.Subject.After),
// its placeholders numbered after the k arguments before it.
func afterWhere(marks map[int32]int64, k int) (string, []any) {
	if len(marks) == 0 {
		return "1", nil
	}
	var ors, parts []string
	var args []any
	next := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", k+len(args))
	}
	for p, o := range marks {
		ors = append(ors, `("partition" = `+next(p)+` AND "offset" > `+next(o)+`)`)
	}
	for p := range marks {
		parts = append(parts, next(p))
	}
	ors = append(ors, `"partition" NOT IN (`+strings.Join(parts, ", ")+`)`)
	return "(" + strings.Join(ors, " OR ") + ")", args
}
