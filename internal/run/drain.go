package run

import (
	"context"

	"github.com/hoistdev/hoist/internal/apperr"
)

// A server that shuts down (docs/ops.md) drains: it leases no more runs,
// and its workers hand back the runs they cannot finish in time, before
// those change anything, for another worker to run from the start.

// ErrShuttingDown answers lease requests and log follows on a server that
// drains: the caller asks again, and reaches another replica.
var ErrShuttingDown = apperr.Errorf(apperr.Unavailable, "this Hoist server is shutting down: ask again (another server will answer)")

// Drain stops handing out runs through this service: waiting lease
// requests and later ones fail with ErrShuttingDown, and so do log
// follows, so that they do not hold the HTTP server open. Workers holding
// runs go on (heartbeats, logs, plans, Finish, HandBack); the scheduler
// runs until Stop. Safe to call more than once.
func (s *Service) Drain() {
	s.drainOnce.Do(func() { close(s.draining) })
}

func (s *Service) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// HandBack gives back a run its worker holds under leaseID before the run
// changed anything: from PREPARING, INITIALIZING or PLANNING to READY, or
// from PREPARING_APPLY to CONFIRMED, with the lease (and any state lock of
// the run) released, for any worker to take again from the start. The
// worker stopped its OpenTofu first. GitLab is not told: its commit status
// stays running, the only state it could show (feedback). A run past its
// plan, or applying, is a Conflict: it finishes, or fails as lost.
func (s *Service) HandBack(ctx context.Context, runID, leaseID string) (Run, error) {
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if err != nil {
		return Run{}, err
	}
	to, ok := HandBackTarget(r.Type, r.State)
	if !ok {
		return Run{}, apperr.Errorf(apperr.Conflict, "run %s is %s: only a run that has not reported its plan or started applying can be handed back", runID, r.State)
	}
	actor := s.workerActor(ctx, runID)
	r, err = s.moveRun(ctx, Move{RunID: runID, From: []State{r.State}, To: to, At: s.now(), Actor: actor, LeaseID: leaseID,
		ReleaseLease: true, Note: "handed back: its worker is shutting down; a worker runs it again from the start"})
	if err != nil {
		return Run{}, err
	}
	s.log.InfoContext(ctx, "run handed back", "run_id", runID, "worker", actor, "state", string(to))
	s.Notify()
	return r, nil
}
