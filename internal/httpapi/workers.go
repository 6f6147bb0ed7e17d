package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

// The worker protocol over HTTP (remote workers: `hoist worker`). Workers
// authenticate with their pool's token (Authorization: Bearer); every call
// about a run names the lease in the api.LeaseHeader header.

// maxLeaseWait bounds how long a lease request may wait for a run.
const maxLeaseWait = 60 * time.Second

// maxPlanBytes bounds an uploaded saved plan.
const maxPlanBytes = 256 << 20

func (a *API) registerWorkerProtocol() {
	a.public("POST /api/v1/workers/lease", a.poolAuth(a.workerLease))
	a.public("POST /api/v1/workers/runs/{id}/heartbeat", a.poolAuth(a.workerHeartbeat))
	a.public("POST /api/v1/workers/runs/{id}/advance", a.poolAuth(a.workerAdvance))
	a.public("POST /api/v1/workers/runs/{id}/plan", a.poolAuth(a.workerPlan))
	a.public("POST /api/v1/workers/runs/{id}/finish", a.poolAuth(a.workerFinish))
	a.public("POST /api/v1/workers/runs/{id}/hand-back", a.poolAuth(a.workerHandBack))
	a.public("POST /api/v1/workers/runs/{id}/logs", a.poolAuth(a.workerLogs))
	a.public("GET /api/v1/workers/runs/{id}/plan-file", a.poolAuth(a.workerPlanFile))
	a.public("GET /api/v1/workers/runs/{id}/source", a.poolAuth(a.workerSource))
}

type poolKey struct{}

func (a *API) poolAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return apperr.Errorf(apperr.Unauthorized, "missing pool token: send Authorization: Bearer <pool-token>")
		}
		pool, err := a.cfg.Runs.AuthenticatePool(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		if li, ok := r.Context().Value(logInfoKey).(*logInfo); ok {
			li.principal = "pool:" + pool
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), poolKey{}, pool)))
	}
}

func poolOf(r *http.Request) string { p, _ := r.Context().Value(poolKey{}).(string); return p }

func lease(r *http.Request) string { return r.Header.Get(api.LeaseHeader) }

func (a *API) workerLease(w http.ResponseWriter, r *http.Request) error {
	var req api.LeaseRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Worker == "" || len(req.Worker) > 200 {
		return apperr.InvalidField("worker", "must name the worker (1 to 200 characters)")
	}
	wait := min(time.Duration(req.WaitSeconds*float64(time.Second)), maxLeaseWait)
	job, ok, err := a.cfg.Runs.Lease(r.Context(), poolOf(r), req.Worker, max(wait, 0))
	if err != nil {
		return err
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (a *API) workerHeartbeat(w http.ResponseWriter, r *http.Request) error {
	st, err := a.cfg.Runs.Heartbeat(r.Context(), r.PathValue("id"), lease(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.RunState{State: string(st)})
	return nil
}

func (a *API) workerAdvance(w http.ResponseWriter, r *http.Request) error {
	var req api.Advance
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rn, err := a.cfg.Runs.Advance(r.Context(), r.PathValue("id"), lease(r), run.Step{To: run.State(req.State), Note: req.Note,
		Binary: run.Binary{Tool: req.Tool, Version: req.ToolVersion}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.RunState{State: string(rn.State)})
	return nil
}

func (a *API) workerPlan(w http.ResponseWriter, r *http.Request) error {
	var req api.PlanReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPlanBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return decodeError(err)
	}
	apply, err := a.cfg.Runs.ReportPlan(r.Context(), r.PathValue("id"), lease(r),
		run.PlanReport{Delta: run.Delta(req.Delta), HasChanges: req.HasChanges, Plan: req.Plan, PlanJSON: req.PlanJSON,
			Resources: convert(req.Resources, fromResourceJSON)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.PlanAnswer{Apply: apply})
	return nil
}

func (a *API) workerFinish(w http.ResponseWriter, r *http.Request) error {
	var req api.Finish // ErrorDetail: tofu's Error: blocks; bounded by the service
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rn, err := a.cfg.Runs.Finish(r.Context(), r.PathValue("id"), lease(r), req.Error, req.ErrorDetail)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.RunState{State: string(rn.State)})
	return nil
}

// workerHandBack is a worker shutting down giving a run back before it
// changed anything (run.Service.HandBack).
func (a *API) workerHandBack(w http.ResponseWriter, r *http.Request) error {
	rn, err := a.cfg.Runs.HandBack(r.Context(), r.PathValue("id"), lease(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.RunState{State: string(rn.State)})
	return nil
}

func (a *API) workerLogs(w http.ResponseWriter, r *http.Request) error {
	var req api.AppendLog
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.Runs.AppendLog(r.Context(), r.PathValue("id"), lease(r), req.Phase, req.Text); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) workerPlanFile(w http.ResponseWriter, r *http.Request) error {
	b, err := a.cfg.Runs.PlanFile(r.Context(), r.PathValue("id"), lease(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
	return nil
}

// workerSource streams the source archive. Errors before the first byte
// are error answers; later ones end the stream with api.SourceErrorTrailer
// (worker.Client reads it; a truncated archive without it still fails to
// extract, on workers that do not read it).
func (a *API) workerSource(w http.ResponseWriter, r *http.Request) error {
	// No write timeout: the source may wait for a VCS agent as long as the
	// worker holds the run, and a large archive streams for long.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	sw := &lazyWriter{w: w}
	err := a.cfg.Runs.Source(r.Context(), r.PathValue("id"), lease(r), sw)
	if err != nil && !sw.started {
		return err
	}
	if err != nil {
		a.log.WarnContext(r.Context(), "stream source archive", "run_id", r.PathValue("id"), "error", err.Error())
		w.Header().Set(api.SourceErrorTrailer, apperr.MessageOf(err))
		return nil
	}
	if !sw.started {
		sw.start()
	}
	return nil
}

// lazyWriter sends the status with the first byte, announcing the error
// trailer.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) start() {
	l.w.Header().Set("Content-Type", "application/gzip")
	l.w.Header().Set("Trailer", api.SourceErrorTrailer)
	l.w.WriteHeader(http.StatusOK)
	l.started = true
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}
