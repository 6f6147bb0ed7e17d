package policy

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// Attach attaches a policy to a stack by hand. The caller must read both
// (else NotFound) and be admin of the stack's space; the stack must be in
// the policy's space or below it, where the policy's space owns it.
func (s *Service) Attach(ctx context.Context, actor, stackID, policyID string) error {
	p, st, access, tree, err := s.pair(ctx, actor, stackID, policyID)
	if err != nil {
		return err
	}
	if !CanManage(st.SpaceID, access) {
		return apperr.Errorf(apperr.Forbidden, "attaching policies to stack %q needs admin on space %q", st.ID, st.SpaceID)
	}
	if !tree.Within(st.SpaceID, p.SpaceID) {
		return apperr.InvalidField("policy", "policy %q lives in space %q and can be attached only to stacks in that space or below it; stack %q is in %q",
			p.ID, p.SpaceID, st.ID, st.SpaceID)
	}
	a := Attachment{StackID: st.ID, PolicyID: p.ID, CreatedAt: s.now(), CreatedBy: actor}
	e := s.entry(actor, "policy.attach", p, map[string]any{"stack": st.ID})
	if err := s.cfg.Store.AttachPolicy(ctx, a, e); err != nil {
		return fmt.Errorf("attach policy %s to %s: %w", p.ID, st.ID, err)
	}
	return nil
}

// Detach removes an explicit attachment; NotFound when there is none.
func (s *Service) Detach(ctx context.Context, actor, stackID, policyID string) error {
	p, st, access, _, err := s.pair(ctx, actor, stackID, policyID)
	if err != nil {
		return err
	}
	if !CanManage(st.SpaceID, access) {
		return apperr.Errorf(apperr.Forbidden, "detaching policies from stack %q needs admin on space %q", st.ID, st.SpaceID)
	}
	e := s.entry(actor, "policy.detach", p, map[string]any{"stack": st.ID})
	if err := s.cfg.Store.DetachPolicy(ctx, st.ID, p.ID, e); err != nil {
		return fmt.Errorf("detach policy %s from %s: %w", p.ID, st.ID, err)
	}
	return nil
}

func (s *Service) pair(ctx context.Context, actor, stackID, policyID string) (Policy, stack.Stack, space.Access, space.Tree, error) {
	p, access, tree, err := s.load(ctx, actor, policyID)
	if err != nil {
		return Policy{}, stack.Stack{}, space.Access{}, space.Tree{}, err
	}
	st, err := s.cfg.Stacks.GetStack(ctx, stackID)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !stack.CanRead(st, access)) {
		return Policy{}, stack.Stack{}, space.Access{}, space.Tree{}, apperr.Errorf(apperr.NotFound, "no stack %q", stackID)
	}
	if err != nil {
		return Policy{}, stack.Stack{}, space.Access{}, space.Tree{}, fmt.Errorf("load stack %s: %w", stackID, err)
	}
	return p, st, access, tree, nil
}

// ForStack lists the policies that apply to a stack the caller may read,
// explicit and autoattached, of every type. Autoattached policies of
// spaces the caller cannot read are listed too (they act on the stack; the
// caller should know), without their body.
func (s *Service) ForStack(ctx context.Context, actor, stackID string) ([]Attached, error) {
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, err
	}
	st, err := s.cfg.Stacks.GetStack(ctx, stackID)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !stack.CanRead(st, access)) {
		return nil, apperr.Errorf(apperr.NotFound, "no stack %q", stackID)
	}
	if err != nil {
		return nil, fmt.Errorf("load stack %s: %w", stackID, err)
	}
	all, err := s.applying(ctx, []stack.Stack{st}, &tree, Push, Plan)
	if err != nil {
		return nil, err
	}
	out := all[st.ID]
	for i := range out {
		if !CanRead(out[i].Policy, access) {
			out[i].Policy.Body = ""
		}
	}
	return out, nil
}

// applying resolves the policies of the given types that apply to stacks.
// tree nil: the whole tree is loaded, only when such policies exist (the
// common case of none costs webhook processing and runs one query).
func (s *Service) applying(ctx context.Context, stacks []stack.Stack, tree *space.Tree, types ...Type) (map[string][]Attached, error) {
	var ps []Policy
	for _, t := range types {
		got, err := s.cfg.Store.ListPoliciesOfType(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("list %s policies: %w", t, err)
		}
		ps = append(ps, got...)
	}
	if len(ps) == 0 {
		return map[string][]Attached{}, nil
	}
	explicit, err := s.cfg.Store.ListAttachments(ctx, stack.IDs(stacks))
	if err != nil {
		return nil, fmt.Errorf("list policy attachments: %w", err)
	}
	if tree == nil {
		t, err := s.tree(ctx)
		if err != nil {
			return nil, err
		}
		tree = &t
	}
	return Resolve(ps, stacks, *tree, explicit), nil
}

// tree loads the whole space tree (no principal: webhook processing and
// runs act for the system).
func (s *Service) tree(ctx context.Context) (space.Tree, error) {
	spaces, err := s.cfg.Spaces.ListSpaces(ctx)
	if err != nil {
		return space.Tree{}, fmt.Errorf("load spaces: %w", err)
	}
	return space.NewTree(spaces), nil
}

// RunEvaluations pages the evaluations recorded for a run the caller may
// read, oldest first.
func (s *Service) RunEvaluations(ctx context.Context, actor, runID, cursor string, limit int) ([]Evaluation, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if err == nil {
		var st stack.Stack
		if st, err = s.cfg.Stacks.GetStack(ctx, r.StackID); err == nil && !stack.CanRead(st, access) {
			err = apperr.Errorf(apperr.NotFound, "no run %q", runID)
		}
	}
	if apperr.Is(err, apperr.NotFound) {
		return nil, "", apperr.Errorf(apperr.NotFound, "no run %q", runID)
	}
	if err != nil {
		return nil, "", fmt.Errorf("load run %s: %w", runID, err)
	}
	return s.cfg.Store.ListEvaluations(ctx, EvaluationFilter{RunID: runID}, cursor, limit)
}

// DeliveryEvaluations pages the push policy evaluations of a delivery the
// caller may read (the caller checks that first), keeping those of stacks
// the actor may read: a delivery's reader may not see every stack it
// touched.
func (s *Service) DeliveryEvaluations(ctx context.Context, actor, deliveryID, cursor string, limit int) ([]Evaluation, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	evs, next, err := s.cfg.Store.ListEvaluations(ctx, EvaluationFilter{DeliveryID: deliveryID}, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	readable := map[string]bool{}
	out := evs[:0]
	for _, ev := range evs {
		ok, seen := readable[ev.StackID]
		if !seen {
			st, err := s.cfg.Stacks.GetStack(ctx, ev.StackID)
			ok = err == nil && stack.CanRead(st, access)
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return nil, "", fmt.Errorf("load stack %s: %w", ev.StackID, err)
			}
			readable[ev.StackID] = ok
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out, next, nil
}
