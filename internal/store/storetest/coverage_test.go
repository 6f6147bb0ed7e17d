package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// notSuiteMethods are the exported methods of *sqlstore.Store the suite
// deliberately leaves to others; each needs a reason.
var notSuiteMethods = map[string]string{
	"Close":   "lifecycle of the handle, exercised by every test's cleanup and the adapters' own tests",
	"DB":      "the raw handle, for adapters' tests that read rows as the database stores them",
	"Dialect": "the adapter's name, checked by the adapters' own tests",
	"Wakes":   "differs by design (a no-op on SQLite); PostgreSQL's notifier has its own tests (store/postgres wakes_test.go)",
}

// TestEveryStoreMethodIsExercised fails for an exported method of
// *sqlstore.Store that no suite file calls: a method added without a
// conformance test would be checked on one database only, through its
// consumers, or not at all.
func TestEveryStoreMethodIsExercised(t *testing.T) {
	t.Parallel()
	called := suiteSelectors(t)
	typ := reflect.TypeFor[*sqlstore.Store]()
	var missing []string
	covered := 0
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		switch {
		case notSuiteMethods[name] != "":
		case called[name]:
			covered++
		default:
			missing = append(missing, name)
		}
	}
	for name := range notSuiteMethods {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("notSuiteMethods lists %s, which *sqlstore.Store no longer has", name)
		}
	}
	t.Logf("the suite calls %d of the %d store methods it should (%d more are exempt)",
		covered, typ.NumMethod()-len(notSuiteMethods), len(notSuiteMethods))
	if len(missing) > 0 {
		t.Errorf("no storetest file calls these *sqlstore.Store methods (add them to a group, or to notSuiteMethods with a reason):\n  %s",
			strings.Join(missing, "\n  "))
	}
}

// suiteSelectors returns the names of every method called (x.Name(…)) in
// the suite's non-test files: what the adapters run.
func suiteSelectors(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	if len(files) == 0 {
		wd, _ := os.Getwd()
		t.Fatalf("no suite files in %s", wd)
	}
	fset := token.NewFileSet()
	names := map[string]bool{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			// Calls only: a struct field of the same name
			// (Integration.WebhookSecretSealed) is not a call of the method.
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					names[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return names
}
