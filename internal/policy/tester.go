package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego unit test (a test_… rule).
type TestResult struct {
	Package string // data.hoist
	Name    string // test_ignores_docs
	File    string
	Pass    bool
	Error   string // set when the test errored rather than failed
	Elapsed time.Duration
}

// RunTests compiles files (name → Rego source; policies and their tests,
// any package) under the same rules as stored policies — no network, no
// files — and runs every test_… rule with OPA's tester, each bounded by the
// engine's timeout. Compile errors are returned with their lines.
func (e *Engine) RunTests(ctx context.Context, files map[string]string) ([]TestResult, error) {
	mods := make(map[string]*ast.Module, len(files))
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if len(files[name]) > MaxBodyBytes*4 {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxBodyBytes*4)
		}
		m, err := ast.ParseModuleWithOpts(name, files[name], ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: e.caps})
		if err != nil {
			return nil, fmt.Errorf("%s: %s", name, compileMessage(err))
		}
		mods[name] = m
	}
	c := ast.NewCompiler().WithCapabilities(e.caps).WithDefaultRegoVersion(ast.RegoV1).WithEnablePrintStatements(false)
	ch, err := tester.NewRunner().SetCompiler(c).SetModules(mods).SetTimeout(e.timeout).
		SetDefaultRegoVersion(ast.RegoV1).RaiseBuiltinErrors(true).RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compile: %s", compileMessage(err))
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Package: r.Package, Name: r.Name, File: r.Location.File, Pass: r.Pass(), Elapsed: r.Duration}
		if r.Error != nil {
			tr.Error = strings.TrimSpace(r.Error.Error())
		}
		out = append(out, tr)
	}
	return out, nil
}
