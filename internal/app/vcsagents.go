package app

import (
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// newChecker is the GitLab client factory of every part of the server
// (integration checks, stack checks, changed files, source archives, the
// write-back): integrations whose API host is private://<pool> reach GitLab
// through the VCS agents connected to this process (SPEC §2.5).
func newChecker(cfg Config) *gitlab.Checker {
	opts := []gitlab.CheckerOption{}
	if cfg.agents != nil {
		opts = append(opts, gitlab.WithAgents(cfg.agents.RoundTripper))
	}
	if cfg.GitLabDialControl != nil {
		opts = append(opts, gitlab.WithDialControl(cfg.GitLabDialControl))
	}
	return gitlab.NewChecker(cfg.AllowGitLabHosts, cfg.Logger, opts...)
}
