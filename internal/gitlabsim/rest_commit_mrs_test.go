package gitlabsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestCommitMergeRequests: GET …/repository/commits/:sha/merge_requests
// finds a merge request by any commit of its diff and by its merge commit,
// as GitLab's finder does.
func TestCommitMergeRequests(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pid := f.project.PathWithNamespace
	start, err := f.sim.ResolveRef(ctx, pid, "main")
	if err != nil {
		t.Fatal(err)
	}
	open := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "feature/open", Commits: commits("open", 2)})
	openMR, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: pid, SourceBranch: "feature/open", Title: "open"})
	if err != nil {
		t.Fatal(err)
	}
	done := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "feature/done", Commits: commits("done", 1)})
	doneMR, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: pid, SourceBranch: "feature/done", Title: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if doneMR, err = f.sim.MergeMergeRequest(ctx, pid, doneMR.IID, f.user.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, sha, state string
		want             []int // IIDs, newest first
	}{
		{"open head", open.After, "", []int{openMR.IID}},
		{"open, earlier commit", open.Commits[0], "", []int{openMR.IID}},
		{"merged head", done.After, "", []int{doneMR.IID}},
		{"merge commit", doneMR.MergeCommitSHA, "", []int{doneMR.IID}},
		{"branch name", "feature/open", "", []int{openMR.IID}},
		{"state filter keeps", doneMR.MergeCommitSHA, "merged", []int{doneMR.IID}},
		{"state filter drops", open.After, "merged", nil},
		{"in no merge request", start, "", nil},
	}
	base := f.url + "/api/v4/projects/" + url.PathEscape(pid) + "/repository/commits/"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := rawGet(t, base+url.PathEscape(tt.sha)+"/merge_requests?state="+tt.state, f.token)
			var mrs []struct {
				IID int `json:"iid"`
			}
			if err := json.Unmarshal([]byte(body), &mrs); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			var got []int
			for _, m := range mrs {
				got = append(got, m.IID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("merge requests of %s = %v, want %v", tt.sha, got, tt.want)
			}
		})
	}

	// The basic entity, as the merge request list presents it.
	mrs, _, err := f.client.Commits.ListMergeRequestsByCommit(pid, doneMR.MergeCommitSHA)
	if err != nil || len(mrs) != 1 {
		t.Fatalf("merge requests = %v, %v", mrs, err)
	}
	if m := mrs[0]; m.State != "merged" || m.SHA != done.After || m.MergeCommitSHA != doneMR.MergeCommitSHA ||
		m.SourceBranch != "feature/done" || m.TargetBranch != "main" || m.ProjectID != int64(f.project.ID) {
		t.Errorf("merge request = %+v", m)
	}

	if body := rawGet(t, base+"0123456789012345678901234567890123456789/merge_requests", f.token); body != `{"message":"404 Commit Not Found"}` {
		t.Errorf("unknown commit: %s", body)
	}
	if body := rawGet(t, f.url+"/api/v4/projects/acme%2Fnope/repository/commits/"+open.After+"/merge_requests", f.token); body != `{"message":"404 Project Not Found"}` {
		t.Errorf("unknown project: %s", body)
	}
	_, guest := addUser(t, f.sim, "gus", Guest, pid, "api")
	if _, _, err := newClient(t, f.url, guest).Commits.ListMergeRequestsByCommit(pid, open.After); statusOf(err) != http.StatusForbidden {
		t.Errorf("guest: %v, want 403", err)
	}
}
