package stack

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
)

func valid() Stack {
	return Stack{Name: "Infra", Repository: "acme/infra", Branch: "main"}
}

func TestValidateNormalises(t *testing.T) {
	t.Parallel()
	st := Stack{
		Name: "  Infra prod ", Repository: " /acme/platform/infra.git/ ", Branch: " refs/heads/release/1.x ",
		ProjectRoot: "infra/prod/", AdditionalProjectGlobs: []string{" modules/** ", "/shared/", "modules/**"},
		Labels: []string{"b", " a ", "b"}, Tool: " OpenTofu ", ToolVersion: " v1.9.0 ", MRPlanMinAccess: " Maintainer ",
		MRApply: true, MRApplyMinAccess: " OWNER ", DriftIssue: DriftIssueOn, DriftIssueLabels: []string{" drift ", "team::infra", "drift"},
	}
	if err := Validate(&st); err != nil {
		t.Fatal(err)
	}
	want := Stack{
		Name: "Infra prod", Repository: "acme/platform/infra", Branch: "release/1.x", ProjectRoot: "infra/prod",
		AdditionalProjectGlobs: []string{"modules/**", "/shared/"}, Labels: []string{"a", "b"}, Tool: OpenTofu,
		ToolVersion: "1.9.0", WorkerPool: DefaultWorkerPool, MRPlanMinAccess: "maintainer",
		MRApply: true, MRApplyMinAccess: "owner", DriftIssue: DriftIssueOn, DriftIssueLabels: []string{"drift", "team::infra"},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Validate =\n%+v\nwant\n%+v", st, want)
	}
	tf := valid()
	tf.Tool, tf.WorkerPool, tf.ProjectRoot = "terraform", "eu-workers", "/"
	if err := Validate(&tf); err != nil || tf.Tool != Terraform || tf.WorkerPool != "eu-workers" || tf.ProjectRoot != "" ||
		tf.MRPlanMinAccess != DefaultMRPlanMinAccess || tf.MRApply || tf.MRApplyMinAccess != DefaultMRApplyMinAccess {
		t.Errorf("terraform stack: %+v, %v", tf, err)
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field string
		edit  func(*Stack)
		want  string
	}{
		{"name", func(s *Stack) { s.Name = " " }, "required"},
		{"name", func(s *Stack) { s.Name = strings.Repeat("x", 65) }, "at most 64"},
		{"repository", func(s *Stack) { s.Repository = "" }, "namespace/project"},
		{"repository", func(s *Stack) { s.Repository = "infra" }, "no namespace"},
		{"repository", func(s *Stack) { s.Repository = "https://gitlab.com/acme/infra" }, "not a URL"},
		{"repository", func(s *Stack) { s.Repository = "acme/-infra" }, "not a GitLab path"},
		{"repository", func(s *Stack) { s.Repository = "acme//infra" }, "not a GitLab path"},
		{"repository", func(s *Stack) { s.Repository = "acme/in fra" }, "not a GitLab path"},
		{"branch", func(s *Stack) { s.Branch = "" }, "required"},
		{"mr_plan_min_access", func(s *Stack) { s.MRPlanMinAccess = "admin" }, "must be guest, reporter, developer, maintainer or owner"},
		{"mr_apply_min_access", func(s *Stack) { s.MRApplyMinAccess = "admin" }, "must be guest, reporter, developer, maintainer or owner"},
		{"mr_apply_min_access", func(s *Stack) { s.MRApplyMinAccess = "maintainers" }, "must be guest, reporter, developer, maintainer or owner"},
		{"branch", func(s *Stack) { s.Branch = "feature..x" }, "not a valid Git branch name"},
		{"branch", func(s *Stack) { s.Branch = "a b" }, "not a valid Git branch name"},
		{"branch", func(s *Stack) { s.Branch = "x.lock" }, "not a valid Git branch name"},
		{"branch", func(s *Stack) { s.Branch = "feat/.hidden" }, "starts with '.'"},
		{"project_root", func(s *Stack) { s.ProjectRoot = "infra/../../etc" }, "stay inside the repository"},
		{"project_root", func(s *Stack) { s.ProjectRoot = "../x" }, "stay inside the repository"},
		{"project_root", func(s *Stack) { s.ProjectRoot = "/etc" }, `not an absolute path: write "etc", not "/etc"`},
		{"project_root", func(s *Stack) { s.ProjectRoot = " /infra/prod/ " }, "not an absolute path"},
		{"project_root", func(s *Stack) { s.ProjectRoot = "./infra" }, "clean folder path"},
		{"project_root", func(s *Stack) { s.ProjectRoot = "infra//prod" }, "clean folder path"},
		{"project_root", func(s *Stack) { s.ProjectRoot = `infra\prod` }, "'/' separators"},
		{"additional_project_globs", func(s *Stack) { s.AdditionalProjectGlobs = []string{"modules/[a"} }, "not a valid doublestar pattern"},
		{"additional_project_globs", func(s *Stack) { s.AdditionalProjectGlobs = []string{" "} }, "empty"},
		{"labels", func(s *Stack) { s.Labels = []string{""} }, "must not be empty"},
		{"description", func(s *Stack) { s.Description = strings.Repeat("x", MaxDescriptionBytes+1) }, "at most 64 KiB"},
		{"tool", func(s *Stack) { s.Tool = "pulumi" }, "opentofu or terraform"},
		{"tool_version", func(s *Stack) { s.ToolVersion = "latest" }, "release version"},
		{"worker_pool", func(s *Stack) { s.WorkerPool = "Bad Pool" }, "worker pool"},
		{"git_checkout", func(s *Stack) { s.GitCheckout = true }, "not supported yet"},
		{"drift_issue_labels", func(s *Stack) { s.DriftIssueLabels = []string{"drift"} }, "needs drift_issue"},
		{"drift_issue_labels", func(s *Stack) { s.DriftIssue, s.DriftIssueLabels = DriftIssueOff, []string{"drift"} }, "needs drift_issue"},
		{"drift_issue_mode", func(s *Stack) { s.DriftIssue = "sometimes" }, "must be inherit, on or off"},
		{"drift_issue_labels", func(s *Stack) { s.DriftIssue, s.DriftIssueLabels = DriftIssueOn, []string{"a,b"} }, "comma"},
		{"drift_issue_labels", func(s *Stack) { s.DriftIssue, s.DriftIssueLabels = DriftIssueOn, []string{" "} }, "empty label"},
		{"drift_issue_labels", func(s *Stack) { s.DriftIssue, s.DriftIssueLabels = DriftIssueOn, []string{"a\nb"} }, "control characters"},
		{"drift_issue_labels", func(s *Stack) {
			s.DriftIssue, s.DriftIssueLabels = DriftIssueOn, []string{strings.Repeat("l", integration.MaxDriftIssueLabelLen+1)}
		}, "at most 255 characters"},
		{"drift_issue_labels", func(s *Stack) {
			s.DriftIssue = DriftIssueOn
			for i := range integration.MaxDriftIssueLabels + 1 {
				s.DriftIssueLabels = append(s.DriftIssueLabels, strings.Repeat("l", i+1))
			}
		}, "at most 20 labels"},
	}
	for _, tt := range tests {
		st := valid()
		tt.edit(&st)
		err := Validate(&st)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != tt.field || !strings.Contains(e.Message, tt.want) {
			t.Errorf("%s (%s): err = %v, want invalid %s containing %q", tt.field, tt.want, err, tt.field, tt.want)
		}
	}
	many := valid()
	for i := range MaxGlobs + 1 {
		many.AdditionalProjectGlobs = append(many.AdditionalProjectGlobs, "dir"+strings.Repeat("x", i)+"/**")
	}
	if err := Validate(&many); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("%d globs accepted", len(many.AdditionalProjectGlobs))
	}
}

