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

var _ unmogrowp.TeamStore = (*DB)(nil)

// appColumnsOf is appColumns qualified by the alias a, for queries that join apps.
var appColumnsOf = func() string {
	cols := strings.Split(appColumns, ",")
	for i, c := range cols {
		cols[i] = "a." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// lastUseGranularity is how stale an access token's last use may be before a use writes
// it again.
const lastUseGranularity = time.Minute

// AppRole implements unmogrowp.TeamStore: one read of the app joined with the user's
// membership.
func (db *DB) AppRole(ctx context.Context, appID, userID string) (*unmogrowp.App, unmogrowp.Role, error) {
	if !db.d.storable(appID) || !db.d.storable(userID) {
		return nil, unmogrowp.RoleNone, errAppNotFound()
	}
	var role string
	app, err := found[*unmogrowp.App](db, "app role", errAppNotFound)(scanApp(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+appColumnsOf+`, COALESCE(m.role, '') FROM apps a
			LEFT JOIN app_members m ON m.app_id = a.id AND m.user_id = ? WHERE a.id = ?`), userID, appID), &role))
	if err != nil {
		return nil, unmogrowp.RoleNone, err
	}
	return app, unmogrowp.Role(role), nil
}

// AppsOfUser implements unmogrowp.TeamStore.
func (db *DB) AppsOfUser(ctx context.Context, userID string) ([]unmogrowp.AppRole, error) {
	if !db.d.storable(userID) {
		return []unmogrowp.AppRole{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+appColumnsOf+`, m.role FROM app_members m
		JOIN apps a ON a.id = m.app_id WHERE m.user_id = ? ORDER BY a.created_at, a.id`), userID)
	if err != nil {
		return nil, db.fail("apps of user", err)
	}
	return collect(db, rows, "apps of user", func(r scanner) (unmogrowp.AppRole, error) {
		var role string
		app, err := scanApp(r, &role)
		return unmogrowp.AppRole{App: app, Role: unmogrowp.Role(role)}, err
	})
}

// memberQuery selects members with their users, in scanMember's order.
const memberQuery = `SELECT u.id, u.email, u.name, u.google_subject, u.created_at, m.app_id, m.role, m.added_at
	FROM app_members m JOIN users u ON u.id = m.user_id`

// scanMember reads one row of memberQuery.
func scanMember(r scanner) (unmogrowp.Member, error) {
	var (
		m     unmogrowp.Member
		role  string
		added int64
	)
	u, err := scanUser(r, &m.AppID, &role, &added)
	if err != nil {
		return m, err
	}
	m.User, m.Role, m.AddedAt = *u, unmogrowp.Role(role), time.UnixMicro(added).UTC()
	return m, nil
}

