package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func testIntegration(id, spaceID string, isDefault bool) integration.Integration {
	return integration.Integration{
		ID: id, Provider: integration.GitLab, Name: id, IsDefault: isDefault, SpaceID: spaceID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com",
		Labels: []string{}, DriftIssueLabels: []string{}, TokenScopes: []string{"api"}, TokenSealed: []byte{1, 2, 3}, WebhookSecretSealed: []byte{4, 5, 6},
		TokenUser: "hoist-bot", TokenUserID: 42, CreatedAt: base, UpdatedAt: base, CreatedBy: "user:admin",
	}
}

func entry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "integration", ResourceID: id,
		SpaceID: space.RootID, Detail: map[string]any{"fields": []any{"labels"}}}
}

// auditCount returns how many audit entries there are about resource id.
func auditCount(t *testing.T, s *sqlstore.Store, id string) int {
	t.Helper()
	es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "integration", ResourceID: id}, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func testIntegrations(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	mustSpace(t, s, space.Space{ID: "b"})

	exp := base.Add(40 * 24 * time.Hour)
	def := testIntegration("acme-gitlab", space.RootID, true)
	def.Labels, def.Description, def.CABundle, def.TokenExpiresAt = []string{"eu", "prod"}, "# hi", "PEM", &exp
	def.UserFacingHost = "private://pool"
	def.DriftIssue, def.DriftIssueLabels = true, []string{"drift", "team::infra"}
	if err := s.CreateIntegration(ctx(), def, entry("integration.create", def.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIntegration(ctx(), def.ID)
	if err != nil || !reflect.DeepEqual(got, def) {
		t.Errorf("GetIntegration = %+v, %v\nwant %+v", got, err, def)
	}
	if n := auditCount(t, s, def.ID); n != 1 {
		t.Errorf("audit entries after create = %d", n)
	}
	_, err = s.GetIntegration(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)

	t.Run("conflicts write nothing", func(t *testing.T) {
		second := testIntegration("other-gitlab", space.RootID, true)
		err := s.CreateIntegration(ctx(), second, entry("integration.create", second.ID))
		wantCode(t, err, apperr.Conflict)
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "default") || !strings.Contains(msg, def.ID) {
			t.Errorf("second default message %q", msg)
		}
		dup := testIntegration(def.ID, "a", false)
		err = s.CreateIntegration(ctx(), dup, entry("integration.create", dup.ID))
		wantCode(t, err, apperr.Conflict)
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "id") {
			t.Errorf("duplicate id message %q", msg)
		}
		wantField(t, s.CreateIntegration(ctx(), testIntegration("lost", "nope", false), entry("integration.create", "lost")), "space")
		// The failed writes left no audit entries and no rows.
		for _, id := range []string{"other-gitlab", "lost"} {
			if n := auditCount(t, s, id); n != 0 {
				t.Errorf("%s: %d audit entries after a failed write", id, n)
			}
			_, err := s.GetIntegration(ctx(), id)
			wantCode(t, err, apperr.NotFound)
		}
		if n := auditCount(t, s, def.ID); n != 1 {
			t.Errorf("audit entries of %s = %d, want 1", def.ID, n)
		}
	})

	t.Run("audit failure rolls back the write", func(t *testing.T) {
		in := testIntegration("half", "a", false)
		bad := entry("", in.ID) // an entry without an action cannot be written
		if err := s.CreateIntegration(ctx(), in, bad); err == nil {
			t.Fatal("create with an unwritable audit entry succeeded")
		}
		_, err := s.GetIntegration(ctx(), in.ID)
		wantCode(t, err, apperr.NotFound)
		if err := s.DeleteIntegration(ctx(), def.ID, bad); err == nil {
			t.Fatal("delete with an unwritable audit entry succeeded")
		}
		if _, err := s.GetIntegration(ctx(), def.ID); err != nil {
			t.Errorf("integration gone after a failed delete: %v", err)
		}
		changed := def
		changed.Description = "changed"
		if err := s.UpdateIntegration(ctx(), changed, bad); err == nil {
			t.Fatal("update with an unwritable audit entry succeeded")
		}
		if got, _ := s.GetIntegration(ctx(), def.ID); got.Description != def.Description {
			t.Errorf("description = %q after a failed update", got.Description)
		}
	})

	t.Run("update", func(t *testing.T) {
		in := testIntegration("space-gitlab", "a", false)
		if err := s.CreateIntegration(ctx(), in, entry("integration.create", in.ID)); err != nil {
			t.Fatal(err)
		}
		in.SpaceID, in.APIHost, in.UserFacingHost = "b", "http://10.0.0.1:8080", "https://gitlab.corp"
		in.Labels, in.Description, in.CABundle = []string{"x"}, "new", "PEM2"
		in.DriftIssue, in.DriftIssueLabels = true, []string{"drifted"}
		in.TokenSealed, in.WebhookSecretSealed = []byte("new-token"), []byte("new-secret")
		in.TokenUser, in.TokenUserID, in.TokenScopes = "other", 7, []string{"api", "read_repository"}
		in.UpdatedAt = base.Add(time.Hour)
		in.Name, in.CreatedBy, in.CreatedAt = "ignored", "ignored", base.Add(time.Hour) // immutable
		if err := s.UpdateIntegration(ctx(), in, entry("integration.update", in.ID)); err != nil {
			t.Fatal(err)
		}
		want := in
		want.Name, want.CreatedBy, want.CreatedAt = "space-gitlab", "user:admin", base
		if got, _ := s.GetIntegration(ctx(), in.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("after update %+v\nwant %+v", got, want)
		}
		if n := auditCount(t, s, in.ID); n != 2 {
			t.Errorf("audit entries = %d, want 2", n)
		}
		in.IsDefault, in.SpaceID = true, space.RootID
		wantCode(t, s.UpdateIntegration(ctx(), in, entry("integration.update", in.ID)), apperr.Conflict)
		in.IsDefault, in.SpaceID = false, "nope"
		wantField(t, s.UpdateIntegration(ctx(), in, entry("integration.update", in.ID)), "space")
		ghost := testIntegration("ghost", "a", false)
		wantCode(t, s.UpdateIntegration(ctx(), ghost, entry("integration.update", "ghost")), apperr.NotFound)
		if n := auditCount(t, s, in.ID) + auditCount(t, s, "ghost"); n != 2 {
			t.Errorf("failed updates wrote audit entries: %d", n)
		}
	})

	t.Run("delete frees the id", func(t *testing.T) {
		in := testIntegration("again", "a", false)
		for i := range 2 {
			if err := s.CreateIntegration(ctx(), in, entry("integration.create", in.ID)); err != nil {
				t.Fatalf("create #%d: %v", i, err)
			}
			if err := s.DeleteIntegration(ctx(), in.ID, entry("integration.delete", in.ID)); err != nil {
				t.Fatalf("delete #%d: %v", i, err)
			}
		}
		wantCode(t, s.DeleteIntegration(ctx(), in.ID, entry("integration.delete", in.ID)), apperr.NotFound)
		if n := auditCount(t, s, in.ID); n != 4 {
			t.Errorf("audit entries = %d, want 4 (history survives deletion)", n)
		}
	})
}

