package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/state"
)

// registerRunRoutes registers the runs API (SPEC §6.2), stack variables,
// state versions, worker pools, the state backend and the worker protocol.
func (a *API) registerRunRoutes() {
	a.authed("GET /api/v1/stacks/{id}/runs", a.listRuns)
	a.authed("POST /api/v1/stacks/{id}/runs", a.triggerRun)
	a.authed("GET /api/v1/runs/{id}", a.getRun)
	a.authed("POST /api/v1/runs/{id}/confirm", a.runAction(run.Confirm))
	a.authed("POST /api/v1/runs/{id}/discard", a.runAction(run.Discard))
	a.authed("POST /api/v1/runs/{id}/stop", a.runAction(run.Stop))
	a.authed("GET /api/v1/runs/{id}/logs", a.runLogs)
	a.authed("GET /api/v1/runs/{id}/reviews", a.listReviews)
	a.authed("POST /api/v1/runs/{id}/reviews", a.reviewRun)

	a.authed("GET /api/v1/stacks/{id}/variables", a.listVariables)
	a.authed("PUT /api/v1/stacks/{id}/variables/{name}", a.setVariable)
	a.authed("DELETE /api/v1/stacks/{id}/variables/{name}", a.deleteVariable)
	a.authed("GET /api/v1/stacks/{id}/state-versions", a.listStateVersions)

	a.authed("GET /api/v1/worker-pools", a.listWorkerPools)
	a.authed("POST /api/v1/worker-pools", a.createWorkerPool)
	a.authed("DELETE /api/v1/worker-pools/{id}", a.deleteWorkerPool)

	a.registerStateBackend()
	a.registerWorkerProtocol()
}

// toRunJSON is a run on the wire. Delta is null until the run has a plan
// (a run that failed or stopped before it has nothing to count).
func toRunJSON(v run.View) api.Run {
	r := v.Run
	out := api.Run{ID: r.ID, Stack: r.StackID, Type: string(r.Type), State: string(r.State), CommitSHA: r.CommitSHA,
		Branch: r.Branch, MergeRequestIID: r.MergeRequestIID, MergeRequestURL: r.MergeRequestURL, Trigger: r.Trigger,
		TriggeredBy: r.TriggeredBy, Reason: r.Reason, Command: r.TaskCommand, Schedule: r.ScheduleID, BlockedBy: v.BlockedBy,
		Resources: convert(v.Resources, toResourceJSON), Error: v.Error, ErrorDetail: r.ErrorDetail, Tool: v.Binary.Tool, ToolVersion: v.Binary.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		History: make([]api.Transition, 0, len(v.History))}
	if r.Planned {
		d := api.Delta(r.Delta)
		out.Delta = &d
	}
	for _, t := range v.History {
		out.History = append(out.History, api.Transition{State: string(t.State), At: t.At, Actor: t.Actor, Note: t.Note})
	}
	return out
}

func toResourceJSON(r run.Resource) api.Resource {
	out := api.Resource{Address: r.Address, Action: r.Action}
	for _, c := range r.Changes {
		out.Changes = append(out.Changes, api.AttrChange(c))
	}
	return out
}

func fromResourceJSON(r api.Resource) run.Resource {
	out := run.Resource{Address: r.Address, Action: r.Action}
	for _, c := range r.Changes {
		out.Changes = append(out.Changes, run.AttrChange(c))
	}
	return out
}

