package identity

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
)

// Password length limits: bcrypt reads at most 72 bytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 72
)

// Service authenticates API keys and manages users, API keys and role
// bindings. Everything but Authenticate is for root admins (SPEC §1: API keys
// are created by root admins), except users changing their own password.
type Service struct {
	store  Store
	spaces space.Store
	now    func() time.Time

	// dummyHash is made on the first login, not in NewService: bcrypt is
	// slow on purpose and most Services (tests, the CLI) never log in.
	dummyHash func() []byte
}

// NewService returns a Service; now defaults to time.Now.
func NewService(store Store, spaces space.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, spaces: spaces, now: now, dummyHash: sync.OnceValue(newDummyHash)}
}

// ErrInvalidKey is Authenticate's answer to an unknown key or a wrong
// secret, whichever it was.
var ErrInvalidKey = apperr.Errorf(apperr.Unauthorized, "invalid API key")

// Authenticate turns an API key secret into its principal. An unknown key
// or a wrong secret is ErrInvalidKey, so callers learn nothing about which
// part was wrong; only the holder of the right secret is told that the key
// expired or that its owner is disabled.
func (s *Service) Authenticate(ctx context.Context, bearer string) (string, error) {
	denied := ErrInvalidKey
	id, ok := secret.ParseAPIKey(bearer)
	if !ok {
		return "", denied
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return "", denied
	}
	if err != nil {
		return "", fmt.Errorf("load api key %s: %w", id, err)
	}
	if !secret.CheckAPIKey(bearer, k.SecretHash) {
		return "", denied
	}
	if err := s.checkKey(ctx, k); err != nil {
		return "", err
	}
	return k.Principal(), nil
}

// IsRootAdmin reports whether principal is admin of root: its bindings
// make it one and its ceiling (a personal key's) leaves it so.
func (s *Service) IsRootAdmin(ctx context.Context, principal string) (bool, error) {
	bs, err := s.store.Bindings(ctx, principal)
	if err != nil {
		return false, fmt.Errorf("bindings of %s: %w", principal, err)
	}
	if !space.IsRootAdmin(bs) {
		return false, nil
	}
	c, err := s.store.Ceiling(ctx, principal)
	if err != nil {
		return false, fmt.Errorf("ceiling of %s: %w", principal, err)
	}
	return c.AllowsRootAdmin(), nil
}

func (s *Service) requireRootAdmin(ctx context.Context, actor, what string) error {
	ok, err := s.IsRootAdmin(ctx, actor)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Errorf(apperr.Forbidden, "only root admins may %s", what)
	}
	return nil
}

// RoleInput is one requested role binding.
type RoleInput struct {
	Space string
	Role  string
}

// parseRoles validates requested bindings: known roles, existing spaces.
func (s *Service) parseRoles(ctx context.Context, field string, in []RoleInput) ([]space.Binding, error) {
	out := make([]space.Binding, 0, len(in))
	for _, r := range in {
		b, err := s.parseRole(ctx, field, r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (s *Service) parseRole(ctx context.Context, field string, r RoleInput) (space.Binding, error) {
	role, err := space.ParseRole(field, r.Role)
	if err != nil {
		return space.Binding{}, err
	}
	id := strings.TrimSpace(r.Space)
	if id == "" {
		return space.Binding{}, apperr.InvalidField(field, "every role needs a space")
	}
	if _, err := s.spaces.GetSpace(ctx, id); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return space.Binding{}, apperr.InvalidField(field, "no space %q", id)
		}
		return space.Binding{}, fmt.Errorf("load space %s: %w", id, err)
	}
	return space.Binding{SpaceID: id, Role: role}, nil
}

// NewKey is a freshly created API key with its secret, shown once.
type NewKey struct {
	Key    APIKey
	Secret string
	Roles  []space.Binding
}

// KeyInput is what a new API key is made of.
type KeyInput struct {
	Name      string
	Roles     []RoleInput
	ExpiresAt *time.Time // nil: the key never expires; else it must be in the future
}

// CreateAPIKey mints a key with the given roles. A personal key may not:
// the new key would hold roles of its own and outlive the owner's.
func (s *Service) CreateAPIKey(ctx context.Context, actor string, in KeyInput) (NewKey, error) {
	if err := s.requireRootAdmin(ctx, actor, "create API keys"); err != nil {
		return NewKey{}, err
	}
	if personal, err := s.isPersonalKey(ctx, actor); err != nil || personal {
		if err == nil {
			err = apperr.Errorf(apperr.Forbidden, "a personal API key cannot create API keys with roles: "+
				"create personal keys (/api/v1/me/api-keys), or log in to create keys with roles")
		}
		return NewKey{}, err
	}
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return NewKey{}, err
	}
	bs, err := s.parseRoles(ctx, "roles", in.Roles)
	if err != nil {
		return NewKey{}, err
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		now := s.now().UTC()
		if !in.ExpiresAt.After(now) {
			return NewKey{}, apperr.InvalidField("expires_at", "must be in the future (it is %s now)", now.Format(time.RFC3339))
		}
		t := in.ExpiresAt.UTC()
		expires = &t
	}
	return s.createKey(ctx, actor, APIKey{Name: name, CreatedBy: actor, ExpiresAt: expires}, bs)
}

