package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

var _ run.PlanChecker = (*Service)(nil)

// RunInput is the run as a plan policy sees it.
type RunInput struct {
	ID              string `json:"id"`
	Type            string `json:"type"`    // TRACKED, PROPOSED
	Trigger         string `json:"trigger"` // push, merge_request, api…
	TriggeredBy     string `json:"triggered_by"`
	Commit          string `json:"commit"`
	Branch          string `json:"branch"`
	MergeRequestIID int64  `json:"merge_request_iid"`
}

// Sensitive replaces every value OpenTofu marks sensitive in a plan
// policy's input and record.
const Sensitive = "(sensitive value)"

// planKeys are the parts of `tofu show -json` a plan policy sees. The
// state parts (prior_state, planned_values) hold every attribute of every
// resource; they are left out rather than masked twice over.
var planKeys = []string{"format_version", "terraform_version", "applyable", "complete", "errored",
	"resource_changes", "resource_drift", "output_changes", "variables", "configuration", "relevant_attributes", "checks"}

// CheckPlan implements run.PlanChecker: it evaluates the plan policies
// that apply to r's stack against {run, stack, plan}, records each
// evaluation on the run, and denies when any policy denies, fails or times
// out (fail closed).
func (s *Service) CheckPlan(ctx context.Context, r run.Run, planJSON []byte) (run.PlanVerdict, error) {
	st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
	if err != nil {
		return run.PlanVerdict{}, fmt.Errorf("load stack %s: %w", r.StackID, err)
	}
	all, err := s.applying(ctx, []stack.Stack{st}, nil, Plan)
	if err != nil {
		return run.PlanVerdict{}, err
	}
	applying := all[st.ID]
	if len(applying) == 0 {
		return run.PlanVerdict{}, nil
	}
	input, rec, inErr := PlanInput(r, st, planJSON)
	var v run.PlanVerdict
	var records []Evaluation
	for _, at := range applying {
		p := at.Policy
		ev := Evaluation{PolicyID: p.ID, PolicyVersion: p.Version, Type: Plan, StackID: st.ID, RunID: r.ID,
			Input: recorded(rec), At: s.now(), Messages: []string{}}
		if inErr != nil {
			ev.Outcome, ev.Error = OutcomeError, inErr.Error()
		} else {
			start := time.Now()
			doc, err := s.cfg.Engine.EvalRules(ctx, p.Body, input, "deny", "warn")
			ev.Duration = time.Since(start)
			if err != nil {
				ev.Outcome, ev.Error = OutcomeError, cleanMessage(errorText(err))
				s.log.WarnContext(ctx, "plan policy failed", "policy_id", p.ID, "run_id", r.ID, "error", err)
			} else {
				deny, warn := messages(doc, "deny"), messages(doc, "warn")
				ev.Messages = append(deny, warn...)
				ev.Outcome = OutcomePass
				if len(warn) > 0 {
					ev.Outcome = OutcomeWarn
				}
				if len(deny) > 0 {
					ev.Outcome = OutcomeDeny
				}
				for _, m := range deny {
					v.Deny = append(v.Deny, p.ID+": "+m)
				}
				for _, m := range warn {
					v.Warn = append(v.Warn, p.ID+": "+m)
				}
			}
		}
		if ev.Outcome == OutcomeError {
			v.Deny = append(v.Deny, fmt.Sprintf("%s failed (fail closed): %s", p.ID, ev.Error))
		}
		records = append(records, ev)
	}
	if err := s.cfg.Store.RecordEvaluations(ctx, records); err != nil {
		return run.PlanVerdict{}, fmt.Errorf("record plan policy evaluations: %w", err)
	}
	return v, nil
}

