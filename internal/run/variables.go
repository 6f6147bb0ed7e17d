package run

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
)

// Variable is a stack environment variable. A secret one keeps its value
// only sealed; the API never returns it and logs mask it.
type Variable struct {
	StackID   string
	Name      string
	Secret    bool
	Value     string // plain variables only
	Sealed    []byte // secret variables only
	UpdatedAt time.Time
}

// VariableStore keeps stack variables.
type VariableStore interface {
	PutStackVariable(ctx context.Context, v Variable) error
	// DeleteStackVariable is NotFound when the variable does not exist.
	DeleteStackVariable(ctx context.Context, stackID, name string) error
	// ListStackVariables returns a stack's variables by name.
	ListStackVariables(ctx context.Context, stackID string) ([]Variable, error)
}

// Limits of variables.
const (
	maxVarName  = 128
	maxVarValue = 64 << 10
)

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedVar says which names Hoist sets itself for every run.
func reservedVar(name string) bool {
	switch strings.ToUpper(name) {
	case "PATH", "HOME", "TMPDIR", "TF_CLI_CONFIG_FILE", "TF_IN_AUTOMATION", "TF_INPUT", "CHECKPOINT_DISABLE",
		"TF_PLUGIN_CACHE_DIR", "TF_DATA_DIR", "TF_WORKSPACE":
		return true
	}
	return strings.HasPrefix(strings.ToUpper(name), "TF_HTTP_")
}

func varAAD(stackID, name string) []byte { return secret.AAD("stack_variables", stackID, name) }

// VariableInput sets one variable.
type VariableInput struct {
	Name   string
	Value  string
	Secret bool
}

// SetVariable creates or replaces a stack variable (admins of the stack's
// space, as for every stack setting).
func (s *Service) SetVariable(ctx context.Context, principal, stackID string, in VariableInput) (Variable, error) {
	if _, _, err := s.stackFor(ctx, principal, stackID, space.Admin); err != nil {
		return Variable{}, err
	}
	switch {
	case len(in.Name) == 0 || len(in.Name) > maxVarName || !varName.MatchString(in.Name):
		return Variable{}, apperr.InvalidField("name", "must be an environment variable name (letters, digits, _; not starting with a digit; at most %d)", maxVarName)
	case reservedVar(in.Name):
		return Variable{}, apperr.InvalidField("name", "%s is set by Hoist for every run", in.Name)
	case len(in.Value) > maxVarValue:
		return Variable{}, apperr.InvalidField("value", "is longer than %d bytes", maxVarValue)
	case strings.ContainsRune(in.Value, 0):
		return Variable{}, apperr.InvalidField("value", "must not contain NUL bytes")
	}
	v := Variable{StackID: stackID, Name: in.Name, Secret: in.Secret, UpdatedAt: s.now()}
	if in.Secret {
		v.Sealed = s.cfg.Box.Seal([]byte(in.Value), varAAD(stackID, in.Name))
	} else {
		v.Value = in.Value
	}
	if err := s.cfg.Vars.PutStackVariable(ctx, v); err != nil {
		return Variable{}, err
	}
	v.Sealed = nil
	return v, nil
}

// DeleteVariable removes a stack variable (admins).
func (s *Service) DeleteVariable(ctx context.Context, principal, stackID, name string) error {
	if _, _, err := s.stackFor(ctx, principal, stackID, space.Admin); err != nil {
		return err
	}
	return s.cfg.Vars.DeleteStackVariable(ctx, stackID, name)
}

// Variables lists a stack's variables; secret values are left out.
func (s *Service) Variables(ctx context.Context, principal, stackID string) ([]Variable, error) {
	if _, _, err := s.stackFor(ctx, principal, stackID, space.Read); err != nil {
		return nil, err
	}
	vs, err := s.cfg.Vars.ListStackVariables(ctx, stackID)
	for i := range vs {
		vs[i].Sealed = nil
	}
	return vs, err
}

// EnvVar is a variable as a worker receives it: opened.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
}

// runEnv opens a stack's variables for a run.
func (s *Service) runEnv(ctx context.Context, stackID string) ([]EnvVar, error) {
	vs, err := s.cfg.Vars.ListStackVariables(ctx, stackID)
	if err != nil {
		return nil, err
	}
	out := make([]EnvVar, 0, len(vs))
	for _, v := range vs {
		ev := EnvVar{Name: v.Name, Value: v.Value, Secret: v.Secret}
		if v.Secret {
			b, err := s.cfg.Box.Open(v.Sealed, varAAD(v.StackID, v.Name))
			if err != nil {
				return nil, err
			}
			ev.Value = string(b)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Mask is the text a secret value is replaced with in logs.
const Mask = "*****"

// Masker replaces secret values in log text.
type Masker struct{ r *strings.Replacer }

// NewMasker masks every non-empty value, longest first (so a secret that
// contains another is masked whole).
func NewMasker(secrets []string) Masker {
	var pairs []string
	sorted := append([]string(nil), secrets...)
	sortByLenDesc(sorted)
	for _, v := range sorted {
		if v != "" {
			pairs = append(pairs, v, Mask)
		}
	}
	if len(pairs) == 0 {
		return Masker{}
	}
	return Masker{r: strings.NewReplacer(pairs...)}
}

// Mask returns text with the secrets replaced.
func (m Masker) Mask(text string) string {
	if m.r == nil {
		return text
	}
	return m.r.Replace(text)
}

func sortByLenDesc(ss []string) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && len(ss[j]) > len(ss[j-1]); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}
