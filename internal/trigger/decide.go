package trigger

import (
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/vcs"
)

// Stack is what the decision needs to know about one stack.
type Stack struct {
	ID              string
	Branch          string // the tracked branch
	ProjectRoot     string
	AdditionalGlobs []string
	Labels          []string
	AllowForks      bool // merge requests from forks may trigger proposed runs
	Detached        bool // its integration was deleted: nothing triggers it
}

// RunType is the kind of run a decision asks for, named as in SPEC §1.
type RunType string

// The run types a push policy can ask for. RunNone is the zero value.
const (
	RunNone     RunType = ""
	RunTracked  RunType = "TRACKED"
	RunProposed RunType = "PROPOSED"
)

// Input is what a Decider sees of one event for one stack.
type Input struct {
	Event *vcs.Event // shared by every stack of the event: read, never modify
	// ChangedFiles is the event's change per SPEC §4.1: the push's files,
	// or the merge request's diff. Empty for tags, deletions and ignored
	// events.
	ChangedFiles []string
	// Affected is whether ChangedFiles affect the stack being decided
	// (Affected, computed for all stacks at once by a Matcher).
	Affected bool
}

// Decision is a push policy's answer for one stack.
type Decision struct {
	Run RunType
	// MoveTrackedCommit sets the stack's tracked commit to the event's SHA.
	MoveTrackedCommit bool
	// Reason says why, for the delivery log and the run's trigger, in words
	// a user reads: "push to feature-x does not touch infra/".
	Reason string
	// Replan creates the run even when one of its type exists at the
	// event's SHA: a person asked for the plan again (`/hoist plan` in a
	// merge request comment, issue 18). The comment is acted on once, so a
	// redelivery does not make a second run.
	Replan bool
}

// Decider is a push policy: one pure function of (event, stack) → decision
// (SPEC §4.2). Default is the built-in one; a Rego policy can replace it.
type Decider func(in Input, st Stack) Decision

var _ Decider = Default

// Default is the default push policy of SPEC §4.2:
//   - a push to the stack's tracked branch that affects it: TRACKED run, and
//     the tracked commit moves;
//   - a push to another branch that affects it: PROPOSED run;
//   - a merge request opened, reopened or updated with new commits that
//     affects it: PROPOSED run on the head, unless it comes from a fork and
//     the stack does not allow forks;
//   - everything else — tags, deleted branches, metadata-only updates,
//     closes, merges, approvals, comments, ignored events, detached
//     stacks — no run, with the reason.
func Default(in Input, st Stack) Decision {
	ev := in.Event
	if st.Detached {
		return skip("the stack is detached from its integration")
	}
	switch ev.Kind {
	case vcs.KindPush:
		return decidePush(in, st)
	case vcs.KindMergeRequest:
		return decideMergeRequest(in, st)
	case vcs.KindTag:
		return skip("tag pushes do not trigger stack runs (tag %s)", ev.Tag)
	case vcs.KindNote:
		return skip("comments on %s do not trigger runs", mrName(ev.MergeRequest))
	}
	return skip("%s events do not trigger runs", orUnknown(ev.Name))
}

func decidePush(in Input, st Stack) Decision {
	ev := in.Event
	subject := "push to " + ev.Branch
	switch {
	case ev.Deleted:
		return skip("branch %s was deleted", ev.Branch)
	case !in.Affected:
		// Not skip: most stacks of a large repository end here, one
		// decision each per delivery, and fmt's formatting of a reason
		// built already was a third of its cost.
		return Decision{Run: RunNone, Reason: notTouched(subject, in, st)}
	case ev.Branch == st.Branch:
		return Decision{Run: RunTracked, MoveTrackedCommit: true,
			Reason: fmt.Sprintf("push to tracked branch %s touches %s", ev.Branch, scope(st))}
	}
	return Decision{Run: RunProposed, Reason: fmt.Sprintf("%s touches %s", subject, scope(st))}
}

func decideMergeRequest(in Input, st Stack) Decision {
	mr := in.Event.MergeRequest
	if mr == nil {
		return skip("merge request event without a merge request")
	}
	name := mrName(mr)
	if mr.Fork && !st.AllowForks {
		return skip("%s comes from a fork and the stack does not allow forks", name)
	}
	switch mr.Action {
	case vcs.ActionOpen, vcs.ActionReopen:
	case vcs.ActionUpdate:
		if !mr.NewCommits() {
			return skip("%s was updated without new commits", name)
		}
	case vcs.ActionMerge:
		return skip("%s was merged; the push to %s triggers tracked runs", name, mr.TargetBranch)
	case vcs.ActionClose:
		return skip("%s was closed", name)
	case vcs.ActionApproved, vcs.ActionUnapproved, vcs.ActionApproval, vcs.ActionUnapproval:
		return skip("approvals of %s do not trigger runs", name)
	default:
		return skip("%s action %q does not trigger runs", name, mr.Action)
	}
	if !in.Affected {
		return Decision{Run: RunNone, Reason: notTouched(name, in, st)}
	}
	return Decision{Run: RunProposed, Reason: fmt.Sprintf("%s (%s) touches %s", name, mr.Action, scope(st))}
}

func skip(format string, args ...any) Decision {
	return Decision{Run: RunNone, Reason: fmt.Sprintf(format, args...)}
}

// notTouched explains a change that misses the stack.
func notTouched(subject string, in Input, st Stack) string {
	if len(in.ChangedFiles) == 0 {
		return subject + " changed no files"
	}
	if root := NormalizeRoot(st.ProjectRoot); root != "" && len(st.AdditionalGlobs) == 0 {
		return subject + " does not touch " + root + "/" // scope's, in one allocation
	}
	return subject + " does not touch " + scope(st)
}

// scope names what a stack watches: "infra/ or globs [modules/**]".
func scope(st Stack) string {
	s := "the repository"
	if root := NormalizeRoot(st.ProjectRoot); root != "" {
		s = root + "/"
	}
	if len(st.AdditionalGlobs) > 0 {
		s += " or globs [" + strings.Join(st.AdditionalGlobs, ", ") + "]"
	}
	return s
}

func mrName(mr *vcs.MergeRequest) string {
	if mr == nil {
		return "a merge request"
	}
	return fmt.Sprintf("merge request !%d", mr.IID)
}

func orUnknown(name string) string {
	if name == "" {
		return "unnamed"
	}
	return name
}
