package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// toAgentPoolJSON is a pool on the wire. Token is set only in the answers
// to creation and rotation; Agents only for admins of the pool's space
// (omitted, not empty, for its readers).
func toAgentPoolJSON(v vcsagent.View, token string) api.VCSAgentPool {
	out := api.VCSAgentPool{ID: v.ID, Name: v.Name, Space: v.SpaceID, Description: v.Description, Token: token, ConnectedAgents: v.Connected,
		CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy, TokenRotatedAt: v.RotatedAt}
	if v.Agents != nil {
		out.Agents = make([]api.VCSAgent, 0, len(v.Agents))
		for _, a := range v.Agents {
			out.Agents = append(out.Agents, api.VCSAgent(a))
		}
	}
	return out
}

func (a *API) registerAgentPoolRoutes() {
	a.authed("GET /api/v1/vcs-agent-pools", a.listAgentPools)
	a.authed("POST /api/v1/vcs-agent-pools", a.createAgentPool)
	a.authed("GET /api/v1/vcs-agent-pools/{id}", a.getAgentPool)
	a.authed("PATCH /api/v1/vcs-agent-pools/{id}", a.updateAgentPool)
	a.authed("DELETE /api/v1/vcs-agent-pools/{id}", a.deleteAgentPool)
	a.authed("POST /api/v1/vcs-agent-pools/{id}/rotate-token", a.rotateAgentPoolToken)
	a.public("GET "+tunnel.ConnectPath, a.connectAgent)
}

func (a *API) createAgentPool(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateVCSAgentPool
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.AgentPools.Create(r.Context(), principalOf(r), vcsagent.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAgentPoolJSON(v.View, v.Token))
	return nil
}

func (a *API) listAgentPools(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	views, next, err := a.cfg.AgentPools.List(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(views, next, func(v vcsagent.View) api.VCSAgentPool { return toAgentPoolJSON(v, "") }))
	return nil
}

func (a *API) getAgentPool(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.AgentPools.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAgentPoolJSON(v, ""))
	return nil
}

func (a *API) updateAgentPool(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateVCSAgentPool
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.AgentPools.Update(r.Context(), principalOf(r), r.PathValue("id"), vcsagent.Patch(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAgentPoolJSON(v, ""))
	return nil
}

func (a *API) rotateAgentPoolToken(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.AgentPools.RotateToken(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAgentPoolJSON(v.View, v.Token))
	return nil
}

func (a *API) deleteAgentPool(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.AgentPools.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// connectAgent is where `hoist vcs-agent` opens its streams, authenticated
// by the pool token (never an API key). The request becomes a WebSocket and
// lives as long as the stream.
func (a *API) connectAgent(w http.ResponseWriter, r *http.Request) error {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return apperr.Errorf(apperr.Unauthorized, "missing pool token: send the header Authorization: Bearer <pool-token>")
	}
	p, err := a.cfg.AgentPools.Authenticate(r.Context(), token)
	if err != nil {
		return err
	}
	if li, ok := r.Context().Value(logInfoKey).(*logInfo); ok {
		li.principal = "vcs-agent-pool:" + p.ID
	}
	recheck := func(ctx context.Context) error {
		_, err := a.cfg.AgentPools.Authenticate(ctx, token)
		return err
	}
	return a.cfg.Agents.Serve(w, r, tunnel.Conn{Pool: p.ID, TokenHash: p.TokenHash, Recheck: recheck})
}