func testIntegrationList(t *testing.T, h Harness) {
	s := fresh(t, h)
	for _, id := range []string{"a", "b", "c"} {
		mustSpace(t, s, space.Space{ID: id})
	}
	// Created one minute apart, two of them in the same instant.
	plan := []struct {
		id, space string
		isDefault bool
		minute    int
	}{
		{"def", space.RootID, true, 0}, {"in-root", space.RootID, false, 1}, {"in-a", "a", false, 2},
		{"in-a-2", "a", false, 3}, {"in-b", "b", false, 3}, {"in-c", "c", false, 4},
	}
	for _, p := range plan {
		in := testIntegration(p.id, p.space, p.isDefault)
		in.CreatedAt = base.Add(time.Duration(p.minute) * time.Minute)
		if err := s.CreateIntegration(ctx(), in, entry("integration.create", in.ID)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f integration.Filter, limit int) string {
		t.Helper()
		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.ListIntegrations(ctx(), f, cursor, limit)
			if err != nil || pages > 10 || (limit > 0 && len(page) > limit) {
				t.Fatalf("ListIntegrations(%+v): page %d, %d items, %v", f, pages, len(page), err)
			}
			for _, in := range page {
				ids = append(ids, in.ID)
			}
			if next == "" {
				return strings.Join(ids, " ")
			}
			cursor = next
		}
	}
	tests := []struct {
		f    integration.Filter
		want string
	}{
		{integration.Filter{All: true}, "in-c in-b in-a-2 in-a in-root def"},
		{integration.Filter{}, "def"},
		{integration.Filter{Spaces: []string{"a"}}, "in-a-2 in-a def"},
		{integration.Filter{Spaces: []string{"b", "c", "nope"}}, "in-c in-b def"},
		{integration.Filter{Spaces: []string{space.RootID}}, "in-root def"},
		{integration.Filter{All: true, Provider: integration.GitLab}, "in-c in-b in-a-2 in-a in-root def"},
		{integration.Filter{All: true, Provider: "github"}, ""},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 0} {
			if got := list(tt.f, limit); got != tt.want {
				t.Errorf("list %+v (limit %d) = %q, want %q", tt.f, limit, got, tt.want)
			}
		}
	}
	_, _, err := s.ListIntegrations(ctx(), integration.Filter{All: true}, "garbage", 1)
	wantField(t, err, "cursor")
}
