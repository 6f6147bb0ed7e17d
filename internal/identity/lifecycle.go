package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

// DeleteAPIKey revokes a key at once: its secret stops working and the web
// sessions logged in with it end. Refused (Conflict) when it is the last
// usable root-admin key.
func (s *Service) DeleteAPIKey(ctx context.Context, actor, id string) error {
	if err := s.requireRootAdmin(ctx, actor, "delete API keys"); err != nil {
		return err
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return fmt.Errorf("load api key %s: %w", id, err)
	}
	e := s.entry(actor, "api_key.delete", "api_key", id, map[string]any{"name": k.Name})
	if err := s.store.DeleteAPIKey(ctx, id, e); err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}

// DisableUser stops a user: no login, its web sessions end, and its API
// keys stop working until EnableUser. Disabling an already disabled user
// keeps the first time.
func (s *Service) DisableUser(ctx context.Context, actor, id string) error {
	u, err := s.userToChange(ctx, actor, id, "disable")
	if err != nil || u.DisabledAt != nil {
		return err
	}
	at := s.now().UTC()
	if err := s.store.SetUserDisabled(ctx, id, &at, s.entry(actor, "user.disable", "user", id, nil)); err != nil {
		return fmt.Errorf("disable user %s: %w", id, err)
	}
	return nil
}

// EnableUser lets a disabled user log in again; its API keys work again.
func (s *Service) EnableUser(ctx context.Context, actor, id string) error {
	if err := s.requireRootAdmin(ctx, actor, "enable users"); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil || u.DisabledAt == nil {
		return wrapLoad(err, id)
	}
	if err := s.store.SetUserDisabled(ctx, id, nil, s.entry(actor, "user.enable", "user", id, nil)); err != nil {
		return fmt.Errorf("enable user %s: %w", id, err)
	}
	return nil
}

// DeleteUser removes a user with its role bindings, its API keys and every
// web session of both.
func (s *Service) DeleteUser(ctx context.Context, actor, id string) error {
	u, err := s.userToChange(ctx, actor, id, "delete")
	if err != nil {
		return err
	}
	e := s.entry(actor, "user.delete", "user", id, map[string]any{"username": u.Username})
	if err := s.store.DeleteUser(ctx, id, e); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// userToChange loads the user a root admin is about to disable or delete,
// refusing when the actor is that user or holds one of its keys: the
// request would cut off the credential it arrived with.
func (s *Service) userToChange(ctx context.Context, actor, id, verb string) (User, error) {
	if err := s.requireRootAdmin(ctx, actor, verb+" users"); err != nil {
		return User{}, err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return User{}, wrapLoad(err, id)
	}
	if actor == u.Principal() {
		return User{}, apperr.Errorf(apperr.Invalid, "you cannot %s yourself: ask another root admin", verb)
	}
	if kind, keyID, _ := ParsePrincipal(actor); kind == KindAPIKey {
		k, err := s.store.GetAPIKey(ctx, keyID)
		if err != nil {
			return User{}, fmt.Errorf("load api key %s: %w", keyID, err)
		}
		if k.Owner() == id {
			return User{}, apperr.Errorf(apperr.Invalid,
				"you cannot %s user %s with an API key it owns: use another root admin's key", verb, id)
		}
	}
	return u, nil
}

func wrapLoad(err error, id string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("load user %s: %w", id, err)
}

// checkKey refuses a key that expired or whose owner is disabled or gone.
// The messages say why: they reach only the holder of the right secret.
func (s *Service) checkKey(ctx context.Context, k APIKey) error {
	if k.ExpiresAt != nil && !s.now().Before(*k.ExpiresAt) {
		next := "ask a root admin for a new one"
		if k.Personal {
			next = "create a new one under Your API keys in the web UI"
		}
		return apperr.Errorf(apperr.Unauthorized, "API key %q expired at %s: %s",
			k.Name, k.ExpiresAt.UTC().Format(time.RFC3339), next)
	}
	owner := k.Owner()
	if owner == "" {
		return nil
	}
	u, err := s.store.GetUser(ctx, owner)
	if apperr.Is(err, apperr.NotFound) {
		return ErrInvalidKey
	}
	if err != nil {
		return fmt.Errorf("load owner %s of api key %s: %w", owner, k.ID, err)
	}
	if u.DisabledAt != nil {
		return apperr.Errorf(apperr.Unauthorized, "API key %q belongs to user %s, who is disabled", k.Name, u.ID)
	}
	return nil
}

// Active names a logged-in principal while it may still act: a user that
// exists and is enabled, or an API key that exists, has not expired and
// whose owner is enabled. Anything else is Unauthorized, so a web session
// ends the moment its credentials do.
func (s *Service) Active(ctx context.Context, principal string) (string, error) {
	gone := apperr.Errorf(apperr.Unauthorized, "not logged in")
	kind, id, err := ParsePrincipal(principal)
	if err != nil {
		return "", gone
	}
	if kind == KindUser {
		u, err := s.store.GetUser(ctx, id)
		switch {
		case apperr.Is(err, apperr.NotFound):
			return "", gone
		case err != nil:
			return "", fmt.Errorf("load user %s: %w", id, err)
		case u.DisabledAt != nil:
			return "", apperr.Errorf(apperr.Unauthorized, "user %s is disabled", u.ID)
		}
		return u.Username, nil
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return "", gone
	}
	if err != nil {
		return "", fmt.Errorf("load api key %s: %w", id, err)
	}
	if err := s.checkKey(ctx, k); err != nil {
		return "", err
	}
	return "API key “" + k.Name + "”", nil
}

// GetAPIKey returns one API key (without its hash) with its roles, for
// root admins.
func (s *Service) GetAPIKey(ctx context.Context, actor, id string) (KeyWithRoles, error) {
	if err := s.requireRootAdmin(ctx, actor, "see API keys"); err != nil {
		return KeyWithRoles{}, err
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return KeyWithRoles{}, fmt.Errorf("load api key %s: %w", id, err)
	}
	bs, err := s.store.Bindings(ctx, k.Principal())
	if err != nil {
		return KeyWithRoles{}, fmt.Errorf("bindings of %s: %w", k.ID, err)
	}
	k.SecretHash = ""
	return KeyWithRoles{Key: k, Roles: bs}, nil
}
