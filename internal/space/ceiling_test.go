package space

import "testing"

func TestCeilingLimit(t *testing.T) {
	t.Parallel()
	tree := testTree()
	tests := []struct {
		name     string
		bindings []Binding
		ceiling  Ceiling
		space    string
		want     Role
	}{
		{"zero ceiling bounds nothing", []Binding{bind(RootID, Admin)}, Ceiling{}, "a1", Admin},
		{"read ceiling under admin", []Binding{bind(RootID, Admin)}, Ceiling{Max: Read}, "a1", Read},
		{"write ceiling under admin", []Binding{bind("a", Admin)}, Ceiling{Max: Write}, "a2x", Write},
		{"admin ceiling does not raise read", []Binding{bind("a", Read)}, Ceiling{Max: Admin}, "a", Read},
		{"ceiling grants nothing where the bindings give nothing", []Binding{bind("a", Admin)}, Ceiling{Max: Admin}, "b", None},
		{"listed space", []Binding{bind(RootID, Admin)}, Ceiling{Limited: true, Spaces: []string{"a"}}, "a", Admin},
		{"below a listed space", []Binding{bind(RootID, Admin)}, Ceiling{Limited: true, Spaces: []string{"a"}}, "a1x", Admin},
		{"outside the listed spaces", []Binding{bind(RootID, Admin)}, Ceiling{Limited: true, Spaces: []string{"a"}}, "b1", None},
		{"no read flowing up out of a listed space", []Binding{bind("a1", Admin)}, Ceiling{Limited: true, Spaces: []string{"a1"}}, "a", None},
		{"read flowing up inside a listed space", []Binding{bind("a1x", Write)}, Ceiling{Limited: true, Spaces: []string{"a"}}, "a", Read},
		{"listed spaces all gone: nothing", []Binding{bind(RootID, Admin)}, Ceiling{Limited: true}, RootID, None},
		{"role and spaces together", []Binding{bind(RootID, Admin)}, Ceiling{Max: Write, Limited: true, Spaces: []string{"b", "a2"}}, "a2x", Write},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.ceiling.Limit(tree, Resolve(tree, tc.bindings)).Role(tc.space)
			if got != tc.want {
				t.Errorf("role on %s = %q, want %q", tc.space, got, tc.want)
			}
		})
	}
}

func TestCeilingAllowsRootAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Ceiling
		want bool
	}{
		{Ceiling{}, true},
		{Ceiling{Max: Admin}, true},
		{Ceiling{Max: Write}, false},
		{Ceiling{Limited: true, Spaces: []string{"a"}}, false},
		{Ceiling{Max: Admin, Limited: true, Spaces: []string{"a", RootID}}, true},
		{Ceiling{Limited: true}, false},
	}
	for _, tc := range tests {
		if got := tc.c.AllowsRootAdmin(); got != tc.want {
			t.Errorf("%+v.AllowsRootAdmin() = %v, want %v", tc.c, got, tc.want)
		}
	}
}
