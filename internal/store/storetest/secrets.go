package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/hoistdev/hoist/internal/secret"
)

// testSecretsAtRest seals a token and a webhook secret the way the service
// does, stores them, reads everything the database holds raw and finds
// neither in plaintext (nor in base64), then checks they still open.
func testSecretsAtRest(t *testing.T, h Harness) {
	s := fresh(t, h)
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	token := "glpat-" + base64.RawURLEncoding.EncodeToString(key[:15]) // unique per run
	hook := secret.NewWebhookSecret()
	in := testIntegration("sealed", "root", false)
	in.TokenSealed = box.Seal([]byte(token), secret.AAD("integration", in.ID, "token"))
	in.WebhookSecretSealed = box.Seal([]byte(hook), secret.AAD("integration", in.ID, "webhook_secret"))
	if err := s.CreateIntegration(ctx(), in, entry("integration.create", in.ID)); err != nil {
		t.Fatal(err)
	}
	raw := h.Raw(t, s)
	if !bytes.Contains(raw, []byte("sealed")) {
		t.Fatal("raw dump does not contain the integration row; the check would prove nothing")
	}
	for name, plain := range map[string]string{"token": token, "webhook secret": hook} {
		for _, form := range []string{plain, base64.StdEncoding.EncodeToString([]byte(plain))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the %s is stored in plaintext", name)
			}
		}
	}
	got, err := s.GetIntegration(ctx(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := box.Open(got.TokenSealed, secret.AAD("integration", in.ID, "token"))
	if err != nil || string(tok) != token {
		t.Errorf("token does not open after a round trip: %v", err)
	}
	if _, err := box.Open(got.WebhookSecretSealed, secret.AAD("integration", in.ID, "token")); err == nil {
		t.Error("webhook secret opens as the token")
	}
}
