package stack

import (
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
)

// The functions below are the rules of who may do what with stacks, as pure
// functions of the principal's resolved access (space.Resolve). Following
// Spacelift's roles (space readers read, writers trigger runs, admins create
// and modify stacks), stacks are read with read on their space and created,
// changed and deleted with admin on it; moving a stack needs admin on both
// spaces.

// CanRead reports whether the principal may see st.
func CanRead(st Stack, a space.Access) bool { return a.Has(st.SpaceID, space.Read) }

// CheckRole returns nil when a grants role min on st's space. A stack the
// principal cannot read is NotFound, so its existence is not told; one it
// reads but lacks min on is Forbidden.
func CheckRole(st Stack, a space.Access, min space.Role) error {
	if !CanRead(st, a) {
		return apperr.Errorf(apperr.NotFound, "stack %q not found", st.ID)
	}
	if !a.Has(st.SpaceID, min) {
		return apperr.Errorf(apperr.Forbidden, "you need the %s role on space %q for this on stack %q", min, st.SpaceID, st.ID)
	}
	return nil
}

// CanManage reports whether the principal may create, change or delete
// stacks in the space spaceID.
func CanManage(spaceID string, a space.Access) bool { return a.Has(spaceID, space.Admin) }

// ListFilter returns the store filter holding exactly the stacks CanRead
// allows.
func ListFilter(a space.Access) Filter {
	all, spaces := a.ReadScope()
	return Filter{All: all, Spaces: spaces}
}

// IntegrationUsable reports whether a stack in the space stackSpace may use
// the integration it (SPEC §2.1): a default integration is usable
// everywhere; a space integration in its own space and in the descendants
// that inherit from it — every space on the way up from stackSpace to the
// integration's space, stackSpace included, must have inherit on. The
// integration's own space needs no inherit flag: the chain is about the
// stack's side reaching up.
func IntegrationUsable(t space.Tree, stackSpace string, it integration.Integration) bool {
	if it.IsDefault {
		return true
	}
	seen := map[string]bool{}
	for id := stackSpace; id != "" && !seen[id]; {
		if id == it.SpaceID {
			return true
		}
		seen[id] = true
		sp, ok := t.Get(id)
		if !ok || !sp.Inherit {
			return false
		}
		id = sp.ParentID
	}
	return false
}
