package sqlstore

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

var (
	_ run.VariableStore = (*Store)(nil)
	_ run.PoolStore     = (*Store)(nil)
)

// PutStackVariable implements run.VariableStore.
func (s *Store) PutStackVariable(ctx context.Context, v run.Variable) error {
	_, err := s.exec(ctx, s.w, `INSERT INTO stack_variables (stack_id, name, secret, value, value_sealed, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (stack_id, name) DO UPDATE SET secret = excluded.secret, value = excluded.value,
		value_sealed = excluded.value_sealed, updated_at = excluded.updated_at`,
		v.StackID, v.Name, v.Secret, v.Value, v.Sealed, s.t(v.UpdatedAt))
	if s.d.IsForeignKeyViolation(err) {
		return apperr.Errorf(apperr.NotFound, "stack %q not found", v.StackID)
	}
	return wrapInternal(err, "store variable %s of stack %s", v.Name, v.StackID)
}

// DeleteStackVariable implements run.VariableStore.
func (s *Store) DeleteStackVariable(ctx context.Context, stackID, name string) error {
	res, err := s.exec(ctx, s.w, "DELETE FROM stack_variables WHERE stack_id = ? AND name = ?", stackID, name)
	if err != nil {
		return fmt.Errorf("delete variable %s of stack %s: %w", name, stackID, err)
	}
	return affected(res, "stack %q has no variable %q", stackID, name)
}

// ListStackVariables implements run.VariableStore.
func (s *Store) ListStackVariables(ctx context.Context, stackID string) ([]run.Variable, error) {
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (run.Variable, error) {
		v := run.Variable{StackID: stackID}
		err := row.Scan(&v.Name, &v.Secret, &v.Value, &v.Sealed, timeScan{&v.UpdatedAt})
		return v, err
	}, "SELECT name, secret, value, value_sealed, updated_at FROM stack_variables WHERE stack_id = ? ORDER BY name", stackID)
	if err != nil {
		return nil, fmt.Errorf("list variables of stack %s: %w", stackID, err)
	}
	return out, nil
}

// CreateWorkerPool implements run.PoolStore.
func (s *Store) CreateWorkerPool(ctx context.Context, p run.Pool) error {
	_, err := s.exec(ctx, s.w, "INSERT INTO worker_pools (id, name, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
		p.ID, p.Name, p.TokenHash, s.t(p.CreatedAt), p.CreatedBy)
	if s.d.IsUniqueViolation(err) {
		return apperr.Errorf(apperr.Conflict, "a worker pool named %q already exists", p.Name)
	}
	return wrapInternal(err, "create worker pool %s", p.ID)
}

const workerPoolCols = "id, name, token_hash, created_at, created_by"

func scanWorkerPool(row interface{ Scan(...any) error }) (run.Pool, error) {
	var p run.Pool
	err := row.Scan(&p.ID, &p.Name, &p.TokenHash, timeScan{&p.CreatedAt}, &p.CreatedBy)
	return p, err
}

// ListWorkerPools implements run.PoolStore.
func (s *Store) ListWorkerPools(ctx context.Context) ([]run.Pool, error) {
	out, err := queryAll(ctx, s, s.r, scanWorkerPool, "SELECT "+workerPoolCols+" FROM worker_pools ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list worker pools: %w", err)
	}
	return out, nil
}

// WorkerPoolByTokenHash implements run.PoolStore.
func (s *Store) WorkerPoolByTokenHash(ctx context.Context, hash string) (run.Pool, error) {
	p, err := scanWorkerPool(s.queryRow(ctx, s.r, "SELECT "+workerPoolCols+" FROM worker_pools WHERE token_hash = ?", hash))
	return p, wrapInternal(notFound(err, "unknown pool token"), "find worker pool")
}

// DeleteWorkerPool implements run.PoolStore.
func (s *Store) DeleteWorkerPool(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.w, "DELETE FROM worker_pools WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete worker pool %s: %w", id, err)
	}
	return affected(res, "worker pool %q not found", id)
}
