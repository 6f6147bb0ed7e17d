package trigger

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Affected reports whether a change to files affects a stack rooted at
// projectRoot with the given additional globs (SPEC §3): some file lies
// under the root, or matches a glob.
//
// Paths and the root are compared with leading and trailing "/" trimmed, by
// whole path segments: root "infra" covers "infra/main.tf" (and a file
// named "infra") but not "infrastructure/x". An empty root covers every
// file. Globs are doublestar patterns relative to the repository root; see
// NormalizeGlob. An invalid glob matches nothing.
func Affected(projectRoot string, globs []string, files []string) bool {
	root := NormalizeRoot(projectRoot)
	for _, f := range files {
		if f = normalizePath(f); f != "" && under(root, f) {
			return true
		}
	}
	for _, g := range globs {
		pattern := NormalizeGlob(g)
		if !doublestar.ValidatePattern(pattern) {
			continue
		}
		for _, f := range files {
			if f = normalizePath(f); f != "" && globMatch(pattern, f) {
				return true
			}
		}
	}
	return false
}

// NormalizeRoot trims a project root of leading and trailing "/"; "" and
// "/" both mean the whole repository.
func NormalizeRoot(root string) string { return strings.Trim(root, "/") }

// NormalizeGlob makes an additional project glob relative to the
// repository root, as users write them either way ("/modules/**"). A glob
// ending in "/" names a folder, so it matches everything under it.
func NormalizeGlob(glob string) string {
	g := strings.TrimLeft(glob, "/")
	if g != "" && strings.HasSuffix(g, "/") {
		g += "**"
	}
	return g
}

// ValidateGlob reports whether glob is a pattern Affected can use; stack
// create and update call it so a typo is refused rather than silently
// matching nothing.
func ValidateGlob(glob string) error {
	g := NormalizeGlob(glob)
	if g == "" {
		return errors.New("glob is empty")
	}
	if !doublestar.ValidatePattern(g) {
		return fmt.Errorf("glob %q is not a valid doublestar pattern", glob)
	}
	return nil
}

func normalizePath(p string) string { return strings.Trim(p, "/") }

// under reports whether path lies in root by whole path segments. Both are
// normalized.
func under(root, path string) bool {
	if root == "" {
		return true
	}
	return strings.HasPrefix(path, root) && (len(path) == len(root) || path[len(root)] == '/')
}

func globMatch(pattern, path string) bool {
	ok, err := doublestar.Match(pattern, path)
	return err == nil && ok
}

// literalPrefix is the leading folder of a glob that holds no pattern
// syntax: only paths equal to it or under it can match, which lets the
// Matcher test a glob against few files. It is "" for globs such as
// "**/*.tf" that can match anywhere.
func literalPrefix(pattern string) string {
	end := 0
	for i := 0; i <= len(pattern); i++ {
		if i < len(pattern) && pattern[i] != '/' {
			continue
		}
		if strings.ContainsAny(pattern[end:i], `*?[]{}\`) {
			break
		}
		if i == len(pattern) {
			return pattern // no pattern syntax at all: a plain path
		}
		end = i + 1
	}
	return strings.TrimSuffix(pattern[:end], "/")
}

// maxAlternatives bounds how many patterns one glob's {a,b} groups expand
// into; past it the glob is kept whole.
const maxAlternatives = 64

// expandAlternatives rewrites a glob's {a,b} groups into the plain patterns
// they stand for ("env/{dev,prod}/x" → "env/dev/x", "env/prod/x"), which
// match the same paths. Expanded, each pattern has a deeper literal prefix
// for the Matcher's index, and doublestar needs no string building per
// match. Globs with classes or escapes, or too many alternatives, are kept
// whole: correctness first, the index only prunes.
func expandAlternatives(pattern string) []string {
	if !strings.Contains(pattern, "{") || strings.ContainsAny(pattern, `[]\`) {
		return []string{pattern}
	}
	out := []string{}
	pending := []string{pattern}
	for len(pending) > 0 {
		p := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		open, closing, alts := firstGroup(p)
		if open < 0 {
			out = append(out, p)
		} else {
			for _, a := range alts {
				pending = append(pending, p[:open]+a+p[closing+1:])
			}
		}
		if len(out)+len(pending) > maxAlternatives {
			return []string{pattern}
		}
	}
	return out
}

// firstGroup finds the first top-level {…} of p and splits its body at
// top-level commas; open is -1 when there is none (or it is unbalanced,
// which ValidateGlob refuses anyway).
func firstGroup(p string) (open, closing int, alts []string) {
	open = strings.IndexByte(p, '{')
	if open < 0 {
		return -1, -1, nil
	}
	depth, start := 0, open+1
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return open, i, append(alts, p[start:i])
			}
		case ',':
			if depth == 1 {
				alts = append(alts, p[start:i])
				start = i + 1
			}
		}
	}
	return -1, -1, nil
}
