package integration

import "github.com/hoistdev/hoist/internal/space"

// The functions below are SPEC §2.3 as pure functions of an integration and
// the principal's resolved access (space.Resolve). Roles flow down the tree,
// so a root admin is admin of every space and passes every space check.

// CanList reports whether the principal sees in in listings: default
// integrations are listed to every principal; space-level ones to those with
// read on their space.
func CanList(in Integration, a space.Access) bool {
	return in.IsDefault || a.Has(in.SpaceID, space.Read)
}

// CanSeeDetails reports whether the principal sees the webhook secret and
// token metadata: root admins for default integrations, admins of the space
// for space-level ones.
func CanSeeDetails(in Integration, a space.Access) bool {
	return CanChange(in, a)
}

// CanChange reports whether the principal may update, test, rotate or delete
// in: root admins for default integrations (and any space), space admins for
// integrations in their spaces.
func CanChange(in Integration, a space.Access) bool {
	if in.IsDefault {
		return a.IsRootAdmin()
	}
	return a.Has(in.SpaceID, space.Admin)
}

// CanCreate reports whether the principal may create an integration placed
// as given (same rule as CanChange).
func CanCreate(spaceID string, isDefault bool, a space.Access) bool {
	return CanChange(Integration{SpaceID: spaceID, IsDefault: isDefault}, a)
}

// ListFilter returns the store filter holding exactly the integrations
// CanList allows.
func ListFilter(a space.Access) Filter {
	all, spaces := a.ReadScope()
	return Filter{All: all, Spaces: spaces}
}
