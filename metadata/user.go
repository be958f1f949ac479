package metadata

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, email, name, google_subject, created_at`

// googleAttempts is how many times GoogleUser runs its transaction when a concurrent one
// made or linked the same user first.
const googleAttempts = 3

// CreateUser validates the user (User.Validate, which normalizes the email), fills its ID
// and CreatedAt and stores it with passwordHash. Returns EINVALID for a nil or invalid
// user or text the engine cannot store, ECONFLICT if another user has the email or the
// Google subject. An ID the caller set is replaced.
func (db *DB) CreateUser(ctx context.Context, user *unmogrowp.User, passwordHash string) error {
	if user == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A user is required.")
	}
	if err := user.Validate(); err != nil {
		return err
	}
	err := db.insertUser(ctx, db.write, user, passwordHash)
	if db.d.broke(err, unique, "users.google_subject") {
		// Both taken: the email is named, whichever constraint the engine checked first.
		if _, _, e := db.UserByEmail(ctx, user.Email); e == nil {
			return errEmailTaken()
		}
	}
	return db.userError("create user", err)
}

// execer is what insertUser runs on: the write pool, or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertUser inserts the user, filling its ID and CreatedAt on success. The unique
// constraints decide, atomically, whether the email and the Google subject are free: a
// duplicate is the engine's unique violation, which userError turns into ECONFLICT.
func (db *DB) insertUser(ctx context.Context, q execer, user *unmogrowp.User, passwordHash string) error {
	id, err := unmogrowp.NewID(unmogrowp.UserIDPrefix)
	if err != nil {
		return err
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps
	if _, err := q.ExecContext(ctx, db.q(`INSERT INTO users (id, email, name, password_hash,
		google_subject, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		id, user.Email, user.Name, passwordHash, nullString(user.GoogleSubject), created.UnixMicro(),
	); err != nil {
		return err
	}
	user.ID = id
	user.CreatedAt = created
	return nil
}

// userError turns a unique violation of users into ECONFLICT, naming what is taken, and
// wraps any other error as fail does.
func (db *DB) userError(op string, err error) error {
	switch {
	case db.d.broke(err, unique, "users.google_subject"):
		return errGoogleTaken()
	case db.d.broke(err, unique, ""):
		return errEmailTaken() // users.email, or the primary key (80 random bits: never)
	}
	return db.fail(op, err)
}

// User returns the user with the id. Returns ENOTFOUND if there is none.
func (db *DB) User(ctx context.Context, id string) (*unmogrowp.User, error) {
	return db.userBy(ctx, "get user", `id = ?`, id)
}

