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
// whichever snapshot it reads. Each staged table has two generations: batches are staged
// into one while the other waits; a move switches them, and moves the rows of the one
// written until then. Once the move has committed, that generation is emptied by dropping
// and creating it again in one transaction, which frees its memory at once (a DELETE would
// keep it until a checkpoint of the stage, which costs hundreds of milliseconds and blocks
// the stage's writer). No reader misses the moved rows: the stage is first on every
// reader's search path, so a reader's transaction takes its snapshot of the stage, where
// DuckDB's catalog keeps the dropped generation for a snapshot older than the drop,
// before its snapshot of the file, where stage_moves hides the staged rows the file holds.
//
// Staged rows are not durable: a crash loses them, as it loses a held transaction, and the
// log, whose commit trails the move, has them read again. Only statements that write a
// staged table name the file's catalog (fileTable); every other statement names tables as
// migrations made them. The file's writer connection reads the file only (Store.ready),
// so that the move at the end of its transaction sees every batch staged until then.
// Every move checks that it moved as many rows of each table as were staged.

// stageCatalog is the name of the attached in-memory database that holds the stage and the
// views.
const stageCatalog = "recent"

// stagedTables are the tables Append writes, which the stage shadows; stagedBatch.rows
// counts a batch's rows in each, in this order.
var stagedTables = [...]string{"events", "touchpoints", "installs", "skan_postbacks", "device_days", "device_revenue"}

// stage is the store's stage: its writer's connection and what it holds. mu serializes
// its writers; a caller that also holds Store.mu takes it first.
type stage struct {
	mu    sync.Mutex
	conn  *sql.Conn // the stage writer's connection; nil until needed
	seq   int64     // the number of the last batch staged
	moved int64     // stage_moves: batches up to it are in the file
	gen   int       // the generation batches are staged into, 0 or 1
	// unemptied: a generation holds rows already moved, which a failed drop left there.
	unemptied [2]bool
	pending   []stagedBatch
	scratch   scratch
	// lost: a failed move cleared the stage; the next AppendStaged says so once.
	lost bool
}

