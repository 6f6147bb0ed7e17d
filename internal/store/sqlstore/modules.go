package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/module"
)

var _ module.Store = (*Store)(nil)

const moduleCols = `id, name, provider, space_id, integration_id, repository, project_id, branch, project_root,
	labels, description, created_at, updated_at, created_by`

func scanModule(row interface{ Scan(...any) error }) (module.Module, error) {
	var m module.Module
	err := row.Scan(&m.ID, &m.Name, &m.Provider, &m.SpaceID, &m.IntegrationID, &m.Repository, &m.ProjectID,
		&m.Branch, &m.ProjectRoot, jsonScan{&m.Labels}, &m.Description, timeScan{&m.CreatedAt},
		timeScan{&m.UpdatedAt}, &m.CreatedBy)
	m.Labels = nonNil(m.Labels)
	return m, err
}

// CreateModule implements module.Store.
func (s *Store) CreateModule(ctx context.Context, m module.Module, e audit.Entry) error {
	labels, err := jsonArg(nonNil(m.Labels))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, m.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "INSERT INTO modules ("+moduleCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.Name, m.Provider, m.SpaceID, m.IntegrationID, m.Repository, m.ProjectID, m.Branch, m.ProjectRoot,
			labels, m.Description, s.t(m.CreatedAt), s.t(m.UpdatedAt), m.CreatedBy)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a module with the id or name %q already exists", m.ID)
	}
	return wrapInternal(err, "create module %s", m.ID)
}

// GetModule implements module.Store.
func (s *Store) GetModule(ctx context.Context, id string) (module.Module, error) {
	m, err := scanModule(s.queryRow(ctx, s.r, "SELECT "+moduleCols+" FROM modules WHERE id = ?", id))
	if err != nil {
		return module.Module{}, wrapInternal(notFound(err, "module %q not found", id), "get module %s", id)
	}
	return m, nil
}

// ListModules implements module.Store.
func (s *Store) ListModules(ctx context.Context, f module.Filter, cursor string, limit int) ([]module.Module, string, error) {
	limit = clampLimit(limit)
	where, args, none, err := inSpaces(cursor, f.All, f.Spaces)
	if err != nil || none {
		return []module.Module{}, "", err
	}
	out, err := queryAll(ctx, s, s.r, scanModule, "SELECT "+moduleCols+" FROM modules WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list modules: %w", err)
	}
	out, next := page(out, limit, func(m module.Module) string { return idCursor(m.ID) })
	return out, next, nil
}

// ListModulesByRepository implements module.Store.
func (s *Store) ListModulesByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]module.Module, error) {
	out, err := queryAll(ctx, s, s.r, scanModule, "SELECT "+moduleCols+` FROM modules WHERE integration_id = ?
		AND ((project_id <> 0 AND project_id = ?) OR (project_id = 0 AND LOWER(repository) = LOWER(?))) ORDER BY id`,
		integrationID, projectID, path)
	if err != nil {
		return nil, fmt.Errorf("list modules of %s: %w", path, err)
	}
	return out, nil
}

// DeleteModule implements module.Store.
func (s *Store) DeleteModule(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Explicitly, not only by cascade: SQLite enforces ON DELETE only
		// with foreign keys on, and this must not depend on a pragma.
		if _, err := s.exec(ctx, tx, "DELETE FROM module_versions WHERE module_id = ?", id); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, "DELETE FROM modules WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "module %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete module %s", id)
}

const versionCols = "module_id, version, sha, tag, state, note, created_by, created_at, updated_at"

func scanVersion(row interface{ Scan(...any) error }) (module.Version, error) {
	var v module.Version
	var state string
	err := row.Scan(&v.ModuleID, &v.Version, &v.SHA, &v.Tag, &state, &v.Note, &v.CreatedBy,
		timeScan{&v.CreatedAt}, timeScan{&v.UpdatedAt})
	v.State = module.State(state)
	return v, err
}

// CreateVersion implements module.Store.
func (s *Store) CreateVersion(ctx context.Context, v module.Version, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.exists(ctx, tx, "SELECT 1 FROM modules WHERE id = ?", v.ModuleID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Errorf(apperr.NotFound, "module %q not found", v.ModuleID)
		}
		_, err = s.exec(ctx, tx, "INSERT INTO module_versions ("+versionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			v.ModuleID, v.Version, v.SHA, v.Tag, string(v.State), v.Note, v.CreatedBy, s.t(v.CreatedAt), s.t(v.UpdatedAt))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "module %s already has version %s; versions are never reused", v.ModuleID, v.Version)
	}
	return wrapInternal(err, "create version %s of module %s", v.Version, v.ModuleID)
}

// GetVersion implements module.Store.
func (s *Store) GetVersion(ctx context.Context, moduleID, version string) (module.Version, error) {
	v, err := scanVersion(s.queryRow(ctx, s.r, "SELECT "+versionCols+" FROM module_versions WHERE module_id = ? AND version = ?",
		moduleID, version))
	if err != nil {
		return module.Version{}, wrapInternal(notFound(err, "module %q has no version %q", moduleID, version),
			"get version %s of module %s", version, moduleID)
	}
	return v, nil
}

// ListVersions implements module.Store.
func (s *Store) ListVersions(ctx context.Context, moduleID, cursor string, limit int) ([]module.Version, string, error) {
	limit = clampLimit(limit)
	where, args := "module_id = ?", []any{moduleID}
	if cursor != "" {
		t, v, err := parseTimeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (created_at < ? OR (created_at = ? AND version < ?))"
		args = append(args, s.t(t), s.t(t), v)
	}
	out, err := queryAll(ctx, s, s.r, scanVersion, "SELECT "+versionCols+" FROM module_versions WHERE "+where+
		" ORDER BY created_at DESC, version DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list versions of %s: %w", moduleID, err)
	}
	out, next := page(out, limit, func(v module.Version) string { return timeCursor(v.CreatedAt, v.Version) })
	return out, next, nil
}

// MarkVersionBad implements module.Store.
func (s *Store) MarkVersionBad(ctx context.Context, moduleID, version, note string, at time.Time, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE module_versions SET state = ?, note = ?, updated_at = ? WHERE module_id = ? AND version = ?",
			string(module.Bad), note, s.t(at), moduleID, version)
		if err != nil {
			return err
		}
		if err := affected(res, "module %q has no version %q", moduleID, version); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "mark version %s of module %s bad", version, moduleID)
}
