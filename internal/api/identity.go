package api

import "time"

// RoleBinding grants a role on a space to the user or API key it belongs
// to.
type RoleBinding struct {
	Space string `json:"space"`
	Role  string `json:"role" enum:"read,write,admin"`
}

// RevokeRole is the body of DELETE …/{id}/roles when the space is not in
// ?space=.
type RevokeRole struct {
	Space string `json:"space"`
}

// APIKey is an API key.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// only in the create answer
	Secret    string        `json:"secret,omitempty"`
	Roles     []RoleBinding `json:"roles"`
	CreatedAt time.Time     `json:"created_at"`
	// the principal that created the key; a user here owns it, and the key
	// stops working while that user is disabled and is deleted with it
	CreatedBy string `json:"created_by"`
	// null: never expires; after it the key is refused with 401
	ExpiresAt *time.Time `json:"expires_at"`
}

// CreateAPIKey is the body of POST /api/v1/api-keys.
type CreateAPIKey struct {
	Name  string        `json:"name"`
	Roles []RoleBinding `json:"roles"`
	// RFC 3339, in the future; omit for a key that never expires
	ExpiresAt string `json:"expires_at,omitempty" format:"date-time"`
}

// User is a user.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// only when generated, in the create answer
	Password  string        `json:"password,omitempty"`
	Roles     []RoleBinding `json:"roles"`
	CreatedAt time.Time     `json:"created_at"`
	// a disabled user cannot log in and its API keys do not work
	Disabled bool `json:"disabled"`
	// null while enabled
	DisabledAt *time.Time `json:"disabled_at"`
}

// CreateUser is the body of POST /api/v1/users.
type CreateUser struct {
	Username string `json:"username"`
	// omit to have one generated
	Password string        `json:"password,omitempty"`
	Roles    []RoleBinding `json:"roles"`
}

// SetPassword is the body of POST /api/v1/users/{id}/password.
type SetPassword struct {
	Password string `json:"password"`
}
