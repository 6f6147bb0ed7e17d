package module

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// MaxNoteBytes bounds the note of a bad version.
const MaxNoteBytes = 4 << 10

// The module registry protocol's rules for the parts of an address
// namespace/name/provider (OpenTofu refuses sources that break them).
var (
	registryName     = regexp.MustCompile(`^[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62}[0-9A-Za-z])?$`)
	registryProvider = regexp.MustCompile(`^[0-9a-z]{1,64}$`)
)

// Validate checks and normalises every user-supplied field of m: name,
// provider, repository, branch, project root, labels and description. The
// repository, branch and project root follow the stack rules. Errors are
// apperr Invalid naming the field as the API spells it. Space and
// integration need the tree and the store and are checked by the Service.
func Validate(m *Module) error {
	name, err := space.ValidateName("name", m.Name)
	if err != nil {
		return err
	}
	m.Name = name
	m.Provider = strings.TrimSpace(m.Provider)
	if !registryProvider.MatchString(m.Provider) {
		return apperr.InvalidField("provider", "must be 1–64 lower-case letters and digits as the registry protocol requires (e.g. aws, google, null), got %q", m.Provider)
	}
	if m.Repository, err = stack.ValidateRepository(m.Repository); err != nil {
		return err
	}
	if m.Branch, err = stack.ValidateBranch(m.Branch); err != nil {
		return err
	}
	if m.ProjectRoot, err = stack.ValidateProjectRoot(m.ProjectRoot); err != nil {
		return err
	}
	if m.Labels, err = space.NormalizeLabels("labels", m.Labels); err != nil {
		return err
	}
	if len(m.Description) > space.MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d KiB, got %d bytes", space.MaxDescriptionBytes>>10, len(m.Description))
	}
	return nil
}

// ValidRegistryName reports whether s may be a namespace or name of a
// registry address.
func ValidRegistryName(s string) bool { return registryName.MatchString(s) }

// ValidRegistryProvider reports whether s may be the provider part of a
// registry address.
func ValidRegistryProvider(s string) bool { return registryProvider.MatchString(s) }

// ParseVersion parses a strict semantic version (semver.org 2.0), with or
// without a leading v — 1.2.3, v1.2.3, 1.2.3-rc.1 — and returns it
// normalised without the v. Build metadata (+…) is refused: two versions
// differing only in it would be the same version to OpenTofu. The error
// says why the text is not a version.
func ParseVersion(s string) (string, error) {
	v := strings.TrimPrefix(s, "v")
	if v == "" {
		return "", fmt.Errorf("%q is not a semantic version (want 1.2.3 or v1.2.3)", s)
	}
	if strings.Contains(v, "+") {
		return "", fmt.Errorf("%q has build metadata (+…), which OpenTofu ignores when comparing versions; tag without it", s)
	}
	core, pre, hasPre := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%q is not a semantic version (want MAJOR.MINOR.PATCH such as 1.2.3 or v1.2.3)", s)
	}
	for _, p := range parts {
		if !numeric(p) {
			return "", fmt.Errorf("%q is not a semantic version: %q is not a number without leading zeros", s, p)
		}
	}
	if hasPre {
		for _, id := range strings.Split(pre, ".") {
			if id == "" || strings.Trim(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != "" {
				return "", fmt.Errorf("%q is not a semantic version: pre-release %q must be dot-separated letters, digits and '-'", s, pre)
			}
			if isDigits(id) && !numeric(id) {
				return "", fmt.Errorf("%q is not a semantic version: numeric pre-release part %q has a leading zero", s, id)
			}
		}
	}
	return v, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// numeric reports whether s is a semver number: digits without a leading
// zero, small enough to compare.
func numeric(s string) bool {
	if !isDigits(s) || (len(s) > 1 && s[0] == '0') {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 63)
	return err == nil
}

// CompareVersions orders two versions ParseVersion accepted by semver
// precedence: -1, 0 or +1.
func CompareVersions(a, b string) int {
	ac, ap, _ := strings.Cut(a, "-")
	bc, bp, _ := strings.Cut(b, "-")
	as, bs := strings.Split(ac, "."), strings.Split(bc, ".")
	for i := range 3 {
		if c := compareNum(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case ap == bp:
		return 0
	case ap == "": // a release ranks above its pre-releases
		return 1
	case bp == "":
		return -1
	}
	return comparePre(strings.Split(ap, "."), strings.Split(bp, "."))
}

func compareNum(a, b string) int {
	x, _ := strconv.ParseUint(a, 10, 64)
	y, _ := strconv.ParseUint(b, 10, 64)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func comparePre(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		an, bn := isDigits(a[i]), isDigits(b[i])
		var c int
		switch {
		case an && bn:
			c = compareNum(a[i], b[i])
		case an: // numeric identifiers rank below alphanumeric ones
			c = -1
		case bn:
			c = 1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return compareNum(strconv.Itoa(len(a)), strconv.Itoa(len(b)))
}
