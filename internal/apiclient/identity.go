package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

// CreateAPIKey creates an API key; the answer holds its secret, shown only
// this once.
func (c *Client) CreateAPIKey(ctx context.Context, in api.CreateAPIKey) (*api.APIKey, error) {
	if in.Roles == nil {
		in.Roles = []api.RoleBinding{}
	}
	var k api.APIKey
	if err := c.do(ctx, http.MethodPost, "/api/v1/api-keys", nil, in, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// APIKeys yields the API keys, following next_cursor.
func (c *Client) APIKeys(ctx context.Context) iter.Seq2[api.APIKey, error] {
	return pages[api.APIKey](ctx, c, "/api/v1/api-keys", nil)
}

// ListAPIKeys returns every API key.
func (c *Client) ListAPIKeys(ctx context.Context) ([]api.APIKey, error) {
	return collect(c.APIKeys(ctx))
}

// DeleteAPIKey revokes an API key at once.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/api-keys/"+esc(id), nil, nil, nil)
}

// GrantAPIKeyRole binds a role on a space to an API key.
func (c *Client) GrantAPIKeyRole(ctx context.Context, id string, rb api.RoleBinding) error {
	return c.do(ctx, http.MethodPost, "/api/v1/api-keys/"+esc(id)+"/roles", nil, rb, nil)
}

// RevokeAPIKeyRole removes an API key's role on a space.
func (c *Client) RevokeAPIKeyRole(ctx context.Context, id, space string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/api-keys/"+esc(id)+"/roles", url.Values{"space": {space}}, nil, nil)
}

// CreateUser creates a user; when in.Password is empty the answer holds the
// generated password, shown only this once.
func (c *Client) CreateUser(ctx context.Context, in api.CreateUser) (*api.User, error) {
	if in.Roles == nil {
		in.Roles = []api.RoleBinding{}
	}
	var u api.User
	if err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, in, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Users yields the users, following next_cursor.
func (c *Client) Users(ctx context.Context) iter.Seq2[api.User, error] {
	return pages[api.User](ctx, c, "/api/v1/users", nil)
}

// ListUsers returns every user.
func (c *Client) ListUsers(ctx context.Context) ([]api.User, error) {
	return collect(c.Users(ctx))
}

// GrantUserRole binds a role on a space to a user.
func (c *Client) GrantUserRole(ctx context.Context, id string, rb api.RoleBinding) error {
	return c.do(ctx, http.MethodPost, "/api/v1/users/"+esc(id)+"/roles", nil, rb, nil)
}

// RevokeUserRole removes a user's role on a space.
func (c *Client) RevokeUserRole(ctx context.Context, id, space string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+esc(id)+"/roles", url.Values{"space": {space}}, nil, nil)
}

// SetUserPassword replaces a user's password
// (POST /api/v1/users/{id}/password).
func (c *Client) SetUserPassword(ctx context.Context, id, password string) error {
	body := api.SetPassword{Password: password}
	return c.do(ctx, http.MethodPost, "/api/v1/users/"+esc(id)+"/password", nil, body, nil)
}

// DisableUser stops a user: no login, its sessions end, its API keys stop
// working until EnableUser.
func (c *Client) DisableUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/users/"+esc(id)+"/disable", nil, nil, nil)
}

// EnableUser lets a disabled user log in again.
func (c *Client) EnableUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/users/"+esc(id)+"/enable", nil, nil, nil)
}

// DeleteUser deletes a user with its role bindings and API keys.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+esc(id), nil, nil, nil)
}

// CreateRoleMapping maps a group at an issuer to a role on a space.
func (c *Client) CreateRoleMapping(ctx context.Context, in api.CreateRoleMapping) (*api.RoleMapping, error) {
	var m api.RoleMapping
	if err := c.do(ctx, http.MethodPost, "/api/v1/role-mappings", nil, in, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ListRoleMappings returns every role mapping.
func (c *Client) ListRoleMappings(ctx context.Context) ([]api.RoleMapping, error) {
	var out api.RoleMappings
	if err := c.do(ctx, http.MethodGet, "/api/v1/role-mappings", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DeleteRoleMapping removes a role mapping and the roles it gave.
func (c *Client) DeleteRoleMapping(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/role-mappings/"+esc(id), nil, nil, nil)
}

// CreatePersonalAPIKey makes a personal key for the user the client's
// (personal) key belongs to; the answer holds its secret, shown only this
// once.
func (c *Client) CreatePersonalAPIKey(ctx context.Context, in api.CreatePersonalAPIKey) (*api.APIKey, error) {
	var k api.APIKey
	if err := c.do(ctx, http.MethodPost, "/api/v1/me/api-keys", nil, in, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListPersonalAPIKeys returns the personal keys of the client's user.
func (c *Client) ListPersonalAPIKeys(ctx context.Context) ([]api.APIKey, error) {
	var out api.PersonalAPIKeys
	if err := c.do(ctx, http.MethodGet, "/api/v1/me/api-keys", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DeletePersonalAPIKey revokes one of the personal keys of the client's
// user at once.
func (c *Client) DeletePersonalAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/me/api-keys/"+esc(id), nil, nil, nil)
}
