package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.AccountStore = (*DB)(nil)

// Sessions implements unmogrowp.AccountStore.
func (db *DB) Sessions(ctx context.Context, userID string, now time.Time) ([]unmogrowp.Session, error) {
	if !db.d.storable(userID) {
		return []unmogrowp.Session{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+sessionColumns+` FROM sessions s
		WHERE s.user_id = ? AND s.expires_at > ? ORDER BY s.last_seen_at DESC, s.id DESC`), userID, now.UTC().UnixMicro())
	if err != nil {
		return nil, db.fail("list sessions", err)
	}
	return collect(db, rows, "list sessions", func(r scanner) (unmogrowp.Session, error) {
		s, err := scanSession(r)
		if err != nil {
			return unmogrowp.Session{}, err
		}
		return *s, nil
	})
}

// RevokeUserSession implements unmogrowp.AccountStore.
func (db *DB) RevokeUserSession(ctx context.Context, userID, id string) error {
	if !db.d.storable(userID) || !db.d.storable(id) || id == "" {
		return errNoSession()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE user_id = ? AND id = ?`), userID, id)
	return db.affectedOne(res, err, "revoke session", errNoSession)
}

// SetPassword implements unmogrowp.AccountStore.
func (db *DB) SetPassword(ctx context.Context, userID, passwordHash string) error {
	if !db.d.storable(userID) || !db.d.storable(passwordHash) {
		return errUserNotFound()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.setPassword(ctx, tx, userID, passwordHash) })
	return db.fail("set password", err)
}

// setPassword stores the user's password hash in tx and deletes the user's sessions and
// password resets. Returns ENOTFOUND for an unknown user.
func (db *DB) setPassword(ctx context.Context, tx *sql.Tx, userID, passwordHash string) error {
	res, err := tx.ExecContext(ctx, db.q(`UPDATE users SET password_hash = ? WHERE id = ?`), passwordHash, userID)
	if err := db.affectedOne(res, err, "set password", errUserNotFound); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM password_resets WHERE user_id = ?`} {
		if _, err := tx.ExecContext(ctx, db.q(q), userID); err != nil {
			return err
		}
	}
	return nil
}

// CreatePasswordReset implements unmogrowp.AccountStore.
func (db *DB) CreatePasswordReset(ctx context.Context, r *unmogrowp.PasswordReset) error {
	if r == nil || r.TokenHash == "" || r.UserID == "" || r.ExpiresAt.IsZero() || !db.d.storable(r.TokenHash) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A password reset needs a token hash, a user and an expiry.")
	}
	if !db.d.storable(r.UserID) {
		return errUserNotFound()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC().Truncate(time.Microsecond), r.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := db.write.ExecContext(ctx, db.q(`INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?)`), r.TokenHash, r.UserID, r.CreatedAt.UnixMicro(), r.ExpiresAt.UnixMicro())
	switch {
	case db.d.broke(err, foreignKey, ""):
		return errUserNotFound()
	case db.d.broke(err, unique, ""):
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This password reset token is already in use.")
	}
	return db.fail("create password reset", err)
}

// ResetPassword implements unmogrowp.AccountStore. In PostgreSQL the reset's row is
// locked by the DELETE that redeems it, so two redemptions at once cannot both succeed.
func (db *DB) ResetPassword(ctx context.Context, tokenHash, passwordHash string, now time.Time) (*unmogrowp.User, error) {
	if tokenHash == "" || !db.d.storable(tokenHash) || !db.d.storable(passwordHash) {
		return nil, errNoReset()
	}
	var u *unmogrowp.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, db.q(`DELETE FROM password_resets WHERE token_hash = ? AND expires_at > ? RETURNING user_id`),
			tokenHash, now.UTC().UnixMicro()).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoReset()
		}
		if err != nil {
			return err
		}
		if err := db.setPassword(ctx, tx, userID, passwordHash); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), userID))
		return err
	})
	if err != nil {
		return nil, db.fail("reset password", err)
	}
	return u, nil
}

