package run

import (
	"context"
	"strings"
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

// passGap is the least time between the starts of two scheduling passes.
// Every processed delivery wakes the scheduler; under load a pass per
// wake-up took SQLite's one write connection once per delivery. Wake-ups
// that come sooner than passGap after a pass wait for the rest of it and
// are served by one pass (the wake-up channel holds one): at most passGap
// of delay, and only when passes follow each other that closely.
const passGap = 25 * time.Millisecond

func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		started := time.Now()
		s.Schedule(ctx)
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-s.kick:
		}
		if wait := passGap - time.Since(started); wait > 0 {
			select {
			case <-s.stop:
				return
			case <-time.After(wait):
			}
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

// maxTakeovers bounds how often a run is taken over from a lost worker
// before it fails: a run whose plan kills its worker (or its server) each
// time must not take the replicas down one after the other.
const maxTakeovers = 2

// takeoverNote starts the history note of a run taken over from a lost
// worker; counting these bounds the takeovers.
const takeoverNote = "worker lost: "

// reapLeases ends the lease of every run whose worker stopped
// heartbeating (a server killed, a remote worker cut off). A run that had
// not reported its plan or started applying is taken over: back to READY
// (or CONFIRMED before its apply), for any worker to run from the start,
// as a graceful hand-back does; GitLab is not told twice. Nothing was
// applied: the move to APPLYING is recorded, under the lease, before
// OpenTofu applies, and the lost worker's lease no longer holds. A run
// that was applying is never handed to another worker: it fails, and its
// plan is not applied again. It returns how many runs it moved.
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
		m := Move{RunID: id, To: Failed, At: now, Actor: "scheduler", LeaseID: e.LeaseID,
			LeaseExpired: true, Note: "worker lost", Error: "worker lost: worker " + e.LeaseOwner + " stopped heartbeating"}
		if from, to, ok := s.takeover(ctx, id); ok {
			m.From, m.To, m.Error, m.ReleaseLease = []State{from}, to, "", true
			m.Note = takeoverNote + "worker " + e.LeaseOwner + " stopped heartbeating; another worker runs it again from the start"
		}
		if _, err := s.moveRun(ctx, m); err != nil {
			s.log.WarnContext(ctx, "end the lease of a lost worker", "run_id", id, "error", err.Error())
			continue
		}
		if m.To == Failed {
			s.log.WarnContext(ctx, "run failed: worker lost", "run_id", id, "worker", e.LeaseOwner)
		} else {
			s.log.WarnContext(ctx, "run taken over from a lost worker", "run_id", id, "worker", e.LeaseOwner, "state", string(m.To))
		}
		n++
	}
	return n
}

// takeover says where run id goes from its state when its worker is
// lost: ok when it may run again from the start (HandBackTarget) and was
// not taken over maxTakeovers times already.
func (s *Service) takeover(ctx context.Context, id string) (from, to State, ok bool) {
	r, err := s.cfg.Runs.GetRun(ctx, id)
	if err != nil {
		return "", "", false
	}
	if to, ok = HandBackTarget(r.Type, r.State); !ok {
		return "", "", false
	}
	h, err := s.cfg.Runs.RunHistory(ctx, id)
	if err != nil {
		return "", "", false
	}
	taken := 0
	for _, t := range h {
		if strings.HasPrefix(t.Note, takeoverNote) {
			taken++
		}
	}
	return r.State, to, taken < maxTakeovers
}
