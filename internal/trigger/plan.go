package trigger

import (
	"errors"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// DefaultRunCap is how many runs one event may create (SPEC §4.2).
const DefaultRunCap = 500

// ErrRunCap is the cause of the error PlanRuns returns when an event would
// create more runs than the cap.
var ErrRunCap = errors.New("run cap exceeded")

// ExistingRun is what planning needs to know of a run already stored.
type ExistingRun struct {
	ID              string
	StackID         string
	Type            RunType
	SHA             string
	Branch          string
	State           string // SPEC §4.3 name: QUEUED, READY, PLANNING, FINISHED…
	MergeRequestIID int64  // 0 when the run is linked to no merge request
}

// MergeRequestRef links a run to the merge request it plans.
type MergeRequestRef struct {
	IID int64
	URL string
}

// NewRun is a run to create in state QUEUED.
type NewRun struct {
	StackID      string
	Type         RunType
	SHA          string
	Branch       string           // the pushed branch, or the merge request's source branch
	MergeRequest *MergeRequestRef // nil for runs triggered by a push
	Trigger      vcs.Kind         // the kind of event that triggered it
	TriggeredBy  string           // username of who pushed or acted on the merge request
	Reason       string           // the decision's reason
}

// Cancellation is a queued or planning run made obsolete by the event.
// Applying it is best effort: a run already past the point where it can be
// canceled is left alone.
type Cancellation struct {
	RunID   string
	StackID string
	Reason  string
}

// Attachment links an existing run to the merge request whose event was
// deduplicated onto it (the push came first, the MR event second).
type Attachment struct {
	RunID        string
	StackID      string
	MergeRequest MergeRequestRef
}

// TrackedCommitMove sets a stack's tracked commit.
type TrackedCommitMove struct {
	StackID string
	SHA     string
}

// Result is what became of one stack for one event, for the delivery log.
type Result string

// The results a stack can have.
const (
	ResultCreated      Result = "created"      // a new run
	ResultDeduplicated Result = "deduplicated" // a run for this SHA and type exists: RunID
	ResultSkipped      Result = "skipped"      // the decision was no run: see its reason
	ResultCapped       Result = "capped"       // a run was due, but the event hit the run cap
)

// StackOutcome is the delivery log's line for one stack of the repository.
type StackOutcome struct {
	StackID  string
	Decision Decision
	Result   Result
	RunID    string // the existing run, for ResultDeduplicated
}

// Plan is everything one event changes, to be applied in one transaction:
// create the runs, cancel, attach, move tracked commits, and record Stacks
// in the delivery log.
type Plan struct {
	Create            []NewRun
	Cancel            []Cancellation
	Attach            []Attachment
	MoveTrackedCommit []TrackedCommitMove
	Stacks            []StackOutcome // one per stack of the repository, in Matcher order
}

// Request is one event to plan runs for.
type Request struct {
	Event *vcs.Event
	// ChangedFiles is the event's change per SPEC §4.1; empty for tags,
	// deletions and ignored events.
	ChangedFiles []string
	// Matcher holds every stack of the event's repository.
	Matcher *Matcher
	// Runs must hold, for the repository's stacks (PlanDecided: for the
	// stacks of Decisions.RunStacks), every run at the event's head SHA
	// (any state: deduplication counts finished and canceled runs too, so
	// a redelivered event creates nothing) and the proposed runs that are
	// QUEUED through PLANNING on the event's branch — the pushed branch,
	// or the merge request's source branch — or, for a merge request from
	// a fork, linked to that merge request (candidates for cancellation).
	// Other runs are ignored.
	Runs   []ExistingRun
	Decide Decider // nil means Default
	RunCap int     // 0 means DefaultRunCap
}

// PlanRuns decides every stack of the repository for one event and works
// out the runs to create and cancel (SPEC §4.2):
//   - runs are deduplicated per stack on (SHA, run type); when the merge
//     request event comes second, the existing run gets the MR link;
//   - a new proposed run cancels the stack's older proposed runs of the same
//     branch that are still queued or planning; a run deduplicated onto an
//     existing one cancels nothing, so a late redelivery of an old event
//     cannot cancel newer runs;
//   - a deleted branch cancels its proposed runs still queued;
//   - an event that would create more runs than the cap creates none: the
//     error (apperr.Invalid wrapping ErrRunCap) says so, and the returned
//     Plan holds only Stacks, for the delivery log.
func PlanRuns(req Request) (Plan, error) {
	return PlanDecided(req, Decide(req))
}

// Decisions are every stack's decision for one event, in the Matcher's
// order: what PlanRuns decides before it looks at the existing runs.
type Decisions struct {
	stacks []Stack
	ds     []Decision
	event  *vcs.Event
}

// Decide decides every stack of req's repository for its event; req.Runs
// is not read.
func Decide(req Request) Decisions {
	decide := req.Decide
	if decide == nil {
		decide = Default
	}
	stacks := req.Matcher.Stacks()
	affected := req.Matcher.Match(req.ChangedFiles)
	ds := make([]Decision, len(stacks))
	for i, st := range stacks {
		ds[i] = decide(Input{Event: req.Event, ChangedFiles: req.ChangedFiles, Affected: affected[i]}, st)
	}
	return Decisions{stacks: stacks, ds: ds, event: req.Event}
}

// RunStacks are the ids of the stacks whose existing runs planning reads:
// those decided to run (a run to deduplicate, older ones to cancel), and
// every stack when the event deletes a branch. A push to a repository of
// hundreds of stacks that changes one reads that one's runs.
func (d Decisions) RunStacks() []string {
	deleted := d.event.Kind == vcs.KindPush && d.event.Deleted
	var ids []string
	for i, st := range d.stacks {
		if deleted || (d.ds[i].Run != RunNone && d.event.HeadSHA() != "") {
			ids = append(ids, st.ID)
		}
	}
	return ids
}

// PlanDecided is PlanRuns with the decisions made already (Decide), and
// req.Runs holding the runs of their RunStacks.
func PlanDecided(req Request, decided Decisions) (Plan, error) {
	ev := req.Event
	stacks := decided.stacks
	runs := runsByStack(req.Runs)
	p := Plan{Stacks: make([]StackOutcome, 0, len(stacks))}
	for i, st := range stacks {
		p.Stacks = append(p.Stacks, p.apply(ev, st, decided.ds[i], runs[st.ID]))
	}
	if ev.Kind == vcs.KindPush && ev.Deleted {
		p.cancelDeletedBranch(ev, stacks, runs)
	}
	limit := req.RunCap
	if limit <= 0 {
		limit = DefaultRunCap
	}
	if len(p.Create) > limit {
		return capped(p), apperr.Wrap(apperr.Invalid, ErrRunCap,
			"%s would create %d runs, more than the cap of %d per event; no runs were created",
			describe(ev), len(p.Create), limit)
	}
	return p, nil
}

// apply turns one stack's decision into actions and its log line.
func (p *Plan) apply(ev *vcs.Event, st Stack, d Decision, runs []ExistingRun) StackOutcome {
	out := StackOutcome{StackID: st.ID, Decision: d, Result: ResultSkipped}
	sha := ev.HeadSHA()
	if sha == "" {
		// A replacement policy asked for a run of an event with no commit.
		if d.Run != RunNone || d.MoveTrackedCommit {
			out.Decision = skip("%s has no commit to run", describe(ev))
		}
		return out
	}
	if d.Run == RunNone {
		if d.MoveTrackedCommit {
			p.MoveTrackedCommit = append(p.MoveTrackedCommit, TrackedCommitMove{StackID: st.ID, SHA: sha})
		}
		return out
	}
	if existing, ok := findRun(runs, sha, d.Run); ok && !d.Replan {
		// The first event won; moving the tracked commit again could move it
		// backwards when an old delivery is redelivered.
		out.Result, out.RunID = ResultDeduplicated, existing.ID
		if ref := mrRef(ev); ref != nil && existing.MergeRequestIID == 0 {
			p.Attach = append(p.Attach, Attachment{RunID: existing.ID, StackID: st.ID, MergeRequest: *ref})
		}
		return out
	}
	run := NewRun{
		StackID: st.ID, Type: d.Run, SHA: sha, Branch: runBranch(ev),
		MergeRequest: mrRef(ev), Trigger: ev.Kind, TriggeredBy: ev.Sender.Username, Reason: d.Reason,
	}
	p.Create = append(p.Create, run)
	out.Result = ResultCreated
	if d.MoveTrackedCommit {
		p.MoveTrackedCommit = append(p.MoveTrackedCommit, TrackedCommitMove{StackID: st.ID, SHA: sha})
	}
	if run.Type == RunProposed {
		p.cancelOlder(run, ev.MergeRequest != nil && ev.MergeRequest.Fork, runs)
	}
	return out
}

// cancelOlder cancels the stack's proposed runs of the new run's branch
// (of its merge request, for forks, whose branch names are another
// repository's) that are not done planning.
func (p *Plan) cancelOlder(run NewRun, fork bool, runs []ExistingRun) {
	for _, r := range runs {
		if r.Type != RunProposed || r.SHA == run.SHA || !notPastPlanning[r.State] {
			continue
		}
		sameLine := r.Branch == run.Branch
		if fork && run.MergeRequest != nil {
			sameLine = r.MergeRequestIID == run.MergeRequest.IID
		}
		if sameLine {
			p.Cancel = append(p.Cancel, Cancellation{RunID: r.ID, StackID: r.StackID,
				Reason: fmt.Sprintf("superseded by %s on %s", short(run.SHA), run.Branch)})
		}
	}
}

func (p *Plan) cancelDeletedBranch(ev *vcs.Event, stacks []Stack, runs map[string][]ExistingRun) {
	for _, st := range stacks {
		for _, r := range runs[st.ID] {
			if r.Type == RunProposed && r.Branch == ev.Branch && queued[r.State] {
				p.Cancel = append(p.Cancel, Cancellation{RunID: r.ID, StackID: r.StackID,
					Reason: fmt.Sprintf("branch %s was deleted", ev.Branch)})
			}
		}
	}
}

// capped keeps only the log of a plan that hit the run cap.
func capped(p Plan) Plan {
	out := Plan{Stacks: p.Stacks}
	for i := range out.Stacks {
		if out.Stacks[i].Result == ResultCreated {
			out.Stacks[i].Result = ResultCapped
		}
	}
	return out
}

// queued are the states of a run no worker has started; notPastPlanning
// adds those of a run still on its way to a plan (SPEC §4.3).
var (
	queued          = map[string]bool{"QUEUED": true, "READY": true}
	notPastPlanning = map[string]bool{"QUEUED": true, "READY": true, "PREPARING": true, "INITIALIZING": true, "PLANNING": true}
)

func runsByStack(runs []ExistingRun) map[string][]ExistingRun {
	m := make(map[string][]ExistingRun, len(runs))
	for _, r := range runs {
		m[r.StackID] = append(m[r.StackID], r)
	}
	return m
}

func findRun(runs []ExistingRun, sha string, typ RunType) (ExistingRun, bool) {
	for _, r := range runs {
		if r.SHA == sha && r.Type == typ {
			return r, true
		}
	}
	return ExistingRun{}, false
}

func runBranch(ev *vcs.Event) string {
	if ev.MergeRequest != nil {
		return ev.MergeRequest.SourceBranch
	}
	return ev.Branch
}

// mrRef is the merge request a run of the event plans: that of a merge
// request event, or of the comment whose command made the run.
func mrRef(ev *vcs.Event) *MergeRequestRef {
	if ev.Kind != vcs.KindMergeRequest && ev.Kind != vcs.KindNote || ev.MergeRequest == nil {
		return nil
	}
	return &MergeRequestRef{IID: ev.MergeRequest.IID, URL: ev.MergeRequest.URL}
}

func describe(ev *vcs.Event) string {
	switch ev.Kind {
	case vcs.KindPush:
		return "push to " + ev.Branch
	case vcs.KindTag:
		return "tag push " + ev.Tag
	case vcs.KindMergeRequest, vcs.KindNote:
		return mrName(ev.MergeRequest)
	}
	return orUnknown(ev.Name) + " event"
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
