package feedback

import (
	"context"
	"fmt"
)

// ModuleStatus is the commit status of a module version on its tagged
// commit (SPEC §4.5): name hoist/module/<module-id>, or hoist/modules when
// the integration aggregates statuses.
type ModuleStatus struct {
	IntegrationID string
	Project       string // path with namespace
	SHA           string // the tagged commit
	Tag           string // sent as the status's ref
	ModuleID      string
	// Ord orders statuses of one module on one commit (e.g. the id of the
	// publication attempt): a lower Ord never overwrites a higher one.
	// Leave it "" to order by state alone.
	Ord         string
	State       string // pending, running, success, failed, canceled
	Description string
	TargetURL   string
}

// OnModuleStatus records the commit status of a module version, in the
// transaction of ctx when it carries one (call Notify after committing
// it), else in a transaction of its own.
func (s *Service) OnModuleStatus(ctx context.Context, m ModuleStatus) error {
	if statusRank(m.State) == 0 {
		return fmt.Errorf("module status %q: not a commit status state", m.State)
	}
	now := s.now()
	w := Write{IntegrationID: m.IntegrationID, Kind: KindStatus, Ord: m.Ord, Rank: statusRank(m.State),
		NextAttemptAt: now, CreatedAt: now,
		Payload: Payload{Project: m.Project, SHA: m.SHA, Ref: m.Tag, Name: StatusPrefix + "module/" + m.ModuleID,
			State: m.State, Description: m.Description, TargetURL: m.TargetURL}}
	agg, err := s.cfg.Store.AggregateStatuses(ctx, m.IntegrationID)
	if err != nil {
		return fmt.Errorf("module %s status: %w", m.ModuleID, err)
	}
	if agg {
		members, err := s.cfg.Store.RecordCommitRun(ctx, CommitRun{IntegrationID: m.IntegrationID,
			Project: m.Project, SHA: m.SHA, Name: AggregateModules, Member: m.ModuleID, Ord: m.Ord, State: m.State})
		if err != nil {
			return err
		}
		w.Payload.Name = AggregateModules
		w.Payload.State, w.Payload.Description = Aggregate(members)
		w.Payload.TargetURL = s.cfg.PublicURL + "/modules"
		w.Ord, w.Rank = "", 0
	}
	w.Key = StatusKey(m.IntegrationID, m.Project, m.SHA, w.Payload.Name)
	if err := s.cfg.Store.EnqueueWrites(ctx, []Write{w}); err != nil {
		return err
	}
	s.wakeSoon()
	return nil
}
