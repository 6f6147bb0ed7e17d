package stack

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/toolchain"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Limits on user-supplied fields. Names, labels and descriptions share the
// limits of spaces and integrations.
const (
	MaxDescriptionBytes = space.MaxDescriptionBytes
	MaxRepositoryLen    = 255 // GitLab's own limit on a full path is about this
	MaxBranchLen        = 255
	MaxProjectRootLen   = 1024
	MaxGlobs            = 64
	MaxGlobLen          = 1024
	MaxToolVersionLen   = toolchain.MaxVersionLen
	MaxWorkerPoolLen    = 64
)

// pathSegment is one segment of a GitLab namespace or project path: GitLab
// allows letters, digits, '_', '-' and '.', not starting with '-' or '.'.
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// workerPool is a pool id: a slug.
var workerPool = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// Validate checks and normalises every user-supplied field of st as stored:
// name, repository, branch, project root, globs, labels, description, tool,
// tool version and worker pool. Errors are apperr Invalid naming the field
// as the API spells it. Space and integration need the tree and the store
// and are checked by the Service.
func Validate(st *Stack) error {
	name, err := space.ValidateName("name", st.Name)
	if err != nil {
		return err
	}
	st.Name = name
	if st.Repository, err = ValidateRepository(st.Repository); err != nil {
		return err
	}
	if st.Branch, err = ValidateBranch(st.Branch); err != nil {
		return err
	}
	if st.ProjectRoot, err = ValidateProjectRoot(st.ProjectRoot); err != nil {
		return err
	}
	if st.AdditionalProjectGlobs, err = ValidateGlobs(st.AdditionalProjectGlobs); err != nil {
		return err
	}
	if st.Labels, err = space.NormalizeLabels("labels", st.Labels); err != nil {
		return err
	}
	if len(st.Description) > MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d KiB, got %d bytes", MaxDescriptionBytes>>10, len(st.Description))
	}
	if st.MRPlanMinAccess, err = ValidateMRAccess("mr_plan_min_access", st.MRPlanMinAccess, DefaultMRPlanMinAccess); err != nil {
		return err
	}
	if st.MRApplyMinAccess, err = ValidateMRAccess("mr_apply_min_access", st.MRApplyMinAccess, DefaultMRApplyMinAccess); err != nil {
		return err
	}
	if st.ApplyRequirements, err = ValidateApplyRequirements(st.ApplyRequirements); err != nil {
		return err
	}
	if st.MRAutomerge && !st.MRApply {
		return apperr.InvalidField("mr_automerge", "needs mr_apply: only a merge request that applied the stack before its merge is merged by Hoist")
	}
	if st.DriftIssue, err = ParseDriftIssueMode(string(st.DriftIssue)); err != nil {
		return err
	}
	if st.DriftIssueLabels, err = integration.ValidateDriftIssue(st.DriftIssue == DriftIssueOn, st.DriftIssueLabels); err != nil {
		return err
	}
	return validateRuntime(st)
}

// The apply requirements a stack may set (docs/merge-requests.md), in the
// order they are checked and stored.
const (
	// RequireApproved: GitLab's approvals API says approved, approval
	// rules included.
	RequireApproved = "approved"
	// RequireMergeable: GitLab's detailed_merge_status says mergeable,
	// Hoist's own commit statuses aside.
	RequireMergeable = "mergeable"
	// RequireUndiverged: the source branch contains the target's head.
	RequireUndiverged = "undiverged"
)

// ApplyRequirementNames are the apply requirements, in order.
var ApplyRequirementNames = []string{RequireApproved, RequireMergeable, RequireUndiverged}

