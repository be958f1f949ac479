package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/unmogrowp/unmogrowp"
)

// ctxCheckRows is how many rows duckdb-go's appender writes between two looks at the
// context.
const ctxCheckRows = 1024

// Append stores the batch's events, touchpoints and installs and raises the watermarks of
// their partitions in one transaction on the writer connection: DuckDB's appenders (one
// per table the batch has rows for) write into the connection's open transaction, so
// either COMMIT makes all the rows and the watermarks durable together (DuckDB's WAL is
// synced at commit), or ROLLBACK drops them all. Writers take turns. A transaction left
// open by AppendHeld is the one Append writes into and commits, with the batches it holds.
//
// The watermark of a partition becomes the highest offset among the stored events and
// touchpoints; an install has its install event's position and does not move it.
//
// An empty batch is a no-op. A context done before COMMIT starts fails the batch with an
// error that wraps ctx.Err(); once COMMIT starts it is not interrupted, so the outcome is
// never in doubt. After Close it returns EUNAVAILABLE.
//
// Strings are stored as they are when they are valid UTF-8, which ingestion guarantees
// (JSON decoding replaces invalid bytes). Invalid sequences are replaced with U+FFFD the
// same way, rather than failing the batch: duckdb-go's appender would silently store
// NULL instead, and the chunk appender invalid text.
func (s *Store) Append(ctx context.Context, b unmogrowp.Batch) error {
	return s.appendBatch(ctx, &b, true)
}

// AppendHeld writes the batch as Append does into the writer connection's open
// transaction, beginning one when none is open, and leaves it open: its rows are not
// visible to other connections, nor durable, until CommitHeld (or Append) commits every
// batch held since the last commit, and their watermarks with them, in one COMMIT. Held
// batches cost less than a transaction each: a transaction that appends a row group
// (RowGroupRows) or more to a table writes it compressed to the database file, its WAL
// carrying only the place.
//
// EraseSubject commits the held batches before its own transaction, so that it erases
// their rows too. On error the transaction is rolled back: the batch and every batch held
// before it are lost, and the watermarks stay where the last commit left them. A crash or
// Close before the commit loses them the same way; an erasure whose commit of them failed
// makes the next AppendHeld or CommitHeld fail.
func (s *Store) AppendHeld(ctx context.Context, b unmogrowp.Batch) error {
	return s.appendBatch(ctx, &b, false)
}

// appendBatch holds b, then commits everything held if commit says so.
func (s *Store) appendBatch(ctx context.Context, b *unmogrowp.Batch, commit bool) error {
	if b.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.hold(ctx, b); err != nil || !commit {
		return err
	}
	return s.commitHeld(ctx, false)
}

// CommitHeld commits the transaction AppendHeld left open, with the batches AppendStaged
// staged moved into it (stage.go) and the watermarks of both; nothing held or staged, it
// does nothing. It runs on an OS thread of lower CPU priority (niced). A context done
// before COMMIT starts rolls back, with an error that wraps ctx.Err(); once COMMIT starts
// it is not interrupted. On any error every held and staged batch is lost (rolled back,
// dropped). After Close it returns EUNAVAILABLE.
func (s *Store) CommitHeld(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	return niced(func() error { return s.commitHeld(ctx, false) })
}

// hold appends b into the open transaction, beginning one, under mu; on error it rolls
// back everything held.
func (s *Store) hold(ctx context.Context, b *unmogrowp.Batch) error {
	if s.closed.Load() {
		return errClosed()
	}
	if err := s.ready(ctx); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := s.takeHeldLost(); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := s.appendTx(ctx, writer{conn: s.w, catalog: s.fileCatalog, scratch: &s.scratch}, b); err != nil {
		s.rollback()
		return fmt.Errorf("append: %w", withCtx(ctx, err))
	}
	known := s.marks
	if len(s.held) > 0 {
		known = maps.Clone(s.marks)
		maps.Copy(known, s.held)
	}
	maps.Copy(s.held, b.Watermarks(known))
	return nil
}

