package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// RoleBinding grants a role on a space to the principal it belongs to.
type RoleBinding struct {
	Space string `json:"space"`
	Role  string `json:"role"`
}

// APIKey is an API key as the API returns it. Secret is set only in the
// answer to its creation.
type APIKey struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Secret    string        `json:"secret,omitempty"`
	Roles     []RoleBinding `json:"roles"`
	CreatedAt time.Time     `json:"created_at,omitzero"`
	CreatedBy string        `json:"created_by,omitempty"`
	ExpiresAt *time.Time    `json:"expires_at"` // nil: never
}

// CreateAPIKey is the body of POST /api/v1/api-keys. A nil ExpiresAt makes
// a key that never expires.
type CreateAPIKey struct {
	Name      string        `json:"name"`
	Roles     []RoleBinding `json:"roles"`
	ExpiresAt *time.Time    `json:"expires_at,omitempty"`
}

// User is a user as the API returns it. Password is set only when the server
// generated one at creation.
type User struct {
	ID         string        `json:"id"`
	Username   string        `json:"username"`
	Password   string        `json:"password,omitempty"`
	Roles      []RoleBinding `json:"roles"`
	CreatedAt  time.Time     `json:"created_at,omitzero"`
	Disabled   bool          `json:"disabled"`
	DisabledAt *time.Time    `json:"disabled_at"`
}

// CreateUser is the body of POST /api/v1/users. An empty Password asks the
// server to generate one.
type CreateUser struct {
	Username string        `json:"username"`
	Password string        `json:"password,omitempty"`
	Roles    []RoleBinding `json:"roles"`
}

// CreateAPIKey creates an API key; the answer holds its secret, shown only
// this once.
func (c *Client) CreateAPIKey(ctx context.Context, in CreateAPIKey) (*APIKey, error) {
	if in.Roles == nil {
		in.Roles = []RoleBinding{}
	}
	var k APIKey
	if err := c.do(ctx, http.MethodPost, "/api/v1/api-keys", nil, in, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// APIKeys yields the API keys, following next_cursor.
func (c *Client) APIKeys(ctx context.Context) iter.Seq2[APIKey, error] {
	return pages[APIKey](ctx, c, "/api/v1/api-keys", nil)
}

// ListAPIKeys returns every API key.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	return collect(c.APIKeys(ctx))
}

// DeleteAPIKey revokes an API key at once.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/api-keys/"+esc(id), nil, nil, nil)
}

// GrantAPIKeyRole binds a role on a space to an API key.
func (c *Client) GrantAPIKeyRole(ctx context.Context, id string, rb RoleBinding) error {
	return c.do(ctx, http.MethodPost, "/api/v1/api-keys/"+esc(id)+"/roles", nil, rb, nil)
}

// RevokeAPIKeyRole removes an API key's role on a space.
func (c *Client) RevokeAPIKeyRole(ctx context.Context, id, space string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/api-keys/"+esc(id)+"/roles", url.Values{"space": {space}}, nil, nil)
}

// CreateUser creates a user; when in.Password is empty the answer holds the
// generated password, shown only this once.
func (c *Client) CreateUser(ctx context.Context, in CreateUser) (*User, error) {
	if in.Roles == nil {
		in.Roles = []RoleBinding{}
	}
	var u User
	if err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, in, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Users yields the users, following next_cursor.
func (c *Client) Users(ctx context.Context) iter.Seq2[User, error] {
	return pages[User](ctx, c, "/api/v1/users", nil)
}

// ListUsers returns every user.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return collect(c.Users(ctx))
}

// GrantUserRole binds a role on a space to a user.
func (c *Client) GrantUserRole(ctx context.Context, id string, rb RoleBinding) error {
	return c.do(ctx, http.MethodPost, "/api/v1/users/"+esc(id)+"/roles", nil, rb, nil)
}

// RevokeUserRole removes a user's role on a space.
func (c *Client) RevokeUserRole(ctx context.Context, id, space string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+esc(id)+"/roles", url.Values{"space": {space}}, nil, nil)
}

// SetUserPassword replaces a user's password
// (POST /api/v1/users/{id}/password).
func (c *Client) SetUserPassword(ctx context.Context, id, password string) error {
	body := struct {
		Password string `json:"password"`
	}{password}
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
