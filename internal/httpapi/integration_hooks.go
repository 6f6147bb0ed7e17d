package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/integration"
)

// createWebhook adds Hoist's webhook to a GitLab project: 201 when it
// added one, 200 when it updated the hook already pointing at Hoist.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateGitLabWebhook
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

func toWebhookJSON(res integration.WebhookResult) api.GitLabWebhook {
	return api.GitLabWebhook{Repository: res.Repository, ProjectID: res.ProjectID, HookID: res.HookID, URL: res.URL,
		Created: res.Created, TriggersAdded: nonNilStrings(res.TriggersAdded)}
}
