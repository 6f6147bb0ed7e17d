package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcs"
)

// List pages the integrations the caller may see listed (SPEC §2.3),
// newest first, without details.
func (s *Service) List(ctx context.Context, actor, cursor string, limit int) ([]View, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	items, next, err := s.cfg.Store.ListIntegrations(ctx, ListFilter(access), cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list integrations: %w", err)
	}
	out := make([]View, 0, len(items))
	for _, it := range items {
		if CanList(it, access) { // the filter already holds; this keeps the rule in one place
			out = append(out, View{Integration: it})
		}
	}
	return out, next, nil
}

// load returns the integration and the caller's access over tree, as
// NotFound when the caller may not even list it.
func (s *Service) load(ctx context.Context, actor, id string) (Integration, space.Access, space.Tree, error) {
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Integration{}, space.Access{}, space.Tree{}, err
	}
	it, err := s.cfg.Store.GetIntegration(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !CanList(it, access)) {
		return Integration{}, space.Access{}, space.Tree{}, apperr.Errorf(apperr.NotFound, "no integration %q", id)
	}
	if err != nil {
		return Integration{}, space.Access{}, space.Tree{}, fmt.Errorf("load integration %s: %w", id, err)
	}
	return it, access, tree, nil
}

// loadForChange is load plus CanChange (Forbidden otherwise).
func (s *Service) loadForChange(ctx context.Context, actor, id string) (Integration, space.Access, space.Tree, error) {
	it, access, tree, err := s.load(ctx, actor, id)
	if err == nil && !CanChange(it, access) {
		err = s.forbidden(it)
	}
	return it, access, tree, err
}

func (s *Service) forbidden(it Integration) error {
	if it.IsDefault {
		return apperr.Errorf(apperr.Forbidden, "only root admins may see the details of or change default integration %q", it.ID)
	}
	return apperr.Errorf(apperr.Forbidden, "integration %q: details and changes need admin on space %q", it.ID, it.SpaceID)
}

