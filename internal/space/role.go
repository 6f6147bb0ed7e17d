package space

import (
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Role is what a principal may do in a space. Roles are ordered:
// None < Read < Write < Admin.
type Role string

// The roles of SPEC §1. None is the absence of any role.
const (
	None  Role = ""
	Read  Role = "read"
	Write Role = "write"
	Admin Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case Read:
		return 1
	case Write:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// AtLeast reports whether r grants everything min grants. None never
// satisfies anything but None.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// Max returns the higher of r and o.
func (r Role) Max(o Role) Role {
	if o.rank() > r.rank() {
		return o
	}
	return r
}

// ParseRole accepts "read", "write" or "admin" (any case, surrounding space
// ignored) and refuses everything else, naming field in the error.
func ParseRole(field, s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return None, apperr.InvalidField(field, "role must be read, write or admin, not %q", s)
	}
	return r, nil
}

// Binding gives Principal the Role on the space SpaceID (and, by the rules of
// [Effective], on its descendants and read on inheriting ancestors).
type Binding struct {
	Principal string // "user:<user-id>" or "apikey:<key-id>"
	SpaceID   string
	Role      Role
	// MappingID is set when the role comes from a role mapping (a group
	// of the user at an OpenID Connect issuer) rather than given by hand.
	MappingID string
}
