package metadata

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"io"
	"io/fs"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

//go:embed postgres/migrations/*.sql
var postgresFiles embed.FS

// postgresDialect is PostgreSQL through pgx v5's database/sql driver. Every connection
// prepares a statement the first time it runs it and reuses it after (pgx's statement
// cache), so that a lookup costs one round trip.
var postgresDialect = dialect{
	name:        "postgres",
	numbered:    true,
	forUpdate:   " FOR UPDATE",
	skipLocked:  " FOR UPDATE SKIP LOCKED",
	migrations:  must(fs.Sub(postgresFiles, "postgres")),
	bigint:      "BIGINT",
	relaxSync:   `SET synchronous_commit = off`,
	restoreSync: `RESET synchronous_commit`, // to the server's or the URL's setting
	broke:       postgresBroke,
	code:        postgresCode,
	storable:    func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) },
	beginMigrations: func(context.Context, *sql.Conn) (func() error, error) {
		return func() error { return nil }, nil
	},
	lockMigrations: postgresLock,
	checkMigration: noop[*sql.Tx], // constraints are checked as each statement runs
	putCosts:       postgresPutCosts,
}

// migrationLock is the key of the advisory lock that serialises migrations: the ASCII of
// "unmogrow". Advisory locks are per database, so stores in other databases of the same
// server never wait for each other.
const migrationLock int64 = 0x756e6d6f67726f77

// SQLSTATEs that the store branches on
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const (
	uniqueViolation          = "23505"
	foreignKeyViolation      = "23503"
	invalidByteSequence      = "22021" // a NUL byte, or text that is not UTF-8
	untranslatableChar       = "22P05" // \u0000 in JSON
	characterNotInRepertoire = "22P06"
)

// openPostgres opens the pool of the PostgreSQL database at rawURL, without connecting.
func openPostgres(_ context.Context, rawURL string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL) // for its pool_* settings
	if err != nil {
		return nil, invalidURL(&postgresDialect, "PostgreSQL", err) // pgconn's message masks the password
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		if o.ConnectTimeout > 0 {
			cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
		}
	}
	if timeout := cmp.Or(o.IOTimeout, DefaultIOTimeout); timeout > 0 {
		dial := cfg.ConnConfig.DialFunc
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &boundedConn{Conn: c, timeout: timeout}, nil
		}
	}
	pool := stdlib.OpenDB(*cfg.ConnConfig)
	pool.SetMaxOpenConns(int(cfg.MaxConns))
	pool.SetMaxIdleConns(int(cfg.MaxConns))
	pool.SetConnMaxLifetime(cfg.MaxConnLifetime)
	pool.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	return &DB{d: &postgresDialect, name: "postgres", write: pool, read: pool,
		logger: o.Logger.With("host", cfg.ConnConfig.Host, "database", cfg.ConnConfig.Database)}, nil
}

// boundedConn is a connection to PostgreSQL on which each Read and Write waits at most
// timeout: pgx bounds a call only by its context, and a call without a deadline (the API's
// and the consumer's) would otherwise wait for ever on a server that stalls, holding the
// pooled connection with it. A deadline pgx sets itself (to interrupt a call whose
// context ended) is kept when it is earlier. An idle pooled connection reads nothing, so
// it never times out.
type boundedConn struct {
	net.Conn
	timeout time.Duration

	mu          sync.Mutex
	read, write time.Time // the deadlines pgx set; zero: none
}

func (c *boundedConn) Read(b []byte) (int, error) {
	if err := c.arm(c.Conn.SetReadDeadline, &c.read); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *boundedConn) Write(b []byte) (int, error) {
	if err := c.arm(c.Conn.SetWriteDeadline, &c.write); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// arm sets, with set, the deadline of the next read or write: timeout from now, or pgx's
// own (*own) when that is earlier.
func (c *boundedConn) arm(set func(time.Time) error, own *time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return set(earlier(time.Now().Add(c.timeout), *own))
}

func (c *boundedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read, c.write = t, t
	return c.Conn.SetDeadline(t)
}

func (c *boundedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = t
	return c.Conn.SetReadDeadline(t)
}

func (c *boundedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write = t
	return c.Conn.SetWriteDeadline(t)
}

// earlier is the earlier of d and set, a deadline that is zero when not set.
func earlier(d, set time.Time) time.Time {
	if !set.IsZero() && set.Before(d) {
		return set
	}
	return d
}

// postgresLock is dialect.lockMigrations: the transaction-scoped advisory lock
// migrationLock, which the transaction's end releases.
func postgresLock(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock)
	return err
}

// pgError returns the PostgreSQL error in err's chain, or nil.
func pgError(err error) *pgconn.PgError {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// isSQLState reports whether err is the server's error with the SQLSTATE code.
func isSQLState(err error, code string) bool {
	e := pgError(err)
	return e != nil && e.Code == code
}

// postgresBroke is dialect.broke: the SQLSTATE tells the kind, and the constraint's name
// the column, by PostgreSQL's default name for a one-column UNIQUE constraint
// (users.email is users_email_key, as the migrations spell them).
func postgresBroke(err error, c constraintKind, column string) bool {
	e := pgError(err)
	if e == nil {
		return false
	}
	switch c {
	case foreignKey:
		return e.Code == foreignKeyViolation
	case unique:
		if e.Code != uniqueViolation {
			return false
		}
	}
	return column == "" || e.ConstraintName == strings.ReplaceAll(column, ".", "_")+"_key"
}

// postgresCode is dialect.code. An error that says the server cannot be reached or cannot
// take the request now (no connection, a connect timeout, the server shutting down or out
// of connections) is EUNAVAILABLE; text that PostgreSQL cannot store (a NUL byte, invalid
// UTF-8) is EINVALID. A canceled context has no code.
func postgresCode(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return nil
	case unavailable(err):
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The metadata database is unavailable; try again later.")
	case isSQLState(err, invalidByteSequence), isSQLState(err, untranslatableChar),
		isSQLState(err, characterNotInRepertoire):
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Text must be valid UTF-8 without NUL characters.")
	}
	return nil
}

// unavailable reports whether err means that the server could not be reached, or cannot
// take requests now.
func unavailable(err error) bool {
	if e := pgError(err); e != nil {
		switch {
		case strings.HasPrefix(e.Code, "08"), // connection exception
			strings.HasPrefix(e.Code, "53"),                         // insufficient resources: too many connections, out of disk
			e.Code == "57P01", e.Code == "57P02", e.Code == "57P03": // shutting down, starting up
			return true
		}
		return false // the server answered: a bad password or database name is not an outage
	}
	var (
		connect *pgconn.ConnectError
		netErr  net.Error
	)
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn)
}
