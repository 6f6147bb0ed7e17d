package web

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/launchpad"
)

// launchpadPage shows the getting-started checklist (SPEC §6.3), computed
// by the same function as GET /api/v1/launchpad.
func (u *UI) launchpadPage(w http.ResponseWriter, r *http.Request) error {
	st, err := u.cfg.Launchpad.Compute(r.Context())
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "launchpad", view{Title: "LaunchPad", Nav: "launchpad", Content: launchpadView{st}})
}

// launchpadView adds what the template needs to a launchpad.Status.
type launchpadView struct{ launchpad.Status }

// Total is the number of numbered steps.
func (v launchpadView) Total() int { return len(v.Steps) }
