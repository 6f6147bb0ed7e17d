package worker

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hoistdev/hoist/internal/workspace"
)

// systemBundles are where Linux distributions keep the system's PEM bundle
// (the files Go's crypto/x509 reads), first found wins.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS
}

// writeTrustBundle writes, into dir, a PEM bundle of the system roots and
// the certificates of extraFile, for SSL_CERT_FILE. Setting SSL_CERT_FILE
// to extraFile alone would replace the system bundle, and tofu still needs
// it for provider downloads. The host's own SSL_CERT_FILE, when set, is the
// system bundle.
func writeTrustBundle(dir, extraFile string, getenv func(string) string) (string, error) {
	extra, err := os.ReadFile(extraFile)
	if err != nil {
		return "", fmt.Errorf("read the certificates to trust: %w", err)
	}
	if !bytes.Contains(extra, []byte("-----BEGIN CERTIFICATE-----")) {
		return "", fmt.Errorf("%s holds no PEM certificate", extraFile)
	}
	candidates := systemBundles
	if f := getenv("SSL_CERT_FILE"); f != "" {
		candidates = append([]string{f}, candidates...)
	}
	var bundle []byte
	for _, f := range candidates {
		if b, err := os.ReadFile(f); err == nil {
			bundle = append(b, '\n')
			break
		}
	}
	bundle = append(bundle, extra...)
	// Certificates are public; the run's user must read them.
	return workspace.CreateFile(dir, "ca-bundle.pem", bundle, 0o644)
}
