package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/stack"
)

func toStackJSON(v stack.View) api.Stack {
	st := v.Stack
	out := api.Stack{ID: st.ID, Name: st.Name, Space: st.SpaceID, Detached: st.Detached(), DetachedReason: st.DetachedReason(),
		Repository: st.Repository, ProjectID: st.ProjectID, Branch: st.Branch, ProjectRoot: st.ProjectRoot,
		AdditionalProjectGlobs: nonNilStrings(st.AdditionalProjectGlobs), Labels: nonNilStrings(st.Labels),
		Autodeploy: st.Autodeploy, Description: st.Description, Tool: string(st.Tool), ToolVersion: st.ToolVersion,
		WorkerPool: st.WorkerPool, AllowForkMRs: st.AllowForkMRs, GitCheckout: st.GitCheckout, MRPlanMinAccess: st.MRPlanMinAccess,
		MRApply: st.MRApply, MRApplyMinAccess: st.MRApplyMinAccess, ApplyRequirements: nonNilStrings(st.ApplyRequirements),
		MRAutomerge: st.MRAutomerge, DriftIssue: st.DriftIssue == stack.DriftIssueOn,
		DriftIssueMode: string(st.DriftIssue), DriftIssueLabels: nonNilStrings(st.DriftIssueLabels),
		Drifted: v.Drift != nil && v.Drift.Drifted, Drift: toDriftJSON(v.Drift),
		CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt, Warnings: v.Warnings}
	if !st.Detached() {
		id := st.IntegrationID
		out.Integration = &id
	}
	if l := v.MRLock; l != nil {
		out.MRLock = &api.StackMRLock{MergeRequestIID: l.MergeRequestIID, MergeRequestURL: l.MergeRequestURL,
			LockedBy: l.LockedBy, Run: l.RunID, LockedAt: l.LockedAt}
	}
	if c := st.TrackedCommit; c != nil {
		out.TrackedCommit = &api.TrackedCommit{SHA: c.SHA, Branch: c.Branch, MovedAt: c.MovedAt}
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// updateStackRequest accepts id only to refuse it by name.
type updateStackRequest struct {
	api.UpdateStack
	ID *string `json:"id"`
}

func (a *API) createStack(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateStack
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Stacks.Create(r.Context(), principalOf(r), stack.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toStackJSON(v))
	return nil
}

func (a *API) listStacks(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	views, next, err := a.cfg.Stacks.List(r.Context(), principalOf(r), r.URL.Query().Get("space"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(views, next, toStackJSON))
	return nil
}

func (a *API) getStack(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.Stacks.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStackJSON(v))
	return nil
}

func (a *API) updateStack(w http.ResponseWriter, r *http.Request) error {
	var req updateStackRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ID != nil {
		return apperr.InvalidField("id", "cannot be changed: a stack's id is fixed when it is created (the name can change)")
	}
	v, err := a.cfg.Stacks.Update(r.Context(), principalOf(r), r.PathValue("id"), stack.Patch{
		Name: req.Name, Space: req.Space, Integration: req.Integration, Repository: req.Repository, Branch: req.Branch,
		ProjectRoot: req.ProjectRoot, AdditionalProjectGlobs: req.AdditionalProjectGlobs, Labels: req.Labels,
		Autodeploy: req.Autodeploy, Description: req.Description, Tool: req.Tool, ToolVersion: req.ToolVersion,
		WorkerPool: req.WorkerPool, AllowForkMRs: req.AllowForkMRs, GitCheckout: req.GitCheckout, MRPlanMinAccess: req.MRPlanMinAccess,
		MRApply: req.MRApply, MRApplyMinAccess: req.MRApplyMinAccess, ApplyRequirements: req.ApplyRequirements,
		MRAutomerge: req.MRAutomerge, DriftIssue: req.DriftIssue, DriftIssueMode: req.DriftIssueMode,
		DriftIssueLabels: req.DriftIssueLabels})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStackJSON(v))
	return nil
}

func (a *API) deleteStack(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Stacks.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
