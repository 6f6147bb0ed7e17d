package httpapi

import (
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
)

// integrationJSON is an integration on the wire. The detail fields are
// filled only for callers allowed to see them; there is no token field.
type integrationJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Provider       string   `json:"provider"`
	IsDefault      bool     `json:"is_default"`
	Space          string   `json:"space"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host"`
	Labels         []string `json:"labels"`
	Description    string   `json:"description"`
	Private        bool     `json:"private"`
	// AggregateStatuses: only hoist/tracked, hoist/proposed, hoist/modules.
	AggregateStatuses bool      `json:"aggregate_statuses"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`

	WebhookEndpoint string     `json:"webhook_endpoint,omitempty"`
	WebhookSecret   string     `json:"webhook_secret,omitempty"`
	CABundle        string     `json:"ca_bundle,omitempty"`
	TokenUser       string     `json:"token_user,omitempty"`
	TokenScopes     []string   `json:"token_scopes,omitempty"`
	TokenExpiresAt  *time.Time `json:"token_expires_at,omitempty"`
	Warnings        []string   `json:"warnings,omitempty"`
}

func toIntegrationJSON(v integration.View) integrationJSON {
	it := v.Integration
	out := integrationJSON{ID: it.ID, Name: it.Name, Provider: string(it.Provider), IsDefault: it.IsDefault, Space: it.SpaceID,
		APIHost: it.APIHost, UserFacingHost: it.UserFacingHost, Labels: nonNilStrings(it.Labels), Description: it.Description,
		Private: it.Private(), AggregateStatuses: it.AggregateStatuses, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if v.Details != nil {
		out.WebhookEndpoint, out.WebhookSecret = v.Details.WebhookEndpoint, v.Details.WebhookSecret
		out.CABundle = it.CABundle
		out.TokenUser, out.TokenScopes, out.TokenExpiresAt = it.TokenUser, it.TokenScopes, it.TokenExpiresAt
		out.Warnings = v.Warnings
	}
	return out
}

type createIntegrationRequest struct {
	Name              string   `json:"name"`
	Space             string   `json:"space"`
	IsDefault         bool     `json:"is_default"`
	APIHost           string   `json:"api_host"`
	UserFacingHost    string   `json:"user_facing_host"`
	Token             string   `json:"token"`
	Labels            []string `json:"labels"`
	Description       string   `json:"description"`
	CABundle          string   `json:"ca_bundle"`
	AggregateStatuses bool     `json:"aggregate_statuses"`
}

// updateIntegrationRequest accepts name only to refuse it by name.
type updateIntegrationRequest struct {
	Name              *string   `json:"name"`
	Space             *string   `json:"space"`
	IsDefault         *bool     `json:"is_default"`
	APIHost           *string   `json:"api_host"`
	UserFacingHost    *string   `json:"user_facing_host"`
	Token             *string   `json:"token"`
	Labels            *[]string `json:"labels"`
	Description       *string   `json:"description"`
	CABundle          *string   `json:"ca_bundle"`
	AggregateStatuses *bool     `json:"aggregate_statuses"`
}

func (a *API) createIntegration(w http.ResponseWriter, r *http.Request) error {
	var req createIntegrationRequest
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
		AggregateStatuses: req.AggregateStatuses})
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

type testResultJSON struct {
	OK             bool       `json:"ok"`
	TokenUser      string     `json:"token_user"`
	TokenUserID    int64      `json:"token_user_id"`
	TokenScopes    []string   `json:"token_scopes"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
	Warnings       []string   `json:"warnings"`
}

// testIntegration answers the check's result; a failed check is an error
// answer (400 invalid naming the field to fix), like on create.
func (a *API) testIntegration(w http.ResponseWriter, r *http.Request) error {
	res, err := a.cfg.Integrations.Test(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, testResultJSON{OK: true, TokenUser: res.Token.User, TokenUserID: res.Token.UserID,
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
