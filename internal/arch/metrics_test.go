package arch

import (
	"slices"
	"strings"
	"testing"
)

// TestPrometheusStaysInItsAdapter: the Prometheus client is imported by
// internal/metrics (the registry and the collectors) and by the
// composition root that wires it (the database pools' collectors), never
// by the domain: a domain package declares a small Metrics interface and
// internal/metrics implements it (docs/metrics.md).
func TestPrometheusStaysInItsAdapter(t *testing.T) {
	t.Parallel()
	allowed := []string{"internal/metrics", "internal/app"}
	for _, p := range packages(t) {
		path := strings.TrimPrefix(p.ImportPath, module)
		if slices.ContainsFunc(allowed, func(a string) bool { return under(path, a) }) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/prometheus/") {
				t.Errorf("%s imports %s; only %v may (domain packages declare a Metrics interface)", path, imp, allowed)
			}
		}
	}
}
