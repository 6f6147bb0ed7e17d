package space

import "slices"

// Tree is the set of spaces indexed by id, the input of the access decision.
type Tree struct {
	byID map[string]Space
}

// NewTree indexes spaces. Spaces whose parent is missing are kept; the walk
// up from them simply stops.
func NewTree(spaces []Space) Tree {
	t := Tree{byID: make(map[string]Space, len(spaces))}
	for _, s := range spaces {
		t.byID[s.ID] = s
	}
	return t
}

// Get returns the space with the given id.
func (t Tree) Get(id string) (Space, bool) {
	s, ok := t.byID[id]
	return s, ok
}

// Effective is the access decision of SPEC §1: the role a principal holding
// bindings has on the space spaceID.
//
//   - A role on X applies to X and every descendant of X, whatever their
//     inherit flags (roles flow down).
//   - A role on a space C whose inherit flag is on grants read on C's parent,
//     and on the parent's parent while each space on the way inherits too; the
//     first space with inherit off ends the chain upwards (its parent gets
//     nothing). Read granted this way applies to the ancestor itself, not to
//     its other descendants.
//   - The highest role wins. An unknown space gets None.
//
// Bindings of other principals must be filtered out by the caller; Effective
// does not look at Binding.Principal.
func Effective(t Tree, bindings []Binding, spaceID string) Role {
	if _, ok := t.byID[spaceID]; !ok {
		return None
	}
	direct := make(map[string]Role, len(bindings))
	for _, b := range bindings {
		direct[b.SpaceID] = direct[b.SpaceID].Max(b.Role)
	}
	role := None
	// Roles flow down: any binding on spaceID or one of its ancestors.
	for _, id := range t.path(spaceID) {
		role = role.Max(direct[id])
	}
	if role.AtLeast(Read) {
		return role
	}
	// Read flows up from inheriting descendants.
	for id, r := range direct {
		if r != None && t.inheritsUpTo(id, spaceID) {
			return Read
		}
	}
	return None
}

// Within reports whether the space id is anc or one of its descendants,
// whatever the inherit flags: it is where anc's own things may be used (an
// agent pool in anc serves integrations in anc and below). Unknown spaces
// are within nothing.
func (t Tree) Within(id, anc string) bool {
	if _, ok := t.byID[anc]; !ok {
		return false
	}
	return slices.Contains(t.path(id), anc)
}

// path returns id and its ancestors, nearest first, stopping at a missing
// parent or a cycle.
func (t Tree) path(id string) []string {
	var out []string
	seen := map[string]bool{}
	for id != "" && !seen[id] {
		s, ok := t.byID[id]
		if !ok {
			break
		}
		seen[id] = true
		out = append(out, id)
		id = s.ParentID
	}
	return out
}

// inheritsUpTo reports whether a role on from grants read on the proper
// ancestor anc: every space from `from` up to (not including) anc inherits.
func (t Tree) inheritsUpTo(from, anc string) bool {
	for _, id := range t.path(from) {
		if id == anc {
			return id != from
		}
		if s := t.byID[id]; !s.Inherit {
			return false
		}
	}
	return false
}

// Access is the outcome of the access decision for one principal over a
// whole tree: its effective role on every space.
type Access struct {
	roles map[string]Role
}

// Resolve computes the principal's effective role on every space of t.
func Resolve(t Tree, bindings []Binding) Access {
	a := Access{roles: make(map[string]Role, len(t.byID))}
	for id := range t.byID {
		if r := Effective(t, bindings, id); r != None {
			a.roles[id] = r
		}
	}
	return a
}

// Role returns the effective role on spaceID (None for unknown spaces).
func (a Access) Role(spaceID string) Role { return a.roles[spaceID] }

// Has reports whether the effective role on spaceID is at least min.
func (a Access) Has(spaceID string, min Role) bool {
	return min != None && a.roles[spaceID].AtLeast(min)
}

// IsRootAdmin reports whether the principal is admin of root.
func (a Access) IsRootAdmin() bool { return a.roles[RootID] == Admin }

// ReadScope is what a list filters on: every space for a root admin (all
// true), else the spaces the principal may read (none at all: empty).
func (a Access) ReadScope() (all bool, spaces []string) {
	if a.IsRootAdmin() {
		return true, nil
	}
	return false, a.Spaces(Read)
}

// Spaces returns the ids of spaces where the role is at least min, unordered.
func (a Access) Spaces(min Role) []string {
	var out []string
	for id, r := range a.roles {
		if r.AtLeast(min) && r != None {
			out = append(out, id)
		}
	}
	return out
}

// IsRootAdmin reports whether bindings make their principal admin of root.
func IsRootAdmin(bindings []Binding) bool {
	for _, b := range bindings {
		if b.SpaceID == RootID && b.Role == Admin {
			return true
		}
	}
	return false
}
