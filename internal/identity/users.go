package identity

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
)

// NewUser is a freshly created user; Password is set (and shown once) only
// when Hoist generated it.
type NewUser struct {
	User     User
	Password string
	Roles    []space.Binding
}

// CreateUser adds a user with the given roles. With password "" a random one
// is generated and returned.
func (s *Service) CreateUser(ctx context.Context, actor, username, password string, roles []RoleInput) (NewUser, error) {
	if err := s.requireRootAdmin(ctx, actor, "create users"); err != nil {
		return NewUser{}, err
	}
	username, err := space.ValidateName("username", username)
	if err != nil {
		return NewUser{}, err
	}
	bs, err := s.parseRoles(ctx, "roles", roles)
	if err != nil {
		return NewUser{}, err
	}
	return s.createUser(ctx, actor, username, password, bs)
}

func (s *Service) createUser(ctx context.Context, actor, username, password string, bs []space.Binding) (NewUser, error) {
	generated := ""
	if password == "" {
		password = secret.NewPassword()
		generated = password
	}
	hash, err := HashPassword(password)
	if err != nil {
		return NewUser{}, err
	}
	u := User{ID: slug.Make(username), Username: username, PasswordHash: hash, CreatedAt: s.now().UTC()}
	for i := range bs {
		bs[i].Principal = u.Principal()
	}
	e := s.entry(actor, "user.create", "user", u.ID, map[string]any{"username": username, "roles": roleNames(bs)})
	if err := s.store.CreateUser(ctx, u, bs, e); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			return NewUser{}, apperr.Wrap(apperr.Conflict, err, "a user with id %q already exists", u.ID)
		}
		return NewUser{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return NewUser{User: u, Password: generated, Roles: bs}, nil
}

// UserWithRoles is a listed user (never the hash) with roles.
type UserWithRoles struct {
	User  User
	Roles []space.Binding
}

// ListUsers pages users ordered by id.
func (s *Service) ListUsers(ctx context.Context, actor, cursor string, limit int) ([]UserWithRoles, string, error) {
	if err := s.requireRootAdmin(ctx, actor, "list users"); err != nil {
		return nil, "", err
	}
	users, next, err := s.store.ListUsers(ctx, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	out := make([]UserWithRoles, 0, len(users))
	for _, u := range users {
		bs, err := s.store.Bindings(ctx, u.Principal())
		if err != nil {
			return nil, "", fmt.Errorf("bindings of %s: %w", u.ID, err)
		}
		out = append(out, UserWithRoles{User: u, Roles: bs})
	}
	return out, next, nil
}

// SetPassword changes a user's password: root admins for anyone, users for
// themselves. Every web session of the user ends, so a browser logged in
// with the old password (perhaps someone else's) is logged out at once.
func (s *Service) SetPassword(ctx context.Context, actor, userID, password string) error {
	if actor != UserPrincipal(userID) {
		if err := s.requireRootAdmin(ctx, actor, "set other users' passwords"); err != nil {
			return err
		}
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, userID, hash, s.entry(actor, "user.set_password", "user", userID, nil)); err != nil {
		return fmt.Errorf("set password of %s: %w", userID, err)
	}
	return nil
}

// Bootstrap is what the first start of an empty database created.
type Bootstrap struct {
	Created       bool   // false when another start got there first
	AdminPassword string // the admin user's generated password
	APIKey        string // the root-admin API key's secret
}

// AdminUsername is the user created on first start. It is an ordinary
// root admin afterwards: it can be disabled or deleted once another
// enabled root admin and a root-admin API key it does not own exist.
const AdminUsername = "admin"

// BootstrapActor is the audit actor of what the first start creates.
const BootstrapActor = "bootstrap"

// EnsureBootstrap creates the root space, the admin user and a root-admin
// API key when they do not exist. Creating the admin user (a unique id) is
// the election: when several servers start at once on one database, exactly
// one creates the user and then the key; the others get Created false.
func (s *Service) EnsureBootstrap(ctx context.Context) (Bootstrap, error) {
	now := s.now().UTC()
	root := space.Space{ID: space.RootID, Name: space.RootID, Inherit: true, CreatedAt: now, UpdatedAt: now}
	if err := s.spaces.CreateSpace(ctx, root); err != nil && !apperr.Is(err, apperr.Conflict) {
		return Bootstrap{}, fmt.Errorf("create root space: %w", err)
	}
	rootAdmin := func() []space.Binding { return []space.Binding{{SpaceID: space.RootID, Role: space.Admin}} }
	nu, err := s.createUser(ctx, BootstrapActor, AdminUsername, "", rootAdmin())
	if apperr.Is(err, apperr.Conflict) {
		return Bootstrap{}, nil
	}
	if err != nil {
		return Bootstrap{}, fmt.Errorf("create admin user: %w", err)
	}
	nk, err := s.createKey(ctx, BootstrapActor, APIKey{Name: "bootstrap admin key", CreatedBy: nu.User.Principal()}, rootAdmin())
	if err != nil {
		return Bootstrap{}, fmt.Errorf("create admin api key: %w", err)
	}
	return Bootstrap{Created: true, AdminPassword: nu.Password, APIKey: nk.Secret}, nil
}

// GetUser returns one user (never the hash, for callers that render it)
// with its roles, for root admins.
func (s *Service) GetUser(ctx context.Context, actor, id string) (UserWithRoles, error) {
	if err := s.requireRootAdmin(ctx, actor, "see users"); err != nil {
		return UserWithRoles{}, err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return UserWithRoles{}, wrapLoad(err, id)
	}
	bs, err := s.store.Bindings(ctx, u.Principal())
	if err != nil {
		return UserWithRoles{}, fmt.Errorf("bindings of %s: %w", u.ID, err)
	}
	u.PasswordHash = ""
	return UserWithRoles{User: u, Roles: bs}, nil
}
