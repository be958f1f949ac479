package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.UserStore = (*DB)(nil)

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, email, name, google_subject, created_at`

// CreateUser validates the user (User.Validate, which normalizes the email), fills its ID
// and CreatedAt and stores it with passwordHash. Returns EINVALID for a nil or invalid
// user, ECONFLICT if another user has the email or the Google subject. An ID the caller
// set is replaced.
func (db *DB) CreateUser(ctx context.Context, user *unmogrowp.User, passwordHash string) error {
	if user == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A user is required.")
	}
	if err := user.Validate(); err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil) // holds the write lock from BEGIN: see dsn
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	defer tx.Rollback()
	if err := db.insertUser(ctx, tx, user, passwordHash); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// insertUser checks that the user's email and Google subject are free and inserts the user,
// in tx, filling its ID and CreatedAt.
func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, user *unmogrowp.User, passwordHash string) error {
	var taken bool
	if err := tx.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)`, user.Email).Scan(&taken); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if taken {
		return errEmailTaken()
	}
	if user.GoogleSubject != "" {
		if err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM users WHERE google_subject = ?)`, user.GoogleSubject).Scan(&taken); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if taken {
			return errGoogleTaken()
		}
	}
	id, err := unmogrowp.NewID(unmogrowp.UserIDPrefix)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash,
		google_subject, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, user.Email, user.Name, passwordHash, nullString(user.GoogleSubject), created.UnixMicro(),
	); err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			// The checks above run under the write lock, so this is a backstop only.
			return errEmailTaken()
		}
		return fmt.Errorf("create user: %w", err)
	}
	user.ID = id
	user.CreatedAt = created
	return nil
}

// User returns the user with the id. Returns ENOTFOUND if there is none.
func (db *DB) User(ctx context.Context, id string) (*unmogrowp.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the user with the email, compared after trimming and lower-casing
// it, and their encoded password hash ("" if they have none). Returns ENOTFOUND if there
// is none, an invalid email included.
func (db *DB) UserByEmail(ctx context.Context, email string) (*unmogrowp.User, string, error) {
	email, err := unmogrowp.NormalizeEmail(email)
	if err != nil {
		return nil, "", errUserNotFound()
	}
	var hash string
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`, email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errUserNotFound()
	}
	if err != nil {
		return nil, "", fmt.Errorf("user by email: %w", err)
	}
	return u, hash, nil
}

// UserByGoogleSubject returns the user linked to the Google account. Returns ENOTFOUND if
// there is none.
func (db *DB) UserByGoogleSubject(ctx context.Context, subject string) (*unmogrowp.User, error) {
	if subject == "" {
		return nil, errUserNotFound()
	}
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE google_subject = ?`, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("user by google subject: %w", err)
	}
	return u, nil
}

// GoogleUser returns the user of a verified Google identity, in one write transaction: the
// user linked to its subject; else the user with its email, linked to the subject now if
// Google verified the email; else a new user without a password. Returns EINVALID for an
// empty subject or an invalid email, EFORBIDDEN if the email belongs to a user but Google
// has not verified it, ECONFLICT if that user is linked to another Google account.
func (db *DB) GoogleUser(ctx context.Context, g unmogrowp.GoogleIdentity) (*unmogrowp.User, bool, error) {
	if strings.TrimSpace(g.Subject) == "" {
		return nil, false, unmogrowp.Errorf(unmogrowp.EINVALID, "The Google account has no subject.")
	}
	email, err := unmogrowp.NormalizeEmail(g.Email)
	if err != nil {
		return nil, false, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("google user: %w", err)
	}
	defer tx.Rollback()

	u, err := scanUser(tx.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE google_subject = ?`, g.Subject))
	if err == nil {
		return u, false, nil // read only: the deferred rollback ends the transaction
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("google user: %w", err)
	}

	created := false
	u, err = scanUser(tx.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	switch {
	case err == nil:
		if !g.EmailVerified {
			return nil, false, unmogrowp.Errorf(unmogrowp.EFORBIDDEN,
				"Google has not verified this email address, and an account already uses it; sign in with its password.")
		}
		if u.GoogleSubject != "" {
			return nil, false, unmogrowp.Errorf(unmogrowp.ECONFLICT,
				"The account with this email is linked to another Google account.")
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET google_subject = ? WHERE id = ?`, g.Subject, u.ID); err != nil {
			return nil, false, fmt.Errorf("google user: link: %w", err)
		}
		u.GoogleSubject = g.Subject
	case errors.Is(err, sql.ErrNoRows):
		u = &unmogrowp.User{Email: email, Name: g.Name, GoogleSubject: g.Subject}
		if err := u.Validate(); err != nil {
			return nil, false, err
		}
		if err := db.insertUser(ctx, tx, u, ""); err != nil {
			return nil, false, err
		}
		created = true
	default:
		return nil, false, fmt.Errorf("google user: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("google user: %w", err)
	}
	return u, created, nil
}

// CreateSession stores a session; CreatedAt is set to now if zero. Returns EINVALID for a
// nil session or one without a token hash, a user or an expiry, ENOTFOUND if the user does
// not exist, ECONFLICT if the token hash is already stored.
func (db *DB) CreateSession(ctx context.Context, s *unmogrowp.Session) error {
	if s == nil || s.TokenHash == "" || s.UserID == "" || s.ExpiresAt.IsZero() {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A session needs a token hash, a user and an expiry.")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now().UTC()
	}
	s.CreatedAt = s.CreatedAt.UTC().Truncate(time.Microsecond)
	s.ExpiresAt = s.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := db.write.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at,
		expires_at) VALUES (?, ?, ?, ?)`, s.TokenHash, s.UserID, s.CreatedAt.UnixMicro(), s.ExpiresAt.UnixMicro())
	switch {
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return errUserNotFound()
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY), isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This session token is already in use.")
	case err != nil:
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// UserBySession returns the user of the unexpired session with the token hash. Returns
// EUNAUTHORIZED if there is no such session, or it expired or was revoked.
func (db *DB) UserBySession(ctx context.Context, tokenHash string) (*unmogrowp.User, error) {
	if tokenHash == "" {
		return nil, errBadSession()
	}
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT u.id, u.email, u.name,
		u.google_subject, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, time.Now().UTC().UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadSession()
	}
	if err != nil {
		return nil, fmt.Errorf("user by session: %w", err)
	}
	return u, nil
}

// RevokeSession deletes the session with the token hash. Revoking a session that does not
// exist is not an error.
func (db *DB) RevokeSession(ctx context.Context, tokenHash string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// scanUser reads the userColumns of one row, then any extra columns into extra.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (*unmogrowp.User, error) {
	var (
		u       unmogrowp.User
		google  sql.NullString
		created int64
	)
	if err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &google, &created}, extra...)...); err != nil {
		return nil, err
	}
	u.GoogleSubject = google.String
	u.CreatedAt = time.UnixMicro(created).UTC()
	return &u, nil
}

// isConstraint reports whether err is SQLite's constraint failure with the extended code.
func isConstraint(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == code
}

func errUserNotFound() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "User not found.") }

func errEmailTaken() error {
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "An account with this email already exists.")
}

func errGoogleTaken() error {
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This Google account is linked to another user.")
}

func errBadSession() error {
	return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The session is invalid or has expired; sign in again.")
}
