package module

import (
	"errors"
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"v1.2.3", "1.2.3", true},
		{"1.2.3", "1.2.3", true},
		{"v0.1.0", "0.1.0", true},
		{"10.20.30", "10.20.30", true},
		{"1.0.0-rc.1", "1.0.0-rc.1", true},
		{"v1.0.0-alpha-2.x", "1.0.0-alpha-2.x", true},
		{"banana", "", false},
		{"v1.2", "", false},
		{"1.2.3.4", "", false},
		{"01.2.3", "", false},
		{"1.02.3", "", false},
		{"1.2.3-", "", false},
		{"1.2.3-rc..1", "", false},
		{"1.2.3-01", "", false},
		{"1.2.3+build.5", "", false},
		{"V1.2.3", "", false},
		{"vv1.2.3", "", false},
		{"v", "", false},
		{"", "", false},
		{"1.2.x", "", false},
		{"-1.2.3", "", false},
		{"1.2.3-rc/1", "", false},
		{"99999999999999999999.0.0", "", false},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	// semver.org's precedence example, in order.
	ordered := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareVersions(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareVersions(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	shuffled := []string{"1.10.0", "1.0.0-rc.1", "2.0.0", "1.0.0-alpha", "1.2.0", "1.0.0", "1.0.0-beta.11",
		"1.0.0-alpha.beta", "1.0.1", "1.0.0-beta.2", "1.0.0-alpha.1", "1.0.0-beta"}
	slices.SortFunc(shuffled, CompareVersions)
	if !slices.Equal(shuffled, ordered) {
		t.Errorf("sorted = %v", shuffled)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() Module {
		return Module{Name: " VPC ", Provider: "aws", Repository: "/acme/modules/vpc.git", Branch: "refs/heads/main",
			ProjectRoot: "modules/vpc/", Labels: []string{"b", "a", "a"}}
	}
	m := valid()
	if err := Validate(&m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "VPC" || m.Repository != "acme/modules/vpc" || m.Branch != "main" || m.ProjectRoot != "modules/vpc" ||
		!slices.Equal(m.Labels, []string{"a", "b"}) {
		t.Errorf("normalised = %+v", m)
	}
	tests := []struct {
		field  string
		change func(*Module)
	}{
		{"name", func(m *Module) { m.Name = "  " }},
		{"provider", func(m *Module) { m.Provider = "" }},
		{"provider", func(m *Module) { m.Provider = "AWS" }},
		{"provider", func(m *Module) { m.Provider = "my-cloud" }},
		{"repository", func(m *Module) { m.Repository = "vpc" }},
		{"branch", func(m *Module) { m.Branch = "" }},
		{"project_root", func(m *Module) { m.ProjectRoot = "a/../b" }},
		{"description", func(m *Module) { m.Description = string(make([]byte, 70<<10)) }},
	}
	for _, tt := range tests {
		m := valid()
		tt.change(&m)
		var e *apperr.Error
		if err := Validate(&m); !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != tt.field {
			t.Errorf("%s: Validate = %v, want invalid %s", tt.field, err, tt.field)
		}
	}
}
