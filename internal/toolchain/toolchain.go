// Package toolchain finds the infrastructure-as-code binaries of an
// operator's tools folder (hoist server and hoist worker --tools-dir): one
// folder per tool and version, opentofu/<version>/tofu and
// terraform/<version>/terraform. Stacks that pin a tool_version run exactly
// that binary; the others run the default OpenTofu (--tofu-path or PATH),
// which this package does not handle. Nothing is ever downloaded.
//
// A binary must resolve, links followed, to a regular executable file
// inside the tools folder that no other user may write: a link may point
// to another place of the folder (opentofu/1.10.6/tofu → ../../bin/tofu)
// but never out of it, so that what runs is what the operator put there.
package toolchain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The tools a tools folder may hold, as stacks name them.
const (
	OpenTofu  = "opentofu"
	Terraform = "terraform"
)

// binaries maps a tool to its program's name inside a version folder.
var binaries = map[string]string{OpenTofu: "tofu", Terraform: "terraform"}

// Title is how logs and messages name a tool ("OpenTofu").
func Title(tool string) string {
	switch tool {
	case OpenTofu:
		return "OpenTofu"
	case Terraform:
		return "Terraform"
	}
	return tool
}

// versionRe is a release version as a folder names it: 1.10.6 or
// 1.11.0-rc1, without a leading v.
var versionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// NormalizeVersion drops surrounding space and a leading v (v1.10.6 is
// 1.10.6).
func NormalizeVersion(v string) string { return strings.TrimPrefix(strings.TrimSpace(v), "v") }

// MaxVersionLen bounds a version.
const MaxVersionLen = 64

// ValidVersion reports whether v (normalised) is a release version.
func ValidVersion(v string) bool { return len(v) <= MaxVersionLen && versionRe.MatchString(v) }

// Dir is a tools folder; the zero Dir is "no tools folder".
type Dir struct {
	root string // absolute, links resolved; "" for none
}

// Open resolves path to an absolute, real folder; "" is no tools folder.
func Open(path string) (Dir, error) {
	if path == "" {
		return Dir{}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Dir{}, fmt.Errorf("tools dir %s: %w", path, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return Dir{}, fmt.Errorf("tools dir %s: %w", abs, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return Dir{}, fmt.Errorf("tools dir %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return Dir{}, fmt.Errorf("tools dir %s is not a folder", abs)
	}
	return Dir{root: real}, nil
}

// Path is the folder's real absolute path ("" for none).
func (d Dir) Path() string { return d.root }

// Versions lists the versions of tool the folder holds a usable binary
// of, oldest first.
func (d Dir) Versions(tool string) []string {
	if d.root == "" || binaries[tool] == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(d.root, tool))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !ValidVersion(e.Name()) {
			continue
		}
		if _, err := d.resolve(tool, e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, compareVersions)
	return out
}

// Binary returns the real path of tool's binary at version, after the
// checks of the package doc. The error about a version the folder does
// not hold lists the versions it does hold.
func (d Dir) Binary(tool, version string) (string, error) {
	if binaries[tool] == "" {
		return "", fmt.Errorf("unknown tool %q: want %s or %s", tool, OpenTofu, Terraform)
	}
	version = NormalizeVersion(version)
	if !ValidVersion(version) {
		return "", fmt.Errorf("%q is not a release version such as 1.10.6", version)
	}
	if d.root == "" {
		return "", fmt.Errorf("%s %s: no tools folder is configured (--tools-dir); available: none", Title(tool), version)
	}
	real, err := d.resolve(tool, version)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s %s is not in the tools folder (no %s); %s", Title(tool), version, d.rel(tool, version), d.available(tool))
	}
	return real, err
}

func (d Dir) rel(tool, version string) string { return filepath.Join(tool, version, binaries[tool]) }

// resolve is Binary without the listing; a missing binary is
// os.ErrNotExist.
func (d Dir) resolve(tool, version string) (string, error) {
	rel := d.rel(tool, version)
	real, err := filepath.EvalSymlinks(filepath.Join(d.root, rel))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("tools folder: %s: %w", rel, err)
	}
	if err := d.checkBinary(rel, real); err != nil {
		return "", err
	}
	return real, nil
}

// checkBinary refuses a binary that leaves the folder, is no regular
// executable file, or that others may change.
func (d Dir) checkBinary(rel, real string) error {
	// Messages name the binary relative to the folder: they reach API
	// clients, who have no business with the server's paths.
	if r, err := filepath.Rel(d.root, real); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return fmt.Errorf("tools folder: %s leads out of the tools folder: refused; copy the binary into the folder", rel)
	}
	fi, err := os.Lstat(real)
	switch {
	case err != nil:
		return fmt.Errorf("tools folder: %s: %w", rel, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("tools folder: %s is not a regular file", rel)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("tools folder: %s is not executable", rel)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("tools folder: %s can be written by others (mode %04o): refused", rel, fi.Mode().Perm())
	}
	return nil
}

// available says which versions of tool the folder holds, for messages.
func (d Dir) available(tool string) string {
	vs := d.Versions(tool)
	if len(vs) == 0 {
		return "available: none"
	}
	return "available: " + strings.Join(vs, ", ")
}

// CheckTool says whether a stack may use tool at version with this
// folder: the default OpenTofu (no version) always, a pinned version only
// when the folder holds it. Messages list what the folder holds.
func (d Dir) CheckTool(tool, version string) error {
	version = NormalizeVersion(version)
	if version == "" {
		if tool == OpenTofu || tool == "" {
			return nil
		}
		return fmt.Errorf("%s needs a tool_version from the server's tools folder (%s/<version>/%s); %s",
			Title(tool), tool, binaries[tool], d.available(tool))
	}
	if d.root == "" {
		return fmt.Errorf("%s %s: this server has no tools folder (hoist server --tools-dir), so stacks run the default OpenTofu "+
			"and cannot pin a version; available: none", Title(tool), version)
	}
	_, err := d.Binary(tool, version)
	return err
}

// compareVersions orders release versions: by their numbers, and a
// pre-release before its release.
func compareVersions(a, b string) int {
	ca, pa, _ := strings.Cut(a, "-")
	cb, pb, _ := strings.Cut(b, "-")
	na, nb := strings.Split(ca, "."), strings.Split(cb, ".")
	for i := range min(len(na), len(nb)) {
		x, _ := strconv.Atoi(na[i])
		y, _ := strconv.Atoi(nb[i])
		if x != y {
			return x - y
		}
	}
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	return strings.Compare(pa, pb)
}