// ready opens the writer connection and reads the committed watermarks, unless done;
// under mu.
func (s *Store) ready(ctx context.Context) error {
	if s.w == nil {
		w, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("writer connection: %w", err)
		}
		// The writer reads the file's tables, never the stage's views (stage.go): a
		// transaction reads each database from a snapshot taken when it first looks
		// there (for a function, too), and the move at its commit must see every batch
		// staged until then.
		if s.fileCatalog != "" {
			if _, err := w.ExecContext(ctx, "SET search_path = "+quoteLiteral(quoteIdent(s.fileCatalog)+".main")); err != nil {
				_ = w.Raw(func(any) error { return driver.ErrBadConn })
				_ = w.Close()
				return fmt.Errorf("writer connection: %w", err)
			}
		}
		s.w = w
	}
	if s.marks == nil {
		marks, err := s.loadWatermarks(ctx)
		if err != nil {
			return fmt.Errorf("read watermarks: %w", err)
		}
		s.marks = marks
	}
	return nil
}

// takeHeldLost returns an error, once, when held batches were rolled back by another
// writer (heldLost).
func (s *Store) takeHeldLost() error {
	if !s.heldLost {
		return nil
	}
	s.heldLost = false
	return errors.New("append: the held batches were lost to a failed commit before an erasure")
}

// begin begins the held transaction on the writer connection unless one is open.
func (s *Store) begin(ctx context.Context) error {
	if s.held != nil {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", withCtx(ctx, err))
	}
	s.held = map[int32]int64{}
	return nil
}

// rollback ends the open transaction, whatever failed: the watermarks are read again and
// seen reloaded before the next append. If ROLLBACK fails too (as it does after a failed
// COMMIT, which has already ended the transaction) the connection's state is not worth
// guessing: drop it, and the next append opens a new one.
func (s *Store) rollback() {
	s.marks, s.held = nil, nil
	s.seen.stale()
	if _, rbErr := s.w.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
		s.log.Warn("rollback after a failed append; dropping the writer connection", "err", rbErr)
		_ = s.w.Raw(func(any) error { return driver.ErrBadConn })
		_ = s.w.Close()
		s.w = nil
	}
}

// writer is where appendTx writes: a connection with a transaction open, the catalog of
// the tables it writes and the suffix of their names, the batch number each row gets
// (stage_seq) when the tables are the stage's (0 otherwise), and the writer's scratch.
type writer struct {
	conn    *sql.Conn
	catalog string
	suffix  string
	seq     int64
	scratch *scratch
}

// scratch is a writer's buffers, kept from one batch to the next: the chunk appender's
// long strings, and the rows derived from a batch's (installdims.go, activity.go,
// revenue.go).
type scratch struct {
	arena    arena
	instRows []installRow
	instAt   map[unmogrowp.Position]*unmogrowp.Event
	dayRows  []deviceDay
	revRows  []revenueRow
}

// appendTx appends one batch's rows into the transaction open on w; on error the caller
// rolls back. The device-days it writes are taken as stored at once (a rollback reloads
// them).
func (s *Store) appendTx(ctx context.Context, w writer, b *unmogrowp.Batch) error {
	if err := appendRows(ctx, s, w, eventsTable, b.Events, fillEvent, putEvent, eventPos); err != nil {
		return err
	}
	if err := appendRows(ctx, s, w, touchpointsTable, b.Touchpoints, fillTouchpoint, putTouchpoint, touchpointPos); err != nil {
		return err
	}
	sc := w.scratch
	var err error
	if sc.instRows, err = s.installRows(ctx, w, sc.instRows[:0], b); err != nil {
		return err
	}
	if err := appendRows(ctx, s, w, installsTable, sc.instRows, fillInstall, putInstall, installPos); err != nil {
		return err
	}
	if err := appendRows(ctx, s, w, skanTable, b.SKAN, fillSKAN, nil, skanPos); err != nil {
		return err
	}
	if sc.dayRows, err = s.seen.take(ctx, s, sc.dayRows[:0], b.Events); err != nil {
		return err
	}
	if err := appendRows(ctx, s, w, deviceDaysTable, sc.dayRows, fillDeviceDay, putDeviceDay, deviceDayPos); err != nil {
		return err
	}
	sc.revRows = revenueRows(sc.revRows[:0], b.Events)
	return appendRows(ctx, s, w, deviceRevenueTable, sc.revRows, fillRevenue, putRevenue, revenuePos)
}

