package feedback

import (
	"context"
	"time"
)

// WriteView is one write's outcome as the run page and the API show it.
type WriteView struct {
	ID            int64      `json:"id"`
	Kind          Kind       `json:"kind"`
	Target        string     `json:"target"` // what it writes: "commit status hoist/app → success on 1a2b3c4d"
	State         WriteState `json:"state"`  // pending, retrying, done, skipped, failed
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // while retrying
	LastError     string     `json:"last_error,omitempty"`      // GitLab's error, kept after a later success
	Result        string     `json:"result,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ListWrites returns the outcome of every GitLab write a run caused, oldest
// first.
func (s *Service) ListWrites(ctx context.Context, runID string) ([]WriteView, error) {
	ws, err := s.cfg.Store.ListWrites(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]WriteView, 0, len(ws))
	for _, w := range ws {
		v := WriteView{ID: w.ID, Kind: w.Kind, Target: w.Describe(), State: w.State, Attempts: w.Attempts,
			LastError: w.LastError, Result: w.Result, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
		if w.State == StateRetrying || w.State == StatePending {
			at := w.NextAttemptAt
			v.NextAttemptAt = &at
		}
		out = append(out, v)
	}
	return out, nil
}
