package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// DefaultShutdownTimeout bounds a graceful shutdown (hoist server
// --shutdown-timeout).
const DefaultShutdownTimeout = 30 * time.Second

// readiness answers /readyz: the store's readiness, until the server
// shuts down, when it turns 503 before anything else stops, so that load
// balancers stop sending while the server still serves.
type readiness struct {
	store *sqlstore.Store
	down  atomic.Bool
}

func (r *readiness) check(ctx context.Context) error {
	if r.down.Load() {
		return apperr.Errorf(apperr.Unavailable, "not ready: shutting down")
	}
	return r.store.Ready(ctx)
}

// Shutdown stops the server gracefully within ctx's deadline
// (DefaultShutdownTimeout without one), as docs/ops.md describes:
//  1. /readyz answers 503 at once (/healthz stays 200);
//  2. nothing new is taken: no runs leased (remote workers' lease requests
//     get 503), no jobs, no GitLab write keys;
//  3. runs in progress finish while there is time; a run that has not
//     reported its plan (or entered APPLYING) by half the time is handed
//     back for another worker to run from the start; an applying run is
//     never handed back, and one still applying near the end is cut;
//  4. jobs and GitLab writes in flight finish, or are put back at once for
//     another server;
//  5. the HTTP server drains in the time left; requests still open at the
//     deadline are cut.
//
// It returns an error only when closing the store fails. Safe to call
// more than once, and after Close.
func (s *Server) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(ctx, false) })
	return s.closeErr
}

// httpReserve is the part of a shutdown kept for the HTTP server's drain
// once the runs, jobs and writes are done: a tenth, at most 2 seconds.
func httpReserve(left time.Duration) time.Duration { return min(left/10, 2*time.Second) }

// shutdown is Shutdown, or with now Close: no time for the work in
// progress.
func (s *Server) shutdown(ctx context.Context, now bool) error {
	s.ready.down.Store(true)
	deadline, _ := ctx.Deadline()
	left := max(time.Until(deadline), 0)
	if !now {
		s.log.Info("shutting down: not ready, taking no new work; runs in progress have until the deadline",
			"timeout", left.Round(time.Millisecond))
	}
	s.runs.stopLeasing()
	workCtx, cancel := context.WithDeadline(ctx, deadline.Add(-httpReserve(left)))
	if now {
		cancel()
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.runs.shutdown(workCtx) })
	wg.Go(func() { s.hooks.queue.Shutdown(workCtx) })
	wg.Go(func() { s.writeBack.dispatcher.Shutdown(workCtx) })
	wg.Wait()
	cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		// Not an error of the shutdown: the clients ask again, elsewhere.
		s.log.Warn("requests still open at the end of the shutdown are cut", "error", err.Error())
		_ = s.http.Close()
	}
	s.hooks.stop() // after the HTTP server: deliveries in flight are stored first
	s.writeBack.stop()
	s.sso.stop()
	s.notes.stop()
	s.agents.Close() // hijacked agent streams outlive http.Server.Shutdown
	// The others stop relaying here at once, not after the presence
	// lifetime; even when the shutdown's time is up.
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	s.cluster.Stop(stopCtx)
	cancelStop()
	s.gitlab.Close() // last: nothing calls GitLab any more
	err := s.store.Close()
	s.log.Info("hoist server stopped")
	return err
}
