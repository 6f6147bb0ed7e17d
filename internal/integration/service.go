package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// AccessResolver resolves a principal's roles over the space tree
// (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// ClientCache keeps a GitLab client per integration (gitlab.Client
// implements it). A changed integration gets a new client on its next
// call; a deleted one has no next call, so Delete drops it at once rather
// than leave its idle connections to time out.
type ClientCache interface {
	Forget(integrationID string)
}

// Config wires a Service.
type Config struct {
	Store  Store
	Access AccessResolver
	// Pools looks up the VCS agent pools that private hosts name; nil
	// refuses every private host.
	Pools   PoolStore
	Checker vcs.TokenChecker
	// Hooks creates project webhooks (CreateWebhook) and updates them after
	// a secret rotation; Audit records and finds them. nil: no hooks.
	Hooks HookClient
	// Clients is the GitLab adapter's cache of clients, told when an
	// integration is deleted; nil: nothing to tell.
	Clients    ClientCache
	Audit      audit.Store
	Box        *secret.Box
	PublicURL  string   // Hoist's public base URL, for webhook endpoints
	AllowHosts []string // hosts allowed to be link-local (--allow-gitlab-host)
	Clock      func() time.Time
	Logger     *slog.Logger
}

// Service is the business operations on integrations (SPEC §2): checks
// against GitLab, encryption of the token and webhook secret, the audit log
// and the visibility rules of §2.3.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, now: func() time.Time { return now().UTC() }, log: log}
}

// View is an integration as one caller sees it. The Details fields are set
// only for callers allowed to see details; the token is never in a View.
type View struct {
	Integration
	Details  *Details
	Warnings []string
}

// Details are the sensitive parts of an integration (SPEC §2.3).
type Details struct {
	WebhookEndpoint string
	WebhookSecret   string
}

// CreateInput is a new GitLab integration as a caller asks for it.
type CreateInput struct {
	Name           string
	Space          string
	IsDefault      bool
	APIHost        string
	UserFacingHost string
	Token          string
	Labels         []string
	Description    string
	CABundle       string
	// AggregateStatuses, DriftIssue, DriftIssueLabels: see Integration.
	AggregateStatuses bool
	DriftIssue        bool
	DriftIssueLabels  []string
}

// Create validates in, checks the token against GitLab, seals the token and
// a new webhook secret, and stores the integration with its audit entry.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (View, error) {
	token, err := ValidateToken(in.Token)
	if err != nil {
		return View{}, err
	}
	it := Integration{Provider: GitLab, Name: in.Name, IsDefault: in.IsDefault, SpaceID: strings.TrimSpace(in.Space),
		APIHost: in.APIHost, UserFacingHost: in.UserFacingHost, Labels: in.Labels, Description: in.Description, CABundle: in.CABundle,
		AggregateStatuses: in.AggregateStatuses, DriftIssue: in.DriftIssue, DriftIssueLabels: in.DriftIssueLabels}
	if err := Validate(&it); err != nil {
		return View{}, err
	}
	if err := CheckHostAllowed("api_host", it.APIHost, s.cfg.AllowHosts); err != nil {
		return View{}, err
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return View{}, err
	}
	if err := s.checkPlacement(it, access, tree); err != nil {
		return View{}, err
	}
	if err := s.checkPools(ctx, it, access, tree); err != nil {
		return View{}, err
	}
	it.ID = slug.Make(it.Name)
	if err := s.checkFree(ctx, it); err != nil {
		return View{}, err
	}
	warnings, err := s.checkToken(ctx, &it, token)
	if err != nil {
		return View{}, err
	}
	webhookSecret := secret.NewWebhookSecret()
	it.TokenSealed = s.cfg.Box.Seal([]byte(token), secret.AAD("integration", it.ID, "token"))
	it.WebhookSecretSealed = s.cfg.Box.Seal([]byte(webhookSecret), secret.AAD("integration", it.ID, "webhook_secret"))
	it.CreatedAt, it.UpdatedAt, it.CreatedBy = s.now(), s.now(), actor
	entry := s.entry(actor, "integration.create", it, map[string]any{"fields": setFields(in)})
	if err := s.cfg.Store.CreateIntegration(ctx, it, entry); err != nil {
		return View{}, fmt.Errorf("create integration %s: %w", it.ID, err)
	}
	s.log.InfoContext(ctx, "integration created", "integration_id", it.ID, "actor", actor, "space_id", it.SpaceID)
	return View{Integration: it, Details: &Details{WebhookEndpoint: s.endpoint(it.ID), WebhookSecret: webhookSecret}, Warnings: warnings}, nil
}

