package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/transfer"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// classify is the one classification of a failed call: the answer's
// status when there is one, else what stopped the request. Every error a
// call returns is, or wraps, its result; the messages for users (explain,
// apiError, hookError) and the write-back's retry decisions are read from
// it.
func classify(resp *gl.Response, err error) *vcs.Error {
	e := &vcs.Error{Err: err, Message: errorMessage(err)}
	if resp != nil && resp.Response != nil {
		e.Status = resp.StatusCode
		e.RetryAfter, e.RateLimitReset = resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Reset")
	}
	e.Kind = kindOf(e.Status, err)
	return e
}

// kindOf sorts a failure by its status, or without one by its cause.
func kindOf(status int, err error) vcs.ErrorKind {
	switch {
	case errors.Is(err, vcsagent.ErrRefused):
		return vcs.KindAgentRefused
	case errors.Is(err, vcsagent.ErrNoAgent):
		return vcs.KindNoAgent
	case status == 0 && errors.Is(err, context.Canceled):
		return vcs.KindCanceled
	case status == 0:
		// No answer: refused, reset, timed out, TLS, a bound of package
		// transfer before the headers.
		return vcs.KindUnreachable
	case status == http.StatusNotFound || errors.Is(err, gl.ErrNotFound):
		return vcs.KindNotFound
	case status == http.StatusUnauthorized:
		return vcs.KindUnauthorized
	case status == http.StatusForbidden:
		return vcs.KindForbidden
	case status == http.StatusTooManyRequests:
		return vcs.KindRateLimited
	case status == http.StatusConflict:
		return vcs.KindConflict
	case status >= 500 || status == http.StatusRequestTimeout:
		return vcs.KindUnavailable
	case status >= 300:
		return vcs.KindInvalid
	}
	// A success status, but the body could not be read or decoded (not
	// GitLab's JSON, past the size cap, cut short).
	return vcs.KindBadAnswer
}

// errorMessage is the error to show: GitLab's message without the request
// URL client-go puts in front when there is one.
func errorMessage(err error) string {
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return strconv.Itoa(er.Response.StatusCode) + " " + er.Message
	}
	return err.Error()
}

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
