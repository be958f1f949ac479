package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/internal/password"
	"github.com/unmogrowp/unmogrowp/mail"
)

// Account security (API.md, "Teams"; docs/teams.md): who may sign up (SignupMode),
// password resets, TOTP two-factor sign-in with recovery codes, and the list of a user's
// sessions.

// SignupMode says who may make an account.
type SignupMode string

// The sign-up modes. The zero value is SignupOpen.
const (
	SignupOpen   SignupMode = "open"   // anyone
	SignupInvite SignupMode = "invite" // only with a valid invitation token, which sign-up redeems
	SignupClosed SignupMode = "closed" // nobody: accounts come from the operator
)

// ParseSignupMode returns the mode named s: open, invite or closed.
func ParseSignupMode(s string) (SignupMode, error) {
	switch m := SignupMode(s); m {
	case SignupOpen, SignupInvite, SignupClosed:
		return m, nil
	}
	return "", fmt.Errorf("must be open, invite or closed")
}

// Mailer sends the mail of invitations and password resets: *mail.Sender.
type Mailer interface {
	// Send delivers the message, or returns why it could not.
	Send(ctx context.Context, m mail.Message) error
}

var _ Mailer = (*mail.Sender)(nil)

// The TOTP parameters (RFC 6238's defaults, which every authenticator app reads): 6
// digits of HMAC-SHA1 over 30-second steps; a code of the step before or after is
// accepted too, for clocks a little off.
const (
	totpPeriod = 30
	totpIssuer = "UnMoGrowP"
)

// Rate limits of password-reset requests and of two-factor codes.
const (
	resetsPerIP    = 10
	resetsPerEmail = 3
	codesPerUser   = 5
)

// mailTimeout bounds the sending of one mail, which runs after the answer.
const mailTimeout = time.Minute

func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// accounts returns the account store, or EUNAVAILABLE if the server was started without
// one.
func (s *Server) accounts() (unmogrowp.AccountStore, error) {
	if s.cfg.Accounts == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Account security is not enabled on this server.")
	}
	return s.cfg.Accounts, nil
}

// signupMode is the configured mode, SignupOpen by default.
func (s *Server) signupMode() SignupMode {
	if s.cfg.Signup == "" {
		return SignupOpen
	}
	return s.cfg.Signup
}

// handleAuthConfig tells the dashboard what the server offers before anyone signs in.
func (a *auth) handleAuthConfig(w http.ResponseWriter, r *http.Request) error {
	httpserve.JSON(w, http.StatusOK, map[string]any{
		"signup":         a.s.signupMode(),
		"password_reset": a.s.cfg.Mailer != nil && a.s.cfg.Accounts != nil,
		"google":         a.s.cfg.Google != nil,
	})
	return nil
}

// checkSignup refuses a sign-up that the mode does not allow, before anything is made:
// closed always; invite without a valid invitation token. It returns the invitation's
// token hash to redeem once the user exists ("" for none).
func (s *Server) checkSignup(ctx context.Context, invitation string) (string, error) {
	mode := s.signupMode()
	if mode == SignupClosed {
		return "", unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Sign-up is closed on this server: ask its operator for an account.")
	}
	if invitation == "" {
		if mode == SignupInvite {
			return "", unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Sign-up on this server needs an invitation: open the invitation link you were sent.")
		}
		return "", nil
	}
	teams, err := s.teams()
	if err != nil {
		return "", err
	}
	if len(invitation) != invitationTokenLen || !strings.HasPrefix(invitation, unmogrowp.InvitationTokenPrefix) {
		return "", errBadInvitation()
	}
	hash := unmogrowp.HashSessionToken(invitation)
	if _, err := teams.InvitationByToken(ctx, hash, time.Now()); unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return "", errBadInvitation()
	} else if err != nil {
		return "", err
	}
	return hash, nil
}

