// Package duckdb is the embedded analytics store: events, touchpoints and install decisions
// in a DuckDB file (or in memory), written through DuckDB's appender and read with SQL. It
// implements unmogrowp.EventStore.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.EventStore = (*Store)(nil)

// DefaultMemoryLimit is the memory DuckDB may use when Options.MemoryLimit is empty: enough
// for appends and for every report on 100 million events in under a second (the LTV
// report, whose figure is 2 s, in a little more; BenchmarkReports, TestReportsAtScale),
// small enough that `unmogrowp serve` stays under 1 GiB. DuckDB fills what it is given:
// past the staged rows and the data not yet checkpointed (up to CheckpointThreshold's
// worth), it keeps the tables' blocks cached. The figures that chose it are in
// docs/performance-analysis.md.
const DefaultMemoryLimit = "448MB"

// DefaultCheckpointThreshold is the WAL size that triggers a checkpoint when
// Options.CheckpointThreshold is empty. Rows that reach a table in a transaction of less
// than a row group go through the WAL, and wait in DuckDB's memory, uncompressed, for the
// checkpoint that compresses them into the file: with the stage, the smaller tables'
// rows, and every row of a pipeline moving less than a row group at a time. While a
// checkpoint writes a table, DuckDB holds that table's lock, and every scan of it that
// starts then waits until the table is written: the threshold bounds that wait (the API's
// reads at 40,000 items/s) as well as that memory. Each checkpoint compresses again the
// partly filled last row group of each table it touches (up to 122,880 rows), so a lower
// threshold costs some CPU (BenchmarkAppend, and `serve` under mixed load;
// docs/performance-analysis.md, "Reads that wait for a checkpoint").
const DefaultCheckpointThreshold = "4MB"

// maxVacuumTasks turns off DuckDB's vacuum of row groups, which at every checkpoint merges
// adjacent row groups that would fit in fewer, decompressing and compressing them again. A
// transaction that writes a row group or more to a table (a move from the stage, a held
// transaction) writes its rows in whole row groups and one partial one; the vacuum then
// rewrote nearly every row group written since the last checkpoint, which stalled the
// stage's writes for seconds (BenchmarkStageMoves; docs/performance-analysis.md). The
// price: a table keeps up to one partial row group per such transaction; a row group that
// is all deleted is still dropped, but the space of rows deleted from a row group that
// keeps others is reclaimed only when DuckDB rewrites it.
const maxVacuumTasks = "0"

// Options configure a Store. The zero value is usable.
type Options struct {
	// Logger receives the store's rare messages (migrations, close). Nil discards them.
	Logger *slog.Logger
	// MemoryLimit caps DuckDB's memory, in DuckDB's notation ("1GB", "512MB"). Empty means
	// DefaultMemoryLimit.
	MemoryLimit string
	// Threads is how many threads DuckDB runs queries on; 0 lets DuckDB choose (one per
	// core).
	Threads int
	// CheckpointThreshold is the WAL size at which DuckDB folds the WAL into the database
	// file, in DuckDB's notation. Empty means DefaultCheckpointThreshold.
	CheckpointThreshold string
}

// Store is the DuckDB event store. It is safe for concurrent use: reads run in parallel on
// a pool of connections; appends are serialized on one dedicated connection.
type Store struct {
	log    *slog.Logger
	db     *sql.DB
	closed atomic.Bool

	mu    sync.Mutex      // serializes writers and Close; guards w and marks
	w     *sql.Conn       // the writer's connection; nil until needed again after a broken one
	marks map[int32]int64 // the committed log_watermarks; nil until read
	// held are the watermarks the batches AppendHeld holds in the open transaction raise;
	// nil when no transaction is open.
	held map[int32]int64
	// heldLost: another writer's commit of the held batches (EraseSubject) failed, and they
	// were rolled back; the holder's next AppendHeld or CommitHeld says so.
	heldLost bool
	wal      *walWatch // nil for an in-memory database

	// attribution is attributionQuery, prepared once: planning it on every call made a
	// lookup slower (BenchmarkAttribution; docs/performance-analysis.md).
	attribution *sql.Stmt

	// scanChunk is about how many rows one query of ScanTouchpoints or ScanDevices reads:
	// defaultScanChunk, smaller in tests.
	scanChunk int

	// exportRows is about how many rows one window of Export reads:
	// unmogrowp.ExportWindowRows when 0, smaller in tests.
	exportRows int64

	// beforeCommit, when set (by tests), runs in Append's (or CommitHeld's) transaction once
	// the rows and watermarks are written and before COMMIT; an error from it aborts the batch.
	beforeCommit func(ctx context.Context, c *sql.Conn) error

	// byValue makes Append write through duckdb-go's Appender, one value at a time, rather
	// than the chunk appender (chunk.go): set by tests and benchmarks, and by Append when
	// the chunk appender cannot reach the connection's handle.
	byValue atomic.Bool
	scratch scratch // the writer connection's, guarded by mu

	seen seenDays // Append's side of device_days (activity.go)

	// The stage (stage.go): fileCatalog is the database file's catalog, searchPath the
	// statement that makes a new connection read through the stage's views ("" until
	// they exist).
	stage       stage
	fileCatalog string
	searchPath  atomic.Value
}

