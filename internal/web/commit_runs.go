package web

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

// commitRunsPage is the content of commit_runs.html.
type commitRunsPage struct {
	SHA  string
	Runs []commitRun
}

type commitRun struct {
	run.View
	Stack string // the stack's name
}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// runsPerStack bounds how far back each stack's runs are searched for the
// commit: a commit's runs are among a stack's newest.
const runsPerStack = 10

// commitRuns is /runs?commit=<sha>, where aggregated commit statuses
// (hoist/tracked, hoist/proposed) link: the runs of every stack the viewer
// may read on that commit. The stack and run services decide visibility.
func (u *UI) commitRuns(w http.ResponseWriter, r *http.Request) error {
	sha := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("commit")))
	if !shaPattern.MatchString(sha) {
		return apperr.InvalidField("commit", "give ?commit= with a commit SHA (7 to 64 hexadecimal characters)")
	}
	ctx, p := r.Context(), principal(r)
	page := commitRunsPage{SHA: sha}
	cursor := ""
	for range 50 {
		stacks, next, err := u.cfg.Stacks.List(ctx, p, "", cursor, 200)
		if err != nil {
			return err
		}
		for _, st := range stacks {
			views, _, err := u.cfg.Runs.List(ctx, p, st.ID, "", runsPerStack)
			if err != nil {
				return err
			}
			for _, v := range views {
				if strings.HasPrefix(v.CommitSHA, sha) {
					page.Runs = append(page.Runs, commitRun{View: v, Stack: st.Name})
				}
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	return u.render(w, r, http.StatusOK, "commit_runs", view{Title: "Runs on " + shortSHA(sha), Nav: "stacks", Content: page})
}