// TwoFactor implements unmogrowp.AccountStore.
func (db *DB) TwoFactor(ctx context.Context, userID string) (*unmogrowp.TwoFactor, error) {
	if !db.d.storable(userID) {
		return nil, errUserNotFound()
	}
	var (
		tf      unmogrowp.TwoFactor
		enabled int
	)
	err := db.read.QueryRowContext(ctx, db.q(`SELECT u.totp_secret, u.totp_enabled,
		(SELECT COUNT(*) FROM recovery_codes c WHERE c.user_id = u.id) FROM users u WHERE u.id = ?`), userID).
		Scan(&tf.Secret, &enabled, &tf.RecoveryCodesLeft)
	if _, err := found[int](db, "two-factor state", errUserNotFound)(0, err); err != nil {
		return nil, err
	}
	tf.Enabled = enabled != 0
	return &tf, nil
}

// StartTwoFactor implements unmogrowp.AccountStore.
func (db *DB) StartTwoFactor(ctx context.Context, userID, secret string) error {
	if secret == "" || !db.d.storable(secret) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A TOTP secret is required.")
	}
	return db.twoFactorUpdate(ctx, "start two-factor", userID, func(tx *sql.Tx, enabled bool, _ string) error {
		if enabled {
			return errTwoFactorOn()
		}
		_, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_secret = ? WHERE id = ?`), secret, userID)
		return err
	})
}

// EnableTwoFactor implements unmogrowp.AccountStore.
func (db *DB) EnableTwoFactor(ctx context.Context, userID string, recoveryHashes []string, step int64) error {
	return db.twoFactorUpdate(ctx, "enable two-factor", userID, func(tx *sql.Tx, enabled bool, secret string) error {
		switch {
		case enabled:
			return errTwoFactorOn()
		case secret == "":
			return unmogrowp.Errorf(unmogrowp.ECONFLICT, "Two-factor sign-in has no pending enrolment: start one first.")
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?`), step, userID); err != nil {
			return err
		}
		return db.replaceRecoveryCodes(ctx, tx, userID, recoveryHashes)
	})
}

// DisableTwoFactor implements unmogrowp.AccountStore.
func (db *DB) DisableTwoFactor(ctx context.Context, userID string) error {
	return db.twoFactorUpdate(ctx, "disable two-factor", userID, func(tx *sql.Tx, _ bool, _ string) error {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE users SET totp_secret = '', totp_enabled = 0 WHERE id = ?`), userID); err != nil {
			return err
		}
		return db.replaceRecoveryCodes(ctx, tx, userID, nil)
	})
}

// replaceRecoveryCodes deletes the user's recovery codes in tx and stores the hashes.
func (db *DB) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, hashes []string) error {
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM recovery_codes WHERE user_id = ?`), userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if !db.d.storable(h) || h == "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "A recovery code's hash must be text.")
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`), userID, h); err != nil {
			return err
		}
	}
	return nil
}

// twoFactorUpdate runs f in a transaction with the user's row locked and its two-factor
// state read. Returns ENOTFOUND for an unknown user, and f's error.
func (db *DB) twoFactorUpdate(ctx context.Context, op, userID string, f func(tx *sql.Tx, enabled bool, secret string) error) error {
	if !db.d.storable(userID) {
		return errUserNotFound()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var (
			secret  string
			enabled int
		)
		err := tx.QueryRowContext(ctx, db.q(`SELECT totp_secret, totp_enabled FROM users WHERE id = ?`+db.d.forUpdate), userID).
			Scan(&secret, &enabled)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound()
		}
		if err != nil {
			return err
		}
		return f(tx, enabled != 0, secret)
	})
	return db.fail(op, err)
}

// UseTOTPStep implements unmogrowp.AccountStore: one conditional UPDATE, atomic in both
// engines.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	if !db.d.storable(userID) {
		return errUserNotFound()
	}
	res, err := db.write.ExecContext(ctx, db.q(`UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`),
		step, userID, step)
	return db.affectedOne(res, err, "use totp step", func() error {
		if _, err := db.User(ctx, userID); err != nil {
			return err
		}
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This two-factor code was used already; wait for the next one.")
	})
}

// UseRecoveryCode implements unmogrowp.AccountStore.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, codeHash string) error {
	if !db.d.storable(userID) || !db.d.storable(codeHash) {
		return errNoRecoveryCode()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`), userID, codeHash)
	return db.affectedOne(res, err, "use recovery code", errNoRecoveryCode)
}

func errNoSession() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such session.")
}

func errNoReset() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This password reset link does not exist, was used, or expired; ask for a new one.")
}

func errNoRecoveryCode() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such recovery code, or it was used.")
}

func errTwoFactorOn() error {
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "Two-factor sign-in is on already; turn it off first.")
}