// Open opens the DuckDB database at path, creating it and its directory if needed, and
// brings its schema up to date. An empty path opens a private in-memory database (for
// tests). Only one process may open a file at a time: DuckDB locks it. Within a process,
// open a file once: two Stores on one file would share one DuckDB instance but not their
// writer lock and cached watermarks.
//
// The file is given as a URL, duckdb:relative/file.duckdb or duckdb:///absolute/file.duckdb,
// or as a bare path (unmogrowp.FilePath); another form is EINVALID. The context is not
// used: migrations run to their end, however long.
func Open(_ context.Context, rawURL string, opts Options) (*Store, error) {
	path, err := unmogrowp.FilePath("duckdb", rawURL)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open duckdb: path %q must not contain '?'", path)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.CheckpointThreshold == "" {
		opts.CheckpointThreshold = DefaultCheckpointThreshold
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("open duckdb: threads must not be negative, got %d", opts.Threads)
	}
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open duckdb: %w", err)
		}
	}
	cfg := url.Values{"memory_limit": {opts.MemoryLimit}, "checkpoint_threshold": {opts.CheckpointThreshold}, "max_vacuum_tasks": {maxVacuumTasks}}
	if opts.Threads > 0 {
		cfg.Set("threads", strconv.Itoa(opts.Threads))
	}
	s := &Store{log: opts.Logger.With("store", "duckdb"), scanChunk: defaultScanChunk, seen: seenDays{now: time.Now}}
	s.searchPath.Store("")
	connector, err := duckdb.NewConnector(path+"?"+cfg.Encode(), func(c driver.ExecerContext) error {
		if q := s.searchPath.Load().(string); q != "" {
			_, err := c.ExecContext(context.Background(), q, nil)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb %q: %w", path, err)
	}
	s.db = sql.OpenDB(connector)
	ctx := context.Background()
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(err, s.db.Close())
	}
	if err := s.checkColumns(ctx); err != nil {
		return nil, errors.Join(err, s.db.Close())
	}
	if err := s.setupStage(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open duckdb: %w", err), s.db.Close())
	}
	if err := s.loadSeenDays(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open duckdb: %w", err), s.db.Close())
	}
	if s.wal, err = newWALWatch(path); err != nil {
		return nil, errors.Join(fmt.Errorf("open duckdb: %w", err), s.db.Close())
	}
	if s.attribution, err = s.db.PrepareContext(ctx, attributionQuery); err != nil {
		return nil, errors.Join(fmt.Errorf("open duckdb: %w", err), s.db.Close())
	}
	return s, nil
}

// Ping reports whether the database answers a query. It returns EUNAVAILABLE once the
// store is closed.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed()
	}
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping duckdb: %w", err)
	}
	return nil
}

// Close waits for the append in progress, rolls back the batches AppendHeld holds, drops
// those AppendStaged staged and not moved,
// checkpoints the database (so the next open does not replay the WAL) and releases it. Calls after the first return nil; every other
// method then fails with EUNAVAILABLE.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if s.held != nil {
		s.rollback()
	}
	s.stage.mu.Lock()
	if s.stage.conn != nil {
		if err := s.stage.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the stage's connection: %w", err))
		}
		s.stage.conn = nil
	}
	s.stage.mu.Unlock()
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close writer connection: %w", err))
		}
		s.w = nil
	}
	if err := s.attribution.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close statement: %w", err))
	}
	if err := s.checkpoint(context.Background()); err != nil {
		errs = append(errs, fmt.Errorf("checkpoint: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Error("close duckdb", "err", err)
		return fmt.Errorf("close duckdb: %w", err)
	}
	return nil
}

// errClosed is what every method returns once the store is closed.
func errClosed() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The event store is closed.")
}

// checkColumns verifies that each table the store appends to has exactly the columns its
// appender writes, in that order, so a migration that forgets to update a column list
// fails at open rather than storing values in the wrong columns.
func (s *Store) checkColumns(ctx context.Context) error {
	for _, t := range tables {
		got, err := s.tableColumns(ctx, t.name)
		if err != nil {
			return fmt.Errorf("read %s columns: %w", t.name, err)
		}
		if !slices.Equal(got, t.columns) {
			return fmt.Errorf("%s table has columns %v, the store writes %v", t.name, got, t.columns)
		}
	}
	return nil
}

// tableColumns returns the columns of a table in the store's own database (not one
// ATTACHed beside it) and main schema, in table order.
func (s *Store) tableColumns(ctx context.Context, name string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT column_name FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? ORDER BY column_index`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	return cols, rows.Err()
}

// RowGroupRows is the rows of one DuckDB row group (its default row_group_size). A
// transaction that appends at least this many rows to a table writes them as whole row
// groups, compressed, to the database file as they fill, and its WAL records only where
// they are; a smaller one writes every row to the WAL, and the next checkpoint compresses
// them into the table. Appends in batches of a multiple of it cost about a quarter less
// CPU a row, checkpoints included (docs/performance-analysis.md).
const RowGroupRows = 122_880
