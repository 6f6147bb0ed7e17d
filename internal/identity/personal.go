package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

// MaxPersonalKeyLifetime is the furthest a personal key's expiry may lie:
// every personal key expires, so a forgotten one stops by itself.
const MaxPersonalKeyLifetime = 366 * 24 * time.Hour

// Personal API keys (issue 20) let any logged-in user — an OpenID Connect
// user has no password for the CLI — make keys of their own. A personal
// key holds no roles: the store answers its bindings with its owner's as
// they are at each request, so it can never exceed them and loses a role
// the moment its owner does (a group left, a mapping deleted).

// errNotPersonalActor refuses actors that are neither a user nor a
// personal key of one: an ordinary key belongs to no one who could own a
// personal key, or is a root admin's tool for managing keys.
var errNotPersonalActor = apperr.Errorf(apperr.Forbidden,
	"personal API keys are managed by a logged-in user, or with one of that user's personal keys")

// personalOwner is the id of the user actor acts for: "user:<id>" itself,
// or the owner of a personal key.
func (s *Service) personalOwner(ctx context.Context, actor string) (string, error) {
	kind, id, err := ParsePrincipal(actor)
	if err != nil {
		return "", errNotPersonalActor
	}
	if kind == KindUser {
		return id, nil
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return "", errNotPersonalActor
	}
	if err != nil {
		return "", fmt.Errorf("load api key %s: %w", id, err)
	}
	if !k.Personal || k.Owner() == "" {
		return "", errNotPersonalActor
	}
	return k.Owner(), nil
}

// isPersonalKey reports whether actor is a personal key.
func (s *Service) isPersonalKey(ctx context.Context, actor string) (bool, error) {
	kind, id, err := ParsePrincipal(actor)
	if err != nil || kind != KindAPIKey {
		return false, nil
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load api key %s: %w", id, err)
	}
	return k.Personal, nil
}

// CreatePersonalKey mints a personal key for the user actor acts for,
// expiring at expiresAt (required: in the future, at most
// MaxPersonalKeyLifetime away). Roles in the answer are the owner's now.
func (s *Service) CreatePersonalKey(ctx context.Context, actor, name string, expiresAt time.Time) (NewKey, error) {
	owner, err := s.personalOwner(ctx, actor)
	if err != nil {
		return NewKey{}, err
	}
	name, err = space.ValidateName("name", name)
	if err != nil {
		return NewKey{}, err
	}
	now := s.now().UTC()
	switch {
	case expiresAt.IsZero():
		return NewKey{}, apperr.InvalidField("expires_at", "is required: a personal key expires within %d days", maxLifetimeDays)
	case !expiresAt.After(now):
		return NewKey{}, apperr.InvalidField("expires_at", "must be in the future (it is %s now)", now.Format(time.RFC3339))
	case expiresAt.Sub(now) > MaxPersonalKeyLifetime:
		return NewKey{}, apperr.InvalidField("expires_at", "must be at most %d days away (by %s)", maxLifetimeDays,
			now.Add(MaxPersonalKeyLifetime).Format(time.RFC3339))
	}
	expires := expiresAt.UTC()
	nk, err := s.createKey(ctx, actor, APIKey{Name: name, CreatedBy: UserPrincipal(owner), ExpiresAt: &expires, Personal: true}, nil)
	if err != nil {
		return NewKey{}, err
	}
	if nk.Roles, err = s.store.Bindings(ctx, nk.Key.Principal()); err != nil {
		return NewKey{}, fmt.Errorf("bindings of %s: %w", nk.Key.ID, err)
	}
	return nk, nil
}

const maxLifetimeDays = int(MaxPersonalKeyLifetime / (24 * time.Hour))

// PersonalKeys are one user's personal keys and the roles every one of
// them acts with: the user's own, as they are now.
type PersonalKeys struct {
	Owner string // user id
	Keys  []APIKey
	Roles []space.Binding
}

// ListPersonalKeys returns the personal keys of the user actor acts for
// (never their hashes), newest first.
func (s *Service) ListPersonalKeys(ctx context.Context, actor string) (PersonalKeys, error) {
	owner, err := s.personalOwner(ctx, actor)
	if err != nil {
		return PersonalKeys{}, err
	}
	keys, err := s.store.ListPersonalKeys(ctx, owner)
	if err != nil {
		return PersonalKeys{}, fmt.Errorf("list personal keys of %s: %w", owner, err)
	}
	roles, err := s.store.Bindings(ctx, UserPrincipal(owner))
	if err != nil {
		return PersonalKeys{}, fmt.Errorf("bindings of %s: %w", owner, err)
	}
	for i := range keys {
		keys[i].SecretHash = ""
	}
	return PersonalKeys{Owner: owner, Keys: keys, Roles: roles}, nil
}

// DeletePersonalKey revokes one of the personal keys of the user actor
// acts for; any other key is NotFound, as if it did not exist.
func (s *Service) DeletePersonalKey(ctx context.Context, actor, id string) error {
	owner, err := s.personalOwner(ctx, actor)
	if err != nil {
		return err
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && (!k.Personal || k.Owner() != owner)) {
		return apperr.Errorf(apperr.NotFound, "you have no personal API key %q", id)
	}
	if err != nil {
		return fmt.Errorf("load api key %s: %w", id, err)
	}
	e := s.entry(actor, "api_key.delete", "api_key", id, map[string]any{"name": k.Name, "personal": true, "owner": owner})
	if err := s.store.DeleteAPIKey(ctx, id, e); err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}
