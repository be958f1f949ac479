package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/unmogrowp/unmogrowp"
)

// The stage: rows that readers see at once, before they are durable.
//
// A batch of a few thousand rows committed to a table of the database file goes through
// DuckDB's WAL, and every CheckpointThreshold of WAL a COMMIT checkpoints it into the
// table, for seconds during which no other write commits; rows in a transaction of a row
// group or more are written compressed straight to the file instead, but holding a
// transaction open until it has a row group hides its rows until then. The stage gives
// both: AppendStaged writes a batch into tables of the same columns in an attached
// in-memory database (stageCatalog), where its commit costs no WAL and no checkpoint and
// makes the rows visible at once; CommitHeld later moves the staged rows, with the held
// ones, into the file's tables in one transaction, a row group at a time when the caller
// stages that many.
//
// Readers see both through views: at open the store creates, in the stage's database, a
// view named as each staged table (stagedTables), the file's rows and the staged rows not
// yet moved, and puts that database first on every connection's search path, so every
// query that names the table reads the view. Each staged row carries its batch's number
// (stage_seq); the file's stage_moves holds the last number moved, and the move raises it
// in its own transaction, so a reader sees each row once, in the file or in the stage,
// whichever snapshot it reads. Moved rows are deleted from the stage one move later (a
// reader whose snapshot of the stage predates the delete never needs them) and the stage
// checkpointed, which frees their memory.
//
// Staged rows are not durable: a crash loses them, as it loses a held transaction, and the
// log, whose commit trails the move, has them read again. Only statements that write a
// staged table name the file's catalog (fileTable); every other statement names tables as
// migrations made them.

// stageCatalog is the name of the attached in-memory database that holds the stage and the
// views.
const stageCatalog = "recent"

// stagedTables are the tables Append writes, which the stage shadows.
var stagedTables = []string{"events", "touchpoints", "installs", "skan_postbacks", "device_days", "device_revenue"}

// stage is the store's stage: its writer's connection and what it holds. mu serializes
// its writers; a caller that also holds Store.mu takes it first.
type stage struct {
	mu      sync.Mutex
	conn    *sql.Conn // the stage writer's connection; nil until needed
	seq     int64     // the number of the last batch staged
	moved   int64     // stage_moves: batches up to it are in the file
	deleted int64     // batches up to it are deleted from the stage
	pending []stagedBatch
	scratch scratch
	// lost: a failed move cleared the stage; the next AppendStaged says so once.
	lost bool
}

// stagedBatch is a staged batch's number and the watermarks it raises.
type stagedBatch struct {
	seq   int64
	marks map[int32]int64
}

// setupStage attaches the stage's database, creates its tables and views, and sets every
// connection opened from now on to read through them; it closes the idle connections
// opened before, which read the file's tables only.
func (s *Store) setupStage(ctx context.Context) error {
	if err := s.db.QueryRowContext(ctx, "SELECT current_database()").Scan(&s.fileCatalog); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT through FROM stage_moves").Scan(&s.stage.moved); err != nil {
		return fmt.Errorf("stage: read stage_moves: %w", err)
	}
	s.stage.seq, s.stage.deleted = s.stage.moved, s.stage.moved
	stmts := []string{"ATTACH ':memory:' AS " + stageCatalog}
	for _, t := range stagedTables {
		stmts = append(stmts,
			fmt.Sprintf("CREATE TABLE %s.main.%s_staged AS SELECT *, 0::BIGINT AS stage_seq FROM %s LIMIT 0",
				stageCatalog, t, s.fileTable(t)),
			fmt.Sprintf("CREATE VIEW %[1]s.main.%[2]s AS SELECT * FROM %[3]s UNION ALL "+
				"SELECT * EXCLUDE (stage_seq) FROM %[1]s.main.%[2]s_staged WHERE stage_seq > (SELECT through FROM %[4]s)",
				stageCatalog, t, s.fileTable(t), s.fileTable("stage_moves")))
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("stage: %s: %w", q, err)
		}
	}
	s.searchPath.Store("SET search_path = " + quoteLiteral(stageCatalog+".main,"+quoteIdent(s.fileCatalog)+".main"))
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(2) // database/sql's default
	return nil
}

// fileTable is table t of the database file, qualified: the name to write it by.
func (s *Store) fileTable(t string) string {
	return quoteIdent(s.fileCatalog) + ".main." + t
}

// checkpoint checkpoints the database file (a bare CHECKPOINT would checkpoint the
// stage's database, first on the search path).
func (s *Store) checkpoint(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "CHECKPOINT "+quoteIdent(s.fileCatalog))
	return err
}

