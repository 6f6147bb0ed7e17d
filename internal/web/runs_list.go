package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
)

// runsPageSize is how many runs one page of the runs list shows.
const runsPageSize = 50

// attentionStates are the states of "needs my attention": runs waiting
// for someone to confirm or review them.
var attentionStates = []run.State{run.Unconfirmed, run.PendingReview}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// idPattern bounds the stack and space filters to the shape of ids, so a
// hostile value is refused before it reaches the database.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// runsFilter is the runs list's query string, validated.
type runsFilter struct {
	State     string
	Type      string
	Stack     string
	Space     string
	Commit    string
	Attention bool
	Cursor    string
}

// parseRunsFilter reads and checks the filters of /runs; a value that is
// not one the page offers is an Invalid error naming it.
func parseRunsFilter(q url.Values) (runsFilter, error) {
	f := runsFilter{State: strings.ToUpper(strings.TrimSpace(q.Get("state"))), Type: strings.ToUpper(strings.TrimSpace(q.Get("type"))),
		Stack: strings.TrimSpace(q.Get("stack")), Space: strings.TrimSpace(q.Get("space")),
		Commit: strings.ToLower(strings.TrimSpace(q.Get("commit"))), Attention: q.Get("attention") == "1", Cursor: q.Get("cursor")}
	switch {
	case f.State != "" && !run.State(f.State).Valid():
		return f, apperr.InvalidField("state", "%q is not a run state; pick one of the list's states", truncate(f.State, 40))
	case f.Type != "" && !run.Type(f.Type).Valid():
		return f, apperr.InvalidField("type", "%q is not a run type: TRACKED, PROPOSED or TASK", truncate(f.Type, 40))
	case f.Stack != "" && !idPattern.MatchString(f.Stack):
		return f, apperr.InvalidField("stack", "give a stack id (letters, digits, dots, dashes and underscores)")
	case f.Space != "" && !idPattern.MatchString(f.Space):
		return f, apperr.InvalidField("space", "give a space id (letters, digits, dots, dashes and underscores)")
	case f.Commit != "" && !shaPattern.MatchString(f.Commit):
		return f, apperr.InvalidField("commit", "give a commit SHA (7 to 64 hexadecimal characters)")
	case len(f.Cursor) > 200:
		return f, apperr.InvalidField("cursor", "is not a cursor returned by this list")
	}
	return f, nil
}

// query is the run.Query the filter asks for; ok is false when no run
// can match (the attention filter with a state outside it).
func (f runsFilter) query() (q run.Query, ok bool) {
	q = run.Query{Space: f.Space, StackID: f.Stack, CommitSHA: f.Commit, Type: run.Type(f.Type)}
	if f.State != "" {
		q.States = []run.State{run.State(f.State)}
	}
	if f.Attention {
		if f.State != "" && !slices.Contains(attentionStates, run.State(f.State)) {
			return q, false
		}
		if f.State == "" {
			q.States = attentionStates
		}
	}
	return q, true
}

// values is the filter as a query string, without the cursor.
func (f runsFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"state": f.State, "type": f.Type, "stack": f.Stack, "space": f.Space, "commit": f.Commit} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.Attention {
		v.Set("attention", "1")
	}
	return v
}

// Filtered reports whether any filter is set.
func (f runsFilter) Filtered() bool { return len(f.values()) > 0 }

// runsPage is the content of runs.html.
type runsPage struct {
	Filter runsFilter
	Rows   []runRow
	States []run.State
	Types  []run.Type
	// Here is this page's address (filters and cursor), where the row
	// actions come back to; Next the next page's, "" on the last page;
	// First the first page's when this is a later one.
	Here, Next, First string
}

// runRow is one run of the runs list.
type runRow struct {
	run.Listed
	CanConfirm bool // UNCONFIRMED, and the viewer may write its stack
}

// ShortSHA is the run's commit, shortened.
func (r runRow) ShortSHA() string { return shortSHA(r.CommitSHA) }

// runsList is /runs: the runs of every stack the viewer may read, newest
// first, filtered and paged in the database. /runs?commit=<sha>, where
// the aggregated commit statuses (hoist/tracked, hoist/proposed) link,
// is this list filtered to one commit.
func (u *UI) runsList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseRunsFilter(r.URL.Query())
	if err != nil {
		return err
	}
	ctx, p := r.Context(), principal(r)
	var listed []run.Listed
	next := ""
	if q, ok := f.query(); ok {
		if listed, next, err = u.cfg.Runs.Search(ctx, p, q, f.Cursor, runsPageSize); err != nil {
			return err
		}
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	page := runsPage{Filter: f, States: run.States, Types: []run.Type{run.Tracked, run.Proposed, run.Task},
		Here: "/runs", First: "", Rows: make([]runRow, 0, len(listed))}
	for _, l := range listed {
		page.Rows = append(page.Rows, runRow{Listed: l, CanConfirm: l.State == run.Unconfirmed && access.Has(l.SpaceID, space.Write)})
	}
	v := f.values()
	if q := v.Encode(); q != "" {
		page.First = "/runs?" + q
	} else {
		page.First = "/runs"
	}
	if f.Cursor != "" {
		v.Set("cursor", f.Cursor)
		page.Here = "/runs?" + v.Encode()
	} else {
		page.Here, page.First = page.First, ""
	}
	if next != "" {
		v.Set("cursor", next)
		page.Next = "/runs?" + v.Encode()
	}
	title := "Runs"
	if f.Commit != "" {
		title = "Runs on " + shortSHA(f.Commit)
	}
	return u.render(w, r, http.StatusOK, "runs", view{Title: title, Nav: "runs", Content: page})
}

// listReturn is where a run action posted from the runs list goes back
// to: the list's address it sent (filters and page), if it is one.
func listReturn(r *http.Request) string {
	ret := localPath(r.PostForm.Get("return"))
	if ret == "/runs" || strings.HasPrefix(ret, "/runs?") {
		return ret
	}
	return ""
}

// truncate cuts s to n bytes, on a character boundary (cutUTF8), marking
// the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutUTF8(s, n) + "…"
}
