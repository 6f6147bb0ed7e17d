package vcsagent

import "github.com/hoistdev/hoist/internal/space"

// The functions below are who may do what with a pool (issue 13), as pure
// functions of the pool and the principal's resolved access (space.Resolve),
// on the model of integration/visibility.go: a pool belongs to a space like
// a space-level integration does. Roles flow down the tree, so a root admin
// passes every check.

// CanList reports whether the principal sees that p exists (name, space,
// description, number of connected agents): readers of its space, including
// the read that an inheriting descendant's role grants upwards.
func CanList(p Pool, a space.Access) bool { return a.Has(p.SpaceID, space.Read) }

// CanSeeDetails reports whether the principal sees p's connected agents
// (host names, connected-at): what they reveal about the private network is
// for those who run it, the admins of p's space.
func CanSeeDetails(p Pool, a space.Access) bool { return CanChange(p, a) }

// CanChange reports whether the principal may update or delete p, or mint
// its token (the token is shown only when minted): admins of p's space.
func CanChange(p Pool, a space.Access) bool { return a.Has(p.SpaceID, space.Admin) }

// CanCreate reports whether the principal may create a pool in spaceID.
func CanCreate(spaceID string, a space.Access) bool { return a.Has(spaceID, space.Admin) }

// ListFilter returns the store filter holding exactly the pools CanList
// allows.
func ListFilter(a space.Access) Filter {
	all, spaces := a.ReadScope()
	return Filter{All: all, Spaces: spaces}
}

// UsableBy reports whether an integration in the space integrationSpace may
// reach GitLab through p: p is in that space or in one of its ancestors. A
// pool's agents see every request and the integration's GitLab token, so a
// space's traffic never goes through a pool of a sibling or a descendant.
// Inherit flags do not matter here; who may pick the pool is CanUse.
func UsableBy(t space.Tree, p Pool, integrationSpace string) bool {
	return t.Within(integrationSpace, p.SpaceID)
}

// CanUse reports whether the principal may point an integration in
// integrationSpace at p: p is usable there and the principal sees p. An
// admin of an inheriting child space reads its ancestors and so may use
// their pools; an admin of a space that does not inherit may not.
func CanUse(t space.Tree, p Pool, integrationSpace string, a space.Access) bool {
	return UsableBy(t, p, integrationSpace) && CanList(p, a)
}
