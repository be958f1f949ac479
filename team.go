package unmogrowp

import (
	"context"
	"encoding/json"
	"time"
)

// Role is what a user may do with an app (API.md, "Teams"). Each role may do everything the
// roles below it may: viewer < editor < admin < owner. An app has exactly one owner.
type Role string

// The roles, lowest first. RoleNone is no role: the app answers as if it did not exist.
const (
	RoleNone   Role = ""
	RoleViewer Role = "viewer" // reads everything of the app but its secrets
	RoleEditor Role = "editor" // also changes links, postbacks, costs, SKAN; sends events
	RoleAdmin  Role = "admin"  // also changes settings, rotates keys, manages members
	RoleOwner  Role = "owner"  // also deletes the app and transfers it
)

// Rank orders the roles: 0 for RoleNone or an unknown role, 1 for viewer up to 4 for owner.
func (r Role) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// AtLeast reports whether r is a role and may do what min may.
func (r Role) AtLeast(min Role) bool { return r.Rank() > 0 && r.Rank() >= min.Rank() }

// ParseRole returns the role named s. It returns EINVALID for anything but the four roles.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Rank() > 0 {
		return r, nil
	}
	return RoleNone, Errorf(EINVALID, "role must be one of viewer, editor, admin, owner.")
}

// Member is a user's role on an app.
type Member struct {
	AppID   string
	User    User
	Role    Role
	AddedAt time.Time
}

// AppRole is an app and the role a user has on it.
type AppRole struct {
	App  *App
	Role Role
}

