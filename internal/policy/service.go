package policy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// AccessResolver resolves a principal's roles over the space tree
// (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// StackStore is what the Service reads of stacks (stack.Store implements
// it).
type StackStore interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
}

// SpaceStore reads the space tree for autoattachment in webhook processing
// and runs, where there is no principal (space.Store implements it).
type SpaceStore interface {
	ListSpaces(ctx context.Context) ([]space.Space, error)
}

// RunStore reads runs (run.Store implements it).
type RunStore interface {
	GetRun(ctx context.Context, id string) (run.Run, error)
}

// Config wires a Service.
type Config struct {
	Store  Store
	Stacks StackStore
	Spaces SpaceStore
	Access AccessResolver
	Runs   RunStore
	Engine *Engine
	// GitLab reads merge request approvals for approval policies; nil: they
	// see none.
	GitLab GitLabApprovals
	Clock  func() time.Time
	Logger *slog.Logger
}

// Service is the business operations on policies and their evaluation.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// NewService returns a Service; a nil Engine gets one with the default
// timeout.
func NewService(cfg Config) *Service {
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Engine == nil {
		cfg.Engine = NewEngine(Limits{})
	}
	return &Service{cfg: cfg, now: func() time.Time { return now().UTC() }, log: cfg.Logger}
}

// CreateInput is a new policy as a caller asks for it.
type CreateInput struct {
	Name        string
	Type        string
	Space       string
	Labels      []string
	Description string
	Body        string
}

// Create validates and compiles in and stores the policy with its audit
// entry, for admins of its space.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (Policy, error) {
	typ, err := ParseType(in.Type)
	if err != nil {
		return Policy{}, err
	}
	p := Policy{Name: in.Name, Type: typ, SpaceID: strings.TrimSpace(in.Space), Labels: in.Labels,
		Description: in.Description, Body: in.Body, Version: 1}
	if err := validate(&p); err != nil {
		return Policy{}, err
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Policy{}, err
	}
	if err := checkPlacement(p.SpaceID, access, tree); err != nil {
		return Policy{}, err
	}
	if err := s.checkBody(ctx, p.Body); err != nil {
		return Policy{}, err
	}
	p.ID = slug.Make(p.Name)
	p.CreatedAt, p.UpdatedAt, p.CreatedBy = s.now(), s.now(), actor
	if err := s.cfg.Store.CreatePolicy(ctx, p, s.entry(actor, "policy.create", p, map[string]any{"type": p.Type, "version": p.Version})); err != nil {
		return Policy{}, fmt.Errorf("create policy %s: %w", p.ID, err)
	}
	s.log.InfoContext(ctx, "policy created", "policy_id", p.ID, "actor", actor, "space_id", p.SpaceID, "type", string(p.Type))
	return p, nil
}

func checkPlacement(spaceID string, access space.Access, tree space.Tree) error {
	if spaceID == "" {
		return apperr.InvalidField("space", "is required")
	}
	if _, ok := tree.Get(spaceID); !ok || access.Role(spaceID) == space.None {
		return apperr.InvalidField("space", "no space %q", spaceID)
	}
	if !CanManage(spaceID, access) {
		return apperr.Errorf(apperr.Forbidden, "creating, changing and attaching policies of space %q needs admin on that space", spaceID)
	}
	return nil
}

func (s *Service) entry(actor, action string, p Policy, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "policy",
		ResourceID: p.ID, SpaceID: p.SpaceID, Detail: detail}
}

// List pages the policies the caller may read, ordered by id; typ, when
// set, keeps one type.
func (s *Service) List(ctx context.Context, actor string, typ Type, cursor string, limit int) ([]Policy, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	f := ListFilter(access)
	f.Type = typ
	items, next, err := s.cfg.Store.ListPolicies(ctx, f, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list policies: %w", err)
	}
	out := make([]Policy, 0, len(items))
	for _, p := range items {
		if CanRead(p, access) {
			out = append(out, p)
		}
	}
	return out, next, nil
}

// Get returns a policy the caller may read; others get NotFound.
func (s *Service) Get(ctx context.Context, actor, id string) (Policy, error) {
	p, _, _, err := s.load(ctx, actor, id)
	return p, err
}

func (s *Service) load(ctx context.Context, actor, id string) (Policy, space.Access, space.Tree, error) {
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Policy{}, space.Access{}, space.Tree{}, err
	}
	p, err := s.cfg.Store.GetPolicy(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !CanRead(p, access)) {
		return Policy{}, space.Access{}, space.Tree{}, apperr.Errorf(apperr.NotFound, "no policy %q", id)
	}
	if err != nil {
		return Policy{}, space.Access{}, space.Tree{}, fmt.Errorf("load policy %s: %w", id, err)
	}
	return p, access, tree, nil
}

// Patch is a change to a policy: nil fields stay. The type is immutable.
type Patch struct {
	Name        *string
	Space       *string
	Labels      *[]string
	Description *string
	Body        *string
}

// Update applies a patch, for admins of the policy's space (and of the
// new one, when it moves). A new body is compiled first and bumps Version.
func (s *Service) Update(ctx context.Context, actor, id string, pt Patch) (Policy, error) {
	p, access, tree, err := s.load(ctx, actor, id)
	if err != nil {
		return Policy{}, err
	}
	if !CanManage(p.SpaceID, access) {
		return Policy{}, forbidden(p)
	}
	changed := []string{}
	if pt.Name != nil {
		p.Name, changed = *pt.Name, append(changed, "name")
	}
	if pt.Space != nil && strings.TrimSpace(*pt.Space) != p.SpaceID {
		p.SpaceID, changed = strings.TrimSpace(*pt.Space), append(changed, "space")
		if err := checkPlacement(p.SpaceID, access, tree); err != nil {
			return Policy{}, err
		}
	}
	if pt.Labels != nil {
		p.Labels, changed = *pt.Labels, append(changed, "labels")
	}
	if pt.Description != nil {
		p.Description, changed = *pt.Description, append(changed, "description")
	}
	if err := validate(&p); err != nil {
		return Policy{}, err
	}
	if pt.Body != nil && *pt.Body != p.Body {
		if err := s.checkBody(ctx, *pt.Body); err != nil {
			return Policy{}, err
		}
		p.Body, p.Version, changed = *pt.Body, p.Version+1, append(changed, "body")
	}
	p.UpdatedAt = s.now()
	e := s.entry(actor, "policy.update", p, map[string]any{"changed": changed, "version": p.Version})
	if err := s.cfg.Store.UpdatePolicy(ctx, p, e); err != nil {
		return Policy{}, fmt.Errorf("update policy %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "policy updated", "policy_id", p.ID, "actor", actor, "version", p.Version)
	return p, nil
}

// Delete removes a policy and its attachments, for admins of its space.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	p, access, _, err := s.load(ctx, actor, id)
	if err != nil {
		return err
	}
	if !CanManage(p.SpaceID, access) {
		return forbidden(p)
	}
	if err := s.cfg.Store.DeletePolicy(ctx, id, s.entry(actor, "policy.delete", p, nil)); err != nil {
		return fmt.Errorf("delete policy %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "policy deleted", "policy_id", id, "actor", actor)
	return nil
}

func forbidden(p Policy) error {
	return apperr.Errorf(apperr.Forbidden, "changing, deleting or attaching policy %q needs admin on space %q", p.ID, p.SpaceID)
}
