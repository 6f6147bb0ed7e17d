package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
)

// toIntegrationJSON fills the detail fields only for callers allowed to
// see them; there is no token field.
func toIntegrationJSON(v integration.View) api.Integration {
	it := v.Integration
	out := api.Integration{ID: it.ID, Name: it.Name, Provider: string(it.Provider), IsDefault: it.IsDefault, Space: it.SpaceID,
		APIHost: it.APIHost, UserFacingHost: it.UserFacingHost, Labels: nonNilStrings(it.Labels), Description: it.Description,
		Private: it.Private(), AggregateStatuses: it.AggregateStatuses,
		DriftIssue: it.DriftIssue, DriftIssueLabels: nonNilStrings(it.DriftIssueLabels), CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if v.Details != nil {
		out.WebhookEndpoint, out.WebhookSecret = v.Details.WebhookEndpoint, v.Details.WebhookSecret
		out.CABundle = it.CABundle
		out.TokenUser, out.TokenScopes, out.TokenExpiresAt = it.TokenUser, it.TokenScopes, it.TokenExpiresAt
		out.Warnings = v.Warnings
	}
	return out
}

// updateIntegrationRequest accepts name only to refuse it by name.
type updateIntegrationRequest struct {
	api.UpdateGitLabIntegration
	Name *string `json:"name"`
}

func (a *API) createIntegration(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateGitLabIntegration
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Integrations.Create(r.Context(), principalOf(r), integration.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toIntegrationJSON(v))
	return nil
}

func (a *API) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	views, next, err := a.cfg.Integrations.List(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(views, next, toIntegrationJSON))
	return nil
}

func (a *API) getIntegration(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.Integrations.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toIntegrationJSON(v))
	return nil
}

func (a *API) updateIntegration(w http.ResponseWriter, r *http.Request) error {
	var req updateIntegrationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name != nil {
		return apperr.InvalidField("name", "cannot be changed: the webhook endpoint is derived from it; create a new integration instead")
	}
	v, err := a.cfg.Integrations.Update(r.Context(), principalOf(r), r.PathValue("id"), integration.Patch{
		Space: req.Space, IsDefault: req.IsDefault, APIHost: req.APIHost, UserFacingHost: req.UserFacingHost,
		Token: req.Token, Labels: req.Labels, Description: req.Description, CABundle: req.CABundle,
		AggregateStatuses: req.AggregateStatuses, DriftIssue: req.DriftIssue, DriftIssueLabels: req.DriftIssueLabels})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toIntegrationJSON(v))
	return nil
}

func (a *API) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Integrations.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testIntegration answers the check's result; a failed check is an error
// answer (400 invalid naming the field to fix), like on create.
func (a *API) testIntegration(w http.ResponseWriter, r *http.Request) error {
	res, err := a.cfg.Integrations.Test(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.TestResult{OK: true, TokenUser: res.Token.User, TokenUserID: res.Token.UserID,
		TokenScopes: res.Token.Scopes, TokenExpiresAt: res.Token.ExpiresAt, Warnings: nonNilStrings(res.Warnings)})
	return nil
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.Integrations.RotateWebhookSecret(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toIntegrationJSON(v))
	return nil
}
