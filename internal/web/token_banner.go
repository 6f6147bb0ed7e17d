package web

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hoistdev/hoist/internal/space"
)

// tokenWarning is how long before an integration token's recorded expiry
// its space's admins see a banner (the first token_expiring notice).
const tokenWarning = 30 * 24 * time.Hour

// tokenBanners warns the principal, on every page, of the integration
// tokens it can renew (admin of the integration's space) that expire
// within tokenWarning or have expired. A failure to look costs the banner,
// not the page.
func (u *UI) tokenBanners(ctx context.Context, principal string) []string {
	if u.cfg.Integrations == nil || u.cfg.Spaces == nil {
		return nil
	}
	its, _, err := u.cfg.Integrations.List(ctx, principal, "", 100)
	if err != nil {
		u.log.WarnContext(ctx, "token expiry banner", "error", err)
		return nil
	}
	access, _, err := u.cfg.Spaces.Access(ctx, principal)
	if err != nil {
		u.log.WarnContext(ctx, "token expiry banner", "error", err)
		return nil
	}
	now := u.now()
	var out []string
	for _, it := range its {
		exp := it.TokenExpiresAt
		if exp == nil || exp.Sub(now) > tokenWarning || !access.Has(it.SpaceID, space.Admin) {
			continue
		}
		if left := exp.Sub(now); left <= 0 {
			out = append(out, fmt.Sprintf("The GitLab token of integration %s expired on %s: runs and GitLab write-back fail until it is replaced.",
				it.Name, exp.UTC().Format("2006-01-02")))
		} else {
			out = append(out, fmt.Sprintf("The GitLab token of integration %s expires in %d days (%s): replace it before runs and GitLab write-back stop.",
				it.Name, int(math.Ceil(left.Hours()/24)), exp.UTC().Format("2006-01-02")))
		}
	}
	return out
}
