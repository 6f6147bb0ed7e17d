package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/launchpad"
)

func toStepJSON(s launchpad.Step) api.LaunchpadStep {
	return api.LaunchpadStep{Number: s.Number, Key: s.Key, Title: s.Title, Done: s.Done, Available: s.Available, Detail: s.Detail}
}

// getLaunchpad answers the getting-started checklist (SPEC §6.3), computed
// by the same function as the web page.
func (a *API) getLaunchpad(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Launchpad == nil {
		return apperr.Errorf(apperr.Internal, "launchpad not configured")
	}
	st, err := a.cfg.Launchpad.Compute(r.Context())
	if err != nil {
		return err
	}
	out := api.Launchpad{Next: toStepJSON(st.Next), Completed: st.Completed(), Complete: st.Complete()}
	for _, s := range st.Steps {
		out.Steps = append(out.Steps, toStepJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
