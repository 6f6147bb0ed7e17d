package ingest

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs"
)

// changedFiles is the event's change per SPEC §4.1, asking GitLab only
// when the payload cannot tell and the policy could use the answer: tags,
// deleted branches, comments and merge request events without new code
// need no files.
func (p *Processor) changedFiles(ctx context.Context, integrationID string, ev *vcs.Event) ([]string, error) {
	switch ev.Kind {
	case vcs.KindPush:
		if ev.Deleted {
			return nil, nil
		}
		if ev.ChangedFilesComplete {
			return ev.ChangedFilesFromPayload(), nil
		}
		ep, err := p.endpoint(ctx, integrationID)
		if err != nil {
			return nil, err
		}
		return p.pushFiles(ctx, ep, ev)
	case vcs.KindMergeRequest:
		mr := ev.MergeRequest
		if mr == nil || !(mr.Action == vcs.ActionOpen || mr.Action == vcs.ActionReopen || mr.NewCommits()) {
			return nil, nil
		}
		ep, err := p.endpoint(ctx, integrationID)
		if err != nil {
			return nil, err
		}
		return p.cfg.Files.MergeRequestFiles(ctx, ep, ev.ProjectID, mr.IID)
	}
	return nil, nil
}

// pushFiles asks GitLab for a push's change: before...after, or for a new
// branch its difference from the default branch (what a merge would bring).
func (p *Processor) pushFiles(ctx context.Context, ep vcs.Endpoint, ev *vcs.Event) ([]string, error) {
	if !ev.Created {
		return p.cfg.Files.CompareFiles(ctx, ep, ev.ProjectID, ev.Before, ev.After)
	}
	base := ev.DefaultBranch
	if base == "" {
		var err error
		if base, err = p.cfg.Files.DefaultBranch(ctx, ep, ev.ProjectID); err != nil {
			return nil, err
		}
	}
	if base == ev.Branch {
		// The default branch itself was created (the first push to the
		// project): there is nothing to compare with, and the payload's
		// commits are all there is to go by.
		return ev.ChangedFilesFromPayload(), nil
	}
	return p.cfg.Files.CompareFiles(ctx, ep, ev.ProjectID, base, ev.After)
}

// endpoint is how to reach the integration's GitLab.
func (p *Processor) endpoint(ctx context.Context, integrationID string) (vcs.Endpoint, error) {
	it, err := p.cfg.Store.GetIntegration(ctx, integrationID)
	if err != nil {
		return vcs.Endpoint{}, fmt.Errorf("integration %s: %w", integrationID, err)
	}
	return p.endpointOf(it)
}

// endpointOf is how to reach an integration already read.
func (p *Processor) endpointOf(it integration.Integration) (vcs.Endpoint, error) {
	token, err := p.cfg.Box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return vcs.Endpoint{}, fmt.Errorf("open token of %s: %w", it.ID, err)
	}
	return it.Endpoint(string(token)), nil
}
