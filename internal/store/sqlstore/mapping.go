package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
)

// CreateRoleMapping implements identity.MappingStore.
func (s *Store) CreateRoleMapping(ctx context.Context, m identity.RoleMapping, e audit.Entry) error {
	if !m.Role.AtLeast(space.Read) {
		return apperr.InvalidField("role", "role must be read, write or admin, not %q", m.Role)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, m.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO role_mappings (id, issuer, group_path, space_id, role, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.Issuer, m.Group, m.SpaceID, string(m.Role), s.t(m.CreatedAt), m.CreatedBy)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "group %q at issuer %q is already mapped on space %q: delete that mapping first",
			m.Group, m.Issuer, m.SpaceID)
	}
	return wrapInternal(err, "create role mapping %s", m.ID)
}

const mappingCols = "id, issuer, group_path, space_id, role, created_at, created_by"

func scanMapping(row rowScanner) (identity.RoleMapping, error) {
	var m identity.RoleMapping
	var role string
	err := row.Scan(&m.ID, &m.Issuer, &m.Group, &m.SpaceID, &role, timeScan{&m.CreatedAt}, &m.CreatedBy)
	m.Role = space.Role(role)
	return m, err
}

// ListRoleMappings implements identity.MappingStore.
func (s *Store) ListRoleMappings(ctx context.Context) ([]identity.RoleMapping, error) {
	out, err := queryAll(ctx, s, s.r, scanMapping, "SELECT "+mappingCols+" FROM role_mappings ORDER BY group_path, issuer, space_id")
	if err != nil {
		return nil, fmt.Errorf("list role mappings: %w", err)
	}
	return out, nil
}

// DeleteRoleMapping implements identity.MappingStore.
func (s *Store) DeleteRoleMapping(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.keepAdmins(ctx, tx, e.At, "deleting role mapping "+id, func() error {
			if _, err := s.exec(ctx, tx, "DELETE FROM mapped_roles WHERE mapping_id = ?", id); err != nil {
				return err
			}
			res, err := s.exec(ctx, tx, "DELETE FROM role_mappings WHERE id = ?", id)
			if err != nil {
				return err
			}
			if err := affected(res, "role mapping %q not found", id); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, e)
		})
	})
	return wrapInternal(err, "delete role mapping %s", id)
}

// maxUsernameTries bounds the suffixes tried for a taken username.
const maxUsernameTries = 100

// UpsertExternalUser implements identity.MappingStore.
func (s *Store) UpsertExternalUser(ctx context.Context, u identity.User, groups []string, e audit.Entry) (identity.User, error) {
	var out identity.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// One login or refresh at a time (one lock for all users: logins
		// are rare): each replaces a user's mapped roles as a whole, and
		// two first logins must not both pick the same free username.
		if err := s.d.Lock(ctx, tx, "identity.external"); err != nil {
			return err
		}
		got, err := scanUser(s.queryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE issuer = ? AND subject = ?", u.Issuer, u.Subject))
		created := false
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if got, err = s.insertExternalUser(ctx, tx, u); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		case got.DisabledAt != nil:
			out = got
			return nil
		default:
			if got, err = s.refreshExternalUser(ctx, tx, got, u); err != nil {
				return err
			}
		}
		added, removed, err := s.syncMapped(ctx, tx, got, groups)
		if err != nil {
			return err
		}
		out = got
		if !created && len(added)+len(removed) == 0 {
			return nil
		}
		e.ResourceID = got.ID
		if created {
			e.Action = "user.create_external"
		}
		e.Detail = withRoleChanges(e.Detail, added, removed)
		e.Detail["username"] = got.Username
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return identity.User{}, apperr.Wrap(apperr.Conflict, err, "user %s at %s was created at the same moment: try again", u.Subject, u.Issuer)
	}
	return out, wrapInternal(err, "upsert external user %s", u.Subject)
}

// refreshExternalUser brings got's name, email and username up to date
// with the issuer's u. The username follows a rename only when no other
// user holds the new one (or its slug as id); the id never changes.
func (s *Store) refreshExternalUser(ctx context.Context, tx *sql.Tx, got, u identity.User) (identity.User, error) {
	username := got.Username
	if u.Username != "" && u.Username != got.Username {
		taken, err := s.exists(ctx, tx, "SELECT 1 FROM users WHERE (id = ? OR username = ?) AND id <> ?", slug.Make(u.Username), u.Username, got.ID)
		if err != nil {
			return got, err
		}
		if !taken {
			username = u.Username
		}
	}
	if got.Name == u.Name && got.Email == u.Email && got.Username == username {
		return got, nil
	}
	if _, err := s.exec(ctx, tx, "UPDATE users SET name = ?, email = ?, username = ? WHERE id = ?", u.Name, u.Email, username, got.ID); err != nil {
		return got, err
	}
	got.Name, got.Email, got.Username = u.Name, u.Email, username
	return got, nil
}

