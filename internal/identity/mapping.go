package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/ulid"
)

// Bounds on what a role mapping and an issuer's profile may hold.
const (
	MaxGroupPathLen = 255  // GitLab's own limit on a full group path
	MaxIssuerLen    = 1024 // an issuer URL
	MaxGroups       = 1000 // groups of one user considered; more are an error
	maxProfileField = 255  // username, name, email
)

// RoleMapping gives the members of a group at an OpenID Connect issuer a
// role on a space. The roles it gives are kept apart from hand-given ones
// (space.Binding.MappingID) and recomputed from the user's groups at every
// login.
type RoleMapping struct {
	ID        string // a ULID
	Issuer    string // "" matches any issuer
	Group     string // full group path, lower case: "acme/platform"
	SpaceID   string
	Role      space.Role
	CreatedAt time.Time
	CreatedBy string
}

// MappingStore persists role mappings and the users and roles that come
// from issuers. Part of Store.
type MappingStore interface {
	// CreateRoleMapping inserts m; Conflict when (issuer, group, space)
	// is already mapped, Invalid naming "space" when the space is missing.
	CreateRoleMapping(ctx context.Context, m RoleMapping, e audit.Entry) error
	// ListRoleMappings returns every mapping, ordered by group, issuer and
	// space.
	ListRoleMappings(ctx context.Context) ([]RoleMapping, error)
	// DeleteRoleMapping removes the mapping and the roles it gave.
	DeleteRoleMapping(ctx context.Context, id string, e audit.Entry) error

	// UpsertExternalUser finds the user u.Issuer and u.Subject name, or
	// creates it from u (its ID and Username made unique), and, unless it
	// is disabled, refreshes Name and Email and replaces its mapped roles
	// with those the mappings give groups, all in one transaction. It
	// returns the stored user; a disabled user is returned unchanged, with
	// DisabledAt set and its roles untouched. e is written only when the
	// user was created or its mapped roles changed, with the roles added
	// and removed in its detail.
	UpsertExternalUser(ctx context.Context, u User, groups []string, e audit.Entry) (User, error)
	// SyncMappedRoles replaces the mapped roles of the external user
	// userID with those the mappings give groups (for a refresh between
	// logins). e is written only when they changed.
	SyncMappedRoles(ctx context.Context, userID string, groups []string, e audit.Entry) error
	// CountMappedRootAdmins counts the enabled users who are admin of
	// root through a role mapping.
	CountMappedRootAdmins(ctx context.Context) (int, error)
}

// MappingInput is a role mapping as a root admin asks for it.
type MappingInput struct {
	Issuer string
	Group  string
	Space  string
	Role   string
}

// CreateRoleMapping adds a mapping; root admins only.
func (s *Service) CreateRoleMapping(ctx context.Context, actor string, in MappingInput) (RoleMapping, error) {
	if err := s.requireRootAdmin(ctx, actor, "manage role mappings"); err != nil {
		return RoleMapping{}, err
	}
	issuer, err := ValidateIssuer("issuer", in.Issuer)
	if err != nil {
		return RoleMapping{}, err
	}
	group, err := ValidateGroupPath("group", in.Group)
	if err != nil {
		return RoleMapping{}, err
	}
	b, err := s.parseRole(ctx, "role", RoleInput{Space: in.Space, Role: in.Role})
	if err != nil {
		return RoleMapping{}, err
	}
	now := s.now().UTC()
	m := RoleMapping{ID: ulid.New(now), Issuer: issuer, Group: group, SpaceID: b.SpaceID, Role: b.Role, CreatedAt: now, CreatedBy: actor}
	e := s.entry(actor, "role_mapping.create", "role_mapping", m.ID,
		map[string]any{"issuer": issuer, "group": group, "space": m.SpaceID, "role": string(m.Role)})
	if err := s.store.CreateRoleMapping(ctx, m, e); err != nil {
		return RoleMapping{}, fmt.Errorf("create role mapping: %w", err)
	}
	return m, nil
}

// ListRoleMappings returns every mapping; root admins only.
func (s *Service) ListRoleMappings(ctx context.Context, actor string) ([]RoleMapping, error) {
	if err := s.requireRootAdmin(ctx, actor, "see role mappings"); err != nil {
		return nil, err
	}
	ms, err := s.store.ListRoleMappings(ctx)
	if err != nil {
		return nil, fmt.Errorf("list role mappings: %w", err)
	}
	return ms, nil
}

// DeleteRoleMapping removes a mapping and, at once, the roles it gave;
// root admins only.
func (s *Service) DeleteRoleMapping(ctx context.Context, actor, id string) error {
	if err := s.requireRootAdmin(ctx, actor, "manage role mappings"); err != nil {
		return err
	}
	if err := s.store.DeleteRoleMapping(ctx, id, s.entry(actor, "role_mapping.delete", "role_mapping", id, nil)); err != nil {
		return fmt.Errorf("delete role mapping %s: %w", id, err)
	}
	return nil
}

// ValidateIssuer accepts "" (any issuer) or an issuer URL
// (ValidateIssuerURL).
func ValidateIssuer(field, issuer string) (string, error) {
	issuer = strings.TrimSpace(issuer)
	if issuer == "" {
		return "", nil
	}
	if err := ValidateIssuerURL(issuer); err != nil {
		return "", apperr.InvalidField(field, "%s (or empty for any issuer)", err.Error())
	}
	return issuer, nil
}

