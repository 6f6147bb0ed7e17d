package feedback

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// DisablePRCommentsLabel on a stack turns its merge request notes off.
const DisablePRCommentsLabel = "feature:disable_pr_comments"

// StatusPrefix starts the name of every commit status Hoist writes
// (hoist/<stack-id>, the aggregates, hoist/module/<module-id>).
const StatusPrefix = "hoist/"

// OwnStatus reports whether a commit status name is one Hoist writes.
func OwnStatus(name string) bool { return strings.HasPrefix(name, StatusPrefix) }

// Aggregated status names (SPEC §5), used instead of hoist/<stack-id> when
// the integration's aggregate_statuses setting is on.
const (
	AggregateTracked  = "hoist/tracked"
	AggregateProposed = "hoist/proposed"
	AggregateModules  = "hoist/modules"
)

// Stacks finds the stack of a run (its integration, repository, labels).
type Stacks interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
}

// Merges finds the merge request that applied a stack before its merge
// and whose merge made sha the stack's tracked commit (sqlstore.Store);
// nil when none did.
type Merges interface {
	MRMergeAt(ctx context.Context, stackID, sha string) (*stack.MRMerge, error)
}

// Automerge tells whether a finishing apply run completes its merge
// request's applies (sqlstore.Store, in the run's transaction).
type Automerge interface {
	MRAutomergeReady(ctx context.Context, stackID, runID string) (bool, stack.MRLock, error)
}

// ResourcesFunc lists the resources a run's plan changes, read in the
// transaction of ctx (the one recording the run's transition, which may
// have written them).
type ResourcesFunc func(ctx context.Context, runID string) ([]run.Resource, error)

// Config wires a Service.
type Config struct {
	Store     Store
	Stacks    Stacks
	Resources ResourcesFunc // optional: without it notes show counts only
	// Merges is optional: without it the tracked branch's run after a
	// merge request applied before its merge is not reported on it.
	Merges Merges
	// Automerge is optional: without it no merge request is merged.
	Automerge Automerge
	PublicURL string // Hoist's public base URL, for links to runs
	Clock     func() time.Time
	Logger    *slog.Logger
	// Notify wakes the dispatcher (Dispatcher.Notify); optional.
	Notify func()
}

// Service turns run transitions into outbox writes.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, now: func() time.Time { return clock().UTC() }, log: cfg.Logger}
}

// RunURL is the run's page in Hoist's web UI.
func (s *Service) RunURL(runID string) string { return s.cfg.PublicURL + "/runs/" + runID }

// OnRunEvents records the GitLab writes of run events, in order
// (run.Outbox). The run service and the delivery processing call it inside
// the transaction that records the events, so both commit together.
func (s *Service) OnRunEvents(ctx context.Context, evs []run.Event) error {
	// The transitions' writes are enqueued together: one statement per
	// table for a delivery that creates a run and cancels another.
	var ws []Write
	look := &lookups{}
	flush := func() error {
		if len(ws) == 0 {
			return nil
		}
		err := s.enqueue(ctx, ws)
		ws = nil
		return err
	}
	for _, ev := range evs {
		switch {
		case ev.Attached:
			// Enqueued after the writes of the events before it, in order.
			if err := flush(); err != nil {
				return err
			}
			if err := s.OnMergeRequestAttached(ctx, ev.Run); err != nil {
				return err
			}
		case ev.Reentered:
			// A handed-back run leased again: GitLab shows it running
			// still, and would refuse running once more.
		default:
			tw, err := s.transitionWrites(ctx, look, ev.Run, ev.From, ev.To, ev.Note)
			if err != nil {
				return err
			}
			ws = append(ws, tw...)
		}
	}
	return flush()
}

// OnRunTransition records, in the transaction of ctx, the GitLab writes a
// run's move from `from` to `to` calls for: its commit status, its merge
// request note, its deployment. from is "" for a new run. note says why (a
// failure's reason).
func (s *Service) OnRunTransition(ctx context.Context, r run.Run, from, to run.State, note string) error {
	ws, err := s.transitionWrites(ctx, &lookups{}, r, from, to, note)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ws)
}

