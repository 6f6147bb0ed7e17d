package gitlab_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

const testToken = "glpat-transport-test-0123456789"

// wantRefusal checks that err is an invalid error on field whose message
// contains every fragment and never the token.
func wantRefusal(t *testing.T, err error, field string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("check succeeded, want a refusal")
	}
	var ae *apperr.Error
	if !asAppErr(err, &ae) || ae.Code != apperr.Invalid {
		t.Fatalf("error %v: want apperr invalid", err)
	}
	if ae.Field != field {
		t.Errorf("field = %q, want %q (message %q)", ae.Field, field, ae.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(ae.Message, f) {
			t.Errorf("message %q does not contain %q", ae.Message, f)
		}
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q contains the token", err.Error())
	}
}

func TestCheckUnreachableHost(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	_, err = gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: host, Token: testToken})
	wantRefusal(t, err, "api_host", "cannot reach "+host+": connection refused — check the API host URL")
}

func TestCheckTLSUnknownAuthority(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: testToken})
	wantRefusal(t, err, "ca_bundle", "TLS verification failed for "+srv.URL+": certificate signed by unknown authority — add the GitLab CA to ca_bundle")
	if hits.Load() != 0 {
		t.Fatal("a request reached the server although TLS verification failed")
	}
}

func TestCheckTLSWithCABundlePassesTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r) // past TLS: the next failure is "not GitLab"
	}))
	t.Cleanup(srv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: testToken, CABundle: ca})
	wantRefusal(t, err, "api_host", "does not look like a GitLab API")
}

func TestCheckBadCABundle(t *testing.T) {
	t.Parallel()
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: "https://127.0.0.1:1", Token: testToken, CABundle: "not a certificate"})
	wantRefusal(t, err, "ca_bundle", "no PEM certificate found")
}

func TestCheckPlainHTTPServerWithHTTPSURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	host := strings.Replace(srv.URL, "http://", "https://", 1)
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: host, Token: testToken})
	wantRefusal(t, err, "api_host", "does not speak TLS")
}

func TestCheckNotGitLab(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"html page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
		}, "did not answer GitLab JSON"},
		{"404 everywhere", http.NotFound, "answered 404"},
		{"empty json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
		}, "without token details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: testToken})
			wantRefusal(t, err, "api_host", srv.URL+" does not look like a GitLab API", tt.want)
		})
	}
}

func TestCheckRefusesRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Private-Token") != "" || r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(other.Close)
	// 127.0.0.1 and localhost are different hosts to a browser and to us.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: testToken})
	wantRefusal(t, err, "api_host", "redirects to "+otherURL, "does not send the token to another host")
	if leaked.Load() != 0 {
		t.Fatal("the token was sent to the redirect target")
	}
}

func TestCheckRefusesLinkLocalUnlessAllowed(t *testing.T) {
	t.Parallel()
	ep := vcs.Endpoint{APIHost: "http://169.254.169.254", Token: testToken}
	_, err := gitlab.New(nil, nil).CheckToken(t.Context(), ep)
	wantRefusal(t, err, "api_host", "169.254.169.254", "link-local", "--allow-gitlab-host")

	// Allowed: the dialer no longer refuses, so the failure (if any, within
	// a short deadline) is about reaching the host, not about the range.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = gitlab.New([]string{"169.254.169.254"}, nil).CheckToken(ctx, ep)
	if err != nil && strings.Contains(err.Error(), "link-local") {
		t.Fatalf("allowed host still refused: %v", err)
	}
}

func TestIsLinkLocal(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"169.254.169.254":        true,
		"169.254.0.1":            true,
		"fe80::1":                true,
		"::ffff:169.254.169.254": true,
		"127.0.0.1":              false,
		"10.0.0.1":               false,
		"192.168.1.1":            false,
		"::1":                    false,
		"fd00::1":                false,
	} {
		if got := gitlab.IsLinkLocal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsLinkLocal(%s) = %v, want %v", addr, got, want)
		}
	}
}
