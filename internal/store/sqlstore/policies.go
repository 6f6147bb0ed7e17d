package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/policy"
)

var _ policy.Store = (*Store)(nil)

const policyCols = "id, name, type, space_id, labels, description, body, version, created_at, updated_at, created_by"

func scanPolicy(row rowScanner) (policy.Policy, error) {
	var p policy.Policy
	var typ string
	err := row.Scan(&p.ID, &p.Name, &typ, &p.SpaceID, jsonScan{&p.Labels}, &p.Description, &p.Body, &p.Version,
		timeScan{&p.CreatedAt}, timeScan{&p.UpdatedAt}, &p.CreatedBy)
	p.Type, p.Labels = policy.Type(typ), nonNil(p.Labels)
	return p, err
}

// CreatePolicy implements policy.Store.
func (s *Store) CreatePolicy(ctx context.Context, p policy.Policy, e audit.Entry) error {
	labels, err := jsonArg(nonNil(p.Labels))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, p.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "INSERT INTO policies ("+policyCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Name, string(p.Type), p.SpaceID, labels, p.Description, p.Body, p.Version,
			s.t(p.CreatedAt), s.t(p.UpdatedAt), p.CreatedBy)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a policy with the id or name %q already exists (ids are slugs of names)", p.ID)
	}
	return wrapInternal(err, "create policy %s", p.ID)
}

// GetPolicy implements policy.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (policy.Policy, error) {
	p, err := scanPolicy(s.queryRow(ctx, s.r, "SELECT "+policyCols+" FROM policies WHERE id = ?", id))
	if err != nil {
		return policy.Policy{}, wrapInternal(notFound(err, "policy %q not found", id), "get policy %s", id)
	}
	return p, nil
}

// ListPolicies implements policy.Store.
func (s *Store) ListPolicies(ctx context.Context, f policy.Filter, cursor string, limit int) ([]policy.Policy, string, error) {
	limit = clampLimit(limit)
	where, args, none, err := inSpaces(cursor, f.All, f.Spaces)
	if err != nil || none {
		return []policy.Policy{}, "", err
	}
	if f.Type != "" {
		where, args = where+" AND type = ?", append(args, string(f.Type))
	}
	out, err := queryAll(ctx, s, s.r, scanPolicy, "SELECT "+policyCols+" FROM policies WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list policies: %w", err)
	}
	out, next := page(out, limit, func(p policy.Policy) string { return idCursor(p.ID) })
	return out, next, nil
}

// ListPoliciesOfType implements policy.Store, through the read cache
// (readcache.go): every push delivery lists the push policies.
func (s *Store) ListPoliciesOfType(ctx context.Context, t policy.Type) ([]policy.Policy, error) {
	out, err := throughCache(ctx, s, policiesTable, &s.cache.policies, t, clonePolicies, func() ([]policy.Policy, error) {
		return queryAll(ctx, s, s.r, scanPolicy, "SELECT "+policyCols+" FROM policies WHERE type = ? ORDER BY id", string(t))
	})
	if err != nil {
		return nil, fmt.Errorf("list %s policies: %w", t, err)
	}
	return out, nil
}

