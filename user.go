package unmogrowp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who signs in to the API and the dashboard and owns apps.
type User struct {
	ID    string
	Email string // lower-cased and trimmed; unique
	Name  string
	// GoogleSubject is the "sub" claim of the user's Google account once they have signed
	// in with Google; "" until then. It is unique: one Google account, one user.
	GoogleSubject string
	CreatedAt     time.Time
}

// Limits on users' fields and passwords.
const (
	MaxEmailLen       = 254 // RFC 5321's limit on a forward path
	MaxUserNameLen    = 256
	MinPasswordLen    = 8 // characters
	MaxPasswordLen    = 1024
	SessionTokenBytes = 32 // random bytes of a session token
)

// SessionLifetime is how long a session lasts after sign-in.
const SessionLifetime = 30 * 24 * time.Hour

// NormalizeEmail returns the email trimmed and lower-cased, the form users are stored and
// looked up by. It returns an *Error with code EINVALID unless the result looks like an
// email address: at most MaxEmailLen bytes, with text on both sides of one @.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", Errorf(EINVALID, "email is required.")
	}
	if len(e) > MaxEmailLen {
		return "", Errorf(EINVALID, "email must be at most %d characters.", MaxEmailLen)
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.ContainsAny(e, " \t\r\n") || !utf8.ValidString(e) {
		return "", Errorf(EINVALID, "email must be an email address such as ann@example.com.")
	}
	return e, nil
}

// ValidatePassword checks a new password's length: from MinPasswordLen to MaxPasswordLen
// characters. It returns an *Error with code EINVALID otherwise.
func ValidatePassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLen:
		return Errorf(EINVALID, "password must be at least %d characters.", MinPasswordLen)
	case n > MaxPasswordLen || len(password) > 4*MaxPasswordLen:
		return Errorf(EINVALID, "password must be at most %d characters.", MaxPasswordLen)
	}
	return nil
}

// Validate trims the user's name, normalizes the email (NormalizeEmail) and checks both:
// the email is required, the name is optional and at most MaxUserNameLen characters. It
// returns an *Error with code EINVALID naming the field at fault.
func (u *User) Validate() error {
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return err
	}
	u.Email = email
	u.Name = strings.TrimSpace(u.Name)
	if utf8.RuneCountInString(u.Name) > MaxUserNameLen {
		return Errorf(EINVALID, "name must be at most %d characters.", MaxUserNameLen)
	}
	return nil
}

// HashSessionToken returns the hex SHA-256 of a session token: what the store keeps and
// looks sessions up by, so that a copy of the database holds no usable token. Tokens have
// 256 random bits, so a fast unsalted hash is enough.
func HashSessionToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Session is a signed-in user's session: the hash of its bearer token (HashSessionToken),
// never the token itself.
type Session struct {
	// ID names the session in the sessions list (SessionIDPrefix); it is no credential.
	// CreateSession fills it.
	ID        string
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is when the session was last used, to the minute (UserBySession records
	// it); CreateSession sets it to CreatedAt.
	LastSeenAt time.Time
	UserAgent  string // of the sign-in's request, at most MaxSessionUserAgentLen bytes
	IP         string // the client address of the sign-in's request
}

// MaxSessionUserAgentLen is the longest User-Agent a session keeps; a longer one is cut.
const MaxSessionUserAgentLen = 512

// SessionSeenGranularity is how stale a session's LastSeenAt may be before a use writes
// it again.
const SessionSeenGranularity = time.Minute

// GoogleIdentity is what a verified Google ID token says about its user.
type GoogleIdentity struct {
	Subject       string // the "sub" claim: stable for the Google account
	Email         string
	EmailVerified bool
	Name          string
}

// UserStore keeps users and their sessions: the part of the metadata store that the
// account routes need.
type UserStore interface {
	// CreateUser validates the user (User.Validate, which normalizes the email), fills its
	// ID and CreatedAt and stores it with passwordHash, an encoded password hash ("" for a
	// user who signs in only with Google). Returns EINVALID for an invalid user, ECONFLICT
	// if another user has the email (compared case-insensitively) or the GoogleSubject.
	CreateUser(ctx context.Context, user *User, passwordHash string) error

	// User returns the user with the id. Returns ENOTFOUND if there is none.
	User(ctx context.Context, id string) (*User, error)

	// UserByEmail returns the user with the email, compared case-insensitively, and their
	// encoded password hash ("" if they have none). Returns ENOTFOUND if there is none.
	UserByEmail(ctx context.Context, email string) (*User, string, error)

	// UserByGoogleSubject returns the user linked to the Google account. Returns ENOTFOUND
	// if there is none.
	UserByGoogleSubject(ctx context.Context, subject string) (*User, error)

	// GoogleUser returns the user of a verified Google identity, in one transaction: the
	// user linked to its subject; else the user with its email, which it links to the
	// subject, if the email is verified; else a new user without a password. created tells
	// whether it made one. Returns EINVALID for an empty subject or an invalid email,
	// EFORBIDDEN if the email is not verified and belongs to a user, ECONFLICT if that user
	// is linked to another Google account.
	GoogleUser(ctx context.Context, id GoogleIdentity) (user *User, created bool, err error)

	// CreateSession stores a session, filling its ID (and CreatedAt when zero). Returns
	// EINVALID without a token hash or an expiry, ENOTFOUND if the user does not exist,
	// ECONFLICT if the token hash is already stored.
	CreateSession(ctx context.Context, session *Session) error

	// UserBySession returns the user and the session with the token hash, and records now
	// as the session's last use (at most once per SessionSeenGranularity, to spare
	// writes). Returns EUNAUTHORIZED if there is no such session, or it expired (at now) or
	// was revoked.
	UserBySession(ctx context.Context, tokenHash string, now time.Time) (*User, *Session, error)

	// RevokeSession ends the session with the token hash at once. Revoking a session that
	// does not exist (or no longer does) is not an error.
	RevokeSession(ctx context.Context, tokenHash string) error
}
