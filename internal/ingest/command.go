package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/mrcommand"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Merge request comment commands (issue 18, docs/merge-requests.md): the
// first line of a comment on a merge request, `/hoist plan [stack…]`,
// `/hoist help`. A command is acted on once (its note is claimed in the
// transaction that writes what it did), acknowledged with award emoji on
// the note, and answered with one reply note when it concerns the command
// itself (an unknown command, a refusal). Results go into the stacks'
// merge request notes, as for every run of a merge request.

// Commands is what acting on comment commands needs; nil in Config leaves
// comments to the delivery log only.
type Commands struct {
	Members Members
	Claims  CommandClaims
	Ack     Acknowledger
	Locks   MRLocks
	// Checks reads what GitLab says about merging a merge request, for the
	// stacks' apply requirements.
	Checks MergeChecker
	// OwnStatus tells the commit statuses Hoist writes itself (the
	// `mergeable` requirement ignores them).
	OwnStatus func(name string) bool
}

// MergeChecker reads a merge request's merge checks (gitlab.Client).
type MergeChecker interface {
	MergeRequestChecks(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) (vcs.MergeChecks, error)
}

// MRLocks keeps the stacks a merge request applied before its merge
// locked to it (sqlstore.Store); the lock methods join the caller's
// transaction.
type MRLocks interface {
	LockStackForMR(ctx context.Context, l stack.MRLock) (holder stack.MRLock, locked bool, err error)
	StackMRLock(ctx context.Context, stackID string) (*stack.MRLock, error)
	StackMRLocks(ctx context.Context, stackIDs []string) (map[string]stack.MRLock, error)
	ReleaseMRLocks(ctx context.Context, stackIDs []string, iid int64) ([]string, error)
	RecordMRMerges(ctx context.Context, ms []stack.MRMerge) error
}

// Members reads a user's access level on a project (gitlab.Client).
type Members interface {
	ProjectAccessLevel(ctx context.Context, ep vcs.Endpoint, projectID, userID int64) (int64, error)
}

// CommandClaims claims a command note, in the caller's transaction; it
// returns the delivery that claimed it first, or "" (sqlstore.Store).
type CommandClaims interface {
	ClaimCommandNote(ctx context.Context, integrationID string, projectID, noteID int64, deliveryID, command string, at time.Time) (string, error)
}

// Ack is the acknowledgement of one command note: award emoji in order
// and an optional reply note.
type Ack struct {
	IntegrationID   string
	Project         string
	MergeRequestIID int64
	NoteID          int64
	Emoji           []string
	Reply           string
}

// Acknowledger queues an Ack's GitLab writes in the caller's transaction
// (the feedback outbox).
type Acknowledger interface {
	Acknowledge(ctx context.Context, a Ack) error
}

// The emoji of an acknowledgement: taken, then done or refused.
const (
	emojiTaken   = "eyes"
	emojiDone    = "white_check_mark"
	emojiRefused = "x"
)

// errClaimed rolls back a command whose note another processing claimed
// between the look and the transaction.
var errClaimed = errors.New("command note claimed already")

