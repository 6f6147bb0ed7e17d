package web

import (
	"context"
	"net/http"
	"strings"

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

type stacksPage struct {
	Rows []stackRow
	More string
}

// stacksList lists the stacks the viewer may read (the stack service's
// rule).
func (u *UI) stacksList(w http.ResponseWriter, r *http.Request) error {
	views, next, err := u.cfg.Stacks.List(r.Context(), principal(r), "", r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	hosts, err := u.userFacingHosts(r.Context(), principal(r))
	if err != nil {
		return err
	}
	p := stacksPage{More: next}
	for _, v := range views {
		p.Rows = append(p.Rows, rowOf(v, hosts))
	}
	return u.render(w, r, http.StatusOK, "stacks", view{Title: "Stacks", Nav: "stacks", Content: p})
}

type stackPage struct {
	stackRow
	BranchURL  string
	Runs       []run.View
	ShowRuns   bool // runs are wired
	CanTrigger bool // the viewer may write to the stack's space
}

func (u *UI) stackDetails(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Stacks.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	hosts, err := u.userFacingHosts(r.Context(), principal(r))
	if err != nil {
		return err
	}
	p := stackPage{stackRow: rowOf(v, hosts)}
	if p.RepoURL != "" {
		p.BranchURL = p.RepoURL + "/-/tree/" + v.Branch
	}
	if p.ShowRuns = u.cfg.Runs != nil; p.ShowRuns {
		if p.Runs, err = u.stackRuns(r, v.ID); err != nil {
			return err
		}
		access, _, err := u.cfg.Spaces.Access(r.Context(), principal(r))
		if err != nil {
			return err
		}
		p.CanTrigger = access.Has(v.SpaceID, space.Write) && !v.Detached()
	}
	return u.render(w, r, http.StatusOK, "stack", view{Title: v.Name, Nav: "stacks", Content: p})
}

// userFacingHosts maps the integrations the viewer may list to their
// user-facing hosts, for repository links.
func (u *UI) userFacingHosts(ctx context.Context, p string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for range 20 { // 2,000 integrations is far beyond any real account
		views, next, err := u.cfg.Integrations.List(ctx, p, cursor, 100)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			out[v.ID] = v.UserFacingHost
		}
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