// Invitation is the offer of a role on an app to someone by email, redeemed with its
// token by whoever holds it, once, before it expires. Only the token's hash is kept
// (HashSessionToken): the token is shown once, to the inviter.
type Invitation struct {
	ID        string
	AppID     string
	Email     string // normalized (NormalizeEmail)
	Role      Role   // viewer, editor or admin
	TokenHash string
	InvitedBy string // the inviting user's id; "" once that user is gone
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InvitationLifetime is how long an invitation may be accepted.
const InvitationLifetime = 7 * 24 * time.Hour

// TokenScope is what a personal access token may do: ScopeRead only reads (GET), ScopeWrite
// does whatever its user may.
type TokenScope string

// The scopes of personal access tokens.
const (
	ScopeRead  TokenScope = "read"
	ScopeWrite TokenScope = "write"
)

// AccessToken is a personal access token, for scripts: it acts with its user's roles, read
// only when its scope is ScopeRead. Only the token's hash is kept (HashSessionToken).
type AccessToken struct {
	ID         string
	UserID     string
	Name       string
	Scope      TokenScope
	TokenHash  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never expires
	LastUsedAt time.Time // zero: never used
}

// The prefixes of the ids of invitations, access tokens and audit entries, and of the
// secret tokens of access tokens and invitations (recognisable when leaked).
const (
	InvitationIDPrefix    = "inv_"
	AccessTokenIDPrefix   = "tok_"
	AuditIDPrefix         = "aud_"
	AccessTokenPrefix     = "uat_"
	InvitationTokenPrefix = "uin_"
)

// MaxAccessTokenNameLen is the longest name of an access token, in characters.
const MaxAccessTokenNameLen = 100

// AuditEntry is one change to an app: who made it, what and when. Changes never holds a
// secret's value (a changed secret is recorded as changed, no more).
type AuditEntry struct {
	ID        string
	AppID     string
	At        time.Time
	UserID    string // "" for a change made with the app's server key
	UserEmail string // the user's email when the change was made
	Via       string // "session", "token" (a personal access token) or "server_key"
	Action    string // such as "app.update", "member.add", "postback.delete"
	Target    string // what changed: a user's, postback's... id, or the app's
	Changes   json.RawMessage
}

// AuditFilter selects a page of an app's audit log, newest first.
type AuditFilter struct {
	AppID  string
	Limit  int    // at most this many; 0: all
	Cursor string // from the previous page's next; "" for the first page
}

// TeamStore keeps apps' members, invitations, users' personal access tokens and apps'
// audit logs: the metadata store implements it, metadatatest.RunTeamStore is its
// conformance suite. An app's creator (App.OwnerID) is its owner member from CreateApp on;
// deleting an app deletes its members, invitations and audit log.
type TeamStore interface {
	// AppRole returns the app with the id and the user's role on it, in one read; the role
	// is RoleNone if the user has none. Returns ENOTFOUND if there is no such app.
	AppRole(ctx context.Context, appID, userID string) (*App, Role, error)

	// AppsOfUser lists the apps the user has a role on, with the role, oldest app first
	// (ties by id); an empty, non-nil slice if none.
	AppsOfUser(ctx context.Context, userID string) ([]AppRole, error)

	// Members lists the app's members, owner first, then by when they were added (ties by
	// user id). An empty, non-nil slice for an unknown app.
	Members(ctx context.Context, appID string) ([]Member, error)

	// AddMember gives the user the role (viewer, editor or admin) on the app and returns
	// the membership. Returns EINVALID for another role, ENOTFOUND for an unknown app or
	// user, ECONFLICT if the user is already a member.
	AddMember(ctx context.Context, appID, userID string, role Role) (*Member, error)

	// SetRole changes a member's role to viewer, editor or admin and returns the member.
	// Returns EINVALID for another role, ENOTFOUND if the user is not a member, ECONFLICT
	// if the member is the owner (ownership moves only by TransferOwnership).
	SetRole(ctx context.Context, appID, userID string, role Role) (*Member, error)

	// RemoveMember takes the user's role away. Returns ENOTFOUND if the user is not a
	// member, ECONFLICT if the member is the owner: the last owner cannot leave.
	RemoveMember(ctx context.Context, appID, userID string) error

	// TransferOwnership makes the member toUserID the owner, and the owner an admin, at
	// once; App.OwnerID follows. Returns ENOTFOUND if the app does not exist or toUserID
	// is not a member, ECONFLICT if toUserID is the owner already.
	TransferOwnership(ctx context.Context, appID, toUserID string) error

	// CreateInvitation validates and stores the invitation (its TokenHash made by the
	// caller), filling its ID and CreatedAt; a pending invitation of the same email to the
	// same app is replaced. Returns EINVALID for a bad email, role (viewer, editor or admin
	// only), missing hash or expiry, ENOTFOUND for an unknown app.
	CreateInvitation(ctx context.Context, inv *Invitation) error

	// Invitations lists the app's invitations that have not expired at now, oldest first.
	Invitations(ctx context.Context, appID string, now time.Time) ([]Invitation, error)

	// RevokeInvitation deletes the app's invitation with the id. Returns ENOTFOUND if the
	// app has no such invitation.
	RevokeInvitation(ctx context.Context, appID, id string) error

	// InvitationByToken returns the invitation with the token hash, without redeeming it.
	// Returns ENOTFOUND for an unknown, used or (at now) expired invitation.
	InvitationByToken(ctx context.Context, tokenHash string, now time.Time) (*Invitation, error)

	// AcceptInvitation redeems the invitation with the token hash for the user, once, in
	// one transaction: the invitation is deleted and the user becomes a member with its
	// role, or keeps a higher role they already have. It returns the membership. Returns
	// ENOTFOUND for an unknown, used or (at now) expired invitation.
	AcceptInvitation(ctx context.Context, tokenHash, userID string, now time.Time) (*Member, error)

	// CreateAccessToken validates and stores the token (TokenHash made by the caller),
	// filling its ID and CreatedAt. Returns EINVALID for a missing or too long name, a bad
	// scope or a missing hash, ENOTFOUND for an unknown user.
	CreateAccessToken(ctx context.Context, t *AccessToken) error

	// AccessTokens lists the user's tokens, newest first, expired ones included.
	AccessTokens(ctx context.Context, userID string) ([]AccessToken, error)

	// RevokeAccessToken deletes the user's token with the id. Returns ENOTFOUND if the user
	// has no such token.
	RevokeAccessToken(ctx context.Context, userID, id string) error

	// UserByAccessToken returns the token with the hash and its user, and records now as
	// its last use (at most once a minute, to spare writes). Returns EUNAUTHORIZED for an
	// unknown, revoked or (at now) expired token.
	UserByAccessToken(ctx context.Context, tokenHash string, now time.Time) (*User, *AccessToken, error)

	// AppendAudit stores an entry, filling its ID (and At, when zero). Returns EINVALID
	// without an app or an action.
	AppendAudit(ctx context.Context, e *AuditEntry) error

	// Audit returns a page of the app's audit log, newest first (ties by id, highest first),
	// and the cursor of the next page ("" for none). Returns EINVALID for a cursor it did
	// not make.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error)
}
