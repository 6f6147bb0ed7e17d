package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/integration"
)

type createWebhookRequest struct {
	Repository string `json:"repository"`
}

// webhookJSON is the hook Hoist created or updated in GitLab.
type webhookJSON struct {
	Repository string `json:"repository"`
	ProjectID  int64  `json:"project_id"`
	HookID     int64  `json:"hook_id"`
	URL        string `json:"url"`
	Created    bool   `json:"created"`
}

// createWebhook adds Hoist's webhook to a GitLab project: 201 when it
// added one, 200 when it updated the hook already pointing at Hoist.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var req createWebhookRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := a.cfg.Integrations.CreateWebhook(r.Context(), principalOf(r), r.PathValue("id"), req.Repository)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toWebhookJSON(res))
	return nil
}

func toWebhookJSON(res integration.WebhookResult) webhookJSON {
	return webhookJSON{Repository: res.Repository, ProjectID: res.ProjectID, HookID: res.HookID, URL: res.URL, Created: res.Created}
}