// enqueue records ws in the transaction of ctx and wakes the dispatcher
// soon after.
func (s *Service) enqueue(ctx context.Context, ws []Write) error {
	if len(ws) == 0 {
		return nil
	}
	if err := s.cfg.Store.EnqueueWrites(ctx, ws); err != nil {
		return err
	}
	s.wakeSoon()
	return nil
}

// lookups keeps what the transitions of one call read, for the next ones:
// a push's new run and the run it cancels are of one stack, and every
// status write asks whether its integration aggregates.
type lookups struct {
	stacks memo[stack.Stack] // by stack ID
	agg    memo[bool]        // by integration ID
}

// memo keeps what load returned for a key; a failed load is not kept.
type memo[V any] map[string]V

func (m *memo[V]) get(key string, load func() (V, error)) (V, error) {
	if v, ok := (*m)[key]; ok {
		return v, nil
	}
	v, err := load()
	if err == nil {
		if *m == nil {
			*m = memo[V]{}
		}
		(*m)[key] = v
	}
	return v, err
}

// transitionWrites are the writes of OnRunTransition; look keeps the
// reads of the call's earlier transitions.
func (s *Service) transitionWrites(ctx context.Context, look *lookups, r run.Run, from, to run.State, note string) ([]Write, error) {
	// Tasks are commands, and drift runs look at the infrastructure, not
	// at the commit: neither is a verdict on a commit (a drift run's
	// outcome is the stack's drift mark, docs/drift.md). A move within one
	// step (PREPARING → PLANNING) changes nothing GitLab shows but,
	// perhaps, the deployment.
	statusChanged := statusMoves(from, to)
	if r.Type == run.Task || r.IsDrift() || (!statusChanged && deploymentStatus(r, from, to) == "") {
		return nil, nil
	}
	st, err := look.stacks.get(r.StackID, func() (stack.Stack, error) { return s.cfg.Stacks.GetStack(ctx, r.StackID) })
	if err != nil {
		return nil, fmt.Errorf("feedback for run %s: %w", r.ID, err)
	}
	if st.Detached() || r.CommitSHA == "" {
		return nil, nil
	}
	now := s.now()
	base := Write{IntegrationID: st.IntegrationID, RunID: r.ID, Ord: r.ID, NextAttemptAt: now, CreatedAt: now}
	var ws []Write
	if statusChanged {
		sw, err := s.statusWrite(ctx, look, base, st, r, to, note)
		if err != nil {
			return nil, err
		}
		ws = append(ws, sw)
		// Proposed runs of a merge request, and the tracked runs its
		// `/hoist apply` made, report in the stack's note on it.
		if r.Type != run.Task && r.MergeRequestIID != 0 && !slices.Contains(st.Labels, DisablePRCommentsLabel) {
			ws = append(ws, s.noteWrite(ctx, base, st, r, to, note))
		}
	}
	if mw, ok, err := s.afterMergeWrite(ctx, base, st, r, from, to); err != nil {
		return nil, err
	} else if ok {
		ws = append(ws, mw)
	}
	if mw, ok, err := s.automergeWrite(ctx, base, st, r, to); err != nil {
		return nil, err
	} else if ok {
		ws = append(ws, mw)
	}
	if d := deploymentStatus(r, from, to); d != "" {
		w := base
		w.Kind, w.Key, w.Rank = KindDeployment, DeploymentKey(st.IntegrationID, st.Repository, r.ID), statusRank(d)
		w.Payload = Payload{Project: st.Repository, SHA: r.CommitSHA, Ref: r.Branch, Environment: st.ID, State: d}
		ws = append(ws, w)
	}
	return ws, nil
}

