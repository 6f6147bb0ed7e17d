package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
)

// PushInput is the input of a push policy (docs/policies.md).
type PushInput struct {
	Event   PushEvent       `json:"event"`
	Stack   StackInput      `json:"stack"`
	Default DefaultDecision `json:"default"`
}

// PushEvent is the Git event as a push policy sees it.
type PushEvent struct {
	Kind         string        `json:"kind"` // push, tag, merge_request, note
	Ref          string        `json:"ref"`
	Branch       string        `json:"branch"`
	Tag          string        `json:"tag"`
	Before       string        `json:"before"`
	After        string        `json:"after"`
	Created      bool          `json:"created"`
	Deleted      bool          `json:"deleted"`
	Author       string        `json:"author"` // username of who pushed or acted on the merge request
	Commits      []CommitInput `json:"commits"`
	ChangedFiles []string      `json:"changed_files"`
	// ChangedExtensions counts ChangedFiles by extension (path.Ext: ".md",
	// ".tf"; "" for none). Hoist counts once per delivery, in Go, what a
	// policy would otherwise walk the files for in every stack's
	// evaluation: OPA steps through a list at about 0.3 µs an element.
	ChangedExtensions map[string]int  `json:"changed_extensions"`
	MergeRequest      *MergeRequestIn `json:"merge_request"`
}