// commitHeld moves the staged batches into the held transaction (beginning one), raises
// the watermarks of the held and moved batches and commits, under mu, and under the
// stage's mu if stageLocked (else it takes it for a moment, twice); on error it rolls
// back, and drops what was staged.
func (s *Store) commitHeld(ctx context.Context, stageLocked bool) error {
	if err := s.takeHeldLost(); err != nil {
		return err
	}
	st := &s.stage
	lockStage := func() func() {
		if stageLocked {
			return func() {}
		}
		st.mu.Lock()
		return st.mu.Unlock
	}
	unlock := lockStage()
	from, through := st.moved, st.seq
	var gen int
	var staged map[int32]int64
	var rows [len(stagedTables)]int64
	if through > from {
		var err error
		if gen, through, staged, rows, err = s.switchStaged(ctx); err != nil {
			if s.held != nil {
				s.rollback()
			}
			s.clearStage()
			unlock()
			return fmt.Errorf("append: %w", err)
		}
	}
	unlock()
	if s.held == nil && through == from {
		return nil
	}
	err := func() error {
		if err := s.ready(ctx); err != nil {
			return err
		}
		if err := s.begin(ctx); err != nil {
			return err
		}
		if through > from {
			if err := s.moveStaged(ctx, gen, from, through, rows); err != nil {
				return err
			}
			known := maps.Clone(s.marks)
			maps.Copy(known, s.held)
			maps.Copy(s.held, watermarksAbove(staged, known))
		}
		stmts, args := watermarkStatements(s.marks, s.held)
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
		if err := s.commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if err != nil {
		s.log.Error("commit of the held and staged batches failed; they are lost", "err", err)
		if s.held != nil {
			s.rollback()
		}
		unlock := lockStage()
		s.clearStage()
		unlock()
		return fmt.Errorf("append: %w", withCtx(ctx, err))
	}
	maps.Copy(s.marks, s.held)
	s.held = nil
	if through > from {
		unlock := lockStage()
		s.moved(gen, through)
		unlock()
	}
	if err := s.wal.committed(); err != nil {
		// The batch is committed (ROLLBACK cannot undo it), only maybe not durable yet
		// against a power loss: say so, and let the next commit try again.
		s.log.Error("sync the WAL's directory after commit", "err", err)
	}
	return nil
}

// watermarksAbove returns the marks of raised above known's.
func watermarksAbove(raised, known map[int32]int64) map[int32]int64 {
	out := map[int32]int64{}
	for p, o := range raised {
		if k, ok := known[p]; !ok || o > k {
			out[p] = o
		}
	}
	return out
}

// commit commits the transaction open on the writer connection, with execPatiently when
// the connection's handle is within reach (see driverConnHandle), else through
// database/sql.
func (s *Store) commit() error {
	patient := false
	err := s.w.Raw(func(dc any) error {
		h, err := driverConnHandle(dc)
		if err != nil {
			return nil // COMMIT through database/sql below
		}
		patient = true
		return execPatiently(h, "COMMIT")
	})
	if patient {
		return err
	}
	_, err = s.w.ExecContext(context.Background(), "COMMIT")
	return err
}

// How the rows get into DuckDB. Append used to give every value to duckdb-go's Appender
// (appendTable, now the fallback): a type switch, an interface conversion and, for each
// string, a cgo call in which DuckDB checks its UTF-8 and copies it. The chunk appender (chunk.go) writes the values straight into DuckDB's data chunks and
// hands them over 2048 rows at a time, through the same C appender, in the same
// transaction, with the same results: TestAppendHostile compares what both paths store,
// column by column.
//
// BenchmarkAppendBulk (realistic events, touchpoints and installs per transaction) measures
// both paths; BenchmarkAppendSmall measures small batches, where the chunk appender is no
// dearer, so there is no crossover worth a fallback. What is left is DuckDB's own work,
// the same on both paths: copying the chunks and appending them to the transaction's
// storage, COMMIT, and the checkpoint's compression; commit naps while DuckDB's worker
// runs a task rather than spinning (execPatiently). The figures, and the ways of loading
// rows that were tried and dropped (CSV through read_csv, a table function), are in
// docs/performance-analysis.md ("duckdb: how rows get into DuckDB").

// appendRows writes rows into the table t of w's catalog (its name with w's suffix)
// inside the transaction open on w's connection: through the chunk appender (put), or
// duckdb-go's Appender (fill) when s.byValue or put is nil. Rows of the stage get w's
// batch number as their last column. pos names a row's log position in errors. No rows,
// no appender.
func appendRows[T any](ctx context.Context, s *Store, w writer, t table, rows []T,
	fill func([]driver.Value, *T), put func(*chunk, int, *T), pos func(*T) (int32, int64)) error {
	if len(rows) == 0 {
		return nil
	}
	dst := target{catalog: w.catalog, name: t.name + w.suffix, seq: w.seq}
	return w.conn.Raw(func(dc any) error {
		if !s.byValue.Load() && put != nil {
			h, err := driverConnHandle(dc)
			if err == nil {
				return appendChunks(ctx, h, &w.scratch.arena, dst, t, rows, put, pos)
			}
			s.log.Warn("the chunk appender cannot reach the DuckDB connection; appending value by value", "err", err)
			s.byValue.Store(true)
		}
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("appender: unexpected driver connection %T", dc)
		}
		return appendTable(ctx, conn, dst, t, rows, fill, pos)
	})
}

