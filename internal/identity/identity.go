// Package identity holds Hoist's principals — users with passwords and API
// keys — and the storage of their role bindings.
//
// A principal is named by a string: "user:<user-id>" or "apikey:<key-id>".
// Role bindings for both kinds live together (see [space.Binding]).
package identity

import (
	"context"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/space"
)

// The two kinds of principals.
const (
	KindUser   = "user"
	KindAPIKey = "apikey"
)

// User is a person who logs in with a username and password.
type User struct {
	ID           string // slug of the username at creation; immutable
	Username     string
	PasswordHash string // bcrypt
	CreatedAt    time.Time
	// DisabledAt is set while the user is disabled: no login, no session,
	// and none of the user's API keys work.
	DisabledAt *time.Time
	// Issuer and Subject name a user who logs in through an OpenID Connect
	// issuer (both "" for a local user); Name and Email are the issuer's,
	// refreshed at every login. Such a user has no password hash.
	Issuer, Subject string
	Name, Email     string
}

// External reports whether the user comes from an OpenID Connect issuer.
func (u User) External() bool { return u.Issuer != "" }

// Principal returns "user:<id>".
func (u User) Principal() string { return UserPrincipal(u.ID) }

// APIKey is a bearer credential for scripts and the CLI. Only the SHA-256 of
// its secret is stored.
type APIKey struct {
	ID         string // random, part of the secret: hoist_<id>_<random>
	Name       string
	SecretHash string // hex SHA-256 of the whole secret
	CreatedAt  time.Time
	CreatedBy  string     // principal that created it; a user here owns the key
	ExpiresAt  *time.Time // nil: never expires
	// Personal keys belong to the user who created them and have no roles
	// of their own: they act with the owner's current roles (hand-given
	// and mapped), so they never exceed them and follow every change.
	Personal bool
	// Ceiling bounds a personal key below its owner's roles (the zero
	// Ceiling: the owner's roles as they are). Other keys have none.
	Ceiling space.Ceiling
}

// Owner is the id of the user the key belongs to: the user who created it
// (the bootstrap key belongs to admin). Keys created with another API key
// belong to no user ("").
func (k APIKey) Owner() string {
	if kind, id, err := ParsePrincipal(k.CreatedBy); err == nil && kind == KindUser {
		return id
	}
	return ""
}

// Principal returns "apikey:<id>".
func (k APIKey) Principal() string { return APIKeyPrincipal(k.ID) }

// UserPrincipal returns the principal string of a user id.
func UserPrincipal(id string) string { return KindUser + ":" + id }

// APIKeyPrincipal returns the principal string of an API key id.
func APIKeyPrincipal(id string) string { return KindAPIKey + ":" + id }

// ParsePrincipal splits "user:<id>" or "apikey:<id>" into kind and id.
func ParsePrincipal(p string) (kind, id string, err error) {
	kind, id, ok := strings.Cut(p, ":")
	if !ok || id == "" || (kind != KindUser && kind != KindAPIKey) {
		return "", "", apperr.Errorf(apperr.Invalid, "malformed principal %q", p)
	}
	return kind, id, nil
}

// Store persists users, API keys and role bindings. Missing records give
// apperr NotFound, duplicates apperr Conflict; bindings naming a missing
// space give apperr NotFound naming the space.
//
// Every change that takes an audit.Entry writes it in the same transaction.
// The changes that end credentials (a new password, disabling, deleting)
// also delete the web sessions they end, in that transaction, so a session
// never outlives its credentials. The changes that can take rights away
// (DisableUser, DeleteUser, DeleteAPIKey, Grant, Revoke) refuse with
// apperr Conflict when they would leave no enabled root-admin user, or no
// usable root-admin API key (unexpired, its owner enabled, not personal:
// a personal key is only as strong as its owner's roles of the moment),
// where there was one before: the API, which only takes keys, is the only
// way to manage users and keys.
type Store interface {
	// CreateUser inserts u together with its initial role bindings, all or
	// nothing. The bindings' Principal is set from u.
	CreateUser(ctx context.Context, u User, roles []space.Binding, e audit.Entry) error
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers pages users ordered by id.
	ListUsers(ctx context.Context, cursor string, limit int) ([]User, string, error)
	// SetPasswordHash replaces the user's password hash and ends its web
	// sessions.
	SetPasswordHash(ctx context.Context, userID, hash string, e audit.Entry) error
	// SetUserDisabled disables the user at disabledAt, ending its web
	// sessions and those of its API keys, or enables it again (nil).
	SetUserDisabled(ctx context.Context, userID string, disabledAt *time.Time, e audit.Entry) error
	// DeleteUser removes the user, its bindings, its API keys (each with
	// an "api_key.delete" entry of its own) and their bindings, and every
	// web session of the user and of those keys.
	DeleteUser(ctx context.Context, userID string, e audit.Entry) error

	// CreateAPIKey inserts k together with its initial role bindings, all
	// or nothing. The bindings' Principal is set from k. A personal key
	// takes no bindings and must be created by a user (its owner), who may
	// hold at most MaxPersonalKeys of them (Conflict beyond).
	CreateAPIKey(ctx context.Context, k APIKey, roles []space.Binding, e audit.Entry) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys pages keys newest first.
	ListAPIKeys(ctx context.Context, cursor string, limit int) ([]APIKey, string, error)
	// ListPersonalKeys returns the personal keys of user userID, newest
	// first (at most MaxPersonalKeys).
	ListPersonalKeys(ctx context.Context, userID string) ([]APIKey, error)
	// DeleteAPIKey removes the key, its bindings and its web sessions.
	DeleteAPIKey(ctx context.Context, id string, e audit.Entry) error

	// Grant sets b.Principal's role on b.SpaceID to b.Role (replacing any
	// previous role there). The principal must exist and not be a
	// personal key (Invalid: it has no roles of its own).
	Grant(ctx context.Context, b space.Binding, e audit.Entry) error
	// Revoke removes principal's binding on spaceID; NotFound if none.
	Revoke(ctx context.Context, principal, spaceID string, e audit.Entry) error
	// Bindings returns every binding of one principal, ordered by space:
	// the hand-given ones and those from role mappings (MappingID set).
	// For a personal key they are its owner's, as they are now.
	Bindings(ctx context.Context, principal string) ([]space.Binding, error)
	// Ceiling returns the ceiling of a personal key (its Spaces those
	// not deleted since), the zero Ceiling for any other principal.
	Ceiling(ctx context.Context, principal string) (space.Ceiling, error)

	MappingStore
}

// MaxPersonalKeys bounds the personal API keys one user may hold.
const MaxPersonalKeys = 20
