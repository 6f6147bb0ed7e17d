package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of the Go and control APIs; returned errors wrap them.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

var pathRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// UserOptions creates a user. Name and Email default from Username.
type UserOptions struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Admin    bool   `json:"admin"`
	Bot      bool   `json:"bot"`
}

// CreateUser creates a user.
func (s *Server) CreateUser(ctx context.Context, o UserOptions) (User, error) {
	if !pathRe.MatchString(o.Username) {
		return User{}, fmt.Errorf("username %q: %w", o.Username, ErrInvalid)
	}
	if o.Name == "" {
		o.Name = o.Username
	}
	if o.Email == "" {
		o.Email = o.Username + "@example.com"
	}
	var u User
	err := s.mutate(func(st *state) error {
		if st.userByName(o.Username) != nil {
			return fmt.Errorf("user %q: %w", o.Username, ErrConflict)
		}
		u = User{ID: st.nextID("user"), Username: o.Username, Name: o.Name, Email: o.Email, Admin: o.Admin, Bot: o.Bot, CreatedAt: s.now()}
		st.Users = append(st.Users, &u)
		return nil
	})
	return u, err
}

// User returns a user by ID.
func (s *Server) User(id int) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.userByID(id); u != nil {
		return *u, nil
	}
	return User{}, fmt.Errorf("user %d: %w", id, ErrNotFound)
}

// UserByUsername returns a user by username.
func (s *Server) UserByUsername(username string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.userByName(username); u != nil {
		return *u, nil
	}
	return User{}, fmt.Errorf("user %q: %w", username, ErrNotFound)
}

// TokenOptions creates a token. A personal token belongs to UserID. A
// project (group) token creates a bot user that is a member of Project
// (Group) with AccessLevel (default Maintainer).
type TokenOptions struct {
	UserID      int        `json:"user_id"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`     // default ["api"]
	ExpiresAt   *time.Time `json:"expires_at"` // a date; nil never expires
	Revoked     bool       `json:"revoked"`
	Kind        string     `json:"kind"` // personal (default), project, group
	Project     string     `json:"project"`
	Group       string     `json:"group"`
	AccessLevel int        `json:"access_level"`
}

var knownScopes = []string{"api", "read_api", "read_user", "read_repository", "write_repository", "sudo", "admin_mode", "create_runner", "manage_runner", "ai_features", "k8s_proxy", "read_registry", "write_registry", "self_rotate"}

// CreateToken creates an access token; Token.Value is the secret.
func (s *Server) CreateToken(ctx context.Context, o TokenOptions) (Token, error) {
	if o.Kind == "" {
		o.Kind = TokenPersonal
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"api"}
	}
	for _, sc := range o.Scopes {
		if !slices.Contains(knownScopes, sc) {
			return Token{}, fmt.Errorf("scope %q: %w", sc, ErrInvalid)
		}
	}
	if o.Name == "" {
		o.Name = "token"
	}
	if o.AccessLevel == 0 {
		o.AccessLevel = Maintainer
	}
	var t Token
	err := s.mutate(func(st *state) error {
		now := s.now()
		t = Token{ID: st.nextID("token"), Name: o.Name, Kind: o.Kind, Scopes: slices.Clone(o.Scopes), Revoked: o.Revoked, CreatedAt: now}
		if o.ExpiresAt != nil {
			d := o.ExpiresAt.UTC().Truncate(24 * time.Hour)
			t.ExpiresAt = &d
		}
		switch o.Kind {
		case TokenPersonal:
			if st.userByID(o.UserID) == nil {
				return fmt.Errorf("user %d: %w", o.UserID, ErrNotFound)
			}
			t.UserID = o.UserID
			t.Value = "glpat-" + randomHex(10)
		case TokenProject, TokenGroup:
			var botName string
			if o.Kind == TokenProject {
				p, err := st.projectByRef(o.Project)
				if err != nil {
					return err
				}
				t.ProjectID, botName = p.ID, fmt.Sprintf("project_%d_bot_%s", p.ID, randomHex(4))
			} else {
				g := st.groupByPath(o.Group)
				if g == nil {
					return fmt.Errorf("group %q: %w", o.Group, ErrNotFound)
				}
				t.GroupID, botName = g.ID, fmt.Sprintf("group_%d_bot_%s", g.ID, randomHex(4))
			}
			bot := &User{ID: st.nextID("user"), Username: botName, Name: o.Name, Email: botName + "@noreply.example.com", Bot: true, CreatedAt: now}
			st.Users = append(st.Users, bot)
			kind, src := "project", t.ProjectID
			if o.Kind == TokenGroup {
				kind, src = "group", t.GroupID
			}
			st.Members = append(st.Members, &Member{SourceKind: kind, SourceID: src, UserID: bot.ID, AccessLevel: o.AccessLevel, CreatedAt: now})
			t.UserID, t.AccessLevel = bot.ID, o.AccessLevel
			t.Value = "glpat-" + randomHex(10)
		default:
			return fmt.Errorf("token kind %q: %w", o.Kind, ErrInvalid)
		}
		st.Tokens = append(st.Tokens, &t)
		s.tokenByValue[t.Value] = &t
		return nil
	})
	return t, err
}

