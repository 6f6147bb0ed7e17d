package vcsagent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
)

// AccessResolver resolves a principal's roles over the space tree
// (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// User is an integration that names a pool in one of its hosts.
type User struct {
	Integration string
	SpaceID     string
}

// UsersFunc returns the integrations whose hosts name pool (the
// composition root adapts the integration store; this package cannot
// import it).
type UsersFunc func(ctx context.Context, pool string) ([]User, error)

// AgentInfo is one connected agent process as the server sees it.
type AgentInfo struct {
	ID          string // random per agent process
	Name        string // host name the agent reported
	Streams     int    // open streams (at most its --parallelism)
	Busy        int    // streams carrying a request now
	ConnectedAt time.Time
}

// Agents is the connected agents (tunnel.Cluster implements it): those of
// every live server process on the database, merged by agent.
type Agents interface {
	Connected(ctx context.Context, pool string) []AgentInfo
	// Disconnect closes the streams of pool that did not authenticate with
	// keepTokenHash ("" closes them all).
	Disconnect(pool, keepTokenHash string)
}

// Config wires a Service.
type Config struct {
	Store  Store
	Access AccessResolver
	Agents Agents
	// UsersFunc lists the integrations naming a pool, so that a pool is
	// never created or moved where it would serve integrations outside its
	// space. nil: no integration names any pool.
	UsersFunc UsersFunc
	Clock     func() time.Time
	Logger    *slog.Logger
}

// Service is the business operations on pools, under the rules of
// visibility.go: a pool belongs to a space; its readers list it, its admins
// see its agents and manage it.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, now: func() time.Time { return now().UTC() }, log: log}
}

// View is a pool as one caller sees it.
type View struct {
	Pool
	Connected int         // agents of the pool connected to any live server process
	Agents    []AgentInfo // nil unless the caller may see details (CanSeeDetails)
}

// WithToken is a pool with its token, answered only at creation and
// rotation.
type WithToken struct {
	View
	Token string
}

// CreateInput is a new pool.
type CreateInput struct {
	Name        string
	Space       string // "" is root
	Description string
}

// Create makes a pool in a space the caller administers and mints its
// token.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (WithToken, error) {
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return WithToken{}, err
	}
	if err := validateDescription(in.Description); err != nil {
		return WithToken{}, err
	}
	now := s.now()
	p := Pool{ID: slug.Make(name), Name: name, SpaceID: strings.TrimSpace(in.Space), Description: in.Description,
		CreatedAt: now, RotatedAt: now, CreatedBy: actor}
	if p.SpaceID == "" {
		p.SpaceID = space.RootID
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return WithToken{}, err
	}
	if err := checkPlacement(p.SpaceID, access, tree); err != nil {
		return WithToken{}, err
	}
	if err := s.checkUsers(ctx, tree, p); err != nil {
		return WithToken{}, err
	}
	token := NewToken(p.ID)
	p.TokenHash = secret.HashAPIKey(token)
	if err := s.cfg.Store.CreateAgentPool(ctx, p, s.entry(actor, "vcs_agent_pool.create", p, nil)); err != nil {
		return WithToken{}, fmt.Errorf("create VCS agent pool %s: %w", p.ID, err)
	}
	s.log.InfoContext(ctx, "vcs agent pool created", "pool_id", p.ID, "space_id", p.SpaceID, "actor", actor)
	return WithToken{View: s.view(ctx, p, true), Token: token}, nil
}

func validateDescription(d string) error {
	if len(d) > space.MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d KiB", space.MaxDescriptionBytes>>10)
	}
	return nil
}

// checkPlacement refuses spaces the caller cannot see (as if they did not
// exist) and spaces it does not administer.
func checkPlacement(spaceID string, access space.Access, tree space.Tree) error {
	if _, ok := tree.Get(spaceID); !ok || access.Role(spaceID) == space.None {
		return apperr.InvalidField("space", "no space %q", spaceID)
	}
	if !CanCreate(spaceID, access) {
		return apperr.Errorf(apperr.Forbidden, "VCS agent pools in space %q need admin on that space", spaceID)
	}
	return nil
}

