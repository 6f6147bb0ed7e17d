package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcs"
)

// AccessResolver resolves a principal's roles over the space tree
// (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// IntegrationStore is what the Service reads of integrations
// (integration.Store implements it).
type IntegrationStore interface {
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
	ListIntegrations(ctx context.Context, f integration.Filter, cursor string, limit int) ([]integration.Integration, string, error)
}

// RepoChecker checks, with an integration's token, that a repository
// exists, that the token's user may write commit statuses and deployments on
// it, and that a branch exists (SPEC §2.2). Errors are apperr Invalid naming
// the field to fix (repository, branch, integration). The gitlab package
// implements it.
type RepoChecker interface {
	CheckRepository(ctx context.Context, ep vcs.Endpoint, q vcs.RepoQuery) (vcs.Repo, error)
}

// ToolChecker says whether runs can use a tool at a version ("" for the
// default OpenTofu): toolchain.Dir, the server's tools folder, implements
// it. Its errors are messages for the client, naming the versions there
// are.
type ToolChecker interface {
	CheckTool(tool, version string) error
}

// Config wires a Service.
type Config struct {
	Store        Store
	Access       AccessResolver
	Integrations IntegrationStore
	Checker      RepoChecker
	// Tools is the server's tools folder; nil accepts only the default
	// OpenTofu.
	Tools  ToolChecker
	Box    *secret.Box // opens integration tokens
	Clock  func() time.Time
	Logger *slog.Logger
}

// Service is the business operations on stacks: validation, who may do
// what, which integration a stack may use, the checks in GitLab and the
// audit log.
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

// View is a stack as a caller sees it, with warnings about what could not
// be checked.
type View struct {
	Stack
	// MRLock is the merge request holding the stack, nil when none does.
	MRLock *MRLock
	// Drift is the stack's drift mark, nil until a drift run finished.
	Drift    *Drift
	Warnings []string
}

// CreateInput is a new stack as a caller asks for it.
type CreateInput struct {
	Name                   string
	Space                  string
	Integration            string // "" means the default GitLab integration
	Repository             string
	Branch                 string
	ProjectRoot            string
	AdditionalProjectGlobs []string
	Labels                 []string
	Autodeploy             bool
	Description            string
	Tool                   string
	ToolVersion            string
	WorkerPool             string
	AllowForkMRs           bool
	GitCheckout            bool
	MRPlanMinAccess        string
	MRApply                bool
	MRApplyMinAccess       string
	ApplyRequirements      []string
	MRAutomerge            bool
	// DriftIssue and DriftIssueMode: see DriftIssueSetting (a false
	// DriftIssue is not sent).
	DriftIssue       bool
	DriftIssueMode   string
	DriftIssueLabels []string
}

// Create validates in, checks that the integration is usable from the
// stack's space and that GitLab has the project, the token's user is at
// least Maintainer on it and the branch exists, and stores the stack with
// its audit entry.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (View, error) {
	st := Stack{Name: in.Name, SpaceID: strings.TrimSpace(in.Space), Repository: in.Repository, Branch: in.Branch,
		ProjectRoot: in.ProjectRoot, AdditionalProjectGlobs: in.AdditionalProjectGlobs, Labels: in.Labels,
		Autodeploy: in.Autodeploy, Description: in.Description, Tool: Tool(in.Tool), ToolVersion: in.ToolVersion,
		WorkerPool: in.WorkerPool, AllowForkMRs: in.AllowForkMRs, GitCheckout: in.GitCheckout, MRPlanMinAccess: in.MRPlanMinAccess,
		MRApply: in.MRApply, MRApplyMinAccess: in.MRApplyMinAccess, ApplyRequirements: in.ApplyRequirements, MRAutomerge: in.MRAutomerge,
		DriftIssueLabels: in.DriftIssueLabels}
	var flag, mode = &in.DriftIssue, &in.DriftIssueMode
	if !in.DriftIssue {
		flag = nil
	}
	if in.DriftIssueMode == "" {
		mode = nil
	}
	issue, err := DriftIssueSetting(flag, mode)
	if err != nil {
		return View{}, err
	}
	if issue != nil {
		st.DriftIssue = *issue
	}
	if err := Validate(&st); err != nil {
		return View{}, err
	}
	if err := s.checkTool(st); err != nil {
		return View{}, err
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return View{}, err
	}
	if err := checkPlacement(st.SpaceID, access, tree); err != nil {
		return View{}, err
	}
	st.ID = slug.Make(st.Name)
	if err := s.checkFree(ctx, st.ID); err != nil {
		return View{}, err
	}
	it, err := s.integrationFor(ctx, strings.TrimSpace(in.Integration), st.SpaceID, access, tree)
	if err != nil {
		return View{}, err
	}
	st.IntegrationID = it.ID
	warnings, err := s.checkRepo(ctx, &st, it)
	if err != nil {
		return View{}, err
	}
	st.CreatedAt, st.UpdatedAt, st.CreatedBy = s.now(), s.now(), actor
	entry := s.entry(actor, "stack.create", st, map[string]any{"integration": st.IntegrationID, "repository": st.Repository, "branch": st.Branch})
	if err := s.cfg.Store.CreateStack(ctx, st, entry); err != nil {
		return View{}, fmt.Errorf("create stack %s: %w", st.ID, err)
	}
	s.log.InfoContext(ctx, "stack created", "stack_id", st.ID, "actor", actor, "space_id", st.SpaceID, "integration_id", st.IntegrationID)
	return View{Stack: st, Warnings: warnings}, nil
}

// checkTool refuses a tool or version the server cannot run, rather than
// storing a setting that runs would ignore.
func (s *Service) checkTool(st Stack) error {
	field := "tool_version"
	if st.ToolVersion == "" {
		field = "tool"
	}
	if s.cfg.Tools == nil {
		if st.Tool == OpenTofu && st.ToolVersion == "" {
			return nil
		}
		return apperr.InvalidField(field, "this server runs only its default OpenTofu: leave tool and tool_version empty")
	}
	if err := s.cfg.Tools.CheckTool(string(st.Tool), st.ToolVersion); err != nil {
		return apperr.InvalidField(field, "%s", err.Error())
	}
	return nil
}

// checkPlacement refuses spaces the caller cannot see (as if they did not
// exist) and spaces where the caller may not manage stacks.
func checkPlacement(spaceID string, access space.Access, tree space.Tree) error {
	if spaceID == "" {
		return apperr.InvalidField("space", "is required")
	}
	if _, ok := tree.Get(spaceID); !ok || access.Role(spaceID) == space.None {
		return apperr.InvalidField("space", "no space %q", spaceID)
	}
	if !CanManage(spaceID, access) {
		return apperr.Errorf(apperr.Forbidden, "creating, changing and deleting stacks in space %q needs admin on that space", spaceID)
	}
	return nil
}

// checkFree answers a taken id before GitLab is called, with a clearer
// message; the store still enforces it under races.
func (s *Service) checkFree(ctx context.Context, id string) error {
	if _, err := s.cfg.Store.GetStack(ctx, id); err == nil {
		return apperr.Errorf(apperr.Conflict, "a stack with id %q already exists (ids are slugs of names)", id)
	} else if !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("load stack %s: %w", id, err)
	}
	return nil
}

// binder binds stacks to integrations and repositories.
func (s *Service) binder() Binder {
	return Binder{Integrations: s.cfg.Integrations, Checker: s.cfg.Checker, Box: s.cfg.Box}
}

// integrationFor loads the integration a stack in spaceID asks for (see
// Binder.Integration).
func (s *Service) integrationFor(ctx context.Context, id, spaceID string, access space.Access, tree space.Tree) (integration.Integration, error) {
	return s.binder().Integration(ctx, "stack", id, spaceID, access, tree)
}

// checkRepo runs the GitLab checks of SPEC §2.2 for st and records the
// project id, GitLab's spelling of the path and the branch head as the
// tracked commit; unchecked (no VCS agent connected), it records none.
func (s *Service) checkRepo(ctx context.Context, st *Stack, it integration.Integration) ([]string, error) {
	repo, warnings, err := s.binder().CheckRepository(ctx, it, st.Repository, st.Branch)
	if err != nil || warnings != nil {
		st.ProjectID, st.TrackedCommit = 0, nil
		return warnings, err
	}
	st.ProjectID = repo.ProjectID
	if repo.Path != "" {
		st.Repository = repo.Path
	}
	st.TrackedCommit = &TrackedCommit{SHA: repo.BranchSHA, Branch: st.Branch, MovedAt: s.now()}
	return nil, nil
}

// integrationFault turns a failed check that the stack's fields cannot fix
// (a revoked token, an unreachable host: invalid naming an integration
// field) into an invalid "integration" that says which integration to fix.
func integrationFault(id string, err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Invalid {
		return err
	}
	switch e.Field {
	case "repository", "branch", "integration":
		return err
	}
	out := apperr.InvalidField("integration", "integration %q cannot reach GitLab: %s — fix it with `hoist integration gitlab update %s`", id, e.Message, id)
	out.Err = e.Err
	return out
}

func (s *Service) entry(actor, action string, st Stack, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "stack",
		ResourceID: st.ID, SpaceID: st.SpaceID, Detail: detail}
}

// List pages the stacks the caller may read, ordered by id; spaceID, when
// set, keeps only that space's stacks.
func (s *Service) List(ctx context.Context, actor, spaceID, cursor string, limit int) ([]View, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	f := ListFilter(access)
	f.Space = spaceID
	items, next, err := s.cfg.Store.ListStacks(ctx, f, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks: %w", err)
	}
	out := make([]View, 0, len(items))
	ids := make([]string, 0, len(items))
	for _, st := range items {
		if CanRead(st, access) { // the filter already holds; this keeps the rule in one place
			out = append(out, View{Stack: st})
			ids = append(ids, st.ID)
		}
	}
	locks, err := s.cfg.Store.StackMRLocks(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks' merge request locks: %w", err)
	}
	drifts, err := s.cfg.Store.StackDrifts(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks' drift marks: %w", err)
	}
	for i := range out {
		if l, ok := locks[out[i].ID]; ok {
			out[i].MRLock = &l
		}
		if d, ok := drifts[out[i].ID]; ok {
			out[i].Drift = &d
		}
	}
	return out, next, nil
}

// Get returns a stack the caller may read; others get NotFound.
func (s *Service) Get(ctx context.Context, actor, id string) (View, error) {
	st, _, _, err := s.load(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	return s.withLock(ctx, View{Stack: st})
}

// withLock adds the stack's merge request lock and drift mark to v.
func (s *Service) withLock(ctx context.Context, v View) (View, error) {
	l, err := s.cfg.Store.StackMRLock(ctx, v.ID)
	if err != nil {
		return View{}, fmt.Errorf("load merge request lock of stack %s: %w", v.ID, err)
	}
	v.MRLock = l
	if v.Drift, err = s.cfg.Store.StackDrift(ctx, v.ID); err != nil {
		return View{}, fmt.Errorf("load drift mark of stack %s: %w", v.ID, err)
	}
	return v, nil
}

// load returns the stack and the caller's access, NotFound when the caller
// may not read it.
func (s *Service) load(ctx context.Context, actor, id string) (Stack, space.Access, space.Tree, error) {
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Stack{}, space.Access{}, space.Tree{}, err
	}
	st, err := s.cfg.Store.GetStack(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !CanRead(st, access)) {
		return Stack{}, space.Access{}, space.Tree{}, apperr.Errorf(apperr.NotFound, "no stack %q", id)
	}
	if err != nil {
		return Stack{}, space.Access{}, space.Tree{}, fmt.Errorf("load stack %s: %w", id, err)
	}
	return st, access, tree, nil
}

// Delete removes a stack, for admins of its space.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	st, access, _, err := s.load(ctx, actor, id)
	if err != nil {
		return err
	}
	if !CanManage(st.SpaceID, access) {
		return forbidden(st)
	}
	if err := s.cfg.Store.DeleteStack(ctx, id, s.entry(actor, "stack.delete", st, nil)); err != nil {
		return fmt.Errorf("delete stack %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "stack deleted", "stack_id", id, "actor", actor)
	return nil
}

func forbidden(st Stack) error {
	return apperr.Errorf(apperr.Forbidden, "changing or deleting stack %q needs admin on space %q", st.ID, st.SpaceID)
}

// sameStrings compares two string lists, nil and empty alike.
func sameStrings(a, b []string) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }
