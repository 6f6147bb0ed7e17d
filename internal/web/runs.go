package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
)

// runPage is the content of run.html.
type runPage struct {
	run.View
	Stack string // the stack's name
	// Log is the log so far; LogError, of a failed run, is its part from
	// the first OpenTofu error on, where the page opens the log (Log
	// holds what comes before).
	Log       string
	LogError  string
	LogAfter  int64 // id of the last chunk in Log
	LogMore   bool  // the log is longer than what the page holds: the script fetches the rest
	CommitURL string
	// MergeRequestLink is the merge request's page, only when the stack's
	// integration has a web user-facing host: a private one's GitLab is
	// not for browsers to reach, so its merge requests show as text.
	MergeRequestLink string
	// Buttons are the actions the viewer may take on runs of this type,
	// each hidden while the run's state does not allow it (the script
	// shows and hides them as the state changes); none for readers.
	Buttons []actionButton
	// Refused says why the action the viewer just asked for was refused.
	Refused string
	Writes  []feedback.WriteView // the run's writes to GitLab and their outcome
	// Evaluations are the policies evaluated for the run (its plan
	// and approval policies), oldest first, at most maxRunEvaluations.
	Evaluations []policy.Evaluation
	// Reviews are the run's reviews; CanReview offers the approve and
	// reject form (a writer, the run in PENDING_REVIEW).
	Reviews   []run.Review
	CanReview bool
	// ReviewError says why the review just posted was refused.
	ReviewError string
}

// WaitsForReview reports whether the run is held by approval policies.
func (p runPage) WaitsForReview() bool { return p.State == run.PendingReview }

// maxRunEvaluations bounds the policy evaluations a run page lists; the
// API pages through the rest.
const maxRunEvaluations = 100

// actionButton is one action's form on the run page.
type actionButton struct {
	Action  run.Action
	Label   string
	Class   string
	Allowed bool // the run's state allows it now
}

// buttons are the run page's action buttons: every action the state
// machine allows runs of typ in some state, in the order confirm,
// discard, stop; each allowed if it is allowed in state now.
func buttons(typ run.Type, now run.State) []actionButton {
	labels := map[run.Action][2]string{run.Confirm: {"Confirm", "primary"}, run.Discard: {"Discard", "danger"}, run.Stop: {"Stop", ""}}
	allowed := run.Actions(typ, now)
	var out []actionButton
	for _, a := range []run.Action{run.Confirm, run.Discard, run.Stop} {
		if !slices.ContainsFunc(run.States, func(s run.State) bool { return slices.Contains(run.Actions(typ, s), a) }) {
			continue
		}
		out = append(out, actionButton{Action: a, Label: labels[a][0], Class: labels[a][1], Allowed: slices.Contains(allowed, a)})
	}
	return out
}