// Members implements unmogrowp.TeamStore.
func (db *DB) Members(ctx context.Context, appID string) ([]unmogrowp.Member, error) {
	if !db.d.storable(appID) {
		return []unmogrowp.Member{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(memberQuery+` WHERE m.app_id = ?
		ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.added_at, u.id`), appID)
	if err != nil {
		return nil, db.fail("list members", err)
	}
	return collect(db, rows, "list members", scanMember)
}

// member reads one membership in tx.
func (db *DB) member(ctx context.Context, tx *sql.Tx, appID, userID string) (*unmogrowp.Member, error) {
	m, err := scanMember(tx.QueryRowContext(ctx, db.q(memberQuery+` WHERE m.app_id = ? AND m.user_id = ?`), appID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotMember()
	}
	return &m, err
}

// lockedRole returns the user's role on the app in tx, its row locked (RoleNone if none).
func (db *DB) lockedRole(ctx context.Context, tx *sql.Tx, appID, userID string) (unmogrowp.Role, error) {
	var role string
	err := tx.QueryRowContext(ctx, db.q(`SELECT role FROM app_members WHERE app_id = ? AND user_id = ?`+db.d.forUpdate),
		appID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return unmogrowp.RoleNone, nil
	}
	return unmogrowp.Role(role), err
}

// grantable checks that role is one a member may be given directly: viewer, editor or
// admin (the owner changes only by a transfer).
func grantable(role unmogrowp.Role) error {
	switch role {
	case unmogrowp.RoleViewer, unmogrowp.RoleEditor, unmogrowp.RoleAdmin:
		return nil
	}
	return unmogrowp.Errorf(unmogrowp.EINVALID, "role must be one of viewer, editor, admin; the owner changes only by a transfer of ownership.")
}

// AddMember implements unmogrowp.TeamStore.
func (db *DB) AddMember(ctx context.Context, appID, userID string, role unmogrowp.Role) (*unmogrowp.Member, error) {
	if err := grantable(role); err != nil {
		return nil, err
	}
	if !db.d.storable(appID) || !db.d.storable(userID) {
		return nil, errAppOrUserNotFound()
	}
	var m *unmogrowp.Member
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO app_members (app_id, user_id, role, added_at) VALUES (?, ?, ?, ?)`),
			appID, userID, role, time.Now().UTC().UnixMicro()); err != nil {
			return err
		}
		var err error
		m, err = db.member(ctx, tx, appID, userID)
		return err
	})
	switch {
	case db.d.broke(err, foreignKey, ""):
		return nil, errAppOrUserNotFound()
	case db.d.broke(err, unique, ""):
		return nil, unmogrowp.Errorf(unmogrowp.ECONFLICT, "This user is already a member of the app.")
	case err != nil:
		return nil, db.fail("add member", err)
	}
	return m, nil
}

// SetRole implements unmogrowp.TeamStore.
func (db *DB) SetRole(ctx context.Context, appID, userID string, role unmogrowp.Role) (*unmogrowp.Member, error) {
	if err := grantable(role); err != nil {
		return nil, err
	}
	if !db.d.storable(appID) || !db.d.storable(userID) {
		return nil, errNotMember()
	}
	var m *unmogrowp.Member
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		switch cur, err := db.lockedRole(ctx, tx, appID, userID); {
		case err != nil:
			return err
		case cur == unmogrowp.RoleNone:
			return errNotMember()
		case cur == unmogrowp.RoleOwner:
			return errOwnerStays()
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE app_members SET role = ? WHERE app_id = ? AND user_id = ?`),
			role, appID, userID); err != nil {
			return err
		}
		var err error
		m, err = db.member(ctx, tx, appID, userID)
		return err
	})
	if err != nil {
		return nil, db.fail("set role", err)
	}
	return m, nil
}

