package gitlab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

const zeroSHA = "0000000000000000000000000000000000000000"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseEventGitLabExamples translates GitLab's documented payloads and
// compares the whole event.
func TestParseEventGitLabExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, header string
		want         vcs.Event
	}{
		{
			file: "push.json", header: "Push Hook",
			want: vcs.Event{
				Kind: vcs.KindPush, Provider: "gitlab", Name: "Push Hook",
				ProjectID: 15, Repository: "mike/diaspora", DefaultBranch: "master",
				Ref: "refs/heads/master", Branch: "master",
				Before:      "95790bf891e76fee5e1747ab589903a6a1f80f22",
				After:       "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				CheckoutSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				Commits: []vcs.Commit{
					{SHA: "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", Title: "Merge branch 'some-feature' into 'master'",
						Message: "Merge branch 'some-feature' into 'master'\n\nRelease v1.0.0\n\nSee merge request jsmith/example!1", Author: "Jordi Mallach",
						Added: []string{"CHANGELOG"}, Modified: []string{"app/controller/application.rb"}, Removed: []string{}},
					{SHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Title: "fixed readme", Message: "fixed readme\n", Author: "GitLab dev user",
						Added: []string{"CHANGELOG"}, Modified: []string{"app/controller/application.rb"}, Removed: []string{}},
				},
				// The example lists 2 of 4 commits: the payload is not the whole change.
				TotalCommits: 4, ChangedFilesComplete: false,
				Sender: vcs.User{ID: 4, Username: "jsmith"},
			},
		},
		{
			file: "tag_push.json", header: "Tag Push Hook",
			want: vcs.Event{
				Kind: vcs.KindTag, Provider: "gitlab", Name: "Tag Push Hook",
				ProjectID: 1, Repository: "jsmith/example", DefaultBranch: "master",
				Ref: "refs/tags/v1.0.0", Tag: "v1.0.0",
				Before: zeroSHA, After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", Created: true,
				CheckoutSHA: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
				Commits: []vcs.Commit{{SHA: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
					Title: "Merge branch 'some-feature' into 'master'", Message: "Merge branch 'some-feature' into 'master'\n\nRelease v1.0.0\n\nSee merge request jsmith/example!1", Author: "John Smith",
					Added: []string{"CHANGELOG"}, Modified: []string{"UPGRADE.md"}, Removed: []string{}}},
				TotalCommits: 1,
				Sender:       vcs.User{ID: 1, Username: "jsmith"},
			},
		},
		{
			file: "merge_request.json", header: "Merge Request Hook",
			want: vcs.Event{
				Kind: vcs.KindMergeRequest, Provider: "gitlab", Name: "Merge Request Hook",
				ProjectID: 1, Repository: "gitlabhq/gitlab-test", DefaultBranch: "master",
				MergeRequest: &vcs.MergeRequest{
					IID: 1, Action: vcs.ActionOpen, State: "opened",
					SourceBranch: "ms-viewport", TargetBranch: "master",
					SourceProjectID: 14, TargetProjectID: 14,
					HeadSHA:   "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
					HeadTitle: "MR Title",
					Title:     "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1",
					Labels: []string{"API"}, AuthorID: 51,
				},
				Sender: vcs.User{ID: 1, Username: "user1"},
			},
		},
		{
			file: "note_merge_request.json", header: "Note Hook",
			want: vcs.Event{
				Kind: vcs.KindNote, Provider: "gitlab", Name: "Note Hook",
				ProjectID: 5, Repository: "gitlab-org/gitlab-test", DefaultBranch: "master",
				MergeRequest: &vcs.MergeRequest{
					IID: 1, State: "opened", SourceBranch: "master", TargetBranch: "markdown",
					SourceProjectID: 5, TargetProjectID: 5,
					HeadSHA:   "562e173be03b8ff2efb05345d12df18815438a4b",
					HeadTitle: "Merge branch 'another-branch' into 'master'",
					Title:     "Tempora et eos debitis quae laborum et.",
					URL:       "http://example.com/gitlab-org/gitlab-test/-/merge_requests/1",
				},
				Note: &vcs.Note{ID: 1244, NoteableType: "MergeRequest", Body: "This MR needs work.", AuthorID: 1, Action: "create",
					URL: "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244"},
				Sender: vcs.User{ID: 1, Username: "root"},
			},
		},
		{
			file: "note_commit.json", header: "Note Hook",
			want: vcs.Event{Kind: vcs.KindIgnored, Provider: "gitlab", Name: "Note Hook",
				Reason: "comment on a Commit, not a merge request"},
		},
		{
			file: "note_issue.json", header: "Note Hook",
			want: vcs.Event{Kind: vcs.KindIgnored, Provider: "gitlab", Name: "Note Hook",
				Reason: "comment on an Issue, not a merge request"},
		},
		{
			file: "pipeline.json", header: "Pipeline Hook",
			want: vcs.Event{Kind: vcs.KindIgnored, Provider: "gitlab", Name: "Pipeline Hook"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEvent(tt.header, readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseEvent(%s) =\n%+v\nwant\n%+v", tt.file, dump(got), dump(tt.want))
			}
		})
	}
}

