package arch

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// pkg is what `go list -json` says of a package that the tests read.
type pkg struct {
	ImportPath  string
	Name        string
	Doc         string
	Imports     []string
	TestImports []string
}

// packages lists every package of the module (tests' imports included).
func packages(t *testing.T) []pkg {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.CommandContext(t.Context(), "go", "list", "-json", "./...")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 30 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

// TestEveryPackageIsDocumented: a package comment says what each package
// is for, in the form godoc expects ("Package x …", "Command hoist …").
func TestEveryPackageIsDocumented(t *testing.T) {
	t.Parallel()
	for _, p := range packages(t) {
		switch {
		case p.Doc == "":
			t.Errorf("%s has no package comment", p.ImportPath)
		case p.Name == "main":
			// "Hoist is …" or "Command hoist …": free form.
		case !bytes.HasPrefix([]byte(p.Doc), []byte("Package "+p.Name+" ")):
			t.Errorf("%s: the package comment starts %q, want \"Package %s …\"", p.ImportPath, p.Doc, p.Name)
		}
	}
}