// stagedBatch is a staged batch's number, the watermarks it raises, and its rows in each
// of stagedTables.
type stagedBatch struct {
	seq   int64
	marks map[int32]int64
	rows  [len(stagedTables)]int64
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
	s.stage.seq = s.stage.moved
	stmts := []string{"ATTACH ':memory:' AS " + stageCatalog}
	for _, t := range stagedTables {
		stmts = append(stmts, s.createStaged(t, 0), s.createStaged(t, 1),
			fmt.Sprintf("CREATE VIEW %[1]s.main.%[2]s AS SELECT * FROM %[3]s UNION ALL "+
				"SELECT * EXCLUDE (stage_seq) FROM %[4]s WHERE stage_seq > (SELECT through FROM %[6]s) UNION ALL "+
				"SELECT * EXCLUDE (stage_seq) FROM %[5]s WHERE stage_seq > (SELECT through FROM %[6]s)",
				stageCatalog, t, s.fileTable(t), stagedTable(t, 0), stagedTable(t, 1), s.fileTable("stage_moves")))
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

// stagedTable is generation gen of the stage's table for t, qualified.
func stagedTable(t string, gen int) string {
	return fmt.Sprintf("%s.main.%s_staged%d", stageCatalog, t, gen)
}

// createStaged is the statement that creates generation gen of the stage's table for t:
// t's columns, then stage_seq.
func (s *Store) createStaged(t string, gen int) string {
	return fmt.Sprintf("CREATE TABLE %s AS SELECT *, 0::BIGINT AS stage_seq FROM %s LIMIT 0", stagedTable(t, gen), s.fileTable(t))
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
	if err := s.stageConn(ctx); err != nil {
		return err
	}
	if _, err := st.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("stage: begin: %w", withCtx(ctx, err))
	}
	w := writer{conn: st.conn, catalog: stageCatalog, suffix: fmt.Sprintf("_staged%d", st.gen), seq: st.seq + 1, scratch: &st.scratch}
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
	sc := &st.scratch
	st.pending = append(st.pending, stagedBatch{st.seq, b.Watermarks(nil), [len(stagedTables)]int64{int64(len(b.Events)), int64(len(b.Touchpoints)),
		int64(len(sc.instRows)), int64(len(b.SKAN)), int64(len(sc.dayRows)), int64(len(sc.revRows))}})
	return nil
}

// switchStaged readies a move of the batches staged since the last: it stages into the
// other generation from now on (emptying it first if the last move could not), and
// returns the generation to move, the number of the last batch staged, the watermarks of
// the batches to move and their rows in each of stagedTables. Under st.mu, and, for the
// guarantee that every batch staged before one the open transaction holds is among those
// moved, under mu.
func (s *Store) switchStaged(ctx context.Context) (gen int, through int64, marks map[int32]int64, rows [len(stagedTables)]int64, err error) {
	st := &s.stage
	if st.unemptied[1-st.gen] {
		if err := s.emptyStaged(ctx, 1-st.gen); err != nil {
			return 0, 0, nil, rows, err
		}
	}
	gen = st.gen
	st.gen = 1 - gen
	marks = map[int32]int64{}
	for _, p := range st.pending {
		maps.Copy(marks, p.marks) // in order: a later batch's are higher
		for i, n := range p.rows {
			rows[i] += n
		}
	}
	return gen, st.seq, marks, rows, nil
}

// emptyStaged drops generation gen of every staged table and creates it again, in one
// transaction on the stage's connection; under st.mu.
func (s *Store) emptyStaged(ctx context.Context, gen int) error {
	st := &s.stage
	if err := s.stageConn(ctx); err != nil {
		return err
	}
	stmts := []string{"BEGIN TRANSACTION"}
	for _, t := range stagedTables {
		stmts = append(stmts, "DROP TABLE "+stagedTable(t, gen), s.createStaged(t, gen))
	}
	for _, q := range append(stmts, "COMMIT") {
		if _, err := st.conn.ExecContext(ctx, q); err != nil {
			_, _ = st.conn.ExecContext(context.Background(), "ROLLBACK")
			return fmt.Errorf("empty the stage: %w", err)
		}
	}
	return nil
}

// moveStaged copies generation gen's batches after from up to through into the file's
// tables, inside the transaction open on the writer connection, and raises stage_moves to
// through; under mu. want are the rows staged in each of stagedTables: a move that finds
// others fails.
func (s *Store) moveStaged(ctx context.Context, gen int, from, through int64, want [len(stagedTables)]int64) error {
	for i, t := range stagedTables {
		q := fmt.Sprintf("INSERT INTO %s SELECT * EXCLUDE (stage_seq) FROM %s WHERE stage_seq > ? AND stage_seq <= ?",
			s.fileTable(t), stagedTable(t, gen))
		res, err := s.w.ExecContext(ctx, q, from, through)
		if err != nil {
			return fmt.Errorf("move %s from the stage: %w", t, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != want[i] {
			return fmt.Errorf("move %s from the stage: %d rows of batches %d to %d, staged %d (%v)", t, n, from+1, through, want[i], err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE "+s.fileTable("stage_moves")+" SET through = ?", through); err != nil {
		return fmt.Errorf("move from the stage: %w", err)
	}
	return nil
}

// moved notes that the batches up to through, staged in generation gen, are in the file,
// and empties gen; under st.mu.
func (s *Store) moved(gen int, through int64) {
	st := &s.stage
	st.unemptied[gen] = false
	if err := s.emptyStaged(context.Background(), gen); err != nil {
		// Harmless but for the memory: stage_moves hides the rows, and the next switch
		// empties the generation before staging into it.
		st.unemptied[gen] = true
		s.log.Error("empty the stage's moved generation", "err", err)
	}
	keep := st.pending[:0]
	for _, p := range st.pending {
		if p.seq > through {
			keep = append(keep, p)
		}
	}
	st.pending = keep
	st.moved = through
}

// stageConn opens the stage writer's connection unless it is open; under st.mu.
func (s *Store) stageConn(ctx context.Context) error {
	if s.stage.conn != nil {
		return nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("stage: connection: %w", err)
	}
	s.stage.conn = c
	return nil
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
	for gen := range 2 {
		st.unemptied[gen] = false
		if err := s.emptyStaged(context.Background(), gen); err != nil {
			st.unemptied[gen] = true
			s.log.Error("clear the stage after a failed move", "err", err)
		}
	}
	st.seq = st.moved
}