// UpdatePolicy implements policy.Store.
func (s *Store) UpdatePolicy(ctx context.Context, p policy.Policy, e audit.Entry) error {
	labels, err := jsonArg(nonNil(p.Labels))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, p.SpaceID, "space"); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE policies SET name = ?, space_id = ?, labels = ?, description = ?, body = ?,
			version = ?, updated_at = ? WHERE id = ?`,
			p.Name, p.SpaceID, labels, p.Description, p.Body, p.Version, s.t(p.UpdatedAt), p.ID)
		if err != nil {
			return err
		}
		if err := affected(res, "policy %q not found", p.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a policy named %q already exists", p.Name)
	}
	return wrapInternal(err, "update policy %s", p.ID)
}

// DeletePolicy implements policy.Store.
func (s *Store) DeletePolicy(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM stack_policies WHERE policy_id = ?", id); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, "DELETE FROM policies WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "policy %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete policy %s", id)
}

// AttachPolicy implements policy.Store.
func (s *Store) AttachPolicy(ctx context.Context, a policy.Attachment, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range []struct{ q, field, id string }{
			{"SELECT 1 FROM stacks WHERE id = ?", "stack", a.StackID},
			{"SELECT 1 FROM policies WHERE id = ?", "policy", a.PolicyID},
		} {
			ok, err := s.exists(ctx, tx, c.q, c.id)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.InvalidField(c.field, "no %s %q", c.field, c.id)
			}
		}
		ok, err := s.exists(ctx, tx, "SELECT 1 FROM stack_policies WHERE stack_id = ? AND policy_id = ?", a.StackID, a.PolicyID)
		if err != nil || ok {
			return err // attached already: keep the first
		}
		_, err = s.exec(ctx, tx, "INSERT INTO stack_policies (stack_id, policy_id, created_at, created_by) VALUES (?, ?, ?, ?)",
			a.StackID, a.PolicyID, s.t(a.CreatedAt), a.CreatedBy)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "attach policy %s to stack %s", a.PolicyID, a.StackID)
}

// DetachPolicy implements policy.Store.
func (s *Store) DetachPolicy(ctx context.Context, stackID, policyID string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM stack_policies WHERE stack_id = ? AND policy_id = ?", stackID, policyID)
		if err != nil {
			return err
		}
		if err := affected(res, "policy %q is not attached to stack %q", policyID, stackID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "detach policy %s from stack %s", policyID, stackID)
}

// ListAttachments implements policy.Store.
func (s *Store) ListAttachments(ctx context.Context, stackIDs []string) ([]policy.Attachment, error) {
	if len(stackIDs) == 0 {
		return []policy.Attachment{}, nil
	}
	out := []policy.Attachment{}
	err := inChunks("stack_id", stackIDs, func(cond string, args []any) error {
		part, err := queryAll(ctx, s, s.r, func(row rowScanner) (policy.Attachment, error) {
			var a policy.Attachment
			err := row.Scan(&a.StackID, &a.PolicyID, timeScan{&a.CreatedAt}, &a.CreatedBy)
			return a, err
		}, "SELECT stack_id, policy_id, created_at, created_by FROM stack_policies WHERE "+cond, args...)
		out = append(out, part...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list policy attachments: %w", err)
	}
	slices.SortFunc(out, func(a, b policy.Attachment) int {
		return cmp.Or(strings.Compare(a.StackID, b.StackID), strings.Compare(a.PolicyID, b.PolicyID))
	})
	return out, nil
}

const evaluationCols = "id, policy_id, policy_version, type, stack_id, run_id, delivery_id, input, outcome, messages, error, duration_us, at"

// RecordEvaluations implements policy.Store.
func (s *Store) RecordEvaluations(ctx context.Context, evs []policy.Evaluation) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, ev := range evs {
			msgs, err := jsonArg(nonNil(ev.Messages))
			if err != nil {
				return err
			}
			input := string(ev.Input)
			if input == "" {
				input = "{}"
			}
			_, err = s.exec(ctx, tx, `INSERT INTO policy_evaluations (policy_id, policy_version, type, stack_id, run_id,
				delivery_id, input, outcome, messages, error, duration_us, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				ev.PolicyID, ev.PolicyVersion, string(ev.Type), ev.StackID, ev.RunID, ev.DeliveryID, input,
				string(ev.Outcome), msgs, ev.Error, ev.Duration.Microseconds(), s.t(ev.At))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapInternal(err, "record %d policy evaluations", len(evs))
}

// ListEvaluations implements policy.Store.
func (s *Store) ListEvaluations(ctx context.Context, f policy.EvaluationFilter, cursor string, limit int) ([]policy.Evaluation, string, error) {
	limit = clampLimit(limit)
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, "", apperr.InvalidField("cursor", "is not a cursor this list gave")
		}
		after = n
	}
	where, args := "id > ?", []any{after}
	switch {
	case f.RunID != "":
		where, args = where+" AND run_id = ?", append(args, f.RunID)
	case f.DeliveryID != "":
		where, args = where+" AND delivery_id = ?", append(args, f.DeliveryID)
	default:
		return nil, "", apperr.Errorf(apperr.Invalid, "evaluations are listed per run or per delivery")
	}
	out, err := queryAll(ctx, s, s.r, scanEvaluation, "SELECT "+evaluationCols+" FROM policy_evaluations WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list policy evaluations: %w", err)
	}
	out, next := page(out, limit, func(ev policy.Evaluation) string { return strconv.FormatInt(ev.ID, 10) })
	return out, next, nil
}

func scanEvaluation(row rowScanner) (policy.Evaluation, error) {
	var ev policy.Evaluation
	var typ, outcome, input string
	var us int64
	err := row.Scan(&ev.ID, &ev.PolicyID, &ev.PolicyVersion, &typ, &ev.StackID, &ev.RunID, &ev.DeliveryID, &input,
		&outcome, jsonScan{&ev.Messages}, &ev.Error, &us, timeScan{&ev.At})
	ev.Type, ev.Outcome, ev.Input = policy.Type(typ), policy.Outcome(outcome), json.RawMessage(input)
	ev.Duration, ev.Messages = time.Duration(us)*time.Microsecond, nonNil(ev.Messages)
	return ev, err
}
