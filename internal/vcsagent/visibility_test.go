package vcsagent

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/space"
)

// visTree:
//
//	root
//	├── a        (inherit)
//	│   ├── a1   (inherit)
//	│   └── a2   (no inherit)
//	└── b        (inherit)
func visTree() space.Tree {
	return space.NewTree([]space.Space{
		{ID: space.RootID},
		{ID: "a", ParentID: space.RootID, Inherit: true},
		{ID: "a1", ParentID: "a", Inherit: true},
		{ID: "a2", ParentID: "a", Inherit: false},
		{ID: "b", ParentID: space.RootID, Inherit: true},
	})
}

func role(sp string, r space.Role) []space.Binding { return []space.Binding{{SpaceID: sp, Role: r}} }

// TestPoolAccess: who lists a pool, sees its agents and changes it, for a
// pool in root and one in a (issue 13, on the model of integrations).
func TestPoolAccess(t *testing.T) {
	t.Parallel()
	tree := visTree()
	inRoot, inA := Pool{ID: "r", SpaceID: space.RootID}, Pool{ID: "pa", SpaceID: "a"}
	type verdict struct{ list, details, change bool }
	tests := []struct {
		principal string
		bindings  []space.Binding
		pool      Pool
		want      verdict
	}{
		{"root admin", role(space.RootID, space.Admin), inRoot, verdict{true, true, true}},
		{"root admin", role(space.RootID, space.Admin), inA, verdict{true, true, true}},
		{"root reader", role(space.RootID, space.Read), inA, verdict{true, false, false}},
		{"admin of a", role("a", space.Admin), inA, verdict{true, true, true}},
		{"admin of a", role("a", space.Admin), inRoot, verdict{true, false, false}}, // a inherits: read on root
		{"writer of a", role("a", space.Write), inA, verdict{true, false, false}},
		{"reader of a", role("a", space.Read), inA, verdict{true, false, false}},
		{"admin of a1", role("a1", space.Admin), inA, verdict{true, false, false}},  // read flows up from an inheriting child
		{"admin of a2", role("a2", space.Admin), inA, verdict{false, false, false}}, // a2 does not inherit
		{"admin of a2", role("a2", space.Admin), inRoot, verdict{false, false, false}},
		{"admin of b", role("b", space.Admin), inA, verdict{false, false, false}},
		{"nobody", nil, inRoot, verdict{false, false, false}},
		{"nobody", nil, inA, verdict{false, false, false}},
	}
	for _, tt := range tests {
		a := space.Resolve(tree, tt.bindings)
		got := verdict{CanList(tt.pool, a), CanSeeDetails(tt.pool, a), CanChange(tt.pool, a)}
		if got != tt.want {
			t.Errorf("%s on pool in %s: (list, details, change) = %v, want %v", tt.principal, tt.pool.SpaceID, got, tt.want)
		}
		if c := CanCreate(tt.pool.SpaceID, a); c != tt.want.change {
			t.Errorf("%s creating in %s: %v, want %v", tt.principal, tt.pool.SpaceID, c, tt.want.change)
		}
		// The store filter holds exactly what CanList allows.
		f := ListFilter(a)
		if inFilter := f.All || slices.Contains(f.Spaces, tt.pool.SpaceID); inFilter != tt.want.list {
			t.Errorf("%s: filter %+v holds pool in %s = %v, want %v", tt.principal, f, tt.pool.SpaceID, inFilter, tt.want.list)
		}
	}
}

// TestPoolUse: which integrations may route through a pool, and who may
// point them at it.
func TestPoolUse(t *testing.T) {
	t.Parallel()
	tree := visTree()
	tests := []struct {
		name             string
		poolSpace        string
		integrationSpace string
		bindings         []space.Binding
		usable, canUse   bool
	}{
		{"same space, its admin", "a", "a", role("a", space.Admin), true, true},
		{"child space, its admin (inherits)", "a", "a1", role("a1", space.Admin), true, true},
		{"child space, root admin", "a", "a2", role(space.RootID, space.Admin), true, true},
		{"non-inheriting child, its own admin cannot see the pool", "a", "a2", role("a2", space.Admin), true, false},
		{"root pool from any space, by an inheriting admin", space.RootID, "a1", role("a1", space.Admin), true, true},
		{"sibling space", "a", "b", role(space.RootID, space.Admin), false, false},
		{"sibling space, its admin", "a", "b", role("b", space.Admin), false, false},
		{"descendant's pool from the parent", "a1", "a", role(space.RootID, space.Admin), false, false},
		{"descendant's pool for a default integration", "a", space.RootID, role(space.RootID, space.Admin), false, false},
		{"unknown integration space", "a", "ghost", role(space.RootID, space.Admin), false, false},
	}
	for _, tt := range tests {
		p := Pool{ID: "p", SpaceID: tt.poolSpace}
		a := space.Resolve(tree, tt.bindings)
		if got := UsableBy(tree, p, tt.integrationSpace); got != tt.usable {
			t.Errorf("%s: UsableBy = %v, want %v", tt.name, got, tt.usable)
		}
		if got := CanUse(tree, p, tt.integrationSpace, a); got != tt.canUse {
			t.Errorf("%s: CanUse = %v, want %v", tt.name, got, tt.canUse)
		}
	}
}

func TestPoolOf(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"private://lab": "lab", "private://Lab/gitlab": "lab", "https://gitlab.com": "", "": "", "private://": "",
	} {
		got, ok := PoolOf(host)
		if got != want || ok != (want != "") {
			t.Errorf("PoolOf(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}
