package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Run states a newer event may still cancel (SPEC §4.2): a deleted branch
// cancels runs no worker has started; a newer commit also those still on
// their way to a plan.
var (
	queuedStates   = []run.State{run.Queued, run.Ready}
	unplannedState = []run.State{run.Queued, run.Ready, run.Preparing, run.Initializing, run.Planning}
)

// process does processing n of one delivery end to end and returns the
// status it recorded. Errors: *permanentError (the delivery is marked
// failed already), apperr.Conflict (plan again), any other error is
// transient.
func (p *Processor) process(ctx context.Context, a attempt, d webhook.Delivery, log *slog.Logger) (webhook.Status, error) {
	o := webhook.Outcome{ID: d.ID, Processing: a.n, Project: d.Project, Ref: d.Ref}
	ev, err := p.cfg.Parse(d.Event, d.Body)
	if err != nil {
		return webhook.Failed, p.fail(ctx, a, o, err)
	}
	o.Project, o.Ref = ev.Repository, refOf(&ev)
	if ev.Kind == vcs.KindNote && p.cfg.Commands != nil {
		return p.command(ctx, a, d, o, &ev, log)
	}
	if ev.Kind == vcs.KindIgnored {
		return p.ignore(ctx, a, o, ev.Name+" events do not trigger runs")
	}
	stacks, err := p.cfg.Store.ListStacksByRepository(ctx, d.IntegrationID, ev.ProjectID, ev.Repository)
	if err != nil {
		return "", fmt.Errorf("stacks of %s: %w", ev.Repository, err)
	}
	var in planInput
	if len(stacks) > 0 {
		if in, err = p.prepare(ctx, d, &ev, stacks); err != nil {
			if isPermanent(err) {
				return webhook.Failed, p.fail(ctx, a, o, err)
			}
			return "", err
		}
	}
	now := p.now()
	var modules []webhook.ModuleResult
	if ev.Kind == vcs.KindTag && p.cfg.Tags != nil {
		if modules, err = p.cfg.Tags(ctx, d.IntegrationID, ev); err != nil {
			return "", fmt.Errorf("module versions: %w", err)
		}
	}
	// The plan is made in the transaction that writes it, from the runs
	// it reads there: nothing written meanwhile is missed, and on SQLite
	// the write connection's pages are fresh (a reader re-reads its pages
	// after every commit).
	var planErr error
	build := func(ctx context.Context) (webhook.Outcome, run.Changes, bool, error) {
		var plan trigger.Plan
		planErr = nil
		if len(stacks) > 0 {
			plan, planErr = p.plan(ctx, d, &ev, in)
			if planErr != nil && !errors.Is(planErr, trigger.ErrRunCap) {
				return o, run.Changes{}, false, planErr
			}
		}
		changes, result := buildChanges(d, &ev, plan, now)
		result.Modules = modules
		o := o
		o.Status, o.Result, o.At = webhook.Processed, result, now
		if planErr != nil { // the run cap: a visible failure, with every stack's line
			o.Status, o.Error = webhook.Failed, apperr.MessageOf(planErr)
		}
		// The run cap fails the delivery for good: its job is left to the
		// queue, which keeps it failed.
		return o, changes, planErr == nil, nil
	}
	var released []string
	release := func(ctx context.Context) error {
		var err error
		released, err = p.releaseLocks(ctx, d.IntegrationID, &ev, stacks)
		return err
	}
	applied, err := p.recordWith(ctx, a, build, release)
	if err != nil {
		if planErr != nil && isPermanent(planErr) && !errors.Is(planErr, trigger.ErrRunCap) {
			return webhook.Failed, p.fail(ctx, a, o, planErr)
		}
		return "", err
	}
	if len(released) > 0 {
		log.Info("merge request locks released", "project", ev.Repository, "mr", ev.MergeRequest.IID, "stacks", released)
	}
	log.Info("delivery processed", "project", ev.Repository, "ref", o.Ref, "stacks", len(stacks),
		"runs_created", len(applied.Created), "runs_canceled", len(applied.Canceled))
	for _, consume := range p.cfg.Consumers {
		if err := consume(ctx, d.IntegrationID, &ev); err != nil {
			log.Error("event consumer", "error", err)
		}
	}
	if planErr != nil {
		return webhook.Failed, &permanentError{err: planErr}
	}
	return webhook.Processed, nil
}

