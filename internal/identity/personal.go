package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	"personal API keys belong to a user: log in as that user (password or single sign-on) or use one of its personal keys; an ordinary API key has no user to own them")

// errLimitedKey refuses changes made with a personal key that has a
// ceiling: a key limited to read, or to some spaces, must not mint a key
// without those limits, nor revoke its owner's other keys.
var errLimitedKey = apperr.Errorf(apperr.Forbidden,
	"this personal API key is limited (it has a ceiling): create and delete personal keys while logged in, or with a personal key that is not limited")

// personalOwner is the id of the user actor acts for: "user:<id>" itself,
// or the owner of a personal key. With change set, a personal key with a
// ceiling is refused.
func (s *Service) personalOwner(ctx context.Context, actor string, change bool) (string, error) {
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
	if change && !k.Ceiling.IsZero() {
		return "", errLimitedKey
	}
	return k.Owner(), nil
}

// CanHavePersonalKeys reports whether actor may use its user's personal
// keys page: a user, or a personal key of one. An ordinary key (the web
// UI accepts one to log in) has no user to own personal keys.
func (s *Service) CanHavePersonalKeys(ctx context.Context, actor string) (bool, error) {
	_, err := s.personalOwner(ctx, actor, false)
	if err == errNotPersonalActor {
		return false, nil
	}
	return err == nil, err
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

// MaxCeilingSpaces bounds the spaces one personal key may be limited to.
const MaxCeilingSpaces = 20

// PersonalKeyInput is a new personal key as its owner asks for it.
type PersonalKeyInput struct {
	Name      string
	ExpiresAt time.Time // required: in the future, at most MaxPersonalKeyLifetime away
	// MaxRole caps the key's role in every space ("": the owner's roles as
	// they are). A cap above what the owner holds is accepted and grants
	// nothing more: the key acts with the lower of the two.
	MaxRole string
	// Spaces, when given, limit the key to these spaces and their
	// descendants; each must be a space the owner holds a role on.
	Spaces []string
}

// CreatePersonalKey mints a personal key for the user actor acts for.
// Roles in the answer are the owner's now; the key acts with them bounded
// by its ceiling.
func (s *Service) CreatePersonalKey(ctx context.Context, actor string, in PersonalKeyInput) (NewKey, error) {
	owner, err := s.personalOwner(ctx, actor, true)
	if err != nil {
		return NewKey{}, err
	}
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return NewKey{}, err
	}
	expiresAt := in.ExpiresAt
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
	ceiling, err := s.parseCeiling(ctx, owner, in.MaxRole, in.Spaces)
	if err != nil {
		return NewKey{}, err
	}
	expires := expiresAt.UTC()
	nk, err := s.createKey(ctx, actor, APIKey{Name: name, CreatedBy: UserPrincipal(owner), ExpiresAt: &expires, Personal: true,
		Ceiling: ceiling}, nil)
	if err != nil {
		return NewKey{}, err
	}
	if nk.Roles, err = s.store.Bindings(ctx, nk.Key.Principal()); err != nil {
		return NewKey{}, fmt.Errorf("bindings of %s: %w", nk.Key.ID, err)
	}
	return nk, nil
}

const maxLifetimeDays = int(MaxPersonalKeyLifetime / (24 * time.Hour))

// parseCeiling checks a requested ceiling. Listed spaces must be ones the
// owner holds a role on now: any other is refused alike, whether it
// exists or not, so ids are not confirmed.
func (s *Service) parseCeiling(ctx context.Context, owner, maxRole string, spaces []string) (space.Ceiling, error) {
	var c space.Ceiling
	if strings.TrimSpace(maxRole) != "" {
		r, err := space.ParseRole("max_role", maxRole)
		if err != nil {
			return space.Ceiling{}, err
		}
		c.Max = r
	}
	if len(spaces) == 0 {
		return c, nil
	}
	if len(spaces) > MaxCeilingSpaces {
		return space.Ceiling{}, apperr.InvalidField("spaces", "at most %d spaces, not %d", MaxCeilingSpaces, len(spaces))
	}
	all, err := s.spaces.ListSpaces(ctx)
	if err != nil {
		return space.Ceiling{}, fmt.Errorf("list spaces: %w", err)
	}
	bs, err := s.store.Bindings(ctx, UserPrincipal(owner))
	if err != nil {
		return space.Ceiling{}, fmt.Errorf("bindings of %s: %w", owner, err)
	}
	tree := space.NewTree(all)
	access := space.Resolve(tree, bs)
	c.Limited = true
	for _, id := range spaces {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
			return space.Ceiling{}, apperr.InvalidField("spaces", "a space id is empty")
		case !access.Has(id, space.Read):
			return space.Ceiling{}, apperr.InvalidField("spaces", "no space %q that you hold a role on", id)
		case slices.Contains(c.Spaces, id):
			continue
		}
		c.Spaces = append(c.Spaces, id)
	}
	slices.Sort(c.Spaces)
	return c, nil
}

// PersonalKeys are one user's personal keys and the roles every one of
// them acts with: the user's own, as they are now.
type PersonalKeys struct {
	Owner string // user id
	Keys  []APIKey
	Roles []space.Binding
	// Limited: the caller is one of these keys and has a ceiling, so it
	// may list them but neither create nor delete any.
	Limited bool
}

// ListPersonalKeys returns the personal keys of the user actor acts for
// (never their hashes), newest first.
func (s *Service) ListPersonalKeys(ctx context.Context, actor string) (PersonalKeys, error) {
	owner, err := s.personalOwner(ctx, actor, false)
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
	limited := slices.ContainsFunc(keys, func(k APIKey) bool { return k.Principal() == actor && !k.Ceiling.IsZero() })
	return PersonalKeys{Owner: owner, Keys: keys, Roles: roles, Limited: limited}, nil
}

// DeletePersonalKey revokes one of the personal keys of the user actor
// acts for; any other key is NotFound, as if it did not exist.
func (s *Service) DeletePersonalKey(ctx context.Context, actor, id string) error {
	owner, err := s.personalOwner(ctx, actor, true)
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
