package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteTrustBundle: the bundle holds the system's roots (here the
// host's SSL_CERT_FILE) and the extra certificates; a file without a PEM
// certificate is refused.
func TestWriteTrustBundle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	system := filepath.Join(dir, "system.pem")
	extra := filepath.Join(dir, "server.pem")
	const sysPEM = "-----BEGIN CERTIFICATE-----\nU1lTVEVN\n-----END CERTIFICATE-----\n"
	const extraPEM = "-----BEGIN CERTIFICATE-----\nU0VSVkVS\n-----END CERTIFICATE-----\n"
	for p, c := range map[string]string{system: sysPEM, extra: extraPEM, filepath.Join(dir, "key.pem"): "not a certificate"} {
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getenv := func(k string) string {
		if k == "SSL_CERT_FILE" {
			return system
		}
		return ""
	}
	home := t.TempDir()
	p, err := writeTrustBundle(home, extra, getenv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), sysPEM) || !strings.HasSuffix(string(b), extraPEM) || filepath.Dir(p) != home {
		t.Errorf("bundle %s = %q", p, b)
	}
	if _, err := writeTrustBundle(home, filepath.Join(dir, "key.pem"), getenv); err == nil {
		t.Error("a file without certificates was accepted")
	}
}
