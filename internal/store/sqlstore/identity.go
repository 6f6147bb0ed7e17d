package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// CreateUser implements identity.Store.
func (s *Store) CreateUser(ctx context.Context, u identity.User, roles []space.Binding, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.insertUser(), userArgs(s, u)...)
		if err != nil {
			return err
		}
		if err := s.grantAll(ctx, tx, u.Principal(), roles); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a user %q already exists", u.Username)
	}
	return wrapInternal(err, "create user %s", u.ID)
}

// grantAll upserts bindings for principal, checking each space exists.
func (s *Store) grantAll(ctx context.Context, tx *sql.Tx, principal string, roles []space.Binding) error {
	for _, b := range roles {
		b.Principal = principal
		if err := s.grant(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) grant(ctx context.Context, tx *sql.Tx, b space.Binding) error {
	if b.Role == space.None || !b.Role.AtLeast(space.Read) {
		return apperr.InvalidField("role", "role must be read, write or admin, not %q", b.Role)
	}
	if err := s.spaceExists(ctx, tx, b.SpaceID, "space"); err != nil {
		return err
	}
	_, err := s.exec(ctx, tx, `INSERT INTO role_bindings (principal, space_id, role) VALUES (?, ?, ?)
		ON CONFLICT (principal, space_id) DO UPDATE SET role = excluded.role`, b.Principal, b.SpaceID, string(b.Role))
	return err
}

// wrapInternal adds context to errors that carry no apperr code.
func wrapInternal(err error, format string, args ...any) error {
	if err == nil || apperr.CodeOf(err) != apperr.Internal {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

const userCols = "id, username, password_hash, created_at, disabled_at, issuer, subject, name, email"

func (s *Store) insertUser() string {
	return "INSERT INTO users (" + userCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
}

func userArgs(s *Store, u identity.User) []any {
	return []any{u.ID, u.Username, u.PasswordHash, s.t(u.CreatedAt), s.nullTime(u.DisabledAt), u.Issuer, u.Subject, u.Name, u.Email}
}

func scanUser(row rowScanner) (identity.User, error) {
	var u identity.User
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, timeScan{&u.CreatedAt}, nullTimeScan{&u.DisabledAt},
		&u.Issuer, &u.Subject, &u.Name, &u.Email)
	return u, err
}

// GetUser implements identity.Store.
func (s *Store) GetUser(ctx context.Context, id string) (identity.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.r, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if err != nil {
		return identity.User{}, wrapInternal(notFound(err, "user %q not found", id), "get user %s", id)
	}
	return u, nil
}

// ListUsers implements identity.Store.
func (s *Store) ListUsers(ctx context.Context, cursor string, limit int) ([]identity.User, string, error) {
	limit = clampLimit(limit)
	where, args, err := afterID(cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := queryAll(ctx, s, s.r, scanUser, "SELECT "+userCols+" FROM users WHERE "+where+
		" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	out, next := page(out, limit, func(u identity.User) string { return idCursor(u.ID) })
	return out, next, nil
}

// SetPasswordHash implements identity.Store.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, userID)
		if err != nil {
			return err
		}
		if err := affected(res, "user %q not found", userID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM web_sessions WHERE principal = ?", identity.UserPrincipal(userID)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "set password of %s", userID)
}

// CreateAPIKey implements identity.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k identity.APIKey, roles []space.Binding, e audit.Entry) error {
	owner := k.Owner()
	if k.Personal && (owner == "" || len(roles) > 0) {
		return apperr.Errorf(apperr.Invalid, "a personal API key needs a user as its owner and takes no roles of its own")
	}
	if !k.Personal && !k.Ceiling.IsZero() {
		return apperr.Errorf(apperr.Invalid, "only a personal API key has a ceiling: give an ordinary key the roles it needs")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if k.Personal {
			if err := s.roomForPersonalKey(ctx, tx, owner); err != nil {
				return err
			}
		}
		_, err := s.exec(ctx, tx, `INSERT INTO api_keys (id, name, secret_hash, created_at, created_by, expires_at, personal,
			max_role, space_limited) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.Name, k.SecretHash, s.t(k.CreatedAt), k.CreatedBy,
			s.nullTime(k.ExpiresAt), k.Personal, string(k.Ceiling.Max), k.Ceiling.Limited)
		if err != nil {
			return err
		}
		if err := s.insertKeySpaces(ctx, tx, k); err != nil {
			return err
		}
		if err := s.grantAll(ctx, tx, k.Principal(), roles); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "an API key with id %q already exists", k.ID)
	}
	return wrapInternal(err, "create API key %s", k.ID)
}

// roomForPersonalKey refuses a personal key beyond identity.MaxPersonalKeys
// of one owner; the lock makes two creations at once count each other.
func (s *Store) roomForPersonalKey(ctx context.Context, tx *sql.Tx, owner string) error {
	if err := s.d.Lock(ctx, tx, "identity.personal_keys."+owner); err != nil {
		return err
	}
	var n int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM api_keys WHERE created_by = ? AND personal",
		identity.UserPrincipal(owner)).Scan(&n); err != nil {
		return err
	}
	if n >= identity.MaxPersonalKeys {
		return apperr.Errorf(apperr.Conflict, "you already have %d personal API keys, the most Hoist keeps: delete one first", n)
	}
	return nil
}

const apiKeyCols = "id, name, secret_hash, created_at, created_by, expires_at, personal, max_role, space_limited"

// scanAPIKey reads a key without its ceiling's spaces (withKeySpaces).
func scanAPIKey(row interface{ Scan(...any) error }) (identity.APIKey, error) {
	var k identity.APIKey
	var maxRole string
	err := row.Scan(&k.ID, &k.Name, &k.SecretHash, timeScan{&k.CreatedAt}, &k.CreatedBy, nullTimeScan{&k.ExpiresAt}, &k.Personal,
		&maxRole, &k.Ceiling.Limited)
	k.Ceiling.Max = space.Role(maxRole)
	return k, err
}

// GetAPIKey implements identity.Store.
func (s *Store) GetAPIKey(ctx context.Context, id string) (identity.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, s.r, "SELECT "+apiKeyCols+" FROM api_keys WHERE id = ?", id))
	if err != nil {
		return identity.APIKey{}, wrapInternal(notFound(err, "API key %q not found", id), "get API key %s", id)
	}
	keys, err := s.withKeySpaces(ctx, []identity.APIKey{k})
	if err != nil {
		return identity.APIKey{}, fmt.Errorf("get API key %s: %w", id, err)
	}
	return keys[0], nil
}

// ListAPIKeys implements identity.Store.
func (s *Store) ListAPIKeys(ctx context.Context, cursor string, limit int) ([]identity.APIKey, string, error) {
	limit = clampLimit(limit)
	where, args, err := s.beforeTime(cursor, "created_at")
	if err != nil {
		return nil, "", err
	}
	out, err := queryAll(ctx, s, s.r, scanAPIKey, "SELECT "+apiKeyCols+" FROM api_keys WHERE "+where+
		" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list API keys: %w", err)
	}
	out, next := page(out, limit, func(k identity.APIKey) string { return timeCursor(k.CreatedAt, k.ID) })
	if out, err = s.withKeySpaces(ctx, out); err != nil {
		return nil, "", fmt.Errorf("list API keys: %w", err)
	}
	return out, next, nil
}

// ListPersonalKeys implements identity.Store.
func (s *Store) ListPersonalKeys(ctx context.Context, userID string) ([]identity.APIKey, error) {
	out, err := queryAll(ctx, s, s.r, scanAPIKey, "SELECT "+apiKeyCols+" FROM api_keys WHERE created_by = ? AND personal"+
		" ORDER BY created_at DESC, id DESC LIMIT ?", identity.UserPrincipal(userID), identity.MaxPersonalKeys)
	if err != nil {
		return nil, fmt.Errorf("list personal API keys of %s: %w", userID, err)
	}
	if out, err = s.withKeySpaces(ctx, out); err != nil {
		return nil, fmt.Errorf("list personal API keys of %s: %w", userID, err)
	}
	return out, nil
}

// beforeTime returns the keyset condition for a newest-first listing
// ordered by (col, id) that resumes after cursor.
func (s *Store) beforeTime(cursor, col string) (string, []any, error) {
	if cursor == "" {
		return "1 = 1", nil, nil
	}
	t, id, err := parseTimeCursor(cursor)
	if err != nil {
		return "", nil, err
	}
	return "(" + col + " < ? OR (" + col + " = ? AND id < ?))", []any{s.t(t), s.t(t), id}, nil
}

// Grant implements identity.Store.
func (s *Store) Grant(ctx context.Context, b space.Binding, e audit.Entry) error {
	what := fmt.Sprintf("making %s %s of %s", b.Principal, b.Role, b.SpaceID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, what, func() error {
			if err := s.principalExists(ctx, tx, b.Principal); err != nil {
				return err
			}
			if err := s.grant(ctx, tx, b); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "grant %s on %s", b.Principal, b.SpaceID)
}

func (s *Store) principalExists(ctx context.Context, q querier, principal string) error {
	kind, id, err := identity.ParsePrincipal(principal)
	if err != nil {
		return err
	}
	table := map[string]string{identity.KindUser: "users", identity.KindAPIKey: "api_keys"}[kind]
	ok, err := s.exists(ctx, q, "SELECT 1 FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Errorf(apperr.NotFound, "%s %q not found", map[string]string{
			identity.KindUser: "user", identity.KindAPIKey: "API key"}[kind], id)
	}
	if kind == identity.KindAPIKey {
		personal, err := s.exists(ctx, q, "SELECT 1 FROM api_keys WHERE id = ? AND personal", id)
		if err != nil {
			return err
		}
		if personal {
			return apperr.Errorf(apperr.Invalid, "API key %q is personal: it has no roles of its own and acts with its owner's", id)
		}
	}
	return nil
}

// Revoke implements identity.Store.
func (s *Store) Revoke(ctx context.Context, principal, spaceID string, e audit.Entry) error {
	what := fmt.Sprintf("revoking the role of %s on %s", principal, spaceID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, what, func() error {
			res, err := s.exec(ctx, tx, "DELETE FROM role_bindings WHERE principal = ? AND space_id = ?", principal, spaceID)
			if err != nil {
				return err
			}
			if err := affected(res, "%s has no role on space %q", principal, spaceID); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "revoke %s on %s", principal, spaceID)
}

// Bindings implements identity.Store: hand-given roles first on each space,
// then mapped ones in mapping order. A personal key's principal is
// replaced by its owner's in the same statement, so the key reads the
// owner's roles as they are at this moment and never holds its own.
func (s *Store) Bindings(ctx context.Context, principal string) ([]space.Binding, error) {
	keyID := "" // matches no key
	if kind, id, err := identity.ParsePrincipal(principal); err == nil && kind == identity.KindAPIKey {
		keyID = id
	}
	out, err := queryAll(ctx, s, s.r, scanBinding, `WITH p (principal) AS (SELECT COALESCE(
			(SELECT created_by FROM api_keys WHERE id = ? AND personal), ?))
		SELECT b.principal, b.space_id, b.role, '' AS mapping_id FROM role_bindings b JOIN p ON b.principal = p.principal
		UNION ALL SELECT m.principal, m.space_id, m.role, m.mapping_id FROM mapped_roles m JOIN p ON m.principal = p.principal
		ORDER BY space_id, mapping_id`, keyID, principal)
	if err != nil {
		return nil, fmt.Errorf("bindings of %s: %w", principal, err)
	}
	return out, nil
}

func scanBinding(row rowScanner) (space.Binding, error) {
	var b space.Binding
	var role string
	err := row.Scan(&b.Principal, &b.SpaceID, &role, &b.MappingID)
	b.Role = space.Role(role)
	return b, err
}
