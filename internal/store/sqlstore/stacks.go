package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
)

var _ stack.Store = (*Store)(nil)

const stackCols = `id, name, space_id, integration_id, integration_ref, repository, project_id, branch, project_root,
	additional_project_globs, labels, autodeploy, description, tool, tool_version, worker_pool, allow_fork_mrs,
	git_checkout, mr_plan_min_access, mr_apply, mr_apply_min_access, apply_requirements, mr_automerge, drift_issue, drift_issue_off, drift_issue_labels, tracked_sha, tracked_branch, tracked_moved_at, created_at,
	updated_at, created_by`

func scanStack(row interface{ Scan(...any) error }) (stack.Stack, error) {
	var st stack.Stack
	var integrationID, trackedSHA, trackedBranch sql.NullString
	var tool string
	var movedAt *time.Time
	var issueOn, issueOff bool
	err := row.Scan(&st.ID, &st.Name, &st.SpaceID, &integrationID, &st.DetachedFrom, &st.Repository, &st.ProjectID,
		&st.Branch, &st.ProjectRoot, stringsScan{&st.AdditionalProjectGlobs}, stringsScan{&st.Labels}, &st.Autodeploy,
		&st.Description, &tool, &st.ToolVersion, &st.WorkerPool, &st.AllowForkMRs, &st.GitCheckout, &st.MRPlanMinAccess,
		&st.MRApply, &st.MRApplyMinAccess, stringsScan{&st.ApplyRequirements}, &st.MRAutomerge, &issueOn, &issueOff, stringsScan{&st.DriftIssueLabels}, &trackedSHA, &trackedBranch, nullTimeScan{&movedAt}, timeScan{&st.CreatedAt}, timeScan{&st.UpdatedAt}, &st.CreatedBy)
	if err != nil {
		return stack.Stack{}, err
	}
	st.Tool = stack.Tool(tool)
	st.DriftIssue = driftIssueMode(issueOn, issueOff)
	st.AdditionalProjectGlobs, st.Labels = nonNil(st.AdditionalProjectGlobs), nonNil(st.Labels)
	st.ApplyRequirements, st.DriftIssueLabels = nonNil(st.ApplyRequirements), nonNil(st.DriftIssueLabels)
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
	reqs, err := jsonArg(nonNil(st.ApplyRequirements))
	if err != nil {
		return nil, err
	}
	issueLabels, err := jsonArg(nonNil(st.DriftIssueLabels))
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
		st.WorkerPool, st.AllowForkMRs, st.GitCheckout, st.MRPlanMinAccess, st.MRApply, st.MRApplyMinAccess, reqs, st.MRAutomerge, st.DriftIssue == stack.DriftIssueOn, st.DriftIssue == stack.DriftIssueOff, issueLabels, s.t(st.UpdatedAt)}, nil
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
			tool, tool_version, worker_pool, allow_fork_mrs, git_checkout, mr_plan_min_access, mr_apply, mr_apply_min_access,
			apply_requirements, mr_automerge, drift_issue, drift_issue_off, drift_issue_labels, updated_at, tracked_sha,
			tracked_branch, tracked_moved_at, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
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
	// Every run event's GitLab writes read their stack: cached
	// (readcache.go).
	return throughCache(ctx, s, stacksTable, &s.cache.stacks, id, cloneStack, func() (stack.Stack, error) {
		st, err := scanStack(s.queryRow(ctx, s.r, "SELECT "+stackCols+" FROM stacks WHERE id = ?", id))
		if err != nil {
			return stack.Stack{}, wrapInternal(notFound(err, "stack %q not found", id), "get stack %s", id)
		}
		return st, nil
	})
}

// ListStacks implements stack.Store.
func (s *Store) ListStacks(ctx context.Context, f stack.Filter, cursor string, limit int) ([]stack.Stack, string, error) {
	limit = clampLimit(limit)
	where, args, err := afterID(cursor)
	if err != nil {
		return nil, "", err
	}
	cond, spaceArgs, ok := spaceFilter(f, "space_id")
	if !ok {
		return []stack.Stack{}, "", nil
	}
	where, args = where+cond, append(args, spaceArgs...)
	out, err := queryAll(ctx, s, s.r, scanStack, "SELECT "+stackCols+" FROM stacks WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks: %w", err)
	}
	out, next := page(out, limit, func(st stack.Stack) string { return idCursor(st.ID) })
	return out, next, nil
}

// spaceFilter is the SQL of f's space conditions on column col, to append
// to a WHERE clause; ok is false when f can match nothing (no readable
// space).
func spaceFilter(f stack.Filter, col string) (cond string, args []any, ok bool) {
	if f.Space != "" {
		cond, args = " AND "+col+" = ?", []any{f.Space}
	}
	if !f.All {
		if len(f.Spaces) == 0 {
			return "", nil, false
		}
		inCond, inArgs := in(col, f.Spaces)
		cond, args = cond+" AND "+inCond, append(args, inArgs...)
	}
	return cond, args, true
}

