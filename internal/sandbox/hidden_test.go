package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckHidden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hidden   string
		writable []string
		readable []string
		canCover bool
		want     string // "" for accepted
	}{
		{"data dir apart, covered", "/var/lib/hoist", []string{"/tmp/hoist-work-0/run-1/src"}, []string{"/usr/local/bin/tofu"}, true, ""},
		{"data dir apart, not covered", "/var/lib/hoist", []string{"/tmp/hoist-work-0/run-1/src"}, nil, false, ""},
		{"workspace inside the data dir", "/var/lib/hoist", []string{"/var/lib/hoist/runs/r1"}, nil, true, "--work-dir"},
		{"tofu inside the data dir", "/srv/hoist", []string{"/tmp/w"}, []string{"/srv/hoist/bin/tofu"}, true, "--work-dir"},
		{"data dir under /usr, covered", "/usr/local/hoist", []string{"/tmp/w"}, nil, true, ""},
		{"data dir under /usr, not covered", "/usr/local/hoist", []string{"/tmp/w"}, nil, false, "no mount namespace"},
		{"data dir inside a readable folder, not covered", "/opt/hoist/data", []string{"/tmp/w"}, []string{"/opt/hoist"}, false, "through /opt/hoist"},
		{"sibling with a common prefix", "/srv/hoist", []string{"/srv/hoist-work/r1"}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHidden([]string{tt.hidden}, spec{Writable: tt.writable, Readable: tt.readable}, tt.canCover)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("checkHidden: %v; want %q", err, tt.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	sp, prog, err := parseArgs([]string{`{"writable":["/w"],"uid":-1,"gid":-1}`, "--", "/bin/tofu", "plan", "-out=x"})
	if err != nil || len(sp.Writable) != 1 || sp.UID != -1 || strings.Join(prog, " ") != "/bin/tofu plan -out=x" {
		t.Fatalf("%+v %v %v", sp, prog, err)
	}
	for _, bad := range [][]string{nil, {`{}`, "--", "/bin/true"}, {`{"writable":["/w"]}`, "/bin/true"}, {`{"writable":["/w"]}`, "--"}} {
		if _, _, err := parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}

func TestRealPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	got := RealPaths("", link, filepath.Join(dir, "missing"))
	if len(got) != 2 || got[0] != real || got[1] != filepath.Join(dir, "missing") {
		t.Fatalf("RealPaths = %q", got)
	}
}
