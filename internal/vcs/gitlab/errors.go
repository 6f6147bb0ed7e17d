package gitlab

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/transfer"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// explainTransfer says which bound an answer to GET /api/v4/<path> went
// past (a cap, a silence, no answer), or returns nil. None of them is a
// reachability problem: GitLab was reached, and the message says so.
func explainTransfer(apiHost, path string, err error) error {
	var tooLarge *transfer.TooLargeError
	if errors.As(err, &tooLarge) {
		what := fmt.Sprintf("GitLab's answer to GET /api/v4/%s is larger than the %s cap (%s)", path, transfer.FormatSize(tooLarge.Limit), tooLarge.Setting)
		if tooLarge.Setting == MaxArchiveSetting {
			return apperr.Wrap(apperr.Invalid, err, "%s — the repository is too large for this server; the operator can raise the cap with %s", what, tooLarge.Setting)
		}
		return wrapField("api_host", err, "%s — check that %s is GitLab's API; if it is, the operator can raise the cap with %s", what, apiHost, tooLarge.Setting)
	}
	var stalled *transfer.StalledError
	if errors.As(err, &stalled) {
		return apperr.Wrap(apperr.Invalid, err, "GitLab at %s stopped sending its answer to GET /api/v4/%s: the transfer stalled (no data for %s) — "+
			"check the network between Hoist and GitLab (or the VCS agent), then try again", apiHost, path, transfer.FormatDuration(stalled.Idle))
	}
	var noAnswer *transfer.NoAnswerError
	if errors.As(err, &noAnswer) {
		return wrapField("api_host", err, "GitLab at %s did not answer GET /api/v4/%s within %s — it may be overloaded; try again later",
			apiHost, path, transfer.FormatDuration(noAnswer.Wait))
	}
	var tooLong *transfer.TooLongError
	if errors.As(err, &tooLong) {
		return wrapField("api_host", err, "GitLab at %s did not finish its answer to GET /api/v4/%s within %s — it may be overloaded; try again later",
			apiHost, path, transfer.FormatDuration(tooLong.Total))
	}
	return nil
}

// explainTransport maps failures below HTTP (dialing, DNS, TLS, redirects,
// refused addresses) to a message with the fix, or returns nil when err is
// not one of them.
func explainTransport(apiHost string, err error) error {
	if e := explainAgent(apiHost, err); e != nil {
		return e
	}
	var blocked *blockedAddrError
	if errors.As(err, &blocked) {
		return wrapField("api_host", err, "%s resolves to %s, a link-local (cloud metadata) address that Hoist refuses — use another host, or ask the operator to allow it with --allow-gitlab-host", apiHost, blocked.addr)
	}
	var redirect *crossHostRedirectError
	if errors.As(err, &redirect) {
		return wrapField("api_host", err, "%s redirects to %s; Hoist does not send the token to another host — set the API host URL to the final address", apiHost, redirect.to)
	}
	if e := explainTLS(apiHost, err); e != nil {
		return e
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return wrapField("api_host", err, "cannot reach %s: host name not found — check the API host URL", apiHost)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return wrapField("api_host", err, "cannot reach %s: connection refused — check the API host URL", apiHost)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return wrapField("api_host", err, "cannot reach %s: timed out — check the API host URL and that Hoist's network can reach it", apiHost)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return wrapField("api_host", err, "cannot reach %s: %s — check the API host URL", apiHost, shortNetReason(opErr))
	}
	return nil
}

func explainTLS(apiHost string, err error) error {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return wrapField("ca_bundle", err, "TLS verification failed for %s: certificate signed by unknown authority — add the GitLab CA to ca_bundle", apiHost)
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return wrapField("api_host", err, "TLS verification failed for %s: the certificate is not valid for this host name — check the API host URL", apiHost)
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		return wrapField("ca_bundle", err, "TLS verification failed for %s: the certificate is invalid (%s) — renew GitLab's certificate or fix ca_bundle", apiHost, invalidReason(invalid.Reason))
	}
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return wrapField("ca_bundle", err, "TLS verification failed for %s — check GitLab's certificate and ca_bundle", apiHost)
	}
	var header tls.RecordHeaderError
	// net/http reports a plain-HTTP answer to a TLS hello only as text.
	if errors.As(err, &header) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return wrapField("api_host", err, "TLS handshake with %s failed: the server does not speak TLS — did you mean http://?", apiHost)
	}
	return nil
}

func invalidReason(r x509.InvalidReason) string {
	if r == x509.Expired {
		return "expired or not yet valid"
	}
	return "not usable for a server"
}

// shortNetReason is the last, human part of a dial error ("no route to
// host"), without the addresses Go puts in front.
func shortNetReason(e *net.OpError) string {
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		return errno.Error()
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Op + " failed"
}

// explainAgent passes the tunnel's own messages through: no agent
// connected (retry later) and an agent's refusal (widen its flags).
func explainAgent(apiHost string, err error) error {
	var none *vcsagent.NoAgentError
	if errors.As(err, &none) {
		return wrapField("api_host", err, "cannot reach %s: %s", apiHost, none.Error())
	}
	var refused *vcsagent.RefusedError
	if errors.As(err, &refused) {
		return wrapField("api_host", err, "%s (through %s)", refused.Error(), apiHost)
	}
	return nil
}
