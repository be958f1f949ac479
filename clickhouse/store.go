// Package clickhouse is the distributed analytics store: events, touchpoints and install
// decisions in ClickHouse, written in batches over the native protocol with clickhouse-go
// v2 and read with SQL. It implements unmogrowp.EventStore and unmogrowp.Reports with the
// same answers as package duckdb, on the ClickHouse Debian ships (18.16) as on current
// releases: MergeTree tables, no DateTime64, no window functions, columns named in every
// INSERT.
//
// # Batches without transactions
//
// ClickHouse has no transaction across tables, or across two INSERTs into one table. What
// it does have: an INSERT of one block into a MergeTree table becomes one part, which
// readers see whole or not at all. Append builds on that:
//
//   - it writes the batch's events, touchpoints and installs with one INSERT per table
//     (sent in blocks of a few thousand rows, which the server squashes into one before
//     it writes), the three at once, then the raised watermarks of the batch's log
//     partitions with one INSERT into log_watermarks, last: a batch counts as stored only
//     once all its rows are in;
//   - the three tables are ReplacingMergeTrees whose sorting key ends with the row's log
//     position ("partition", "offset"), and every read says FINAL: a row written again
//     replaces the earlier copy, in every answer right away and on disk at the next merge
//     (FINAL merges the copies at read time: on 18.16 it makes a scan 2 to 4 times
//     slower, in one thread; current releases do it in parallel);
//   - so when a consumer dies mid-batch, the part of the batch it wrote is above the
//     watermark, the pipeline that takes over its log partitions replays the log from the
//     watermark, and the replayed batch replaces what was there. After the replay the
//     store holds the batch once, whole, and the reports count it once.
//
// Several consumer processes write at once, each its own log partitions, so watermarks are
// per partition: log_watermarks keeps a row per partition and write, and readers take
// the highest offset of each partition (a merge keeps only that row).
//
// What a reader may see of a batch being written: each table shows either none or all of
// the batch's rows, but the tables change one after the other (events, touchpoints and
// installs in any order, then the watermarks), so a reader may see a batch's events
// without its touchpoints or installs, and its rows before its watermark moves. After a consumer crash, until the
// replay, a reader may see such part of a batch too, and the watermark does not count it.
// A batch that spans months of event time is one part per month: a reader may see some
// months of it before the others.
//
// A process that lost its partitions but still writes (a zombie) stores rows that a
// replay stores too: they are read once all the same, the later copy winning.
//
// Durability is the server's: ClickHouse acknowledges an INSERT once the part is written
// (replication, when configured, is what survives the loss of a disk).
//
// Report queries live in sql/, one file per query and named after what runs it, as
// package duckdb's do in DuckDB's dialect; the schema is in migrations/, applied at Open
// and tracked in schema_migrations. The tables are local MergeTrees of one server: a
// sharded cluster puts Distributed tables (and Replicated engines) over them.
//
// The store speaks the native protocol (port 9000): clickhouse-go's HTTP transport fails
// its handshake on 18.16, which does not know the client_protocol_version setting it
// sends, while the native protocol negotiates the server's revision.
package clickhouse

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unmogrowp/unmogrowp"
)

var (
	_ unmogrowp.EventStore = (*Store)(nil)
	_ unmogrowp.Reports    = (*Store)(nil)
)

// Defaults of Options.
const (
	DefaultAddr        = "127.0.0.1:9000" // the native protocol's port
	DefaultDatabase    = "unmogrowp"
	DefaultUsername    = "default"
	DefaultDialTimeout = 5 * time.Second
	DefaultReadTimeout = 5 * time.Minute
	DefaultMaxConns    = 10
)

// Options configure a Store. The zero value connects to DefaultAddr as DefaultUsername
// without a password and uses DefaultDatabase. The seed's environment variables map to
// them: CLICKHOUSE_HOST and CLICKHOUSE_PORT to Addr, CLICKHOUSE_DATABASE to Database,
// CLICKHOUSE_USERNAME and CLICKHOUSE_PASSWORD to Username and Password.
type Options struct {
	// Addr lists the servers' host:port of the native protocol (9000); the store connects
	// to the first that answers.
	Addr []string
	// Database is the database of the store's tables; Open creates it when missing.
	Database string
	// Username and Password authenticate with the server.
	Username string
	Password string
	// DialTimeout bounds connecting to a server; ReadTimeout bounds waiting for an
	// answer to a query or an INSERT.
	DialTimeout time.Duration
	ReadTimeout time.Duration
	// MaxConns caps the store's open connections.
	MaxConns int
	// Logger receives the store's rare messages (migrations, close). Nil discards them.
	Logger *slog.Logger
}

