package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/hoistdev/hoist/internal/run"
)

// A pool that shuts down (docs/ops.md) leases no more runs and lets those
// in progress finish while there is time. A run still before its point of
// no return — its plan not reported, APPLYING not entered — is handed back
// when half the time is gone: its OpenTofu is stopped and the server puts
// the run back for any worker to run from the start. A run past that point
// (applying) is never handed back: it finishes, or is cut shortly before
// the end and the server fails it as lost when its lease runs out.

// cutGrace is how long before the deadline the runs still going are cut:
// OpenTofu gets 5 seconds to stop after SIGTERM before it is killed.
const cutGrace = 6 * time.Second

// handBackTimeout bounds telling the server that a run is handed back.
const handBackTimeout = 10 * time.Second

// Shutdown stops leasing and gives the runs in progress until ctx's
// deadline (as above). It returns once every slot is done: at the latest
// shortly after ctx ends, once OpenTofu has stopped. Without a deadline
// it waits as long as the runs take, until ctx is canceled. It may be
// called more than once, and after Stop.
func (p *Pool) Shutdown(ctx context.Context) {
	p.StopLeasing()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	var handBack, cut <-chan time.Time
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		// A plan gets half the time, and is stopped early enough for
		// OpenTofu's grace; an apply goes on until shortly before the end.
		handBack = time.After(min(left/2, left-cutGrace))
		cut = time.After(left - min(left/4, cutGrace))
	}
	for {
		select {
		case <-done:
			return
		case <-handBack:
			p.handBackAll()
		case <-cut:
			p.handBackAll()
			p.cancel()
		case <-ctx.Done():
			p.handBackAll()
			p.cancel()
			<-done
			return
		}
	}
}

// StopLeasing makes the slots lease no more runs (Shutdown begins with
// it); the runs in progress go on.
func (p *Pool) StopLeasing() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.stopLeasing()
}

// Stop stops leasing, hands back the runs that have not reached their
// point of no return, cuts the others (their leases run out) and waits for
// the slots. It may be called more than once.
func (p *Pool) Stop() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to finish anything
	p.Shutdown(ctx)
}

// shuttingDown reports whether Shutdown (or Stop) began.
func (p *Pool) shuttingDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// track registers a run in progress; one leased after the hand-backs
// began goes back at once.
func (p *Pool) track(ex *execution) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[ex] = struct{}{}
	if p.handingBack {
		ex.handBack()
	}
}

func (p *Pool) untrack(ex *execution) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, ex)
}

// handBackAll stops every run in progress that can still be handed back.
func (p *Pool) handBackAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handingBack = true
	for ex := range p.running {
		ex.handBack()
	}
}

// giveBack tells the server that the worker hands the run back; its
// OpenTofu has stopped.
func (p *Pool) giveBack(ctx context.Context, job run.Job, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handBackTimeout)
	defer cancel()
	if err := p.cfg.Server.HandBack(ctx, job.RunID, job.LeaseID); err != nil {
		log.WarnContext(ctx, "hand back run; its lease runs out and the server fails it as lost", "error", err.Error())
		return
	}
	log.InfoContext(ctx, "run handed back")
}

// handBack marks the run to be handed back and stops it, unless it is past
// its point of no return; it reports whether the run goes back.
func (ex *execution) handBack() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.committed {
		return false
	}
	if !ex.back {
		ex.back = true
		ex.cancel(errHandedBack)
	}
	return true
}

func (ex *execution) handingBack() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.back
}

// commit is called at the run's point of no return (reporting the plan,
// entering APPLYING); false means the run is being handed back instead and
// must stop.
func (ex *execution) commit() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.back {
		return false
	}
	ex.committed = true
	return true
}
