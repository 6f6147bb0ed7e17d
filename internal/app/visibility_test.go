package app_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// Acceptance 4: SPEC §2.3 with four principals on a default and a space-A
// integration.
func TestVisibility(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("A", "root")
	h.space("B", "root")
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey, h.integrationBody("Default GL", "", h.Token(gitlabsim.TokenOptions{})))
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey, h.integrationBody("Team A GL", "a", h.Token(gitlabsim.TokenOptions{})))

	keys := map[string]string{
		"root admin":      h.AdminKey,
		"admin of A":      h.apiKey("admin-a", "a:admin"),
		"reader of A":     h.apiKey("reader-a", "a:read"),
		"reader of B":     h.apiKey("reader-b", "b:read"),
		"writer of A":     h.apiKey("writer-a", "a:write"),
		"no roles at all": h.apiKey("nobody"),
	}
	// Expected status per principal for [default, team-a-gl].
	type expect struct {
		listed          []string
		details, change [2]int
	}
	want := map[string]expect{
		"root admin":      {[]string{"default-gl", "team-a-gl"}, [2]int{200, 200}, [2]int{200, 200}},
		"admin of A":      {[]string{"default-gl", "team-a-gl"}, [2]int{403, 200}, [2]int{403, 200}},
		"reader of A":     {[]string{"default-gl", "team-a-gl"}, [2]int{403, 403}, [2]int{403, 403}},
		"writer of A":     {[]string{"default-gl", "team-a-gl"}, [2]int{403, 403}, [2]int{403, 403}},
		"reader of B":     {[]string{"default-gl"}, [2]int{403, 404}, [2]int{403, 404}},
		"no roles at all": {[]string{"default-gl"}, [2]int{403, 404}, [2]int{403, 404}},
	}
	ids := [2]string{"default-gl", "team-a-gl"}
	for who, w := range want {
		key := keys[who]
		var list api.Page[api.Integration]
		h.Must(http.StatusOK, "GET", "/api/v1/integrations", key, nil).Decode(t, &list)
		var listed []string
		for _, it := range list.Items {
			listed = append(listed, it.ID)
			if it.WebhookSecret != "" || it.TokenUser != "" || it.WebhookEndpoint != "" {
				t.Errorf("%s: listing carries details of %s", who, it.ID)
			}
		}
		slices.Sort(listed)
		if !slices.Equal(listed, w.listed) {
			t.Errorf("%s lists %v, want %v", who, listed, w.listed)
		}
		for i, id := range ids {
			path := "/api/v1/integrations/gitlab/" + id
			r := h.Call("GET", path, key, nil)
			if r.Status != w.details[i] {
				t.Errorf("%s: GET %s = %d, want %d", who, id, r.Status, w.details[i])
			}
			var it api.Integration
			if r.Status == 200 {
				if r.Decode(t, &it); !hex64.MatchString(it.WebhookSecret) || it.WebhookEndpoint == "" {
					t.Errorf("%s: details of %s lack endpoint or secret", who, id)
				}
			}
			for _, op := range []struct{ method, suffix string }{{"PATCH", ""}, {"POST", "/test"}, {"POST", "/rotate-webhook-secret"}} {
				var body any
				if op.method == "PATCH" {
					body = map[string]any{"description": "changed by " + who}
				}
				if r := h.Call(op.method, path+op.suffix, key, body); r.Status != w.change[i] {
					t.Errorf("%s: %s %s%s = %d, want %d", who, op.method, id, op.suffix, r.Status, w.change[i])
				}
			}
			if w.change[i] != 200 {
				if r := h.Call("DELETE", path, key, nil); r.Status != w.change[i] {
					t.Errorf("%s: DELETE %s = %d, want %d", who, id, r.Status, w.change[i])
				}
			}
		}
	}

	// Creating follows the same rule as changing.
	body := h.integrationBody("By Admin Of A", "a", h.Token(gitlabsim.TokenOptions{}))
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", keys["admin of A"], body)
	body = h.integrationBody("By Reader Of A", "a", h.Token(gitlabsim.TokenOptions{}))
	h.Must(http.StatusForbidden, "POST", "/api/v1/integrations/gitlab", keys["reader of A"], body)
	body = h.integrationBody("Default By Admin Of A", "", h.Token(gitlabsim.TokenOptions{}))
	h.Must(http.StatusForbidden, "POST", "/api/v1/integrations/gitlab", keys["admin of A"], body)
	body = h.integrationBody("In Hidden Space", "a", h.Token(gitlabsim.TokenOptions{}))
	if r := h.Call("POST", "/api/v1/integrations/gitlab", keys["reader of B"], body); r.Status != 400 {
		t.Errorf("reader of B creating in A = %d, want 400 (space A does not exist for them)", r.Status)
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/integrations/gitlab/team-a-gl", keys["admin of A"], nil)
	h.Must(http.StatusForbidden, "GET", "/api/v1/audit", keys["admin of A"], nil)
	h.AssertNoTokenLeaked()
}
