package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
)

const integrationCols = `id, provider, name, is_default, space_id, api_host, user_facing_host, labels, description,
	ca_bundle, token_sealed, webhook_secret_sealed, token_user, token_user_id, token_scopes, token_expires_at,
	created_at, updated_at, created_by, aggregate_statuses, drift_issue, drift_issue_labels`

func scanIntegration(row interface{ Scan(...any) error }) (integration.Integration, error) {
	var in integration.Integration
	var provider string
	err := row.Scan(&in.ID, &provider, &in.Name, &in.IsDefault, &in.SpaceID, &in.APIHost, &in.UserFacingHost,
		jsonScan{&in.Labels}, &in.Description, &in.CABundle, &in.TokenSealed, &in.WebhookSecretSealed,
		&in.TokenUser, &in.TokenUserID, jsonScan{&in.TokenScopes}, nullTimeScan{&in.TokenExpiresAt},
		timeScan{&in.CreatedAt}, timeScan{&in.UpdatedAt}, &in.CreatedBy, &in.AggregateStatuses, &in.DriftIssue,
		jsonScan{&in.DriftIssueLabels})
	in.Provider = integration.Provider(provider)
	in.Labels, in.TokenScopes, in.DriftIssueLabels = nonNil(in.Labels), nonNil(in.TokenScopes), nonNil(in.DriftIssueLabels)
	return in, err
}

// CreateIntegration implements integration.Store.
func (s *Store) CreateIntegration(ctx context.Context, in integration.Integration, e audit.Entry) error {
	labels, err := jsonArg(nonNil(in.Labels))
	if err != nil {
		return err
	}
	scopes, err := jsonArg(nonNil(in.TokenScopes))
	if err != nil {
		return err
	}
	issueLabels, err := jsonArg(nonNil(in.DriftIssueLabels))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, in.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "INSERT INTO integrations ("+integrationCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, string(in.Provider), in.Name, in.IsDefault, in.SpaceID, in.APIHost, in.UserFacingHost, labels,
			in.Description, in.CABundle, in.TokenSealed, in.WebhookSecretSealed, in.TokenUser, in.TokenUserID,
			scopes, s.nullTime(in.TokenExpiresAt), s.t(in.CreatedAt), s.t(in.UpdatedAt), in.CreatedBy, in.AggregateStatuses,
			in.DriftIssue, issueLabels)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return s.integrationConflict(ctx, in, err)
	}
	return wrapInternal(err, "create integration %s", in.ID)
}

// integrationConflict says which unique rule a write broke: the id, or the
// one-default-per-provider rule. It runs after the failed transaction is
// rolled back (PostgreSQL allows no queries in a failed transaction).
func (s *Store) integrationConflict(ctx context.Context, in integration.Integration, cause error) error {
	if ok, err := s.exists(ctx, s.w, "SELECT 1 FROM integrations WHERE id = ?", in.ID); err == nil && ok {
		return apperr.Wrap(apperr.Conflict, cause, "an integration with the id %q already exists", in.ID)
	}
	var other string
	err := s.queryRow(ctx, s.w, "SELECT id FROM integrations WHERE provider = ? AND is_default = ? AND id <> ?",
		string(in.Provider), true, in.ID).Scan(&other)
	if err == nil {
		return apperr.Wrap(apperr.Conflict, cause,
			"there is already a default %s integration (%q); there can be only one: make this one a space integration or change %q first",
			in.Provider, other, other)
	}
	return apperr.Wrap(apperr.Conflict, cause, "integration %q conflicts with an existing one", in.ID)
}

// GetIntegration implements integration.Store.
func (s *Store) GetIntegration(ctx context.Context, id string) (integration.Integration, error) {
	// Every webhook and GitLab write reads its integration: cached
	// (readcache.go).
	return throughCache(ctx, s, integrationsTable, &s.cache.integrations, id, cloneIntegration, func() (integration.Integration, error) {
		in, err := scanIntegration(s.queryRow(ctx, s.r, "SELECT "+integrationCols+" FROM integrations WHERE id = ?", id))
		if err != nil {
			return integration.Integration{}, wrapInternal(notFound(err, "integration %q not found", id), "get integration %s", id)
		}
		return in, nil
	})
}

// ListIntegrations implements integration.Store.
func (s *Store) ListIntegrations(ctx context.Context, f integration.Filter, cursor string, limit int) ([]integration.Integration, string, error) {
	limit = clampLimit(limit)
	where, args, err := s.beforeTime(cursor, "created_at")
	if err != nil {
		return nil, "", err
	}
	if f.Provider != "" {
		where += " AND provider = ?"
		args = append(args, string(f.Provider))
	}
	if !f.All {
		cond := "is_default = ?"
		args = append(args, true)
		if len(f.Spaces) > 0 {
			inSpaces, spaceArgs := in("space_id", f.Spaces)
			cond, args = cond+" OR "+inSpaces, append(args, spaceArgs...)
		}
		where += " AND (" + cond + ")"
	}
	out, err := queryAll(ctx, s, s.r, scanIntegration, "SELECT "+integrationCols+" FROM integrations WHERE "+where+
		" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list integrations: %w", err)
	}
	out, next := page(out, limit, func(in integration.Integration) string { return timeCursor(in.CreatedAt, in.ID) })
	return out, next, nil
}

// UpdateIntegration implements integration.Store.
func (s *Store) UpdateIntegration(ctx context.Context, in integration.Integration, e audit.Entry) error {
	labels, err := jsonArg(nonNil(in.Labels))
	if err != nil {
		return err
	}
	scopes, err := jsonArg(nonNil(in.TokenScopes))
	if err != nil {
		return err
	}
	issueLabels, err := jsonArg(nonNil(in.DriftIssueLabels))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, in.SpaceID, "space"); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE integrations SET is_default = ?, space_id = ?, api_host = ?,
			user_facing_host = ?, labels = ?, description = ?, ca_bundle = ?, token_sealed = ?,
			webhook_secret_sealed = ?, token_user = ?, token_user_id = ?, token_scopes = ?, token_expires_at = ?,
			updated_at = ?, aggregate_statuses = ?, drift_issue = ?, drift_issue_labels = ? WHERE id = ?`,
			in.IsDefault, in.SpaceID, in.APIHost, in.UserFacingHost, labels, in.Description, in.CABundle,
			in.TokenSealed, in.WebhookSecretSealed, in.TokenUser, in.TokenUserID, scopes,
			s.nullTime(in.TokenExpiresAt), s.t(in.UpdatedAt), in.AggregateStatuses, in.DriftIssue, issueLabels, in.ID)
		if err != nil {
			return err
		}
		if err := affected(res, "integration %q not found", in.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return s.integrationConflict(ctx, in, err)
	}
	return wrapInternal(err, "update integration %s", in.ID)
}

// DeleteIntegration implements integration.Store.
func (s *Store) DeleteIntegration(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM integrations WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "integration %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete integration %s", id)
}