// command processes a comment on a merge request.
func (p *Processor) command(ctx context.Context, a attempt, d webhook.Delivery, o webhook.Outcome, ev *vcs.Event,
	log *slog.Logger) (webhook.Status, error) {
	n, mr := ev.Note, ev.MergeRequest
	if n == nil || mr == nil {
		return webhook.Failed, p.fail(ctx, a, o, apperr.Errorf(apperr.Invalid, "comment event without its note or merge request"))
	}
	cmd, isCmd := mrcommand.Parse(n.Body)
	switch {
	case !isCmd:
		return p.ignore(ctx, a, o, fmt.Sprintf("comment on !%d is not a /hoist command", mr.IID))
	case n.System:
		return p.ignore(ctx, a, o, fmt.Sprintf("comment on !%d was written by GitLab itself", mr.IID))
	case n.Action != "" && n.Action != "create":
		return p.ignore(ctx, a, o, fmt.Sprintf("comment on !%d was edited: an edited comment runs no command, write a new one", mr.IID))
	}
	it, err := p.cfg.Store.GetIntegration(ctx, d.IntegrationID)
	if err != nil {
		return "", fmt.Errorf("integration %s: %w", d.IntegrationID, err)
	}
	if it.TokenUserID != 0 && (n.AuthorID == it.TokenUserID || ev.Sender.ID == it.TokenUserID) {
		return p.ignore(ctx, a, o, fmt.Sprintf("comment on !%d was written by the integration's own GitLab user", mr.IID))
	}
	ep, err := p.endpointOf(it)
	if err != nil {
		return "", err
	}
	stacks, err := p.cfg.Store.ListStacksByRepository(ctx, d.IntegrationID, ev.ProjectID, ev.Repository)
	if err != nil {
		return "", fmt.Errorf("stacks of %s: %w", ev.Repository, err)
	}
	if len(stacks) == 0 {
		return p.ignore(ctx, a, o, fmt.Sprintf("comment on !%d: no stack uses %s", mr.IID, ev.Repository))
	}
	ack := Ack{IntegrationID: d.IntegrationID, Project: ev.Repository, MergeRequestIID: mr.IID, NoteID: n.ID,
		Emoji: []string{emojiTaken, emojiDone}}
	var plan trigger.Plan
	var changed []string // the stacks the merge request changes (plan, apply)
	var unlock []string  // stacks /hoist unlock releases
	switch cmd.Kind {
	case mrcommand.Help:
		ack.Reply = cmd.Reply()
	case mrcommand.Invalid:
		ack.Emoji[1], ack.Reply = emojiRefused, cmd.Reply()
	case mrcommand.Plan, mrcommand.Apply:
		var reply string
		var ok bool
		plan, reply, ok, err = p.runCommand(ctx, ep, d, ev, cmd, stacks, &changed)
		if err != nil {
			if isPermanent(err) {
				return webhook.Failed, p.fail(ctx, a, o, err)
			}
			return "", err
		}
		ack.Reply = reply
		if !ok {
			ack.Emoji[1] = emojiRefused
		}
	case mrcommand.Unlock:
		var reply string
		var ok bool
		unlock, reply, ok, err = p.unlockCommand(ctx, ep, ev, cmd, stacks)
		if err != nil {
			return "", err
		}
		ack.Reply = reply
		if !ok {
			ack.Emoji[1] = emojiRefused
		}
	}
	now := p.now()
	changes, result := buildChanges(d, ev, plan, now)
	result.Summary = fmt.Sprintf("comment on !%d by %s: /hoist %s: %s", mr.IID, orUnknown(ev.Sender.Username), cmd.Kind,
		commandOutcome(ack, len(changes.Create)))
	o.Status, o.Result, o.At = webhook.Processed, result, now
	claim := func(ctx context.Context) error {
		by, err := p.cfg.Commands.Claims.ClaimCommandNote(ctx, d.IntegrationID, ev.ProjectID, n.ID, d.ID, string(cmd.Kind), now)
		if err != nil {
			return err
		}
		if by != "" {
			return fmt.Errorf("%w by delivery %s", errClaimed, by)
		}
		if err := p.lockApplied(ctx, ev, changes, changed, now); err != nil {
			return err
		}
		if len(unlock) > 0 {
			if _, err := p.cfg.Commands.Locks.ReleaseMRLocks(ctx, unlock, mr.IID); err != nil {
				return err
			}
		}
		return p.cfg.Commands.Ack.Acknowledge(ctx, ack)
	}
	applied, err := p.record(ctx, a, o, changes, true, claim)
	if errors.Is(err, errClaimed) {
		return p.ignore(ctx, a, o, fmt.Sprintf("comment %d on !%d: its command was acted on already (%s)", n.ID, mr.IID, err))
	}
	if err != nil {
		return "", err
	}
	log.Info("merge request command", "project", ev.Repository, "mr", mr.IID, "note", n.ID, "command", string(cmd.Kind),
		"runs_created", len(applied.Created))
	for _, consume := range p.cfg.Consumers {
		if err := consume(ctx, d.IntegrationID, ev); err != nil {
			log.Error("event consumer", "error", err)
		}
	}
	return webhook.Processed, nil
}

// ignore records a delivery that triggers nothing, with why.
func (p *Processor) ignore(ctx context.Context, a attempt, o webhook.Outcome, why string) (webhook.Status, error) {
	o.Status, o.At = webhook.Ignored, p.now()
	o.Result = &webhook.Result{Summary: why, RunsCreated: []webhook.RunRef{}, RunsCanceled: []string{}, Stacks: []webhook.StackResult{}}
	_, err := p.record(ctx, a, o, run.Changes{}, true)
	return webhook.Ignored, err
}

