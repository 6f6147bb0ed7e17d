package trigger

import (
	"slices"
	"strings"
	"testing"
)

// affectedCases are shared by the tests of Affected and of the Matcher,
// which must agree.
var affectedCases = []struct {
	name  string
	root  string
	globs []string
	files []string
	want  bool
}{
	{"file under root", "infra", nil, []string{"app/x.go", "infra/main.tf"}, true},
	{"nested file under root", "stacks/net", nil, []string{"stacks/net/modules/vpc/main.tf"}, true},
	{"sibling with root as name prefix", "infra", nil, []string{"infrastructure/x.tf", "infra.md"}, false},
	{"file named like the root", "infra", nil, []string{"infra"}, true},
	{"root deeper than the file", "stacks/net", nil, []string{"stacks/x.tf", "stacks"}, false},
	{"root with slashes", "/infra/", nil, []string{"infra/main.tf"}, true},
	{"file with slashes", "infra", nil, []string{"/infra/main.tf"}, true},
	{"empty root matches everything", "", nil, []string{"README.md"}, true},
	{"slash root matches everything", "/", nil, []string{"x"}, true},
	{"no files", "", []string{"**"}, nil, false},
	{"only empty paths", "", nil, []string{"", "/"}, false},
	{"glob matches", "infra", []string{"modules/**"}, []string{"modules/vpc/main.tf"}, true},
	{"glob with leading slash", "infra", []string{"/modules/**"}, []string{"modules/vpc/main.tf"}, true},
	{"glob folder with trailing slash", "infra", []string{"modules/"}, []string{"modules/vpc/main.tf"}, true},
	{"glob star does not cross folders", "infra", []string{"modules/*.tf"}, []string{"modules/vpc/main.tf"}, false},
	{"glob anywhere", "infra", []string{"**/*.tfvars"}, []string{"env/prod/x.tfvars"}, true},
	{"glob alternatives", "infra", []string{"{shared,common}/**"}, []string{"common/a"}, true},
	{"glob misses", "infra", []string{"modules/**"}, []string{"app/main.go"}, false},
	{"double star matches the folder itself", "infra", []string{"modules/**"}, []string{"modules"}, true},
	{"invalid glob matches nothing", "infra", []string{"[", "modules/["}, []string{"[", "modules/["}, false},
	{"plain path glob", "infra", []string{"versions.tf"}, []string{"versions.tf"}, true},
}

func TestAffected(t *testing.T) {
	t.Parallel()
	for _, tt := range affectedCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Affected(tt.root, tt.globs, tt.files); got != tt.want {
				t.Errorf("Affected(%q, %q, %q) = %v, want %v", tt.root, tt.globs, tt.files, got, tt.want)
			}
		})
	}
}

func TestValidateGlob(t *testing.T) {
	t.Parallel()
	for _, g := range []string{"modules/**", "/x/*.tf", "{a,b}/**", "dir/"} {
		if err := ValidateGlob(g); err != nil {
			t.Errorf("ValidateGlob(%q) = %v, want nil", g, err)
		}
	}
	for _, g := range []string{"", "/", "[", "a/{b"} {
		if err := ValidateGlob(g); err == nil {
			t.Errorf("ValidateGlob(%q) = nil, want an error", g)
		}
	}
}

func TestLiteralPrefix(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"modules/**":           "modules",
		"modules/net/**/*.tf":  "modules/net",
		"stacks/*/main.tf":     "stacks",
		"**/*.tf":              "",
		"*.tf":                 "",
		"versions.tf":          "versions.tf",
		"a/b/c":                "a/b/c",
		"{a,b}/x":              "",
		"a/[bc]/x":             "a",
		`a/b\*/x`:              "a",
		"config/team-1/3.yaml": "config/team-1/3.yaml",
	}
	for in, want := range tests {
		if got := literalPrefix(in); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandAlternatives(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"modules/**":              {"modules/**"},
		"env/{dev,prod}/x.tfvars": {"env/dev/x.tfvars", "env/prod/x.tfvars"},
		"{a,{b,c}}/{x,y}":         {"a/x", "a/y", "b/x", "b/y", "c/x", "c/y"},
		"a/{b,}":                  {"a/b", "a/"},
		"[{]/{a,b}":               {"[{]/{a,b}"}, // classes are kept whole
		`\{a,b}`:                  {`\{a,b}`},    // so are escapes
		"{a,b":                    {"{a,b"},      // unbalanced: invalid anyway
	}
	for in, want := range tests {
		got := expandAlternatives(in)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("expandAlternatives(%q) = %q, want %q", in, got, want)
		}
	}
	many := strings.Repeat("{a,b}", 7) // 128 alternatives, over the bound
	if got := expandAlternatives(many); !slices.Equal(got, []string{many}) {
		t.Errorf("expandAlternatives(%q) expanded %d patterns, want the glob kept whole", many, len(got))
	}
}
