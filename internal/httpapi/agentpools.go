package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// agentJSON is one connected agent process.
type agentJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Streams     int       `json:"streams"`
	Busy        int       `json:"busy"`
	ConnectedAt time.Time `json:"connected_at"`
}

// agentPoolJSON is a VCS agent pool on the wire. Token is set only in the
// answers to creation and rotation; Agents only for admins of the pool's
// space (omitted, not empty, for its readers: "none connected" and "not
// yours to see" must not look alike).
type agentPoolJSON struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Space           string      `json:"space"`
	Description     string      `json:"description"`
	Token           string      `json:"token,omitempty"`
	ConnectedAgents int         `json:"connected_agents"`
	Agents          []agentJSON `json:"agents,omitzero"`
	CreatedAt       time.Time   `json:"created_at"`
	CreatedBy       string      `json:"created_by"`
	TokenRotatedAt  time.Time   `json:"token_rotated_at"`
}

func toAgentPoolJSON(v vcsagent.View, token string) agentPoolJSON {
	out := agentPoolJSON{ID: v.ID, Name: v.Name, Space: v.SpaceID, Description: v.Description, Token: token, ConnectedAgents: v.Connected,
		CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy, TokenRotatedAt: v.RotatedAt}
	if v.Agents != nil {
		out.Agents = make([]agentJSON, 0, len(v.Agents))
		for _, a := range v.Agents {
			out.Agents = append(out.Agents, agentJSON(a))
		}
	}
	return out
}

type createAgentPoolRequest struct {
	Name        string `json:"name"`
	Space       string `json:"space"`
	Description string `json:"description"`
}

type updateAgentPoolRequest struct {
	Space       *string `json:"space"`
	Description *string `json:"description"`
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
	var req createAgentPoolRequest
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
	writeJSON(w, http.StatusOK, pageOf(views, next, func(v vcsagent.View) agentPoolJSON { return toAgentPoolJSON(v, "") }))
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
	var req updateAgentPoolRequest
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
