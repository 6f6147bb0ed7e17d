package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// agentWaitMax caps the wait between two source fetches while no VCS agent
// is connected: such a try fails in memory, so a short cap costs little and
// the run goes on within moments of an agent connecting.
const agentWaitMax = 2 * time.Second

// Source writes the tar.gz of the run's commit, fetched through the stack's
// integration, for the worker holding the run.
//
// When the integration is reached through a VCS agent pool and no agent of
// it is connected, Source waits for one (SPEC §2.5, issue 7: writes wait
// and land when an agent reconnects) and says so once in the run's log.
// The wait lasts as long as the worker holds the run: its heartbeats go on
// meanwhile, and a stop, a cancel or a lost lease ends it.
func (s *Service) Source(ctx context.Context, runID, leaseID string, w io.Writer) error {
	cw := &countingWriter{w: w}
	delay := 100 * time.Millisecond
	waiting := false
	for {
		err := s.source(ctx, runID, leaseID, cw)
		if err == nil || !errors.Is(err, vcsagent.ErrNoAgent) || cw.n > 0 {
			if err == nil && waiting {
				s.noteSource(ctx, runID, leaseID, "Hoist: a VCS agent connected; fetching the source")
			}
			return err
		}
		if !waiting {
			waiting = true
			s.log.InfoContext(ctx, "run waits for a VCS agent", "run_id", runID, "error", err.Error())
			pool := "?"
			if na := (*vcsagent.NoAgentError)(nil); errors.As(err, &na) {
				pool = na.Pool
			}
			s.noteSource(ctx, runID, leaseID, fmt.Sprintf("Hoist: waiting for a VCS agent of pool %q to fetch the source: "+
				"none is connected (start `hoist vcs-agent` with the pool's token)", pool))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for a VCS agent: %w", context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, agentWaitMax)
	}
}

// source is one try of Source.
func (s *Service) source(ctx context.Context, runID, leaseID string, w io.Writer) error {
	if _, err := s.holds(ctx, runID, leaseID); err != nil {
		return err
	}
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
	if err != nil {
		return err
	}
	if st.Detached() {
		return apperr.Errorf(apperr.Conflict, "stack %q is detached: %s", st.ID, st.DetachedReason())
	}
	it, err := s.cfg.Integrations.GetIntegration(ctx, st.IntegrationID)
	if err != nil {
		return fmt.Errorf("load integration %s: %w", st.IntegrationID, err)
	}
	token, err := s.cfg.Box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return fmt.Errorf("open token of %s: %w", it.ID, err)
	}
	return s.cfg.Archiver.Archive(ctx, it.Endpoint(string(token)), st.Repository, r.CommitSHA, "", w)
}

// noteSource adds a line to the log of the phase that fetches the source.
// A lost line is not worth failing the run over.
func (s *Service) noteSource(ctx context.Context, runID, leaseID, line string) {
	phase := "initializing"
	if r, err := s.cfg.Runs.GetRun(ctx, runID); err == nil && r.State == PreparingApply {
		phase = "preparing_apply"
	}
	if err := s.AppendLog(ctx, runID, leaseID, phase, line+"\n"); err != nil {
		s.log.WarnContext(ctx, "note in run log", "run_id", runID, "error", err.Error())
	}
}

// countingWriter counts what was written, so a failure after the first
// byte is never retried (the worker already has part of the archive).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
