package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

const policiesPath = "/api/v1/policies"

// CreatePolicy creates a policy; the server compiles its body first.
func (c *Client) CreatePolicy(ctx context.Context, in api.CreatePolicy) (*api.Policy, error) {
	var p api.Policy
	if err := c.do(ctx, http.MethodPost, policiesPath, nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Policies yields the policies the caller may read (of one type when typ
// is set), following next_cursor.
func (c *Client) Policies(ctx context.Context, typ string) iter.Seq2[api.Policy, error] {
	var q url.Values
	if typ != "" {
		q = url.Values{"type": {typ}}
	}
	return pages[api.Policy](ctx, c, policiesPath, q)
}

// GetPolicy returns one policy.
func (c *Client) GetPolicy(ctx context.Context, id string) (*api.Policy, error) {
	var p api.Policy
	if err := c.do(ctx, http.MethodGet, policiesPath+"/"+esc(id), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdatePolicy changes the fields of in that are set.
func (c *Client) UpdatePolicy(ctx context.Context, id string, in api.UpdatePolicy) (*api.Policy, error) {
	var p api.Policy
	if err := c.do(ctx, http.MethodPatch, policiesPath+"/"+esc(id), nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePolicy deletes a policy and its attachments.
func (c *Client) DeletePolicy(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, policiesPath+"/"+esc(id), nil, nil, nil)
}

// AttachPolicy attaches a policy to a stack.
func (c *Client) AttachPolicy(ctx context.Context, stackID, policyID string) error {
	return c.do(ctx, http.MethodPost, stacksPath+"/"+esc(stackID)+"/policies/"+esc(policyID), nil, nil, nil)
}

// DetachPolicy detaches a policy attached by hand.
func (c *Client) DetachPolicy(ctx context.Context, stackID, policyID string) error {
	return c.do(ctx, http.MethodDelete, stacksPath+"/"+esc(stackID)+"/policies/"+esc(policyID), nil, nil, nil)
}

// StackPolicies lists the policies that apply to a stack.
func (c *Client) StackPolicies(ctx context.Context, stackID string) ([]api.StackPolicy, error) {
	return collect(pages[api.StackPolicy](ctx, c, stacksPath+"/"+esc(stackID)+"/policies", nil))
}

// RunPolicyEvaluations lists the policy evaluations of a run.
func (c *Client) RunPolicyEvaluations(ctx context.Context, runID string) ([]api.PolicyEvaluation, error) {
	return collect(pages[api.PolicyEvaluation](ctx, c, "/api/v1/runs/"+esc(runID)+"/policy-evaluations", nil))
}

// DeliveryPolicyEvaluations lists the push policy evaluations of a
// delivery.
func (c *Client) DeliveryPolicyEvaluations(ctx context.Context, deliveryID string) ([]api.PolicyEvaluation, error) {
	return collect(pages[api.PolicyEvaluation](ctx, c, "/api/v1/deliveries/"+esc(deliveryID)+"/policy-evaluations", nil))
}

// ListPolicies returns every policy the caller may read (of one type when
// typ is set).
func (c *Client) ListPolicies(ctx context.Context, typ string) ([]api.Policy, error) {
	return collect(c.Policies(ctx, typ))
}
