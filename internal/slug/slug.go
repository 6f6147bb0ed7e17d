// Package slug turns display names into the immutable ids used in URLs
// (`Acme GitLab` → `acme-gitlab`).
package slug

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Make returns the slug of name: lower-case ASCII letters and digits, runs of
// anything else collapsed to one dash, no leading or trailing dash. Accents
// are dropped (`Zürich` → `zurich`). It may return "" for names without any
// letter or digit; callers validate that.
func Make(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // combining accent of the previous letter
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	return b.String()
}