// releaseLocks releases, in the delivery's transaction, the stacks a merge
// request that was merged or closed held locked since its /hoist apply
// (issue 18).
func (p *Processor) releaseLocks(ctx context.Context, integrationID string, ev *vcs.Event, stacks []stack.Stack) ([]string, error) {
	mr := ev.MergeRequest
	if p.cfg.Commands == nil || ev.Kind != vcs.KindMergeRequest || mr == nil || len(stacks) == 0 ||
		mr.Action != vcs.ActionMerge && mr.Action != vcs.ActionClose {
		return nil, nil
	}
	ids := stack.IDs(stacks)
	released, err := p.cfg.Commands.Locks.ReleaseMRLocks(ctx, ids, mr.IID)
	if err != nil || mr.Action != vcs.ActionMerge || len(released) == 0 {
		return released, err
	}
	// The tracked branch's run on the merged commit tells whether what the
	// merge request applied is what was merged (feedback's note), and the
	// note says when Hoist merged it itself (automerge): the merge event's
	// user is the integration's.
	it, err := p.cfg.Store.GetIntegration(ctx, integrationID)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", integrationID, err)
	}
	byHoist := it.TokenUserID != 0 && ev.Sender.ID == it.TokenUserID
	merges := make([]stack.MRMerge, 0, len(released))
	for _, id := range released {
		merges = append(merges, stack.MRMerge{StackID: id, MergeRequestIID: mr.IID, MergeRequestURL: mr.URL,
			HeadSHA: mr.HeadSHA, MergeCommitSHA: mr.MergeCommitSHA, MergedAt: p.now(), ByHoist: byHoist})
	}
	return released, p.cfg.Commands.Locks.RecordMRMerges(ctx, merges)
}

// attempt is one run of a delivery's job, and what the transaction that
// records its outcome writes besides.
type attempt struct {
	job     jobqueue.Job
	n       int       // the processing number
	started time.Time // when the attempt began (the processing's started_at)
	// claim counts the attempt in the outcome's transaction: a first
	// attempt writes nothing before it is done.
	claim bool
}

// record writes an attempt's outcome, the run changes it implies and their
// GitLab writes (the outbox) in one transaction: the runs and their
// writes commit together or not at all. The outcome also counts a first
// attempt (Outcome.Started: it was not claimed before) and, when final (the delivery processed or
// ignored), completes the job: a processed delivery's job cannot run again,
// and a worker that lost the job's lease commits nothing
// (jobqueue.ErrLeaseLost).
func (p *Processor) record(ctx context.Context, a attempt, o webhook.Outcome, c run.Changes, final bool,
	extra ...func(ctx context.Context) error) (run.Applied, error) {
	return p.recordWith(ctx, a, func(context.Context) (webhook.Outcome, run.Changes, bool, error) { return o, c, final, nil }, extra...)
}

// recordWith is record whose outcome, changes and finality build works
// out inside the transaction, reading only, before anything is written;
// an error from build rolls it all back. build may run twice
// (Store.InGroupTx).
func (p *Processor) recordWith(ctx context.Context, a attempt,
	build func(ctx context.Context) (webhook.Outcome, run.Changes, bool, error),
	extra ...func(ctx context.Context) error) (run.Applied, error) {
	var applied run.Applied
	// Group-committed with other deliveries' outcomes: on SQLite one
	// commit then serves many deliveries (docs/design/transactions.md).
	err := p.cfg.Store.InGroupTx(ctx, func(ctx context.Context) error {
		applied = run.Applied{}
		o, c, final, err := build(ctx) // reads only
		if err != nil {
			return err
		}
		if final {
			// First written, so that on PostgreSQL the job's row is
			// locked before anything else.
			if err := a.job.Complete(ctx); err != nil {
				return err
			}
		}
		// Then what else the outcome commits with (a command note's claim
		// and acknowledgement): a claim that fails rolls it all back.
		for _, write := range extra {
			if err := write(ctx); err != nil {
				return err
			}
		}
		if a.claim {
			o.Started = a.started // counted with the outcome, not claimed first
		}
		if applied, err = p.cfg.Store.FinishDelivery(ctx, o, c); err != nil || p.cfg.Outbox == nil {
			return err
		}
		return p.cfg.Outbox.OnRunEvents(ctx, applied.Events)
	})
	if err == nil {
		run.ObservePhases(p.cfg.Metrics, applied.Events) // committed: the transitions happened
	}
	return applied, err
}

// isPermanent tells errors retrying cannot fix: GitLab does not know the
// commit or project, or the compare was cut short.
func isPermanent(err error) bool {
	return apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid)
}

// planInput is what planning needs from outside the database: the
// changed files (from GitLab) and the decider (with the push policies).
type planInput struct {
	files  []string
	stacks []stack.Stack
	decide trigger.Decider
}