// checkUsers refuses to put p where integrations that already name it
// could not use it. Such integrations exist when a pool was deleted and is
// created again, or is moved: without this check, whoever runs the new
// pool's agents would receive those integrations' GitLab tokens. They are
// counted, not named: the caller may not see them.
func (s *Service) checkUsers(ctx context.Context, tree space.Tree, p Pool) error {
	if s.cfg.UsersFunc == nil {
		return nil
	}
	users, err := s.cfg.UsersFunc(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("integrations naming VCS agent pool %s: %w", p.ID, err)
	}
	outside := 0
	for _, u := range users {
		if !UsableBy(tree, p, u.SpaceID) {
			outside++
		}
	}
	if outside > 0 {
		return apperr.Errorf(apperr.Conflict, "%d integration(s) outside space %q name private://%s; a pool serves only "+
			"integrations in its own space and below: put it in a space above them, or change them first", outside, p.SpaceID, p.ID)
	}
	return nil
}

// List pages, by id, the pools the caller may list; agents are in the
// views the caller may see details of.
func (s *Service) List(ctx context.Context, actor, cursor string, limit int) ([]View, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	pools, next, err := s.cfg.Store.ListAgentPools(ctx, ListFilter(access), cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list VCS agent pools: %w", err)
	}
	out := make([]View, 0, len(pools))
	for _, p := range pools {
		if CanList(p, access) { // the filter already holds; this keeps the rule in one place
			out = append(out, s.view(ctx, p, CanSeeDetails(p, access)))
		}
	}
	return out, next, nil
}

// Get returns one pool, with its agents to those who may see them.
// Principals who may not list it get NotFound, so pool names do not leak.
func (s *Service) Get(ctx context.Context, actor, id string) (View, error) {
	p, access, _, err := s.load(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, p, CanSeeDetails(p, access)), nil
}

// load returns the pool and the caller's access, as NotFound when the
// caller may not even list it.
func (s *Service) load(ctx context.Context, actor, id string) (Pool, space.Access, space.Tree, error) {
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Pool{}, space.Access{}, space.Tree{}, err
	}
	p, err := s.cfg.Store.GetAgentPool(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !CanList(p, access)) {
		return Pool{}, space.Access{}, space.Tree{}, apperr.Errorf(apperr.NotFound, "no VCS agent pool %q", id)
	}
	if err != nil {
		return Pool{}, space.Access{}, space.Tree{}, fmt.Errorf("load VCS agent pool %s: %w", id, err)
	}
	return p, access, tree, nil
}

// loadForChange is load plus CanChange (Forbidden: the caller sees the
// pool exists).
func (s *Service) loadForChange(ctx context.Context, actor, id string) (Pool, space.Access, space.Tree, error) {
	p, access, tree, err := s.load(ctx, actor, id)
	if err == nil && !CanChange(p, access) {
		err = apperr.Errorf(apperr.Forbidden, "VCS agent pool %q: its agents, token and changes need admin on space %q", p.ID, p.SpaceID)
	}
	return p, access, tree, err
}

// Patch holds the fields an update changes; nil leaves a field alone. The
// name is immutable: integrations name the pool's id.
type Patch struct {
	Space       *string
	Description *string
}

