package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/stack"
)

var _ stack.Store = (*Store)(nil)

const stackCols = `id, name, space_id, integration_id, integration_ref, repository, project_id, branch, project_root,
	additional_project_globs, labels, autodeploy, description, tool, tool_version, worker_pool, allow_fork_mrs,
	git_checkout, tracked_sha, tracked_branch, tracked_moved_at, created_at, updated_at, created_by`

func scanStack(row interface{ Scan(...any) error }) (stack.Stack, error) {
	var st stack.Stack
	var integrationID, trackedSHA, trackedBranch sql.NullString
	var tool string
	var movedAt *time.Time
	err := row.Scan(&st.ID, &st.Name, &st.SpaceID, &integrationID, &st.DetachedFrom, &st.Repository, &st.ProjectID,
		&st.Branch, &st.ProjectRoot, jsonScan{&st.AdditionalProjectGlobs}, jsonScan{&st.Labels}, &st.Autodeploy,
		&st.Description, &tool, &st.ToolVersion, &st.WorkerPool, &st.AllowForkMRs, &st.GitCheckout,
		&trackedSHA, &trackedBranch, nullTimeScan{&movedAt}, timeScan{&st.CreatedAt}, timeScan{&st.UpdatedAt}, &st.CreatedBy)
	if err != nil {
		return stack.Stack{}, err
	}
	st.Tool = stack.Tool(tool)
	st.AdditionalProjectGlobs, st.Labels = nonNil(st.AdditionalProjectGlobs), nonNil(st.Labels)
	if integrationID.Valid {
		st.IntegrationID, st.DetachedFrom = integrationID.String, ""
	}
	if trackedSHA.Valid && movedAt != nil {
		st.TrackedCommit = &stack.TrackedCommit{SHA: trackedSHA.String, Branch: trackedBranch.String, MovedAt: *movedAt}
	}
	return st, nil
}

// stackArgs are the values of the user-editable columns, in the order of
// the INSERT and UPDATE statements below.
func (s *Store) stackArgs(st stack.Stack) ([]any, error) {
	globs, err := jsonArg(nonNil(st.AdditionalProjectGlobs))
	if err != nil {
		return nil, err
	}
	labels, err := jsonArg(nonNil(st.Labels))
	if err != nil {
		return nil, err
	}
	var integrationID any
	if st.IntegrationID != "" {
		integrationID = st.IntegrationID
	}
	ref := st.IntegrationID
	if ref == "" {
		ref = st.DetachedFrom
	}
	return []any{st.Name, st.SpaceID, integrationID, ref, st.Repository, strings.ToLower(st.Repository), st.ProjectID,
		st.Branch, st.ProjectRoot, globs, labels, st.Autodeploy, st.Description, string(st.Tool), st.ToolVersion,
		st.WorkerPool, st.AllowForkMRs, st.GitCheckout, s.t(st.UpdatedAt)}, nil
}

func (s *Store) trackedArgs(c *stack.TrackedCommit) []any {
	if c == nil {
		return []any{nil, nil, nil}
	}
	return []any{c.SHA, c.Branch, s.t(c.MovedAt)}
}

// CreateStack implements stack.Store.
func (s *Store) CreateStack(ctx context.Context, st stack.Stack, e audit.Entry) error {
	args, err := s.stackArgs(st)
	if err != nil {
		return err
	}
	args = append(append(append([]any{st.ID}, args...), s.trackedArgs(st.TrackedCommit)...), s.t(st.CreatedAt), st.CreatedBy)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, st.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO stacks (id, name, space_id, integration_id, integration_ref, repository,
			repository_key, project_id, branch, project_root, additional_project_globs, labels, autodeploy, description,
			tool, tool_version, worker_pool, allow_fork_mrs, git_checkout, updated_at, tracked_sha, tracked_branch,
			tracked_moved_at, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return s.stackWriteError(ctx, st, err, "create")
}

// stackWriteError classifies a failed write: a taken id or name is a
// Conflict, a vanished integration an Invalid "integration". It runs after
// the failed transaction is rolled back (PostgreSQL allows no queries in a
// failed transaction).
func (s *Store) stackWriteError(ctx context.Context, st stack.Stack, err error, op string) error {
	switch {
	case err == nil:
		return nil
	case s.d.IsUniqueViolation(err):
		if op == "create" {
			if ok, qerr := s.exists(ctx, s.w, "SELECT 1 FROM stacks WHERE id = ?", st.ID); qerr == nil && ok {
				return apperr.Wrap(apperr.Conflict, err, "a stack with the id %q already exists", st.ID)
			}
		}
		return apperr.Wrap(apperr.Conflict, err, "a stack named %q already exists", st.Name)
	case s.d.IsForeignKeyViolation(err):
		e := apperr.InvalidField("integration", "no integration %q", st.IntegrationID)
		e.Err = err
		return e
	}
	return wrapInternal(err, "%s stack %s", op, st.ID)
}

// GetStack implements stack.Store.
func (s *Store) GetStack(ctx context.Context, id string) (stack.Stack, error) {
	st, err := scanStack(s.queryRow(ctx, s.r, "SELECT "+stackCols+" FROM stacks WHERE id = ?", id))
	if err != nil {
		return stack.Stack{}, wrapInternal(notFound(err, "stack %q not found", id), "get stack %s", id)
	}
	return st, nil
}

// ListStacks implements stack.Store.
func (s *Store) ListStacks(ctx context.Context, f stack.Filter, cursor string, limit int) ([]stack.Stack, string, error) {
	limit = clampLimit(limit)
	where, args := "1 = 1", []any{}
	if cursor != "" {
		after, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = "id > ?", append(args, after)
	}
	if f.Space != "" {
		where += " AND space_id = ?"
		args = append(args, f.Space)
	}
	if !f.All {
		if len(f.Spaces) == 0 {
			return []stack.Stack{}, "", nil
		}
		where += " AND space_id IN (?" + strings.Repeat(", ?", len(f.Spaces)-1) + ")"
		for _, sp := range f.Spaces {
			args = append(args, sp)
		}
	}
	out, err := s.queryStacks(ctx, "SELECT "+stackCols+" FROM stacks WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks: %w", err)
	}
	if len(out) > limit {
		out = out[:limit]
		return out, idCursor(out[limit-1].ID), nil
	}
	return out, "", nil
}

