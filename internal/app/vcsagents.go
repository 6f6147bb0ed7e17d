package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// newGitLab is the GitLab adapter of every part of the server (integration
// checks and webhooks, stack checks, changed files, source archives, the
// write-back), built once so each integration has one client and one set
// of connections: integrations whose API host is private://<pool> reach
// GitLab through the VCS agents of the pool (SPEC §2.5): this process's,
// else another server's through the relay.
// Every one gets the same caps and timeouts, whichever route an
// integration takes.
func newGitLab(cfg Config, agents *tunnel.Cluster) *gitlab.Client {
	opts := []gitlab.Option{gitlab.WithCaps(cfg.MaxGitLabResponseBytes, cfg.MaxArchiveBytes),
		gitlab.WithMaxConcurrent(cfg.GitLabMaxConcurrent)}
	if agents != nil {
		opts = append(opts, gitlab.WithAgents(agents.RoundTripper))
	}
	if cfg.GitLabDialControl != nil {
		opts = append(opts, gitlab.WithDialControl(cfg.GitLabDialControl))
	}
	return gitlab.New(cfg.AllowGitLabHosts, cfg.Logger, opts...)
}

// poolUsers lists the integrations whose hosts name a pool, for the pool
// service's placement check (package vcsagent cannot import package
// integration, which imports it). Integrations are few and pools are
// created or moved rarely, so a scan is fine.
func poolUsers(store *sqlstore.Store) vcsagent.UsersFunc {
	return func(ctx context.Context, pool string) ([]vcsagent.User, error) {
		var out []vcsagent.User
		cursor := ""
		for {
			items, next, err := store.ListIntegrations(ctx, integration.Filter{All: true}, cursor, 100)
			if err != nil {
				return nil, fmt.Errorf("list integrations: %w", err)
			}
			for _, it := range items {
				if slices.Contains(it.Pools(), pool) {
					out = append(out, vcsagent.User{Integration: it.ID, SpaceID: it.SpaceID})
				}
			}
			if cursor = next; cursor == "" {
				return out, nil
			}
		}
	}
}
