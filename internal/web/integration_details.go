package web

import (
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/webhook"
)

// detailsPage is the content of integration_details.html.
type detailsPage struct {
	integration.View
	Test        *integration.TestResult // after "Test"
	Deliveries  []webhook.Delivery      // the latest webhook deliveries
	ExpiresSoon bool                    // the token expires within vcs.LoudExpiryWindow (or has)
	Webhook     webhookForm             // Create webhook: the projects, and the outcomes after a submit
}

// recentDeliveries is how many deliveries the details page lists.
const recentDeliveries = 10

// integrationDetails is ⋯ → See details: the webhook endpoint and secret,
// token metadata and warnings. The service refuses non-admins.
func (u *UI) integrationDetails(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Integrations.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return u.showDetails(w, r, http.StatusOK, detailsPage{View: v}, flashOf(r))
}

func (u *UI) showDetails(w http.ResponseWriter, r *http.Request, status int, p detailsPage, flash string) error {
	if exp := p.TokenExpiresAt; exp != nil && exp.Sub(u.now()) <= vcs.LoudExpiryWindow {
		p.ExpiresSoon = true
	}
	if u.cfg.Deliveries != nil {
		ds, _, err := u.cfg.Deliveries.List(r.Context(), principal(r), p.ID, "", recentDeliveries)
		if err != nil {
			return err
		}
		p.Deliveries = ds
	}
	if p.Webhook.Projects == "" && p.Webhook.Error == "" {
		var err error
		if p.Webhook.Projects, err = u.webhookSuggestions(r.Context(), principal(r), p.Integration); err != nil {
			return err
		}
	}
	return u.render(w, r, status, "integration_details", view{Title: p.Name, Nav: "source-control", Flash: flash, Content: p})
}

// testIntegration runs the GitLab checks again and shows the result on the
// details page; a failed check is shown there too, as the message to act on.
func (u *UI) testIntegration(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	res, terr := u.cfg.Integrations.Test(r.Context(), principal(r), id)
	v, err := u.cfg.Integrations.Get(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	if terr != nil {
		if msg, ok := userMessage(terr); ok {
			return u.showDetails(w, r, http.StatusOK, detailsPage{View: v}, "Test failed: "+msg)
		}
		return terr
	}
	return u.showDetails(w, r, http.StatusOK, detailsPage{View: v, Test: &res}, "Test passed: GitLab accepts the token.")
}

func (u *UI) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Integrations.RotateWebhookSecret(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/source-control/gitlab/"+v.ID+"?done=rotated", http.StatusSeeOther)
	return nil
}

// editIntegrationPage shows the form filled in (the name is shown, never
// editable; the token field stays empty: leaving it empty keeps the token).
func (u *UI) editIntegrationPage(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Integrations.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := formOf(v.Integration)
	if err := u.fillChoices(r.Context(), principal(r), &f); err != nil {
		return err
	}
	return u.showIntegrationForm(w, r, http.StatusOK, f)
}

func formOf(it integration.Integration) integrationForm {
	f := integrationForm{Edit: true, ID: it.ID, Name: it.Name, Type: "space", Space: it.SpaceID, APIHost: it.APIHost,
		UserFacingHost: it.UserFacingHost, Labels: strings.Join(it.Labels, ", "), Description: it.Description, CABundle: it.CABundle,
		AggregateStatuses: it.AggregateStatuses, DriftIssue: it.DriftIssue, DriftIssueLabels: strings.Join(it.DriftIssueLabels, "\n")}
	if it.IsDefault {
		f.Type, f.Space = "default", ""
	}
	return f
}

func (u *UI) updateIntegration(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	cur, err := u.cfg.Integrations.Get(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	f := formFields(r)
	f.Edit, f.ID, f.Name = true, cur.ID, cur.Name
	isDefault := f.Type == "default"
	labels := splitLabels(f.Labels)
	issueLabels := lines(f.DriftIssueLabels)
	p := integration.Patch{IsDefault: &isDefault, APIHost: &f.APIHost, Labels: &labels, Description: &f.Description, CABundle: &f.CABundle,
		AggregateStatuses: &f.AggregateStatuses, DriftIssue: &f.DriftIssue, DriftIssueLabels: &issueLabels}
	if !isDefault {
		p.Space = &f.Space
	}
	// An unchanged user-facing host is left alone, so one that followed the
	// API host keeps following it.
	if f.UserFacingHost != cur.UserFacingHost {
		p.UserFacingHost = &f.UserFacingHost
	}
	if tok := r.PostForm.Get("token"); tok != "" {
		p.Token = &tok
	}
	if _, err := u.cfg.Integrations.Update(r.Context(), principal(r), id, p); err != nil {
		return u.formError(w, r, f, err)
	}
	http.Redirect(w, r, "/source-control/gitlab/"+id+"?done=updated", http.StatusSeeOther)
	return nil
}

// deletePage is the content of integration_delete.html.
type deletePage struct {
	integration.View
	Stacks []stack.View // the stacks the delete would detach (those the viewer can read)
}

func (u *UI) deleteIntegrationPage(w http.ResponseWriter, r *http.Request) error {
	v, err := u.cfg.Integrations.Get(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	stacks, err := u.stacksUsing(r.Context(), principal(r), v.ID)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "integration_delete", view{Title: "Delete " + v.Name, Nav: "source-control",
		Content: deletePage{View: v, Stacks: stacks}})
}

func (u *UI) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Integrations.Delete(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/source-control?done=deleted", http.StatusSeeOther)
	return nil
}

// userMessage is the client-safe message of a non-internal error.
func userMessage(err error) (string, bool) {
	if apperr.CodeOf(err) == apperr.Internal {
		return "", false
	}
	return apperr.MessageOf(err), true
}
