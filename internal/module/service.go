package module

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Source reads a module's code from the VCS with an integration's token.
// The gitlab package implements it.
type Source interface {
	// ResolveCommit returns the full SHA of the commit sha (a full or
	// abbreviated SHA) in project; an unknown commit is apperr Invalid
	// naming "sha".
	ResolveCommit(ctx context.Context, ep vcs.Endpoint, project, sha string) (string, error)
	// Archive writes the tar.gz archive of project at sha, limited to the
	// folder path ("" for everything), to w.
	Archive(ctx context.Context, ep vcs.Endpoint, project, sha, path string, w io.Writer) error
}

// StatusPoster posts commit statuses to the VCS (the feedback writer, which
// retries durably). Nil means no statuses are posted.
type StatusPoster interface {
	PostModuleStatus(ctx context.Context, st CommitStatus) error
}

// CommitStatus is the status hoist/module/<module-id> on a version's commit.
type CommitStatus struct {
	IntegrationID string
	Project       string // path with namespace
	SHA           string
	Ref           string // the tag; "" for a version created by hand
	ModuleID      string
	Name          string // hoist/module/<module-id>
	State         string // success
	Description   string
	TargetURL     string
}

// Config wires a Service. Access, Integrations and Checker are the stack
// package's interfaces: modules are bound to repositories exactly like
// stacks and checked the same way.
type Config struct {
	Store        Store
	Access       stack.AccessResolver
	Integrations stack.IntegrationStore
	Checker      stack.RepoChecker
	Source       Source
	Statuses     StatusPoster // optional
	Box          *secret.Box  // opens integration tokens
	PublicURL    string       // Hoist's public base URL, for status links
	Clock        func() time.Time
	Logger       *slog.Logger
}

// Service is the business operations on modules and their versions:
// validation, who may do what (read on the space to see and use a module,
// write to publish or mark versions bad, admin to create and delete
// modules), the GitLab checks and the audit log.
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
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, now: func() time.Time { return now().UTC() }, log: log}
}

// View is a module as a caller sees it.
type View struct {
	Module
	// Detached is set when the module's integration no longer exists.
	Detached bool
	Warnings []string
}

// CreateInput is a new module as a caller asks for it.
type CreateInput struct {
	Name        string
	Provider    string
	Space       string
	Integration string // "" means the default GitLab integration
	Repository  string
	Branch      string
	ProjectRoot string
	Labels      []string
	Description string
}

// Create validates in, checks that the integration is usable from the
// module's space and that GitLab has the project, the token's user is at
// least Maintainer on it and the branch exists, and stores the module.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (View, error) {
	m := Module{Name: in.Name, Provider: in.Provider, SpaceID: strings.TrimSpace(in.Space), Repository: in.Repository,
		Branch: in.Branch, ProjectRoot: in.ProjectRoot, Labels: in.Labels, Description: in.Description}
	if err := Validate(&m); err != nil {
		return View{}, err
	}
	if m.SpaceID == "" {
		m.SpaceID = space.RootID
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return View{}, err
	}
	if _, ok := tree.Get(m.SpaceID); !ok || access.Role(m.SpaceID) == space.None {
		return View{}, apperr.InvalidField("space", "no space %q", m.SpaceID)
	}
	if !access.Has(m.SpaceID, space.Admin) {
		return View{}, apperr.Errorf(apperr.Forbidden, "creating a module in space %q needs admin on it", m.SpaceID)
	}
	if !ValidRegistryName(m.SpaceID) {
		return View{}, apperr.InvalidField("space", "space id %q cannot be a registry namespace (letters, digits, '-' and '_', at most 64)", m.SpaceID)
	}
	m.ID = slug.Make(m.Name)
	if !ValidRegistryName(m.ID) {
		return View{}, apperr.InvalidField("name", "the id %q derived from the name cannot be a registry name (at most 64 letters, digits and '-')", m.ID)
	}
	if err := s.checkFree(ctx, m.ID); err != nil {
		return View{}, err
	}
	it, err := s.integrationFor(ctx, strings.TrimSpace(in.Integration), m.SpaceID, access, tree)
	if err != nil {
		return View{}, err
	}
	m.IntegrationID = it.ID
	warnings, err := s.checkRepo(ctx, &m, it)
	if err != nil {
		return View{}, err
	}
	m.CreatedAt, m.UpdatedAt, m.CreatedBy = s.now(), s.now(), actor
	if err := s.cfg.Store.CreateModule(ctx, m, s.entry(actor, "module.create", m, nil)); err != nil {
		return View{}, fmt.Errorf("create module %s: %w", m.ID, err)
	}
	s.log.InfoContext(ctx, "module created", "module_id", m.ID, "actor", actor, "space_id", m.SpaceID)
	return View{Module: m, Warnings: warnings}, nil
}

