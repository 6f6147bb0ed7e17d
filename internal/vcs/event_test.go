package vcs

import (
	"slices"
	"strings"
	"testing"
)

func TestChangedFilesFromPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		commits []Commit
		want    []string
	}{
		{name: "no commits", want: []string{}},
		{
			name: "union sorted and deduplicated",
			commits: []Commit{
				{Added: []string{"infra/b.tf"}, Modified: []string{"README.md"}},
				{Modified: []string{"infra/b.tf", "app/x.go"}, Removed: []string{"infra/a.tf"}},
				{Removed: []string{"README.md"}},
			},
			want: []string{"README.md", "app/x.go", "infra/a.tf", "infra/b.tf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := Event{Kind: KindPush, Commits: tt.commits}
			got := ev.ChangedFilesFromPayload()
			if !slices.Equal(got, tt.want) {
				t.Errorf("ChangedFilesFromPayload() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPayloadComplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		total, listed    int
		created, deleted bool
		want             bool
	}{
		{"all listed", 3, 3, false, false, true},
		{"exactly the limit", 20, 20, false, false, true},
		{"truncated", 45, 20, false, false, false},
		{"count disagrees", 2, 3, false, false, false},
		{"over the limit though all listed", 21, 21, false, false, false},
		{"new branch", 1, 1, true, false, false},
		{"deleted branch", 0, 0, false, true, false},
		{"no commits listed", 0, 0, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PayloadComplete(tt.total, tt.listed, tt.created, tt.deleted); got != tt.want {
				t.Errorf("PayloadComplete(%d, %d, %v, %v) = %v, want %v",
					tt.total, tt.listed, tt.created, tt.deleted, got, tt.want)
			}
		})
	}
}

func TestSHAHelpers(t *testing.T) {
	t.Parallel()
	zero1, zero256 := strings.Repeat("0", 40), strings.Repeat("0", 64)
	sha := "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	tests := []struct {
		in           string
		isZero, isSH bool
	}{
		{zero1, true, true},
		{zero256, true, true},
		{sha, false, true},
		{strings.Repeat("ab", 32), false, true},
		{"", false, false},
		{"0000", false, false},
		{strings.ToUpper(sha), false, false},
		{sha[:39] + "g", false, false},
	}
	for _, tt := range tests {
		if got := IsZeroSHA(tt.in); got != tt.isZero {
			t.Errorf("IsZeroSHA(%q) = %v, want %v", tt.in, got, tt.isZero)
		}
		if got := IsSHA(tt.in); got != tt.isSH {
			t.Errorf("IsSHA(%q) = %v, want %v", tt.in, got, tt.isSH)
		}
	}
}

func TestHeadSHA(t *testing.T) {
	t.Parallel()
	sha := "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"push", Event{Kind: KindPush, After: sha}, sha},
		{"branch deleted", Event{Kind: KindPush, After: strings.Repeat("0", 40), Deleted: true}, ""},
		{"lightweight tag", Event{Kind: KindTag, After: sha}, sha},
		{"annotated tag", Event{Kind: KindTag, After: strings.Repeat("ab", 20), CheckoutSHA: sha}, sha},
		{"merge request", Event{Kind: KindMergeRequest, MergeRequest: &MergeRequest{HeadSHA: sha}}, sha},
		{"note", Event{Kind: KindNote, MergeRequest: &MergeRequest{HeadSHA: sha}, Note: &Note{}}, sha},
		{"ignored", Event{Kind: KindIgnored, After: sha}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.ev.HeadSHA(); got != tt.want {
				t.Errorf("HeadSHA() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMergeRequestNewCommits(t *testing.T) {
	t.Parallel()
	old := "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	tests := []struct {
		mr   MergeRequest
		want bool
	}{
		{MergeRequest{Action: ActionUpdate, OldRev: old}, true},
		{MergeRequest{Action: ActionUpdate}, false},
		{MergeRequest{Action: ActionOpen, OldRev: old}, false},
	}
	for _, tt := range tests {
		if got := tt.mr.NewCommits(); got != tt.want {
			t.Errorf("%+v.NewCommits() = %v, want %v", tt.mr, got, tt.want)
		}
	}
}
