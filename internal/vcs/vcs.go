// Package vcs holds the provider-neutral view of a version control system
// that the rest of Hoist works with: events, what a token or repository
// check learns, the objects the write-back sets, and the classified error
// of a failed call. The provider adapter (internal/vcs/gitlab) speaks in
// these types, so no other package needs the provider's own.
package vcs

import (
	"context"
	"fmt"
	"time"
)

// Endpoint is how Hoist reaches one VCS server on behalf of one integration.
type Endpoint struct {
	// Integration is the id of the integration the endpoint belongs to:
	// the adapter keeps one client (and its connections) per integration
	// and replaces it when the other fields change. Empty for a one-off
	// call, whose connections are closed after it.
	Integration string
	APIHost     string // e.g. https://gitlab.com or https://git.example.com/gitlab
	Token       string // never logged, never returned
	CABundle    string // optional PEM bundle trusted for this server only
}

// String names the endpoint for logs and messages without its token.
func (e Endpoint) String() string { return e.APIHost }

// GoString keeps the token out of %#v output as well.
func (e Endpoint) GoString() string {
	return fmt.Sprintf("vcs.Endpoint{Integration: %q, APIHost: %q}", e.Integration, e.APIHost)
}

// TokenInfo is what a successful token check learned about the token.
type TokenInfo struct {
	User      string     // username of the token's user (a bot user for project/group tokens)
	UserID    int64      // the user's id on the VCS server
	Scopes    []string   // scopes granted to the token
	ExpiresAt *time.Time // nil when the token never expires
}

// TokenChecker verifies that a token works against a server and has the
// permissions Hoist needs. Errors carry apperr codes and a message that says
// what to fix; they never contain the token.
type TokenChecker interface {
	CheckToken(ctx context.Context, ep Endpoint) (TokenInfo, error)
}

// LoudExpiryWindow is how close an expiry must be for the warning to become
// urgent.
const LoudExpiryWindow = 30 * 24 * time.Hour

// ExpiryWarnings returns the warnings a token's expiry date deserves at now:
// none without an expiry, a plain note when one is set, a loud one within
// LoudExpiryWindow (an integration whose token expires stops working).
func ExpiryWarnings(info TokenInfo, now time.Time) []string {
	if info.ExpiresAt == nil {
		return nil
	}
	exp := info.ExpiresAt.UTC()
	left := exp.Sub(now)
	days := int(left.Hours() / 24)
	date := exp.Format("2006-01-02")
	switch {
	case left <= 0:
		return []string{fmt.Sprintf("WARNING: token expired on %s — create a new token and update the integration", date)}
	case left <= LoudExpiryWindow:
		return []string{fmt.Sprintf("WARNING: token expires on %s (in %s) — create a new token and update the integration before then", date, plural(days, "day"))}
	default:
		return []string{fmt.Sprintf("token expires on %s (in %s); Hoist cannot reach GitLab after that", date, plural(days, "day"))}
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