func errBadInvitation() error {
	return unmogrowp.Errorf(unmogrowp.EINVALID, "invitation does not exist, was used, or expired; ask for a new one.")
}

// googleSignupAllowed refuses, unless sign-up is open, a Google sign-in that would make a
// new user: one whose Google account and email are both unknown. (A Google sign-in
// carries no invitation; an invited person signs up with a password, then may link
// Google by signing in with it.)
func (s *Server) googleSignupAllowed(ctx context.Context, users unmogrowp.UserStore, id unmogrowp.GoogleIdentity) error {
	if s.signupMode() == SignupOpen {
		return nil
	}
	if _, err := users.UserByGoogleSubject(ctx, id.Subject); err == nil {
		return nil
	} else if unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		return err
	}
	if _, _, err := users.UserByEmail(ctx, id.Email); err == nil {
		return nil
	} else if unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		return err
	}
	return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Sign-up is not open on this server: only existing accounts may sign in with Google.")
}

// twoFactorRequired is the answer of a login whose password is right but whose user has
// two-factor sign-in on, and that sent no code or a wrong one.
type twoFactorRequired struct {
	Error             string `json:"error"`
	TwoFactorRequired bool   `json:"two_factor_required"`
}

// checkSecondFactor lets a login with the right password through if the user has no
// two-factor sign-in, or sent a good TOTP code or an unused recovery code; else it
// answers 401 with two_factor_required and returns errAnswered.
func (a *auth) checkSecondFactor(w http.ResponseWriter, r *http.Request, u *unmogrowp.User, code, recovery string) error {
	accounts := a.s.cfg.Accounts
	if accounts == nil {
		return nil
	}
	tf, err := accounts.TwoFactor(r.Context(), u.ID)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if !tf.Enabled {
		return nil
	}
	msg := "This account has two-factor sign-in: send the 6-digit code of your authenticator app as code, or a recovery code as recovery_code."
	if code != "" || recovery != "" {
		err := a.s.checkCode(r.Context(), u.ID, tf.Secret, code, recovery)
		if err == nil {
			return nil
		}
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			return fmt.Errorf("login: %w", err)
		}
		msg = unmogrowp.ErrorMessage(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusUnauthorized, twoFactorRequired{Error: msg, TwoFactorRequired: true})
	return errAnswered
}

// errAnswered tells a handler's caller that the answer was written.
var errAnswered = errors.New("answered")

// checkCode accepts a TOTP code of the secret (the current step, or one either side, each
// step once) or, when code is "", an unused recovery code, which it uses up. It returns
// EINVALID naming the field for a wrong, reused or malformed code.
func (s *Server) checkCode(ctx context.Context, userID, secret, code, recovery string) error {
	accounts, err := s.accounts()
	if err != nil {
		return err
	}
	if code == "" {
		norm := normalizeRecoveryCode(recovery)
		if norm == "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "recovery_code is wrong or was used.")
		}
		err := accounts.UseRecoveryCode(ctx, userID, unmogrowp.HashSessionToken(norm))
		if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "recovery_code is wrong or was used.")
		}
		return err
	}
	step, err := totpStep(secret, code, time.Now())
	if err != nil {
		return err
	}
	err = accounts.UseTOTPStep(ctx, userID, step)
	if unmogrowp.ErrorCode(err) == unmogrowp.ECONFLICT {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "code was used already: wait for the next one.")
	}
	return err
}

// totpStep returns the time step (unix seconds / 30) whose code of the secret is code,
// looking at the step of now and the ones either side. It returns EINVALID for a code
// that matches none.
func totpStep(secret, code string, now time.Time) (int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) == 6 {
		step := now.Unix() / totpPeriod
		for _, d := range []int64{0, -1, 1} {
			want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts())
			if err != nil {
				return 0, fmt.Errorf("totp: %w", err)
			}
			if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
				return step + d, nil
			}
		}
	}
	return 0, unmogrowp.Errorf(unmogrowp.EINVALID, "code is wrong: enter the 6 digits your authenticator app shows now.")
}

