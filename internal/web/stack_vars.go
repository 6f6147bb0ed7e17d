package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/run"
)

// A stack's environment variables (run.Service.Variables, SetVariable,
// DeleteVariable, as the API's /stacks/{id}/variables): listed to readers
// with secret values never shown, set and deleted by the stack's admins.

// varsCard is the stack page's Environment variables card.
type varsCard struct {
	Vars []run.Variable
	Form varForm
}

// varForm is the add-or-replace form. A refused value is never shown
// again: it may be a secret.
type varForm struct {
	Name   string
	Secret bool
	Errors map[string]string // name, value
	Error  string
}

func (u *UI) varsCard(ctx context.Context, p, stackID string, form *varForm) (*varsCard, error) {
	vs, err := u.cfg.Runs.Variables(ctx, p, stackID)
	if err != nil {
		return nil, err
	}
	c := &varsCard{Vars: vs, Form: varForm{Secret: true}}
	if form != nil {
		c.Form = *form
	}
	return c, nil
}

// setStackVariable creates or replaces a variable; a refusal shows the
// stack page again with the message next to the field.
func (u *UI) setStackVariable(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	f := varForm{Name: r.PostForm.Get("name"), Secret: r.PostForm.Get("secret") == "on"}
	_, err := u.cfg.Runs.SetVariable(r.Context(), principal(r), id,
		run.VariableInput{Name: f.Name, Value: r.PostForm.Get("value"), Secret: f.Secret})
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		f.Errors, f.Error = fieldMessage(field, msg, "name", "value")
		return u.showStack(w, r, status, stackForms{vars: &f})
	}
	http.Redirect(w, r, "/stacks/"+url.PathEscape(id)+"?done=var-set#variables", http.StatusSeeOther)
	return nil
}

func (u *UI) deleteStackVariable(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := u.cfg.Runs.DeleteVariable(r.Context(), principal(r), id, r.PostForm.Get("name")); err != nil {
		return err
	}
	http.Redirect(w, r, "/stacks/"+url.PathEscape(id)+"?done=var-deleted#variables", http.StatusSeeOther)
	return nil
}
