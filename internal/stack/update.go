package stack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

// Patch holds the fields an update changes; nil leaves a field alone. The id
// is immutable: a Patch cannot carry one.
type Patch struct {
	Name                   *string
	Space                  *string
	Integration            *string
	Repository             *string
	Branch                 *string
	ProjectRoot            *string
	AdditionalProjectGlobs *[]string
	Labels                 *[]string
	Autodeploy             *bool
	Description            *string
	Tool                   *string
	ToolVersion            *string
	WorkerPool             *string
	AllowForkMRs           *bool
	GitCheckout            *bool
	MRPlanMinAccess        *string
	MRApply                *bool
	MRApplyMinAccess       *string
	ApplyRequirements      *[]string
	MRAutomerge            *bool
	// DriftIssue and DriftIssueMode: see DriftIssueSetting.
	DriftIssue       *bool
	DriftIssueMode   *string
	DriftIssueLabels *[]string
}

// Update changes a stack, for admins of its space (and of the new space
// when it moves). A new integration, repository or branch is checked in
// GitLab again; a new space must still be able to use the integration. A
// detached stack is re-attached by giving it an integration.
func (s *Service) Update(ctx context.Context, actor, id string, p Patch) (View, error) {
	st, access, tree, err := s.load(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	if !CanManage(st.SpaceID, access) {
		return View{}, forbidden(st)
	}
	if p.Integration != nil && strings.TrimSpace(*p.Integration) == "" {
		return View{}, apperr.InvalidField("integration", "cannot be empty: a stack always uses an integration")
	}
	next, err := applyPatch(st, p)
	if err != nil {
		return View{}, err
	}
	if err := Validate(&next); err != nil {
		return View{}, err
	}
	// Checked only when it changes: a version the operator removed since
	// fails the stack's runs, and must not block its other settings.
	if next.Tool != st.Tool || next.ToolVersion != st.ToolVersion {
		if err := s.checkTool(next); err != nil {
			return View{}, err
		}
	}
	if next.SpaceID != st.SpaceID {
		if err := checkPlacement(next.SpaceID, access, tree); err != nil {
			return View{}, err
		}
	}
	warnings, err := s.recheck(ctx, st, &next, p.Integration != nil, access, tree)
	if err != nil {
		return View{}, err
	}
	changed := changedFields(st, next)
	if len(changed) == 0 {
		return s.withLock(ctx, View{Stack: st, Warnings: warnings})
	}
	next.UpdatedAt = s.now()
	if err := s.cfg.Store.UpdateStack(ctx, next, s.entry(actor, "stack.update", next, map[string]any{"fields": changed})); err != nil {
		return View{}, fmt.Errorf("update stack %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "stack updated", "stack_id", id, "actor", actor, "fields", changed)
	if next.TrackedCommit == nil {
		next.TrackedCommit = st.TrackedCommit // unchanged in the store
	}
	return s.withLock(ctx, View{Stack: next, Warnings: warnings})
}

// recheck checks what an update changed: the integration must be usable
// from the (new) space, and a new integration, repository or branch is
// checked in GitLab. next.TrackedCommit is left nil unless GitLab was asked,
// so the update does not overwrite a commit a push moved meanwhile.
func (s *Service) recheck(ctx context.Context, st Stack, next *Stack, integrationGiven bool, access space.Access, tree space.Tree) ([]string, error) {
	next.TrackedCommit = nil
	repoChanged := next.Repository != st.Repository || next.Branch != st.Branch
	if next.IntegrationID == "" {
		if repoChanged {
			return nil, apperr.InvalidField("integration", "the stack is detached (%s): give an integration to check the repository and branch with", st.DetachedReason())
		}
		return nil, nil // stays detached; nothing to check against
	}
	if !integrationGiven && !repoChanged && next.SpaceID == st.SpaceID {
		return nil, nil
	}
	it, err := s.integrationFor(ctx, next.IntegrationID, next.SpaceID, access, tree)
	if err != nil {
		return nil, err
	}
	if !integrationGiven && !repoChanged {
		return nil, nil // moved to another space that can still use the integration
	}
	next.DetachedFrom = ""
	return s.checkRepo(ctx, next, it)
}

// applyPatch returns st with p applied (not yet validated).
func applyPatch(st Stack, p Patch) (Stack, error) {
	issue, err := DriftIssueSetting(p.DriftIssue, p.DriftIssueMode)
	if err != nil {
		return Stack{}, err
	}
	next := st
	next.AdditionalProjectGlobs = slices.Clone(st.AdditionalProjectGlobs)
	next.Labels = slices.Clone(st.Labels)
	setString(&next.Name, p.Name)
	setString(&next.SpaceID, p.Space)
	if p.Integration != nil {
		next.IntegrationID = strings.TrimSpace(*p.Integration)
	}
	setString(&next.Repository, p.Repository)
	setString(&next.Branch, p.Branch)
	setString(&next.ProjectRoot, p.ProjectRoot)
	if p.AdditionalProjectGlobs != nil {
		next.AdditionalProjectGlobs = *p.AdditionalProjectGlobs
	}
	if p.Labels != nil {
		next.Labels = *p.Labels
	}
	setBool(&next.Autodeploy, p.Autodeploy)
	setString(&next.Description, p.Description)
	if p.Tool != nil {
		next.Tool = Tool(*p.Tool)
	}
	setString(&next.ToolVersion, p.ToolVersion)
	setString(&next.WorkerPool, p.WorkerPool)
	setBool(&next.AllowForkMRs, p.AllowForkMRs)
	setBool(&next.GitCheckout, p.GitCheckout)
	setString(&next.MRPlanMinAccess, p.MRPlanMinAccess)
	setBool(&next.MRApply, p.MRApply)
	setString(&next.MRApplyMinAccess, p.MRApplyMinAccess)
	setBool(&next.MRAutomerge, p.MRAutomerge)
	if p.ApplyRequirements != nil {
		next.ApplyRequirements = *p.ApplyRequirements
	}
	if issue != nil {
		next.DriftIssue = *issue
		// Labels are only kept with the issue on: leaving on drops them
		// rather than refusing the change for labels nobody sent.
		if next.DriftIssue != DriftIssueOn && p.DriftIssueLabels == nil {
			next.DriftIssueLabels = nil
		}
	}
	if p.DriftIssueLabels != nil {
		next.DriftIssueLabels = *p.DriftIssueLabels
	}
	if next.SpaceID != st.SpaceID {
		next.SpaceID = strings.TrimSpace(next.SpaceID)
	}
	return next, nil
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// changedFields names the fields whose stored value differs between a and
// b, for the audit log.
func changedFields(a, b Stack) []string {
	var out []string
	for name, differs := range map[string]bool{
		"name":                     a.Name != b.Name,
		"space":                    a.SpaceID != b.SpaceID,
		"integration":              a.IntegrationID != b.IntegrationID,
		"repository":               a.Repository != b.Repository,
		"branch":                   a.Branch != b.Branch,
		"project_root":             a.ProjectRoot != b.ProjectRoot,
		"additional_project_globs": !sameStrings(a.AdditionalProjectGlobs, b.AdditionalProjectGlobs),
		"labels":                   !sameStrings(a.Labels, b.Labels),
		"autodeploy":               a.Autodeploy != b.Autodeploy,
		"description":              a.Description != b.Description,
		"tool":                     a.Tool != b.Tool,
		"tool_version":             a.ToolVersion != b.ToolVersion,
		"worker_pool":              a.WorkerPool != b.WorkerPool,
		"allow_fork_mrs":           a.AllowForkMRs != b.AllowForkMRs,
		"git_checkout":             a.GitCheckout != b.GitCheckout,
		"mr_plan_min_access":       a.MRPlanMinAccess != b.MRPlanMinAccess,
		"mr_apply":                 a.MRApply != b.MRApply,
		"mr_apply_min_access":      a.MRApplyMinAccess != b.MRApplyMinAccess,
		"apply_requirements":       !sameStrings(a.ApplyRequirements, b.ApplyRequirements),
		"mr_automerge":             a.MRAutomerge != b.MRAutomerge,
		"drift_issue":              a.DriftIssue != b.DriftIssue,
		"drift_issue_labels":       !sameStrings(a.DriftIssueLabels, b.DriftIssueLabels),
	} {
		if differs {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
