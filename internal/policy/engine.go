package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Limits of what a policy may be and do.
const (
	// MaxBodyBytes bounds a policy's Rego source: policies are rules, not
	// data; 64 KiB is far more than any of ours.
	MaxBodyBytes = 64 << 10
	// DefaultTimeout bounds one evaluation's time (issue 17).
	DefaultTimeout = time.Second
	// maxCached bounds the compiled queries kept; past it the cache starts
	// over (compiling again is milliseconds, and only for policies in use).
	maxCached = 1024
)

// PackagePath is the package every policy must declare.
const PackagePath = "hoist"

// disabledBuiltins are the built-in functions a policy may not call: they reach
// the network (http.send, net.lookup_ip_addr) or the server's environment
// (opa.runtime returns its environment variables). Leaving them out of the
// capabilities makes the compiler refuse a policy that calls them, so no
// such call can happen at evaluation.
var disabledBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// Limits bound one evaluation; zero fields take the defaults.
type Limits struct {
	Timeout time.Duration // DefaultTimeout
	Memory  int64         // bytes the heap may grow by; DefaultMemory
}

// Engine compiles policies once per source and evaluates them within
// Limits. It is safe for concurrent use.
type Engine struct {
	timeout time.Duration
	memory  int64
	caps    *ast.Capabilities

	mu    sync.Mutex
	cache map[[sha256.Size]byte]*rego.PreparedEvalQuery
}

// NewEngine returns an Engine whose evaluations stop at l's bounds.
func NewEngine(l Limits) *Engine {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		return slices.Contains(disabledBuiltins, b.Name)
	})
	return &Engine{timeout: l.Timeout, memory: l.Memory, caps: caps, cache: map[[sha256.Size]byte]*rego.PreparedEvalQuery{}}
}

// Timeout is the per-evaluation time bound.
func (e *Engine) Timeout() time.Duration { return e.timeout }

// Check compiles body and returns an apperr Invalid on field "body" with
// the compiler's messages and lines when it is not a valid policy.
func (e *Engine) Check(ctx context.Context, body string) error {
	_, err := e.prepare(ctx, body)
	return err
}

// prepare returns the compiled query of body, from the cache when it was
// compiled before. Errors are apperr Invalid on "body".
func (e *Engine) prepare(ctx context.Context, body string) (*rego.PreparedEvalQuery, error) {
	return e.prepareQuery(ctx, body, "data."+PackagePath)
}

// prepareQuery is prepare for any query over the policy.
func (e *Engine) prepareQuery(ctx context.Context, body, query string) (*rego.PreparedEvalQuery, error) {
	if len(body) > MaxBodyBytes {
		return nil, apperr.InvalidField("body", "is %d bytes, more than the %d allowed", len(body), MaxBodyBytes)
	}
	if strings.TrimSpace(body) == "" {
		return nil, apperr.InvalidField("body", "is required: the policy's Rego source")
	}
	key := sha256.Sum256([]byte(query + "\x00" + body))
	e.mu.Lock()
	pq, ok := e.cache[key]
	e.mu.Unlock()
	if ok {
		return pq, nil
	}
	mod, err := ast.ParseModuleWithOpts("policy.rego", body, ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: e.caps})
	if err != nil {
		return nil, apperr.InvalidField("body", "%s", compileMessage(err))
	}
	if got := strings.TrimPrefix(mod.Package.Path.String(), "data."); got != PackagePath {
		return nil, apperr.InvalidField("body", "line %d: the package must be %q, not %q", mod.Package.Location.Row, PackagePath, got)
	}
	c := ast.NewCompiler().WithCapabilities(e.caps).WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(map[string]*ast.Module{"policy.rego": mod}); c.Failed() {
		return nil, apperr.InvalidField("body", "%s", compileMessage(c.Errors))
	}
	prepared, err := rego.New(rego.Query(query), rego.Compiler(c), rego.Capabilities(e.caps),
		rego.StrictBuiltinErrors(true)).PrepareForEval(ctx)
	if err != nil {
		return nil, apperr.InvalidField("body", "%s", compileMessage(err))
	}
	e.mu.Lock()
	if len(e.cache) >= maxCached {
		clear(e.cache)
	}
	e.cache[key] = &prepared
	e.mu.Unlock()
	return &prepared, nil
}

