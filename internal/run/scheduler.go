package run

import (
	"context"
	"time"
)

// The scheduler: one loop per server that promotes QUEUED runs (per-stack
// FIFO lock for tracked runs and tasks; proposed runs at once) and fails
// runs whose worker stopped heartbeating. It wakes on Notify (and on Wake,
// from other servers on the same database) and also polls, because a
// wake-up from another server may be lost.

// Start runs the scheduler until Stop. Calling it twice starts one loop.
func (s *Service) Start(ctx context.Context) {
	s.loopOnce.Do(func() { go s.loop(context.WithoutCancel(ctx)) })
}

// Stop ends the scheduler and waits for it. It may be called more than once,
// and without Start.
func (s *Service) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.loopOnce.Do(func() { close(s.done) }) // never started: nothing to wait for
	<-s.done
}

func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		s.Schedule(ctx)
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-s.kick:
		}
	}
}

// Schedule runs one scheduling pass: reap lost workers, promote runs, wake
// waiting workers when something became runnable.
func (s *Service) Schedule(ctx context.Context) {
	failed := s.reapLeases(ctx)
	var p Promotion
	err := s.record(ctx, func(ctx context.Context) ([]Event, error) {
		var err error
		p, err = s.cfg.Exec.PromoteQueued(ctx, s.now())
		return p.Events, err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "promote queued runs", "error", err.Error())
		return
	}
	if len(p.Ready) > 0 || failed > 0 {
		s.broadcast()
		s.publish() // the waiting workers may be another server's
	}
}

// reapLeases fails every run whose lease ran out: "worker lost". A run
// that was applying is never handed to another worker: it fails, and its
// plan is not applied again.
func (s *Service) reapLeases(ctx context.Context) int {
	now := s.now()
	ids, err := s.cfg.Exec.ExpiredLeases(ctx, now)
	if err != nil {
		s.log.ErrorContext(ctx, "list expired leases", "error", err.Error())
		return 0
	}
	n := 0
	for _, id := range ids {
		e, err := s.cfg.Exec.GetExec(ctx, id)
		if err != nil || e.LeaseID == "" {
			continue
		}
		_, err = s.moveRun(ctx, Move{RunID: id, To: Failed, At: now, Actor: "scheduler", LeaseID: e.LeaseID,
			LeaseExpired: true, Note: "worker lost", Error: "worker lost: worker " + e.LeaseOwner + " stopped heartbeating"})
		if err != nil {
			s.log.WarnContext(ctx, "fail run of a lost worker", "run_id", id, "error", err.Error())
			continue
		}
		s.log.WarnContext(ctx, "run failed: worker lost", "run_id", id, "worker", e.LeaseOwner)
		n++
	}
	return n
}
