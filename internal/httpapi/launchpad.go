package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/launchpad"
)

// launchpadStepJSON is one LaunchPad step on the wire.
type launchpadStepJSON struct {
	Number    int    `json:"number"`
	Key       string `json:"key"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	Available bool   `json:"available"`
	Detail    string `json:"detail"`
}

type launchpadJSON struct {
	Steps     []launchpadStepJSON `json:"steps"`
	Next      launchpadStepJSON   `json:"next"`
	Completed int                 `json:"completed"`
	Complete  bool                `json:"complete"`
}

func toStepJSON(s launchpad.Step) launchpadStepJSON {
	return launchpadStepJSON{Number: s.Number, Key: s.Key, Title: s.Title, Done: s.Done, Available: s.Available, Detail: s.Detail}
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
	out := launchpadJSON{Next: toStepJSON(st.Next), Completed: st.Completed(), Complete: st.Complete()}
	for _, s := range st.Steps {
		out.Steps = append(out.Steps, toStepJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
