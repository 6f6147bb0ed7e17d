package space

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Platform", "Platform", true},
		{"  Team A  ", "Team A", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true}, // characters, not bytes
		{"", "", false},
		{"   ", "", false},
		{strings.Repeat("x", 65), "", false},
		{"a\nb", "", false},
		{"---", "", false},
	}
	for _, tt := range tests {
		got, err := ValidateName("name", tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ValidateName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok {
			if !apperr.Is(err, apperr.Invalid) || fieldOf(err) != "name" {
				t.Errorf("ValidateName(%q) = %q, %v; want invalid naming field name", tt.in, got, err)
			}
		}
	}
}

func fieldOf(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func TestNormalizeLabels(t *testing.T) {
	t.Parallel()
	got, err := NormalizeLabels("labels", []string{" prod", "team:a", "prod ", "eu"})
	if err != nil || !slices.Equal(got, []string{"eu", "prod", "team:a"}) {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := NormalizeLabels("labels", nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("nil labels: %q, %v", got, err)
	}
	many := make([]string, MaxLabels+1)
	for i := range many {
		many[i] = strings.Repeat("l", i+1)[:min(i+1, 64)] + string(rune('a'+i%26))
	}
	for name, in := range map[string][]string{
		"empty":   {"ok", " "},
		"long":    {strings.Repeat("x", 65)},
		"control": {"a\tb"},
		"many":    many,
	} {
		if _, err := NormalizeLabels("labels", in); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	s := Space{Name: " Team ", Labels: []string{"b", "a", "a"}, Description: "# hi"}
	if err := Validate(&s); err != nil || s.Name != "Team" || !slices.Equal(s.Labels, []string{"a", "b"}) {
		t.Fatalf("Validate: %+v, %v", s, err)
	}
	s.Description = strings.Repeat("x", MaxDescriptionBytes+1)
	if err := Validate(&s); !apperr.Is(err, apperr.Invalid) || fieldOf(err) != "description" {
		t.Fatalf("big description: %v", err)
	}
}