// UserByEmail returns the user with the email, compared after trimming and lower-casing
// it, and their encoded password hash ("" if they have none). Returns ENOTFOUND if there
// is none, an invalid email included.
func (db *DB) UserByEmail(ctx context.Context, email string) (*unmogrowp.User, string, error) {
	email, err := unmogrowp.NormalizeEmail(email)
	if err != nil || !db.d.storable(email) {
		return nil, "", errUserNotFound()
	}
	var hash string
	u, err := found[*unmogrowp.User](db, "user by email", errUserNotFound)(scanUser(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`), email), &hash))
	if err != nil {
		return nil, "", err
	}
	return u, hash, nil
}

// UserByGoogleSubject returns the user linked to the Google account. Returns ENOTFOUND if
// there is none.
func (db *DB) UserByGoogleSubject(ctx context.Context, subject string) (*unmogrowp.User, error) {
	if subject == "" {
		return nil, errUserNotFound()
	}
	return db.userBy(ctx, "user by google subject", `google_subject = ?`, subject)
}

// userBy returns the user for which where, with the one argument arg, holds. Returns
// ENOTFOUND if there is none.
func (db *DB) userBy(ctx context.Context, op, where, arg string) (*unmogrowp.User, error) {
	if !db.d.storable(arg) {
		return nil, errUserNotFound()
	}
	return found[*unmogrowp.User](db, op, errUserNotFound)(scanUser(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+userColumns+` FROM users WHERE `+where), arg)))
}

// GoogleUser returns the user of a verified Google identity, in one transaction: the user
// linked to its subject; else the user with its email, linked to the subject now if Google
// verified the email; else a new user without a password. Returns EINVALID for an empty
// subject or an invalid email, EFORBIDDEN if the email belongs to a user but Google has
// not verified it, ECONFLICT if that user is linked to another Google account.
//
// Two sign-ins of the same new Google account at once (in two api processes, say) both
// find no user and both insert one; the second insert breaks a unique constraint. Its
// transaction is then run again, and finds the user that the first made: both sign-ins
// get the same user. (SQLite runs one write transaction at a time, so there it never
// comes to that.)
func (db *DB) GoogleUser(ctx context.Context, g unmogrowp.GoogleIdentity) (*unmogrowp.User, bool, error) {
	if strings.TrimSpace(g.Subject) == "" {
		return nil, false, unmogrowp.Errorf(unmogrowp.EINVALID, "The Google account has no subject.")
	}
	email, err := unmogrowp.NormalizeEmail(g.Email)
	if err != nil {
		return nil, false, err
	}
	for attempt := 1; ; attempt++ {
		u, created, err := db.googleUser(ctx, g, email)
		if attempt < googleAttempts && db.d.broke(err, unique, "") {
			continue
		}
		if err != nil {
			return nil, false, db.userError("google user", err)
		}
		return u, created, nil
	}
}

// googleUser is one attempt of GoogleUser's transaction, with the email normalized. A
// unique violation is returned as the engine's error, for GoogleUser to retry.
func (db *DB) googleUser(ctx context.Context, g unmogrowp.GoogleIdentity, email string) (*unmogrowp.User, bool, error) {
	tx, err := db.write.BeginTx(ctx, nil) // SQLite: holds the write lock from BEGIN
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback() // a no-op after Commit

	u, err := scanUser(tx.QueryRowContext(ctx,
		db.q(`SELECT `+userColumns+` FROM users WHERE google_subject = ?`), g.Subject))
	if err == nil {
		return u, false, nil // read only: the deferred rollback ends the transaction
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}

	// FOR UPDATE: the user cannot be linked to another account, or removed, between this
	// read and the update below.
	created := false
	u, err = scanUser(tx.QueryRowContext(ctx,
		db.q(`SELECT `+userColumns+` FROM users WHERE email = ?`+db.d.forUpdate), email))
	switch {
	case err == nil:
		if !g.EmailVerified {
			return nil, false, unmogrowp.Errorf(unmogrowp.EFORBIDDEN,
				"Google has not verified this email address, and an account already uses it; sign in with its password.")
		}
		if u.GoogleSubject == g.Subject {
			return u, false, nil // linked by a concurrent sign-in after the first read
		}
		if u.GoogleSubject != "" {
			return nil, false, unmogrowp.Errorf(unmogrowp.ECONFLICT,
				"The account with this email is linked to another Google account.")
		}
		if _, err := tx.ExecContext(ctx,
			db.q(`UPDATE users SET google_subject = ? WHERE id = ?`), g.Subject, u.ID); err != nil {
			return nil, false, err
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
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, err
	}
	return u, created, nil
}

// CreateSession stores a session, filling its ID; CreatedAt is set to now if zero, and
// LastSeenAt to CreatedAt. Returns EINVALID for a nil session or one without a token
// hash, a user or an expiry, or text the engine cannot store, ENOTFOUND if the user does
// not exist, ECONFLICT if the token hash is already stored.
func (db *DB) CreateSession(ctx context.Context, s *unmogrowp.Session) error {
	if s == nil || s.TokenHash == "" || s.UserID == "" || s.ExpiresAt.IsZero() {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A session needs a token hash, a user and an expiry.")
	}
	if !db.d.storable(s.UserID) {
		return errUserNotFound()
	}
	s.UserAgent, s.IP = truncateUTF8(s.UserAgent, unmogrowp.MaxSessionUserAgentLen), truncateUTF8(s.IP, 64)
	if !db.d.storable(s.TokenHash) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A session's fields must be valid UTF-8 text.")
	}
	id, err := unmogrowp.NewID(unmogrowp.SessionIDPrefix)
	if err != nil {
		return err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now().UTC()
	}
	s.CreatedAt = s.CreatedAt.UTC().Truncate(time.Microsecond)
	s.ExpiresAt = s.ExpiresAt.UTC().Truncate(time.Microsecond)
	s.LastSeenAt = s.CreatedAt
	_, err = db.write.ExecContext(ctx, db.q(`INSERT INTO sessions (token_hash, user_id,
		created_at, expires_at, id, last_seen_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		s.TokenHash, s.UserID, s.CreatedAt.UnixMicro(), s.ExpiresAt.UnixMicro(), id, s.LastSeenAt.UnixMicro(), s.UserAgent, s.IP)
	switch {
	case db.d.broke(err, foreignKey, ""):
		return errUserNotFound()
	case db.d.broke(err, unique, ""):
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This session token is already in use.")
	case err != nil:
		return db.fail("create session", err)
	}
	s.ID = id
	return nil
}

// sessionColumns are the columns of sessions that scanSession reads, in its order.
const sessionColumns = `s.id, s.token_hash, s.user_id, s.created_at, s.expires_at, s.last_seen_at, s.user_agent, s.ip`

// scanSession reads the sessionColumns of one row, then any extra columns into extra.
func scanSession(row scanner, extra ...any) (*unmogrowp.Session, error) {
	var (
		s                      unmogrowp.Session
		created, expires, seen int64
	)
	if err := row.Scan(append([]any{&s.ID, &s.TokenHash, &s.UserID, &created, &expires, &seen, &s.UserAgent, &s.IP}, extra...)...); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC(), time.UnixMicro(seen).UTC()
	return &s, nil
}

// UserBySession returns the user and the unexpired session with the token hash, and
// records now as its last use when the one stored is older than
// unmogrowp.SessionSeenGranularity. Returns EUNAUTHORIZED if there is no such session,
// or it expired or was revoked.
func (db *DB) UserBySession(ctx context.Context, tokenHash string, now time.Time) (*unmogrowp.User, *unmogrowp.Session, error) {
	if tokenHash == "" || !db.d.storable(tokenHash) {
		return nil, nil, errBadSession()
	}
	var (
		u       unmogrowp.User
		google  sql.NullString
		created int64
	)
	sess, err := scanSession(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+sessionColumns+`, u.id, u.email, u.name, u.google_subject, u.created_at FROM sessions s
		JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`),
		tokenHash, now.UTC().UnixMicro()), &u.ID, &u.Email, &u.Name, &google, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errBadSession()
	}
	if err != nil {
		return nil, nil, db.fail("user by session", err)
	}
	u.GoogleSubject, u.CreatedAt = google.String, time.UnixMicro(created).UTC()
	if now.Sub(sess.LastSeenAt) >= unmogrowp.SessionSeenGranularity {
		seen := now.UTC().Truncate(time.Microsecond)
		if _, err := db.write.ExecContext(ctx, db.q(`UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`),
			seen.UnixMicro(), tokenHash); err != nil {
			return nil, nil, db.fail("record session use", err)
		}
		sess.LastSeenAt = seen
	}
	return &u, sess, nil
}

// RevokeSession deletes the session with the token hash. Revoking a session that does not
// exist is not an error.
func (db *DB) RevokeSession(ctx context.Context, tokenHash string) error {
	if !db.d.storable(tokenHash) {
		return nil // no such session can exist
	}
	_, err := db.write.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash)
	return db.fail("revoke session", err)
}

// scanUser reads the userColumns of one row, then any extra columns into extra.
func scanUser(row scanner, extra ...any) (*unmogrowp.User, error) {
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

// truncateUTF8 returns s cut to at most n bytes, on a rune boundary; invalid UTF-8 is
// replaced and NUL bytes dropped first, so that the result is storable by every engine.
func truncateUTF8(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
