package secret

import (
	"encoding/hex"
	"regexp"
	"testing"
)

func TestNewWebhookSecret(t *testing.T) {
	t.Parallel()
	s1, s2 := NewWebhookSecret(), NewWebhookSecret()
	b, err := hex.DecodeString(s1)
	if err != nil || len(b) != WebhookSecretBytes || len(s1) != 64 {
		t.Errorf("secret %q: %d bytes, %v", s1, len(b), err)
	}
	if s1 == s2 {
		t.Error("two secrets are equal")
	}
}

func TestNewPassword(t *testing.T) {
	t.Parallel()
	if p := NewPassword(); len(p) < 26 || p == NewPassword() {
		t.Errorf("password %q", p)
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	id, sec := NewAPIKey()
	if !regexp.MustCompile(`^hoist_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$`).MatchString(sec) {
		t.Fatalf("secret shape %q", sec)
	}
	got, ok := ParseAPIKey(sec)
	if !ok || got != id {
		t.Fatalf("ParseAPIKey = %q, %v; want %q", got, ok, id)
	}
	hash := HashAPIKey(sec)
	if len(hash) != 64 || !CheckAPIKey(sec, hash) {
		t.Error("hash does not check")
	}
	other, sec2 := NewAPIKey()
	if other == id || CheckAPIKey(sec2, hash) || CheckAPIKey(sec, "") {
		t.Error("different keys check against each other")
	}
	for _, bad := range []string{
		"", "hoist_", "Bearer " + sec, sec + "x", sec[:len(sec)-1], "hoist_" + id + "-" + sec[len(sec)-43:],
		"hoist_ABCDEFGHIJKLMNOP_" + sec[len(sec)-43:], "glpat-xyz",
		"hoist_" + id + "_" + "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
	} {
		if id, ok := ParseAPIKey(bad); ok {
			t.Errorf("ParseAPIKey(%q) = %q, true", bad, id)
		}
	}
}
