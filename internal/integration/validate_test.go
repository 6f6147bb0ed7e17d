package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

func fieldOf(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// wantInvalid fails unless err is apperr Invalid naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !apperr.Is(err, apperr.Invalid) || fieldOf(err) != field {
		t.Errorf("err = %v (field %q), want invalid naming %q", err, fieldOf(err), field)
	}
}

func TestValidateHost(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"https://gitlab.com":                 "https://gitlab.com",
		" https://GitLab.Example.com/ ":      "https://gitlab.example.com",
		"http://127.0.0.1:8080":              "http://127.0.0.1:8080",
		"https://example.com/gitlab/":        "https://example.com/gitlab",
		"HTTPS://[::1]:8443":                 "https://[::1]:8443",
		"private://pool-a":                   "private://pool-a",
		"private://pool-a/gitlab":            "private://pool-a/gitlab",
		"http://10.0.0.5":                    "http://10.0.0.5",
		"https://gitlab.internal.corp:30443": "https://gitlab.internal.corp:30443",
		// GitLab's API URL pasted as the host: Hoist adds /api/v4 itself.
		"https://gitlab.example.com/api/v4":    "https://gitlab.example.com",
		"https://gitlab.example.com/API/V4/":   "https://gitlab.example.com",
		"https://example.com/gitlab/api/v4":    "https://example.com/gitlab",
		"private://pool-a/gitlab/api/v4":       "private://pool-a/gitlab",
		"https://example.com/api/v4x":          "https://example.com/api/v4x",
		"https://example.com/my/api/v4/api/v4": "https://example.com/my/api/v4",
	}
	for in, want := range ok {
		if got, err := ValidateHost("api_host", in); err != nil || got != want {
			t.Errorf("ValidateHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "   ", "ftp://gitlab.com", "gitlab.com", "//gitlab.com", "file:///etc/passwd",
		"https://user:pass@gitlab.com", "https://user@gitlab.com", "https://gitlab.com/?x=1",
		"https://gitlab.com?", "https://gitlab.com/#frag", "https://gitlab.com#", "https://",
		"https://:443", "private://", "private://pool:80", "https://git lab.com", "https://gitlab.com/\nx",
		"mailto:a@b.c", "https://" + strings.Repeat("a", MaxHostBytes),
	}
	for _, in := range bad {
		got, err := ValidateHost("api_host", in)
		if err == nil {
			t.Errorf("ValidateHost(%q) = %q, want error", in, got)
			continue
		}
		wantInvalid(t, err, "api_host")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := func() Integration {
		return Integration{Provider: GitLab, Name: " Acme GitLab ", IsDefault: true, APIHost: "https://GitLab.com/",
			Labels: []string{"b", " a", "b"}, Description: "# GitLab"}
	}
	in := good()
	if err := Validate(&in); err != nil {
		t.Fatal(err)
	}
	if in.Name != "Acme GitLab" || in.SpaceID != "root" || in.APIHost != "https://gitlab.com" ||
		in.UserFacingHost != "https://gitlab.com" || !slices.Equal(in.Labels, []string{"a", "b"}) {
		t.Errorf("normalised = %+v", in)
	}

	tests := []struct {
		name  string
		edit  func(*Integration)
		field string
	}{
		{"empty name", func(i *Integration) { i.Name = "" }, "name"},
		{"65-char name", func(i *Integration) { i.Name = strings.Repeat("n", 65) }, "name"},
		{"provider", func(i *Integration) { i.Provider = "github" }, "provider"},
		{"default in a space", func(i *Integration) { i.SpaceID = "team-a" }, "space"},
		{"space missing", func(i *Integration) { i.IsDefault = false }, "space"},
		{"ftp api host", func(i *Integration) { i.APIHost = "ftp://gitlab.com" }, "api_host"},
		{"userinfo", func(i *Integration) { i.APIHost = "https://u:p@gitlab.com" }, "api_host"},
		{"query", func(i *Integration) { i.APIHost = "https://gitlab.com?private_token=x" }, "api_host"},
		{"user facing host", func(i *Integration) { i.UserFacingHost = "gopher://x" }, "user_facing_host"},
		{"1 MiB description", func(i *Integration) { i.Description = strings.Repeat("d", 1<<20) }, "description"},
		{"empty label", func(i *Integration) { i.Labels = []string{""} }, "labels"},
		{"ca bundle", func(i *Integration) { i.CABundle = "not pem" }, "ca_bundle"},
		{"drift issue labels without drift issue", func(i *Integration) { i.DriftIssueLabels = []string{"drift"} }, "drift_issue_labels"},
		{"drift issue label with a comma", func(i *Integration) { i.DriftIssue, i.DriftIssueLabels = true, []string{"a,b"} }, "drift_issue_labels"},
		{"21 drift issue labels", func(i *Integration) {
			i.DriftIssue = true
			for n := range MaxDriftIssueLabels + 1 {
				i.DriftIssueLabels = append(i.DriftIssueLabels, fmt.Sprint("l", n))
			}
		}, "drift_issue_labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := good()
			tt.edit(&in)
			wantInvalid(t, Validate(&in), tt.field)
		})
	}

	in = good()
	in.IsDefault, in.SpaceID, in.UserFacingHost = false, "team-a", "private://pool"
	if err := Validate(&in); err != nil || in.SpaceID != "team-a" || !in.Private() {
		t.Errorf("space integration: %+v, %v", in, err)
	}
}

func TestValidateToken(t *testing.T) {
	t.Parallel()
	if got, err := ValidateToken("glpat-abc\n"); err != nil || got != "glpat-abc" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", " \n", "glpat abc", "a\x00b", strings.Repeat("t", MaxTokenBytes+1)} {
		_, err := ValidateToken(bad)
		wantInvalid(t, err, "token")
	}
}

func testCertPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidateCABundle(t *testing.T) {
	t.Parallel()
	cert := testCertPEM(t)
	for _, ok := range []string{"", "  \n", cert, cert + "\n" + cert} {
		if err := ValidateCABundle(ok); err != nil {
			t.Errorf("ValidateCABundle: %v", err)
		}
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}))
	garbage := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not der")}))
	for name, bad := range map[string]string{
		"not pem":       "hello",
		"private key":   keyPEM,
		"bad der":       garbage,
		"trailing junk": cert + "junk",
		"too big":       strings.Repeat(cert, MaxCABundleBytes/len(cert)+1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, ValidateCABundle(bad), "ca_bundle")
		})
	}
}

func TestIsMetadataAddr(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"169.254.169.254":        true,
		"169.254.0.1":            true,
		"::ffff:169.254.169.254": true,
		"fe80::1":                true,
		"febf::1":                true,
		"fd00:ec2::254":          true,
		"224.0.0.251":            false,
		"127.0.0.1":              false,
		"10.0.0.1":               false,
		"192.168.1.10":           false,
		"::1":                    false,
		"fd00:ec2::253":          false,
		"fec0::1":                false,
		"8.8.8.8":                false,
	}
	for in, want := range tests {
		if got := IsMetadataAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("IsMetadataAddr(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckHostAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host  string
		allow []string
		ok    bool
	}{
		{"https://gitlab.com", nil, true},
		{"http://127.0.0.1:8080", nil, true},
		{"http://169.254.169.254", nil, false},
		{"http://169.254.169.254", []string{"169.254.169.254"}, true},
		{"http://[fe80::1]:80", nil, false},
		{"http://[fd00:ec2::254]", nil, false},
		{"http://metadata.google.internal", nil, false},
		{"http://Metadata.Google.Internal.", []string{"metadata.google.internal"}, true},
		{"private://pool", nil, true},
	}
	for _, tt := range tests {
		err := CheckHostAllowed("api_host", tt.host, tt.allow)
		if tt.ok && err != nil {
			t.Errorf("CheckHostAllowed(%q, %v) = %v", tt.host, tt.allow, err)
		}
		if !tt.ok {
			wantInvalid(t, err, "api_host")
		}
	}
}