// insertExternalUser creates u under the first free username among
// u.Username, u.Username-2, u.Username-3…: a local user (or another
// issuer's) keeps its name, and the id stays the slug of the username.
func (s *Store) insertExternalUser(ctx context.Context, tx *sql.Tx, u identity.User) (identity.User, error) {
	base := u.Username
	if base == "" {
		base = "user"
	}
	for n := 1; n <= maxUsernameTries; n++ {
		name := base
		if n > 1 {
			name = base + "-" + strconv.Itoa(n)
		}
		id := slug.Make(name)
		taken, err := s.exists(ctx, tx, "SELECT 1 FROM users WHERE id = ? OR username = ?", id, name)
		if err != nil {
			return identity.User{}, err
		}
		if taken {
			continue
		}
		u.ID, u.Username, u.PasswordHash, u.DisabledAt = id, name, "", nil
		if _, err := s.exec(ctx, tx, s.insertUser(), userArgs(s, u)...); err != nil {
			return identity.User{}, err
		}
		return u, nil
	}
	return identity.User{}, apperr.Errorf(apperr.Conflict, "usernames %s to %s-%d are all taken", base, base, maxUsernameTries)
}

// SyncMappedRoles implements identity.MappingStore.
func (s *Store) SyncMappedRoles(ctx context.Context, userID string, groups []string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.d.Lock(ctx, tx, "identity.external"); err != nil {
			return err
		}
		u, err := scanUser(s.queryRow(ctx, tx, "SELECT "+userCols+" FROM users WHERE id = ?", userID))
		if err != nil {
			return notFound(err, "user %q not found", userID)
		}
		if !u.External() {
			return apperr.Errorf(apperr.Invalid, "user %q is a local user: it has no groups to map", userID)
		}
		added, removed, err := s.syncMapped(ctx, tx, u, groups)
		if err != nil || len(added)+len(removed) == 0 {
			return err
		}
		e.Detail = withRoleChanges(e.Detail, added, removed)
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "sync mapped roles of %s", userID)
}

// syncMapped makes u's mapped roles those the mappings of its issuer (and
// of any issuer) give its groups, and returns what it added and removed as
// "space:role (group)".
func (s *Store) syncMapped(ctx context.Context, tx *sql.Tx, u identity.User, groups []string) (added, removed []string, err error) {
	mappings, err := queryAll(ctx, s, tx, scanMapping, "SELECT "+mappingCols+" FROM role_mappings WHERE issuer = '' OR issuer = ?", u.Issuer)
	if err != nil {
		return nil, nil, err
	}
	member := map[string]bool{}
	for _, g := range groups {
		member[g] = true
	}
	want := map[string]identity.RoleMapping{}
	for _, m := range mappings {
		if member[m.Group] {
			want[m.ID] = m
		}
	}
	principal := u.Principal()
	have, err := queryAll(ctx, s, tx, scanBinding, "SELECT principal, space_id, role, mapping_id FROM mapped_roles WHERE principal = ?", principal)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range have {
		if _, ok := want[b.MappingID]; ok {
			delete(want, b.MappingID)
			continue
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM mapped_roles WHERE principal = ? AND mapping_id = ?", principal, b.MappingID); err != nil {
			return nil, nil, err
		}
		removed = append(removed, b.SpaceID+":"+string(b.Role))
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		m := want[id]
		if _, err := s.exec(ctx, tx, "INSERT INTO mapped_roles (principal, mapping_id, space_id, role) VALUES (?, ?, ?, ?)",
			principal, m.ID, m.SpaceID, string(m.Role)); err != nil {
			return nil, nil, err
		}
		added = append(added, m.SpaceID+":"+string(m.Role)+" ("+m.Group+")")
	}
	return added, removed, nil
}

// CountMappedRootAdmins implements identity.MappingStore.
func (s *Store) CountMappedRootAdmins(ctx context.Context) (int, error) {
	n, err := s.countMappedRootAdmins(ctx, s.r)
	return n, wrapInternal(err, "count mapped root admins")
}

func (s *Store) countMappedRootAdmins(ctx context.Context, q querier) (int, error) {
	var n int
	err := s.queryRow(ctx, q, `SELECT COUNT(DISTINCT u.id) FROM mapped_roles m JOIN users u ON m.principal = 'user:' || u.id
		WHERE m.space_id = ? AND m.role = ? AND u.disabled_at IS NULL`, space.RootID, string(space.Admin)).Scan(&n)
	return n, err
}

func withRoleChanges(d map[string]any, added, removed []string) map[string]any {
	out := maps.Clone(d)
	if out == nil {
		out = map[string]any{}
	}
	if len(added) > 0 {
		out["mapped_roles_added"] = added
	}
	if len(removed) > 0 {
		out["mapped_roles_removed"] = removed
	}
	return out
}