// compileMessage renders OPA's errors one per line as "line N: message",
// and says why the disabledBuiltins functions are missing.
func compileMessage(err error) string {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return err.Error()
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		msg := e.Message
		for _, f := range disabledBuiltins {
			if strings.Contains(msg, "undefined function "+f) {
				msg = fmt.Sprintf("%s is not available: policies cannot reach the network, files or the server's environment (%s are disabled)",
					f, strings.Join(disabledBuiltins, ", "))
			}
		}
		if e.Location != nil {
			msg = fmt.Sprintf("line %d: %s", e.Location.Row, msg)
		}
		lines = append(lines, msg)
	}
	return strings.Join(lines, "\n")
}

// ErrTimeout is the cause of an evaluation stopped by the timeout.
var ErrTimeout = errors.New("policy evaluation timed out")

// Eval evaluates body (package hoist) against input, a value made of
// JSON's types (map[string]any, []any, string, json.Number or float64,
// bool, nil), and returns the package's document: every rule by name.
// Errors: apperr Invalid (body does not compile), ErrTimeout, ErrMemory,
// or the evaluation's error; callers fail closed on any of them.
func (e *Engine) Eval(ctx context.Context, body string, input any) (map[string]any, error) {
	return e.eval(ctx, body, rego.EvalInput(input))
}

func (e *Engine) eval(ctx context.Context, body string, input rego.EvalOption) (map[string]any, error) {
	pq, err := e.prepare(ctx, body)
	if err != nil {
		return nil, err
	}
	rs, err := e.run(ctx, pq, input)
	if err != nil || len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return map[string]any{}, err
	}
	doc, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return map[string]any{}, nil
	}
	return doc, nil
}

// EvalRules evaluates only the named rules of body (package hoist) and
// returns the value of each that is defined. Hoist's own decisions use
// it rather than the whole document, whose helper rules (a comprehension
// over every resource change) would be converted back to Go for nothing.
// Errors as for Eval.
func (e *Engine) EvalRules(ctx context.Context, body string, input ast.Value, rules ...string) (map[string]any, error) {
	parts := make([]string, len(rules))
	for i, r := range rules {
		// A comprehension is never undefined: an undefined rule gives [].
		parts[i] = fmt.Sprintf("%s := [x | x := data.%s.%s]", r, PackagePath, r)
	}
	pq, err := e.prepareQuery(ctx, body, strings.Join(parts, "; "))
	if err != nil {
		return nil, err
	}
	rs, err := e.run(ctx, pq, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if len(rs) == 0 {
		return out, nil
	}
	for _, r := range rules {
		if vs, ok := rs[0].Bindings[r].([]any); ok && len(vs) == 1 {
			out[r] = vs[0]
		}
	}
	return out, nil
}

// run evaluates a prepared query under the timeout and the memory bound.
// The guard is OPA's cancellation for the query: the timeout and the
// caller's context stop it through context.AfterFunc (no goroutine per
// evaluation, unlike OPA's own context watcher), the heap check through
// its Cancelled.
func (e *Engine) run(ctx context.Context, pq *rego.PreparedEvalQuery, input rego.EvalOption) (rego.ResultSet, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	g := newGuard(e.memory)
	defer g.watch(ctx)()
	rs, err := pq.Eval(ctx, input, rego.EvalExternalCancel(g))
	if err != nil {
		if merr := g.err(); merr != nil {
			return nil, merr
		}
		if parent.Err() != nil {
			return nil, fmt.Errorf("evaluate: %w", parent.Err())
		}
		if topdown.IsCancel(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w after %s", ErrTimeout, e.timeout)
		}
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return rs, nil
}

// EvalValue is Eval with an input already converted to OPA's value, so
// that a part shared by many evaluations (an event's changed files) is
// converted once.
func (e *Engine) EvalValue(ctx context.Context, body string, input ast.Value) (map[string]any, error) {
	return e.eval(ctx, body, rego.EvalParsedInput(input))
}

// errorText is the message of an evaluation error for users: the
// client-safe message of an apperr, else the error.
func errorText(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}