// ValidateIssuerURL checks an OpenID Connect issuer URL: https without
// user, query or fragment, as the specification requires — or http on a
// loopback host, where no one can listen in (tests, the demo's simulator).
func ValidateIssuerURL(issuer string) error {
	if len(issuer) > MaxIssuerLen {
		return fmt.Errorf("must be at most %d bytes", MaxIssuerLen)
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return fmt.Errorf("must be an https URL without user, query or fragment (http only on a loopback host), not %q", issuer)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidateGroupPath checks a full group path such as "acme/platform" and
// returns it in lower case: segments of letters, digits, '_', '-' and '.'
// separated by single slashes, at most MaxGroupPathLen bytes.
func ValidateGroupPath(field, group string) (string, error) {
	group = strings.TrimSpace(group)
	switch {
	case group == "":
		return "", apperr.InvalidField(field, "is required")
	case len(group) > MaxGroupPathLen:
		return "", apperr.InvalidField(field, "must be at most %d bytes", MaxGroupPathLen)
	}
	for seg := range strings.SplitSeq(group, "/") {
		if seg == "" {
			return "", apperr.InvalidField(field, "%q has an empty segment: write a path like acme/platform", group)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
				return "", apperr.InvalidField(field, "%q may hold only letters, digits, '_', '-', '.' and '/'", group)
			}
		}
	}
	return strings.ToLower(group), nil
}

// ExternalProfile is what an issuer says about a user at login.
type ExternalProfile struct {
	Username string // GitLab's nickname / preferred_username
	Name     string
	Email    string
	Groups   []string // full group paths
}

// errNoSubject refuses an identity without issuer or subject (or with
// oversized ones).
var errNoSubject = apperr.Errorf(apperr.Invalid, "an external identity needs an issuer and a subject")

// UpsertExternalUser is the identity side of an OpenID Connect login: the
// user issuer and subject name is created on first login and its name and
// email refreshed; its mapped roles are recomputed from profile.Groups in
// the same transaction (hand-given roles are never touched). A disabled
// user is refused with a *LoginError of ReasonDisabled, nothing changed.
// The caller has verified the issuer's tokens; no actor check here.
func (s *Service) UpsertExternalUser(ctx context.Context, issuer, subject string, p ExternalProfile) (User, error) {
	if issuer == "" || subject == "" || len(issuer) > MaxIssuerLen || len(subject) > maxProfileField {
		return User{}, errNoSubject
	}
	groups, err := normalizeGroups(p.Groups)
	if err != nil {
		return User{}, err
	}
	// The username comes from the profile; the store appends "-2", "-3"…
	// to it (and to the id, its slug) when a user, local or not, holds it,
	// and follows a rename at the issuer while the new name is free. ""
	// (no usable name) creates "user", "user-2"… and renames nothing.
	username := clip(strings.TrimSpace(p.Username))
	if _, err := space.ValidateName("username", username); err != nil {
		username = ""
	}
	u := User{Username: username, Issuer: issuer, Subject: subject, Name: clip(p.Name), Email: clip(p.Email), CreatedAt: s.now().UTC()}
	e := s.entry(BootstrapActorExternal, "user.sync_roles", "user", "", map[string]any{"issuer": issuer, "subject": subject})
	got, err := s.store.UpsertExternalUser(ctx, u, groups, e)
	if err != nil {
		return User{}, fmt.Errorf("upsert external user %s at %s: %w", subject, issuer, err)
	}
	if got.DisabledAt != nil {
		return User{}, &LoginError{Reason: ReasonDisabled}
	}
	return got, nil
}

// BootstrapActorExternal is the audit actor of changes an issuer's login
// or refresh makes.
const BootstrapActorExternal = "oidc"

// SyncMappedRoles recomputes the mapped roles of an external user from
// groups the issuer gave later (a refresh between logins).
func (s *Service) SyncMappedRoles(ctx context.Context, userID string, groups []string) error {
	gs, err := normalizeGroups(groups)
	if err != nil {
		return err
	}
	e := s.entry(BootstrapActorExternal, "user.sync_roles", "user", userID, nil)
	if err := s.store.SyncMappedRoles(ctx, userID, gs, e); err != nil {
		return fmt.Errorf("sync mapped roles of %s: %w", userID, err)
	}
	return nil
}

// MappedRootAdmins counts the enabled users who hold root admin through a
// role mapping: the server's check before it switches password logins off.
func (s *Service) MappedRootAdmins(ctx context.Context) (int, error) {
	n, err := s.store.CountMappedRootAdmins(ctx)
	if err != nil {
		return 0, fmt.Errorf("count mapped root admins: %w", err)
	}
	return n, nil
}

// normalizeGroups lower-cases the groups an issuer gave, dropping any that
// is not a group path (no mapping could name it); too many is an error.
func normalizeGroups(in []string) ([]string, error) {
	if len(in) > MaxGroups {
		return nil, apperr.Errorf(apperr.Invalid, "the issuer gave %d groups, more than the %d Hoist considers", len(in), MaxGroups)
	}
	out := make([]string, 0, len(in))
	for _, g := range in {
		if n, err := ValidateGroupPath("groups", g); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// clip bounds a profile field from an issuer.
func clip(s string) string {
	if len(s) <= maxProfileField {
		return s
	}
	return strings.ToValidUTF8(s[:maxProfileField], "")
}

// IsExternalDisabled reports whether err is UpsertExternalUser refusing a
// disabled user.
func IsExternalDisabled(err error) bool {
	var le *LoginError
	return errors.As(err, &le) && le.Reason == ReasonDisabled
}