func commandOutcome(a Ack, created int) string {
	switch {
	case a.Emoji[len(a.Emoji)-1] == emojiRefused:
		return "refused"
	case created > 0:
		return fmt.Sprintf("%d run(s) created", created)
	}
	return "answered"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown user"
	}
	return s
}

// runCommand works out `/hoist plan [stack…]` and `/hoist apply
// [stack…]`: a new run on the merge request's head — proposed for plan,
// tracked (applied without a confirmation: the comment is one) for apply
// — for every named stack of the repository (every affected one when none
// is named) that the author may run it for; an apply also needs the
// stack's mr_apply and no other merge request's lock on it. It returns the
// plan, the reply (empty when all went well) and whether any run is made.
func (p *Processor) runCommand(ctx context.Context, ep vcs.Endpoint, d webhook.Delivery, ev *vcs.Event, cmd mrcommand.Command,
	stacks []stack.Stack, changed *[]string) (trigger.Plan, string, bool, error) {
	mr := ev.MergeRequest
	if mr.State != "" && mr.State != "opened" {
		return trigger.Plan{}, fmt.Sprintf("!%d is %s: only an open merge request is planned or applied.", mr.IID, mr.State), false, nil
	}
	if !vcs.IsSHA(mr.HeadSHA) {
		return trigger.Plan{}, "", false, apperr.Errorf(apperr.Invalid, "comment on !%d: the merge request's head commit is unknown", mr.IID)
	}
	files, err := p.cfg.Files.MergeRequestFiles(ctx, ep, ev.ProjectID, mr.IID)
	if err != nil {
		return trigger.Plan{}, "", false, err
	}
	matcher := p.indexes.of(repoKey{d.IntegrationID, ev.ProjectID, ev.Repository}, stacks).matcher
	affected := matcher.Match(files)
	ids := stack.IDs(stacks)
	for i, st := range stacks {
		if affected[i] {
			*changed = append(*changed, st.ID)
		}
	}
	// The stacks asked for: those named (by id or name), else every
	// affected one.
	chosen := map[string]bool{}
	var unknown []string
	for _, name := range cmd.Stacks {
		i := slices.IndexFunc(stacks, func(st stack.Stack) bool { return named(st, name) })
		if i < 0 {
			unknown = append(unknown, name)
			continue
		}
		chosen[stacks[i].ID] = true
	}
	if len(cmd.Stacks) == 0 {
		for i, st := range stacks {
			if affected[i] {
				chosen[st.ID] = true
			}
		}
	}
	if len(unknown) > 0 {
		return trigger.Plan{}, fmt.Sprintf("No stack of %s is called %s. Its stacks: %s.", ev.Repository,
			quoteList(unknown), quoteList(ids)), false, nil
	}
	if len(chosen) == 0 {
		return trigger.Plan{}, fmt.Sprintf("!%d changes no stack's files; name the stacks: `/hoist %s <stack>` (stacks of %s: %s).",
			mr.IID, cmd.Kind, ev.Repository, quoteList(ids)), false, nil
	}
	level, err := p.cfg.Commands.Members.ProjectAccessLevel(ctx, ep, ev.ProjectID, ev.Note.AuthorID)
	if err != nil {
		return trigger.Plan{}, "", false, fmt.Errorf("access of the comment's author: %w", err)
	}
	refused := map[string]string{}
	for _, st := range stacks {
		if !chosen[st.ID] {
			continue
		}
		if why, err := p.refusal(ctx, cmd.Kind, st, ev, level); err != nil {
			return trigger.Plan{}, "", false, err
		} else if why != "" {
			refused[st.ID] = why
		}
	}
	if cmd.Kind == mrcommand.Apply {
		if err := p.checkRequirements(ctx, ep, ev, stacks, chosen, refused); err != nil {
			return trigger.Plan{}, "", false, err
		}
	}
	who := orUnknown(ev.Sender.Username)
	run := trigger.RunProposed
	if cmd.Kind == mrcommand.Apply {
		run = trigger.RunTracked
	}
	decide := func(in trigger.Input, st trigger.Stack) trigger.Decision {
		switch {
		case !chosen[st.ID]:
			return trigger.Decision{Reason: fmt.Sprintf("/hoist %s by %s does not ask for %s", cmd.Kind, who, st.ID)}
		case refused[st.ID] != "":
			return trigger.Decision{Reason: "refused: " + refused[st.ID]}
		case st.Detached:
			return trigger.Decision{Reason: "the stack is detached from its integration"}
		}
		return trigger.Decision{Run: run, Replan: true,
			Reason: fmt.Sprintf("/hoist %s by %s in a comment on !%d", cmd.Kind, who, mr.IID)}
	}
	existing, err := p.existingRuns(ctx, d, ev, ids)
	if err != nil {
		return trigger.Plan{}, "", false, err
	}
	plan, err := trigger.PlanRuns(trigger.Request{Event: ev, ChangedFiles: files, Matcher: matcher, Runs: existing,
		Decide: decide, RunCap: p.cfg.RunCap})
	if err != nil {
		return trigger.Plan{}, "", false, err
	}
	var reasons []string
	for _, st := range stacks {
		if why := refused[st.ID]; why != "" {
			reasons = append(reasons, "- "+why)
		}
	}
	reply := ""
	if len(reasons) > 0 {
		reply = map[mrcommand.Kind]string{mrcommand.Plan: "Not planned:\n", mrcommand.Apply: "Not applied:\n"}[cmd.Kind] +
			strings.Join(reasons, "\n")
	}
	return plan, reply, len(plan.Create) > 0, nil
}