// CommitInput is one commit of a push.
type CommitInput struct {
	SHA     string `json:"sha"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Author  string `json:"author"`
}

// MergeRequestIn is the merge request of a merge request event.
type MergeRequestIn struct {
	IID          int64    `json:"iid"`
	Action       string   `json:"action"`
	Title        string   `json:"title"`
	Labels       []string `json:"labels"`
	SourceBranch string   `json:"source_branch"`
	TargetBranch string   `json:"target_branch"`
	Draft        bool     `json:"draft"`
	Fork         bool     `json:"fork"`
	AuthorID     int64    `json:"author_id"`
	HeadSHA      string   `json:"head_sha"`
}

// StackInput is the stack as a policy sees it.
type StackInput struct {
	ID                     string   `json:"id"`
	Space                  string   `json:"space"`
	Labels                 []string `json:"labels"`
	Branch                 string   `json:"branch"`
	ProjectRoot            string   `json:"project_root"`
	AdditionalProjectGlobs []string `json:"additional_project_globs"`
	Autodeploy             bool     `json:"autodeploy"`
}

// DefaultDecision is what Hoist would do without push policies.
type DefaultDecision struct {
	Run      string `json:"run"` // track, propose or none
	Affected bool   `json:"affected"`
	Reason   string `json:"reason"`
}

func stackInput(st stack.Stack) StackInput {
	return StackInput{ID: st.ID, Space: st.SpaceID, Labels: nonNil(st.Labels), Branch: st.Branch, ProjectRoot: st.ProjectRoot,
		AdditionalProjectGlobs: nonNil(st.AdditionalProjectGlobs), Autodeploy: st.Autodeploy}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PushEventInput translates an event and its changed files.
func PushEventInput(ev *vcs.Event, files []string) PushEvent {
	out := PushEvent{Kind: string(ev.Kind), Ref: ev.Ref, Branch: ev.Branch, Tag: ev.Tag, Before: ev.Before, After: ev.After,
		Created: ev.Created, Deleted: ev.Deleted, Author: ev.Sender.Username, Commits: make([]CommitInput, 0, len(ev.Commits)),
		ChangedFiles: nonNil(files), ChangedExtensions: countExtensions(files)}
	for _, c := range ev.Commits {
		msg := c.Message
		if msg == "" {
			msg = c.Title
		}
		out.Commits = append(out.Commits, CommitInput{SHA: c.SHA, Title: c.Title, Message: msg, Author: c.Author})
	}
	if mr := ev.MergeRequest; mr != nil {
		out.MergeRequest = &MergeRequestIn{IID: mr.IID, Action: string(mr.Action), Title: mr.Title, Labels: nonNil(mr.Labels),
			SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, Draft: mr.Draft, Fork: mr.Fork, AuthorID: mr.AuthorID,
			HeadSHA: mr.HeadSHA}
		if ev.Branch == "" {
			out.Branch = mr.SourceBranch
		}
	}
	return out
}

func countExtensions(files []string) map[string]int {
	n := map[string]int{}
	for _, f := range files {
		n[path.Ext(f)]++
	}
	return n
}

func runName(r trigger.RunType) string {
	switch r {
	case trigger.RunTracked:
		return "track"
	case trigger.RunProposed:
		return "propose"
	}
	return "none"
}

// recordedFiles is how many changed files an evaluation record keeps.
const recordedFiles = 100

// PushDecider evaluates the push policies that apply to each of stacks for
// one event and returns the Decider that answers with their decisions
// (stacks without push policies get base's), after recording every
// evaluation. base nil means trigger.Default. Only storage errors are
// returned; a policy that fails decides "no run" for its stack (fail
// closed) and says why.
func (s *Service) PushDecider(ctx context.Context, deliveryID string, ev *vcs.Event, files []string, stacks []stack.Stack, base trigger.Decider) (trigger.Decider, error) {
	if base == nil {
		base = trigger.Default
	}
	applying, err := s.applying(ctx, stacks, nil, Push)
	if err != nil {
		return nil, err
	}
	if len(applying) == 0 {
		return base, nil
	}
	var with []stack.Stack
	for _, st := range stacks {
		if len(applying[st.ID]) > 0 {
			with = append(with, st)
		}
	}
	ts := make([]trigger.Stack, len(with))
	for i, st := range with {
		ts[i] = st.Trigger()
	}
	affected := trigger.NewMatcher(ts).Match(files)
	pe := PushEventInput(ev, files)
	evValue, err := EventValue(pe)
	if err != nil {
		return nil, err
	}
	recEvent := pe
	if len(recEvent.ChangedFiles) > recordedFiles {
		recEvent.ChangedFiles = recEvent.ChangedFiles[:recordedFiles]
	}
	decided := make(map[string]trigger.Decision, len(with))
	var records []Evaluation
	for i, st := range with {
		in := trigger.Input{Event: ev, ChangedFiles: files, Affected: affected[i]}
		def := base(in, ts[i])
		si := stackInput(st)
		dd := DefaultDecision{Run: runName(def.Run), Affected: affected[i], Reason: def.Reason}
		input := ast.NewObject(
			ast.Item(ast.StringTerm("event"), ast.NewTerm(evValue)),
			ast.Item(ast.StringTerm("stack"), ast.NewTerm(mustAST(si))),
			ast.Item(ast.StringTerm("default"), ast.NewTerm(mustAST(dd))))
		rec, _ := json.Marshal(struct {
			PushInput
			ChangedFilesCount int `json:"changed_files_count"`
		}{PushInput{Event: recEvent, Stack: si, Default: dd}, len(files)})
		var results []pushResult
		for _, at := range applying[st.ID] {
			r := s.evalPush(ctx, at.Policy, input)
			results = append(results, r)
			records = append(records, Evaluation{PolicyID: at.Policy.ID, PolicyVersion: at.Policy.Version, Type: Push,
				StackID: st.ID, DeliveryID: deliveryID, Input: recorded(rec), Outcome: r.outcome, Messages: r.messages,
				Error: r.err, Duration: r.took, At: s.now()})
		}
		decided[st.ID] = CombinePush(ev, ts[i], def, results)
	}
	if err := s.cfg.Store.RecordEvaluations(ctx, records); err != nil {
		return nil, fmt.Errorf("record push policy evaluations: %w", err)
	}
	return func(in trigger.Input, st trigger.Stack) trigger.Decision {
		if d, ok := decided[st.ID]; ok {
			return d
		}
		return base(in, st)
	}, nil
}

// EventValue converts an event for evaluation, once per delivery. The
// changed files, up to thousands, are made terms directly rather than
// through a JSON round trip.
func EventValue(pe PushEvent) (ast.Value, error) {
	files := pe.ChangedFiles
	pe.ChangedFiles = nil
	m := mustValue(pe)
	list := make([]any, len(files))
	for i, f := range files {
		list[i] = f
	}
	m["changed_files"] = list
	v, err := ast.InterfaceToValue(m)
	if err != nil {
		return nil, fmt.Errorf("push policy input: %w", err)
	}
	return v, nil
}

// pushResult is one push policy's answer.
type pushResult struct {
	policy   string
	outcome  Outcome
	messages []string
	err      string
	took     time.Duration
}

func (s *Service) evalPush(ctx context.Context, p Policy, input ast.Value) pushResult {
	start := time.Now()
	doc, err := s.cfg.Engine.EvalRules(ctx, p.Body, input, "ignore", "track", "propose", "message")
	r := pushResult{policy: p.ID, took: time.Since(start)}
	if err != nil {
		r.outcome, r.err = OutcomeError, cleanMessage(errorText(err))
		s.log.WarnContext(ctx, "push policy failed", "policy_id", p.ID, "version", p.Version, "error", err)
		return r
	}
	r.messages = messages(doc, "message")
	switch {
	case boolRule(doc, "ignore"):
		r.outcome = OutcomeIgnore
	case boolRule(doc, "track"):
		r.outcome = OutcomeTrack
	case boolRule(doc, "propose"):
		r.outcome = OutcomePropose
	default:
		r.outcome = OutcomeDefault
	}
	return r
}

// CombinePush combines the push policies of one stack (issue 17): an
// error ignores the push (fail closed); else any ignore wins over track,
// which wins over propose; policies that say nothing keep def. The reason
// names the deciding policies and their messages, and the default it
// replaced.
func CombinePush(ev *vcs.Event, st trigger.Stack, def trigger.Decision, rs []pushResult) trigger.Decision {
	by := map[Outcome][]string{}
	var msgs []string
	for _, r := range rs {
		if r.outcome == OutcomeError {
			by[OutcomeError] = append(by[OutcomeError], fmt.Sprintf("%s: %s", r.policy, r.err))
			continue
		}
		by[r.outcome] = append(by[r.outcome], r.policy)
		msgs = append(msgs, r.messages...)
	}
	said := ""
	if len(msgs) > 0 {
		said = ": " + strings.Join(msgs, "; ")
	}
	was := fmt.Sprintf(" (default: %s)", def.Reason)
	switch {
	case len(by[OutcomeError]) > 0:
		return trigger.Decision{Run: trigger.RunNone, Reason: "push ignored: push policy failed (fail closed): " +
			strings.Join(by[OutcomeError], "; ") + was}
	case len(by[OutcomeIgnore]) > 0:
		return trigger.Decision{Run: trigger.RunNone, Reason: "ignored by push policy " + strings.Join(by[OutcomeIgnore], ", ") + said + was}
	case len(by[OutcomeTrack]) > 0:
		move := ev.Kind == vcs.KindPush && !ev.Deleted && ev.Branch == st.Branch
		return trigger.Decision{Run: trigger.RunTracked, MoveTrackedCommit: move,
			Reason: "tracked by push policy " + strings.Join(by[OutcomeTrack], ", ") + said + was}
	case len(by[OutcomePropose]) > 0:
		return trigger.Decision{Run: trigger.RunProposed, Reason: "proposed by push policy " + strings.Join(by[OutcomePropose], ", ") + said + was}
	}
	if said != "" {
		def.Reason += " (push policies " + strings.Join(by[OutcomeDefault], ", ") + " kept the default" + said + ")"
	}
	return def
}

// mustValue and mustAST convert the input structs, whose fields are all
// strings, numbers, booleans and slices of them: encoding cannot fail.
func mustValue(v any) map[string]any {
	m, _, err := toValue(v)
	if err != nil {
		panic(err)
	}
	return m
}

func mustAST(v any) ast.Value {
	val, err := ast.InterfaceToValue(mustValue(v))
	if err != nil {
		panic(err)
	}
	return val
}