// prepare works out the changed files and runs the push policies.
func (p *Processor) prepare(ctx context.Context, d webhook.Delivery, ev *vcs.Event, stacks []stack.Stack) (planInput, error) {
	files, err := p.changedFiles(ctx, d.IntegrationID, ev)
	if err != nil {
		return planInput{}, err
	}
	decide := p.cfg.Decide
	if p.cfg.PushPolicy != nil {
		if decide, err = p.cfg.PushPolicy(ctx, d.ID, ev, files, stacks, decide); err != nil {
			return planInput{}, fmt.Errorf("push policies: %w", err)
		}
	}
	return planInput{files: files, stacks: stacks, decide: decide}, nil
}

// plan reads the existing runs (in the transaction of ctx) and plans.
func (p *Processor) plan(ctx context.Context, d webhook.Delivery, ev *vcs.Event, in planInput) (trigger.Plan, error) {
	ix := p.indexes.of(repoKey{d.IntegrationID, ev.ProjectID, ev.Repository}, in.stacks)
	req := trigger.Request{Event: ev, ChangedFiles: in.files, Matcher: ix.matcher, Decide: in.decide, RunCap: p.cfg.RunCap}
	// Decided first: only the stacks that get a run need their runs read.
	decided := trigger.Decide(req)
	existing, err := p.existingRuns(ctx, d, ev, decided.RunStacks())
	if err != nil {
		return trigger.Plan{}, err
	}
	req.Runs = existing
	return trigger.PlanDecided(req, decided)
}

// triggerStacks returns the stacks as the trigger sees them.
func triggerStacks(stacks []stack.Stack) []trigger.Stack {
	ts := make([]trigger.Stack, len(stacks))
	for i, st := range stacks {
		ts[i] = trigger.Stack{ID: st.ID, Branch: st.Branch, ProjectRoot: st.ProjectRoot,
			AdditionalGlobs: st.AdditionalProjectGlobs, Labels: st.Labels, AllowForks: st.AllowForkMRs, Detached: st.Detached()}
	}
	return ts
}

// existingRuns loads the runs planning needs. Runs of events that arrived
// after this delivery are kept only for deduplication, never offered for
// cancellation: an old delivery processed late must not cancel the runs
// of newer commits.
func (p *Processor) existingRuns(ctx context.Context, d webhook.Delivery, ev *vcs.Event, stackIDs []string) ([]trigger.ExistingRun, error) {
	sha := ev.HeadSHA()
	branch := ev.Branch
	var forkIID int64
	if mr := ev.MergeRequest; mr != nil {
		branch = mr.SourceBranch
		if mr.Fork {
			forkIID = mr.IID
		}
	}
	runs, err := p.cfg.Store.RunsForEvent(ctx, stackIDs, sha, branch, forkIID, unplannedState)
	if err != nil {
		return nil, err
	}
	out := make([]trigger.ExistingRun, 0, len(runs))
	for _, r := range runs {
		if r.CommitSHA != sha && newerEvent(r, d) {
			continue
		}
		out = append(out, trigger.ExistingRun{ID: r.ID, StackID: r.StackID, Type: trigger.RunType(r.Type), SHA: r.CommitSHA,
			Branch: r.Branch, State: string(r.State), MergeRequestIID: r.MergeRequestIID})
	}
	return out, nil
}

// newerEvent reports whether run r stems from an event that reached Hoist
// after delivery d: a run made by a later delivery (delivery ids sort by
// arrival), or a run made otherwise after d arrived. What matters is the
// order the events arrived in, not when they were processed.
func newerEvent(r run.EventRun, d webhook.Delivery) bool {
	if r.DeliveryID != "" {
		return r.DeliveryID > d.ID
	}
	return r.CreatedAt.After(d.ReceivedAt)
}

// MaxSkippedLines bounds the delivery log's lines of skipped stacks per
// processing; the others are counted (webhook.Result.StacksOmitted). A
// line per stack of a 10,000-stack repository was a megabyte of JSON for
// every push, written twice (the delivery and its processing), and half
// of the server's CPU (docs/benchmarks.md). Stacks that got or kept a run
// always have their line.
const MaxSkippedLines = 100