// refusal says why the author of the comment may not run command kind
// for st ("" when they may): their access, the stack's mr_apply, a fork,
// another merge request's lock.
func (p *Processor) refusal(ctx context.Context, kind mrcommand.Kind, st stack.Stack, ev *vcs.Event, level int64) (string, error) {
	mr, who := ev.MergeRequest, orUnknown(ev.Sender.Username)
	need := minAccess(kind, st)
	switch {
	case kind == mrcommand.Apply && !st.MRApply:
		return fmt.Sprintf("%s does not apply before merge (its `mr_apply` setting is off): it applies from %s after the merge", st.ID, st.Branch), nil
	case level < need:
		return fmt.Sprintf("`/hoist %s` of %s needs %s access to the project; @%s has %s", kind, st.ID,
			vcs.AccessName(need), who, vcs.AccessName(level)), nil
	case mr.Fork && !st.AllowForkMRs:
		return fmt.Sprintf("%s does not run merge requests from forks", st.ID), nil
	case kind != mrcommand.Apply:
		return "", nil
	}
	lock, err := p.cfg.Commands.Locks.StackMRLock(ctx, st.ID)
	if err != nil || lock == nil || lock.MergeRequestIID == mr.IID {
		return "", err
	}
	return fmt.Sprintf("%s is locked by !%d %s (applied there before its merge) until it is merged or closed, or `/hoist unlock` there",
		st.ID, lock.MergeRequestIID, lock.MergeRequestURL), nil
}

// checkRequirements refuses, in refused, each chosen stack whose apply
// requirements GitLab's merge checks do not meet, naming each unmet one.
// The checks are read once, and only when a stack has requirements; a
// merge request whose head moved since the comment is refused (what was
// approved may not be what the comment saw).
func (p *Processor) checkRequirements(ctx context.Context, ep vcs.Endpoint, ev *vcs.Event, stacks []stack.Stack,
	chosen map[string]bool, refused map[string]string) error {
	mr := ev.MergeRequest
	var checks *vcs.MergeChecks
	for _, st := range stacks {
		if !chosen[st.ID] || refused[st.ID] != "" || len(st.ApplyRequirements) == 0 {
			continue
		}
		if checks == nil {
			if p.cfg.Commands.Checks == nil {
				return errors.New("apply requirements: no GitLab merge checks configured")
			}
			c, err := p.cfg.Commands.Checks.MergeRequestChecks(ctx, ep, ev.ProjectID, mr.IID)
			if err != nil {
				return fmt.Errorf("merge checks of !%d: %w", mr.IID, err)
			}
			checks = &c
		}
		if checks.HeadSHA != mr.HeadSHA {
			refused[st.ID] = fmt.Sprintf("%s: !%d's head moved to `%.12s` since the comment; comment again to apply it",
				st.ID, mr.IID, checks.HeadSHA)
			continue
		}
		if unmet := mrcommand.Unmet(st.ApplyRequirements, *checks, mr.TargetBranch, p.cfg.Commands.OwnStatus); len(unmet) > 0 {
			refused[st.ID] = fmt.Sprintf("%s: apply requirements not met: %s", st.ID, strings.Join(unmet, "; "))
		}
	}
	return nil
}

