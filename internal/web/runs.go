package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
)

// runPage is the content of run.html.
type runPage struct {
	run.View
	Stack     string // the stack's name
	Log       string // the log so far
	LogAfter  int64  // id of the last chunk in Log
	LogMore   bool   // the log is longer than what the page holds: the script fetches the rest
	CommitURL string
	// MergeRequestLink is the merge request's page, only when the stack's
	// integration has a web user-facing host: a private one's GitLab is
	// not for browsers to reach, so its merge requests show as text.
	MergeRequestLink string
	CanConfirm       bool // the viewer may write and a TRACKED run can be confirmed from some state
	CanDiscard       bool
	CanStop          bool
	Writes           []feedback.WriteView // the run's writes to GitLab and their outcome
}

// RunWrites lists a run's writes to GitLab (feedback.Service); callers
// check first that the viewer may read the run.
type RunWrites interface {
	ListWrites(ctx context.Context, runID string) ([]feedback.WriteView, error)
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
	var log strings.Builder
	for _, c := range chunks {
		log.WriteString(c.Body)
		page.LogAfter = c.ID
	}
	page.Log, page.LogMore = log.String(), len(chunks) == 500
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
		if access.Has(st.SpaceID, space.Write) && !v.State.IsTerminal() {
			page.CanConfirm = v.Type == run.Tracked
			page.CanDiscard = v.Type == run.Tracked
			page.CanStop = true
		}
	}
	return u.render(w, r, http.StatusOK, "run", view{Title: "Run " + shortSHA(v.ID), Nav: "stacks", Content: page})
}

// runLogJSON is what the run page's script polls.
type runLogJSON struct {
	Chunks   []runChunkJSON `json:"chunks"`
	State    string         `json:"state"`
	Terminal bool           `json:"terminal"`
	Delta    run.Delta      `json:"delta"`
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
	out := runLogJSON{Chunks: []runChunkJSON{}, State: string(v.State), Terminal: v.State.IsTerminal(), Delta: v.Delta}
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
// decides), then shows the run again.
func (u *UI) runAction(a run.Action) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := u.cfg.Runs.Act(r.Context(), principal(r), r.PathValue("id"), a)
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/runs/"+v.ID, http.StatusSeeOther)
		return nil
	}
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

// stackRuns lists a stack's latest runs for its page (nil without runs).
func (u *UI) stackRuns(r *http.Request, stackID string) ([]run.View, error) {
	if u.cfg.Runs == nil {
		return nil, nil
	}
	views, _, err := u.cfg.Runs.List(r.Context(), principal(r), stackID, "", 20)
	return views, err
}
