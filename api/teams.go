package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Teams (API.md, "Teams"): an app's members and invitations, the transfer of its
// ownership, its audit log, and users' personal access tokens. The role each route needs
// is declared in routes(); these handlers run once authorizeApp let the caller through.

// Limits of GET /api/apps/{app_id}/audit, and of a personal access token's expiry.
const (
	DefaultAuditLimit     = 50
	MaxAuditLimit         = 500
	MaxTokenLifetimeDays  = 3650
	redacted              = "[redacted]" // what the audit log shows of a changed secret
	auditActionAppUpdate  = "app.update"
	auditActionKeysRotate = "app.keys.rotate"
)

// teams returns the team store, or EUNAVAILABLE if the server was started without one.
func (s *Server) teams() (unmogrowp.TeamStore, error) {
	if s.cfg.Teams == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Teams are not enabled on this server.")
	}
	return s.cfg.Teams, nil
}

// memberJSON is a member as the API shows it.
type memberJSON struct {
	User    userJSON       `json:"user"`
	Role    unmogrowp.Role `json:"role"`
	AddedAt string         `json:"added_at"`
}

func newMemberJSON(m *unmogrowp.Member) memberJSON {
	return memberJSON{User: newUserJSON(&m.User), Role: m.Role, AddedAt: m.AddedAt.UTC().Format(time.RFC3339)}
}

// invitationJSON is an invitation as the API shows it: its token only in the answer that
// makes it.
type invitationJSON struct {
	ID        string         `json:"id"`
	Email     string         `json:"email"`
	Role      unmogrowp.Role `json:"role"`
	Token     string         `json:"token,omitempty"`
	CreatedAt string         `json:"created_at"`
	ExpiresAt string         `json:"expires_at"`
}

func newInvitationJSON(inv *unmogrowp.Invitation, token string) invitationJSON {
	return invitationJSON{ID: inv.ID, Email: inv.Email, Role: inv.Role, Token: token,
		CreatedAt: inv.CreatedAt.UTC().Format(time.RFC3339), ExpiresAt: inv.ExpiresAt.UTC().Format(time.RFC3339)}
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	ms, err := teams.Members(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	invs, err := teams.Invitations(r.Context(), app.ID, time.Now())
	if err != nil {
		return fmt.Errorf("list invitations: %w", err)
	}
	members := make([]memberJSON, len(ms))
	for i := range ms {
		members[i] = newMemberJSON(&ms[i])
	}
	invitations := make([]invitationJSON, len(invs))
	for i := range invs {
		invitations[i] = newInvitationJSON(&invs[i], "")
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"members": members, "invitations": invitations})
	return nil
}

// memberRequest is the body of POST /api/apps/{app_id}/members and of PATCH
// /api/apps/{app_id}/members/{user_id} (which reads only role).
type memberRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// grantableRole reads the role a member may be given: viewer, editor or admin.
func grantableRole(s string) (unmogrowp.Role, error) {
	role, err := unmogrowp.ParseRole(s)
	if err != nil || role == unmogrowp.RoleOwner {
		return "", unmogrowp.Errorf(unmogrowp.EINVALID,
			"role must be one of viewer, editor, admin; make a member the owner with POST /api/apps/{app_id}/transfer.")
	}
	return role, nil
}

// handleAddMember adds an existing user at once, and invites an unknown email: the
// invitation's token is in this answer only.
func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	users, err := s.users()
	if err != nil {
		return err
	}
	var req memberRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	email, err := unmogrowp.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	role, err := grantableRole(req.Role)
	if err != nil {
		return err
	}
	u, _, err := users.UserByEmail(r.Context(), email)
	switch {
	case err == nil:
		m, err := teams.AddMember(r.Context(), app.ID, u.ID, role)
		if err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		s.audit(r, app.ID, "member.add", u.ID, map[string]any{"email": email, "role": role})
		httpserve.JSON(w, http.StatusCreated, struct {
			Status string `json:"status"`
			memberJSON
		}{"added", newMemberJSON(m)})
		return nil
	case unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND:
		return fmt.Errorf("add member: %w", err)
	}
	token, err := newToken(unmogrowp.InvitationTokenPrefix)
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	inv := &unmogrowp.Invitation{AppID: app.ID, Email: email, Role: role, TokenHash: unmogrowp.HashSessionToken(token),
		InvitedBy: callerOf(r).userID(), ExpiresAt: time.Now().Add(unmogrowp.InvitationLifetime)}
	if err := teams.CreateInvitation(r.Context(), inv); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	s.audit(r, app.ID, "invitation.create", inv.ID, map[string]any{"email": email, "role": role})
	mailed := s.mailInvitation(r, app, inv, token)
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusCreated, struct {
		Status string `json:"status"`
		Mailed bool   `json:"mailed"`
		invitationJSON
	}{"invited", mailed, newInvitationJSON(inv, token)})
	return nil
}

