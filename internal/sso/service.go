package sso

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/secret"
)

// Grant is what the server keeps of a user's last login at the issuer to
// recompute their mapped roles between logins.
type Grant struct {
	UserID       string
	Issuer       string
	Subject      string // the user at the issuer
	RefreshToken []byte // sealed; nil when the issuer gave none
	SyncedAt     time.Time
	NextSyncAt   time.Time
}

// GrantStore persists grants.
type GrantStore interface {
	// PutOIDCGrant inserts or replaces the grant of g.UserID.
	PutOIDCGrant(ctx context.Context, g Grant) error
	// ClaimOIDCGrants takes up to limit grants due at now (NextSyncAt not
	// after it) by moving their NextSyncAt to until, so that no other
	// server takes them meanwhile, and returns them.
	ClaimOIDCGrants(ctx context.Context, now, until time.Time, limit int) ([]Grant, error)
	// DeleteOIDCGrant removes the grant of userID (none is not an error).
	DeleteOIDCGrant(ctx context.Context, userID string) error
}

// Users is what a login and a refresh change about users.
type Users interface {
	UpsertExternalUser(ctx context.Context, issuer, subject string, p identity.ExternalProfile) (identity.User, error)
	SyncMappedRoles(ctx context.Context, userID string, groups []string) error
	// MappedRootAdmins counts the enabled users who are root admin
	// through a role mapping (Config.WatchRootAdmins).
	MappedRootAdmins(ctx context.Context) (int, error)
}

// Config wires a Service.
type Config struct {
	Settings Settings
	Users    Users
	Grants   GrantStore
	Box      *secret.Box
	Logger   *slog.Logger
	Clock    func() time.Time
	// WatchRootAdmins: password logins are off (--local-login=false), so
	// a refresh that leaves no enabled user root admin through a mapping
	// leaves nobody to administer the server from the web UI. Hoist cannot
	// refuse the issuer's word; it logs an error when that happens.
	WatchRootAdmins bool
	// Client, when set, is the HTTP client for the issuer (tests trust
	// their issuer's certificate with it); answers are bounded either way.
	Client *http.Client
}

// Service is the login through the issuer and the refresh of mapped roles.
type Service struct {
	cfg  Config
	prov *Provider
	log  *slog.Logger
	now  func() time.Time
	// rootAdmins is the last count of mapped root admins a refresh saw
	// (-1: none yet), for WatchRootAdmins to log the drop to zero once.
	rootAdmins atomic.Int64
}

// New returns the service; cfg.Settings must be valid (Settings.Validate).
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Settings.Refresh == 0 {
		cfg.Settings.Refresh = DefaultRefresh
	}
	if cfg.Settings.Name == "" {
		cfg.Settings.Name = "GitLab"
	}
	s := &Service{cfg: cfg, prov: NewProvider(cfg.Settings, cfg.Client, cfg.Clock), log: cfg.Logger, now: cfg.Clock}
	s.rootAdmins.Store(-1)
	return s
}

// Name is the issuer's name for the login button.
func (s *Service) Name() string { return s.prov.Name() }

// Issuer is the issuer URL.
func (s *Service) Issuer() string { return s.prov.Issuer() }

// pendingAAD binds a sealed pending login to its use.
var pendingAAD = secret.AAD("oidc_login", "", "pending")

