package run

import (
	"context"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/state"
)

// Logs returns the log chunks of a run after afterID and the run's state.
func (s *Service) Logs(ctx context.Context, principal, id string, afterID int64) ([]LogChunk, State, error) {
	r, _, _, err := s.load(ctx, principal, id)
	if err != nil {
		return nil, "", err
	}
	chunks, err := s.cfg.Exec.RunLogs(ctx, id, afterID, 500)
	return chunks, r.State, err
}

// FollowLogs calls emit with every chunk of the run's log from afterID on,
// as it is written, until the run has ended and everything was emitted (or
// ctx ends, or the server drains: ErrShuttingDown).
func (s *Service) FollowLogs(ctx context.Context, principal, id string, afterID int64, emit func(LogChunk) error) error {
	if _, _, _, err := s.load(ctx, principal, id); err != nil {
		return err
	}
	for {
		changed := s.changes()
		r, err := s.cfg.Runs.GetRun(ctx, id)
		if err != nil {
			return err
		}
		chunks, err := s.cfg.Exec.RunLogs(ctx, id, afterID, 500)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			if err := emit(c); err != nil {
				return err
			}
			afterID = c.ID
		}
		if len(chunks) == 500 {
			continue
		}
		if r.State.IsTerminal() {
			return nil
		}
		// Logs may come from a worker talking to another server: poll too.
		select {
		case <-changed:
		case <-time.After(s.cfg.PollInterval):
		case <-s.draining:
			return ErrShuttingDown // the follower asks again, elsewhere, from its last chunk
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var _ state.Authorizer = (*Service)(nil)

// AuthorizeState implements state.Authorizer: the token of a run of the
// stack that a worker holds right now.
func (s *Service) AuthorizeState(ctx context.Context, stackID, runID, token string) (state.Grant, error) {
	deny := apperr.Errorf(apperr.Unauthorized, "invalid run credentials for the state of stack %s", stackID)
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if apperr.Is(err, apperr.NotFound) {
		return state.Grant{}, deny
	}
	if err != nil {
		return state.Grant{}, err
	}
	e, err := s.cfg.Exec.GetExec(ctx, runID)
	if err != nil {
		return state.Grant{}, err
	}
	if r.StackID != stackID || r.State.IsTerminal() || e.TokenHash == "" || !secret.CheckAPIKey(token, e.TokenHash) ||
		e.LeaseExpiresAt == nil || !e.LeaseExpiresAt.After(s.now()) {
		return state.Grant{}, deny
	}
	return state.Grant{StackID: stackID, RunID: runID, Write: e.TokenWrite}, nil
}