// recoveryAlphabet is the alphabet of recovery codes: lower-case letters and digits
// without the ones that read alike (0 o 1 l i).
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// newRecoveryCodes returns RecoveryCodeCount codes, "xxxxx-xxxxx" (about 49 random bits
// each), and the hashes the store keeps of them.
func newRecoveryCodes() (codes, hashes []string, err error) {
	for range unmogrowp.RecoveryCodeCount {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		for i := range b {
			b[i] = recoveryAlphabet[int(b[i])%len(recoveryAlphabet)]
		}
		code := string(b[:5]) + "-" + string(b[5:])
		codes = append(codes, code)
		hashes = append(hashes, unmogrowp.HashSessionToken(normalizeRecoveryCode(code)))
	}
	return codes, hashes, nil
}

// normalizeRecoveryCode returns a recovery code as typed, lower-cased, without spaces and
// dashes.
func normalizeRecoveryCode(s string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// twoFactorJSON is GET /api/auth/two-factor's answer.
type twoFactorJSON struct {
	Enabled           bool `json:"enabled"`
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

func (s *Server) handleTwoFactor(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, err := s.accounts()
	if err != nil {
		return err
	}
	tf, err := accounts.TwoFactor(r.Context(), user.ID)
	if err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, twoFactorJSON{Enabled: tf.Enabled, Pending: !tf.Enabled && tf.Secret != "", RecoveryCodesLeft: tf.RecoveryCodesLeft})
	return nil
}

// handleStartTwoFactor makes a new TOTP secret for the user, pending until confirmed, and
// answers it with its otpauth:// URL and that URL as a QR code (a PNG data URL).
func (s *Server) handleStartTwoFactor(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, err := s.accounts()
	if err != nil {
		return err
	}
	if err := sessionOnly(r); err != nil {
		return err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: user.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	if err := accounts.StartTwoFactor(r.Context(), user.ID, key.Secret()); err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusCreated, map[string]string{
		"secret": key.Secret(), "otpauth_url": key.URL(),
		"qr_png": "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()),
	})
	return nil
}

// codeRequest is the body of the two-factor confirm and disable routes.
type codeRequest struct {
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

// codeRequest reads the body of a two-factor route that takes a code, signed in by a
// session, within the user's budget of code attempts, and the user's two-factor state.
func (s *Server) codeRequest(r *http.Request, user *unmogrowp.User) (unmogrowp.AccountStore, *unmogrowp.TwoFactor, codeRequest, error) {
	var req codeRequest
	accounts, err := s.accounts()
	if err != nil {
		return nil, nil, req, err
	}
	if err := sessionOnly(r); err != nil {
		return nil, nil, req, err
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, nil, req, err
	}
	if err := s.allowCode(user); err != nil {
		return nil, nil, req, err
	}
	tf, err := accounts.TwoFactor(r.Context(), user.ID)
	if err != nil {
		return nil, nil, req, fmt.Errorf("two-factor: %w", err)
	}
	return accounts, tf, req, nil
}

// handleConfirmTwoFactor turns two-factor sign-in on once the user proves, with a code,
// that their app holds the pending secret; it answers the recovery codes, shown once.
func (s *Server) handleConfirmTwoFactor(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, tf, req, err := s.codeRequest(r, user)
	if err != nil {
		return err
	}
	if tf.Enabled || tf.Secret == "" {
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "There is no two-factor enrolment to confirm: start one with POST /api/auth/two-factor.")
	}
	if req.Code == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "code is required: the 6 digits your authenticator app shows.")
	}
	step, err := totpStep(tf.Secret, req.Code, time.Now())
	if err != nil {
		return err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	if err := accounts.EnableTwoFactor(r.Context(), user.ID, hashes, step); err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusOK, map[string]any{"enabled": true, "recovery_codes": codes})
	return nil
}