// RevokeToken revokes a token by ID.
func (s *Server) RevokeToken(ctx context.Context, id int) error {
	return s.mutate(func(st *state) error {
		for _, t := range st.Tokens {
			if t.ID == id {
				t.Revoked = true
				return nil
			}
		}
		return fmt.Errorf("token %d: %w", id, ErrNotFound)
	})
}

// Group creates the group at fullPath ("a/b/c") and any missing parents.
func (s *Server) CreateGroup(ctx context.Context, fullPath string) (Group, error) {
	var g Group
	err := s.mutate(func(st *state) error {
		p, err := st.ensureGroup(fullPath, s.now())
		if err != nil {
			return err
		}
		g = *p
		return nil
	})
	return g, err
}

func (st *state) ensureGroup(fullPath string, now time.Time) (*Group, error) {
	fullPath = strings.Trim(fullPath, "/")
	if fullPath == "" {
		return nil, fmt.Errorf("empty group path: %w", ErrInvalid)
	}
	var parent *Group
	segs := strings.Split(fullPath, "/")
	for i, seg := range segs {
		if !pathRe.MatchString(seg) {
			return nil, fmt.Errorf("group path %q: %w", fullPath, ErrInvalid)
		}
		full := strings.Join(segs[:i+1], "/")
		g := st.groupByPath(full)
		if g == nil {
			if i == 0 && st.userByName(seg) != nil {
				return nil, fmt.Errorf("namespace %q is a user: %w", seg, ErrConflict)
			}
			g = &Group{ID: st.nextID("namespace"), Name: seg, Path: seg, FullPath: full, CreatedAt: now}
			if parent != nil {
				g.ParentID = parent.ID
			}
			st.Groups = append(st.Groups, g)
		}
		parent = g
	}
	return parent, nil
}

// MemberOptions adds a user to a project or a group (exactly one of them).
type MemberOptions struct {
	Project     string `json:"project"`
	Group       string `json:"group"`
	UserID      int    `json:"user_id"`
	AccessLevel int    `json:"access_level"`
}

// AddMember adds (or changes) a direct membership. Group members inherit
// their access on every project and subgroup below the group.
func (s *Server) AddMember(ctx context.Context, o MemberOptions) error {
	if !slices.Contains([]int{5, Guest, 15, Reporter, Developer, Maintainer, Owner}, o.AccessLevel) {
		return fmt.Errorf("access level %d: %w", o.AccessLevel, ErrInvalid)
	}
	return s.mutate(func(st *state) error {
		if st.userByID(o.UserID) == nil {
			return fmt.Errorf("user %d: %w", o.UserID, ErrNotFound)
		}
		kind, id, err := st.memberSource(o)
		if err != nil {
			return err
		}
		m := Member{SourceKind: kind, SourceID: id, UserID: o.UserID, AccessLevel: o.AccessLevel, CreatedAt: s.now()}
		for _, old := range st.Members {
			if old.SourceKind == m.SourceKind && old.SourceID == m.SourceID && old.UserID == m.UserID {
				old.AccessLevel = m.AccessLevel
				return nil
			}
		}
		st.Members = append(st.Members, &m)
		return nil
	})
}

// RemoveMember removes a direct membership of o.UserID in o.Project or
// o.Group (AccessLevel is ignored). Tokens are untouched; what the user may
// do, and the OpenID Connect groups claims, follow at once.
func (s *Server) RemoveMember(ctx context.Context, o MemberOptions) error {
	return s.mutate(func(st *state) error {
		kind, id, err := st.memberSource(o)
		if err != nil {
			return err
		}
		n := len(st.Members)
		st.Members = slices.DeleteFunc(st.Members, func(m *Member) bool {
			return m.SourceKind == kind && m.SourceID == id && m.UserID == o.UserID
		})
		if len(st.Members) == n {
			return fmt.Errorf("user %d is no direct member of %s %q: %w", o.UserID, kind, o.Project+o.Group, ErrNotFound)
		}
		return nil
	})
}