// Get returns an integration with its details to callers allowed to see
// them; callers who may only list it get Forbidden, others NotFound.
func (s *Service) Get(ctx context.Context, actor, id string) (View, error) {
	it, access, tree, err := s.load(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	if !CanSeeDetails(it, access) {
		return View{}, s.forbidden(it)
	}
	return s.detailed(ctx, it, tree)
}

// detailed is the view with details, and the warnings an admin should see:
// the token's expiry, and pools the integration may no longer use.
func (s *Service) detailed(ctx context.Context, it Integration, tree space.Tree) (View, error) {
	ws, err := s.cfg.Box.Open(it.WebhookSecretSealed, secret.AAD("integration", it.ID, "webhook_secret"))
	if err != nil {
		return View{}, fmt.Errorf("open webhook secret of %s: %w", it.ID, err)
	}
	info := vcs.TokenInfo{ExpiresAt: it.TokenExpiresAt}
	warnings := append(vcs.ExpiryWarnings(info, s.now()), s.poolWarnings(ctx, it, tree)...)
	return View{Integration: it, Details: &Details{WebhookEndpoint: s.endpoint(it.ID), WebhookSecret: string(ws)},
		Warnings: warnings}, nil
}

// Patch holds the fields an update changes; nil leaves a field alone. The
// name is immutable: a Patch cannot carry one.
type Patch struct {
	Space          *string
	IsDefault      *bool
	APIHost        *string
	UserFacingHost *string
	Token          *string
	Labels         *[]string
	Description    *string
	CABundle       *string
	// AggregateStatuses, DriftIssue, DriftIssueLabels: see Integration.
	AggregateStatuses *bool
	DriftIssue        *bool
	DriftIssueLabels  *[]string
}

// Update changes everything but the name. A new token, API host or CA
// bundle is checked against GitLab again before anything is stored.
func (s *Service) Update(ctx context.Context, actor, id string, p Patch) (View, error) {
	it, access, tree, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	next, err := applyPatch(it, p)
	if err != nil {
		return View{}, err
	}
	if err := Validate(&next); err != nil {
		return View{}, err
	}
	changed := changedFields(it, next, p.Token != nil)
	if err := CheckHostAllowed("api_host", next.APIHost, s.cfg.AllowHosts); err != nil {
		return View{}, err
	}
	if next.IsDefault != it.IsDefault || next.SpaceID != it.SpaceID {
		if err := s.checkPlacement(next, access, tree); err != nil {
			return View{}, err
		}
		if next.IsDefault && !it.IsDefault {
			if err := s.checkNoOtherDefault(ctx, next); err != nil {
				return View{}, err
			}
		}
	}
	// Only a change that moves the integration or names another pool is
	// held to the pool rule, so an integration flagged by poolWarnings
	// can still be edited otherwise.
	if next.SpaceID != it.SpaceID || !slices.Equal(next.Pools(), it.Pools()) {
		if err := s.checkPools(ctx, next, access, tree); err != nil {
			return View{}, err
		}
	}
	var warnings []string
	// The route, not just the API host: a user-facing host that starts or
	// stops naming an agent pool changes where calls go.
	if p.Token != nil || next.Endpoint("").APIHost != it.Endpoint("").APIHost || next.CABundle != it.CABundle {
		if warnings, err = s.recheck(ctx, &next, p.Token); err != nil {
			return View{}, err
		}
	}
	if len(changed) == 0 {
		return s.detailed(ctx, it, tree)
	}
	next.UpdatedAt = s.now()
	entry := s.entry(actor, "integration.update", next, map[string]any{"fields": changed})
	if err := s.cfg.Store.UpdateIntegration(ctx, next, entry); err != nil {
		return View{}, fmt.Errorf("update integration %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "integration updated", "integration_id", id, "actor", actor, "fields", changed)
	v, err := s.detailed(ctx, next, tree)
	if warnings != nil {
		v.Warnings = append(warnings, s.poolWarnings(ctx, next, tree)...)
	}
	return v, err
}

// recheck runs the token check for next with the new token or the stored
// one, sealing a new token in place.
func (s *Service) recheck(ctx context.Context, next *Integration, newToken *string) ([]string, error) {
	aad := secret.AAD("integration", next.ID, "token")
	var token string
	if newToken != nil {
		t, err := ValidateToken(*newToken)
		if err != nil {
			return nil, err
		}
		token = t
	} else {
		plain, err := s.cfg.Box.Open(next.TokenSealed, aad)
		if err != nil {
			return nil, fmt.Errorf("open token of %s: %w", next.ID, err)
		}
		token = string(plain)
	}
	warnings, err := s.checkToken(ctx, next, token)
	if err != nil {
		return nil, err
	}
	if newToken != nil {
		next.TokenSealed = s.cfg.Box.Seal([]byte(token), aad)
	}
	return warnings, nil
}

// applyPatch returns it with p applied (not yet validated). A user-facing
// host that followed the API host keeps following it.
func applyPatch(it Integration, p Patch) (Integration, error) {
	next := it
	next.Labels = slices.Clone(it.Labels)
	if p.IsDefault != nil {
		next.IsDefault = *p.IsDefault
		if next.IsDefault {
			next.SpaceID = space.RootID
		}
	}
	if p.Space != nil {
		sp := strings.TrimSpace(*p.Space)
		if next.IsDefault && sp != "" && sp != space.RootID {
			return Integration{}, apperr.InvalidField("space", "a default integration lives in root; set is_default to false to move it to a space")
		}
		if sp != "" {
			next.SpaceID = sp
		}
	}
	if p.APIHost != nil {
		if p.UserFacingHost == nil && it.UserFacingHost == it.APIHost {
			next.UserFacingHost = ""
		}
		next.APIHost = *p.APIHost
	}
	if p.UserFacingHost != nil {
		next.UserFacingHost = *p.UserFacingHost
	}
	if p.Labels != nil {
		next.Labels = *p.Labels
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if p.CABundle != nil {
		next.CABundle = *p.CABundle
	}
	if p.AggregateStatuses != nil {
		next.AggregateStatuses = *p.AggregateStatuses
	}
	if p.DriftIssue != nil {
		next.DriftIssue = *p.DriftIssue
	}
	if p.DriftIssueLabels != nil {
		next.DriftIssueLabels = *p.DriftIssueLabels
	}
	return next, nil
}

// changedFields names the fields whose stored value differs between a and
// b, for the audit log (names only, never values).
func changedFields(a, b Integration, tokenSet bool) []string {
	var out []string
	for name, differs := range map[string]bool{
		"is_default":         a.IsDefault != b.IsDefault,
		"space":              a.SpaceID != b.SpaceID,
		"api_host":           a.APIHost != b.APIHost,
		"user_facing_host":   a.UserFacingHost != b.UserFacingHost,
		"labels":             !slices.Equal(a.Labels, b.Labels),
		"description":        a.Description != b.Description,
		"ca_bundle":          a.CABundle != b.CABundle,
		"aggregate_statuses": a.AggregateStatuses != b.AggregateStatuses,
		"drift_issue":        a.DriftIssue != b.DriftIssue,
		"drift_issue_labels": !slices.Equal(a.DriftIssueLabels, b.DriftIssueLabels),
		"token":              tokenSet,
	} {
		if differs {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