// dump prints the pointer fields of an event too.
func dump(ev vcs.Event) string {
	s := fmt.Sprintf("%+v", ev)
	if ev.MergeRequest != nil {
		s += fmt.Sprintf("\nMergeRequest: %+v", *ev.MergeRequest)
	}
	if ev.Note != nil {
		s += fmt.Sprintf("\nNote: %+v", *ev.Note)
	}
	return s
}

// TestParseEventVariants covers the situations GitLab's examples do not:
// created and deleted branches, truncated commit lists, forks, updates.
func TestParseEventVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, header string
		check        func(t *testing.T, ev vcs.Event)
	}{
		{"push_complete.json", "Push Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Branch", ev.Branch, "feature-x")
			want(t, "ChangedFilesComplete", ev.ChangedFilesComplete, true)
			want(t, "Created/Deleted", [2]bool{ev.Created, ev.Deleted}, [2]bool{false, false})
			want(t, "ChangedFilesFromPayload", ev.ChangedFilesFromPayload(),
				[]string{"app/x.go", "infra/main.tf", "old.txt"})
		}},
		{"push_branch_create.json", "Push Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Branch", ev.Branch, "feature-new")
			want(t, "Created", ev.Created, true)
			// All commits listed, yet a new branch's change is against the default branch.
			want(t, "ChangedFilesComplete", ev.ChangedFilesComplete, false)
			want(t, "HeadSHA", ev.HeadSHA(), ev.After)
		}},
		{"push_branch_delete.json", "Push Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Deleted", ev.Deleted, true)
			want(t, "Created", ev.Created, false)
			want(t, "ChangedFilesComplete", ev.ChangedFilesComplete, false)
			want(t, "len(Commits)", len(ev.Commits), 0)
			want(t, "HeadSHA", ev.HeadSHA(), "")
		}},
		{"push_45_commits.json", "Push Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "TotalCommits", ev.TotalCommits, 45)
			want(t, "len(Commits)", len(ev.Commits), 20)
			want(t, "ChangedFilesComplete", ev.ChangedFilesComplete, false)
			want(t, "DefaultBranch", ev.DefaultBranch, "main")
		}},
		{"tag_push_annotated.json", "Tag Push Hook", func(t *testing.T, ev vcs.Event) {
			// After names the tag object; runs and module versions need the commit.
			want(t, "After", ev.After, "c8f5a1c9d4b2e0f7a6b3c2d1e0f9a8b7c6d5e4f3")
			want(t, "HeadSHA", ev.HeadSHA(), "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7")
			want(t, "Tag", ev.Tag, "v1.0.0")
		}},
		{"merge_request_fork.json", "Merge Request Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Fork", ev.MergeRequest.Fork, true)
			want(t, "SourceProjectID", ev.MergeRequest.SourceProjectID, int64(77))
		}},
		{"merge_request_update_commits.json", "Merge Request Hook", func(t *testing.T, ev vcs.Event) {
			mr := ev.MergeRequest
			want(t, "Action", mr.Action, vcs.ActionUpdate)
			want(t, "OldRev", mr.OldRev, "ac3478d69a3c81fa62e60f5c3696165a4e5e6ac4")
			want(t, "HeadSHA", mr.HeadSHA, "c1dfd96eea8cc2b62785275bca38ac261256e278")
			want(t, "NewCommits", mr.NewCommits(), true)
			want(t, "Fork", mr.Fork, false)
		}},
		{"merge_request_update_title.json", "Merge Request Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Action", ev.MergeRequest.Action, vcs.ActionUpdate)
			want(t, "NewCommits", ev.MergeRequest.NewCommits(), false)
			want(t, "Title", ev.MergeRequest.Title, "New title")
		}},
		{"merge_request_draft.json", "Merge Request Hook", func(t *testing.T, ev vcs.Event) {
			want(t, "Draft", ev.MergeRequest.Draft, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseEvent(tt.header, readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if err := consistent(ev); err != nil {
				t.Errorf("inconsistent event: %v", err)
			}
			tt.check(t, ev)
		})
	}
}

