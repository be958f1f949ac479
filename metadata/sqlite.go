package metadata

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed sqlite/migrations/*.sql
var sqliteFiles embed.FS

// sqliteDialect is SQLite through the pure-Go driver modernc.org/sqlite.
var sqliteDialect = dialect{
	name:            "sqlite",
	migrations:      must(fs.Sub(sqliteFiles, "sqlite")),
	bigint:          "INTEGER",
	relaxSync:       `PRAGMA synchronous = NORMAL`,
	restoreSync:     `PRAGMA synchronous = FULL`, // as sqlitePragmas set it
	broke:           sqliteBroke,
	code:            func(error) error { return nil },
	storable:        func(string) bool { return true }, // any bytes
	beginMigrations: sqliteForeignKeysOff,
	lockMigrations:  noop[*sql.Tx], // BEGIN IMMEDIATE (see sqliteDSN) takes the write lock
	checkMigration:  sqliteForeignKeyCheck,
	putCosts:        sqlitePutCosts,
}

// sqlitePragmas are run by the driver on every new connection, before it is handed out:
// WAL so that readers never block the writer, synchronous=FULL so that a committed
// transaction survives a power loss, foreign keys enforced, and a busy timeout so that a
// second process (or the CLI) waits for the write lock instead of failing at once.
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(ON)",
}

// openSQLite opens the pools of the SQLite file that rest (a sqlite: URL after its scheme)
// names: one connection for writes, whose transactions start with BEGIN IMMEDIATE so that
// they take the write lock up front (no SQLITE_BUSY upgrade failures half way through),
// and a pool of read-only connections. The read pool connects on first use, after the
// migrations: the write connection turns the file into WAL mode and creates the schema, so
// that a read-only connection never has to.
func openSQLite(ctx context.Context, rest string, o Options) (*DB, error) {
	path, err := sqlitePath(rest)
	if err != nil {
		return nil, invalidURL(&sqliteDialect, "SQLite", err)
	}
	// An empty file is an empty database to SQLite: create it readable by its owner alone
	// (it holds password and key hashes), the mode SQLite copies to its -wal and -shm files.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	db := &DB{d: &sqliteDialect, name: "sqlite " + path, logger: o.Logger.With("path", path)}
	if db.write, err = sql.Open("sqlite", sqliteDSN(path, false)); err != nil {
		return nil, fmt.Errorf("open %s: %w", db.name, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	if err := db.write.PingContext(ctx); err != nil { // a missing directory fails here
		db.write.Close()
		return nil, fmt.Errorf("open %s: %w", db.name, err)
	}
	if db.read, err = sql.Open("sqlite", sqliteDSN(path, true)); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open %s: %w", db.name, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxLifetime(0)
	db.read.SetConnMaxIdleTime(0)
	return db, nil
}

// sqliteDSN returns the driver's data source name for path: a plain file name followed by
// the driver's query parameters, which it applies to every connection it opens.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// sqliteBroke is dialect.broke: SQLite's extended result code tells the kind, and its
// message ("UNIQUE constraint failed: users.email") the columns.
func sqliteBroke(err error, c constraintKind, column string) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch code := e.Code(); c {
	case foreignKey:
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	case unique:
		if code != sqlite3.SQLITE_CONSTRAINT_UNIQUE && code != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return false
		}
	}
	if column == "" {
		return true
	}
	_, cols, _ := strings.Cut(e.Error(), " constraint failed: ")
	cols, _, _ = strings.Cut(cols, " (") // the driver appends the code
	return slices.Contains(strings.Split(cols, ", "), column)
}

// sqliteForeignKeysOff is dialect.beginMigrations: foreign keys are off while migrations
// run, so that a migration may rebuild a table that others reference (SQLite's documented
// procedure, https://www.sqlite.org/lang_altertable.html#otheralter); sqliteForeignKeyCheck
// checks them after each one.
func sqliteForeignKeysOff(ctx context.Context, conn *sql.Conn) (func() error, error) {
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return nil, err
	}
	return func() error {
		if _, err := conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`); err != nil {
			return fmt.Errorf("restore foreign keys: %w", err)
		}
		return nil
	}, nil
}

// sqliteForeignKeyCheck is dialect.checkMigration: it refuses rows that break a foreign
// key, which SQLite did not check while the migration ran.
func sqliteForeignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	violation := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if violation {
		return errors.New("leaves rows that break a foreign key")
	}
	return nil
}

// must returns v, and panics if err is not nil: for what is embedded in the binary.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