// RemoveMember implements unmogrowp.TeamStore.
func (db *DB) RemoveMember(ctx context.Context, appID, userID string) error {
	if !db.d.storable(appID) || !db.d.storable(userID) {
		return errNotMember()
	}
	return db.fail("remove member", db.inTx(ctx, func(tx *sql.Tx) error {
		switch cur, err := db.lockedRole(ctx, tx, appID, userID); {
		case err != nil:
			return err
		case cur == unmogrowp.RoleNone:
			return errNotMember()
		case cur == unmogrowp.RoleOwner:
			return unmogrowp.Errorf(unmogrowp.ECONFLICT, "The owner cannot leave the app: transfer its ownership to another member first.")
		}
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM app_members WHERE app_id = ? AND user_id = ?`), appID, userID)
		return err
	}))
}

// TransferOwnership implements unmogrowp.TeamStore. The app's row is locked first, so
// that two transfers of one app run one after the other; the old owner is demoted before
// the new one is promoted, so the one-owner index holds at every statement.
func (db *DB) TransferOwnership(ctx context.Context, appID, toUserID string) error {
	if !db.d.storable(appID) || !db.d.storable(toUserID) {
		return errAppNotFound()
	}
	return db.fail("transfer ownership", db.inTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM apps WHERE id = ?`+db.d.forUpdate), appID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errAppNotFound()
		}
		if err != nil {
			return err
		}
		switch cur, err := db.lockedRole(ctx, tx, appID, toUserID); {
		case err != nil:
			return err
		case cur == unmogrowp.RoleNone:
			return errNotMember()
		case cur == unmogrowp.RoleOwner:
			return unmogrowp.Errorf(unmogrowp.ECONFLICT, "This member is the owner already.")
		}
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE app_members SET role = 'admin' WHERE app_id = ? AND role = 'owner'`, []any{appID}},
			{`UPDATE app_members SET role = 'owner' WHERE app_id = ? AND user_id = ?`, []any{appID, toUserID}},
			{`UPDATE apps SET owner_id = ? WHERE id = ?`, []any{toUserID, appID}},
		} {
			if _, err := tx.ExecContext(ctx, db.q(st.q), st.args...); err != nil {
				return err
			}
		}
		return nil
	}))
}

// invitationColumns are the columns scanInvitation reads, in its order.
const invitationColumns = `id, app_id, email, role, token_hash, invited_by, created_at, expires_at`

func scanInvitation(r scanner) (unmogrowp.Invitation, error) {
	var (
		inv              unmogrowp.Invitation
		role             string
		by               sql.NullString
		created, expires int64
	)
	err := r.Scan(&inv.ID, &inv.AppID, &inv.Email, &role, &inv.TokenHash, &by, &created, &expires)
	inv.Role, inv.InvitedBy = unmogrowp.Role(role), by.String
	inv.CreatedAt, inv.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return inv, err
}

// CreateInvitation implements unmogrowp.TeamStore.
func (db *DB) CreateInvitation(ctx context.Context, inv *unmogrowp.Invitation) error {
	if inv == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "An invitation is required.")
	}
	email, err := unmogrowp.NormalizeEmail(inv.Email)
	if err != nil {
		return err
	}
	if err := grantable(inv.Role); err != nil {
		return err
	}
	if inv.TokenHash == "" || inv.ExpiresAt.IsZero() {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "An invitation needs a token hash and an expiry.")
	}
	if !db.d.storable(email) || !db.d.storable(inv.AppID) || !db.d.storable(inv.InvitedBy) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "email must be valid UTF-8 text.")
	}
	id, err := unmogrowp.NewID(unmogrowp.InvitationIDPrefix)
	if err != nil {
		return err
	}
	created := time.Now().UTC().Truncate(time.Microsecond)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM invitations WHERE app_id = ? AND email = ?`), inv.AppID, email); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO invitations (`+invitationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			id, inv.AppID, email, inv.Role, inv.TokenHash, nullString(inv.InvitedBy), created.UnixMicro(), inv.ExpiresAt.UnixMicro())
		return err
	})
	if db.d.broke(err, foreignKey, "") {
		return errAppOrUserNotFound()
	}
	if err != nil {
		return db.fail("create invitation", err)
	}
	inv.ID, inv.Email, inv.CreatedAt = id, email, created
	inv.ExpiresAt = inv.ExpiresAt.UTC().Truncate(time.Microsecond)
	return nil
}

// Invitations implements unmogrowp.TeamStore.
func (db *DB) Invitations(ctx context.Context, appID string, now time.Time) ([]unmogrowp.Invitation, error) {
	if !db.d.storable(appID) {
		return []unmogrowp.Invitation{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+invitationColumns+` FROM invitations
		WHERE app_id = ? AND expires_at > ? ORDER BY created_at, id`), appID, now.UnixMicro())
	if err != nil {
		return nil, db.fail("list invitations", err)
	}
	return collect(db, rows, "list invitations", scanInvitation)
}

// RevokeInvitation implements unmogrowp.TeamStore.
func (db *DB) RevokeInvitation(ctx context.Context, appID, id string) error {
	if !db.d.storable(appID) || !db.d.storable(id) {
		return errNoInvitation()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM invitations WHERE app_id = ? AND id = ?`), appID, id)
	return db.affectedOne(res, err, "revoke invitation", errNoInvitation)
}

// InvitationByToken implements unmogrowp.TeamStore.
func (db *DB) InvitationByToken(ctx context.Context, tokenHash string, now time.Time) (*unmogrowp.Invitation, error) {
	if tokenHash == "" || !db.d.storable(tokenHash) {
		return nil, errNoInvitation()
	}
	inv, err := found[unmogrowp.Invitation](db, "invitation by token", errNoInvitation)(scanInvitation(db.read.QueryRowContext(ctx,
		db.q(`SELECT `+invitationColumns+` FROM invitations WHERE token_hash = ? AND expires_at > ?`), tokenHash, now.UTC().UnixMicro())))
	if err != nil {
		return nil, err
	}
	return &inv, nil
}

