package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
)

// integrationRow is one line of the Source control list.
type integrationRow struct {
	integration.Integration
	Manage bool // the ⋯ menu: details and changes (admins only)
}

type sourceControlPage struct {
	Rows       []integrationRow
	CanCreate  bool
	More       string // cursor of the next page
	AgentPools bool   // the VCS agent pools page exists
}

// sourceControl lists the integrations the viewer may see, as the API does.
func (u *UI) sourceControl(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	views, next, err := u.cfg.Integrations.List(r.Context(), p, r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	access, _, err := u.cfg.Spaces.Access(r.Context(), p)
	if err != nil {
		return err
	}
	page := sourceControlPage{CanCreate: len(access.Spaces(space.Admin)) > 0, More: next, AgentPools: u.cfg.AgentPools != nil}
	for _, v := range views {
		page.Rows = append(page.Rows, integrationRow{Integration: v.Integration, Manage: integration.CanSeeDetails(v.Integration, access)})
	}
	return u.render(w, r, http.StatusOK, "source_control", view{Title: "Source control", Nav: "source-control",
		Flash: flashOf(r), Content: page})
}

// integrationForm is the GitLab form (create and edit).
type integrationForm struct {
	Edit           bool
	ID             string
	Name           string
	Type           string // "default" or "space"
	Space          string
	APIHost        string
	UserFacingHost string
	Labels         string
	Description    string
	CABundle       string
	// AggregateStatuses, DriftIssue, DriftIssueLabels (one per line): the
	// settings of its stacks' GitLab writes (docs/gitlab.md, docs/drift.md).
	AggregateStatuses bool
	DriftIssue        bool
	DriftIssueLabels  string
	// Token is what was pasted, put back only when the form comes back
	// with an error about another field, so it need not be pasted again.
	Token      string
	Spaces     []space.Space // where the viewer may place an integration
	CanDefault bool
	// OtherDefault names the default integration when another one than
	// this is it: there is at most one, so the form offers Space instead.
	OtherDefault string
	Errors       map[string]string // field → message
	Error        string            // about the form as a whole
}

// fillChoices adds the placements the viewer may choose.
func (u *UI) fillChoices(ctx context.Context, p string, f *integrationForm) error {
	spaces, err := u.cfg.Spaces.List(ctx, p)
	if err != nil {
		return err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if access.Has(sp.ID, space.Admin) || sp.ID == f.Space {
			f.Spaces = append(f.Spaces, sp)
		}
	}
	f.CanDefault = access.IsRootAdmin()
	def, err := u.defaultIntegration(ctx, p)
	if err != nil {
		return err
	}
	if def.ID != "" && def.ID != f.ID {
		f.OtherDefault = def.Name
	}
	return nil
}

// defaultIntegration finds the default integration (listed to everyone,
// SPEC §2.3); the zero Integration when there is none.
func (u *UI) defaultIntegration(ctx context.Context, p string) (integration.Integration, error) {
	cursor := ""
	for range 20 { // 2,000 integrations is far beyond any real account
		views, next, err := u.cfg.Integrations.List(ctx, p, cursor, 100)
		if err != nil {
			return integration.Integration{}, err
		}
		for _, v := range views {
			if v.IsDefault {
				return v.Integration, nil
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	return integration.Integration{}, nil
}

// newIntegrationPage offers the default integration to root admins while
// there is none; otherwise the form starts on Space, the one choice that
// can succeed.
func (u *UI) newIntegrationPage(w http.ResponseWriter, r *http.Request) error {
	f := integrationForm{Type: "space"}
	if err := u.fillChoices(r.Context(), principal(r), &f); err != nil {
		return err
	}
	if f.CanDefault && f.OtherDefault == "" {
		f.Type = "default"
	}
	return u.showIntegrationForm(w, r, http.StatusOK, f)
}

func (u *UI) showIntegrationForm(w http.ResponseWriter, r *http.Request, status int, f integrationForm) error {
	title := "Set up GitLab integration"
	if f.Edit {
		title = "Edit " + f.Name
	}
	return u.render(w, r, status, "integration_form", view{Title: title, Nav: "source-control", Content: f})
}

// formFields reads the fields both forms share; the token is left out
// (formError decides whether it goes back into the form).
func formFields(r *http.Request) integrationForm {
	get := func(k string) string { return r.PostForm.Get(k) }
	return integrationForm{Name: strings.TrimSpace(get("name")), Type: get("type"), Space: get("space"),
		APIHost: strings.TrimSpace(get("api_host")), UserFacingHost: strings.TrimSpace(get("user_facing_host")),
		Labels: get("labels"), Description: get("description"), CABundle: get("ca_bundle"),
		AggregateStatuses: get("aggregate_statuses") == "on", DriftIssue: get("drift_issue") == "on",
		DriftIssueLabels: get("drift_issue_labels")}
}

// splitLabels reads "a, b, c" (commas or new lines) as a set of labels; the
// service normalises and validates them.
func splitLabels(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (u *UI) createIntegration(w http.ResponseWriter, r *http.Request) error {
	f := formFields(r)
	in := integration.CreateInput{Name: f.Name, IsDefault: f.Type == "default", APIHost: f.APIHost,
		UserFacingHost: f.UserFacingHost, Token: r.PostForm.Get("token"), Labels: splitLabels(f.Labels),
		Description: f.Description, CABundle: f.CABundle, AggregateStatuses: f.AggregateStatuses,
		DriftIssue: f.DriftIssue, DriftIssueLabels: lines(f.DriftIssueLabels)}
	if !in.IsDefault {
		in.Space = f.Space
	}
	v, err := u.cfg.Integrations.Create(r.Context(), principal(r), in)
	if err != nil {
		return u.formError(w, r, f, err)
	}
	http.Redirect(w, r, "/source-control/gitlab/"+v.ID+"?done=created", http.StatusSeeOther)
	return nil
}

// formError shows the form again with the service's message next to the
// field it names (or above the form), keeping what was typed — the token
// too, unless the token is what was wrong: it goes back only to the person
// who just pasted it, on a page that is never cached. Internal errors are
// not the user's to fix: they become the error page.
func (u *UI) formError(w http.ResponseWriter, r *http.Request, f integrationForm, err error) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code == apperr.Internal || ae.Code == apperr.NotFound && f.Edit {
		return err
	}
	if ae.Field != "token" {
		f.Token = r.PostForm.Get("token")
	}
	if cerr := u.fillChoices(r.Context(), principal(r), &f); cerr != nil {
		return cerr
	}
	if f.OtherDefault != "" {
		f.Type = "space" // the default radio is disabled: never leave it the checked one
	}
	status := http.StatusBadRequest
	switch ae.Code {
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.Conflict:
		status = http.StatusConflict
	}
	if field := formField(ae.Field); field != "" {
		f.Errors = map[string]string{field: strings.TrimPrefix(ae.Message, ae.Field+": ")}
		f.Error = "The integration was not saved: fix the field marked below."
	} else {
		f.Error = ae.Message
	}
	return u.showIntegrationForm(w, r, status, f)
}

// formField maps the service's field names to the form's inputs.
func formField(f string) string {
	if f == "is_default" {
		return "type"
	}
	if slices.Contains([]string{"name", "space", "api_host", "user_facing_host", "token", "labels", "description", "ca_bundle",
		"aggregate_statuses", "drift_issue", "drift_issue_labels"}, f) {
		return f
	}
	return ""
}

// flashes are the fixed messages a redirect may ask for with ?done=.
var flashes = map[string]string{
	"created": "Integration created. Add its webhook endpoint and secret to your GitLab projects (Settings → Webhooks).",
	"updated": "Integration saved.",
	"rotated": "New webhook secret generated. The old one no longer works: update it in GitLab now.",
	"deleted": "Integration deleted.",
}

func flashOf(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }
