package app

import (
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// newChecker is the GitLab client factory of every part of the server
// (integration checks, stack checks, changed files, source archives, the
// write-back): integrations whose API host is private://<pool> reach GitLab
// through the VCS agents connected to this process (SPEC §2.5). Every one
// gets the same caps and timeouts, whichever route an integration takes.
func newChecker(cfg Config) *gitlab.Checker {
	opts := []gitlab.CheckerOption{gitlab.WithCaps(cfg.MaxGitLabResponseBytes, cfg.MaxArchiveBytes)}
	if cfg.agents != nil {
		opts = append(opts, gitlab.WithAgents(cfg.agents.RoundTripper))
	}
	if cfg.GitLabDialControl != nil {
		opts = append(opts, gitlab.WithDialControl(cfg.GitLabDialControl))
	}
	return gitlab.NewChecker(cfg.AllowGitLabHosts, cfg.Logger, opts...)
}
