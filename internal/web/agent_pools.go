package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// agentPoolRow is one pool in the list; Details is false for viewers who
// may see that the pool exists but not its agents.
type agentPoolRow struct {
	vcsagent.View
	Details bool
}

// agentPoolsPage is the content of agent_pools.html.
type agentPoolsPage struct {
	Pools   []agentPoolRow
	More    string
	Spaces  []space.Space       // where the viewer may create a pool (admin); empty hides the form
	Created *vcsagent.WithToken // the pool just created, with its token shown this once
	Error   string
	Name    string // what was typed, kept after an error
	Space   string
	Desc    string
}

// agentPools lists the VCS agent pools the viewer may see, as the API does:
// readers of a pool's space see it and how many agents are connected,
// admins of the space also which agents; the create form offers the spaces
// the viewer administers.
func (u *UI) agentPools(w http.ResponseWriter, r *http.Request) error {
	return u.renderAgentPools(w, r, http.StatusOK, agentPoolsPage{})
}

func (u *UI) renderAgentPools(w http.ResponseWriter, r *http.Request, status int, p agentPoolsPage) error {
	pools, next, err := u.cfg.AgentPools.List(r.Context(), principal(r), r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	p.Pools, p.More = make([]agentPoolRow, 0, len(pools)), next
	for _, v := range pools {
		p.Pools = append(p.Pools, agentPoolRow{View: v, Details: v.Agents != nil})
	}
	if p.Spaces, err = u.adminSpaces(r.Context(), principal(r)); err != nil {
		return err
	}
	if p.Space == "" {
		p.Space = space.RootID
	}
	return u.render(w, r, status, "agent_pools", view{Title: "VCS agent pools", Nav: "source-control", Content: p})
}

// adminSpaces returns the spaces the principal administers, in the order
// Spaces.List gives them.
func (u *UI) adminSpaces(ctx context.Context, p string) ([]space.Space, error) {
	spaces, err := u.cfg.Spaces.List(ctx, p)
	if err != nil {
		return nil, err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []space.Space
	for _, sp := range spaces {
		if access.Has(sp.ID, space.Admin) {
			out = append(out, sp)
		}
	}
	return out, nil
}

// createAgentPool creates a pool and shows its token once, on the answer
// itself: it is never stored, so it cannot be shown again (rotate instead).
func (u *UI) createAgentPool(w http.ResponseWriter, r *http.Request) error {
	name, sp, desc := r.PostForm.Get("name"), r.PostForm.Get("space"), r.PostForm.Get("description")
	created, err := u.cfg.AgentPools.Create(r.Context(), principal(r), vcsagent.CreateInput{Name: name, Space: sp, Description: desc})
	if err != nil {
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code == apperr.Internal {
			return err
		}
		status := http.StatusBadRequest
		switch ae.Code {
		case apperr.Forbidden:
			status = http.StatusForbidden
		case apperr.Conflict:
			status = http.StatusConflict
		}
		return u.renderAgentPools(w, r, status, agentPoolsPage{Error: ae.Message, Name: name, Space: sp, Desc: desc})
	}
	return u.renderAgentPools(w, r, http.StatusOK, agentPoolsPage{Created: &created})
}