// target is the table an appender writes: its catalog and name, and the batch number its
// rows get as their last column, stage_seq, when it is the stage's (0 when it is not).
type target struct {
	catalog, name string
	seq           int64
}

// appendTable writes rows into dst, a table of t's columns, through an appender on conn:
// fill sets a row's values in the order of t's columns, pos names a row's log position in
// errors. No rows, no appender.
func appendTable[T any](ctx context.Context, conn driver.Conn, dst target, t table, rows []T,
	fill func([]driver.Value, *T), pos func(*T) (int32, int64)) error {
	if len(rows) == 0 {
		return nil
	}
	name := dst.name
	a, err := duckdb.NewAppender(conn, dst.catalog, "", name)
	if err != nil {
		return fmt.Errorf("%s appender: %w", name, err)
	}
	n := len(t.columns)
	row := make([]driver.Value, n, n+1)
	if dst.seq > 0 {
		row = append(row, dst.seq)
	}
	for i := range rows {
		if i%ctxCheckRows == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		fill(row[:n], &rows[i])
		if err = a.AppendRow(row...); err != nil {
			p, o := pos(&rows[i])
			err = fmt.Errorf("append to %s, row %d (partition %d offset %d): %w", name, i, p, o, err)
			break
		}
	}
	if err != nil {
		// Drop what the appender buffered; the caller rolls back what it flushed.
		return errors.Join(err, a.Clear(), a.Close())
	}
	// Close flushes the buffered rows into the table (still inside the transaction).
	if err := a.CloseWithCancel(ctx); err != nil {
		return fmt.Errorf("flush %s appender: %w", name, err)
	}
	return nil
}

func eventPos(e *unmogrowp.Event) (int32, int64)            { return e.Partition, e.Offset }
func touchpointPos(tp *unmogrowp.Touchpoint) (int32, int64) { return tp.Partition, tp.Offset }
func installPos(v *installRow) (int32, int64)               { return v.in.Partition, v.in.Offset }

// watermarkStatements returns the statements that raise the stored watermarks (known,
// the committed ones) to raised, with their arguments. A partition seen for the first
// time gets an INSERT; known ones one UPDATE between them (an UPDATE costs a third of
// INSERT ... ON CONFLICT in DuckDB); partitions whose watermark does not move are left
// out.
func watermarkStatements(known, raised map[int32]int64) (stmts []string, args [][]any) {
	var ins, upd, in strings.Builder
	var insArgs, updArgs, inArgs []any
	for p, o := range raised {
		k, ok := known[p]
		if ok && o <= k {
			continue
		}
		if !ok {
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
	return stmts, args
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
