package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// folder builds a tools folder: files are written with their mode, links
// made as given (target as written), and empty folders made.
func folder(t *testing.T, files map[string]os.FileMode, links map[string]string, dirs ...string) string {
	t.Helper()
	root := t.TempDir()
	for name, mode := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestBinary(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(outside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := folder(t, map[string]os.FileMode{
		"opentofu/1.10.6/tofu":     0o755,
		"opentofu/1.11.0-rc1/tofu": 0o755,
		"opentofu/1.7.0/tofu":      0o644,
		"opentofu/1.6.0/tofu":      0o777,
		"opentofu/latest/tofu":     0o755,
		"shared/tofu-1.4.0":        0o755,
	}, map[string]string{
		"opentofu/1.9.0/tofu": "../1.10.6/tofu",                           // inside the folder: allowed
		"opentofu/1.4.0":      "../shared",                                // a version folder that is a link inside
		"opentofu/1.8.0/tofu": outside,                                    // out of the folder: refused
		"opentofu/1.3.0/tofu": "../../../../../../../../../../etc/passwd", // out of it, to a file that exists
	}, "opentofu/1.5.0", "opentofu/1.2.0/tofu")
	if err := os.Rename(filepath.Join(root, "shared", "tofu-1.4.0"), filepath.Join(root, "shared", "tofu")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "tools")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	d, err := Open(link) // the folder itself may be a link
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(root)
	if d.Path() != real {
		t.Fatalf("Path = %q, want %q", d.Path(), real)
	}
	tests := []struct {
		tool, version string
		want          string // the binary, relative to the folder; "" when refused
		err           string
	}{
		{OpenTofu, "1.10.6", "opentofu/1.10.6/tofu", ""},
		{OpenTofu, "v1.10.6", "opentofu/1.10.6/tofu", ""},
		{OpenTofu, "1.9.0", "opentofu/1.10.6/tofu", ""},
		{OpenTofu, "1.4.0", "shared/tofu", ""},
		{OpenTofu, "1.11.0-rc1", "opentofu/1.11.0-rc1/tofu", ""},
		{OpenTofu, "1.8.0", "", "leads out of the tools folder"},
		{OpenTofu, "1.3.0", "", "leads out of the tools folder"},
		{OpenTofu, "1.7.0", "", "not executable"},
		{OpenTofu, "1.6.0", "", "written by others"},
		{OpenTofu, "1.2.0", "", "not a regular file"},
		{OpenTofu, "1.5.0", "", "OpenTofu 1.5.0 is not in the tools folder (no opentofu/1.5.0/tofu); available: 1.4.0, 1.9.0, 1.10.6, 1.11.0-rc1"},
		{OpenTofu, "latest", "", "not a release version"},
		{OpenTofu, "../../../etc", "", "not a release version"},
		{Terraform, "1.5.7", "", "Terraform 1.5.7 is not in the tools folder (no terraform/1.5.7/terraform); available: none"},
		{"pulumi", "1.0.0", "", "unknown tool"},
	}
	for _, tt := range tests {
		got, err := d.Binary(tt.tool, tt.version)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Binary(%s, %s) = %q, %v; want an error with %q", tt.tool, tt.version, got, err, tt.err)
		case tt.err == "" && (err != nil || got != filepath.Join(real, tt.want)):
			t.Errorf("Binary(%s, %s) = %q, %v; want %s", tt.tool, tt.version, got, err, tt.want)
		}
	}
	if got := d.Versions(OpenTofu); !slices.Equal(got, []string{"1.4.0", "1.9.0", "1.10.6", "1.11.0-rc1"}) {
		t.Errorf("Versions = %v", got)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	if d, err := Open(""); err != nil || d.Path() != "" {
		t.Errorf(`Open("") = %+v, %v; want no folder`, d, err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{file: "not a folder", filepath.Join(file, "..", "missing"): "no such file"} {
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want %q", path, err, want)
		}
	}
	// A relative path is resolved against the working directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(rel)
	real, _ := filepath.EvalSymlinks(dir)
	if err != nil || d.Path() != real {
		t.Errorf("Open(%s) = %q, %v; want %s", rel, d.Path(), err, real)
	}
}

func TestCheckTool(t *testing.T) {
	t.Parallel()
	d, err := Open(folder(t, map[string]os.FileMode{"opentofu/1.10.6/tofu": 0o755}, nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir           Dir
		tool, version string
		err           string // "" when accepted
	}{
		{Dir{}, OpenTofu, "", ""},
		{Dir{}, "", "", ""},
		{d, OpenTofu, "", ""},
		{d, OpenTofu, "1.10.6", ""},
		{d, OpenTofu, " v1.10.6 ", ""},
		{Dir{}, OpenTofu, "1.10.6", "this server has no tools folder (hoist server --tools-dir)"},
		{Dir{}, Terraform, "", "Terraform needs a tool_version from the server's tools folder (terraform/<version>/terraform); available: none"},
		{d, Terraform, "", "available: none"},
		{d, Terraform, "1.5.7", "Terraform 1.5.7 is not in the tools folder (no terraform/1.5.7/terraform); available: none"},
		{d, OpenTofu, "1.9.0", "OpenTofu 1.9.0 is not in the tools folder (no opentofu/1.9.0/tofu); available: 1.10.6"},
	}
	for _, tt := range tests {
		err := tt.dir.CheckTool(tt.tool, tt.version)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CheckTool(%s, %q) in %q = %v, want %q", tt.tool, tt.version, tt.dir.Path(), err, tt.err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int // its sign
	}{
		{"1.9.0", "1.10.0", -1},
		{"1.10.6", "1.10.6", 0},
		{"2.0.0", "1.99.99", 1},
		{"1.10.0-rc1", "1.10.0", -1},
		{"1.10.0-beta1", "1.10.0-rc1", -1},
	} {
		got := compareVersions(tt.a, tt.b)
		if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
			t.Errorf("compareVersions(%s, %s) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}
