package space

import (
	"slices"
	"testing"
)

// testTree:
//
//	root
//	├── a            (inherit)
//	│   ├── a1       (inherit)
//	│   │   └── a1x  (inherit)
//	│   └── a2       (no inherit)
//	│       └── a2x  (inherit)
//	└── b            (no inherit)
//	    └── b1       (inherit)
func testTree() Tree {
	return NewTree([]Space{
		{ID: RootID},
		{ID: "a", ParentID: RootID, Inherit: true},
		{ID: "a1", ParentID: "a", Inherit: true},
		{ID: "a1x", ParentID: "a1", Inherit: true},
		{ID: "a2", ParentID: "a", Inherit: false},
		{ID: "a2x", ParentID: "a2", Inherit: true},
		{ID: "b", ParentID: RootID, Inherit: false},
		{ID: "b1", ParentID: "b", Inherit: true},
	})
}

func bind(space string, r Role) Binding { return Binding{Principal: "user:u", SpaceID: space, Role: r} }

func TestEffective(t *testing.T) {
	t.Parallel()
	tree := testTree()
	tests := []struct {
		name     string
		bindings []Binding
		space    string
		want     Role
	}{
		{"no bindings", nil, "a", None},
		{"direct read", []Binding{bind("a", Read)}, "a", Read},
		{"direct admin", []Binding{bind("a", Admin)}, "a", Admin},
		{"flows down to child", []Binding{bind("a", Write)}, "a1", Write},
		{"flows down to grandchild", []Binding{bind("a", Admin)}, "a1x", Admin},
		{"flows down past inherit=false", []Binding{bind("a", Admin)}, "a2", Admin},
		{"flows down below inherit=false", []Binding{bind("a", Admin)}, "a2x", Admin},
		{"does not flow to sibling", []Binding{bind("a1", Admin)}, "a2", None},
		{"does not flow to other subtree", []Binding{bind("a", Admin)}, "b", None},
		{"root admin everywhere", []Binding{bind(RootID, Admin)}, "b1", Admin},
		{"root read everywhere", []Binding{bind(RootID, Read)}, "a2x", Read},
		{"child grants read on inheriting parent", []Binding{bind("a1", Admin)}, "a", Read},
		{"child grants read up the whole inheriting chain", []Binding{bind("a1x", Write)}, "root", Read},
		{"grandchild grants read on grandparent", []Binding{bind("a1x", Read)}, "a", Read},
		{"inherit=false child grants nothing on parent", []Binding{bind("a2", Admin)}, "a", None},
		{"chain stops at inherit=false space", []Binding{bind("a2x", Admin)}, "a2", Read},
		{"chain does not pass inherit=false space", []Binding{bind("a2x", Admin)}, "a", None},
		{"chain does not pass inherit=false space to root", []Binding{bind("a2x", Admin)}, RootID, None},
		{"inheriting child of non-inheriting parent reads parent only", []Binding{bind("b1", Read)}, "b", Read},
		{"... but not root", []Binding{bind("b1", Read)}, RootID, None},
		{"upward read does not flow down to siblings", []Binding{bind("a1", Admin)}, "a2", None},
		{"upward read does not reach descendants of a child", []Binding{bind("a1", Admin)}, "a1x", Admin},
		{"highest role wins (down beats up)", []Binding{bind("a1", Admin), bind("a", Write)}, "a", Write},
		{"highest role wins (flowed vs direct)", []Binding{bind(RootID, Admin), bind("a", Read)}, "a", Admin},
		{"highest role wins (same space twice)", []Binding{bind("a", Read), bind("a", Admin)}, "a", Admin},
		{"direct beats upward read", []Binding{bind("a1", Admin), bind("a", Read)}, "a", Read},
		{"unknown space", []Binding{bind(RootID, Admin)}, "nope", None},
		{"binding on unknown space ignored", []Binding{bind("nope", Admin)}, "a", None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Effective(tree, tt.bindings, tt.space); got != tt.want {
				t.Errorf("Effective(%v, %q) = %q, want %q", tt.bindings, tt.space, got, tt.want)
			}
		})
	}
}

