package stack

import (
	"testing"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
)

// tree:
//
//	root
//	├── platform (inherit)
//	│   ├── team (inherit)
//	│   │   └── deep (inherit)
//	│   └── sealed (no inherit)
//	│       └── below-sealed (inherit)
//	└── other (inherit)
func testTree() space.Tree {
	return space.NewTree([]space.Space{
		{ID: space.RootID},
		{ID: "platform", ParentID: space.RootID, Inherit: true},
		{ID: "team", ParentID: "platform", Inherit: true},
		{ID: "deep", ParentID: "team", Inherit: true},
		{ID: "sealed", ParentID: "platform", Inherit: false},
		{ID: "below-sealed", ParentID: "sealed", Inherit: true},
		{ID: "other", ParentID: space.RootID, Inherit: true},
		{ID: "loop-a", ParentID: "loop-b", Inherit: true}, // a corrupt tree must not hang the walk
		{ID: "loop-b", ParentID: "loop-a", Inherit: true},
	})
}

func TestIntegrationUsable(t *testing.T) {
	t.Parallel()
	def := integration.Integration{ID: "gl", IsDefault: true, SpaceID: space.RootID}
	in := func(sp string) integration.Integration { return integration.Integration{ID: "gl-" + sp, SpaceID: sp} }
	tests := []struct {
		name       string
		stackSpace string
		it         integration.Integration
		want       bool
	}{
		{"default from root", space.RootID, def, true},
		{"default from a sealed space", "below-sealed", def, true},
		{"default from an unknown space", "nope", def, true},
		{"own space", "platform", in("platform"), true},
		{"own space without inherit", "sealed", in("sealed"), true},
		{"child that inherits", "team", in("platform"), true},
		{"grandchild through inheriting spaces", "deep", in("platform"), true},
		{"child without inherit", "sealed", in("platform"), false},
		{"chain broken above", "below-sealed", in("platform"), false},
		{"below the break reaches the breaking space", "below-sealed", in("sealed"), true},
		{"root space integration from an inheriting child", "other", in(space.RootID), true},
		{"root space integration through a broken chain", "below-sealed", in(space.RootID), false},
		{"sibling space", "other", in("platform"), false},
		{"parent cannot use a child's", "platform", in("team"), false},
		{"unrelated branch", "team", in("other"), false},
		{"unknown stack space", "nope", in("platform"), false},
		{"cycle", "loop-a", in("platform"), false},
	}
	tree := testTree()
	for _, tt := range tests {
		if got := IntegrationUsable(tree, tt.stackSpace, tt.it); got != tt.want {
			t.Errorf("%s: IntegrationUsable(%s, %s) = %v, want %v", tt.name, tt.stackSpace, tt.it.SpaceID, got, tt.want)
		}
	}
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	tree := testTree()
	admin := space.Resolve(tree, []space.Binding{{SpaceID: "team", Role: space.Admin}})
	writer := space.Resolve(tree, []space.Binding{{SpaceID: "team", Role: space.Write}})
	rootAdmin := space.Resolve(tree, []space.Binding{{SpaceID: space.RootID, Role: space.Admin}})
	st := func(sp string) Stack { return Stack{ID: "s", SpaceID: sp} }
	tests := []struct {
		name       string
		a          space.Access
		space      string
		read, mgmt bool
	}{
		{"admin of the space", admin, "team", true, true},
		{"admin flows down", admin, "deep", true, true},
		{"read flows up through inherit", admin, "platform", true, false},
		{"nothing in a sibling", admin, "sealed", false, false},
		{"writers read but do not manage", writer, "team", true, false},
		{"root admin everywhere", rootAdmin, "below-sealed", true, true},
	}
	for _, tt := range tests {
		if got := CanRead(st(tt.space), tt.a); got != tt.read {
			t.Errorf("%s: CanRead = %v", tt.name, got)
		}
		if got := CanManage(tt.space, tt.a); got != tt.mgmt {
			t.Errorf("%s: CanManage = %v", tt.name, got)
		}
	}
	if f := ListFilter(rootAdmin); !f.All {
		t.Errorf("root admin filter = %+v", f)
	}
	if f := ListFilter(writer); f.All || len(f.Spaces) == 0 {
		t.Errorf("writer filter = %+v", f)
	}
}