// createKey mints k's id and secret and stores it; actor is who the audit
// log names (the bootstrap makes a key owned by admin).
func (s *Service) createKey(ctx context.Context, actor string, k APIKey, bs []space.Binding) (NewKey, error) {
	id, sec := secret.NewAPIKey()
	k.ID, k.SecretHash, k.CreatedAt = id, secret.HashAPIKey(sec), s.now().UTC()
	for i := range bs {
		bs[i].Principal = k.Principal()
	}
	detail := map[string]any{"name": k.Name, "roles": roleNames(bs)}
	if k.Personal {
		detail["personal"], detail["owner"] = true, k.Owner()
	}
	if k.Ceiling.Max != space.None {
		detail["max_role"] = string(k.Ceiling.Max)
	}
	if k.Ceiling.Limited {
		detail["spaces"] = k.Ceiling.Spaces
	}
	if k.ExpiresAt != nil {
		detail["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
	}
	if err := s.store.CreateAPIKey(ctx, k, bs, s.entry(actor, "api_key.create", "api_key", k.ID, detail)); err != nil {
		return NewKey{}, fmt.Errorf("create api key: %w", err)
	}
	return NewKey{Key: k, Secret: sec, Roles: bs}, nil
}

// KeyWithRoles is a listed API key (never its secret or hash) with roles.
type KeyWithRoles struct {
	Key   APIKey
	Roles []space.Binding
}

// ListAPIKeys pages API keys, newest first.
func (s *Service) ListAPIKeys(ctx context.Context, actor, cursor string, limit int) ([]KeyWithRoles, string, error) {
	if err := s.requireRootAdmin(ctx, actor, "list API keys"); err != nil {
		return nil, "", err
	}
	keys, next, err := s.store.ListAPIKeys(ctx, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", err)
	}
	out := make([]KeyWithRoles, 0, len(keys))
	for _, k := range keys {
		bs, err := s.store.Bindings(ctx, k.Principal())
		if err != nil {
			return nil, "", fmt.Errorf("bindings of %s: %w", k.ID, err)
		}
		out = append(out, KeyWithRoles{Key: k, Roles: bs})
	}
	return out, next, nil
}

// Grant gives principal (user:<id> or apikey:<id>) role on a space.
func (s *Service) Grant(ctx context.Context, actor, principal string, r RoleInput) error {
	if err := s.requireRootAdmin(ctx, actor, "grant roles"); err != nil {
		return err
	}
	b, err := s.parseRole(ctx, "role", r)
	if err != nil {
		return err
	}
	b.Principal = principal
	e := s.roleEntry(actor, principal, "grant_role", map[string]any{"space": b.SpaceID, "role": string(b.Role)})
	if err := s.store.Grant(ctx, b, e); err != nil {
		return fmt.Errorf("grant %s %s on %s: %w", principal, b.Role, b.SpaceID, err)
	}
	return nil
}

// Revoke removes principal's role on a space.
func (s *Service) Revoke(ctx context.Context, actor, principal, spaceID string) error {
	if err := s.requireRootAdmin(ctx, actor, "revoke roles"); err != nil {
		return err
	}
	if strings.TrimSpace(spaceID) == "" {
		return apperr.InvalidField("space", "is required")
	}
	e := s.roleEntry(actor, principal, "revoke_role", map[string]any{"space": spaceID})
	if err := s.store.Revoke(ctx, principal, spaceID, e); err != nil {
		return fmt.Errorf("revoke %s on %s: %w", principal, spaceID, err)
	}
	return nil
}

// HashPassword checks a password's length and returns its bcrypt hash.
func HashPassword(password string) (string, error) {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLen:
		return "", apperr.InvalidField("password", "must be at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return "", apperr.InvalidField("password", "must be at most %d bytes", MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// entry is the audit entry of an identity change; users and keys belong to
// no space below root.
func (s *Service) entry(actor, action, resourceType, id string, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now().UTC(), Actor: actor, Action: action, ResourceType: resourceType, ResourceID: id,
		SpaceID: space.RootID, Detail: detail}
}

// roleEntry is the audit entry of a role change: "user.grant_role",
// "api_key.revoke_role"…
func (s *Service) roleEntry(actor, principal, verb string, detail map[string]any) audit.Entry {
	typ := "api_key"
	kind, id, _ := ParsePrincipal(principal)
	if kind == KindUser {
		typ = "user"
	}
	return s.entry(actor, typ+"."+verb, typ, id, detail)
}

// roleNames lists bindings as "space:role" for audit details.
func roleNames(bs []space.Binding) []string {
	out := make([]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.SpaceID+":"+string(b.Role))
	}
	return out
}
