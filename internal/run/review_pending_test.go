package run_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/run"
)

// pagedRuns answers ListRuns from runs (newest id first, as the store
// does), page by page; the other methods are not called.
type pagedRuns struct {
	run.Store
	runs  []run.Run
	reads int
}

func (p *pagedRuns) ListRuns(_ context.Context, f run.Filter, cursor string, limit int) ([]run.Run, string, error) {
	p.reads++
	if f.StackID != "" || !slices.Equal(f.States, []run.State{run.PendingReview}) {
		return nil, "", fmt.Errorf("unexpected filter %+v", f)
	}
	i := 0
	if cursor != "" {
		i = slices.IndexFunc(p.runs, func(r run.Run) bool { return r.ID == cursor }) + 1
	}
	page := p.runs[i:min(i+limit, len(p.runs))]
	next := ""
	if i+limit < len(p.runs) {
		next = page[len(page)-1].ID
	}
	return page, next, nil
}

// TestPendingForMergeRequest: the runs in PENDING_REVIEW of the stacks
// named, on the merge request's head or of the merge request, however
// many pages they span; one read per page, not per stack.
func TestPendingForMergeRequest(t *testing.T) {
	t.Parallel()
	store := &pagedRuns{}
	var want []string
	for i := 450; i > 0; i-- {
		r := run.Run{ID: fmt.Sprintf("r%04d", i), StackID: []string{"a", "b", "c"}[i%3], State: run.PendingReview,
			CommitSHA: "other"}
		switch {
		case i%7 == 0:
			r.CommitSHA = "head"
		case i%11 == 0:
			r.MergeRequestIID = 7
		case i%13 == 0:
			r.MergeRequestIID = 8
		}
		if r.StackID != "c" && (r.CommitSHA == "head" || r.MergeRequestIID == 7) {
			want = append(want, r.ID)
		}
		store.runs = append(store.runs, r)
	}
	svc := run.NewService(run.Config{Runs: store})
	stacks := make([]string, 0, 10_002)
	for i := range 10_000 {
		stacks = append(stacks, fmt.Sprintf("absent-%05d", i))
	}
	got, err := svc.PendingForMergeRequest(t.Context(), append(stacks, "a", "b"), "head", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("PendingForMergeRequest = %v\nwant %v", got, want)
	}
	if store.reads > 3 {
		t.Errorf("%d reads for 450 runs of 10,002 stacks", store.reads)
	}
}