func TestDetachedReason(t *testing.T) {
	t.Parallel()
	attached := Stack{IntegrationID: "gl"}
	if attached.Detached() || attached.DetachedReason() != "" {
		t.Errorf("attached stack reports detached")
	}
	gone := Stack{DetachedFrom: "acme-gitlab"}
	if !gone.Detached() || !strings.Contains(gone.DetachedReason(), "integration acme-gitlab was deleted") {
		t.Errorf("reason = %q", gone.DetachedReason())
	}
}

func TestChangedFields(t *testing.T) {
	t.Parallel()
	a := valid()
	b, err := applyPatch(a, Patch{Labels: &[]string{"x"}, Branch: ptr("dev"), Autodeploy: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(changedFields(a, b), ","); got != "autodeploy,branch,labels" {
		t.Errorf("changedFields = %s", got)
	}
	if c, _ := applyPatch(a, Patch{}); len(changedFields(a, c)) != 0 {
		t.Errorf("empty patch changed %v", changedFields(a, c))
	}
}

func ptr[T any](v T) *T { return &v }

func TestIntegrationFault(t *testing.T) {
	t.Parallel()
	cause := errors.New("401")
	tok := apperr.InvalidField("token", "GitLab rejected the token (revoked or expired) — create a new token")
	tok.Err = cause
	err := integrationFault("acme-gitlab", tok)
	var e *apperr.Error
	if !errors.As(err, &e) || e.Field != "integration" || !strings.Contains(e.Message, `integration "acme-gitlab" cannot reach GitLab`) ||
		!strings.Contains(e.Message, "GitLab rejected the token") || !errors.Is(err, cause) {
		t.Errorf("token fault = %v (%+v)", err, e)
	}
	for _, kept := range []error{apperr.InvalidField("branch", "no"), apperr.InvalidField("repository", "no"), errors.New("internal")} {
		if got := integrationFault("x", kept); got != kept {
			t.Errorf("integrationFault(%v) = %v, want it unchanged", kept, got)
		}
	}
}
