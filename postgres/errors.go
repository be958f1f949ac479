package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// SQLSTATEs that the store branches on
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const (
	uniqueViolation          = "23505"
	foreignKeyViolation      = "23503"
	invalidByteSequence      = "22021" // a NUL byte, or text that is not UTF-8
	untranslatableChar       = "22P05" // \u0000 in JSON
	characterNotInRepertoire = "22P06"
)

// pgError returns the PostgreSQL error in err's chain, or nil.
func pgError(err error) *pgconn.PgError {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// isViolation reports whether err is the server's SQLSTATE code, on the constraint if
// constraint is not "".
func isViolation(err error, code, constraint string) bool {
	e := pgError(err)
	return e != nil && e.Code == code && (constraint == "" || e.ConstraintName == constraint)
}

// dbError wraps err with op. An error that says the server cannot be reached or cannot
// take the request now (no connection, a connect timeout, the server shutting down or out
// of connections) also carries the code EUNAVAILABLE; text that PostgreSQL cannot store (a
// NUL byte, invalid UTF-8) carries EINVALID. A canceled context is left as it is, wrapped.
func dbError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case unmogrowp.ErrorCode(err) != unmogrowp.EINTERNAL:
		return fmt.Errorf("%s: %w", op, err) // already has a code
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	case unavailable(err):
		return fmt.Errorf("%s: %w: %w", op, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
			"The metadata database is unavailable; try again later."), err)
	case isViolation(err, invalidByteSequence, ""), isViolation(err, untranslatableChar, ""),
		isViolation(err, characterNotInRepertoire, ""):
		return fmt.Errorf("%s: %w: %w", op, unmogrowp.Errorf(unmogrowp.EINVALID,
			"Text must be valid UTF-8 without NUL characters."), err)
	}
	return fmt.Errorf("%s: %w", op, err)
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
		errors.Is(err, io.ErrUnexpectedEOF)
}

// storable reports whether PostgreSQL can hold s in a TEXT column: valid UTF-8 without
// NUL. A lookup by a string that is not storable finds nothing, without asking the server
// (which would refuse the parameter).
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