// AcceptInvitation implements unmogrowp.TeamStore.
func (db *DB) AcceptInvitation(ctx context.Context, tokenHash, userID string, now time.Time) (*unmogrowp.Member, error) {
	if tokenHash == "" || !db.d.storable(tokenHash) || !db.d.storable(userID) {
		return nil, errNoInvitation()
	}
	var m *unmogrowp.Member
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, db.q(`SELECT `+invitationColumns+` FROM invitations
			WHERE token_hash = ?`+db.d.forUpdate), tokenHash))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !inv.ExpiresAt.After(now)) {
			return errNoInvitation()
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM invitations WHERE id = ?`), inv.ID); err != nil {
			return err
		}
		cur, err := db.lockedRole(ctx, tx, inv.AppID, userID)
		switch {
		case err != nil:
			return err
		case cur == unmogrowp.RoleNone:
			_, err = tx.ExecContext(ctx, db.q(`INSERT INTO app_members (app_id, user_id, role, added_at) VALUES (?, ?, ?, ?)`),
				inv.AppID, userID, inv.Role, now.UTC().UnixMicro())
		case cur.Rank() < inv.Role.Rank():
			_, err = tx.ExecContext(ctx, db.q(`UPDATE app_members SET role = ? WHERE app_id = ? AND user_id = ?`),
				inv.Role, inv.AppID, userID)
		}
		if err != nil {
			return err
		}
		m, err = db.member(ctx, tx, inv.AppID, userID)
		return err
	})
	if db.d.broke(err, foreignKey, "") {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, db.fail("accept invitation", err)
	}
	return m, nil
}

// accessTokenColumns are the columns scanAccessToken reads, in its order.
const accessTokenColumns = `t.id, t.user_id, t.name, t.scope, t.token_hash, t.created_at, t.expires_at, t.last_used_at`

func scanAccessToken(r scanner, extra ...any) (unmogrowp.AccessToken, error) {
	var (
		t                      unmogrowp.AccessToken
		scope                  string
		created, expires, used int64
	)
	err := r.Scan(append([]any{&t.ID, &t.UserID, &t.Name, &scope, &t.TokenHash, &created, &expires, &used}, extra...)...)
	t.Scope, t.CreatedAt = unmogrowp.TokenScope(scope), time.UnixMicro(created).UTC()
	t.ExpiresAt, t.LastUsedAt = fromMicros(expires), fromMicros(used)
	return t, err
}

// fromMicros returns the UTC time of unix microseconds, and the zero time for 0.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// toMicros returns t in unix microseconds, and 0 for the zero time.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// CreateAccessToken implements unmogrowp.TeamStore.
func (db *DB) CreateAccessToken(ctx context.Context, t *unmogrowp.AccessToken) error {
	if t == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A token is required.")
	}
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "name is required.")
	case utf8.RuneCountInString(t.Name) > unmogrowp.MaxAccessTokenNameLen:
		return unmogrowp.Errorf(unmogrowp.EINVALID, "name must be at most %d characters.", unmogrowp.MaxAccessTokenNameLen)
	case t.Scope != unmogrowp.ScopeRead && t.Scope != unmogrowp.ScopeWrite:
		return unmogrowp.Errorf(unmogrowp.EINVALID, "scope must be read or write.")
	case t.TokenHash == "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A token needs its hash.")
	}
	if err := unmogrowp.ValidateName("name", t.Name); err != nil {
		return err
	}
	if !db.d.storable(t.Name) || !db.d.storable(t.UserID) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "name must be valid UTF-8 text.")
	}
	id, err := unmogrowp.NewID(unmogrowp.AccessTokenIDPrefix)
	if err != nil {
		return err
	}
	created := time.Now().UTC().Truncate(time.Microsecond)
	_, err = db.write.ExecContext(ctx, db.q(`INSERT INTO access_tokens (id, user_id, name, scope, token_hash,
		created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`),
		id, t.UserID, t.Name, t.Scope, t.TokenHash, created.UnixMicro(), toMicros(t.ExpiresAt))
	if db.d.broke(err, foreignKey, "") {
		return errUserNotFound()
	}
	if err != nil {
		return db.fail("create access token", err)
	}
	t.ID, t.CreatedAt, t.LastUsedAt = id, created, time.Time{}
	if !t.ExpiresAt.IsZero() {
		t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	return nil
}

// AccessTokens implements unmogrowp.TeamStore.
func (db *DB) AccessTokens(ctx context.Context, userID string) ([]unmogrowp.AccessToken, error) {
	if !db.d.storable(userID) {
		return []unmogrowp.AccessToken{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+accessTokenColumns+` FROM access_tokens t
		WHERE t.user_id = ? ORDER BY t.created_at DESC, t.id DESC`), userID)
	if err != nil {
		return nil, db.fail("list access tokens", err)
	}
	return collect(db, rows, "list access tokens", func(r scanner) (unmogrowp.AccessToken, error) { return scanAccessToken(r) })
}

// RevokeAccessToken implements unmogrowp.TeamStore.
func (db *DB) RevokeAccessToken(ctx context.Context, userID, id string) error {
	if !db.d.storable(userID) || !db.d.storable(id) {
		return errNoAccessToken()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM access_tokens WHERE user_id = ? AND id = ?`), userID, id)
	return db.affectedOne(res, err, "revoke access token", errNoAccessToken)
}