func toWriteJSON(w feedback.WriteView) api.GitLabWrite {
	return api.GitLabWrite{ID: w.ID, Kind: string(w.Kind), Target: w.Target, State: string(w.State), Attempts: w.Attempts,
		NextAttemptAt: w.NextAttemptAt, LastError: w.LastError, Result: w.Result, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	views, next, err := a.cfg.Runs.List(r.Context(), principalOf(r), r.PathValue("id"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(views, next, toRunJSON))
	return nil
}

func (a *API) triggerRun(w http.ResponseWriter, r *http.Request) error {
	var req api.TriggerRun
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	v, err := a.cfg.Runs.Trigger(r.Context(), principalOf(r), r.PathValue("id"),
		run.TriggerInput{Type: run.Type(req.Type), CommitSHA: req.CommitSHA, Command: req.Command})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRunJSON(v))
	return nil
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.Runs.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := toRunJSON(v)
	if a.cfg.GitLabWrites != nil {
		ws, err := a.cfg.GitLabWrites.ListWrites(r.Context(), v.Run.ID)
		if err != nil {
			return err
		}
		out.GitLabWrites = convert(ws, toWriteJSON)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func toReviewJSON(r run.Review) api.Review {
	return api.Review{ID: r.ID, Run: r.RunID, Reviewer: r.Reviewer, Role: string(r.Role), Decision: string(r.Decision),
		Note: r.Note, CreatedAt: r.At}
}

func (a *API) listReviews(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.cfg.Runs.Reviews(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(rs, "", toReviewJSON))
	return nil
}

func (a *API) reviewRun(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateReview
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rv, v, err := a.cfg.Runs.AddReview(r.Context(), principalOf(r), r.PathValue("id"),
		run.ReviewInput{Decision: run.Decision(req.Decision), Note: req.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.ReviewResult{Review: toReviewJSON(rv), Run: toRunJSON(v)})
	return nil
}

func (a *API) runAction(act run.Action) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := a.cfg.Runs.Act(r.Context(), principalOf(r), r.PathValue("id"), act)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRunJSON(v))
		return nil
	}
}

// runLogs answers the log as JSON chunks (?after=<id> continues), or with
// ?follow=true as plain text streamed until the run ends.
func (a *API) runLogs(w http.ResponseWriter, r *http.Request) error {
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return apperr.InvalidField("after", "must be a log chunk id")
		}
		after = n
	}
	id := r.PathValue("id")
	if r.URL.Query().Get("follow") == "true" {
		return a.followLogs(w, r, id, after)
	}
	chunks, state, err := a.cfg.Runs.Logs(r.Context(), principalOf(r), id, after)
	if err != nil {
		return err
	}
	out := api.RunLogs{Items: make([]api.LogChunk, 0, len(chunks)), State: string(state)}
	for _, c := range chunks {
		out.Items = append(out.Items, api.LogChunk{ID: c.ID, Phase: c.Phase, Body: c.Body, At: c.At})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) followLogs(w http.ResponseWriter, r *http.Request, id string, after int64) error {
	started := false
	flusher, _ := w.(http.Flusher)
	if rc := http.NewResponseController(w); rc != nil {
		_ = rc.SetWriteDeadline(time.Time{}) // a follow lasts as long as the run
	}
	err := a.cfg.Runs.FollowLogs(r.Context(), principalOf(r), id, after, func(c run.LogChunk) error {
		if !started {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if _, err := w.Write([]byte(c.Body)); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if started {
		if apperr.Is(err, apperr.Unavailable) {
			// The server shuts down: cut the stream rather than end it, so
			// the follower sees that the run goes on.
			panic(http.ErrAbortHandler)
		}
		return nil // the status is sent; an error here is a client gone away
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

func toVariableJSON(v run.Variable) api.Variable {
	out := api.Variable{Name: v.Name, Secret: v.Secret, UpdatedAt: v.UpdatedAt}
	if !v.Secret {
		val := v.Value
		out.Value = &val
	}
	return out
}

func (a *API) listVariables(w http.ResponseWriter, r *http.Request) error {
	vs, err := a.cfg.Runs.Variables(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(vs, "", toVariableJSON))
	return nil
}

func (a *API) setVariable(w http.ResponseWriter, r *http.Request) error {
	var req api.SetVariable
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Runs.SetVariable(r.Context(), principalOf(r), r.PathValue("id"),
		run.VariableInput{Name: r.PathValue("name"), Value: req.Value, Secret: req.Secret})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toVariableJSON(v))
	return nil
}

func (a *API) deleteVariable(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Runs.DeleteVariable(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listStateVersions(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	stackID := r.PathValue("id")
	if _, err := a.cfg.Runs.Variables(r.Context(), principalOf(r), stackID); err != nil {
		return err // the same read check as the stack's other details
	}
	vs, next, err := a.cfg.State.Versions(r.Context(), stackID, cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(vs, next, func(v state.Version) api.StateVersion {
		return api.StateVersion{ID: v.ID, Serial: v.Serial, Lineage: v.Lineage, Run: v.RunID, Size: v.Size, CreatedAt: v.CreatedAt}
	}))
	return nil
}

func (a *API) listWorkerPools(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.cfg.Runs.Pools(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ps, "", func(p run.Pool) api.WorkerPool {
		return api.WorkerPool{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy}
	}))
	return nil
}

func (a *API) createWorkerPool(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateWorkerPool
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, token, err := a.cfg.Runs.CreatePool(r.Context(), principalOf(r), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.WorkerPool{ID: p.ID, Name: p.Name, Token: token, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy})
	return nil
}

func (a *API) deleteWorkerPool(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Runs.DeletePool(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
