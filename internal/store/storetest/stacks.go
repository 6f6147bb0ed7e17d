package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func testStack(id, spaceID, integrationID string) stack.Stack {
	return stack.Stack{
		ID: id, Name: id, SpaceID: spaceID, IntegrationID: integrationID, Repository: "acme/infra", ProjectID: 7,
		Branch: "main", ProjectRoot: "", AdditionalProjectGlobs: []string{}, Labels: []string{}, ApplyRequirements: []string{}, DriftIssueLabels: []string{},
		Tool: stack.OpenTofu, DriftIssue: stack.DriftIssueInherit,
		WorkerPool: stack.DefaultWorkerPool, CreatedAt: base, UpdatedAt: base, CreatedBy: "user:admin",
	}
}

func stackEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "stack", ResourceID: id,
		SpaceID: space.RootID, Detail: map[string]any{"fields": []any{"labels"}}}
}

// stackFixture is a store with spaces a and b and integrations gl (default)
// and gl-a (in space a).
func stackFixture(t *testing.T, h Harness) *sqlstore.Store {
	t.Helper()
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	mustSpace(t, s, space.Space{ID: "b"})
	for _, in := range []struct {
		id, space string
		def       bool
	}{{"gl", space.RootID, true}, {"gl-a", "a", false}} {
		it := testIntegration(in.id, in.space, in.def)
		if err := s.CreateIntegration(ctx(), it, entry("integration.create", it.ID)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func mustStack(t *testing.T, s *sqlstore.Store, st stack.Stack) stack.Stack {
	t.Helper()
	if err := s.CreateStack(ctx(), st, stackEntry("stack.create", st.ID)); err != nil {
		t.Fatalf("create stack %s: %v", st.ID, err)
	}
	return st
}

func testStacks(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	full := testStack("infra", "a", "gl-a")
	full.Name, full.Repository, full.ProjectID, full.Branch = "Infra", "Acme/Platform/Infra", 42, "release/1.x"
	full.ProjectRoot, full.AdditionalProjectGlobs, full.Labels = "infra/prod", []string{"modules/**", "*.tfvars"}, []string{"eu", "prod"}
	full.Autodeploy, full.Description, full.Tool, full.ToolVersion = true, "# Infra", stack.Terraform, "1.9.0"
	full.WorkerPool, full.AllowForkMRs, full.GitCheckout = "private", true, true
	full.MRPlanMinAccess, full.MRApply, full.MRApplyMinAccess = "reporter", true, "owner"
	full.ApplyRequirements, full.MRAutomerge = []string{"approved", "undiverged"}, true
	full.DriftIssue, full.DriftIssueLabels = stack.DriftIssueOn, []string{"drift", "team::infra"}
	full.TrackedCommit = &stack.TrackedCommit{SHA: strings.Repeat("a", 40), Branch: "release/1.x", MovedAt: base}
	mustStack(t, s, full)
	got, err := s.GetStack(ctx(), full.ID)
	if err != nil || !reflect.DeepEqual(got, full) {
		t.Errorf("GetStack = %+v, %v\nwant %+v", got, err, full)
	}
	bare := mustStack(t, s, testStack("bare", space.RootID, "gl"))
	if got, _ := s.GetStack(ctx(), bare.ID); !reflect.DeepEqual(got, bare) || got.TrackedCommit != nil {
		t.Errorf("GetStack(bare) = %+v\nwant %+v", got, bare)
	}
	_, err = s.GetStack(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	if es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "stack", ResourceID: full.ID}, "", 10); err != nil || len(es) != 1 {
		t.Errorf("audit entries of the new stack: %d, %v", len(es), err)
	}

	t.Run("refused writes store nothing", func(t *testing.T) {
		dup := testStack(full.ID, "b", "gl")
		dup.Name = "Another name"
		err := s.CreateStack(ctx(), dup, stackEntry("stack.create", dup.ID))
		wantCode(t, err, apperr.Conflict)
		if !strings.Contains(apperr.MessageOf(err), "id") {
			t.Errorf("duplicate id message %q", apperr.MessageOf(err))
		}
		sameName := testStack("infra-2", "b", "gl")
		sameName.Name = "Infra"
		err = s.CreateStack(ctx(), sameName, stackEntry("stack.create", sameName.ID))
		wantCode(t, err, apperr.Conflict)
		if !strings.Contains(apperr.MessageOf(err), "named") {
			t.Errorf("duplicate name message %q", apperr.MessageOf(err))
		}
		wantField(t, s.CreateStack(ctx(), testStack("lost", "nope", "gl"), stackEntry("stack.create", "lost")), "space")
		wantField(t, s.CreateStack(ctx(), testStack("lost", "a", "nope"), stackEntry("stack.create", "lost")), "integration")
		bad := stackEntry("", "lost") // an entry without an action cannot be written
		if err := s.CreateStack(ctx(), testStack("lost", "a", "gl"), bad); err == nil {
			t.Error("create with an unwritable audit entry succeeded")
		}
		for _, id := range []string{"infra-2", "lost"} {
			_, err := s.GetStack(ctx(), id)
			wantCode(t, err, apperr.NotFound)
		}
	})

	t.Run("update", func(t *testing.T) {
		st := mustStack(t, s, testStack("upd", "a", "gl"))
		moved := stack.TrackedCommit{SHA: strings.Repeat("b", 40), Branch: "main", MovedAt: base.Add(time.Minute)}
		if ok, err := s.MoveTrackedCommit(ctx(), st.ID, moved); err != nil || !ok {
			t.Fatalf("MoveTrackedCommit = %v, %v", ok, err)
		}
		st.Name, st.SpaceID, st.IntegrationID, st.Repository, st.ProjectID = "Updated", "b", "gl-a", "acme/other", 9
		st.ProjectRoot, st.AdditionalProjectGlobs, st.Labels = "x", []string{"y/**"}, []string{"z"}
		st.Autodeploy, st.Description, st.Tool, st.ToolVersion, st.WorkerPool = true, "d", stack.Terraform, "1.5.7", "pool"
		st.AllowForkMRs, st.GitCheckout, st.UpdatedAt = true, true, base.Add(time.Hour)
		st.MRPlanMinAccess, st.MRApply, st.MRApplyMinAccess = "maintainer", true, "developer"
		st.ApplyRequirements = []string{"mergeable"}
		st.DriftIssue, st.DriftIssueLabels = stack.DriftIssueOn, []string{"drifted"}
		st.CreatedAt, st.CreatedBy = base.Add(time.Hour), "ignored" // immutable
		if err := s.UpdateStack(ctx(), st, stackEntry("stack.update", st.ID)); err != nil {
			t.Fatal(err)
		}
		want := st
		want.CreatedAt, want.CreatedBy, want.TrackedCommit = base, "user:admin", &moved // nil leaves it alone
		if got, _ := s.GetStack(ctx(), st.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("after update %+v\nwant %+v", got, want)
		}
		head := stack.TrackedCommit{SHA: strings.Repeat("c", 40), Branch: "dev", MovedAt: base.Add(2 * time.Hour)}
		st.Branch, st.TrackedCommit = "dev", &head
		if err := s.UpdateStack(ctx(), st, stackEntry("stack.update", st.ID)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetStack(ctx(), st.ID); got.TrackedCommit == nil || *got.TrackedCommit != head {
			t.Errorf("tracked commit after a branch change = %+v, want %+v", got.TrackedCommit, head)
		}
		// The three drift issue modes round-trip (migration 0034's two
		// columns); off is not on with no labels.
		for _, m := range []stack.DriftIssueMode{stack.DriftIssueOff, stack.DriftIssueInherit, stack.DriftIssueOn, stack.DriftIssueOff} {
			st.DriftIssue, st.DriftIssueLabels = m, []string{}
			if err := s.UpdateStack(ctx(), st, stackEntry("stack.update", st.ID)); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetStack(ctx(), st.ID); got.DriftIssue != m {
				t.Errorf("drift issue after update to %s = %q", m, got.DriftIssue)
			}
		}
		renamed := st
		renamed.Name = "Infra"
		wantCode(t, s.UpdateStack(ctx(), renamed, stackEntry("stack.update", st.ID)), apperr.Conflict)
		lost := st
		lost.IntegrationID = "nope"
		wantField(t, s.UpdateStack(ctx(), lost, stackEntry("stack.update", st.ID)), "integration")
		lost.IntegrationID, lost.SpaceID = "gl", "nope"
		wantField(t, s.UpdateStack(ctx(), lost, stackEntry("stack.update", st.ID)), "space")
		wantCode(t, s.UpdateStack(ctx(), testStack("ghost", "a", "gl"), stackEntry("stack.update", "ghost")), apperr.NotFound)
	})

	t.Run("tracked commit moves only on the tracked branch", func(t *testing.T) {
		st := mustStack(t, s, testStack("mover", "a", "gl"))
		c := stack.TrackedCommit{SHA: strings.Repeat("d", 40), Branch: "feature", MovedAt: base}
		if ok, err := s.MoveTrackedCommit(ctx(), st.ID, c); err != nil || ok {
			t.Errorf("move on another branch = %v, %v; want false, nil", ok, err)
		}
		if got, _ := s.GetStack(ctx(), st.ID); got.TrackedCommit != nil {
			t.Errorf("tracked commit = %+v after a refused move", got.TrackedCommit)
		}
		_, err := s.MoveTrackedCommit(ctx(), "ghost", c)
		wantCode(t, err, apperr.NotFound)
	})

	t.Run("delete", func(t *testing.T) {
		st := mustStack(t, s, testStack("gone", "b", "gl"))
		if err := s.DeleteStack(ctx(), st.ID, stackEntry("stack.delete", st.ID)); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetStack(ctx(), st.ID)
		wantCode(t, err, apperr.NotFound)
		wantCode(t, s.DeleteStack(ctx(), st.ID, stackEntry("stack.delete", st.ID)), apperr.NotFound)
		mustStack(t, s, st) // the id is free again
	})

	t.Run("a space with stacks cannot be deleted", func(t *testing.T) {
		mustSpace(t, s, space.Space{ID: "busy"})
		mustStack(t, s, testStack("in-busy", "busy", "gl"))
		wantCode(t, s.DeleteSpace(ctx(), "busy"), apperr.Conflict)
	})
}

// testStackDetach: deleting an integration detaches its stacks, which keep
// naming it, drop out of webhook lookups, and can be attached again.
func testStackDetach(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	st := mustStack(t, s, testStack("uses-a", "a", "gl-a"))
	other := mustStack(t, s, testStack("uses-default", "a", "gl"))
	if err := s.DeleteIntegration(ctx(), "gl-a", entry("integration.delete", "gl-a")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStack(ctx(), st.ID)
	if err != nil || !got.Detached() || got.IntegrationID != "" || got.DetachedFrom != "gl-a" || !strings.Contains(got.DetachedReason(), "gl-a") {
		t.Fatalf("after the integration's deletion: %+v, %v", got, err)
	}
	if got, _ := s.GetStack(ctx(), other.ID); got.Detached() {
		t.Errorf("a stack of another integration was detached")
	}
	if got, err := s.ListStacksByRepository(ctx(), "gl-a", 7, "acme/infra"); err != nil || len(got) != 0 {
		t.Errorf("webhook lookup of a deleted integration = %d stacks, %v", len(got), err)
	}
	// An unrelated update keeps it detached and naming the integration.
	got.Labels, got.UpdatedAt = []string{"still-detached"}, base.Add(time.Minute)
	if err := s.UpdateStack(ctx(), got, stackEntry("stack.update", st.ID)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.GetStack(ctx(), st.ID); !again.Detached() || again.DetachedFrom != "gl-a" {
		t.Errorf("after an update while detached: %+v", again)
	}
	got.IntegrationID = "gl"
	if err := s.UpdateStack(ctx(), got, stackEntry("stack.update", st.ID)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.GetStack(ctx(), st.ID); again.Detached() || again.IntegrationID != "gl" || again.DetachedFrom != "" {
		t.Errorf("after re-attaching: %+v", again)
	}
}

func testStackList(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	for i, sp := range []string{"a", "b", "a", space.RootID, "b", "a", "a"} {
		mustStack(t, s, testStack(fmt.Sprintf("s%d", i), sp, "gl"))
	}
	list := func(f stack.Filter, limit int) string {
		t.Helper()
		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.ListStacks(ctx(), f, cursor, limit)
			if err != nil || pages > 10 || len(page) > limit {
				t.Fatalf("ListStacks(%+v): page %d, %d items, %v", f, pages, len(page), err)
			}
			for _, st := range page {
				ids = append(ids, st.ID)
			}
			if next == "" {
				return strings.Join(ids, " ")
			}
			cursor = next
		}
	}
	for _, tt := range []struct {
		f    stack.Filter
		want string
	}{
		{stack.Filter{All: true}, "s0 s1 s2 s3 s4 s5 s6"},
		{stack.Filter{Spaces: []string{"a"}}, "s0 s2 s5 s6"},
		{stack.Filter{Spaces: []string{"b", space.RootID}}, "s1 s3 s4"},
		{stack.Filter{Spaces: []string{}}, ""},
		{stack.Filter{All: true, Space: "b"}, "s1 s4"},
		{stack.Filter{Spaces: []string{"a"}, Space: "b"}, ""},
	} {
		for _, limit := range []int{2, 3, 50} {
			if got := list(tt.f, limit); got != tt.want {
				t.Errorf("ListStacks(%+v) limit %d = %q, want %q", tt.f, limit, got, tt.want)
			}
		}
	}
	_, _, err := s.ListStacks(ctx(), stack.Filter{All: true}, "!!", 10)
	wantField(t, err, "cursor")
}

func testStacksByRepository(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	add := func(id, integrationID, repo string, projectID int64) {
		st := testStack(id, "a", integrationID)
		st.Repository, st.ProjectID = repo, projectID
		st.ProjectRoot, st.AdditionalProjectGlobs, st.Labels, st.AllowForkMRs = "infra/"+id, []string{"modules/**", id + "/*.tf"}, []string{id}, len(id)%2 == 0
		mustStack(t, s, st)
	}
	add("p7-b", "gl", "acme/infra", 7)
	add("p7-a", "gl", "acme/infra", 7)
	add("renamed", "gl", "acme/old-name", 7) // GitLab project 7 was renamed: the id still matches
	add("p8", "gl", "acme/app", 8)
	add("unresolved", "gl", "Acme/Infra", 0) // project id unknown: matched by path
	add("other-integration", "gl-a", "acme/infra", 7)
	add("unresolved-other", "gl", "acme/infra-2", 0)
	for _, tt := range []struct {
		integration string
		projectID   int64
		path        string
		want        string
	}{
		{"gl", 7, "acme/infra", "p7-a p7-b renamed unresolved"},
		{"gl", 7, "", "p7-a p7-b renamed"},
		{"gl", 0, "ACME/infra", "unresolved"},
		{"gl", 8, "acme/app", "p8"},
		{"gl-a", 7, "acme/infra", "other-integration"},
		{"gl", 99, "acme/none", ""},
		{"nope", 7, "acme/infra", ""},
		{"gl", 0, "", ""},
	} {
		got, err := s.ListStacksByRepository(ctx(), tt.integration, tt.projectID, tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, st := range got {
			ids = append(ids, st.ID)
		}
		if strings.Join(ids, " ") != tt.want {
			t.Errorf("ListStacksByRepository(%s, %d, %q) = %v, want %q", tt.integration, tt.projectID, tt.path, ids, tt.want)
		}
		lean, err := s.ListTriggerStacks(ctx(), tt.integration, tt.projectID, tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(lean) != len(got) {
			t.Fatalf("ListTriggerStacks returned %d stacks, ListStacksByRepository %d", len(lean), len(got))
		}
		for i, st := range got {
			if want := st.Trigger(); !reflect.DeepEqual(lean[i], want) {
				t.Errorf("ListTriggerStacks[%d] = %+v, want %+v", i, lean[i], want)
			}
		}
	}
}
