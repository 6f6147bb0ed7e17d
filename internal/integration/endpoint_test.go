package integration

import "testing"

// TestEndpointRoute: an integration is private when either host is
// private://… (SPEC §2.1); the API host's pool wins, and a pool named only
// by the user-facing host keeps the API host's path as GitLab's root.
func TestEndpointRoute(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ api, user, want string }{
		{"https://gitlab.example.com", "https://gitlab.example.com", "https://gitlab.example.com"},
		{"private://lab", "https://gitlab.corp", "private://lab"},
		{"private://Lab/gitlab", "", "private://lab/gitlab"},
		{"http://10.0.0.5/gitlab", "private://lab", "private://lab/gitlab"},
		{"http://10.0.0.5", "private://lab", "private://lab"},
		{"private://a", "private://b", "private://a"},
	} {
		it := Integration{APIHost: c.api, UserFacingHost: c.user, CABundle: "PEM"}
		ep := it.Endpoint("tok")
		if ep.APIHost != c.want || ep.Token != "tok" || ep.CABundle != "PEM" {
			t.Errorf("Endpoint(%q, %q) = %#v (token %q), want API host %q", c.api, c.user, ep, ep.Token, c.want)
		}
	}
}
