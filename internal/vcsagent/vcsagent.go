// Package vcsagent is VCS agent pools (SPEC §2.5): named pools of `hoist
// vcs-agent` processes inside a private network that carry Hoist's GitLab
// API traffic. This package holds the pool record, its token (shown once,
// stored hashed), the pool Service with its space-scoped access rules
// (visibility.go), and the errors callers
// of a private integration branch on. The tunnel itself (server registry,
// RoundTripper, wire protocol) is in the tunnel subpackage; the agent
// process is in the agent subpackage.
package vcsagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
)

// Pool is one VCS agent pool. Its id is the slug of the name and is what
// integrations name in private://<id>.
type Pool struct {
	ID          string
	Name        string
	SpaceID     string // the space that owns it; integrations in it and below may route through it
	Description string // markdown
	TokenHash   string // secret.HashAPIKey of the pool token; the token itself is never stored
	CreatedAt   time.Time
	CreatedBy   string
	RotatedAt   time.Time // when the current token was minted (= CreatedAt until rotated)
}

// Filter narrows a listing. With All false, the listing holds the pools
// whose space is in Spaces — exactly the set CanList allows a principal who
// has read on Spaces.
type Filter struct {
	All    bool     // every pool (root admins)
	Spaces []string // spaces the principal may read
}

// Store persists pools. Each write stores its audit entry in the same
// transaction. A duplicate id gives apperr Conflict; a missing pool gives
// NotFound; a missing space gives Invalid on the field "space".
type Store interface {
	CreateAgentPool(ctx context.Context, p Pool, e audit.Entry) error
	GetAgentPool(ctx context.Context, id string) (Pool, error)
	// ListAgentPools pages the pools matching f by id.
	ListAgentPools(ctx context.Context, f Filter, cursor string, limit int) ([]Pool, string, error)
	// UpdateAgentPool replaces the description and the space of the pool
	// with p.ID (the name is immutable: integrations name the id).
	UpdateAgentPool(ctx context.Context, p Pool, e audit.Entry) error
	// SetAgentPoolToken replaces the token hash and RotatedAt.
	SetAgentPoolToken(ctx context.Context, id, tokenHash string, rotatedAt time.Time, e audit.Entry) error
	DeleteAgentPool(ctx context.Context, id string, e audit.Entry) error
}

// ErrNoAgent is wrapped by every error that says no agent of a pool is
// connected: GitLab calls of a private integration fail fast with it, and
// callers with a durable queue retry later.
var ErrNoAgent = errors.New("no VCS agent connected")

// NoAgentError names the pool that has no connected agent.
type NoAgentError struct{ Pool string }

func (e *NoAgentError) Error() string {
	return fmt.Sprintf("no VCS agent of pool %q is connected — start `hoist vcs-agent` with the pool's token inside the private network", e.Pool)
}

// Is makes errors.Is(err, ErrNoAgent) true.
func (e *NoAgentError) Is(target error) bool { return target == ErrNoAgent }

// ErrRefused is wrapped by RefusedError.
var ErrRefused = errors.New("vcs agent refused the request")

// RefusedError is an agent's refusal to forward a request (a path outside
// its allow-list, a project outside --allowed-projects). Retrying does not
// help; the agent's operator has to widen its flags.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "vcs agent refused: " + e.Reason }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// PrivateScheme prefixes hosts reached through a pool.
const PrivateScheme = "private://"

// Route says how to reach the GitLab of an integration whose hosts are
// apiHost and userFacingHost: through pool when either is private://<pool>,
// with pathPrefix the GitLab relative URL root (the path of the private://
// URL, else the API host's path). The API host wins when both are private.
// ok is false for integrations reached directly.
func Route(apiHost, userFacingHost string) (pool, pathPrefix string, ok bool) {
	for _, h := range []string{apiHost, userFacingHost} {
		if !strings.HasPrefix(h, PrivateScheme) {
			continue
		}
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		prefix := strings.TrimRight(u.EscapedPath(), "/")
		if prefix == "" && h != apiHost {
			if a, err := url.Parse(apiHost); err == nil {
				prefix = strings.TrimRight(a.EscapedPath(), "/")
			}
		}
		return strings.ToLower(u.Host), prefix, true
	}
	return "", "", false
}

// tokenPrefix starts every pool token so leaked tokens are recognisable.
const tokenPrefix = "hoist_pool_"

// NewToken mints a pool token "hoist_pool_<pool-id>_<64 hex>" (256 random
// bits). The pool id in it lets the server find the pool without a scan;
// store secret.HashAPIKey(token).
func NewToken(poolID string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return tokenPrefix + poolID + "_" + hex.EncodeToString(b)
}

// ParseToken returns the pool id inside a pool token, or ok false when the
// string does not have the shape of one.
func ParseToken(token string) (poolID string, ok bool) {
	rest, found := strings.CutPrefix(token, tokenPrefix)
	if !found {
		return "", false
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 || len(rest)-i-1 != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(rest[i+1:]); err != nil {
		return "", false
	}
	return rest[:i], true
}

// PoolOf returns the pool one host names when it is private://<pool>[/path]
// (lowercased, as Route answers it).
func PoolOf(host string) (string, bool) {
	pool, _, ok := Route(host, "")
	return pool, ok
}