func want[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestParseEventNoteBody: a comment is kept up to vcs.MaxNoteBody bytes,
// cut on a rune boundary, and says so when cut.
func TestParseEventNoteBody(t *testing.T) {
	t.Parallel()
	note := string(readTestdata(t, "note_merge_request.json"))
	tests := []struct {
		name          string
		body          string
		wantLen       int
		wantTruncated bool
	}{
		{name: "short", body: "/hoist plan app", wantLen: 15},
		{name: "at the bound", body: strings.Repeat("a", vcs.MaxNoteBody), wantLen: vcs.MaxNoteBody},
		{name: "over the bound", body: strings.Repeat("a", vcs.MaxNoteBody+1), wantLen: vcs.MaxNoteBody, wantTruncated: true},
		// "é" is two bytes: the cut backs off to keep the text valid UTF-8.
		{name: "cut inside a rune", body: "a" + strings.Repeat("é", vcs.MaxNoteBody/2), wantLen: vcs.MaxNoteBody - 1, wantTruncated: true},
		{name: "GitLab's maximum", body: strings.Repeat("x", 1_000_000), wantLen: vcs.MaxNoteBody, wantTruncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			quoted, _ := json.Marshal(tt.body)
			body := strings.Replace(note, `"note": "This MR needs work."`, `"note": `+string(quoted), 1)
			ev, err := ParseEvent("Note Hook", []byte(body))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			want(t, "len(Body)", len(ev.Note.Body), tt.wantLen)
			want(t, "Truncated", ev.Note.Truncated, tt.wantTruncated)
			want(t, "valid UTF-8", utf8.ValidString(ev.Note.Body), true)
			want(t, "prefix kept", strings.HasPrefix(tt.body, ev.Note.Body), true)
		})
	}
}

// TestParseEventIgnored: events Hoist does not act on are not errors, but
// their body must still be a JSON object.
func TestParseEventIgnored(t *testing.T) {
	t.Parallel()
	tests := []struct{ header, body string }{
		{"Pipeline Hook", `{"object_kind":"pipeline"}`},
		{"Issue Hook", `{}`},
		{"System Hook", `{"object_kind":"push"}`},
		{"Confidential Note Hook", `{"object_kind":"note","object_attributes":{"noteable_type":"MergeRequest"}}`},
		{"Note Hook", `{"object_kind":"note","object_attributes":{"noteable_type":"Commit"}}`},
		{"Note Hook", `{"object_kind":"note","object_attributes":{"noteable_type":"Issue"}}`},
		{"Note Hook", `{"object_kind":"note","object_attributes":{"noteable_type":"Snippet"}}`},
		{"Note Hook", `{"object_kind":"note","object_attributes":{}}`},
		{"", `{"object_kind":"push"}`},
	}
	for _, tt := range tests {
		ev, err := ParseEvent(tt.header, []byte(tt.body))
		if err != nil {
			t.Errorf("ParseEvent(%q, %s): %v", tt.header, tt.body, err)
			continue
		}
		if ev.Kind != vcs.KindIgnored || ev.Name != tt.header || ev.Provider != "gitlab" {
			t.Errorf("ParseEvent(%q, %s) = %+v, want an ignored event named %q", tt.header, tt.body, ev, tt.header)
		}
	}
}

