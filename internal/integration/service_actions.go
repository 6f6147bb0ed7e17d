package integration

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs"
)

// TestResult is what checking a stored integration against GitLab found.
type TestResult struct {
	Token    vcs.TokenInfo
	Warnings []string
}

// Test runs the SPEC §2.2 checks with the stored token, for those who may
// change the integration. A failed check is the check's error. It stores
// nothing, except the token's user and scopes when they were never
// checked (a private integration created while no agent was connected).
func (s *Service) Test(ctx context.Context, actor, id string) (TestResult, error) {
	it, _, _, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return TestResult{}, err
	}
	plain, err := s.cfg.Box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return TestResult{}, fmt.Errorf("open token of %s: %w", it.ID, err)
	}
	unchecked := it.TokenUserID == 0
	warnings, err := s.runTokenCheck(ctx, &it, string(plain), false)
	if err != nil {
		return TestResult{}, err
	}
	if unchecked {
		// A private integration created while no agent was connected: keep
		// what the first successful check learned (stacks need the user).
		it.UpdatedAt = s.now()
		entry := s.entry(actor, "integration.record_token_check", it, map[string]any{"fields": []string{"token_user"}})
		if err := s.cfg.Store.UpdateIntegration(ctx, it, entry); err != nil {
			return TestResult{}, fmt.Errorf("record token check of %s: %w", it.ID, err)
		}
	}
	info := vcs.TokenInfo{User: it.TokenUser, UserID: it.TokenUserID, Scopes: it.TokenScopes, ExpiresAt: it.TokenExpiresAt}
	return TestResult{Token: info, Warnings: warnings}, nil
}

// RotateWebhookSecret replaces the webhook secret; the old one stops
// working at once. Hooks Hoist created (CreateWebhook) are updated; those
// it could not update are warnings.
func (s *Service) RotateWebhookSecret(ctx context.Context, actor, id string) (View, error) {
	it, _, tree, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	it.WebhookSecretSealed = s.cfg.Box.Seal([]byte(secret.NewWebhookSecret()), secret.AAD("integration", it.ID, "webhook_secret"))
	it.UpdatedAt = s.now()
	entry := s.entry(actor, "integration.rotate_webhook_secret", it, map[string]any{"fields": []string{"webhook_secret"}})
	if err := s.cfg.Store.UpdateIntegration(ctx, it, entry); err != nil {
		return View{}, fmt.Errorf("rotate webhook secret of %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "integration webhook secret rotated", "integration_id", id, "actor", actor)
	v, err := s.detailed(ctx, it, tree)
	if err != nil {
		return View{}, err
	}
	// The hooks Hoist created get the new secret at once.
	v.Warnings = append(v.Warnings, s.updateHooks(ctx, it)...)
	return v, nil
}

// Delete removes the integration and frees its id. (Stacks that use it will
// become detached once stacks exist.)
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	it, _, _, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteIntegration(ctx, id, s.entry(actor, "integration.delete", it, nil)); err != nil {
		return fmt.Errorf("delete integration %s: %w", id, err)
	}
	if s.cfg.Clients != nil {
		s.cfg.Clients.Forget(id)
	}
	s.log.InfoContext(ctx, "integration deleted", "integration_id", id, "actor", actor)
	return nil
}