// Begin starts a login that returns to next (a local path, vetted by the
// caller): the sealed pending login for the browser to keep in a cookie,
// and the issuer's URL to send it to.
func (s *Service) Begin(ctx context.Context, next string) (sealed, authURL string, err error) {
	pl, u, err := s.prov.Begin(ctx, next)
	if err != nil {
		return "", "", err
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return "", "", fmt.Errorf("encode pending login: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(s.cfg.Box.Seal(b, pendingAAD)), u, nil
}

// Login is a finished login: the user, the page to return to, and the
// sealed hint the browser keeps for logging out at the issuer.
type Login struct {
	User identity.User
	Next string
	// LogoutHint is the ID token sealed with the server's key ("" when
	// it would not fit in a cookie: the logout then goes without
	// id_token_hint).
	LogoutHint string
}

// maxLogoutHint keeps the logout cookie within what browsers store (4 KiB
// with its name and attributes); an ID token with many groups may not fit.
const maxLogoutHint = 3500

// logoutAAD binds a sealed logout hint to its use.
var logoutAAD = secret.AAD("oidc_login", "", "logout")

// Finish completes the login the sealed cookie holds with the callback's
// state and code: the user (created on first login, mapped roles
// recomputed) and the page to return to. A refusal is an *Error (or
// identity.IsExternalDisabled); anything else is the server failing.
func (s *Service) Finish(ctx context.Context, sealed, state, code string) (Login, error) {
	pl, err := s.open(sealed)
	if err != nil {
		return Login{}, err
	}
	id, err := s.prov.Finish(ctx, pl, state, code)
	if err != nil {
		return Login{}, err
	}
	u, err := s.cfg.Users.UpsertExternalUser(ctx, s.Issuer(), id.Subject, id.Profile)
	if apperr.Is(err, apperr.Invalid) {
		// The issuer's profile is unusable (an oversized subject, too
		// many groups): a refused login like any other.
		return Login{}, &Error{Reason: ReasonProfile, Err: err}
	}
	if err != nil {
		return Login{}, err
	}
	if err := s.keep(ctx, u.ID, id.Subject, id.RefreshToken); err != nil {
		return Login{}, err
	}
	l := Login{User: u, Next: pl.Next}
	if hint := base64.RawURLEncoding.EncodeToString(s.cfg.Box.Seal([]byte(id.IDToken), logoutAAD)); len(hint) <= maxLogoutHint {
		l.LogoutHint = hint
	}
	return l, nil
}

// LogoutURL is where to send a browser that logs out of Hoist so that it
// logs out at the issuer too: the issuer's end_session_endpoint with the
// ID token of the login (hint, as Finish sealed it; "" for none) — or ""
// when the issuer offers no such endpoint. A hint that does not open is
// left out, not an error: the issuer then asks the person to confirm.
func (s *Service) LogoutURL(ctx context.Context, hint string) (string, error) {
	var idToken string
	if b, err := base64.RawURLEncoding.DecodeString(hint); err == nil && hint != "" {
		if plain, err := s.cfg.Box.Open(b, logoutAAD); err == nil {
			idToken = string(plain)
		}
	}
	return s.prov.LogoutURL(ctx, idToken)
}

func (s *Service) open(sealed string) (Pending, error) {
	refused := func(err error) (Pending, error) { return Pending{}, &Error{Reason: ReasonState, Err: err} }
	if sealed == "" {
		return refused(errors.New("the browser brought no pending login (cookie missing: blocked, expired or another browser)"))
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return refused(fmt.Errorf("pending login cookie: %w", err))
	}
	plain, err := s.cfg.Box.Open(b, pendingAAD)
	if err != nil {
		return refused(fmt.Errorf("pending login cookie: %w", err))
	}
	var pl Pending
	if err := json.Unmarshal(plain, &pl); err != nil {
		return refused(fmt.Errorf("pending login cookie: %w", err))
	}
	return pl, nil
}

// keep stores the user's grant, due for a refresh one interval from now.
func (s *Service) keep(ctx context.Context, userID, subject, refreshToken string) error {
	now := s.now().UTC()
	g := Grant{UserID: userID, Issuer: s.Issuer(), Subject: subject, SyncedAt: now, NextSyncAt: now.Add(s.cfg.Settings.Refresh)}
	if refreshToken != "" {
		g.RefreshToken = s.cfg.Box.Seal([]byte(refreshToken), grantAAD(userID))
	}
	if err := s.cfg.Grants.PutOIDCGrant(ctx, g); err != nil {
		return fmt.Errorf("keep the login of %s: %w", userID, err)
	}
	return nil
}

func grantAAD(userID string) []byte { return secret.AAD("oidc_grants", userID, "refresh_token") }

// Refresh timing.
const (
	// claimHold is how long a claimed grant stays with the server that
	// refreshes it; a server that dies meanwhile leaves it to the others
	// after that.
	claimHold = time.Minute
	// retryAfter is when a refresh the issuer did not answer is tried
	// again (at most the interval).
	retryAfter = time.Minute
	claimBatch = 50
)

// Run refreshes due grants until ctx ends, looking every half interval
// (at most every 30 s).
func (s *Service) Run(ctx context.Context) {
	every := min(s.cfg.Settings.Refresh/2, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "oidc refresh", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshDue refreshes every grant due now and says how many it took.
func (s *Service) RefreshDue(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.now().UTC()
		gs, err := s.cfg.Grants.ClaimOIDCGrants(ctx, now, now.Add(claimHold), claimBatch)
		if err != nil {
			return n, fmt.Errorf("claim due logins: %w", err)
		}
		for _, g := range gs {
			if err := s.refresh(ctx, g); err != nil {
				return n, err
			}
			n++
		}
		if len(gs) < claimBatch {
			return n, s.watchRootAdmins(ctx, n)
		}
	}
}

// watchRootAdmins logs, once each time it happens, refreshes leaving no
// enabled user root admin through a mapping while password logins are off.
func (s *Service) watchRootAdmins(ctx context.Context, refreshed int) error {
	if !s.cfg.WatchRootAdmins || refreshed == 0 {
		return nil
	}
	n, err := s.cfg.Users.MappedRootAdmins(ctx)
	if err != nil {
		return err
	}
	if prev := s.rootAdmins.Swap(int64(n)); n == 0 && prev != 0 {
		s.log.ErrorContext(ctx, "oidc refresh: no enabled user is root admin through a role mapping any more, and password "+
			"logins are off (--local-login=false): nobody can administer Hoist from the web UI until a member of a group "+
			"mapped to admin of root logs in; root-admin API keys still work, and restarting without --local-login=false "+
			"brings the password login back")
	}
	return nil
}

// refresh recomputes one user's mapped roles from the issuer. Whenever
// the issuer does not answer for the user, the mapped roles go (fail
// closed: a user removed from a group must lose the role within the
// interval) until a later refresh or login brings them back; a refused
// grant, or none, is forgotten.
func (s *Service) refresh(ctx context.Context, g Grant) error {
	log := s.log.With("user", g.UserID, "issuer", g.Issuer)
	if g.Issuer != s.Issuer() || g.RefreshToken == nil {
		reason := "no refresh token"
		if g.Issuer != s.Issuer() {
			reason = "the server's issuer changed"
		}
		log.InfoContext(ctx, "oidc refresh impossible: mapped roles dropped until the next login", "reason", reason)
		return s.forget(ctx, g)
	}
	plain, err := s.cfg.Box.Open(g.RefreshToken, grantAAD(g.UserID))
	if err != nil {
		log.ErrorContext(ctx, "oidc refresh: cannot open the stored refresh token (encryption key changed?)", "error", err.Error())
		return s.forget(ctx, g)
	}
	id, err := s.prov.Refresh(ctx, g.Subject, string(plain))
	if err != nil {
		return s.refreshFailed(ctx, log, g, err)
	}
	switch err := s.cfg.Users.SyncMappedRoles(ctx, g.UserID, id.Profile.Groups); {
	case apperr.Is(err, apperr.Invalid):
		return s.refreshFailed(ctx, log, g, &Error{Reason: ReasonProfile, Err: err})
	case apperr.Is(err, apperr.NotFound):
		return nil // deleted meanwhile, and its grant with it
	case err != nil:
		return fmt.Errorf("sync mapped roles of %s: %w", g.UserID, err)
	}
	if err := s.keep(ctx, g.UserID, g.Subject, id.RefreshToken); err != nil {
		return err
	}
	log.DebugContext(ctx, "oidc refresh", "groups", len(id.Profile.Groups))
	return nil
}

func (s *Service) refreshFailed(ctx context.Context, log *slog.Logger, g Grant, err error) error {
	if ReasonOf(err) == ReasonRevoked {
		log.WarnContext(ctx, "oidc refresh refused by the issuer: mapped roles dropped until the next login", "error", err.Error())
		return s.forget(ctx, g)
	}
	log.WarnContext(ctx, "oidc refresh failed: mapped roles dropped until it succeeds", "reason", ReasonOf(err), "error", err.Error())
	if err := s.cfg.Users.SyncMappedRoles(ctx, g.UserID, nil); err != nil {
		return fmt.Errorf("drop mapped roles of %s: %w", g.UserID, err)
	}
	g.NextSyncAt = s.now().UTC().Add(min(retryAfter, s.cfg.Settings.Refresh))
	if err := s.cfg.Grants.PutOIDCGrant(ctx, g); err != nil {
		return fmt.Errorf("reschedule the refresh of %s: %w", g.UserID, err)
	}
	return nil
}

// forget drops the user's mapped roles and the grant: only a new login
// brings them back.
func (s *Service) forget(ctx context.Context, g Grant) error {
	if err := s.cfg.Users.SyncMappedRoles(ctx, g.UserID, nil); err != nil && !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("drop mapped roles of %s: %w", g.UserID, err)
	}
	if err := s.cfg.Grants.DeleteOIDCGrant(ctx, g.UserID); err != nil {
		return fmt.Errorf("forget the login of %s: %w", g.UserID, err)
	}
	return nil
}
