package identity

import "testing"

func TestPrincipal(t *testing.T) {
	t.Parallel()
	if p := (User{ID: "alice"}).Principal(); p != "user:alice" {
		t.Errorf("user principal %q", p)
	}
	if p := (APIKey{ID: "k1"}).Principal(); p != "apikey:k1" {
		t.Errorf("key principal %q", p)
	}
	for in, want := range map[string][2]string{"user:alice": {KindUser, "alice"}, "apikey:k:1": {KindAPIKey, "k:1"}} {
		kind, id, err := ParsePrincipal(in)
		if err != nil || kind != want[0] || id != want[1] {
			t.Errorf("ParsePrincipal(%q) = %q, %q, %v", in, kind, id, err)
		}
	}
	for _, bad := range []string{"", "alice", "user:", "robot:x", ":x"} {
		if _, _, err := ParsePrincipal(bad); err == nil {
			t.Errorf("ParsePrincipal(%q) accepted", bad)
		}
	}
}