// TestParseEventInvalid: every refusal carries apperr.Invalid, so the
// receiver answers 400.
func TestParseEventInvalid(t *testing.T) {
	t.Parallel()
	push := string(readTestdata(t, "push.json"))
	mr := string(readTestdata(t, "merge_request.json"))
	note := string(readTestdata(t, "note_merge_request.json"))
	tests := []struct {
		name, header, body, msg string
	}{
		{"broken JSON", "Push Hook", `{"object_kind":`, "malformed Push Hook payload"},
		{"broken JSON of an ignored event", "Pipeline Hook", `{"object_kind":`, "malformed Pipeline Hook payload"},
		{"JSON array", "Pipeline Hook", `[1]`, "malformed"},
		{"empty body", "Push Hook", ``, "malformed"},
		{"kind mismatch", "Push Hook", mr, `object_kind "merge_request", want "push"`},
		{"kind missing", "Merge Request Hook", `{"object_attributes":{}}`, `object_kind "", want "merge_request"`},
		{"a push as a tag push", "Tag Push Hook", push, `object_kind "push", want "tag_push"`},
		{"a push as a merge request", "Merge Request Hook", `{"object_kind":"push"}`, `object_kind "push", want "merge_request"`},
		{"a merge request as a comment", "Note Hook", mr, `object_kind "merge_request", want "note"`},
		{"JSON array as a push", "Push Hook", `[1]`, "malformed"},
		{"field of wrong type", "Push Hook", `{"object_kind":"push","before":5}`, "malformed"},
		{"tag ref in a push", "Push Hook", strings.Replace(push, "refs/heads/master", "refs/tags/v1", 1), "not a branch"},
		{"short after", "Push Hook", strings.Replace(push, `"after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"`, `"after": "da15608"`, 1), "not a full commit SHA"},
		{"zero checkout", "Push Hook", strings.Replace(push, `"checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"`, `"checkout_sha": "`+zeroSHA+`"`, 1), "checkout_sha"},
		{"no project", "Push Hook", strings.NewReplacer(`"project_id": 15`, `"project_id": 0`, `"id": 15`, `"id": 0`).Replace(push), "names no project"},
		{"both zero", "Push Hook", strings.NewReplacer(`"95790bf891e76fee5e1747ab589903a6a1f80f22"`, `"`+zeroSHA+`"`, `"after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"`, `"after": "`+zeroSHA+`"`).Replace(push), "both the zero SHA"},
		{"delete listing commits", "Push Hook", strings.Replace(push, `"after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"`, `"after": "`+zeroSHA+`"`, 1), "deleted ref lists commits"},
		{"open MR without head", "Merge Request Hook", strings.Replace(mr, `"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"`, `"id": ""`, 1), "no last_commit.id"},
		{"MR without iid", "Merge Request Hook", strings.Replace(mr, `"iid": 1,`, `"iid": 0,`, 1), "no iid"},
		{"note without id", "Note Hook", strings.Replace(note, `"id": 1244,`, `"id": 0,`, 1), "note has no id"},
		{"note without merge request", "Note Hook", strings.Replace(note, `"merge_request": {`, `"merge_request_x": {`, 1), "no iid"},
		{"note on a short head", "Note Hook", strings.Replace(note, `"562e173be03b8ff2efb05345d12df18815438a4b"`, `"562e173"`, 1), "not a full commit SHA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseEvent(tt.header, []byte(tt.body))
			if err == nil {
				t.Fatalf("ParseEvent succeeded with %+v, want an error", ev)
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("error %v has code %s, want invalid", err, apperr.CodeOf(err))
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// BenchmarkParseEvent parses GitLab's documented push and merge request
// payloads, as processing does once per delivery.
func BenchmarkParseEvent(b *testing.B) {
	for _, tc := range []struct{ header, file string }{
		{"Push Hook", "push.json"}, {"Merge Request Hook", "merge_request.json"},
	} {
		body := readTestdata(b, tc.file)
		b.Run(tc.header, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseEvent(tc.header, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
