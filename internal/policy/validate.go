package policy

import (
	"context"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

// MaxDescriptionBytes bounds a description, as for every other object.
const MaxDescriptionBytes = 64 << 10

// ParseType checks a policy type a caller asks for.
func ParseType(s string) (Type, error) {
	switch t := Type(strings.TrimSpace(s)); t {
	case Push, Plan, Approval:
		return t, nil
	case "":
		return "", apperr.InvalidField("type", "is required: push, plan or approval")
	default:
		return "", apperr.InvalidField("type", "must be push, plan or approval, got %q", s)
	}
}

// validate normalises p's name and labels and checks every field but the
// body, which the Engine checks.
func validate(p *Policy) error {
	name, err := space.ValidateName("name", p.Name)
	if err != nil {
		return err
	}
	p.Name = name
	labels, err := space.NormalizeLabels("labels", p.Labels)
	if err != nil {
		return err
	}
	for _, l := range labels {
		if rest, ok := strings.CutPrefix(l, AutoattachPrefix); ok && strings.TrimSpace(rest) == "" {
			return apperr.InvalidField("labels", "%q names no label: use autoattach:<label> or autoattach:*", l)
		}
	}
	p.Labels = labels
	if len(p.Description) > MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d bytes", MaxDescriptionBytes)
	}
	return nil
}

// checkBody compiles the body with the engine's rules.
func (s *Service) checkBody(ctx context.Context, body string) error {
	return s.cfg.Engine.Check(ctx, body)
}
