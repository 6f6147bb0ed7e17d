package sqlstore

import (
	"context"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
)

var _ run.ReviewStore = (*Store)(nil)

// AddReview implements run.ReviewStore.
func (s *Store) AddReview(ctx context.Context, r run.Review) (run.Review, error) {
	err := s.queryRow(ctx, s.w, `INSERT INTO run_reviews (run_id, reviewer, role, decision, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, r.RunID, r.Reviewer, string(r.Role), string(r.Decision),
		r.Note, s.t(r.At)).Scan(&r.ID)
	if err != nil {
		return run.Review{}, wrapInternal(err, "record a review of run %s", r.RunID)
	}
	return r, nil
}

// ListReviews implements run.ReviewStore: oldest first.
func (s *Store) ListReviews(ctx context.Context, runID string) ([]run.Review, error) {
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (run.Review, error) {
		var r run.Review
		var role, decision string
		err := row.Scan(&r.ID, &r.RunID, &r.Reviewer, &role, &decision, &r.Note, timeScan{&r.At})
		r.Role, r.Decision = space.Role(role), run.Decision(decision)
		return r, err
	}, "SELECT id, run_id, reviewer, role, decision, note, created_at FROM run_reviews WHERE run_id = ? ORDER BY id", runID)
	if out == nil {
		out = []run.Review{}
	}
	return out, wrapInternal(err, "list reviews of run %s", runID)
}
