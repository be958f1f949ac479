package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/unmogrowp/unmogrowp"
)

// columns are the events table's columns in table order, which is the order of the values
// appendRow gives the appender.
var columns = []string{
	"partition", "offset", "event_id", "app_id", "event_type", "device_id", "user_id",
	"session_id", "event_time", "received_at", "platform", "os_version", "app_version",
	"device_model", "country", "language", "idfa", "gaid", "idfv", "android_id", "att_status",
	"install_referrer", "install_begin_at", "revenue", "currency", "ip", "user_agent",
	"attribution", "event_data", "media_source", "campaign",
}

// ctxCheckRows is how many rows the appender writes between two looks at the context.
const ctxCheckRows = 1024

// AppendEvents stores the events and raises the watermarks of their partitions in one
// transaction on the writer connection: DuckDB's appender writes into the connection's
// open transaction, so either COMMIT makes the rows and the watermarks durable together
// (DuckDB's WAL is synced at commit), or ROLLBACK drops both. Writers take turns.
//
// An empty batch is a no-op. A context done before COMMIT starts fails the batch with an
// error that wraps ctx.Err(); once COMMIT starts it is not interrupted, so the outcome is
// never in doubt. After Close it returns EUNAVAILABLE.
//
// Strings are stored as they are when they are valid UTF-8, which ingestion guarantees
// (JSON decoding replaces invalid bytes). Invalid sequences are replaced with U+FFFD the
// same way, rather than failing the batch: DuckDB would silently store NULL instead.
func (s *Store) AppendEvents(ctx context.Context, events []unmogrowp.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	if s.w == nil {
		w, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("append events: writer connection: %w", err)
		}
		s.w = w
	}
	if s.marks == nil {
		marks, err := s.loadWatermarks(ctx)
		if err != nil {
			return fmt.Errorf("append events: read watermarks: %w", err)
		}
		s.marks = marks
	}
	if _, err := s.w.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("append events: begin: %w", withCtx(ctx, err))
	}
	if err := s.appendTx(ctx, events); err != nil {
		// Whatever failed, the transaction ends here, and the watermarks are read again
		// before the next append. If ROLLBACK fails too (as it does after a failed
		// COMMIT, which has already ended the transaction) the connection's state is not
		// worth guessing: drop it, and the next append opens a new one.
		s.marks = nil
		if _, rbErr := s.w.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			s.log.Warn("rollback after a failed append; dropping the writer connection", "err", rbErr)
			_ = s.w.Raw(func(any) error { return driver.ErrBadConn })
			_ = s.w.Close()
			s.w = nil
		}
		return fmt.Errorf("append events: %w", withCtx(ctx, err))
	}
	return nil
}

