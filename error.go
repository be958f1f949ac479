package unmogrowp

import (
	"errors"
	"fmt"
)

// Error codes that callers branch on. The HTTP edge maps each to one status, in one place.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials: 401
	EFORBIDDEN    = "forbidden"    // credentials valid, but not for this resource: 403
	ENOTFOUND     = "not_found"    // no such thing (or not yours): 404
	ECONFLICT     = "conflict"     // already exists: 409
	ETOOLARGE     = "too_large"    // over a size limit: 413
	ERATELIMIT    = "rate_limited" // over a rate limit: 429
	EUNAVAILABLE  = "unavailable"  // a backend cannot take the request now: 503
	EINTERNAL     = "internal"     // a bug or an unexpected failure: 500
)

// Error is an error with a code from the set above and a message safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return "" // before e, which errors.As moves to the heap: no allocation for nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a generic
// sentence for any other error, so internal details never reach a caller.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Internal error."
}
