package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/policy"
)

func (a *API) registerPolicyRoutes() {
	a.authed("GET /api/v1/policies", a.listPolicies)
	a.authed("POST /api/v1/policies", a.createPolicy)
	a.authed("GET /api/v1/policies/{id}", a.getPolicy)
	a.authed("PATCH /api/v1/policies/{id}", a.updatePolicy)
	a.authed("DELETE /api/v1/policies/{id}", a.deletePolicy)
	a.authed("GET /api/v1/stacks/{id}/policies", a.listStackPolicies)
	a.authed("POST /api/v1/stacks/{id}/policies/{policy_id}", a.attachPolicy(true))
	a.authed("DELETE /api/v1/stacks/{id}/policies/{policy_id}", a.attachPolicy(false))
	a.authed("GET /api/v1/runs/{id}/policy-evaluations", a.listRunPolicyEvaluations)
	a.authed("GET /api/v1/deliveries/{id}/policy-evaluations", a.listDeliveryPolicyEvaluations)
	a.authed("POST /api/v1/modules/{id}/policies/{policy_id}", a.modulePolicies)
	a.authed("DELETE /api/v1/modules/{id}/policies/{policy_id}", a.modulePolicies)
}

// modulePolicies refuses attaching policies to modules, with the reason:
// nothing would evaluate them yet, and a setting Hoist does not honour is
// never accepted.
func (a *API) modulePolicies(http.ResponseWriter, *http.Request) error {
	return apperr.InvalidField("policy", "policies cannot be attached to modules yet: modules have no plan runs that would evaluate them (issue 17 phase 1); attach them to the stacks that use the module")
}

func toPolicyJSON(p policy.Policy) api.Policy {
	return api.Policy{ID: p.ID, Name: p.Name, Type: string(p.Type), Space: p.SpaceID, Labels: nonNilStrings(p.Labels),
		Description: p.Description, Body: p.Body, Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		CreatedBy: p.CreatedBy}
}

func toEvaluationJSON(ev policy.Evaluation) api.PolicyEvaluation {
	input := ev.Input
	if len(input) == 0 {
		input = []byte("{}")
	}
	return api.PolicyEvaluation{ID: ev.ID, Policy: ev.PolicyID, PolicyVersion: ev.PolicyVersion, Type: string(ev.Type),
		Stack: ev.StackID, Run: ev.RunID, Delivery: ev.DeliveryID, Input: input, Outcome: string(ev.Outcome),
		Messages: nonNilStrings(ev.Messages), Error: ev.Error, DurationUS: ev.Duration.Microseconds(), At: ev.At}
}

func (a *API) createPolicy(w http.ResponseWriter, r *http.Request) error {
	var req api.CreatePolicy
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := a.cfg.Policies.Create(r.Context(), principalOf(r), policy.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toPolicyJSON(p))
	return nil
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	var typ policy.Type
	if t := r.URL.Query().Get("type"); t != "" {
		if typ, err = policy.ParseType(t); err != nil {
			return err
		}
	}
	ps, next, err := a.cfg.Policies.List(r.Context(), principalOf(r), typ, cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ps, next, toPolicyJSON))
	return nil
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := a.cfg.Policies.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(p))
	return nil
}

func (a *API) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdatePolicy
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := a.cfg.Policies.Update(r.Context(), principalOf(r), r.PathValue("id"), policy.Patch(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(p))
	return nil
}

func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Policies.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listStackPolicies(w http.ResponseWriter, r *http.Request) error {
	ats, err := a.cfg.Policies.ForStack(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ats, "", func(at policy.Attached) api.StackPolicy {
		return api.StackPolicy{Policy: toPolicyJSON(at.Policy), Explicit: at.Explicit, Autoattach: at.AutoLabel}
	}))
	return nil
}

func (a *API) attachPolicy(attach bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		do := a.cfg.Policies.Detach
		if attach {
			do = a.cfg.Policies.Attach
		}
		if err := do(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("policy_id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) listRunPolicyEvaluations(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	evs, next, err := a.cfg.Policies.RunEvaluations(r.Context(), principalOf(r), r.PathValue("id"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(evs, next, toEvaluationJSON))
	return nil
}

func (a *API) listDeliveryPolicyEvaluations(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	// The delivery log decides who may see the delivery at all.
	if _, err := a.cfg.Deliveries.Get(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	evs, next, err := a.cfg.Policies.DeliveryEvaluations(r.Context(), principalOf(r), r.PathValue("id"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(evs, next, toEvaluationJSON))
	return nil
}
