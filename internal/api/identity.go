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
	// a personal key holds no roles of its own: it acts with the current
	// roles of its owner (created_by), which roles shows
	Personal bool `json:"personal"`
	// a personal key's ceiling: it acts with its owner's roles bounded by
	// it; null for a personal key without one and for other keys
	Ceiling *KeyCeiling `json:"ceiling"`
}

// KeyCeiling bounds a personal key below its owner's roles: in each space
// the key acts with the lower of the owner's role there and max_role, and
// with nothing outside spaces (and their descendants) when spaces is set.
type KeyCeiling struct {
	// absent: the owner's role, whatever it is
	MaxRole string `json:"max_role,omitempty" enum:"read,write,admin"`
	// null: every space; a list (empty once all its spaces were deleted):
	// only these spaces and their descendants
	Spaces *[]string `json:"spaces"`
}

// CreatePersonalAPIKey is the body of POST /api/v1/me/api-keys.
type CreatePersonalAPIKey struct {
	Name string `json:"name"`
	// RFC 3339, in the future and at most 366 days away: every personal
	// key expires
	ExpiresAt string `json:"expires_at" format:"date-time"`
	// caps the key's role in every space; omit for the owner's roles as
	// they are. A cap above the owner's role is accepted but grants
	// nothing more
	MaxRole string `json:"max_role,omitempty" enum:"read,write,admin"`
	// limits the key to these spaces and their descendants (at most 20,
	// each one the owner holds a role on); omit for every space
	Spaces []string `json:"spaces,omitempty"`
}

// PersonalAPIKeys is the answer of GET /api/v1/me/api-keys: the caller's
// personal keys, newest first, unpaged (a user holds at most 20).
type PersonalAPIKeys struct {
	Items []APIKey `json:"items"`
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
	Password  string     `json:"password,omitempty"`
	Roles     []UserRole `json:"roles"`
	CreatedAt time.Time  `json:"created_at"`
	// the OpenID Connect issuer the user logs in through; "" for a local
	// user (who logs in with a password)
	Issuer string `json:"issuer"`
	// the issuer's name and email for the user, refreshed at every login
	Name  string `json:"name"`
	Email string `json:"email"`
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

// UserRole is a role a user holds on a space: given by hand (local) or
// from a role mapping (mapping), recomputed from the user's groups at
// every login. Only local roles can be revoked by hand.
type UserRole struct {
	Space  string `json:"space"`
	Role   string `json:"role" enum:"read,write,admin"`
	Source string `json:"source" enum:"local,mapping"`
	// the role mapping that gives it; only with source mapping
	MappingID string `json:"mapping_id,omitempty"`
}

// RoleMapping gives the members of a group at an OpenID Connect issuer a
// role on a space.
type RoleMapping struct {
	ID string `json:"id"`
	// "" matches any issuer
	Issuer string `json:"issuer"`
	// full group path, lower case: acme/platform
	Group     string    `json:"group"`
	Space     string    `json:"space"`
	Role      string    `json:"role" enum:"read,write,admin"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// CreateRoleMapping is the body of POST /api/v1/role-mappings.
type CreateRoleMapping struct {
	// the issuer URL (https, or http on a loopback host); omit for any issuer
	Issuer string `json:"issuer,omitempty"`
	// full group path such as acme/platform; matched case-insensitively
	Group string `json:"group"`
	Space string `json:"space"`
	Role  string `json:"role" enum:"read,write,admin"`
}

// RoleMappings is the answer of GET /api/v1/role-mappings: every mapping,
// unpaged (there are few).
type RoleMappings struct {
	Items []RoleMapping `json:"items"`
}
