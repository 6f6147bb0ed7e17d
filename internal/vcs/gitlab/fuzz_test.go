package gitlab

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// fuzzHeaders are the event headers every seed payload is tried with: the
// four Hoist acts on, one it ignores, and nonsense.
var fuzzHeaders = []string{
	"Push Hook", "Tag Push Hook", "Merge Request Hook", "Note Hook",
	"Pipeline Hook", "Confidential Note Hook", "", "Push Hook\x00",
}

// FuzzParseEvent: no input panics, every failure is apperr.Invalid, and
// every success is a self-consistent event. Seeded with every testdata
// payload under every header, so plain `go test` runs the seeds.
func FuzzParseEvent(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		body := readTestdata(f, e.Name())
		for _, h := range fuzzHeaders {
			f.Add(h, body)
		}
	}
	f.Add("Push Hook", []byte(`{"object_kind":"push","commits":[null]}`))
	f.Add("Note Hook", []byte(`{"object_kind":"note","object_attributes":{"noteable_type":"MergeRequest"},"merge_request":null}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		ev, err := ParseEvent(header, body)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error %v has code %s, want invalid", err, apperr.CodeOf(err))
			}
			return
		}
		if err := consistent(ev); err != nil {
			t.Fatalf("inconsistent event %+v: %v", ev, err)
		}
	})
}

// consistent checks the invariants the rest of Hoist relies on when it acts
// on a translated event.
func consistent(ev vcs.Event) error {
	if ev.Provider != Provider {
		return fmt.Errorf("provider %q", ev.Provider)
	}
	files := ev.ChangedFilesFromPayload()
	if !slices.IsSorted(files) || len(slices.Compact(slices.Clone(files))) != len(files) {
		return errors.New("payload files not sorted and unique")
	}
	switch ev.Kind {
	case vcs.KindIgnored:
		if ev.ProjectID != 0 || ev.MergeRequest != nil || ev.Note != nil || len(ev.Commits) != 0 {
			return errors.New("ignored event carries data")
		}
		return nil
	case vcs.KindPush, vcs.KindTag:
		return consistentRef(ev)
	case vcs.KindMergeRequest, vcs.KindNote:
		return consistentMergeRequest(ev)
	}
	return fmt.Errorf("unknown kind %q", ev.Kind)
}

func consistentRef(ev vcs.Event) error {
	switch {
	case ev.ProjectID <= 0 || ev.Repository == "":
		return errors.New("no project")
	case ev.MergeRequest != nil || ev.Note != nil:
		return errors.New("push carries a merge request")
	case ev.Kind == vcs.KindPush && (ev.Branch == "" || ev.Tag != "" || ev.Ref != "refs/heads/"+ev.Branch):
		return fmt.Errorf("push ref %q branch %q tag %q", ev.Ref, ev.Branch, ev.Tag)
	case ev.Kind == vcs.KindTag && (ev.Tag == "" || ev.Branch != "" || ev.Ref != "refs/tags/"+ev.Tag):
		return fmt.Errorf("tag ref %q branch %q tag %q", ev.Ref, ev.Branch, ev.Tag)
	case !vcs.IsSHA(ev.Before) || !vcs.IsSHA(ev.After):
		return errors.New("before or after is not a SHA")
	case ev.Created != vcs.IsZeroSHA(ev.Before) || ev.Deleted != vcs.IsZeroSHA(ev.After):
		return errors.New("created/deleted disagree with the SHAs")
	case ev.Created && ev.Deleted:
		return errors.New("created and deleted")
	case ev.Deleted && (len(ev.Commits) > 0 || ev.HeadSHA() != "" || ev.CheckoutSHA != ""):
		return errors.New("deleted ref with commits or a head")
	case !ev.Deleted && (!vcs.IsSHA(ev.HeadSHA()) || vcs.IsZeroSHA(ev.HeadSHA()) || ev.HeadSHA() != ev.CheckoutSHA):
		return errors.New("live ref without a head SHA")
	case ev.TotalCommits < 0:
		return errors.New("negative commit count")
	case ev.ChangedFilesComplete && (ev.Kind != vcs.KindPush ||
		!vcs.PayloadComplete(ev.TotalCommits, len(ev.Commits), ev.Created, ev.Deleted)):
		return errors.New("payload claimed complete against SPEC §4.1")
	}
	return nil
}

func consistentMergeRequest(ev vcs.Event) error {
	mr := ev.MergeRequest
	switch {
	case mr == nil:
		return errors.New("no merge request")
	case ev.ProjectID <= 0 || ev.Repository == "":
		return errors.New("no project")
	case (ev.Kind == vcs.KindNote) != (ev.Note != nil):
		return errors.New("note presence disagrees with kind")
	case ev.Ref != "" || ev.Branch != "" || ev.Tag != "" || len(ev.Commits) != 0:
		return errors.New("merge request event carries push data")
	case mr.IID <= 0 || mr.SourceBranch == "" || mr.TargetBranch == "":
		return errors.New("merge request lacks iid or branches")
	case mr.HeadSHA != "" && !vcs.IsSHA(mr.HeadSHA), mr.OldRev != "" && !vcs.IsSHA(mr.OldRev):
		return errors.New("merge request SHA malformed")
	case (mr.NewCommits() || ev.Kind == vcs.KindNote ||
		mr.Action == vcs.ActionOpen || mr.Action == vcs.ActionReopen) && mr.HeadSHA == "":
		return errors.New("runnable merge request event without a head")
	case mr.Fork && (mr.SourceProjectID == mr.TargetProjectID || mr.SourceProjectID == 0 || mr.TargetProjectID == 0):
		return errors.New("fork flag disagrees with project ids")
	case !mr.Fork && mr.SourceProjectID != 0 && mr.TargetProjectID != 0 && mr.SourceProjectID != mr.TargetProjectID:
		return errors.New("cross-project merge request not flagged as fork")
	}
	return nil
}