func (s *Store) queryStacks(ctx context.Context, query string, args ...any) ([]stack.Stack, error) {
	rows, err := s.query(ctx, s.r, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []stack.Stack{}
	for rows.Next() {
		st, err := scanStack(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// ListStacksByRepository implements stack.Store. The two halves of the
// UNION each use one index, (integration_id, project_id, id) and
// (integration_id, repository_key, id); they are disjoint because the
// second only holds stacks whose project id is unknown.
func (s *Store) ListStacksByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]stack.Stack, error) {
	var parts []string
	var args []any
	if projectID != 0 {
		parts = append(parts, "SELECT "+stackCols+" FROM stacks WHERE integration_id = ? AND project_id = ?")
		args = append(args, integrationID, projectID)
	}
	if path != "" {
		parts = append(parts, "SELECT "+stackCols+" FROM stacks WHERE integration_id = ? AND project_id = 0 AND repository_key = ?")
		args = append(args, integrationID, strings.ToLower(path))
	}
	if len(parts) == 0 {
		return []stack.Stack{}, nil
	}
	out, err := s.queryStacks(ctx, strings.Join(parts, " UNION ALL ")+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list stacks of %s project %d (%s): %w", integrationID, projectID, path, err)
	}
	return out, nil
}

// UpdateStack implements stack.Store.
func (s *Store) UpdateStack(ctx context.Context, st stack.Stack, e audit.Entry) error {
	args, err := s.stackArgs(st)
	if err != nil {
		return err
	}
	set := `name = ?, space_id = ?, integration_id = ?, integration_ref = ?, repository = ?, repository_key = ?,
		project_id = ?, branch = ?, project_root = ?, additional_project_globs = ?, labels = ?, autodeploy = ?,
		description = ?, tool = ?, tool_version = ?, worker_pool = ?, allow_fork_mrs = ?, git_checkout = ?, updated_at = ?`
	if st.TrackedCommit != nil {
		set += ", tracked_sha = ?, tracked_branch = ?, tracked_moved_at = ?"
		args = append(args, s.trackedArgs(st.TrackedCommit)...)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, st.SpaceID, "space"); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, "UPDATE stacks SET "+set+" WHERE id = ?", append(args, st.ID)...)
		if err != nil {
			return err
		}
		if err := affected(res, "stack %q not found", st.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return s.stackWriteError(ctx, st, err, "update")
}

// DeleteStack implements stack.Store.
func (s *Store) DeleteStack(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM stacks WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "stack %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsForeignKeyViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "stack %q still has data that refers to it", id)
	}
	return wrapInternal(err, "delete stack %s", id)
}

// MoveTrackedCommit implements stack.Store.
func (s *Store) MoveTrackedCommit(ctx context.Context, stackID string, c stack.TrackedCommit) (bool, error) {
	moved, err := s.moveTrackedCommit(ctx, s.w, stackID, c)
	return moved, wrapInternal(err, "move tracked commit of %s", stackID)
}

// moveTrackedCommit is MoveTrackedCommit on q, so that applying a webhook's
// run plan can move tracked commits in the same transaction as it creates
// the runs.
func (s *Store) moveTrackedCommit(ctx context.Context, q querier, stackID string, c stack.TrackedCommit) (bool, error) {
	res, err := s.exec(ctx, q, `UPDATE stacks SET tracked_sha = ?, tracked_branch = ?, tracked_moved_at = ?
		WHERE id = ? AND branch = ?`, c.SHA, c.Branch, s.t(c.MovedAt), stackID, c.Branch)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return n > 0, err
	}
	ok, err := s.exists(ctx, q, "SELECT 1 FROM stacks WHERE id = ?", stackID)
	if err == nil && !ok {
		err = apperr.Errorf(apperr.NotFound, "stack %q not found", stackID)
	}
	return false, err
}