// refusal says why the action named by ?refused= was refused, as things
// stand now: the reason is worked out here, never taken from the URL.
func refusal(asked string, v run.View, canAct bool) string {
	a := run.Action(asked)
	switch {
	case a != run.Confirm && a != run.Discard && a != run.Stop:
		return ""
	case !canAct:
		return fmt.Sprintf("You cannot %s this run: that needs write access to its stack.", a)
	}
	if _, err := run.ActionTarget(a, v.Type, v.State); err != nil {
		msg := apperr.MessageOf(err)
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	return fmt.Sprintf("The run changed while you asked to %s it; it is now %s.", a, v.State)
}

// splitAtError cuts a log before its first OpenTofu error ("Error: " at
// the start of a line); tail is "" when there is none.
func splitAtError(log string) (head, tail string) {
	if strings.HasPrefix(log, "Error: ") {
		return "", log
	}
	if i := strings.Index(log, "\nError: "); i >= 0 {
		return log[:i+1], log[i+1:]
	}
	return log, ""
}

// RunWrites lists a run's writes to GitLab (feedback.Service); callers
// check first that the viewer may read the run.
type RunWrites interface {
	ListWrites(ctx context.Context, runID string) ([]feedback.WriteView, error)
}

// RunPolicies lists the policy evaluations recorded for a run the viewer
// may read (policy.Service).
type RunPolicies interface {
	RunEvaluations(ctx context.Context, actor, runID, cursor string, limit int) ([]policy.Evaluation, string, error)
}

// Terminal reports whether the run is done for good.
func (p runPage) Terminal() bool { return p.State.IsTerminal() }

// Unsandboxed is the history note of a worker that executed the run
// without a sandbox (--unsafe-unsandboxed-runs); "" when every step was
// sandboxed.
func (p runPage) Unsandboxed() string {
	for _, h := range p.History {
		if strings.HasPrefix(h.Note, run.UnsandboxedNote) {
			return h.Note
		}
	}
	return ""
}

// ShortSHA is the run's commit, shortened.
func (p runPage) ShortSHA() string { return shortSHA(p.CommitSHA) }

// Heading names the run as people know it: its stack, its type and its
// commit's title (the short SHA when the title is not known).
func (p runPage) Heading() string {
	what := p.CommitTitle
	if what == "" {
		what = "commit " + p.ShortSHA()
	}
	return p.Stack + " · " + string(p.Type) + " · " + what
}

// runDetails shows a run: state, history, plan summary, resources and
// the log, which the page's script keeps following while the run lives.
func (u *UI) runDetails(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	v, err := u.cfg.Runs.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	chunks, _, err := u.cfg.Runs.Logs(ctx, p, v.ID, 0)
	if err != nil {
		return err
	}
	page := runPage{View: v, Stack: v.StackID}
	if u.cfg.Writes != nil {
		if page.Writes, err = u.cfg.Writes.ListWrites(ctx, v.ID); err != nil {
			return err
		}
	}
	if u.cfg.Policies != nil {
		if page.Evaluations, _, err = u.cfg.Policies.RunEvaluations(ctx, p, v.ID, "", maxRunEvaluations); err != nil {
			return err
		}
	}
	if page.Reviews, err = u.cfg.Runs.Reviews(ctx, p, v.ID); err != nil {
		return err
	}
	if msg := r.URL.Query().Get("review_refused"); msg != "" && v.State == run.PendingReview {
		page.ReviewError = "Your review was not recorded: you need write access to the stack, and a decision."
	}
	var log strings.Builder
	for _, c := range chunks {
		log.WriteString(c.Body)
		page.LogAfter = c.ID
	}
	page.Log, page.LogMore = log.String(), len(chunks) == 500
	if v.State == run.Failed {
		page.Log, page.LogError = splitAtError(page.Log)
	}
	if st, err := u.cfg.Stacks.Get(ctx, p, v.StackID); err == nil {
		page.Stack = st.Name
		if hosts, err := u.userFacingHosts(ctx, p); err == nil {
			if row := rowOf(st, hosts); row.RepoURL != "" {
				if v.CommitSHA != "" {
					page.CommitURL = row.RepoURL + "/-/commit/" + v.CommitSHA
				}
				page.MergeRequestLink = v.MergeRequestURL
			}
		}
		access, _, err := u.cfg.Spaces.Access(ctx, p)
		if err != nil {
			return err
		}
		canAct := access.Has(st.SpaceID, space.Write)
		if canAct {
			page.Buttons = buttons(v.Type, v.State)
		}
		page.CanReview = canAct && v.State == run.PendingReview
		page.Refused = refusal(r.URL.Query().Get("refused"), v, canAct)
	}
	return u.render(w, r, http.StatusOK, "run", view{Title: page.Heading(), Nav: "runs", Content: page})
}

// runLogJSON is what the run page's script polls: Delta is null until the
// run has a plan, Actions are the actions its state allows.
type runLogJSON struct {
	Chunks   []runChunkJSON `json:"chunks"`
	State    string         `json:"state"`
	Terminal bool           `json:"terminal"`
	Delta    *run.Delta     `json:"delta"`
	Actions  []run.Action   `json:"actions"`
}

type runChunkJSON struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// runLog answers the log chunks after ?after= and the run's state, for the
// live log on the run page (polled by the page's script).
func (u *UI) runLog(w http.ResponseWriter, r *http.Request) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	ctx, p, id := r.Context(), principal(r), r.PathValue("id")
	chunks, _, err := u.cfg.Runs.Logs(ctx, p, id, after)
	if err != nil {
		return err
	}
	v, err := u.cfg.Runs.Get(ctx, p, id)
	if err != nil {
		return err
	}
	out := runLogJSON{Chunks: []runChunkJSON{}, State: string(v.State), Terminal: v.State.IsTerminal(),
		Actions: append([]run.Action{}, run.Actions(v.Type, v.State)...)}
	if v.Planned {
		out.Delta = &v.Delta
	}
	for _, c := range chunks {
		out.Chunks = append(out.Chunks, runChunkJSON{ID: c.ID, Body: c.Body})
	}
	// More chunks are waiting: the script asks again at once; a terminal
	// run is not terminal for the log until its last chunk was read.
	if len(chunks) == 500 {
		out.Terminal = false
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// runAction confirms, discards or stops a run (writers; the run service
// decides), then shows the run again, or the runs list it was asked from
// (a return field). A refused action (the state does
// not allow it, or the viewer may not) shows the run too, saying why.
func (u *UI) runAction(a run.Action) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		_, err := u.cfg.Runs.Act(r.Context(), principal(r), id, a)
		switch {
		case apperr.Is(err, apperr.Conflict), apperr.Is(err, apperr.Forbidden):
			http.Redirect(w, r, "/runs/"+url.PathEscape(id)+"?refused="+string(a), http.StatusSeeOther)
			return nil
		case err != nil:
			return err
		}
		to := "/runs/" + url.PathEscape(id)
		if ret := listReturn(r); ret != "" { // asked from the runs list: back to it, as it was
			to = ret
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
}

// reviewRun records the viewer's approval or rejection of a run in
// PENDING_REVIEW (the run service checks access and state), then shows
// the run: its approval policies have been evaluated again.
func (u *UI) reviewRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	_, _, err := u.cfg.Runs.AddReview(r.Context(), principal(r), id,
		run.ReviewInput{Decision: run.Decision(r.PostForm.Get("decision")), Note: r.PostForm.Get("note")})
	switch {
	case apperr.Is(err, apperr.Invalid), apperr.Is(err, apperr.Forbidden):
		http.Redirect(w, r, "/runs/"+url.PathEscape(id)+"?review_refused=1", http.StatusSeeOther)
		return nil
	case apperr.Is(err, apperr.Conflict):
		http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther) // decided meanwhile: the page shows how
		return nil
	case err != nil:
		return err
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(id)+"#reviews", http.StatusSeeOther)
	return nil
}

// triggerRun starts a TRACKED run of a stack at its tracked commit.
func (u *UI) triggerRun(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Runs.Trigger(r.Context(), principal(r), r.PathValue("id"), run.TriggerInput{Type: run.Tracked})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/runs/"+v.ID, http.StatusSeeOther)
	return nil
}