func TestEffectiveCycleTerminates(t *testing.T) {
	t.Parallel()
	// A corrupt tree must not hang the decision.
	tree := NewTree([]Space{{ID: "x", ParentID: "y", Inherit: true}, {ID: "y", ParentID: "x", Inherit: true}})
	if got := Effective(tree, []Binding{bind("x", Admin)}, "y"); got != Admin {
		t.Errorf("got %q, want admin (y is below x in the cycle)", got)
	}
	if got := Effective(tree, nil, "y"); got != None {
		t.Errorf("got %q, want none", got)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tree := testTree()
	a := Resolve(tree, []Binding{bind("a1", Admin), bind("b", Read)})
	want := map[string]Role{
		RootID: Read, "a": Read, "a1": Admin, "a1x": Admin, "a2": None, "a2x": None, "b": Read, "b1": Read,
	}
	for id, r := range want {
		if got := a.Role(id); got != r {
			t.Errorf("Role(%q) = %q, want %q", id, got, r)
		}
	}
	if a.IsRootAdmin() {
		t.Error("IsRootAdmin = true, want false")
	}
	if !a.Has("a1x", Write) || a.Has("a", Write) || a.Has("a2", None) {
		t.Error("Has gives wrong answers")
	}
	admin := a.Spaces(Admin)
	slices.Sort(admin)
	if !slices.Equal(admin, []string{"a1", "a1x"}) {
		t.Errorf("Spaces(admin) = %v", admin)
	}
	if !Resolve(tree, []Binding{bind(RootID, Admin)}).IsRootAdmin() {
		t.Error("root admin binding does not make a root admin")
	}
	if !IsRootAdmin([]Binding{bind("a", Read), bind(RootID, Admin)}) || IsRootAdmin([]Binding{bind(RootID, Write)}) {
		t.Error("IsRootAdmin(bindings) wrong")
	}
}

func TestRole(t *testing.T) {
	t.Parallel()
	order := []Role{None, Read, Write, Admin}
	for i, r := range order {
		for j, o := range order {
			if got := r.AtLeast(o); got != (i >= j) {
				t.Errorf("%q.AtLeast(%q) = %v", r, o, got)
			}
			if got, want := r.Max(o), order[max(i, j)]; got != want {
				t.Errorf("%q.Max(%q) = %q, want %q", r, o, got, want)
			}
		}
	}
	for in, want := range map[string]Role{"read": Read, " Admin ": Admin, "WRITE": Write} {
		if got, err := ParseRole("role", in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "owner", "none"} {
		if _, err := ParseRole("role", in); err == nil {
			t.Errorf("ParseRole(%q) accepted", in)
		}
	}
}

func TestWithin(t *testing.T) {
	t.Parallel()
	tree := testTree()
	tests := []struct {
		id, anc string
		want    bool
	}{
		{"a", "a", true},
		{"a1x", "a", true},
		{"a1x", RootID, true},
		{"a2x", "a", true}, // inherit flags do not matter
		{"b1", "b", true},
		{"a", "a1", false}, // an ancestor is not within its child
		{"b1", "a", false},
		{"a1", "a2", false},
		{"ghost", RootID, false},
		{"a", "ghost", false},
	}
	for _, tt := range tests {
		if got := tree.Within(tt.id, tt.anc); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.id, tt.anc, got, tt.want)
		}
	}
}

func TestReadScope(t *testing.T) {
	t.Parallel()
	tree := testTree()
	for _, tc := range []struct {
		name     string
		bindings []Binding
		all      bool
		spaces   []string
	}{
		{"root admin: all", []Binding{bind(RootID, Admin)}, true, nil},
		{"root writer: every space, listed", []Binding{bind(RootID, Write)}, false,
			[]string{"a", "a1", "a1x", "a2", "a2x", "b", "b1", RootID}},
		{"reader below: its spaces and the inherited read up", []Binding{bind("a1", Read)}, false, []string{"a", "a1", "a1x", RootID}},
		{"nothing", nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all, spaces := Resolve(tree, tc.bindings).ReadScope()
			slices.Sort(spaces)
			if all != tc.all || !slices.Equal(spaces, tc.spaces) {
				t.Errorf("ReadScope = %v, %v; want %v, %v", all, spaces, tc.all, tc.spaces)
			}
		})
	}
}