// minAccess is the GitLab access a command needs on st.
func minAccess(kind mrcommand.Kind, st stack.Stack) int64 {
	name, def := st.MRPlanMinAccess, stack.DefaultMRPlanMinAccess
	if kind != mrcommand.Plan {
		name, def = st.MRApplyMinAccess, stack.DefaultMRApplyMinAccess
	}
	if level, ok := stack.MRAccessLevels[name]; ok {
		return level
	}
	return stack.MRAccessLevels[def]
}

// lockApplied locks every stack a /hoist apply made a run for to the
// merge request, in the command's transaction, with the head applied and
// the stacks the merge request changes (for automerge). A lock another
// merge request took meanwhile rolls it all back: the next attempt
// refuses.
func (p *Processor) lockApplied(ctx context.Context, ev *vcs.Event, c run.Changes, changed []string, now time.Time) error {
	mr := ev.MergeRequest
	for _, r := range c.Create {
		if r.Type != run.Tracked {
			continue
		}
		holder, locked, err := p.cfg.Commands.Locks.LockStackForMR(ctx, stack.MRLock{StackID: r.StackID, MergeRequestIID: mr.IID,
			MergeRequestURL: mr.URL, LockedBy: orUnknown(ev.Sender.Username), RunID: r.ID, LockedAt: now,
			HeadSHA: r.CommitSHA, MRStacks: changed})
		if err != nil {
			return err
		}
		if !locked {
			return fmt.Errorf("stack %s was locked by !%d meanwhile", r.StackID, holder.MergeRequestIID)
		}
	}
	return nil
}

// unlockCommand works out `/hoist unlock [stack…]`: the named stacks (or
// every one) this merge request holds locked, those the author may
// unlock.
func (p *Processor) unlockCommand(ctx context.Context, ep vcs.Endpoint, ev *vcs.Event, cmd mrcommand.Command,
	stacks []stack.Stack) ([]string, string, bool, error) {
	mr := ev.MergeRequest
	ids := stack.IDs(stacks)
	locks, err := p.cfg.Commands.Locks.StackMRLocks(ctx, ids) // one read, however many stacks
	if err != nil {
		return nil, "", false, err
	}
	held := map[string]bool{}
	for id, lock := range locks {
		held[id] = lock.MergeRequestIID == mr.IID
	}
	for _, n := range cmd.Stacks {
		if !slices.ContainsFunc(stacks, func(st stack.Stack) bool { return named(st, n) }) {
			return nil, fmt.Sprintf("No stack of %s is called `%s`.", ev.Repository, n), false, nil
		}
	}
	var asked []stack.Stack
	for _, st := range stacks {
		asks := slices.ContainsFunc(cmd.Stacks, func(n string) bool { return named(st, n) })
		if asks && !held[st.ID] {
			return nil, fmt.Sprintf("!%d does not hold %s locked.", mr.IID, st.ID), false, nil
		}
		if asks || (len(cmd.Stacks) == 0 && held[st.ID]) {
			asked = append(asked, st)
		}
	}
	if len(asked) == 0 {
		return nil, fmt.Sprintf("!%d holds no stack locked.", mr.IID), false, nil
	}
	level, err := p.cfg.Commands.Members.ProjectAccessLevel(ctx, ep, ev.ProjectID, ev.Note.AuthorID)
	if err != nil {
		return nil, "", false, fmt.Errorf("access of the comment's author: %w", err)
	}
	var out []string
	var reasons []string
	for _, st := range asked {
		if why, err := p.refusal(ctx, mrcommand.Unlock, st, ev, level); err != nil {
			return nil, "", false, err
		} else if why != "" {
			reasons = append(reasons, "- "+why)
			continue
		}
		out = append(out, st.ID)
	}
	reply := ""
	if len(reasons) > 0 {
		reply = "Not unlocked:\n" + strings.Join(reasons, "\n")
	}
	return out, reply, len(out) > 0, nil
}

// named reports whether a command's stack name names st: its id, or its
// name in any case.
func named(st stack.Stack, name string) bool {
	return st.ID == name || strings.EqualFold(st.Name, name)
}

// quoteList writes names as code, comma-separated, at most maxListed.
func quoteList(names []string) string {
	shown := names[:min(len(names), maxListed)]
	q := make([]string, len(shown), len(shown)+1)
	for i, n := range shown {
		q[i] = "`" + n + "`"
	}
	if more := len(names) - len(shown); more > 0 {
		q = append(q, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(q, ", ")
}

// maxListed bounds the names a reply lists: a repository of thousands of
// stacks (or a comment naming thousands) would otherwise make a reply of
// hundreds of kilobytes, past what GitLab takes in a note.
const maxListed = 20