// ValidateApplyRequirements checks and orders apply requirements: names of
// ApplyRequirementNames in any case, each once; nil is none.
func ValidateApplyRequirements(reqs []string) ([]string, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		r = strings.ToLower(strings.TrimSpace(r))
		if !slices.Contains(ApplyRequirementNames, r) {
			return nil, apperr.InvalidField("apply_requirements", "must be among approved, mergeable and undiverged, got %.40q", r)
		}
		seen[r] = true
	}
	out := []string{}
	for _, name := range ApplyRequirementNames {
		if seen[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// MRAccessLevels are the GitLab access levels a comment command may
// require, by the names settings use.
var MRAccessLevels = map[string]int64{"guest": vcs.AccessGuest, "reporter": vcs.AccessReporter,
	"developer": vcs.AccessDeveloper, "maintainer": vcs.AccessMaintainer, "owner": vcs.AccessOwner}

// The minimum access levels of the comment commands unless the stack says.
const (
	// DefaultMRPlanMinAccess is who may `/hoist plan`.
	DefaultMRPlanMinAccess = "developer"
	// DefaultMRApplyMinAccess is who may `/hoist apply` and `/hoist unlock`.
	DefaultMRApplyMinAccess = "maintainer"
)

// ValidateMRAccess checks a minimum access setting named field, a name of
// MRAccessLevels in any case; "" is def.
func ValidateMRAccess(field, v, def string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return def, nil
	}
	if _, ok := MRAccessLevels[v]; !ok {
		return "", apperr.InvalidField(field, "must be guest, reporter, developer, maintainer or owner, got %q", v)
	}
	return v, nil
}

// validateRuntime checks the fields about how runs execute.
func validateRuntime(st *Stack) error {
	switch Tool(strings.ToLower(strings.TrimSpace(string(st.Tool)))) {
	case "", OpenTofu:
		st.Tool = OpenTofu
	case Terraform:
		st.Tool = Terraform
	default:
		return apperr.InvalidField("tool", "must be opentofu or terraform, got %q", st.Tool)
	}
	// Stored as tools folders name versions: v1.9.0 is 1.9.0.
	st.ToolVersion = toolchain.NormalizeVersion(st.ToolVersion)
	if st.ToolVersion != "" && !toolchain.ValidVersion(st.ToolVersion) {
		return apperr.InvalidField("tool_version", "must be a release version such as 1.9.0, got %q", st.ToolVersion)
	}
	if st.GitCheckout {
		// Refused rather than stored and ignored (issue 14).
		return apperr.InvalidField("git_checkout", "is not supported yet: workspaces always come from GitLab's archive API; leave it false")
	}
	st.WorkerPool = strings.TrimSpace(st.WorkerPool)
	if st.WorkerPool == "" {
		st.WorkerPool = DefaultWorkerPool
	}
	if len(st.WorkerPool) > MaxWorkerPoolLen || !workerPool.MatchString(st.WorkerPool) {
		return apperr.InvalidField("worker_pool", "must be the id of a worker pool (lower-case letters, digits and -), got %q", st.WorkerPool)
	}
	return nil
}

// ValidateRepository checks a GitLab project path, namespace/project with
// any number of subgroups, and returns it trimmed of surrounding slashes and
// a trailing ".git" (as copied from a clone URL).
func ValidateRepository(repo string) (string, error) {
	r := strings.TrimSuffix(strings.Trim(strings.TrimSpace(repo), "/"), ".git")
	switch {
	case r == "":
		return "", apperr.InvalidField("repository", "is required, as namespace/project (e.g. acme/infra or acme/platform/infra)")
	case len(r) > MaxRepositoryLen:
		return "", apperr.InvalidField("repository", "must be at most %d characters", MaxRepositoryLen)
	case strings.Contains(r, "://"):
		return "", apperr.InvalidField("repository", "must be the project path namespace/project, not a URL")
	}
	segs := strings.Split(r, "/")
	if len(segs) < 2 {
		return "", apperr.InvalidField("repository", "%q has no namespace: write namespace/project (e.g. acme/%s)", r, r)
	}
	for _, s := range segs {
		if !pathSegment.MatchString(s) || strings.HasSuffix(s, ".") || strings.HasSuffix(s, ".git") || strings.HasSuffix(s, ".atom") {
			return "", apperr.InvalidField("repository", "%q is not a GitLab path: each part holds letters, digits, '_', '-' and '.', and does not start with '-' or '.'", r)
		}
	}
	return r, nil
}

// ValidateBranch checks a branch name against Git's rules for ref names
// (git check-ref-format), as far as they matter for a branch someone types.
func ValidateBranch(branch string) (string, error) {
	b := strings.TrimSpace(branch)
	b = strings.TrimPrefix(b, "refs/heads/")
	switch {
	case b == "":
		return "", apperr.InvalidField("branch", "is required (the tracked branch, e.g. main)")
	case len(b) > MaxBranchLen:
		return "", apperr.InvalidField("branch", "must be at most %d characters", MaxBranchLen)
	case strings.ContainsFunc(b, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }),
		strings.ContainsAny(b, "~^:?*[\\"),
		strings.Contains(b, ".."), strings.Contains(b, "@{"), strings.Contains(b, "//"),
		strings.HasPrefix(b, "-"), strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"),
		strings.HasSuffix(b, "."), strings.HasSuffix(b, ".lock"), b == "@":
		return "", apperr.InvalidField("branch", "%q is not a valid Git branch name", b)
	}
	for _, seg := range strings.Split(b, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", apperr.InvalidField("branch", "%q is not a valid Git branch name (a part starts with '.')", b)
		}
	}
	return b, nil
}

