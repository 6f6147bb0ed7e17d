package integration

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// PoolStore looks up VCS agent pools (the store implements it).
type PoolStore interface {
	GetAgentPool(ctx context.Context, id string) (vcsagent.Pool, error)
}

// checkPools refuses hosts naming an agent pool that the integration may
// not route through (issue 13): the pool must exist, be visible to the
// caller and be in the integration's space or an ancestor of it
// (vcsagent.CanUse). A pool's agents carry the integration's GitLab token,
// so a space admin must not be able to send it through another space's
// agents, nor name a pool that someone may create later elsewhere. Pools the
// caller cannot see are answered as missing, so names do not leak.
func (s *Service) checkPools(ctx context.Context, it Integration, access space.Access, tree space.Tree) error {
	for _, f := range []struct{ field, host string }{{"api_host", it.APIHost}, {"user_facing_host", it.UserFacingHost}} {
		field := f.field
		id, ok := vcsagent.PoolOf(f.host)
		if !ok {
			continue
		}
		p, err := s.pool(ctx, id)
		if apperr.Is(err, apperr.NotFound) || (err == nil && !vcsagent.CanList(p, access)) {
			return apperr.InvalidField(field, "no VCS agent pool %q: create it first (hoist vcs-agent-pool create --space %s) or name one you can see", id, it.SpaceID)
		}
		if err != nil {
			return err
		}
		if !vcsagent.CanUse(tree, p, it.SpaceID, access) {
			return apperr.InvalidField(field, "VCS agent pool %q belongs to space %q, and integrations in space %q cannot use it: "+
				"a pool serves the integrations of its own space and of the spaces below it", id, p.SpaceID, it.SpaceID)
		}
	}
	return nil
}

// pool loads one pool; without a PoolStore every pool is missing, so a
// private host is refused rather than left unchecked.
func (s *Service) pool(ctx context.Context, id string) (vcsagent.Pool, error) {
	if s.cfg.Pools == nil {
		return vcsagent.Pool{}, apperr.Errorf(apperr.NotFound, "no VCS agent pool %q", id)
	}
	p, err := s.cfg.Pools.GetAgentPool(ctx, id)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return vcsagent.Pool{}, fmt.Errorf("load VCS agent pool %s: %w", id, err)
	}
	return p, err
}

// poolWarnings flags an integration whose pools it could no longer be
// pointed at (the pool was deleted, or moved, or the integration's space
// was moved in the tree since): calls keep going through the pool as
// before — nothing breaks silently — but the admins see why, and any
// change to the hosts or the space must pick a usable pool
// (docs/vcs-agents.md).
func (s *Service) poolWarnings(ctx context.Context, it Integration, tree space.Tree) []string {
	var out []string
	for _, id := range it.Pools() {
		p, err := s.pool(ctx, id)
		switch {
		case apperr.Is(err, apperr.NotFound):
			out = append(out, fmt.Sprintf("VCS agent pool %q does not exist: GitLab calls fail until it is created in space %q or above", id, it.SpaceID))
		case err != nil:
			s.log.WarnContext(ctx, "check the VCS agent pool of an integration", "integration_id", it.ID, "pool_id", id, "error", err)
		case !vcsagent.UsableBy(tree, p, it.SpaceID):
			out = append(out, fmt.Sprintf("VCS agent pool %q belongs to space %q, which integrations in space %q may no longer use: "+
				"calls still go through it, but move the pool or this integration", id, p.SpaceID, it.SpaceID))
		}
	}
	return out
}