// ListStacksByRepository implements stack.Store. Every webhook reads its
// repository's stacks: cached (readcache.go), and shared, not copied, with
// every caller while the stacks stand (stack.Store says so): a copy per
// delivery was 8 MiB with 10,000 stacks, and with 64 deliveries processed
// at once the server held half a gigabyte of copies (docs/benchmarks.md).
func (s *Store) ListStacksByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]stack.Stack, error) {
	query, args := repoQuery(stackCols, integrationID, projectID, path)
	if query == "" {
		return []stack.Stack{}, nil
	}
	key := repoKey{integrationID, projectID, path}
	return throughCacheAlso(ctx, s, stacksTable, &s.cache.repositories, key, shared, func() ([]stack.Stack, error) {
		out, err := queryAll(ctx, s, s.r, scanStack, query, args...)
		if err != nil {
			return nil, fmt.Errorf("list stacks of %s project %d (%s): %w", integrationID, projectID, path, err)
		}
		slices.SortFunc(out, func(a, b stack.Stack) int { return strings.Compare(a.ID, b.ID) })
		return sealStacks(out), nil
	}, keepStacksByID)
}

// ListTriggerStacks implements stack.Store: ListStacksByRepository reading
// only the columns the push policy needs, about twice as fast on 10,000
// stacks.
func (s *Store) ListTriggerStacks(ctx context.Context, integrationID string, projectID int64, path string) ([]trigger.Stack, error) {
	query, args := repoQuery("id, branch, project_root, additional_project_globs, labels, allow_fork_mrs", integrationID, projectID, path)
	if query == "" {
		return []trigger.Stack{}, nil
	}
	rows, err := s.query(ctx, s.r, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list trigger stacks of %s project %d (%s): %w", integrationID, projectID, path, err)
	}
	defer rows.Close()
	out := make([]trigger.Stack, 0, 64)
	for rows.Next() {
		var st trigger.Stack
		if err := rows.Scan(&st.ID, &st.Branch, &st.ProjectRoot, stringsScan{&st.AdditionalGlobs}, stringsScan{&st.Labels}, &st.AllowForks); err != nil {
			return nil, fmt.Errorf("list trigger stacks of %s: %w", integrationID, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list trigger stacks of %s: %w", integrationID, err)
	}
	slices.SortFunc(out, func(a, b trigger.Stack) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// repoQuery selects cols of the stacks of one repository: a UNION ALL of
// two index range scans, (integration_id, project_id, id) and, for stacks
// whose project id is unknown, (integration_id, repository_key, id). The
// halves are disjoint. There is no ORDER BY: sorting the union in SQL
// costs SQLite a temporary b-tree of every row, several times slower than
// sorting the (already nearly sorted) result in Go.
func repoQuery(cols, integrationID string, projectID int64, path string) (string, []any) {
	var parts []string
	var args []any
	if projectID != 0 {
		parts = append(parts, "SELECT "+cols+" FROM stacks WHERE integration_id = ? AND project_id = ?")
		args = append(args, integrationID, projectID)
	}
	if path != "" {
		parts = append(parts, "SELECT "+cols+" FROM stacks WHERE integration_id = ? AND project_id = 0 AND repository_key = ?")
		args = append(args, integrationID, strings.ToLower(path))
	}
	return strings.Join(parts, " UNION ALL "), args
}

// stringsScan decodes a JSON list of strings, skipping the JSON decoder for
// the common empty list.
type stringsScan struct{ v *[]string }

func (ss stringsScan) Scan(src any) error {
	switch v := src.(type) {
	case string:
		if v == "[]" {
			*ss.v = []string{}
			return nil
		}
	case []byte:
		if string(v) == "[]" {
			*ss.v = []string{}
			return nil
		}
	}
	return jsonScan{ss.v}.Scan(src)
}

// driftIssueMode reads a stack's drift issue setting from its two columns
// (migration 0034): neither set is "as the integration says".
func driftIssueMode(on, off bool) stack.DriftIssueMode {
	switch {
	case on:
		return stack.DriftIssueOn
	case off:
		return stack.DriftIssueOff
	}
	return stack.DriftIssueInherit
}

// UpdateStack implements stack.Store.
func (s *Store) UpdateStack(ctx context.Context, st stack.Stack, e audit.Entry) error {
	args, err := s.stackArgs(st)
	if err != nil {
		return err
	}
	set := `name = ?, space_id = ?, integration_id = ?, integration_ref = ?, repository = ?, repository_key = ?,
		project_id = ?, branch = ?, project_root = ?, additional_project_globs = ?, labels = ?, autodeploy = ?,
		description = ?, tool = ?, tool_version = ?, worker_pool = ?, allow_fork_mrs = ?, git_checkout = ?,
		mr_plan_min_access = ?, mr_apply = ?, mr_apply_min_access = ?, apply_requirements = ?, mr_automerge = ?,
		drift_issue = ?, drift_issue_off = ?, drift_issue_labels = ?, updated_at = ?`
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
		// Explicitly, not only by cascade (see DeleteModule).
		if _, err := s.exec(ctx, tx, "DELETE FROM stack_policies WHERE stack_id = ?", id); err != nil {
			return err
		}
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
