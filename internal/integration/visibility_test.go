package integration

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/space"
)

// TestVisibility is acceptance 4 of issue 3 at the level of the pure rules:
// four principals, a default and a space-A integration.
func TestVisibility(t *testing.T) {
	t.Parallel()
	tree := space.NewTree([]space.Space{
		{ID: space.RootID},
		{ID: "a", ParentID: space.RootID, Inherit: true},
		{ID: "b", ParentID: space.RootID, Inherit: true},
	})
	principals := map[string]space.Access{
		"root admin":  space.Resolve(tree, []space.Binding{{SpaceID: space.RootID, Role: space.Admin}}),
		"admin of A":  space.Resolve(tree, []space.Binding{{SpaceID: "a", Role: space.Admin}}),
		"reader of A": space.Resolve(tree, []space.Binding{{SpaceID: "a", Role: space.Read}}),
		"reader of B": space.Resolve(tree, []space.Binding{{SpaceID: "b", Role: space.Read}}),
		"nobody":      space.Resolve(tree, nil),
	}
	def := Integration{ID: "default-gitlab", IsDefault: true, SpaceID: space.RootID}
	inA := Integration{ID: "a-gitlab", SpaceID: "a"}

	type verdict struct{ list, details, change bool }
	tests := []struct {
		principal string
		in        Integration
		want      verdict
	}{
		{"root admin", def, verdict{true, true, true}},
		{"root admin", inA, verdict{true, true, true}},
		{"admin of A", def, verdict{true, false, false}},
		{"admin of A", inA, verdict{true, true, true}},
		{"reader of A", def, verdict{true, false, false}},
		{"reader of A", inA, verdict{true, false, false}},
		{"reader of B", def, verdict{true, false, false}},
		{"reader of B", inA, verdict{false, false, false}},
		{"nobody", def, verdict{true, false, false}},
		{"nobody", inA, verdict{false, false, false}},
	}
	for _, tt := range tests {
		a := principals[tt.principal]
		got := verdict{CanList(tt.in, a), CanSeeDetails(tt.in, a), CanChange(tt.in, a)}
		if got != tt.want {
			t.Errorf("%s on %s: (list, details, change) = %v, want %v", tt.principal, tt.in.ID, got, tt.want)
		}
		if c := CanCreate(tt.in.SpaceID, tt.in.IsDefault, a); c != tt.want.change {
			t.Errorf("%s creating like %s: %v, want %v", tt.principal, tt.in.ID, c, tt.want.change)
		}
	}
}

// TestVisibilityInheritedRead: a reader of a child that inherits reads the
// parent, so the parent's integrations are listed to it (details still need
// admin of the parent); a non-inheriting child gives nothing.
func TestVisibilityInheritedRead(t *testing.T) {
	t.Parallel()
	tree := space.NewTree([]space.Space{
		{ID: space.RootID},
		{ID: "a", ParentID: space.RootID, Inherit: true},
		{ID: "a1", ParentID: "a", Inherit: true},
		{ID: "a2", ParentID: "a", Inherit: false},
	})
	inA := Integration{ID: "x", SpaceID: "a"}
	child := space.Resolve(tree, []space.Binding{{SpaceID: "a1", Role: space.Admin}})
	if !CanList(inA, child) || CanSeeDetails(inA, child) || CanChange(inA, child) {
		t.Error("admin of inheriting child: want list only on parent's integration")
	}
	closed := space.Resolve(tree, []space.Binding{{SpaceID: "a2", Role: space.Admin}})
	if CanList(inA, closed) {
		t.Error("admin of non-inheriting child lists the parent's integration")
	}
	parentAdmin := space.Resolve(tree, []space.Binding{{SpaceID: "a", Role: space.Admin}})
	if in := (Integration{SpaceID: "a2"}); !CanSeeDetails(in, parentAdmin) || !CanChange(in, parentAdmin) {
		t.Error("admin of parent must administer integrations of every child")
	}
}

func TestListFilter(t *testing.T) {
	t.Parallel()
	tree := space.NewTree([]space.Space{
		{ID: space.RootID}, {ID: "a", ParentID: space.RootID, Inherit: false}, {ID: "b", ParentID: space.RootID},
	})
	if f := ListFilter(space.Resolve(tree, []space.Binding{{SpaceID: space.RootID, Role: space.Admin}})); !f.All {
		t.Errorf("root admin filter = %+v", f)
	}
	f := ListFilter(space.Resolve(tree, []space.Binding{{SpaceID: "a", Role: space.Write}}))
	if f.All || !slices.Equal(f.Spaces, []string{"a"}) {
		t.Errorf("writer of A filter = %+v", f)
	}
}
