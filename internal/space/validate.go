package space

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/slug"
)

// Limits on user-supplied fields of spaces (labels limits are shared with
// integrations, which call NormalizeLabels).
const (
	MaxNameLen          = 64       // characters
	MaxDescriptionBytes = 64 << 10 // markdown
	MaxLabels           = 64
	MaxLabelLen         = 64 // characters
)

// Validate checks and normalises the user-supplied fields of s: a name of
// 1–64 characters whose slug is not empty, a description of at most 64 KiB,
// labels as a set. It does not look at ids or parents, which need the tree.
func Validate(s *Space) error {
	name, err := ValidateName("name", s.Name)
	if err != nil {
		return err
	}
	s.Name = name
	if len(s.Description) > MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d KiB, got %d bytes", MaxDescriptionBytes>>10, len(s.Description))
	}
	labels, err := NormalizeLabels("labels", s.Labels)
	if err != nil {
		return err
	}
	s.Labels = labels
	return nil
}

// ValidateName trims a display name and checks it has 1–64 characters, no
// control characters, and at least one letter or digit (so its slug, the id,
// is not empty).
func ValidateName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", apperr.InvalidField(field, "is required")
	case n > MaxNameLen:
		return "", apperr.InvalidField(field, "must be at most %d characters, got %d", MaxNameLen, n)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", apperr.InvalidField(field, "must not contain control characters")
	case slug.Make(name) == "":
		return "", apperr.InvalidField(field, "must contain at least one letter or digit")
	}
	return name, nil
}

// NormalizeLabels treats labels as a set: each is trimmed, must then be 1–64
// characters without control characters, duplicates are dropped, and the
// result is sorted (so equal sets compare equal). nil in gives an empty,
// non-nil slice.
func NormalizeLabels(field string, labels []string) ([]string, error) {
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		l = strings.TrimSpace(l)
		switch n := utf8.RuneCountInString(l); {
		case n == 0:
			return nil, apperr.InvalidField(field, "labels must not be empty")
		case n > MaxLabelLen:
			return nil, apperr.InvalidField(field, "label %.20q… is longer than %d characters", l, MaxLabelLen)
		case !utf8.ValidString(l) || strings.ContainsFunc(l, unicode.IsControl):
			return nil, apperr.InvalidField(field, "label %q contains control characters", l)
		}
		out = append(out, l)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxLabels {
		return nil, apperr.InvalidField(field, "at most %d labels, got %d", MaxLabels, len(out))
	}
	return out, nil
}