// UserByAccessToken implements unmogrowp.TeamStore.
func (db *DB) UserByAccessToken(ctx context.Context, tokenHash string, now time.Time) (*unmogrowp.User, *unmogrowp.AccessToken, error) {
	bad := func() error {
		return unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "The access token is invalid, expired or revoked.")
	}
	if tokenHash == "" || !db.d.storable(tokenHash) {
		return nil, nil, bad()
	}
	var (
		u                       unmogrowp.User
		google                  sql.NullString
		userCreated             int64
		userEmail, userName, id string
	)
	t, err := scanAccessToken(db.read.QueryRowContext(ctx, db.q(`SELECT `+accessTokenColumns+`,
		u.id, u.email, u.name, u.google_subject, u.created_at
		FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`), tokenHash),
		&id, &userEmail, &userName, &google, &userCreated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, bad()
	case err != nil:
		return nil, nil, db.fail("user by access token", err)
	case !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(now):
		return nil, nil, bad()
	}
	u = unmogrowp.User{ID: id, Email: userEmail, Name: userName, GoogleSubject: google.String, CreatedAt: time.UnixMicro(userCreated).UTC()}
	if now.Sub(t.LastUsedAt) >= lastUseGranularity {
		if _, err := db.write.ExecContext(ctx, db.q(`UPDATE access_tokens SET last_used_at = ? WHERE id = ?`),
			now.UnixMicro(), t.ID); err != nil {
			return nil, nil, db.fail("user by access token", err)
		}
		t.LastUsedAt = now.UTC().Truncate(time.Microsecond)
	}
	return &u, &t, nil
}

// AppendAudit implements unmogrowp.TeamStore.
func (db *DB) AppendAudit(ctx context.Context, e *unmogrowp.AuditEntry) error {
	if e == nil || e.AppID == "" || e.Action == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "An audit entry needs an app and an action.")
	}
	id, err := unmogrowp.NewID(unmogrowp.AuditIDPrefix)
	if err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	changes := string(e.Changes)
	if changes == "" {
		changes = "{}"
	}
	for _, s := range []string{e.AppID, e.UserID, e.UserEmail, e.Via, e.Action, e.Target, changes} {
		if !db.d.storable(s) {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "An audit entry must be valid UTF-8 text.")
		}
	}
	_, err = db.write.ExecContext(ctx, db.q(`INSERT INTO audit_log (id, app_id, at, user_id, user_email, via,
		action, target, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		id, e.AppID, e.At.UnixMicro(), e.UserID, e.UserEmail, e.Via, e.Action, e.Target, changes)
	if db.d.broke(err, foreignKey, "") {
		return errAppNotFound()
	}
	if err != nil {
		return db.fail("append audit", err)
	}
	e.ID, e.Changes = id, []byte(changes)
	return nil
}

// Audit implements unmogrowp.TeamStore. Its cursor is the last entry's time in unix
// microseconds and its id.
func (db *DB) Audit(ctx context.Context, f unmogrowp.AuditFilter) ([]unmogrowp.AuditEntry, string, error) {
	q := `SELECT id, app_id, at, user_id, user_email, via, action, target, changes FROM audit_log WHERE app_id = ?`
	args := []any{f.AppID}
	if f.Cursor != "" {
		cond, cargs, err := db.pageAfter("at", f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q, args = q+cond, append(args, cargs...)
	}
	if !db.d.storable(f.AppID) {
		return []unmogrowp.AuditEntry{}, "", nil
	}
	q += ` ORDER BY at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit+1) // one more tells whether there is a next page
	}
	rows, err := db.read.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, "", db.fail("read audit log", err)
	}
	es, err := collect(db, rows, "read audit log", func(r scanner) (unmogrowp.AuditEntry, error) {
		var (
			e       unmogrowp.AuditEntry
			at      int64
			changes string
		)
		err := r.Scan(&e.ID, &e.AppID, &at, &e.UserID, &e.UserEmail, &e.Via, &e.Action, &e.Target, &changes)
		e.At, e.Changes = time.UnixMicro(at).UTC(), []byte(changes)
		return e, err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if f.Limit > 0 && len(es) > f.Limit {
		es = es[:f.Limit]
		last := es[len(es)-1]
		next = nextCursor(last.At, last.ID)
	}
	return es, next, nil
}

// affectedOne returns the error of a statement that must change one row (res and err),
// or notFound() unless it changed one.
func (db *DB) affectedOne(res sql.Result, err error, op string, notFound func() error) error {
	if err != nil {
		return db.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return db.fail(op, err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

func errNotMember() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This user is not a member of the app.")
}

func errOwnerStays() error {
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "The owner's role changes only by a transfer of ownership.")
}

func errAppOrUserNotFound() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such app or user.")
}

func errNoInvitation() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This invitation does not exist, was used, or expired.")
}

func errNoAccessToken() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such access token.")
}
