package unmogrowp

import (
	"context"
	"time"
)

// Account security (API.md, "Teams"): password resets, TOTP two-factor sign-in and its
// recovery codes, and the list of a user's sessions.

// The prefixes of session ids (shown in the sessions list, never a credential) and of the
// secret tokens of password resets (recognisable when leaked).
const (
	SessionIDPrefix          = "ses_"
	PasswordResetTokenPrefix = "upr_"
)

// PasswordResetLifetime is how long a password reset's token may be redeemed.
const PasswordResetLifetime = time.Hour

// RecoveryCodeCount is how many single-use recovery codes confirming two-factor sign-in
// makes; each stands in for one TOTP code.
const RecoveryCodeCount = 10

// PasswordReset is the offer to set a user's password, redeemed once with its token before
// it expires. Only the token's hash is kept (HashSessionToken).
type PasswordReset struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TwoFactor is a user's TOTP two-factor state (RFC 6238).
type TwoFactor struct {
	// Secret is the base32 TOTP secret: pending from enrolment until confirmed, then in
	// use; "" when two-factor sign-in is off and no enrolment is pending.
	Secret string
	// Enabled tells whether sign-in with a password needs a code.
	Enabled bool
	// RecoveryCodesLeft counts the recovery codes not used yet.
	RecoveryCodesLeft int
}

// AccountStore keeps what account security needs beside UserStore's users and sessions:
// the metadata store implements it, metadatatest.RunAccountStore is its conformance suite.
type AccountStore interface {
	// Sessions lists the user's sessions that have not expired at now, the most recently
	// seen first (ties by id).
	Sessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// RevokeUserSession ends the user's session with the id (Session.ID) at once. Returns
	// ENOTFOUND if the user has no such session.
	RevokeUserSession(ctx context.Context, userID, id string) error

	// SetPassword stores passwordHash as the user's and, in the same transaction, ends all
	// the user's sessions and pending password resets. Returns ENOTFOUND for an unknown
	// user.
	SetPassword(ctx context.Context, userID, passwordHash string) error

	// CreatePasswordReset stores a reset (TokenHash made by the caller); CreatedAt is set to
	// now if zero. Returns EINVALID without a token hash, a user or an expiry, ENOTFOUND
	// for an unknown user.
	CreatePasswordReset(ctx context.Context, r *PasswordReset) error

	// ResetPassword redeems the reset with the token hash, once, at now, in one
	// transaction: it stores passwordHash as its user's, deletes all the user's resets and
	// sessions, and returns the user. Returns ENOTFOUND for an unknown, used or (at now)
	// expired reset.
	ResetPassword(ctx context.Context, tokenHash, passwordHash string, now time.Time) (*User, error)

	// TwoFactor returns the user's two-factor state. Returns ENOTFOUND for an unknown user.
	TwoFactor(ctx context.Context, userID string) (*TwoFactor, error)

	// StartTwoFactor stores secret as the user's pending TOTP secret, replacing a pending
	// one. Returns EINVALID for an empty secret, ENOTFOUND for an unknown user, ECONFLICT
	// if two-factor sign-in is on already.
	StartTwoFactor(ctx context.Context, userID, secret string) error

	// EnableTwoFactor turns two-factor sign-in on with the pending secret, replacing the
	// user's recovery codes by the ones with these hashes (HashSessionToken of the
	// normalized code), and records step as the last TOTP time step used. Returns
	// ENOTFOUND for an unknown user, ECONFLICT if no secret is pending or two-factor
	// sign-in is on already.
	EnableTwoFactor(ctx context.Context, userID string, recoveryHashes []string, step int64) error

	// DisableTwoFactor turns two-factor sign-in off: the secret and the recovery codes are
	// deleted. Returns ENOTFOUND for an unknown user.
	DisableTwoFactor(ctx context.Context, userID string) error

	// UseTOTPStep records the TOTP time step (unix time / 30 s) of a code just accepted,
	// atomically, so that a code is good once: it returns ECONFLICT if step is not after
	// the last step recorded. Returns ENOTFOUND for an unknown user.
	UseTOTPStep(ctx context.Context, userID string, step int64) error

	// UseRecoveryCode deletes the user's recovery code with the hash, atomically: a code is
	// good once. Returns ENOTFOUND if the user has no such code.
	UseRecoveryCode(ctx context.Context, userID, codeHash string) error
}
