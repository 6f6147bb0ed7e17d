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
}

// Principal returns "user:<id>".
func (u User) Principal() string { return UserPrincipal(u.ID) }

// APIKey is a bearer credential for scripts and the CLI. Only the SHA-256 of
// its secret is stored.
type APIKey struct {
	ID         string // random, part of the secret: hoist_<id>_<random>
	Name       string
	SecretHash string // hex SHA-256 of the whole secret
	CreatedAt  time.Time
	CreatedBy  string // principal that created it ("" for the bootstrap key)
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
type Store interface {
	// CreateUser inserts u together with its initial role bindings, all or
	// nothing. The bindings' Principal is set from u.
	CreateUser(ctx context.Context, u User, roles []space.Binding) error
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers pages users ordered by id.
	ListUsers(ctx context.Context, cursor string, limit int) ([]User, string, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error

	// CreateAPIKey inserts k together with its initial role bindings, all
	// or nothing. The bindings' Principal is set from k.
	CreateAPIKey(ctx context.Context, k APIKey, roles []space.Binding) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys pages keys newest first.
	ListAPIKeys(ctx context.Context, cursor string, limit int) ([]APIKey, string, error)
	// DeleteAPIKey removes the key and its bindings.
	DeleteAPIKey(ctx context.Context, id string) error

	// Grant sets b.Principal's role on b.SpaceID to b.Role (replacing any
	// previous role there). The principal must exist.
	Grant(ctx context.Context, b space.Binding) error
	// Revoke removes principal's binding on spaceID; NotFound if none.
	Revoke(ctx context.Context, principal, spaceID string) error
	// Bindings returns every binding of one principal, ordered by space.
	Bindings(ctx context.Context, principal string) ([]space.Binding, error)
}
