package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

const spaceCols = "id, name, parent_id, inherit, description, labels, created_at, updated_at"

func scanSpace(row interface{ Scan(...any) error }) (space.Space, error) {
	var sp space.Space
	var parent sql.NullString
	err := row.Scan(&sp.ID, &sp.Name, &parent, &sp.Inherit, &sp.Description,
		jsonScan{&sp.Labels}, timeScan{&sp.CreatedAt}, timeScan{&sp.UpdatedAt})
	sp.ParentID = parent.String
	sp.Labels = nonNil(sp.Labels)
	return sp, err
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateSpace implements space.Store.
func (s *Store) CreateSpace(ctx context.Context, sp space.Space) error {
	labels, err := jsonArg(nonNil(sp.Labels))
	if err != nil {
		return err
	}
	if sp.ParentID == "" && sp.ID != space.RootID {
		return apperr.InvalidField("parent", "every space but root needs a parent")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if sp.ParentID != "" {
			if err := s.spaceExists(ctx, tx, sp.ParentID, "parent"); err != nil {
				return err
			}
		}
		_, err := s.exec(ctx, tx, "INSERT INTO spaces ("+spaceCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			sp.ID, sp.Name, nullString(sp.ParentID), sp.Inherit, sp.Description, labels, s.t(sp.CreatedAt), s.t(sp.UpdatedAt))
		return err
	})
	switch {
	case s.d.IsUniqueViolation(err):
		return apperr.Wrap(apperr.Conflict, err, "a space with the id %q or the name %q already exists", sp.ID, sp.Name)
	case s.d.IsForeignKeyViolation(err):
		return &apperr.Error{Code: apperr.Invalid, Field: "parent", Err: err,
			Message: fmt.Sprintf("parent: space %q does not exist", sp.ParentID)}
	case err != nil:
		return fmt.Errorf("create space %s: %w", sp.ID, err)
	}
	return nil
}

// spaceExists returns apperr Invalid naming field when id is not a space: a
// reference in a request to a space that does not exist is bad input.
func (s *Store) spaceExists(ctx context.Context, q querier, id, field string) error {
	ok, err := s.exists(ctx, q, "SELECT 1 FROM spaces WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("look up space %s: %w", id, err)
	}
	if !ok {
		return apperr.InvalidField(field, "space %q does not exist", id)
	}
	return nil
}

// GetSpace implements space.Store.
func (s *Store) GetSpace(ctx context.Context, id string) (space.Space, error) {
	sp, err := scanSpace(s.queryRow(ctx, s.r, "SELECT "+spaceCols+" FROM spaces WHERE id = ?", id))
	if err != nil {
		return space.Space{}, notFound(err, "space %q not found", id)
	}
	return sp, nil
}

// ListSpaces implements space.Store.
func (s *Store) ListSpaces(ctx context.Context) ([]space.Space, error) {
	out, err := queryAll(ctx, s, s.r, scanSpace, "SELECT "+spaceCols+" FROM spaces ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list spaces: %w", err)
	}
	return out, nil
}

// UpdateSpace implements space.Store.
func (s *Store) UpdateSpace(ctx context.Context, sp space.Space) error {
	labels, err := jsonArg(nonNil(sp.Labels))
	if err != nil {
		return err
	}
	if sp.ID == space.RootID && sp.ParentID != "" {
		return apperr.InvalidField("parent", "the root space cannot be moved")
	}
	if sp.ID != space.RootID && sp.ParentID == "" {
		return apperr.InvalidField("parent", "every space but root needs a parent")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if sp.ParentID != "" {
			if err := s.spaceExists(ctx, tx, sp.ParentID, "parent"); err != nil {
				return err
			}
			if err := s.refuseCycle(ctx, tx, sp.ID, sp.ParentID); err != nil {
				return err
			}
		}
		res, err := s.exec(ctx, tx, `UPDATE spaces SET name = ?, parent_id = ?, inherit = ?, description = ?, labels = ?,
			updated_at = ? WHERE id = ?`,
			sp.Name, nullString(sp.ParentID), sp.Inherit, sp.Description, labels, s.t(sp.UpdatedAt), sp.ID)
		if err != nil {
			return err
		}
		return affected(res, "space %q not found", sp.ID)
	})
	switch {
	case s.d.IsUniqueViolation(err):
		return apperr.Wrap(apperr.Conflict, err, "a space named %q already exists", sp.Name)
	case err != nil && apperr.CodeOf(err) == apperr.Internal:
		return fmt.Errorf("update space %s: %w", sp.ID, err)
	}
	return err
}