// wakeSoon wakes the dispatcher shortly after the caller's transaction has
// (most likely) committed, so a status reaches GitLab in milliseconds rather
// than at the next poll. Callers that know when they committed call
// Notify too.
func (s *Service) wakeSoon() {
	if s.cfg.Notify == nil {
		return
	}
	for _, d := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond} {
		time.AfterFunc(d, s.cfg.Notify)
	}
}

// Notify wakes the dispatcher: call it after committing a transaction in
// which OnRunEvents enqueued writes.
func (s *Service) Notify() {
	if s.cfg.Notify != nil {
		s.cfg.Notify()
	}
}

// statusWrite is the commit status write of a run entering to: the stack's
// own status, or the aggregated one of its run type.
func (s *Service) statusWrite(ctx context.Context, look *lookups, base Write, st stack.Stack, r run.Run, to run.State, note string) (Write, error) {
	state := statusState(to)
	w := base
	w.Kind = KindStatus
	w.Payload = Payload{Project: st.Repository, SHA: r.CommitSHA, Ref: r.Branch, Name: StatusPrefix + st.ID, State: state,
		Description: description(r, to, note, st.Autodeploy), TargetURL: s.RunURL(r.ID)}
	w.Rank = steps[to].rank
	agg, err := look.agg.get(st.IntegrationID, func() (bool, error) { return s.cfg.Store.AggregateStatuses(ctx, st.IntegrationID) })
	if err != nil {
		return Write{}, fmt.Errorf("feedback for run %s: %w", r.ID, err)
	}
	if agg {
		name := AggregateProposed
		if r.Type == run.Tracked {
			name = AggregateTracked
		}
		members, err := s.cfg.Store.RecordCommitRun(ctx, CommitRun{IntegrationID: st.IntegrationID,
			Project: st.Repository, SHA: r.CommitSHA, Name: name, Member: st.ID, Ord: r.ID, State: memberState(to)})
		if err != nil {
			return Write{}, err
		}
		w.Payload.Name = name
		w.Payload.State, w.Payload.Description = Aggregate(members)
		w.Payload.TargetURL = s.cfg.PublicURL + "/runs?commit=" + r.CommitSHA
		// The aggregate is recomputed from every member in this
		// transaction, so the newest write is always the right one.
		w.Ord, w.Rank = "", 0
	}
	w.Key = StatusKey(st.IntegrationID, st.Repository, r.CommitSHA, w.Payload.Name)
	return w, nil
}

// noteWrite is the merge request note write of a proposed run.
func (s *Service) noteWrite(ctx context.Context, base Write, st stack.Stack, r run.Run, to run.State, note string) Write {
	var res *Resources
	if to == run.Finished {
		res = s.planResources(ctx, r)
	}
	return stackNote(base, st, r, r.MergeRequestIID, to, noteBody(r, to, note, s.RunURL(r.ID), res))
}

// planResources lists the resources a run's plan changes, by action, for
// a note; nil when they cannot be read (the note still shows the counts;
// the list is a nicety).
func (s *Service) planResources(ctx context.Context, r run.Run) *Resources {
	if s.cfg.Resources == nil {
		return nil
	}
	got, err := s.cfg.Resources(ctx, r.ID)
	if err != nil {
		s.log.WarnContext(ctx, "plan resources for merge request note", "run_id", r.ID, "error", err)
		return nil
	}
	return byAction(got)
}

// stackNote is the write of st's note on merge request !iid, at r's move
// to `to`, with body.
func stackNote(base Write, st stack.Stack, r run.Run, iid int64, to run.State, body string) Write {
	w := base
	w.Kind, w.Key, w.Rank = KindNote, NoteKey(st.IntegrationID, st.Repository, iid, st.ID), steps[to].rank
	w.Payload = Payload{Project: st.Repository, SHA: r.CommitSHA, Ref: r.Branch, MergeRequestIID: iid,
		StackID: st.ID, State: statusState(to), Body: body}
	return w
}

