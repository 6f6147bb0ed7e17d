package space

import "slices"

// Ceiling bounds what a principal may do below the roles its bindings give
// it: a personal API key limited by its owner to read, or to some spaces.
// The zero Ceiling bounds nothing.
//
// A ceiling never grants: the effective role on a space is the lower of
// the bindings' role there and Max, and nothing outside the subtrees of
// Spaces when Limited — not even the read that flows up from an inheriting
// space to its ancestors, since those ancestors are outside.
type Ceiling struct {
	Max     Role     // None: no bound on the role
	Limited bool     // only Spaces and their descendants
	Spaces  []string // when Limited; none left (all deleted) means nothing
}

// IsZero reports whether c bounds nothing.
func (c Ceiling) IsZero() bool { return c.Max == None && !c.Limited }

// Cap returns the lower of r and the ceiling's role on spaceID.
func (c Ceiling) Cap(t Tree, spaceID string, r Role) Role {
	if c.Limited && !slices.ContainsFunc(c.Spaces, func(l string) bool { return t.Within(spaceID, l) }) {
		return None
	}
	if c.Max != None && r.AtLeast(c.Max) {
		return c.Max
	}
	return r
}

// Limit applies the ceiling to resolved access over t.
func (c Ceiling) Limit(t Tree, a Access) Access {
	if c.IsZero() {
		return a
	}
	out := Access{roles: make(map[string]Role, len(a.roles))}
	for id, r := range a.roles {
		if r = c.Cap(t, id, r); r != None {
			out.roles[id] = r
		}
	}
	return out
}

// AllowsRootAdmin reports whether the ceiling leaves admin of root to a
// principal whose bindings make it root admin.
func (c Ceiling) AllowsRootAdmin() bool {
	return (c.Max == None || c.Max == Admin) && (!c.Limited || slices.Contains(c.Spaces, RootID))
}