// ParseURL returns the Options of a URL of the form
// clickhouse://user:password@host:port[,host:port...]/database, with the defaults for
// what it leaves out. It returns EINVALID for another scheme or a malformed URL.
func ParseURL(raw string) (Options, error) {
	invalid := unmogrowp.Errorf(unmogrowp.EINVALID, "The ClickHouse URL must look like clickhouse://user:password@host:9000/database.")
	// url.Parse takes one host: the list is cut out, and the rest parsed with a stand-in.
	rest, ok := strings.CutPrefix(raw, "clickhouse://")
	if !ok {
		return Options{}, invalid
	}
	authority, path, _ := strings.Cut(rest, "/")
	userinfo, hosts := "", authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, hosts = authority[:at+1], authority[at+1:]
	}
	u, err := url.Parse("clickhouse://" + userinfo + "host/" + path)
	if err != nil || hosts == "" || u.RawQuery != "" || u.Fragment != "" {
		return Options{}, invalid
	}
	var o Options
	for _, addr := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "9000")
		}
		if h, p, _ := net.SplitHostPort(addr); h == "" || p == "" {
			return Options{}, invalid
		}
		o.Addr = append(o.Addr, addr)
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	o.Database = strings.Trim(u.Path, "/")
	return o, nil
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if len(o.Addr) == 0 {
		o.Addr = []string{DefaultAddr}
	}
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if o.Username == "" {
		o.Username = DefaultUsername
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is the ClickHouse event store. It is safe for concurrent use: reads run in
// parallel on a pool of connections; the appends of one Store take turns (several Stores,
// in one process or many, may append at once, to different log partitions).
type Store struct {
	log    *slog.Logger
	conn   chdriver.Conn
	closed atomic.Bool

	mu    sync.Mutex      // serializes appends and Close; guards marks
	marks map[int32]int64 // the stored watermarks as this store knows them; nil until read

	// scanChunk is about how many rows one query of ScanTouchpoints or ScanDevices reads:
	// defaultScanChunk, smaller in tests.
	scanChunk int

	// exportRows is about how many rows one window of Export reads:
	// unmogrowp.ExportWindowRows when 0, smaller in tests.
	exportRows int64

	// beforeMarks, when set (by tests), runs in Append once the rows are written and
	// before the watermarks are; an error from it fails the append there, as a crash
	// would stop it.
	beforeMarks func(ctx context.Context) error
}

// Open connects to the server, creates the database if it does not exist and brings its
// schema up to date. It returns EUNAVAILABLE when no server answers. ctx bounds the
// connection and the migrations.
//
// rawURL, when not empty, is a URL as ParseURL takes it, whose servers, database and
// credentials replace those of opts; the other fields of opts still apply.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if rawURL != "" {
		u, err := ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.Addr, opts.Database, opts.Username, opts.Password = u.Addr, u.Database, u.Username, u.Password
	}
	opts = opts.withDefaults()
	if !validName(opts.Database) {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The ClickHouse database name must be letters, digits and '_'.")
	}
	// The database must exist before a connection can use it as its default.
	admin, err := connect(opts, "default")
	if err != nil {
		return nil, err
	}
	err = admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+opts.Database)
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: create database %s: %w", opts.Database, classify(ctx, err))
	}
	conn, err := connect(opts, opts.Database)
	if err != nil {
		return nil, err
	}
	s := &Store{log: opts.Logger.With("store", "clickhouse"), conn: conn, scanChunk: defaultScanChunk}
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open clickhouse: %w", classify(ctx, err)), conn.Close())
	}
	if err := s.checkColumns(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open clickhouse: %w", classify(ctx, err)), conn.Close())
	}
	return s, nil
}

// connect opens a connection pool to the servers with database as the default database.
func connect(o Options, database string) (chdriver.Conn, error) {
	conn, err := ch.Open(&ch.Options{
		Addr:            o.Addr,
		Auth:            ch.Auth{Database: database, Username: o.Username, Password: o.Password},
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		MaxOpenConns:    o.MaxConns,
		MaxIdleConns:    o.MaxConns,
		ConnMaxLifetime: time.Hour,
		ClientInfo:      ch.ClientInfo{Products: []struct{ Name, Version string }{{Name: "unmogrowp"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", classify(context.Background(), err))
	}
	return conn, nil
}

// validName reports whether name is a plain identifier: letters, digits and '_', not
// starting with a digit. The database name is spliced into DDL, so nothing else passes.
func validName(name string) bool {
	for i, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return name != ""
}

// Ping reports whether the server answers. It returns EUNAVAILABLE when it does not, or
// once the store is closed.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed()
	}
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", classify(ctx, err))
	}
	return nil
}

// Close waits for the append in progress and closes the connections. Calls after the
// first return nil; every other method then fails with EUNAVAILABLE.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.conn.Close(); err != nil {
		s.log.Error("close clickhouse", "err", err)
		return fmt.Errorf("close clickhouse: %w", err)
	}
	return nil
}

// errClosed is what every method returns once the store is closed.
func errClosed() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The event store is closed.")
}

// classify adds to err what callers branch on: ctx's error when ctx is done (the driver
// may report an interrupted query otherwise), and EUNAVAILABLE when the server cannot be
// reached or the connection broke.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, ch.ErrAcquireConnTimeout):
		return fmt.Errorf("%w: %w", unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The ClickHouse server is unavailable."), err)
	}
	return err
}
