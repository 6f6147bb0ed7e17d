package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// ssoLogin is the OpenID Connect login (nil service without --oidc-issuer)
// and its refresh loop.
type ssoLogin struct {
	service *sso.Service
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newSSO checks the single sign-on settings and --local-login=false.
// Switching local logins off is refused unless single sign-on is set up
// and an enabled user holds root admin through a role mapping: otherwise
// the server would start with nobody able to administer it from the UI,
// and afterwards the store refuses the changes that would get there.
func newSSO(ctx context.Context, cfg Config, store *sqlstore.Store, ids *identity.Service, box *secret.Box, publicURL string) (*ssoLogin, error) {
	l := &ssoLogin{}
	if cfg.OIDC.Issuer != "" {
		set := cfg.OIDC
		if cfg.OIDCClientSecretFile != "" {
			sec, err := secret.ReadFile(cfg.OIDCClientSecretFile)
			if err != nil {
				return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
			}
			set.ClientSecret = sec
		}
		set.RedirectURL = publicURL + "/login/oidc/callback"
		set.PostLogoutURL = publicURL + "/login"
		if set.Refresh == 0 {
			set.Refresh = sso.DefaultRefresh
		}
		if err := set.Validate(); err != nil {
			return nil, err
		}
		l.service = sso.New(sso.Config{Settings: set, Users: ids, Grants: store, Box: box, Logger: cfg.Logger.With("component", "sso"),
			Clock: cfg.Clock, Client: cfg.OIDCClient, WatchRootAdmins: cfg.NoLocalLogin})
	}
	if !cfg.NoLocalLogin {
		return l, nil
	}
	if l.service == nil {
		return nil, errors.New("--local-login=false needs --oidc-issuer: nobody could log in to the web UI")
	}
	n, err := ids.MappedRootAdmins(ctx)
	if err != nil {
		return nil, fmt.Errorf("--local-login=false: %w", err)
	}
	if n == 0 {
		return nil, errors.New("--local-login=false is refused while no enabled user is root admin through a role mapping: " +
			"map a group to admin of root (hoist role-mapping create --space root --role admin …), log in once with single sign-on " +
			"as a member, then switch local logins off (docs/sso.md)")
	}
	// And it keeps holding: this server refuses to delete the last such
	// mapping, or to disable or delete the last such user.
	store.KeepMappedRootAdmin()
	return l, nil
}

func (l *ssoLogin) start(ctx context.Context) {
	if l.service == nil {
		return
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.wg.Go(func() { l.service.Run(ctx) })
}

func (l *ssoLogin) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}