// refuseCycle refuses to put id under parent when parent is id or one of
// its descendants. The service checks this on its copy of the tree; doing it
// again inside the write transaction catches a concurrent move.
func (s *Store) refuseCycle(ctx context.Context, tx *sql.Tx, id, parent string) error {
	cycle, err := s.exists(ctx, tx, `WITH RECURSIVE up (id, parent_id) AS (
			SELECT id, parent_id FROM spaces WHERE id = ?
			UNION SELECT s.id, s.parent_id FROM spaces s JOIN up ON s.id = up.parent_id)
		SELECT 1 FROM up WHERE id = ?`, parent, id)
	if err != nil {
		return fmt.Errorf("check for a cycle: %w", err)
	}
	if cycle {
		return apperr.InvalidField("parent", "space %q is %q itself or below it; a space cannot move under itself", parent, id)
	}
	return nil
}

// DeleteSpace implements space.Store. It refuses, with a Conflict that says
// what is left, a space that still holds child spaces, integrations or VCS
// agent pools.
func (s *Store) DeleteSpace(ctx context.Context, id string) error {
	if id == space.RootID {
		return apperr.Errorf(apperr.Conflict, "the root space cannot be deleted")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, id, "space"); apperr.Is(err, apperr.Invalid) {
			return apperr.Errorf(apperr.NotFound, "space %q not found", id)
		} else if err != nil {
			return err
		}
		children, err := s.ids(ctx, tx, "SELECT id FROM spaces WHERE parent_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		integrations, err := s.ids(ctx, tx, "SELECT id FROM integrations WHERE space_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		pools, err := s.ids(ctx, tx, "SELECT id FROM vcs_agent_pools WHERE space_id = ? ORDER BY id", id)
		if err != nil {
			return err
		}
		if len(children)+len(integrations)+len(pools) > 0 {
			return apperr.Errorf(apperr.Conflict, "space %q is not empty: %s; delete or move them first",
				id, describeContents(children, integrations, pools))
		}
		// Roles and role mappings on the space go with it (mapped roles
		// before the mappings they reference).
		for _, table := range []string{"role_bindings", "mapped_roles", "role_mappings"} {
			if _, err := s.exec(ctx, tx, "DELETE FROM "+table+" WHERE space_id = ?", id); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, "DELETE FROM spaces WHERE id = ?", id)
		return err
	})
	switch {
	case s.d.IsForeignKeyViolation(err): // something was added while we checked
		return apperr.Wrap(apperr.Conflict, err, "space %q is not empty; delete or move its contents first", id)
	case err != nil && apperr.CodeOf(err) == apperr.Internal:
		return fmt.Errorf("delete space %s: %w", id, err)
	}
	return err
}

func describeContents(children, integrations, pools []string) string {
	var parts []string
	for _, c := range []struct {
		what string
		ids  []string
	}{{"child spaces", children}, {"integrations", integrations}, {"VCS agent pools", pools}} {
		if len(c.ids) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", c.what, strings.Join(c.ids, ", ")))
		}
	}
	return "it still contains " + strings.Join(parts, " and ")
}

// ids runs a query selecting one text column.
func (s *Store) ids(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	return queryAll(ctx, s, q, scanString, query, args...)
}
