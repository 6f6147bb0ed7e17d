package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

func TestTokenEnvName(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"hoist.example.com":      "TF_TOKEN_hoist_example_com",
		"Hoist.Example.com:8443": "TF_TOKEN_hoist_example_com:8443",
		"127.0.0.1:36427":        "TF_TOKEN_127_0_0_1:36427",
		"my-hoist.example.com":   "TF_TOKEN_my__hoist_example_com",
	} {
		if got := TokenEnvName(host); got != want {
			t.Errorf("TokenEnvName(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestParseRunToken(t *testing.T) {
	t.Parallel()
	id, tok, ok := parseRunToken(RunToken("01JRUN", "hoistrun_ABC"))
	if !ok || id != "01JRUN" || tok != "hoistrun_ABC" {
		t.Errorf("parse of a run token = %q %q %v", id, tok, ok)
	}
	for _, key := range []string{"hoist_key_secret", ":hoistrun_ABC", "01JRUN:other", "01JRUN"} {
		if _, _, ok := parseRunToken(key); ok {
			t.Errorf("%q parsed as a run token", key)
		}
	}
}

// treeOnly is an AccessResolver with a fixed tree and no bindings.
type treeOnly struct{ tree space.Tree }

func (f treeOnly) Access(context.Context, string) (space.Access, space.Tree, error) {
	return space.Access{}, f.tree, nil
}

// TestRunAccess: a run reads what read on its stack's space reads — the
// space, its descendants, its inheriting ancestors — and nothing beside.
func TestRunAccess(t *testing.T) {
	t.Parallel()
	tree := space.NewTree([]space.Space{
		{ID: space.RootID, Inherit: true},
		{ID: "platform", ParentID: space.RootID, Inherit: true},
		{ID: "platform-dev", ParentID: "platform", Inherit: true},
		{ID: "sealed", ParentID: space.RootID, Inherit: false},
		{ID: "other", ParentID: space.RootID, Inherit: true},
	})
	ra := RunAccess{Next: treeOnly{tree}}
	cases := []struct {
		stackSpace string
		readable   map[string]bool
	}{
		{"platform", map[string]bool{space.RootID: true, "platform": true, "platform-dev": true}},
		{"sealed", map[string]bool{"sealed": true}},
	}
	for _, c := range cases {
		a, _, err := ra.Access(t.Context(), runPrincipal("01JRUN", c.stackSpace))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{space.RootID, "platform", "platform-dev", "sealed", "other"} {
			if got := a.Has(id, space.Read); got != c.readable[id] {
				t.Errorf("run of a stack in %s reads %s: %v, want %v", c.stackSpace, id, got, c.readable[id])
			}
			if a.Has(id, space.Write) {
				t.Errorf("run of a stack in %s may write %s", c.stackSpace, id)
			}
		}
	}
}

// TestAuthenticateRunCredentials: a run's credential goes to
// AuthenticateRun, anything else to Authenticate, and a refused run
// credential is 401.
func TestAuthenticateRunCredentials(t *testing.T) {
	t.Parallel()
	var gotRun, gotKey string
	h := New(Config{
		Authenticate: func(_ context.Context, key string) (string, error) {
			gotKey = key
			return "", apperr.Errorf(apperr.Unauthorized, "invalid API key")
		},
		AuthenticateRun: func(_ context.Context, runID, token string) (string, error) {
			gotRun = runID + " " + token
			return "", apperr.Errorf(apperr.Unauthorized, "invalid run credentials")
		},
	})
	for _, key := range []string{RunToken("01JRUN", "hoistrun_ABC"), "hoist_key_secret"} {
		req := httptest.NewRequest(http.MethodGet, ModulesPath+"platform/greeting/null/versions", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", key, rec.Code)
		}
	}
	if gotRun != "01JRUN hoistrun_ABC" || gotKey != "hoist_key_secret" {
		t.Errorf("run credential went to %q, API key to %q", gotRun, gotKey)
	}
	if _, err := New(Config{Authenticate: func(context.Context, string) (string, error) {
		return "", errors.New("unused")
	}}).authenticate(t.Context(), RunToken("01JRUN", "hoistrun_ABC")); err == nil {
		t.Error("without AuthenticateRun a run credential was accepted")
	}
}
