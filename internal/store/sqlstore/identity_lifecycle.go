package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// SetUserDisabled implements identity.Store.
func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabledAt *time.Time, e audit.Entry) error {
	what := "disabling user " + userID
	if disabledAt == nil {
		what = "enabling user " + userID
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, what, func() error {
			res, err := s.exec(ctx, tx, "UPDATE users SET disabled_at = ? WHERE id = ?", s.nullTime(disabledAt), userID)
			if err != nil {
				return err
			}
			if err := affected(res, "user %q not found", userID); err != nil {
				return err
			}
			if disabledAt != nil {
				if err := s.endSessionsOfUser(ctx, tx, userID); err != nil {
					return err
				}
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "%s", what)
}

// DeleteUser implements identity.Store.
func (s *Store) DeleteUser(ctx context.Context, userID string, e audit.Entry) error {
	principal := identity.UserPrincipal(userID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, "deleting user "+userID, func() error {
			keys, err := queryAll(ctx, s, tx, scanAPIKey, "SELECT "+apiKeyCols+" FROM api_keys WHERE created_by = ? ORDER BY id", principal)
			if err != nil {
				return err
			}
			if err := s.endSessionsOfUser(ctx, tx, userID); err != nil {
				return err
			}
			for _, k := range keys {
				if err := s.deleteKeyRows(ctx, tx, k.ID); err != nil {
					return err
				}
				ke := audit.Entry{At: e.At, Actor: e.Actor, Action: "api_key.delete", ResourceType: "api_key", ResourceID: k.ID,
					SpaceID: e.SpaceID, Detail: map[string]any{"name": k.Name, "reason": "owner " + userID + " deleted"}}
				if err := s.appendAudit(ctx, tx, ke); err != nil {
					return err
				}
			}
			for _, table := range []string{"role_bindings", "mapped_roles"} {
				if _, err := s.exec(ctx, tx, "DELETE FROM "+table+" WHERE principal = ?", principal); err != nil {
					return err
				}
			}
			res, err := s.exec(ctx, tx, "DELETE FROM users WHERE id = ?", userID)
			if err != nil {
				return err
			}
			if err := affected(res, "user %q not found", userID); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "delete user %s", userID)
}

// DeleteAPIKey implements identity.Store.
func (s *Store) DeleteAPIKey(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, "deleting API key "+id, func() error {
			if _, err := s.exec(ctx, tx, "DELETE FROM web_sessions WHERE principal = ?", identity.APIKeyPrincipal(id)); err != nil {
				return err
			}
			if err := s.deleteKeyRows(ctx, tx, id); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "delete API key %s", id)
}

// deleteKeyRows removes a key and its bindings (its sessions are the
// caller's).
func (s *Store) deleteKeyRows(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := s.exec(ctx, tx, "DELETE FROM role_bindings WHERE principal = ?", identity.APIKeyPrincipal(id)); err != nil {
		return err
	}
	res, err := s.exec(ctx, tx, "DELETE FROM api_keys WHERE id = ?", id)
	if err != nil {
		return err
	}
	return affected(res, "API key %q not found", id)
}

// endSessionsOfUser deletes the web sessions of a user and of the API keys
// it owns.
func (s *Store) endSessionsOfUser(ctx context.Context, tx *sql.Tx, userID string) error {
	p := identity.UserPrincipal(userID)
	_, err := s.exec(ctx, tx, `DELETE FROM web_sessions WHERE principal = ?
		OR principal IN (SELECT 'apikey:' || id FROM api_keys WHERE created_by = ?)`, p, p)
	return err
}

// adminsLock serialises the changes keepAdmins guards. On SQLite the
// immediate transaction already holds the only write lock.
const adminsLock = "identity.admins"

// keepAdmins runs change in tx and undoes it (Conflict) when it took away
// the last enabled root-admin user or the last usable root-admin API key
// (see identity.Store). Counting before and after, under one lock, judges
// the change itself: a database that already lacks one is not made worse,
// and two admins disabling each other at once cannot both succeed.
func (s *Store) keepAdmins(ctx context.Context, tx *sql.Tx, at time.Time, what string, change func() error) error {
	if err := s.d.Lock(ctx, tx, adminsLock); err != nil {
		return err
	}
	before, err := s.countAdmins(ctx, tx, at)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := s.countAdmins(ctx, tx, at)
	if err != nil {
		return err
	}
	if before.users > 0 && after.users == 0 {
		return apperr.Errorf(apperr.Conflict,
			"%s would leave no enabled user with admin on root: make another user admin of root first", what)
	}
	if before.keys > 0 && after.keys == 0 {
		return apperr.Errorf(apperr.Conflict, "%s would leave no usable API key with admin on root, and only API keys "+
			"can manage users and keys: create another root-admin API key first (a key created by a user stops with that user)", what)
	}
	if s.keepMapped.Load() && before.mapped > 0 && after.mapped == 0 {
		return apperr.Errorf(apperr.Conflict, "%s would leave no enabled user who is admin of root through a role mapping, "+
			"and password logins are switched off on this server (--local-login=false): nobody could log in to the web UI as root admin. "+
			"Map another group to admin of root and log in once as a member first, or restart the server without --local-login=false", what)
	}
	return nil
}

// adminCounts are the safety nets keepAdmins keeps: enabled root-admin
// users (by hand-given roles), usable root-admin API keys, and enabled
// users who are root admin through a role mapping.
type adminCounts struct{ users, keys, mapped int }

// countAdmins counts the enabled root-admin users and the root-admin API
// keys usable at at (unexpired, owner enabled), and the mapped root
// admins. Personal keys never count: they hold no bindings and lose root
// admin with their owner.
func (s *Store) countAdmins(ctx context.Context, tx *sql.Tx, at time.Time) (adminCounts, error) {
	var c adminCounts
	err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM users u JOIN role_bindings b ON b.principal = 'user:' || u.id
		WHERE b.space_id = ? AND b.role = ? AND u.disabled_at IS NULL`, space.RootID, string(space.Admin)).Scan(&c.users)
	if err != nil {
		return c, err
	}
	err = s.queryRow(ctx, tx, `SELECT COUNT(*) FROM api_keys k JOIN role_bindings b ON b.principal = 'apikey:' || k.id
		WHERE b.space_id = ? AND b.role = ? AND NOT k.personal AND (k.expires_at IS NULL OR k.expires_at > ?)
		AND NOT EXISTS (SELECT 1 FROM users u WHERE 'user:' || u.id = k.created_by AND u.disabled_at IS NOT NULL)`,
		space.RootID, string(space.Admin), s.t(at)).Scan(&c.keys)
	if err != nil {
		return c, err
	}
	c.mapped, err = s.countMappedRootAdmins(ctx, tx)
	return c, err
}

// KeepMappedRootAdmin makes the store refuse, from now on, any change of
// its own that takes away the last enabled user who is admin of root
// through a role mapping: deleting the mapping, disabling or deleting the
// user. A server with password logins off (--local-login=false) calls it
// once its start check passed, so that check keeps holding. A refresh
// that finds the user out of the group is the issuer's word and is not
// refused (docs/sso.md).
func (s *Store) KeepMappedRootAdmin() { s.keepMapped.Store(true) }