func (s *Service) checkFree(ctx context.Context, id string) error {
	if _, err := s.cfg.Store.GetModule(ctx, id); err == nil {
		return apperr.Errorf(apperr.Conflict, "a module with id %q already exists (ids are slugs of names)", id)
	} else if !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("load module %s: %w", id, err)
	}
	return nil
}

// binder binds modules to integrations and repositories with the stack
// package's rules and checks.
func (s *Service) binder() stack.Binder {
	return stack.Binder{Integrations: s.cfg.Integrations, Checker: s.cfg.Checker, Box: s.cfg.Box}
}

// integrationFor loads the integration a module in spaceID asks for (see
// stack.Binder.Integration: the same rule as stacks).
func (s *Service) integrationFor(ctx context.Context, id, spaceID string, access space.Access, tree space.Tree) (integration.Integration, error) {
	return s.binder().Integration(ctx, "module", id, spaceID, access, tree)
}

// checkRepo runs the GitLab checks of SPEC §2.2 and records the project id
// and GitLab's spelling of the path.
func (s *Service) checkRepo(ctx context.Context, m *Module, it integration.Integration) ([]string, error) {
	repo, warnings, err := s.binder().CheckRepository(ctx, it, m.Repository, m.Branch)
	if err != nil || warnings != nil {
		return warnings, err
	}
	m.ProjectID = repo.ProjectID
	if repo.Path != "" {
		m.Repository = repo.Path
	}
	return nil, nil
}

// sourceOf returns the endpoint of a module's integration; a module whose
// integration is gone is detached (Conflict, saying so).
func (s *Service) sourceOf(ctx context.Context, m Module) (vcs.Endpoint, error) {
	it, err := s.cfg.Integrations.GetIntegration(ctx, m.IntegrationID)
	if apperr.Is(err, apperr.NotFound) {
		return vcs.Endpoint{}, apperr.Errorf(apperr.Conflict, "module %q is detached: its integration %q was deleted", m.ID, m.IntegrationID)
	}
	if err != nil {
		return vcs.Endpoint{}, fmt.Errorf("load integration %s: %w", m.IntegrationID, err)
	}
	return s.binder().Endpoint(it)
}

func (s *Service) entry(actor, action string, m Module, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "module",
		ResourceID: m.ID, SpaceID: m.SpaceID, Detail: detail}
}

// List pages the modules the caller may read, ordered by id.
func (s *Service) List(ctx context.Context, actor, cursor string, limit int) ([]View, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	var f Filter
	f.All, f.Spaces = access.ReadScope()
	items, next, err := s.cfg.Store.ListModules(ctx, f, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list modules: %w", err)
	}
	out := make([]View, 0, len(items))
	for _, m := range items {
		if access.Has(m.SpaceID, space.Read) {
			out = append(out, View{Module: m})
		}
	}
	return out, next, nil
}

// Get returns a module the caller may read; others get NotFound.
func (s *Service) Get(ctx context.Context, actor, id string) (View, error) {
	m, _, err := s.load(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	v := View{Module: m}
	if _, err := s.cfg.Integrations.GetIntegration(ctx, m.IntegrationID); apperr.Is(err, apperr.NotFound) {
		v.Detached = true
	}
	return v, nil
}

// load returns the module and the caller's access, NotFound when the
// caller may not read it.
func (s *Service) load(ctx context.Context, actor, id string) (Module, space.Access, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Module{}, space.Access{}, err
	}
	m, err := s.cfg.Store.GetModule(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !access.Has(m.SpaceID, space.Read)) {
		return Module{}, space.Access{}, apperr.Errorf(apperr.NotFound, "no module %q", id)
	}
	if err != nil {
		return Module{}, space.Access{}, fmt.Errorf("load module %s: %w", id, err)
	}
	return m, access, nil
}

// Delete removes a module and its versions, for admins of its space.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	m, access, err := s.load(ctx, actor, id)
	if err != nil {
		return err
	}
	if !access.Has(m.SpaceID, space.Admin) {
		return apperr.Errorf(apperr.Forbidden, "deleting module %q needs admin on space %q", m.ID, m.SpaceID)
	}
	if err := s.cfg.Store.DeleteModule(ctx, id, s.entry(actor, "module.delete", m, nil)); err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "module deleted", "module_id", id, "actor", actor)
	return nil
}
