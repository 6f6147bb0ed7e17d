package stack

import (
	"context"
	"errors"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Binder binds a repository-bound resource (a stack, a module) to its
// integration and repository: which integration it may use, and the GitLab
// checks of SPEC §2.2. Stacks and modules follow the same rules.
type Binder struct {
	Integrations IntegrationStore
	Checker      RepoChecker
	Box          *secret.Box // opens integration tokens
}

// Integration loads the integration that a resource of the given kind
// ("stack", "module") in spaceID asks for ("" is the default one) and
// refuses it unless the caller may see it and it is usable from spaceID.
func (b Binder) Integration(ctx context.Context, kind, id, spaceID string, access space.Access, tree space.Tree) (integration.Integration, error) {
	if id == "" {
		return b.defaultIntegration(ctx)
	}
	it, err := b.Integrations.GetIntegration(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !integration.CanList(it, access)) {
		return integration.Integration{}, apperr.InvalidField("integration", "no integration %q", id)
	}
	if err != nil {
		return integration.Integration{}, fmt.Errorf("load integration %s: %w", id, err)
	}
	if !IntegrationUsable(tree, spaceID, it) {
		return integration.Integration{}, apperr.InvalidField("integration",
			"integration %q belongs to space %q, which %ss in space %q cannot use: a %s may use the default integration, "+
				"or one in its own space or in an ancestor space reached through spaces that all inherit", id, it.SpaceID, kind, spaceID, kind)
	}
	return it, nil
}

func (b Binder) defaultIntegration(ctx context.Context) (integration.Integration, error) {
	items, _, err := b.Integrations.ListIntegrations(ctx, integration.Filter{Provider: integration.GitLab, Spaces: []string{}}, "", 100)
	if err != nil {
		return integration.Integration{}, fmt.Errorf("list integrations: %w", err)
	}
	for _, it := range items {
		if it.IsDefault {
			return it, nil
		}
	}
	return integration.Integration{}, apperr.InvalidField("integration", "is required: there is no default GitLab integration")
}

// Endpoint is how it reaches GitLab, with its token opened.
func (b Binder) Endpoint(it integration.Integration) (vcs.Endpoint, error) {
	token, err := b.Box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return vcs.Endpoint{}, fmt.Errorf("open token of %s: %w", it.ID, err)
	}
	return it.Endpoint(string(token)), nil
}

// CheckRepository runs the GitLab checks of SPEC §2.2 on repository and
// branch with it's token. An integration reached through an agent pool
// with no agent connected cannot be checked: the answer is then a zero Repo
// and a warning saying so.
func (b Binder) CheckRepository(ctx context.Context, it integration.Integration, repository, branch string) (vcs.Repo, []string, error) {
	ep, err := b.Endpoint(it)
	if err != nil {
		return vcs.Repo{}, nil, err
	}
	repo, err := b.Checker.CheckRepository(ctx, ep,
		vcs.RepoQuery{Repository: repository, Branch: branch, UserID: it.TokenUserID, Username: it.TokenUser})
	if it.Private() && errors.Is(err, vcsagent.ErrNoAgent) {
		return vcs.Repo{}, []string{"repository not checked: " + ep.APIHost + " is reached through a VCS agent pool, and no agent of it is connected"}, nil
	}
	if err != nil {
		return vcs.Repo{}, nil, integrationFault(it.ID, err)
	}
	return repo, nil, nil
}
