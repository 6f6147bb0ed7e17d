package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
)

// testRunReviews: reviews of a run are kept with their ids and listed
// oldest first; a run without any lists none, and a review of no run is
// refused.
func testRunReviews(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustRuns(t, s, newRun("r01", "web", run.Tracked, "a1"), newRun("r02", "web", run.Tracked, "a2"))
	in := []run.Review{
		{RunID: "r01", Reviewer: "user:ana", Role: space.Write, Decision: run.Reject, Note: "not on a Friday", At: base},
		{RunID: "r01", Reviewer: "user:bo", Role: space.Admin, Decision: run.Approve, At: base.Add(time.Minute)},
	}
	for i, r := range in {
		got, err := s.AddReview(ctx(), r)
		if err != nil || got.ID == 0 || (i > 0 && got.ID <= in[i-1].ID) {
			t.Fatalf("AddReview = %+v, %v; want a new, growing id", got, err)
		}
		in[i].ID = got.ID
	}
	if got, err := s.ListReviews(ctx(), "r01"); err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("ListReviews = %+v, %v\nwant %+v", got, err, in)
	}
	if got, err := s.ListReviews(ctx(), "r02"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("reviews of a run without any = %#v, %v; want an empty list", got, err)
	}
	if _, err := s.AddReview(ctx(), run.Review{RunID: "nope", Reviewer: "user:ana", Role: space.Write,
		Decision: run.Approve, At: base}); err == nil {
		t.Error("a review of no run was recorded")
	}
}
