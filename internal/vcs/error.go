package vcs

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorKind sorts failed calls to a VCS by what a caller can do about
// them. The provider adapter decides the kind, once, from the answer's
// status or the transport's error; callers decide what each kind means for
// them (retry, refuse, tell the user what to fix).
type ErrorKind string

// The kinds of failed call.
const (
	KindUnauthorized ErrorKind = "unauthorized"  // 401: the token is revoked or expired
	KindForbidden    ErrorKind = "forbidden"     // 403: the token lacks a scope or role, or its user is blocked
	KindNotFound     ErrorKind = "not_found"     // 404: no such object, or the token's user cannot see it
	KindRateLimited  ErrorKind = "rate_limited"  // 429: come back after RetryAfter / RateLimitReset
	KindConflict     ErrorKind = "conflict"      // 409: a concurrent change won; the next attempt sees it
	KindUnavailable  ErrorKind = "unavailable"   // 5xx or 408: the server is down or overloaded
	KindInvalid      ErrorKind = "invalid"       // any other error status: the request was refused as asked
	KindUnchanged    ErrorKind = "unchanged"     // refused because the object is already in the asked-for state
	KindBadAnswer    ErrorKind = "bad_answer"    // an answer that cannot be used: not the API's JSON, past a cap, cut short
	KindUnreachable  ErrorKind = "unreachable"   // no answer: DNS, connection, TLS, timeouts
	KindNoAgent      ErrorKind = "no_agent"      // a private integration had no VCS agent connected
	KindAgentRefused ErrorKind = "agent_refused" // the VCS agent refused to forward the call
	KindCanceled     ErrorKind = "canceled"      // the caller canceled the call
)

// Error is a failed call to a VCS, classified. Its Error text is that of
// the underlying error, unchanged; the message a user sees about it is
// written by whoever wraps it, for the operation at hand.
type Error struct {
	Kind   ErrorKind
	Status int // the answer's HTTP status; 0 without an answer
	// Message is the server's error as the run page shows it ("404 Not
	// Found", "400 {message: …}"), or the transport's error.
	Message string
	// RetryAfter and RateLimitReset are the answer's headers of those
	// names as sent ("" when absent): when the server asked to be called
	// again.
	RetryAfter, RateLimitReset string
	Err                        error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the *Error in err's chain, or "" when there
// is none (the call failed before reaching the VCS, or err is nil).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// AskedWait reads the wait GitLab asked for: retryAfter (Retry-After:
// seconds or an HTTP date) first, else rateLimitReset (RateLimit-Reset:
// Unix seconds). ok is false when neither says anything usable.
func AskedWait(retryAfter, rateLimitReset string, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(retryAfter); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(rateLimitReset); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// AskedWait is the wait the failed call's answer asked for (see the
// function AskedWait); ok is false for e nil or without such headers.
func (e *Error) AskedWait(now time.Time) (time.Duration, bool) {
	if e == nil {
		return 0, false
	}
	return AskedWait(e.RetryAfter, e.RateLimitReset, now)
}