// buildChanges turns a plan into the writes of one transaction and the
// delivery's result.
func buildChanges(d webhook.Delivery, ev *vcs.Event, plan trigger.Plan, now time.Time) (run.Changes, *webhook.Result) {
	actor := run.TriggeredBy("gitlab", string(ev.Kind), ev.Sender.Username)
	c := run.Changes{At: now, Actor: actor}
	res := &webhook.Result{RunsCreated: []webhook.RunRef{}, RunsCanceled: []string{}, Stacks: make([]webhook.StackResult, 0, len(plan.Stacks))}
	created := map[string]string{} // stack → new run id
	for _, nr := range plan.Create {
		r := run.Run{ID: run.NewID(now), StackID: nr.StackID, Type: run.Type(nr.Type), State: run.Queued,
			CommitSHA: nr.SHA, CommitTitle: commitTitle(ev, nr.SHA), Branch: nr.Branch, Trigger: string(nr.Trigger),
			TriggeredBy: run.TriggeredBy("gitlab", string(nr.Trigger), nr.TriggeredBy),
			Reason:      nr.Reason, DeliveryID: d.ID, CreatedAt: now, UpdatedAt: now}
		if nr.MergeRequest != nil {
			r.MergeRequestIID, r.MergeRequestURL = nr.MergeRequest.IID, nr.MergeRequest.URL
		}
		c.Create = append(c.Create, r)
		created[r.StackID] = r.ID
		res.RunsCreated = append(res.RunsCreated, webhook.RunRef{ID: r.ID, StackID: r.StackID, Type: string(r.Type)})
	}
	states := unplannedState
	if ev.Deleted {
		states = queuedStates
	}
	for _, cn := range plan.Cancel {
		c.Cancel = append(c.Cancel, run.Cancel{RunID: cn.RunID, States: states, Note: cn.Reason})
	}
	for _, a := range plan.Attach {
		c.Attach = append(c.Attach, run.AttachMergeRequest{RunID: a.RunID, IID: a.MergeRequest.IID, URL: a.MergeRequest.URL})
	}
	for _, m := range plan.MoveTrackedCommit {
		c.Move = append(c.Move, run.TrackedCommit{StackID: m.StackID, SHA: m.SHA, Branch: ev.Branch})
	}
	counts := map[trigger.Result]int{}
	for _, so := range plan.Stacks {
		counts[so.Result]++
		if so.Result == trigger.ResultSkipped && counts[so.Result] > MaxSkippedLines {
			res.StacksOmitted++
			continue
		}
		line := webhook.StackResult{StackID: so.StackID, Result: string(so.Result), RunID: so.RunID,
			RunType: string(so.Decision.Run), Reason: so.Decision.Reason}
		if so.Result == trigger.ResultCreated {
			line.RunID = created[so.StackID]
		}
		res.Stacks = append(res.Stacks, line)
	}
	res.Summary = summary(ev, len(plan.Stacks), counts, len(c.Cancel))
	return c, res
}

// commitTitle is the title the event gives commit sha: a pushed commit's,
// or the merge request head's; "" when it gives none. One line, at most
// run.MaxCommitTitle bytes.
func commitTitle(ev *vcs.Event, sha string) string {
	title := ""
	if mr := ev.MergeRequest; mr != nil && mr.HeadSHA == sha {
		title = mr.HeadTitle
	}
	for _, c := range ev.Commits {
		if title == "" && c.SHA == sha {
			title = c.Title
		}
	}
	return run.CleanCommitTitle(title)
}

func summary(ev *vcs.Event, stacks int, counts map[trigger.Result]int, cancels int) string {
	subject := describe(ev)
	if stacks == 0 {
		return fmt.Sprintf("%s: no stack uses %s", subject, ev.Repository)
	}
	var parts []string
	for _, r := range []trigger.Result{trigger.ResultCreated, trigger.ResultDeduplicated, trigger.ResultCapped, trigger.ResultSkipped} {
		if n := counts[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if cancels > 0 {
		parts = append(parts, fmt.Sprintf("%d older run(s) to cancel", cancels))
	}
	return fmt.Sprintf("%s: %d stack(s): %s", subject, stacks, strings.Join(parts, ", "))
}

func describe(ev *vcs.Event) string {
	switch ev.Kind {
	case vcs.KindPush:
		if ev.Deleted {
			return "branch " + ev.Branch + " deleted"
		}
		return "push to " + ev.Branch
	case vcs.KindTag:
		return "tag " + ev.Tag
	case vcs.KindMergeRequest:
		if ev.MergeRequest != nil {
			return fmt.Sprintf("merge request !%d %s", ev.MergeRequest.IID, ev.MergeRequest.Action)
		}
	case vcs.KindNote:
		if ev.MergeRequest != nil {
			return fmt.Sprintf("comment on merge request !%d", ev.MergeRequest.IID)
		}
	}
	return ev.Name
}

// refOf is the delivery log's ref: the branch, the tag, or !iid.
func refOf(ev *vcs.Event) string {
	switch {
	case ev.Branch != "":
		return ev.Branch
	case ev.Tag != "":
		return ev.Tag
	case ev.MergeRequest != nil:
		return fmt.Sprintf("!%d", ev.MergeRequest.IID)
	}
	return ""
}
