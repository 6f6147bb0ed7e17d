package gitlab

import (
	"context"
	"fmt"
	"slices"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// RequiredScope is the token scope Hoist needs: it writes commit statuses,
// merge request notes and deployments, which only `api` allows.
const RequiredScope = "api"

var _ vcs.TokenChecker = (*Client)(nil)

// CheckToken calls GET /personal_access_tokens/self and GET /user (SPEC
// §2.2) and refuses revoked, expired or inactive tokens and tokens without
// the `api` scope. Errors are apperr Invalid naming the field to fix.
func (c *Client) CheckToken(ctx context.Context, ep vcs.Endpoint) (vcs.TokenInfo, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return vcs.TokenInfo{}, err
	}
	defer release()
	pat, resp, err := client.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx))
	if err != nil {
		return vcs.TokenInfo{}, explain(ctx, ep.APIHost, "personal_access_tokens/self", classify(resp, err))
	}
	if pat == nil || (pat.ID == 0 && pat.UserID == 0 && len(pat.Scopes) == 0) {
		return vcs.TokenInfo{}, notGitLab(ep.APIHost, "personal_access_tokens/self answered without token details")
	}
	if pat.Revoked || !pat.Active {
		return vcs.TokenInfo{}, apperr.InvalidField("token", "GitLab reports the token as revoked or expired — create a new token")
	}
	if !slices.Contains(pat.Scopes, RequiredScope) {
		return vcs.TokenInfo{}, apperr.InvalidField("token", "token has scopes %v; Hoist needs the `api` scope — create a token with the api scope", pat.Scopes)
	}
	user, resp, err := client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return vcs.TokenInfo{}, explain(ctx, ep.APIHost, "user", classify(resp, err))
	}
	if user == nil || user.Username == "" {
		return vcs.TokenInfo{}, notGitLab(ep.APIHost, "user answered without a username")
	}
	info := vcs.TokenInfo{User: user.Username, UserID: user.ID, Scopes: slices.Clone(pat.Scopes)}
	if pat.ExpiresAt != nil {
		// GitLab's expires_at is a date; the token stops working at the
		// start of that day (UTC).
		exp := time.Time(*pat.ExpiresAt).UTC()
		info.ExpiresAt = &exp
	}
	return info, nil
}

// explain turns a failed call into a client-safe apperr with the fix; e
// stays wrapped for logs (it holds URLs, never the token).
func explain(ctx context.Context, apiHost, path string, e *vcs.Error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("GET /api/v4/%s at %s: %w", path, apiHost, context.Cause(ctx))
	}
	if x := explainTransfer(apiHost, path, e); x != nil {
		return x
	}
	if x := explainTransport(apiHost, e); x != nil {
		return x
	}
	switch e.Kind {
	case vcs.KindNotFound:
		return wrapField("api_host", e, "%s does not look like a GitLab API (GET /api/v4/%s answered 404) — check the API host URL (for gitlab.com use https://gitlab.com)", apiHost, path)
	case vcs.KindUnauthorized:
		return wrapField("token", e, "GitLab rejected the token (revoked or expired) — create a new token")
	case vcs.KindForbidden:
		return wrapField("token", e, "GitLab refused the token (403: insufficient scope or blocked user) — Hoist needs an active user's token with the `api` scope")
	case vcs.KindUnavailable, vcs.KindRateLimited, vcs.KindConflict, vcs.KindInvalid:
		if e.Status >= 500 {
			return wrapField("api_host", e, "GitLab at %s answered %d on GET /api/v4/%s — it may be down; try again later", apiHost, e.Status, path)
		}
		return wrapField("api_host", e, "GitLab at %s answered %d on GET /api/v4/%s — check the API host URL", apiHost, e.Status, path)
	case vcs.KindBadAnswer:
		// An answer that client-go could not decode: an HTML page, a proxy.
		return notGitLabErr(apiHost, e, "GET /api/v4/"+path+" did not answer GitLab JSON")
	default:
		return wrapField("api_host", e, "cannot reach %s — check the API host URL", apiHost)
	}
}

func notGitLab(apiHost, why string) error {
	return apperr.InvalidField("api_host", "%s does not look like a GitLab API (%s) — check the API host URL", apiHost, why)
}

func notGitLabErr(apiHost string, err error, why string) error {
	return wrapField("api_host", err, "%s does not look like a GitLab API (%s) — check the API host URL", apiHost, why)
}

// wrapField is apperr.InvalidField keeping err as the logged cause.
func wrapField(field string, err error, format string, args ...any) error {
	e := apperr.InvalidField(field, format, args...)
	e.Err = err
	return e
}