// Update changes a pool's description or moves it to another space; moving
// needs admin on both spaces (like moving a stack) and is refused while
// integrations that name the pool would be left outside its new space.
func (s *Service) Update(ctx context.Context, actor, id string, patch Patch) (View, error) {
	p, access, tree, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	next := p
	var fields []string
	if patch.Description != nil && *patch.Description != p.Description {
		if err := validateDescription(*patch.Description); err != nil {
			return View{}, err
		}
		next.Description, fields = *patch.Description, append(fields, "description")
	}
	if sp := strings.TrimSpace(deref(patch.Space)); sp != "" && sp != p.SpaceID {
		if err := checkPlacement(sp, access, tree); err != nil {
			return View{}, err
		}
		next.SpaceID, fields = sp, append(fields, "space")
		if err := s.checkUsers(ctx, tree, next); err != nil {
			return View{}, err
		}
	}
	if len(fields) == 0 {
		return s.view(ctx, p, true), nil
	}
	detail := map[string]any{"fields": fields}
	if next.SpaceID != p.SpaceID {
		detail["from_space"] = p.SpaceID
	}
	if err := s.cfg.Store.UpdateAgentPool(ctx, next, s.entry(actor, "vcs_agent_pool.update", next, detail)); err != nil {
		return View{}, fmt.Errorf("update VCS agent pool %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "vcs agent pool updated", "pool_id", id, "space_id", next.SpaceID, "actor", actor, "fields", fields)
	return s.view(ctx, next, true), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RotateToken mints a new token; agents connected with the old one are
// disconnected at once and cannot reconnect with it.
func (s *Service) RotateToken(ctx context.Context, actor, id string) (WithToken, error) {
	p, _, _, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return WithToken{}, err
	}
	token := NewToken(p.ID)
	p.TokenHash, p.RotatedAt = secret.HashAPIKey(token), s.now()
	if err := s.cfg.Store.SetAgentPoolToken(ctx, p.ID, p.TokenHash, p.RotatedAt, s.entry(actor, "vcs_agent_pool.rotate_token", p, nil)); err != nil {
		return WithToken{}, fmt.Errorf("rotate token of VCS agent pool %s: %w", p.ID, err)
	}
	s.disconnect(p.ID, p.TokenHash)
	s.log.InfoContext(ctx, "vcs agent pool token rotated", "pool_id", p.ID, "actor", actor)
	return WithToken{View: s.view(ctx, p, true), Token: token}, nil
}

// Delete removes a pool and disconnects its agents. Integrations naming it
// fail with "no VCS agent connected" until it is created again (in their
// space or above: see checkUsers).
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	p, _, _, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteAgentPool(ctx, id, s.entry(actor, "vcs_agent_pool.delete", p, nil)); err != nil {
		return fmt.Errorf("delete VCS agent pool %s: %w", id, err)
	}
	s.disconnect(id, "")
	s.log.InfoContext(ctx, "vcs agent pool deleted", "pool_id", id, "actor", actor)
	return nil
}

// Authenticate resolves a pool token to its pool and the token's hash (the
// registry keeps it to disconnect the stream when the token is rotated).
// Every failure is the same Unauthorized error.
func (s *Service) Authenticate(ctx context.Context, token string) (Pool, error) {
	denied := apperr.Errorf(apperr.Unauthorized, "invalid VCS agent pool token")
	id, ok := ParseToken(token)
	if !ok {
		return Pool{}, denied
	}
	p, err := s.cfg.Store.GetAgentPool(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return Pool{}, denied
	}
	if err != nil {
		return Pool{}, fmt.Errorf("load VCS agent pool %s: %w", id, err)
	}
	if !secret.CheckAPIKey(token, p.TokenHash) {
		return Pool{}, denied
	}
	return p, nil
}

// view is p with its connected agents counted, and listed when details
// is true.
func (s *Service) view(ctx context.Context, p Pool, details bool) View {
	var agents []AgentInfo
	if s.cfg.Agents != nil {
		agents = s.cfg.Agents.Connected(ctx, p.ID)
	}
	v := View{Pool: p, Connected: len(agents)}
	if details {
		v.Agents = append([]AgentInfo{}, agents...)
	}
	return v
}

func (s *Service) disconnect(pool, keep string) {
	if s.cfg.Agents != nil {
		s.cfg.Agents.Disconnect(pool, keep)
	}
}

func (s *Service) entry(actor, action string, p Pool, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "vcs_agent_pool", ResourceID: p.ID,
		SpaceID: p.SpaceID, Detail: detail}
}