// appendTx runs one batch's transaction, open on the writer connection, up to and
// including COMMIT; on error the caller rolls back.
func (s *Store) appendTx(ctx context.Context, events []unmogrowp.Event) error {
	if err := s.w.Raw(func(dc any) error { return appendRows(ctx, dc, events) }); err != nil {
		return err
	}
	stmts, args, raised := raiseWatermarks(s.marks, events)
	for i, stmt := range stmts {
		if _, err := s.w.ExecContext(ctx, stmt, args[i]...); err != nil {
			return fmt.Errorf("update watermarks: %w", err)
		}
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(ctx, s.w); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Not ctx: an interrupted COMMIT would leave the caller unsure whether it happened.
	if _, err := s.w.ExecContext(context.Background(), "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for p, o := range raised {
		s.marks[p] = o
	}
	if err := s.wal.committed(); err != nil {
		// The batch is committed (ROLLBACK cannot undo it), only maybe not durable yet
		// against a power loss: say so, and let the next commit try again.
		s.log.Error("sync the WAL's directory after commit", "err", err)
	}
	return nil
}

// appendRows writes the events through an appender on the driver connection dc, inside
// the transaction open on it.
func appendRows(ctx context.Context, dc any, events []unmogrowp.Event) error {
	conn, ok := dc.(driver.Conn)
	if !ok {
		return fmt.Errorf("appender: unexpected driver connection %T", dc)
	}
	a, err := duckdb.NewAppenderFromConn(conn, "", "events")
	if err != nil {
		return fmt.Errorf("appender: %w", err)
	}
	row := make([]driver.Value, len(columns))
	for i := range events {
		if i%ctxCheckRows == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		fillRow(row, &events[i])
		if err = a.AppendRow(row...); err != nil {
			err = fmt.Errorf("append event %d (partition %d offset %d): %w", i, events[i].Partition, events[i].Offset, err)
			break
		}
	}
	if err != nil {
		// Drop what the appender buffered; the caller rolls back what it flushed.
		return errors.Join(err, a.Clear(), a.Close())
	}
	// Close flushes the buffered rows into the table (still inside the transaction).
	if err := a.CloseWithCancel(ctx); err != nil {
		return fmt.Errorf("flush appender: %w", err)
	}
	return nil
}

// fillRow sets row to e's values in the order of columns.
func fillRow(row []driver.Value, e *unmogrowp.Event) {
	row[0] = e.Partition
	row[1] = e.Offset
	row[2] = validUTF8(e.EventID)
	row[3] = validUTF8(e.AppID)
	row[4] = validUTF8(e.EventType)
	row[5] = validUTF8(e.DeviceID)
	row[6] = validUTF8(e.UserID)
	row[7] = validUTF8(e.SessionID)
	row[8] = e.Timestamp
	row[9] = e.ReceivedAt
	row[10] = validUTF8(e.Platform)
	row[11] = validUTF8(e.OSVersion)
	row[12] = validUTF8(e.AppVersion)
	row[13] = validUTF8(e.DeviceModel)
	row[14] = validUTF8(e.Country)
	row[15] = validUTF8(e.Language)
	row[16] = validUTF8(e.IDFA)
	row[17] = validUTF8(e.GAID)
	row[18] = validUTF8(e.IDFV)
	row[19] = validUTF8(e.AndroidID)
	row[20] = validUTF8(e.ATTStatus)
	row[21] = validUTF8(e.InstallReferrer)
	row[22] = nullTime(e.InstallBeginAt)
	row[23] = nil
	if e.HasRevenue {
		row[23] = e.Revenue
	}
	row[24] = validUTF8(e.Currency)
	row[25] = validUTF8(e.IP)
	row[26] = validUTF8(e.UserAgent)
	row[27] = nullJSON(e.Attribution)
	row[28] = nullJSON(e.EventData)
	row[29] = validUTF8(e.MediaSource)
	row[30] = validUTF8(e.Campaign)
}

// validUTF8 returns s, with invalid UTF-8 sequences replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// nullTime is NULL for the zero time, else t.
func nullTime(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullJSON is NULL for an empty document, else its bytes (not copied), made valid UTF-8.
func nullJSON(raw []byte) driver.Value {
	switch {
	case len(raw) == 0:
		return nil
	case utf8.Valid(raw):
		return raw
	}
	return []byte(strings.ToValidUTF8(string(raw), "\uFFFD"))
}

// raiseWatermarks returns the statements that raise the stored watermarks (known, the
// committed ones) to the highest offsets in events, with their arguments, and the raised
// watermarks. A partition seen for the first time gets an INSERT; known ones one UPDATE
// between them (an UPDATE costs a third of INSERT ... ON CONFLICT in DuckDB); partitions
// whose watermark does not move are left out.
func raiseWatermarks(known map[int32]int64, events []unmogrowp.Event) (stmts []string, args [][]any, raised map[int32]int64) {
	raised = map[int32]int64{}
	for i := range events {
		p, o := events[i].Partition, events[i].Offset
		cur, ok := raised[p]
		if !ok {
			cur, ok = known[p]
		}
		if !ok || o > cur {
			raised[p] = o
		}
	}
	var ins, upd, in strings.Builder
	var insArgs, updArgs, inArgs []any
	for p, o := range raised {
		if _, ok := known[p]; !ok {
			if len(insArgs) > 0 {
				ins.WriteString(", ")
			}
			ins.WriteString("(?, ?)")
			insArgs = append(insArgs, p, o)
			continue
		}
		upd.WriteString(" WHEN ? THEN ?::BIGINT")
		updArgs = append(updArgs, p, o)
		if len(inArgs) > 0 {
			in.WriteString(", ")
		}
		in.WriteString("?")
		inArgs = append(inArgs, p)
	}
	if len(insArgs) > 0 {
		stmts = append(stmts, `INSERT INTO log_watermarks ("partition", "offset") VALUES `+ins.String())
		args = append(args, insArgs)
	}
	if len(updArgs) > 0 {
		stmts = append(stmts, `UPDATE log_watermarks SET "offset" = CASE "partition"`+upd.String()+
			` END WHERE "partition" IN (`+in.String()+`)`)
		args = append(args, append(updArgs, inArgs...))
	}
	return stmts, args, raised
}

// loadWatermarks reads the committed watermarks on the writer connection.
func (s *Store) loadWatermarks(ctx context.Context) (map[int32]int64, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT "partition", "offset" FROM log_watermarks`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	marks := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, err
		}
		marks[p] = o
	}
	return marks, rows.Err()
}
