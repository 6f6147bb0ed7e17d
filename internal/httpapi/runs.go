package httpapi

import (
	"net/http"
	"strconv"
	"time"

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

type deltaJSON struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

type transitionJSON struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
}

// runJSON is a run on the wire (SPEC §6.2). Delta is null until the run
// has a plan (a run that failed or stopped before it has nothing to
// count); ErrorDetail is OpenTofu's own error of a failed run.
type runJSON struct {
	ID              string           `json:"id"`
	Stack           string           `json:"stack"`
	Type            string           `json:"type"`
	State           string           `json:"state"`
	CommitSHA       string           `json:"commit_sha"`
	Branch          string           `json:"branch"`
	MergeRequestIID int64            `json:"merge_request_iid"`
	MergeRequestURL string           `json:"merge_request_url,omitempty"`
	Trigger         string           `json:"trigger"`
	TriggeredBy     string           `json:"triggered_by"`
	Reason          string           `json:"reason"`
	Delta           *deltaJSON       `json:"delta"`
	History         []transitionJSON `json:"history"`
	BlockedBy       string           `json:"blocked_by,omitempty"`
	Resources       []run.Resource   `json:"resources"`
	Error           string           `json:"error,omitempty"`
	ErrorDetail     string           `json:"error_detail,omitempty"`
	// Tool and ToolVersion are what executes the run, as its worker found
	// the binary, once it said.
	Tool        string `json:"tool,omitempty"`
	ToolVersion string `json:"tool_version,omitempty"`
	// GitLabWrites are the run's writes to GitLab and their outcome (on
	// GET /runs/{id} only).
	GitLabWrites []feedback.WriteView `json:"gitlab_writes,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

func toRunJSON(v run.View) runJSON {
	r := v.Run
	out := runJSON{ID: r.ID, Stack: r.StackID, Type: string(r.Type), State: string(r.State), CommitSHA: r.CommitSHA,
		Branch: r.Branch, MergeRequestIID: r.MergeRequestIID, MergeRequestURL: r.MergeRequestURL, Trigger: r.Trigger,
		TriggeredBy: r.TriggeredBy, Reason: r.Reason, BlockedBy: v.BlockedBy,
		Resources: v.Resources, Error: v.Error, ErrorDetail: r.ErrorDetail, Tool: v.Binary.Tool, ToolVersion: v.Binary.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		History: make([]transitionJSON, 0, len(v.History))}
	if r.Planned {
		d := deltaJSON(r.Delta)
		out.Delta = &d
	}
	for _, t := range v.History {
		out.History = append(out.History, transitionJSON{State: string(t.State), At: t.At, Actor: t.Actor, Note: t.Note})
	}
	return out
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

type triggerRunRequest struct {
	Type      string `json:"type"`
	CommitSHA string `json:"commit_sha"`
}

func (a *API) triggerRun(w http.ResponseWriter, r *http.Request) error {
	var req triggerRunRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	v, err := a.cfg.Runs.Trigger(r.Context(), principalOf(r), r.PathValue("id"),
		run.TriggerInput{Type: run.Type(req.Type), CommitSHA: req.CommitSHA})
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
		if out.GitLabWrites, err = a.cfg.GitLabWrites.ListWrites(r.Context(), v.Run.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
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

type logChunkJSON struct {
	ID    int64     `json:"id"`
	Phase string    `json:"phase"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
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
	out := struct {
		Items []logChunkJSON `json:"items"`
		State string         `json:"state"`
	}{Items: make([]logChunkJSON, 0, len(chunks)), State: string(state)}
	for _, c := range chunks {
		out.Items = append(out.Items, logChunkJSON{ID: c.ID, Phase: c.Phase, Body: c.Body, At: c.At})
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
		return nil // the status is sent; an error here is a client gone away
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

type variableJSON struct {
	Name      string    `json:"name"`
	Value     *string   `json:"value"` // null for secrets: write-only
	Secret    bool      `json:"secret"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toVariableJSON(v run.Variable) variableJSON {
	out := variableJSON{Name: v.Name, Secret: v.Secret, UpdatedAt: v.UpdatedAt}
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

type setVariableRequest struct {
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
}

func (a *API) setVariable(w http.ResponseWriter, r *http.Request) error {
	var req setVariableRequest
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

type stateVersionJSON struct {
	ID        int64     `json:"id"`
	Serial    int64     `json:"serial"`
	Lineage   string    `json:"lineage"`
	Run       string    `json:"run"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
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
	writeJSON(w, http.StatusOK, pageOf(vs, next, func(v state.Version) stateVersionJSON {
		return stateVersionJSON{ID: v.ID, Serial: v.Serial, Lineage: v.Lineage, Run: v.RunID, Size: v.Size, CreatedAt: v.CreatedAt}
	}))
	return nil
}

type workerPoolJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token,omitempty"` // only when created
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

func (a *API) listWorkerPools(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.cfg.Runs.Pools(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ps, "", func(p run.Pool) workerPoolJSON {
		return workerPoolJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy}
	}))
	return nil
}

func (a *API) createWorkerPool(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, token, err := a.cfg.Runs.CreatePool(r.Context(), principalOf(r), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, workerPoolJSON{ID: p.ID, Name: p.Name, Token: token, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy})
	return nil
}

func (a *API) deleteWorkerPool(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Runs.DeletePool(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