func (s *Server) handlePatchMember(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	role, err := grantableRole(req.Role)
	if err != nil {
		return err
	}
	userID := r.PathValue("user_id")
	_, before, err := teams.AppRole(r.Context(), app.ID, userID)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	m, err := teams.SetRole(r.Context(), app.ID, userID, role)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	if before != role {
		s.audit(r, app.ID, "member.update", userID, map[string]change{"role": {before, role}})
	}
	httpserve.JSON(w, http.StatusOK, newMemberJSON(m))
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	return s.removeMember(w, r, app, r.PathValue("user_id"), "member.remove")
}

// handleLeave takes the caller's own role on the app away: any member may leave, but the
// owner, the last owner, who must transfer the app first (409).
func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	c := callerOf(r)
	if c.user == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "The server key is not a member: sign in to leave an app.")
	}
	return s.removeMember(w, r, app, c.user.ID, "member.leave")
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, app *unmogrowp.App, userID, action string) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	if err := teams.RemoveMember(r.Context(), app.ID, userID); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	s.audit(r, app.ID, action, userID, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	id := r.PathValue("invitation_id")
	if err := teams.RevokeInvitation(r.Context(), app.ID, id); err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	s.audit(r, app.ID, "invitation.revoke", id, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleTransfer makes a member the owner, and the owner an admin; it answers the members.
func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.UserID == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "user_id is required: the member who becomes the owner.")
	}
	if err := teams.TransferOwnership(r.Context(), app.ID, req.UserID); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	s.audit(r, app.ID, "app.transfer", req.UserID, map[string]change{"owner": {app.OwnerID, req.UserID}})
	s.forgetApp(app.ID)
	return s.handleMembers(w, r, app)
}

// handleAcceptInvitation redeems an invitation for the signed-in user and answers the app,
// with the user's role on it.
func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	token := r.PathValue("token")
	if len(token) != invitationTokenLen || !strings.HasPrefix(token, unmogrowp.InvitationTokenPrefix) {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This invitation does not exist, was used, or expired.")
	}
	m, err := teams.AcceptInvitation(r.Context(), unmogrowp.HashSessionToken(token), user.ID, time.Now())
	if err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	app, role, err := teams.AppRole(r.Context(), m.AppID, user.ID)
	if err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	r = r.WithContext(context.WithValue(r.Context(), callerKey{}, &caller{user: user, role: role}))
	s.audit(r, app.ID, "invitation.accept", user.ID, map[string]any{"email": user.Email, "role": role})
	httpserve.JSON(w, http.StatusOK, s.appView(app, role))
	return nil
}