// quoteLiteral quotes an SQL string literal.
func quoteLiteral(v string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// AppendStaged writes the batch to the stage in a transaction of its own: once it returns,
// every read sees the batch's rows, but they are not durable, nor their watermarks raised,
// until the next CommitHeld (or Append, or EraseSubject) moves them into the database
// file with the held batches. It runs beside a CommitHeld in progress. On error nothing of
// the batch is staged; a batch staged before is lost only when a move fails (then the
// next AppendStaged fails once, saying so). A crash or Close loses what is staged. After
// Close it returns EUNAVAILABLE.
func (s *Store) AppendStaged(ctx context.Context, b unmogrowp.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	st := &s.stage
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	if st.lost {
		st.lost = false
		return errors.New("stage: the staged batches were lost to a failed move")
	}
	if st.conn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("stage: connection: %w", err)
		}
		st.conn = c
	}
	if _, err := st.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("stage: begin: %w", withCtx(ctx, err))
	}
	w := writer{conn: st.conn, catalog: stageCatalog, suffix: "_staged", seq: st.seq + 1, scratch: &st.scratch}
	err := s.appendTx(ctx, w, &b)
	if err == nil {
		_, err = st.conn.ExecContext(context.Background(), "COMMIT")
	}
	if err != nil {
		s.seen.stale() // device-days taken as stored that are not
		if _, rbErr := st.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			_ = st.conn.Close()
			st.conn = nil
		}
		return fmt.Errorf("stage: %w", withCtx(ctx, err))
	}
	st.seq++
	st.pending = append(st.pending, stagedBatch{st.seq, b.Watermarks(nil)})
	return nil
}

// stagedThrough returns the number of the last batch staged and the watermarks the
// staged batches not yet moved raise; under st.mu, and, for the guarantee that every batch
// staged before one the open transaction holds is among them, under mu.
func (st *stage) stagedThrough() (int64, map[int32]int64) {
	marks := map[int32]int64{}
	for _, p := range st.pending {
		maps.Copy(marks, p.marks) // in order: a later batch's are higher
	}
	return st.seq, marks
}

// moveStaged copies the staged batches after from up to through into the file's tables,
// inside the transaction open on the writer connection, and raises stage_moves to through;
// under mu. Batches staged meanwhile, numbered after through, stay where they are.
func (s *Store) moveStaged(ctx context.Context, from, through int64) error {
	for _, t := range stagedTables {
		q := fmt.Sprintf("INSERT INTO %s SELECT * EXCLUDE (stage_seq) FROM %s.main.%s_staged WHERE stage_seq > ? AND stage_seq <= ?",
			s.fileTable(t), stageCatalog, t)
		if _, err := s.w.ExecContext(ctx, q, from, through); err != nil {
			return fmt.Errorf("move %s from the stage: %w", t, err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE "+s.fileTable("stage_moves")+" SET through = ?", through); err != nil {
		return fmt.Errorf("move from the stage: %w", err)
	}
	return nil
}

// moved notes that the batches up to through are in the file, and deletes from the stage
// those the move before this one moved; under st.mu. A failure is logged: the rows are
// hidden by stage_moves, and the next move deletes them.
func (s *Store) moved(through int64) {
	st := &s.stage
	keep := st.pending[:0]
	for _, p := range st.pending {
		if p.seq > through {
			keep = append(keep, p)
		}
	}
	st.pending = keep
	del := st.moved
	st.moved = through
	if del <= st.deleted || st.conn == nil {
		return
	}
	for _, t := range stagedTables {
		q := fmt.Sprintf("DELETE FROM %s.main.%s_staged WHERE stage_seq <= ?", stageCatalog, t)
		if _, err := st.conn.ExecContext(context.Background(), q, del); err != nil {
			s.log.Warn("delete moved rows from the stage", "err", err)
			return
		}
	}
	st.deleted = del
	if _, err := st.conn.ExecContext(context.Background(), "CHECKPOINT "+stageCatalog); err != nil {
		s.log.Warn("checkpoint the stage", "err", err)
	}
}

// clearStage drops every staged row after a failed move, under st.mu: the log still has
// them, and a restart reads them again.
func (s *Store) clearStage() {
	st := &s.stage
	if st.seq == st.moved {
		return
	}
	st.lost = true
	st.pending = nil
	if st.conn == nil {
		return
	}
	for _, t := range stagedTables {
		q := fmt.Sprintf("DELETE FROM %s.main.%s_staged WHERE stage_seq > ?", stageCatalog, t)
		if _, err := st.conn.ExecContext(context.Background(), q, st.moved); err != nil {
			s.log.Error("clear the stage after a failed move", "err", err)
		}
	}
	st.seq = st.moved
}
