package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// stackRow is a stack with the links the UI shows for it.
type stackRow struct {
	stack.View
	RepoURL   string // the repository on the integration's user-facing host; "" when it is not a web URL
	CommitURL string
}

// ShortSHA is the tracked commit's first 8 characters.
func (r stackRow) ShortSHA() string {
	if r.TrackedCommit == nil {
		return ""
	}
	return shortSHA(r.TrackedCommit.SHA)
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// stackListRow is one row of the stacks list: the stack and its last run.
type stackListRow struct {
	stackRow
	LastRun *stack.LastRun
	RunWhen moment // when the last run last changed
}

// stackFilters are the stacks list's filters, as the query string spells
// them.
type stackFilters struct {
	Space, Label, State, Q string
}

// Any reports whether a filter is set.
func (f stackFilters) Any() bool { return f != stackFilters{} }

// query is the filters as a query string, with cursor when given.
func (f stackFilters) query(cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"space": f.Space, "label": f.Label, "state": f.State, "q": f.Q, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

type stacksPage struct {
	Rows      []stackListRow
	More      string // the next page's query string
	Filters   stackFilters
	Spaces    []space.Space // the filter's choices: the spaces the viewer reads
	States    []run.State
	Error     string // a refused filter
	CanCreate bool   // the viewer is admin of a space
}

// stacksList lists the stacks the viewer may read with their last run,
// filtered and paged in SQL (stack.Service.ListSummaries).
func (u *UI) stacksList(w http.ResponseWriter, r *http.Request) error {
	ctx, p, q := r.Context(), principal(r), r.URL.Query()
	pg := stacksPage{States: run.States,
		Filters: stackFilters{Space: q.Get("space"), Label: q.Get("label"), State: q.Get("state"), Q: q.Get("q")}}
	spaces, err := u.cfg.Spaces.List(ctx, p)
	if err != nil {
		return err
	}
	pg.Spaces = spaces
	if pg.CanCreate, err = u.canCreateStacks(ctx, p); err != nil {
		return err
	}
	status := http.StatusOK
	sums, next, err := u.listSummaries(ctx, p, pg.Filters, q.Get("cursor"))
	if err != nil {
		_, msg, code, err := fieldError(err)
		if err != nil {
			return err
		}
		pg.Error, status = msg, code
	}
	hosts, err := u.userFacingHosts(ctx, p)
	if err != nil {
		return err
	}
	for _, sm := range sums {
		row := stackListRow{stackRow: rowOf(stack.View{Stack: sm.Stack, Drift: sm.Drift}, hosts), LastRun: sm.LastRun}
		if sm.LastRun != nil {
			row.RunWhen = u.moment(sm.LastRun.UpdatedAt)
		}
		pg.Rows = append(pg.Rows, row)
	}
	if next != "" {
		pg.More = pg.Filters.query(next)
	}
	return u.render(w, r, status, "stacks", view{Title: "Stacks", Nav: "stacks", Flash: stackFlashes[q.Get("done")], Content: pg})
}

// listSummaries checks the state filter (the run package owns the states)
// and asks the stack service for one page.
func (u *UI) listSummaries(ctx context.Context, p string, f stackFilters, cursor string) ([]stack.Summary, string, error) {
	if f.State != "" && f.State != stack.NoRuns && !slices.Contains(run.States, run.State(f.State)) {
		return nil, "", apperr.InvalidField("state", "No run state %.40q: pick one of the list.", f.State)
	}
	return u.cfg.Stacks.ListSummaries(ctx, p, stack.SummaryQuery{Space: f.Space, Label: f.Label, LastRunState: f.State, Text: f.Q}, cursor, 50)
}

// canCreateStacks reports whether p is admin of a space, where stacks can
// be created.
func (u *UI) canCreateStacks(ctx context.Context, p string) (bool, error) {
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return false, err
	}
	return len(access.Spaces(space.Admin)) > 0, nil
}

// StackPolicies lists the policies that apply to a stack the viewer may
// read (policy.Service); the stack page shows them when Config.Policies
// offers it.
type StackPolicies interface {
	ForStack(ctx context.Context, actor, stackID string) ([]policy.Attached, error)
}

type stackPage struct {
	stackRow
	BranchURL    string
	Runs         []run.View
	OlderRuns    string // the cursor of the next page of runs
	ShowRuns     bool   // runs are wired
	CanTrigger   bool   // the viewer may write to the stack's space
	CanManage    bool   // the viewer is admin of the stack's space: edit, delete, variables
	LockWhen     moment
	ShowPolicies bool
	Policies     []policy.Attached
	Vars         *varsCard      // nil without runs
	Schedules    *schedulesCard // nil without runs or schedules
	DriftWhen    moment
	// InheritDrift is the integration's drift issue setting, for a stack
	// that follows it; "" when the viewer may not read the integration.
	InheritDrift string
}

func (u *UI) stackDetails(w http.ResponseWriter, r *http.Request) error {
	return u.showStack(w, r, http.StatusOK, stackForms{})
}

// stackForms are the stack page's forms after a refusal (nil: fresh).
type stackForms struct {
	vars     *varForm
	schedule *scheduleForm
}

// showStack renders the stack page with forms as refused, if any.
func (u *UI) showStack(w http.ResponseWriter, r *http.Request, status int, forms stackForms) error {
	ctx, p := r.Context(), principal(r)
	v, err := u.cfg.Stacks.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	hosts, err := u.userFacingHosts(ctx, p)
	if err != nil {
		return err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	pg := stackPage{stackRow: rowOf(v, hosts), CanManage: stack.CanManage(v.SpaceID, access)}
	if pg.RepoURL != "" {
		pg.BranchURL = pg.RepoURL + "/-/tree/" + v.Branch
	}
	if v.MRLock != nil {
		pg.LockWhen = u.moment(v.MRLock.LockedAt)
	}
	if v.Drift != nil {
		pg.DriftWhen = u.moment(v.Drift.ChangedAt)
	}
	if v.DriftIssue != stack.DriftIssueOn && v.DriftIssue != stack.DriftIssueOff && v.IntegrationID != "" && u.cfg.Integrations != nil {
		switch it, err := u.cfg.Integrations.Get(ctx, p, v.IntegrationID); {
		case err == nil:
			pg.InheritDrift = driftSetting(it.Integration)
		case !apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.Forbidden):
			return err
		}
	}
	if sp, ok := u.cfg.Policies.(StackPolicies); ok && sp != nil {
		pg.ShowPolicies = true
		if pg.Policies, err = sp.ForStack(ctx, p, v.ID); err != nil {
			return err
		}
	}
	if pg.ShowRuns = u.cfg.Runs != nil; pg.ShowRuns {
		if pg.Runs, pg.OlderRuns, err = u.cfg.Runs.List(ctx, p, v.ID, r.URL.Query().Get("runs"), 20); err != nil {
			return err
		}
		pg.CanTrigger = access.Has(v.SpaceID, space.Write) && !v.Detached()
		if pg.Vars, err = u.varsCard(ctx, p, v.ID, forms.vars); err != nil {
			return err
		}
		if pg.Schedules, err = u.schedulesCard(ctx, p, v.ID, forms.schedule); err != nil {
			return err
		}
	}
	return u.render(w, r, status, "stack", view{Title: v.Name, Nav: "stacks", Flash: stackFlashes[r.URL.Query().Get("done")], Content: pg})
}

// stackFlashes are the fixed messages a stack redirect may ask for with
// ?done=.
var stackFlashes = map[string]string{
	"created":           "Stack created. Push to its tracked branch, or trigger a run.",
	"created-unchecked": "Stack created. Its repository and branch were not checked: its integration is reached through a VCS agent pool and no agent of it is connected.",
	"updated":           "Stack saved.",
	"deleted":           "Stack deleted, with its variables. Its runs and state versions are kept.",
	"var-set":           "Variable saved: new runs get it.",
	"var-deleted":       "Variable deleted.",
	"schedule-created":  "Schedule created.",
	"schedule-deleted":  "Schedule deleted.",
}

// userFacingHosts maps the integrations the viewer may list to their
// user-facing hosts, for repository links.
func (u *UI) userFacingHosts(ctx context.Context, p string) (map[string]string, error) {
	views, err := u.visibleIntegrations(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(views))
	for _, v := range views {
		out[v.ID] = v.UserFacingHost
	}
	return out, nil
}

// visibleIntegrations lists every integration the viewer may list.
func (u *UI) visibleIntegrations(ctx context.Context, p string) ([]integration.View, error) {
	var out []integration.View
	cursor := ""
	for range 20 { // 2,000 integrations is far beyond any real account
		views, next, err := u.cfg.Integrations.List(ctx, p, cursor, 100)
		if err != nil {
			return nil, err
		}
		out = append(out, views...)
		if cursor = next; cursor == "" {
			break
		}
	}
	return out, nil
}

func rowOf(v stack.View, hosts map[string]string) stackRow {
	row := stackRow{View: v}
	host := hosts[v.IntegrationID]
	if strings.HasPrefix(host, "https://") || strings.HasPrefix(host, "http://") {
		row.RepoURL = strings.TrimRight(host, "/") + "/" + v.Repository
		if v.TrackedCommit != nil {
			row.CommitURL = row.RepoURL + "/-/commit/" + v.TrackedCommit.SHA
		}
	}
	return row
}

// stacksUsing lists the stacks the viewer can read that use integration id:
// the stacks a delete would detach.
func (u *UI) stacksUsing(ctx context.Context, p, id string) ([]stack.View, error) {
	if u.cfg.Stacks == nil {
		return nil, nil
	}
	var out []stack.View
	cursor := ""
	for range 50 {
		views, next, err := u.cfg.Stacks.List(ctx, p, "", cursor, 200)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			if v.IntegrationID == id {
				out = append(out, v)
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	return out, nil
}
