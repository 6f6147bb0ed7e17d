package arch

import (
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hoistdev/hoist/"

// Where packages stand, by path below the module. Domain packages hold the
// product's rules and reach the outside only through interfaces they
// declare; the composition root (internal/app) plugs stores, transports
// and adapters into them.
var (
	domain = []string{"apperr", "audit", "feedback", "identity", "ingest", "integration", "jobqueue", "launchpad",
		"module", "mrcommand", "notify", "policy", "run", "secret", "slug", "space", "stack", "state", "trigger", "ulid", "vcs", "vcsagent", "webhook"}
	// outer packages: stores, transports (HTTP API, web UI, API client),
	// adapters (GitLab, the simulator, Prometheus), the worker, the
	// composition root.
	outer = []string{"internal/store", "internal/httpapi", "internal/web", "internal/apiclient", "internal/vcs/gitlab",
		"internal/gitlabsim", "internal/metrics", "internal/worker", "internal/app", "internal/demo", "cmd"}
)

// under reports whether path (below the module) is pkg or inside it.
func under(path, pkg string) bool { return path == pkg || strings.HasPrefix(path, pkg+"/") }

func isDomain(path string) bool {
	return slices.ContainsFunc(domain, func(d string) bool {
		// vcs/gitlab is an adapter, not part of vcs's neutral types.
		return under(path, "internal/"+d) && !under(path, "internal/vcs/gitlab")
	})
}

// TestDomainImportsNoOuterPackage: no domain package imports a store, a
// transport, an adapter, the worker or the composition root.
func TestDomainImportsNoOuterPackage(t *testing.T) {
	t.Parallel()
	seen := 0
	for _, p := range packages(t) {
		path := strings.TrimPrefix(p.ImportPath, module)
		if !isDomain(path) {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			dep := strings.TrimPrefix(imp, module)
			if dep == imp {
				continue // not ours
			}
			if slices.ContainsFunc(outer, func(o string) bool { return under(dep, o) }) {
				t.Errorf("domain package %s imports %s", path, dep)
			}
		}
	}
	if seen < len(domain) {
		t.Errorf("found %d domain packages, want at least %d: has one moved?", seen, len(domain))
	}
}

// TestSimulatorStaysOutOfTheServer: the GitLab simulator is imported by
// the demo and the CLI (`hoist gitlab-sim`, `hoist server --demo`) and by
// tests (and their harness, internal/apptest), never by the server's
// packages.
func TestSimulatorStaysOutOfTheServer(t *testing.T) {
	t.Parallel()
	allowed := []string{"internal/gitlabsim", "internal/demo", "cmd/hoist", "internal/apptest"}
	for _, p := range packages(t) {
		path := strings.TrimPrefix(p.ImportPath, module)
		if slices.ContainsFunc(allowed, func(a string) bool { return under(path, a) }) {
			continue
		}
		for _, imp := range p.Imports {
			if under(strings.TrimPrefix(imp, module), "internal/gitlabsim") {
				t.Errorf("%s imports the simulator (%s); only %v and tests may", path, imp, allowed)
			}
		}
	}
}

// harnesses are the packages that exist for tests: they start servers,
// open throwaway databases and fail tests.
var harnesses = []string{"internal/apptest", "internal/api/apitest", "internal/store/dbtest"}

// TestHarnessesStayInTests: only tests, and the harnesses themselves,
// import a test harness; the program never does. internal/apptest itself
// imports nothing of the server (its subpackage inproc does) but the API's
// contract and the simulator, so that the tests of every other package,
// internal ones included, can use it without an import cycle.
func TestHarnessesStayInTests(t *testing.T) {
	t.Parallel()
	isHarness := func(path string) bool {
		return slices.ContainsFunc(harnesses, func(h string) bool { return under(path, h) })
	}
	apptestMay := []string{"internal/api", "internal/api/apitest", "internal/apperr", "internal/gitlabsim"}
	for _, p := range packages(t) {
		path := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			dep := strings.TrimPrefix(imp, module)
			if dep == imp {
				continue // not ours
			}
			if isHarness(dep) && !isHarness(path) {
				t.Errorf("%s imports the test harness %s; only tests may", path, dep)
			}
			if path == "internal/apptest" && !slices.Contains(apptestMay, dep) {
				t.Errorf("internal/apptest imports %s; it may import only %v", dep, apptestMay)
			}
		}
	}
}
