package vcsagent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
)

// RootAdmins answers whether a principal is a root admin (identity.Service
// implements it).
type RootAdmins interface {
	IsRootAdmin(ctx context.Context, principal string) (bool, error)
}

// AgentInfo is one connected agent process as the server sees it.
type AgentInfo struct {
	ID          string // random per agent process
	Name        string // host name the agent reported
	Streams     int    // open streams (at most its --parallelism)
	Busy        int    // streams carrying a request now
	ConnectedAt time.Time
}

// Agents is the registry of connected agents (tunnel.Registry implements
// it). It is per server process.
type Agents interface {
	Connected(pool string) []AgentInfo
	// Disconnect closes the streams of pool that did not authenticate with
	// keepTokenHash ("" closes them all).
	Disconnect(pool, keepTokenHash string)
}

// Config wires a Service.
type Config struct {
	Store  Store
	Admins RootAdmins
	Agents Agents
	Clock  func() time.Time
	Logger *slog.Logger
}

// Service is the business operations on pools: root admins manage them;
// every authenticated principal may list them (integrations name them).
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

// View is a pool with its connected agents.
type View struct {
	Pool
	Agents []AgentInfo
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
	Description string
}

// Create makes a pool and mints its token.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (WithToken, error) {
	if err := s.requireRootAdmin(ctx, actor, "create VCS agent pools"); err != nil {
		return WithToken{}, err
	}
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return WithToken{}, err
	}
	if len(in.Description) > space.MaxDescriptionBytes {
		return WithToken{}, apperr.InvalidField("description", "must be at most %d KiB", space.MaxDescriptionBytes>>10)
	}
	now := s.now()
	p := Pool{ID: slug.Make(name), Name: name, Description: in.Description, CreatedAt: now, RotatedAt: now, CreatedBy: actor}
	token := NewToken(p.ID)
	p.TokenHash = secret.HashAPIKey(token)
	if err := s.cfg.Store.CreateAgentPool(ctx, p, s.entry(actor, "vcs_agent_pool.create", p.ID)); err != nil {
		return WithToken{}, fmt.Errorf("create VCS agent pool %s: %w", p.ID, err)
	}
	s.log.InfoContext(ctx, "vcs agent pool created", "pool_id", p.ID, "actor", actor)
	return WithToken{View: View{Pool: p, Agents: []AgentInfo{}}, Token: token}, nil
}

// List pages pools by id.
func (s *Service) List(ctx context.Context, cursor string, limit int) ([]View, string, error) {
	pools, next, err := s.cfg.Store.ListAgentPools(ctx, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list VCS agent pools: %w", err)
	}
	out := make([]View, 0, len(pools))
	for _, p := range pools {
		out = append(out, s.view(p))
	}
	return out, next, nil
}

// Get returns one pool with its connected agents.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	p, err := s.cfg.Store.GetAgentPool(ctx, id)
	if err != nil {
		return View{}, err
	}
	return s.view(p), nil
}

// RotateToken mints a new token; agents connected with the old one are
// disconnected at once and cannot reconnect with it.
func (s *Service) RotateToken(ctx context.Context, actor, id string) (WithToken, error) {
	if err := s.requireRootAdmin(ctx, actor, "rotate VCS agent pool tokens"); err != nil {
		return WithToken{}, err
	}
	p, err := s.cfg.Store.GetAgentPool(ctx, id)
	if err != nil {
		return WithToken{}, err
	}
	token := NewToken(p.ID)
	p.TokenHash, p.RotatedAt = secret.HashAPIKey(token), s.now()
	if err := s.cfg.Store.SetAgentPoolToken(ctx, p.ID, p.TokenHash, p.RotatedAt, s.entry(actor, "vcs_agent_pool.rotate_token", p.ID)); err != nil {
		return WithToken{}, fmt.Errorf("rotate token of VCS agent pool %s: %w", p.ID, err)
	}
	s.disconnect(p.ID, p.TokenHash)
	s.log.InfoContext(ctx, "vcs agent pool token rotated", "pool_id", p.ID, "actor", actor)
	return WithToken{View: s.view(p), Token: token}, nil
}

// Delete removes a pool and disconnects its agents. Integrations naming it
// fail with "no VCS agent connected" until it is created again.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	if err := s.requireRootAdmin(ctx, actor, "delete VCS agent pools"); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteAgentPool(ctx, id, s.entry(actor, "vcs_agent_pool.delete", id)); err != nil {
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

func (s *Service) view(p Pool) View {
	agents := []AgentInfo{}
	if s.cfg.Agents != nil {
		agents = append(agents, s.cfg.Agents.Connected(p.ID)...)
	}
	return View{Pool: p, Agents: agents}
}

func (s *Service) disconnect(pool, keep string) {
	if s.cfg.Agents != nil {
		s.cfg.Agents.Disconnect(pool, keep)
	}
}

func (s *Service) requireRootAdmin(ctx context.Context, actor, what string) error {
	ok, err := s.cfg.Admins.IsRootAdmin(ctx, actor)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Errorf(apperr.Forbidden, "only root admins may %s", what)
	}
	return nil
}

func (s *Service) entry(actor, action, id string) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "vcs_agent_pool", ResourceID: id, SpaceID: space.RootID}
}
