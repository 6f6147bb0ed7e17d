package arch

import (
	"slices"
	"strings"
	"testing"
)

// TestOneGitLabAdapter: production code reaches GitLab only through
// internal/vcs/gitlab (one client per integration, one error
// classification), and the adapter depends on no package above the
// neutral types of package vcs, so its arrows point inward.
func TestOneGitLabAdapter(t *testing.T) {
	t.Parallel()
	const (
		clientGo = "gitlab.com/gitlab-org/api/client-go"
		internal = "github.com/hoistdev/hoist/internal/"
		adapter  = internal + "vcs/gitlab"
	)
	allowed := []string{internal + "apperr", internal + "transfer", internal + "vcs", internal + "vcsagent"}
	for _, p := range packages(t) {
		if p.ImportPath != adapter && slices.Contains(p.Imports, clientGo) {
			t.Errorf("%s imports client-go; call GitLab through %s", p.ImportPath, adapter)
		}
		if p.ImportPath != adapter {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, internal) && !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; it may import only %v", adapter, imp, allowed)
			}
		}
	}
}
