package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

// testCommandNotes: a merge request command note is claimed once per
// (integration, project, note); a second claim names the first delivery;
// a claim rolled back with its transaction was never made. Runs made by
// comments may share a commit and type (a plan asked for again); runs of
// other events may not.
func testCommandNotes(t *testing.T, h Harness) {
	s := deliveryFixture(t, h)
	claim := func(ctx context.Context, integration string, project, note int64, delivery string) string {
		t.Helper()
		by, err := s.ClaimCommandNote(ctx, integration, project, note, delivery, "plan", base)
		if err != nil {
			t.Fatalf("ClaimCommandNote(%s, %d, %d) = %v", integration, project, note, err)
		}
		return by
	}
	if by := claim(ctx(), "gl", 14, 7, "d1"); by != "" {
		t.Fatalf("a first claim found %q", by)
	}
	if by := claim(ctx(), "gl", 14, 7, "d2"); by != "d1" {
		t.Fatalf("a second claim found %q, want d1", by)
	}
	for _, c := range []struct {
		integration   string
		project, note int64
	}{{"gl", 14, 8}, {"gl", 15, 7}, {"gl2", 14, 7}} {
		if by := claim(ctx(), c.integration, c.project, c.note, "d3"); by != "" {
			t.Errorf("claim of %+v found %q: claims are per integration, project and note", c, by)
		}
	}
	rollback := errors.New("roll back")
	err := s.InTx(ctx(), func(ctx context.Context) error {
		if by := claim(ctx, "gl", 14, 9, "d4"); by != "" {
			t.Errorf("claim in a transaction found %q", by)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	if by := claim(ctx(), "gl", 14, 9, "d5"); by != "" {
		t.Errorf("a rolled-back claim survived: %q", by)
	}

	note := func(id, delivery, trigger string) run.Run {
		r := newRun(id, "web", run.Proposed, "c1")
		r.DeliveryID, r.Trigger = delivery, trigger
		return r
	}
	mustRuns(t, s, note("r1", "d1", "merge_request"), note("r2", "d2", "note"))
	mustRuns(t, s, note("r3", "d3", "note"))
	_, err = s.ApplyRunChanges(ctx(), run.Changes{At: base, Actor: "test", Create: []run.Run{note("r4", "d4", "push")}})
	wantCode(t, err, apperr.Conflict)
}
