package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// WebhookSecretBytes is the entropy of a webhook secret (SPEC §2.1).
const WebhookSecretBytes = 32

// NewWebhookSecret returns 32 random bytes as 64 lower-case hex characters:
// easy to copy into GitLab's "Secret token" field, no characters that need
// quoting anywhere.
func NewWebhookSecret() string {
	b := make([]byte, WebhookSecretBytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewPassword returns a random password of 26 base32 characters (130 bits),
// for generated user passwords.
func NewPassword() string { return rand.Text() }

// apiKeyPrefix starts every API key secret so leaked keys are recognisable
// by secret scanners.
const apiKeyPrefix = "hoist_"

var keyIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey mints an API key: a random id (16 lower-case base32 characters)
// and the secret "hoist_<id>_<43 url-safe base64 characters>" (32 random
// bytes). The secret is shown once; store HashAPIKey(secret).
func NewAPIKey() (id, secret string) {
	idb := make([]byte, 10)
	rand.Read(idb)
	id = keyIDEncoding.EncodeToString(idb)
	sb := make([]byte, 32)
	rand.Read(sb)
	return id, apiKeyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(sb)
}

// ParseAPIKey returns the key id inside an API key secret, or ok false when
// the string does not have the shape of one.
func ParseAPIKey(secret string) (id string, ok bool) {
	rest, found := strings.CutPrefix(secret, apiKeyPrefix)
	if !found {
		return "", false
	}
	id, random, found := strings.Cut(rest, "_")
	if !found || len(id) != 16 || len(random) != 43 {
		return "", false
	}
	if _, err := keyIDEncoding.DecodeString(id); err != nil {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(random); err != nil {
		return "", false
	}
	return id, true
}

// HashAPIKey returns the hex SHA-256 of an API key secret. A fast hash is
// right here: the secret has 256 random bits, so there is nothing to guess.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CheckAPIKey compares secret with a stored hash in constant time.
func CheckAPIKey(secret, hash string) bool {
	got := HashAPIKey(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}
