package hooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// keyPaths collects every key path of a decoded JSON value: objects add
// "a.b", arrays add their elements' keys under "a[]", so two arrays compare
// by the union of their elements' keys.
func keyPaths(v any, prefix string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			keyPaths(child, p, out)
		}
	case []any:
		for _, child := range v {
			keyPaths(child, prefix+"[]", out)
		}
	}
}

func decodedKeys(t *testing.T, body []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	keys := map[string]bool{}
	keyPaths(v, "", keys)
	return keys
}

// TestPayloadKeysCoverGitLabExamples checks that each payload carries at
// least every key of GitLab's documented example for its event.
func TestPayloadKeysCoverGitLabExamples(t *testing.T) {
	t.Parallel()
	cs := history(2)
	closed := testMR()
	closed.Action, closed.State, closed.UpdatedByID = "close", "closed", 4
	// The example's changes: the keys GitLab reports when an MR is closed
	// and relabelled in one go.
	closed.Changes = map[string]Change{
		"updated_by_id": {Previous: nil, Current: 4},
		"updated_at":    {Previous: t0, Current: t0.Add(time.Hour)},
		"state_id":      {Previous: 1, Current: 2},
		"labels":        {Previous: []Label{{Title: "infra"}}, Current: []Label{{Title: "network"}}},
	}

	tests := []struct {
		example string
		build   func() ([]byte, error)
	}{
		{"push.json", func() ([]byte, error) {
			return PushPayload(Push{Project: testProject(), User: testUser(), Ref: "refs/heads/main", Before: sha("base"), After: cs[1].ID, Commits: cs})
		}},
		{"tag_push.json", func() ([]byte, error) {
			return PushPayload(Push{Project: testProject(), User: testUser(), Ref: "refs/tags/v1", After: cs[1].ID, Commits: cs[1:]})
		}},
		{"merge_request.json", func() ([]byte, error) { return MergeRequestPayload(testUser(), closed) }},
		{"note_merge_request.json", func() ([]byte, error) {
			return NotePayload(testProject(), Note{ID: 1, Body: "hoist plan", Author: testUser(), MR: testMR(), CreatedAt: t0})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			t.Parallel()
			example, err := os.ReadFile(filepath.Join("testdata", tt.example))
			if err != nil {
				t.Fatal(err)
			}
			body, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			want, got := decodedKeys(t, example), decodedKeys(t, body)
			var missing []string
			for k := range want {
				if !got[k] {
					missing = append(missing, k)
				}
			}
			sort.Strings(missing)
			for _, k := range missing {
				t.Errorf("key %s of GitLab's %s is missing", k, tt.example)
			}
		})
	}
}