// afterMergeWrite is the merge request note write of the tracked branch's
// run on a commit that a merge request, applied before its merge, made the
// stack's tracked commit: when its plan is known, the note says whether it
// found changes the merge request had not applied.
func (s *Service) afterMergeWrite(ctx context.Context, base Write, st stack.Stack, r run.Run, from, to run.State) (Write, bool, error) {
	if s.cfg.Merges == nil || r.Type != run.Tracked || r.MergeRequestIID != 0 || from != run.Planning ||
		to == run.Initializing || slices.Contains(st.Labels, DisablePRCommentsLabel) {
		return Write{}, false, nil
	}
	m, err := s.cfg.Merges.MRMergeAt(ctx, st.ID, r.CommitSHA)
	if err != nil || m == nil {
		return Write{}, false, err
	}
	var res *Resources
	if hasChanges(r.Delta) {
		res = s.planResources(ctx, r)
	}
	return stackNote(base, st, r, m.MergeRequestIID, to, afterMergeBody(r, to, st.Branch, s.RunURL(r.ID), res, m.ByHoist)), true, nil
}

// automergeWrite is the merge of a merge request whose last stack's apply
// run (r) just finished, when every stack it changes applied from it at
// the same head and has mr_automerge on.
func (s *Service) automergeWrite(ctx context.Context, base Write, st stack.Stack, r run.Run, to run.State) (Write, bool, error) {
	if s.cfg.Automerge == nil || to != run.Finished || r.Type != run.Tracked || r.MergeRequestIID == 0 || !st.MRAutomerge {
		return Write{}, false, nil
	}
	ready, lock, err := s.cfg.Automerge.MRAutomergeReady(ctx, st.ID, r.ID)
	if err != nil || !ready {
		return Write{}, false, err
	}
	w := base
	w.Kind, w.Key, w.Rank = KindMerge, MergeKey(st.IntegrationID, st.Repository, lock.MergeRequestIID), 0
	w.Payload = Payload{Project: st.Repository, SHA: lock.HeadSHA, MergeRequestIID: lock.MergeRequestIID}
	return w, true, nil
}

// OnMergeRequestAttached records, in the transaction of ctx, the merge
// request note of a proposed run that was linked to a merge request after
// it was created (the merge request was opened after the push): the note
// shows the run's current state.
func (s *Service) OnMergeRequestAttached(ctx context.Context, r run.Run) error {
	if r.Type != run.Proposed || r.MergeRequestIID == 0 || r.CommitSHA == "" {
		return nil
	}
	st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
	if err != nil {
		return fmt.Errorf("feedback for run %s: %w", r.ID, err)
	}
	if st.Detached() || slices.Contains(st.Labels, DisablePRCommentsLabel) {
		return nil
	}
	now := s.now()
	base := Write{IntegrationID: st.IntegrationID, RunID: r.ID, Ord: r.ID, NextAttemptAt: now, CreatedAt: now}
	if err := s.cfg.Store.EnqueueWrites(ctx, []Write{s.noteWrite(ctx, base, st, r, r.State, "")}); err != nil {
		return err
	}
	s.wakeSoon()
	return nil
}

// deploymentStatus is the deployment status a tracked run's move calls
// for, or "": running when a plan with changes waits for confirmation (or
// goes straight to APPLYING with autodeploy), and the end of the apply.
func deploymentStatus(r run.Run, from, to run.State) string {
	if r.Type != run.Tracked || !hasChanges(r.Delta) {
		return ""
	}
	switch {
	case to == run.PendingReview, to == run.Unconfirmed && from != run.PendingReview, to == run.Applying && from == run.Planning:
		return "running"
	case from != run.PendingReview && from != run.Unconfirmed && from != run.Confirmed && from != run.PreparingApply && from != run.Applying:
		return "" // no deployment was started
	case to == run.Finished:
		return "success"
	case to == run.Failed:
		return "failed"
	case to == run.Discarded, to == run.Stopped, to == run.Canceled:
		return "canceled"
	}
	return ""
}