// PlanInput builds a plan policy's input {run, stack, plan} with the
// plan's sensitive values masked, as OPA's value and as JSON for the
// record. An unusable plan is an error the caller fails closed on.
func PlanInput(r run.Run, st stack.Stack, planJSON []byte) (ast.Value, []byte, error) {
	head := map[string]any{"run": mustValue(runInput(r)), "stack": mustValue(stackInput(st))}
	if len(planJSON) == 0 {
		rec, _ := json.Marshal(head)
		return nil, rec, fmt.Errorf("no plan JSON for plan policies: the plan was larger than %d MiB, or the worker predates plan policies", run.MaxPlanJSON>>20)
	}
	plan, err := DecodeInput(planJSON)
	if err != nil {
		rec, _ := json.Marshal(head)
		return nil, rec, fmt.Errorf("plan JSON: %w", err)
	}
	head["plan"] = MaskPlan(plan)
	// The record keeps at most MaxRecordedInput: a plan JSON larger than
	// that would be recorded as its size only, so it is not encoded again.
	rec := []byte(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(planJSON)))
	if len(planJSON) <= MaxRecordedInput {
		if rec, err = json.Marshal(head); err != nil {
			return nil, nil, fmt.Errorf("encode plan policy input: %w", err)
		}
	}
	val, err := ast.InterfaceToValue(head)
	if err != nil {
		return nil, rec, fmt.Errorf("plan policy input: %w", err)
	}
	return val, rec, nil
}

// MaskPlan keeps planKeys of a `tofu show -json` document and replaces
// every value marked sensitive: a change's before/after by its
// before_sensitive/after_sensitive masks (resource_changes,
// resource_drift, output_changes), variables whose declaration is
// sensitive.
func MaskPlan(plan map[string]any) map[string]any {
	out := make(map[string]any, len(planKeys))
	for _, k := range planKeys {
		if v, ok := plan[k]; ok {
			out[k] = v
		}
	}
	for _, k := range []string{"resource_changes", "resource_drift"} {
		rcs, _ := out[k].([]any)
		for _, rc := range rcs {
			if m, ok := rc.(map[string]any); ok {
				if ch, ok := m["change"].(map[string]any); ok {
					maskChange(ch)
				}
			}
		}
	}
	if ocs, ok := out["output_changes"].(map[string]any); ok {
		for _, oc := range ocs {
			if ch, ok := oc.(map[string]any); ok {
				maskChange(ch)
			}
		}
	}
	maskVariables(out)
	return out
}

func maskChange(ch map[string]any) {
	for _, side := range []string{"before", "after"} {
		if mask, ok := ch[side+"_sensitive"]; ok {
			ch[side] = maskValue(ch[side], mask)
		}
	}
}

// maskValue applies an OpenTofu sensitivity mask: true masks the whole
// value; an object or array mask applies key by key, index by index.
func maskValue(v, mask any) any {
	switch m := mask.(type) {
	case bool:
		if m && v != nil {
			return Sensitive
		}
	case map[string]any:
		if obj, ok := v.(map[string]any); ok {
			for k, sub := range m {
				if x, ok := obj[k]; ok {
					obj[k] = maskValue(x, sub)
				}
			}
		}
	case []any:
		if arr, ok := v.([]any); ok {
			for i := range min(len(arr), len(m)) {
				arr[i] = maskValue(arr[i], m[i])
			}
		}
	}
	return v
}

// maskVariables masks the values of variables the root module declares
// sensitive; with no configuration to tell, every variable's value.
func maskVariables(plan map[string]any) {
	vars, _ := plan["variables"].(map[string]any)
	if len(vars) == 0 {
		return
	}
	decl := map[string]any{}
	if cfg, ok := plan["configuration"].(map[string]any); ok {
		if root, ok := cfg["root_module"].(map[string]any); ok {
			decl, _ = root["variables"].(map[string]any)
		}
	}
	for name, v := range vars {
		d, known := decl[name].(map[string]any)
		if sens, _ := d["sensitive"].(bool); sens || !known {
			if m, ok := v.(map[string]any); ok {
				m["value"] = Sensitive
			}
		}
	}
}