// handleDisableTwoFactor turns two-factor sign-in off, given a code or a recovery code.
func (s *Server) handleDisableTwoFactor(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, tf, req, err := s.codeRequest(r, user)
	if err != nil {
		return err
	}
	if !tf.Enabled {
		if err := accounts.DisableTwoFactor(r.Context(), user.ID); err != nil { // drops a pending enrolment
			return fmt.Errorf("two-factor: %w", err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if req.Code == "" && req.RecoveryCode == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "code is required: the 6 digits your authenticator app shows (or recovery_code).")
	}
	if err := s.checkCode(r.Context(), user.ID, tf.Secret, req.Code, req.RecoveryCode); err != nil {
		return err
	}
	if err := accounts.DisableTwoFactor(r.Context(), user.ID); err != nil {
		return fmt.Errorf("two-factor: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// allowCode takes one attempt from the user's budget of two-factor codes.
func (s *Server) allowCode(u *unmogrowp.User) error {
	if wait := s.codes.take(u.ID, time.Now()); wait > 0 {
		secs := int(wait.Seconds()) + 1
		return httpserve.RetryAfter(unmogrowp.Errorf(unmogrowp.ERATELIMIT, "Too many attempts; try again in %d seconds.", secs), secs)
	}
	return nil
}

// sessionJSONItem is a session as the sessions list shows it.
type sessionItemJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	ExpiresAt  string `json:"expires_at"`
	UserAgent  string `json:"user_agent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, err := s.accounts()
	if err != nil {
		return err
	}
	list, err := accounts.Sessions(r.Context(), user.ID, time.Now())
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	current := ""
	if c := callerOf(r); c != nil {
		current = c.sessionID
	}
	out := make([]sessionItemJSON, len(list))
	for i, se := range list {
		out[i] = sessionItemJSON{ID: se.ID, CreatedAt: se.CreatedAt.Format(time.RFC3339), LastSeenAt: se.LastSeenAt.Format(time.RFC3339),
			ExpiresAt: se.ExpiresAt.Format(time.RFC3339), UserAgent: se.UserAgent, IP: se.IP, Current: se.ID == current}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

// handleRevokeSession ends one of the user's sessions, at once in this process and
// within the auth cache's lifetime in others (authcache.go).
func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	accounts, err := s.accounts()
	if err != nil {
		return err
	}
	if err := sessionOnly(r); err != nil {
		return err
	}
	if err := accounts.RevokeUserSession(r.Context(), user.ID, r.PathValue("session_id")); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.auth.invalidate()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handlePasswordReset answers 202 at once, whether or not the email has an account, and
// then, in the background (so that the answer's timing tells nothing either), mails the
// account's user a link to set a new password, valid once for PasswordResetLifetime.
func (a *auth) handlePasswordReset(w http.ResponseWriter, r *http.Request) error {
	users, err := a.s.users()
	if err != nil {
		return err
	}
	accounts, err := a.s.accounts()
	if err != nil {
		return err
	}
	if a.s.cfg.Mailer == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE,
			"Password reset by mail is not configured on this server (no SMTP_URL): ask its operator to run `unmogrowp users reset-password`.")
	}
	if err := a.allow(a.resetIP, a.s.clientIP(r)); err != nil {
		return err
	}
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	email, err := unmogrowp.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if err := a.allow(a.resetEmail, email); err != nil {
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), mailTimeout)
		defer cancel()
		if err := a.s.mailPasswordReset(ctx, users, accounts, email); err != nil {
			a.s.cfg.Logger.Error("password reset not mailed", "err", err)
		}
	}()
	httpserve.JSON(w, http.StatusAccepted, map[string]string{"status": "If an account has this email, a link to set a new password is on its way."})
	return nil
}

// mailPasswordReset makes a reset for the user with the email, if there is one, and mails
// its link.
func (s *Server) mailPasswordReset(ctx context.Context, users unmogrowp.UserStore, accounts unmogrowp.AccountStore, email string) error {
	u, _, err := users.UserByEmail(ctx, email)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	link, err := NewPasswordResetLink(ctx, accounts, s.cfg.DashboardURL, u.ID)
	if err != nil {
		return err
	}
	return s.cfg.Mailer.Send(ctx, mail.Message{To: u.Email, Subject: "Set a new password for UnMoGrowP",
		Text: "Someone, hopefully you, asked to set a new password for " + u.Email + " on UnMoGrowP.\n\n" +
			"Open this link within an hour to choose one (it works once):\n\n" + link + "\n\n" +
			"If you did not ask, ignore this mail: your password stays as it is.\n"})
}

// NewPasswordResetLink stores a password reset for the user and returns its one-time
// link, dashboardURL + "/reset-password#" + the token (in the fragment, which reaches no
// server's logs). The mail of POST /api/auth/password-reset and `unmogrowp users
// reset-password` both make theirs here. Returns ENOTFOUND for an unknown user.
func NewPasswordResetLink(ctx context.Context, accounts unmogrowp.AccountStore, dashboardURL, userID string) (string, error) {
	token, err := newToken(unmogrowp.PasswordResetTokenPrefix)
	if err != nil {
		return "", err
	}
	if err := accounts.CreatePasswordReset(ctx, &unmogrowp.PasswordReset{TokenHash: unmogrowp.HashSessionToken(token), UserID: userID,
		ExpiresAt: time.Now().Add(unmogrowp.PasswordResetLifetime)}); err != nil {
		return "", err
	}
	return strings.TrimRight(dashboardURL, "/") + "/reset-password#" + token, nil
}

// handleConfirmPasswordReset sets a new password with a reset's token, once; the user's
// sessions all end.
func (a *auth) handleConfirmPasswordReset(w http.ResponseWriter, r *http.Request) error {
	accounts, err := a.s.accounts()
	if err != nil {
		return err
	}
	if err := a.allow(a.resetIP, a.s.clientIP(r)); err != nil {
		return err
	}
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "token is required: the one in the link you were sent.")
	}
	if err := unmogrowp.ValidatePassword(req.Password); err != nil {
		return err
	}
	if len(req.Token) != resetTokenLen || !strings.HasPrefix(req.Token, unmogrowp.PasswordResetTokenPrefix) {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This password reset link does not exist, was used, or expired; ask for a new one.")
	}
	hash, err := password.Hash(req.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if _, err := accounts.ResetPassword(r.Context(), unmogrowp.HashSessionToken(req.Token), hash, time.Now()); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	a.s.auth.invalidate()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mailInvitation mails an invitation's link to its email, in the background, when a
// mailer is configured; it reports whether it will.
func (s *Server) mailInvitation(r *http.Request, app *unmogrowp.App, inv *unmogrowp.Invitation, token string) bool {
	if s.cfg.Mailer == nil {
		return false
	}
	inviter := "A member"
	if c := callerOf(r); c != nil && c.user != nil {
		inviter = c.user.Email
	}
	link := strings.TrimRight(s.cfg.DashboardURL, "/") + "/invitations/accept#" + token
	m := mail.Message{To: inv.Email, Subject: "You are invited to " + app.Name + " on UnMoGrowP",
		Text: inviter + " invited you to the app " + app.Name + " on UnMoGrowP, as " + string(inv.Role) + ".\n\n" +
			"Open this link to join (it works once, until " + inv.ExpiresAt.UTC().Format("2 January 2006 15:04 MST") + "):\n\n" + link + "\n"}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), mailTimeout)
		defer cancel()
		if err := s.cfg.Mailer.Send(ctx, m); err != nil {
			s.cfg.Logger.Error("invitation not mailed", "app_id", app.ID, "invitation_id", inv.ID, "err", err)
		}
	}()
	return true
}