// ValidateProjectRoot normalises a project root like trigger.NormalizeRoot
// (no trailing "/"; "" and "/" are the whole repository) and refuses paths
// that leave the repository or are not clean. An absolute path is refused
// rather than trimmed: "/etc" reads as the server's /etc, and quietly
// making it "etc" would hide that mistake.
func ValidateProjectRoot(root string) (string, error) {
	root = strings.TrimSpace(root)
	if len(root) > 1 && strings.HasPrefix(root, "/") {
		return "", apperr.InvalidField("project_root",
			"must be a folder relative to the repository's root, not an absolute path: write %q, not %q", strings.Trim(root, "/"), root)
	}
	r := trigger.NormalizeRoot(root)
	if r == "" {
		return "", nil
	}
	if len(r) > MaxProjectRootLen {
		return "", apperr.InvalidField("project_root", "must be at most %d characters", MaxProjectRootLen)
	}
	if strings.ContainsFunc(r, unicode.IsControl) || strings.Contains(r, "\\") {
		return "", apperr.InvalidField("project_root", "must be a folder path with '/' separators, got %q", r)
	}
	for _, seg := range strings.Split(r, "/") {
		switch seg {
		case "..":
			return "", apperr.InvalidField("project_root", "must stay inside the repository: %q has a '..' part; name the folder from the repository's root", r)
		case "", ".":
			return "", apperr.InvalidField("project_root", "must be a clean folder path inside the repository (no empty or '.' parts), got %q", r)
		}
	}
	return r, nil
}

// ValidateGlobs checks additional project globs with trigger.ValidateGlob,
// so a typo is refused rather than silently matching nothing, and drops
// duplicates keeping the first.
func ValidateGlobs(globs []string) ([]string, error) {
	out := make([]string, 0, len(globs))
	seen := map[string]bool{}
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if len(g) > MaxGlobLen {
			return nil, apperr.InvalidField("additional_project_globs", "glob %.20q… is longer than %d characters", g, MaxGlobLen)
		}
		if err := trigger.ValidateGlob(g); err != nil {
			return nil, apperr.InvalidField("additional_project_globs", "%v", err)
		}
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	if len(out) > MaxGlobs {
		return nil, apperr.InvalidField("additional_project_globs", "at most %d globs, got %d", MaxGlobs, len(out))
	}
	return out, nil
}
