package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func testModule(id, spaceID string) module.Module {
	return module.Module{ID: id, Name: id, Provider: "aws", SpaceID: spaceID, IntegrationID: "acme-gitlab",
		Repository: "acme/modules/" + id, ProjectID: 0, Branch: "main", ProjectRoot: "", Labels: []string{},
		CreatedAt: base, UpdatedAt: base, CreatedBy: "user:admin"}
}

func moduleEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "module", ResourceID: id, SpaceID: space.RootID}
}

func moduleAuditCount(t *testing.T, s *sqlstore.Store, id string) int {
	t.Helper()
	es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "module", ResourceID: id}, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func testModules(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	mustSpace(t, s, space.Space{ID: "b"})

	vpc := testModule("vpc", "a")
	vpc.ProjectID, vpc.ProjectRoot, vpc.Labels, vpc.Description = 7, "modules/vpc", []string{"net"}, "# VPC"
	if err := s.CreateModule(ctx(), vpc, moduleEntry("module.create", "vpc")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetModule(ctx(), "vpc")
	if err != nil || !reflect.DeepEqual(got, vpc) {
		t.Errorf("GetModule = %+v, %v\nwant %+v", got, err, vpc)
	}
	_, err = s.GetModule(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.CreateModule(ctx(), testModule("vpc", "b"), moduleEntry("module.create", "vpc")), apperr.Conflict)
	wantField(t, s.CreateModule(ctx(), testModule("lost", "nope"), moduleEntry("module.create", "lost")), "space")
	if n := moduleAuditCount(t, s, "vpc"); n != 1 {
		t.Errorf("audit entries for vpc = %d, want 1 (failed writes write none)", n)
	}

	// By repository: the project id when known, else the path.
	dns := testModule("dns", "b")
	dns.Repository = "Acme/Modules/DNS"
	for _, m := range []module.Module{dns, testModule("zeta", "b")} {
		if err := s.CreateModule(ctx(), m, moduleEntry("module.create", m.ID)); err != nil {
			t.Fatal(err)
		}
	}
	byRepo := func(integration string, pid int64, path string) []string {
		t.Helper()
		ms, err := s.ListModulesByRepository(ctx(), integration, pid, path)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for _, tt := range []struct {
		integration string
		pid         int64
		path        string
		want        []string
	}{
		{"acme-gitlab", 7, "whatever", []string{"vpc"}},
		{"acme-gitlab", 99, "acme/modules/vpc", []string{}},
		{"acme-gitlab", 99, "acme/modules/dns", []string{"dns"}},
		{"other", 7, "acme/modules/dns", []string{}},
	} {
		if got := byRepo(tt.integration, tt.pid, tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListModulesByRepository(%s, %d, %s) = %v, want %v", tt.integration, tt.pid, tt.path, got, tt.want)
		}
	}

	t.Run("list", func(t *testing.T) { testModuleList(t, s) })
	t.Run("versions", func(t *testing.T) { testModuleVersions(t, s) })
}

func testModuleList(t *testing.T, s *sqlstore.Store) {
	var ids []string
	cursor := ""
	for {
		ms, next, err := s.ListModules(ctx(), module.Filter{All: true}, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"dns", "vpc", "zeta"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("paged ids = %v, want %v", ids, want)
	}
	ms, _, err := s.ListModules(ctx(), module.Filter{Spaces: []string{"a"}}, "", 10)
	if err != nil || len(ms) != 1 || ms[0].ID != "vpc" {
		t.Errorf("space a = %+v, %v", ms, err)
	}
	ms, _, err = s.ListModules(ctx(), module.Filter{}, "", 10)
	if err != nil || len(ms) != 0 {
		t.Errorf("no spaces = %+v, %v", ms, err)
	}
	_, _, err = s.ListModules(ctx(), module.Filter{All: true}, "!!", 10)
	wantField(t, err, "cursor")
}

func testModuleVersions(t *testing.T, s *sqlstore.Store) {
	sha := "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	v1 := module.Version{ModuleID: "vpc", Version: "0.1.0", SHA: sha, Tag: "v0.1.0", State: module.Published,
		CreatedBy: "gitlab:alice", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateVersion(ctx(), v1, moduleEntry("module.version.create", "vpc")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVersion(ctx(), "vpc", "0.1.0")
	if err != nil || !reflect.DeepEqual(got, v1) {
		t.Errorf("GetVersion = %+v, %v\nwant %+v", got, err, v1)
	}
	_, err = s.GetVersion(ctx(), "vpc", "9.9.9")
	wantCode(t, err, apperr.NotFound)
	// Never reused: the same version again, whatever the commit or state.
	again := v1
	again.SHA, again.Tag = "0000000000000000000000000000000000000001", "0.1.0"
	wantCode(t, s.CreateVersion(ctx(), again, moduleEntry("module.version.create", "vpc")), apperr.Conflict)
	wantCode(t, s.CreateVersion(ctx(), module.Version{ModuleID: "nope", Version: "1.0.0", SHA: sha, State: module.Published,
		CreatedAt: base, UpdatedAt: base}, moduleEntry("module.version.create", "nope")), apperr.NotFound)

	for i, ver := range []string{"0.2.0", "1.0.0"} {
		v := v1
		v.Version, v.CreatedAt, v.UpdatedAt = ver, base.Add(time.Duration(i+1)*time.Minute), base
		if err := s.CreateVersion(ctx(), v, moduleEntry("module.version.create", "vpc")); err != nil {
			t.Fatal(err)
		}
	}
	var vers []string
	cursor := ""
	for {
		vs, next, err := s.ListVersions(ctx(), "vpc", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			vers = append(vers, v.Version)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"1.0.0", "0.2.0", "0.1.0"}; !reflect.DeepEqual(vers, want) {
		t.Errorf("versions newest first = %v, want %v", vers, want)
	}

	at := base.Add(time.Hour)
	if err := s.MarkVersionBad(ctx(), "vpc", "0.2.0", "breaks subnets", at, moduleEntry("module.version.mark_bad", "vpc")); err != nil {
		t.Fatal(err)
	}
	bad, err := s.GetVersion(ctx(), "vpc", "0.2.0")
	if err != nil || bad.State != module.Bad || bad.Note != "breaks subnets" || !bad.UpdatedAt.Equal(at) {
		t.Errorf("marked bad = %+v, %v", bad, err)
	}
	wantCode(t, s.MarkVersionBad(ctx(), "vpc", "7.0.0", "x", at, moduleEntry("module.version.mark_bad", "vpc")), apperr.NotFound)

	// Deleting the module removes its versions; the audit history stays.
	if err := s.DeleteModule(ctx(), "vpc", moduleEntry("module.delete", "vpc")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetModule(ctx(), "vpc")
	wantCode(t, err, apperr.NotFound)
	vs, _, err := s.ListVersions(ctx(), "vpc", "", 10)
	if err != nil || len(vs) != 0 {
		t.Errorf("versions after delete = %+v, %v", vs, err)
	}
	wantCode(t, s.DeleteModule(ctx(), "vpc", moduleEntry("module.delete", "vpc")), apperr.NotFound)
	if n := moduleAuditCount(t, s, "vpc"); n != 6 {
		t.Errorf("audit entries for vpc = %d, want 6", n)
	}
}