// checkPlacement refuses spaces the caller cannot see (as if they did not
// exist) and placements the caller may not create in.
func (s *Service) checkPlacement(it Integration, access space.Access, tree space.Tree) error {
	if !it.IsDefault {
		if _, ok := tree.Get(it.SpaceID); !ok || access.Role(it.SpaceID) == space.None {
			return apperr.InvalidField("space", "no space %q", it.SpaceID)
		}
	}
	if !CanCreate(it.SpaceID, it.IsDefault, access) {
		if it.IsDefault {
			return apperr.Errorf(apperr.Forbidden, "only root admins may create or change default integrations")
		}
		return apperr.Errorf(apperr.Forbidden, "integrations in space %q need admin on that space", it.SpaceID)
	}
	return nil
}

// checkFree answers the conflicts the store would raise before GitLab is
// called, with clearer messages; the store still enforces them under races.
func (s *Service) checkFree(ctx context.Context, it Integration) error {
	if _, err := s.cfg.Store.GetIntegration(ctx, it.ID); err == nil {
		return apperr.Errorf(apperr.Conflict, "an integration with id %q already exists (names are unique and immutable)", it.ID)
	} else if !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("load integration %s: %w", it.ID, err)
	}
	if !it.IsDefault {
		return nil
	}
	return s.checkNoOtherDefault(ctx, it)
}

// checkNoOtherDefault refuses a second default integration of a provider.
func (s *Service) checkNoOtherDefault(ctx context.Context, it Integration) error {
	if d, ok, err := s.defaultIntegration(ctx, it.Provider); err != nil {
		return err
	} else if ok && d.ID != it.ID {
		return apperr.Errorf(apperr.Conflict, "%q is already the default %s integration; there can be only one — make this one space-level or change that one first", d.ID, it.Provider)
	}
	return nil
}

func (s *Service) defaultIntegration(ctx context.Context, p Provider) (Integration, bool, error) {
	items, _, err := s.cfg.Store.ListIntegrations(ctx, Filter{Provider: p, Spaces: []string{}}, "", 100)
	if err != nil {
		return Integration{}, false, fmt.Errorf("list integrations: %w", err)
	}
	for _, it := range items {
		if it.IsDefault {
			return it, true, nil
		}
	}
	return Integration{}, false, nil
}

// checkToken runs the SPEC §2.2 checks and records the token's metadata on
// it. A private integration is checked through a connected agent of its
// pool; when none is connected at creation or update, the token is stored
// unchecked with a warning (`test` checks it once an agent is connected).
func (s *Service) checkToken(ctx context.Context, it *Integration, token string) ([]string, error) {
	return s.runTokenCheck(ctx, it, token, true)
}

// runTokenCheck is checkToken; with uncheckedOK false (`test`) a private
// integration without a connected agent is an error, not a warning.
func (s *Service) runTokenCheck(ctx context.Context, it *Integration, token string, uncheckedOK bool) ([]string, error) {
	ep := it.Endpoint(token)
	info, err := s.cfg.Checker.CheckToken(ctx, ep)
	if err != nil && uncheckedOK && it.Private() && errors.Is(err, vcsagent.ErrNoAgent) {
		it.TokenUser, it.TokenUserID, it.TokenScopes, it.TokenExpiresAt = "", 0, nil, nil
		return []string{"token not checked: " + ep.APIHost + " is reached through a VCS agent pool, and no agent of it is connected — start `hoist vcs-agent`, then run `test`"}, nil
	}
	if err != nil {
		return nil, err
	}
	it.TokenUser, it.TokenUserID, it.TokenScopes, it.TokenExpiresAt = info.User, info.UserID, info.Scopes, info.ExpiresAt
	return vcs.ExpiryWarnings(info, s.now()), nil
}

func (s *Service) entry(actor, action string, it Integration, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "integration",
		ResourceID: it.ID, SpaceID: it.SpaceID, Detail: detail}
}

// endpoint is where GitLab sends this integration's webhooks.
func (s *Service) endpoint(id string) string {
	return s.cfg.PublicURL + "/webhooks/gitlab/" + id
}

// setFields names the fields a create request set, for the audit log.
func setFields(in CreateInput) []string {
	f := []string{"name", "api_host", "token"}
	if in.IsDefault {
		f = append(f, "is_default")
	} else {
		f = append(f, "space")
	}
	for name, set := range map[string]bool{"user_facing_host": in.UserFacingHost != "", "labels": len(in.Labels) > 0,
		"description": in.Description != "", "ca_bundle": in.CABundle != "", "aggregate_statuses": in.AggregateStatuses,
		"drift_issue": in.DriftIssue, "drift_issue_labels": len(in.DriftIssueLabels) > 0} {
		if set {
			f = append(f, name)
		}
	}
	slices.Sort(f)
	return f
}