// auditEntryJSON is an audit entry as the API shows it; user is null for a change made
// with the server key.
type auditEntryJSON struct {
	ID      string          `json:"id"`
	At      string          `json:"at"`
	User    *auditUserJSON  `json:"user"`
	Via     string          `json:"via"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Changes json.RawMessage `json:"changes"`
}

type auditUserJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryLimit(q, DefaultAuditLimit, MaxAuditLimit)
	if err != nil {
		return err
	}
	es, next, err := teams.Audit(r.Context(), unmogrowp.AuditFilter{AppID: app.ID, Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	out := make([]auditEntryJSON, len(es))
	for i, e := range es {
		out[i] = auditEntryJSON{ID: e.ID, At: e.At.UTC().Format(time.RFC3339), Via: e.Via, Action: e.Action, Target: e.Target, Changes: e.Changes}
		if e.UserID != "" {
			out[i].User = &auditUserJSON{ID: e.UserID, Email: e.UserEmail}
		}
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"entries": out, "next_cursor": next})
	return nil
}

// change is one field's change in an audit entry.
type change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// audit records a change to the app made by the request's caller. changes is marshalled
// as the entry's changes (nil: {}); it must never hold a secret's value. A failure to
// record is logged, not answered: the change itself is done.
//
// Every change to an app is audited, so audit is also where the auth cache forgets what
// it holds (authcache.go): a role lowered or a member removed takes effect at once here.
func (s *Server) audit(r *http.Request, appID, action, target string, changes any) {
	s.auth.invalidate()
	if s.cfg.Teams == nil {
		return
	}
	e := &unmogrowp.AuditEntry{AppID: appID, Action: action, Target: target, Via: "server_key"}
	if c := callerOf(r); c != nil {
		e.Via = c.via()
		if c.user != nil {
			e.UserID, e.UserEmail = c.user.ID, c.user.Email
		}
	}
	if changes != nil {
		b, err := json.Marshal(changes)
		if err != nil {
			s.cfg.Logger.Error("audit entry not recorded", "app_id", appID, "action", action, "err", err)
			return
		}
		e.Changes = b
	}
	if err := s.cfg.Teams.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.cfg.Logger.Error("audit entry not recorded", "app_id", appID, "action", action, "err", err)
	}
}

// diff returns the fields of before and after (flattened JSON objects, flatten) that
// differ, by name; the fields named in secret are shown as changed without their values.
func diff(before, after map[string]any, secret ...string) map[string]change {
	out := map[string]change{}
	for k, av := range after {
		if bv := before[k]; !reflect.DeepEqual(av, bv) {
			out[k] = change{bv, av}
		}
	}
	for k, bv := range before {
		if _, ok := after[k]; !ok {
			out[k] = change{bv, nil}
		}
	}
	for _, k := range secret {
		if _, ok := out[k]; ok {
			out[k] = change{redacted, redacted}
		}
	}
	return out
}

// flatten returns v's JSON object as a map of its leaves, nested objects' fields named
// "outer.inner".
func flatten(v any) map[string]any {
	b, err := json.Marshal(v)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		return map[string]any{}
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if inner, ok := v.(map[string]any); ok {
				walk(prefix+k+".", inner)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out
}

// userID is the caller's user's id, "" for the server key.
func (c *caller) userID() string {
	if c == nil || c.user == nil {
		return ""
	}
	return c.user.ID
}

// tokenJSON is a personal access token as the API shows it: the token itself only in the
// answer that makes it. Times never reached are null.
type tokenJSON struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Scope      unmogrowp.TokenScope `json:"scope"`
	Token      string               `json:"token,omitempty"`
	CreatedAt  string               `json:"created_at"`
	ExpiresAt  *string              `json:"expires_at"`
	LastUsedAt *string              `json:"last_used_at"`
}

func newTokenJSON(t *unmogrowp.AccessToken, token string) tokenJSON {
	opt := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	return tokenJSON{ID: t.ID, Name: t.Name, Scope: t.Scope, Token: token, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
		ExpiresAt: opt(t.ExpiresAt), LastUsedAt: opt(t.LastUsedAt)}
}

// sessionOnly refuses a request signed in with a personal access token: tokens are made
// and revoked signed in, so that a leaked token cannot make itself another.
func sessionOnly(r *http.Request) error {
	if c := callerOf(r); c == nil || c.token != nil {
		return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Personal access tokens are managed signed in, not with another token.")
	}
	return nil
}

func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	ts, err := teams.AccessTokens(r.Context(), user.ID)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	out := make([]tokenJSON, len(ts))
	for i := range ts {
		out[i] = newTokenJSON(&ts[i], "")
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	if err := sessionOnly(r); err != nil {
		return err
	}
	var req struct {
		Name          string `json:"name"`
		Scope         string `json:"scope"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > MaxTokenLifetimeDays {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "expires_in_days must be from 1 to %d, or absent for a token that does not expire.", MaxTokenLifetimeDays)
	}
	token, err := newToken(unmogrowp.AccessTokenPrefix)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t := &unmogrowp.AccessToken{UserID: user.ID, Name: req.Name, Scope: unmogrowp.TokenScope(req.Scope), TokenHash: unmogrowp.HashSessionToken(token)}
	if req.ExpiresInDays > 0 {
		t.ExpiresAt = time.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
	}
	if err := teams.CreateAccessToken(r.Context(), t); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserve.JSON(w, http.StatusCreated, newTokenJSON(t, token))
	return nil
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	teams, err := s.teams()
	if err != nil {
		return err
	}
	if err := sessionOnly(r); err != nil {
		return err
	}
	if err := teams.RevokeAccessToken(r.Context(), user.ID, r.PathValue("token_id")); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	s.auth.invalidate()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