// GroupMember is a direct member of a group, with the user's name.
type GroupMember struct {
	UserID      int    `json:"user_id"`
	Username    string `json:"username"`
	AccessLevel int    `json:"access_level"`
}

// GroupMembers lists a group's direct members, by user ID.
func (s *Server) GroupMembers(group string) ([]GroupMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.groupByPath(group)
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", group, ErrNotFound)
	}
	out := []GroupMember{}
	for _, m := range s.st.Members {
		if m.SourceKind == "group" && m.SourceID == g.ID {
			gm := GroupMember{UserID: m.UserID, AccessLevel: m.AccessLevel}
			if u := s.st.userByID(m.UserID); u != nil {
				gm.Username = u.Username
			}
			out = append(out, gm)
		}
	}
	slices.SortFunc(out, func(a, b GroupMember) int { return a.UserID - b.UserID })
	return out, nil
}

// memberSource resolves exactly one of o.Project and o.Group.
func (st *state) memberSource(o MemberOptions) (kind string, id int, err error) {
	switch {
	case o.Project != "" && o.Group == "":
		p, err := st.projectByRef(o.Project)
		if err != nil {
			return "", 0, err
		}
		return "project", p.ID, nil
	case o.Group != "" && o.Project == "":
		g := st.groupByPath(o.Group)
		if g == nil {
			return "", 0, fmt.Errorf("group %q: %w", o.Group, ErrNotFound)
		}
		return "group", g.ID, nil
	}
	return "", 0, fmt.Errorf("member needs exactly one of project and group: %w", ErrInvalid)
}

func (st *state) userByID(id int) *User {
	for _, u := range st.Users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (st *state) userByName(name string) *User {
	for _, u := range st.Users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

func (st *state) groupByPath(full string) *Group {
	full = strings.Trim(full, "/")
	for _, g := range st.Groups {
		if strings.EqualFold(g.FullPath, full) {
			return g
		}
	}
	return nil
}

func (st *state) groupByID(id int) *Group {
	for _, g := range st.Groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// projectByRef finds a project by numeric ID or path_with_namespace.
func (st *state) projectByRef(ref string) (*Project, error) {
	if id, err := strconv.Atoi(ref); err == nil {
		if p := st.projectByID(id); p != nil {
			return p, nil
		}
	} else {
		for _, p := range st.Projects {
			if strings.EqualFold(p.PathWithNamespace, strings.Trim(ref, "/")) {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("project %q: %w", ref, ErrNotFound)
}

func (st *state) projectByID(id int) *Project {
	for _, p := range st.Projects {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// groupChain returns the IDs of the project's group and its ancestors.
func (st *state) groupChain(p *Project) []int {
	if p.NamespaceKind != "group" {
		return nil
	}
	var ids []int
	for g := st.groupByID(p.NamespaceID); g != nil; g = st.groupByID(g.ParentID) {
		ids = append(ids, g.ID)
		if g.ParentID == 0 {
			break
		}
	}
	return ids
}

// accessLevel is the user's effective access to the project: the highest of
// the direct membership, memberships of any ancestor group, and ownership
// of a personal namespace. Administrators count as Owner.
func (st *state) accessLevel(u *User, p *Project) int {
	if u == nil {
		return NoAccess
	}
	if u.Admin {
		return Owner
	}
	level := NoAccess
	if p.NamespaceKind == "user" && p.NamespaceID == u.ID {
		level = Owner
	}
	groups := st.groupChain(p)
	for _, m := range st.Members {
		if m.UserID != u.ID {
			continue
		}
		if (m.SourceKind == "project" && m.SourceID == p.ID) || (m.SourceKind == "group" && slices.Contains(groups, m.SourceID)) {
			level = max(level, m.AccessLevel)
		}
	}
	return level
}

// canSee reports whether u may see p at all: members, admins, and anyone
// signed in for internal or public projects.
func (st *state) canSee(u *User, p *Project) bool {
	return p.Visibility == "public" || (u != nil && p.Visibility == "internal") || st.accessLevel(u, p) >= Guest
}
