package web

import (
	"errors"
	"net/http"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// agentPoolsPage is the content of agent_pools.html.
type agentPoolsPage struct {
	Pools     []vcsagent.View
	More      string
	CanCreate bool                // root admins (the service decides; this only hides the form)
	Created   *vcsagent.WithToken // the pool just created, with its token shown this once
	Error     string
	Name      string // what was typed, kept after an error
	Desc      string
}

// agentPools lists the VCS agent pools with their connected agents. Every
// signed-in principal may list them (integrations name them); only root
// admins see the create form.
func (u *UI) agentPools(w http.ResponseWriter, r *http.Request) error {
	return u.renderAgentPools(w, r, http.StatusOK, agentPoolsPage{})
}

func (u *UI) renderAgentPools(w http.ResponseWriter, r *http.Request, status int, p agentPoolsPage) error {
	pools, next, err := u.cfg.AgentPools.List(r.Context(), r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	p.Pools, p.More = pools, next
	if s, ok := sessionOf(r); ok {
		p.CanCreate = s.viewer.RootAdmin
	}
	return u.render(w, r, status, "agent_pools", view{Title: "VCS agent pools", Nav: "source-control", Content: p})
}

// createAgentPool creates a pool and shows its token once, on the answer
// itself: it is never stored, so it cannot be shown again (rotate instead).
func (u *UI) createAgentPool(w http.ResponseWriter, r *http.Request) error {
	name, desc := r.PostForm.Get("name"), r.PostForm.Get("description")
	created, err := u.cfg.AgentPools.Create(r.Context(), principal(r), vcsagent.CreateInput{Name: name, Description: desc})
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
		return u.renderAgentPools(w, r, status, agentPoolsPage{Error: ae.Message, Name: name, Desc: desc})
	}
	return u.renderAgentPools(w, r, http.StatusOK, agentPoolsPage{Created: &created})
}
