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
	"github.com/hoistdev/hoist/internal/vcsagent"
)

func poolEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "apikey:admin", Action: action, ResourceType: "vcs_agent_pool", ResourceID: id, SpaceID: space.RootID}
}

func testAgentPools(t *testing.T, h Harness) {
	s := fresh(t, h)
	p := vcsagent.Pool{ID: "private-net", Name: "Private net", SpaceID: space.RootID, Description: "# lab\nagents", TokenHash: "hash-1",
		CreatedAt: base, CreatedBy: "apikey:admin", RotatedAt: base}
	if err := s.CreateAgentPool(ctx(), p, poolEntry("vcs_agent_pool.create", p.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAgentPool(ctx(), p.ID)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("GetAgentPool = %+v, %v\nwant %+v", got, err, p)
	}
	wantCode(t, s.CreateAgentPool(ctx(), p, poolEntry("vcs_agent_pool.create", p.ID)), apperr.Conflict)
	_, err = s.GetAgentPool(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)

	later := base.Add(time.Hour)
	if err := s.SetAgentPoolToken(ctx(), p.ID, "hash-2", later, poolEntry("vcs_agent_pool.rotate_token", p.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAgentPool(ctx(), p.ID); got.TokenHash != "hash-2" || !got.RotatedAt.Equal(later) || !got.CreatedAt.Equal(base) {
		t.Errorf("after rotation: %+v", got)
	}
	wantCode(t, s.SetAgentPoolToken(ctx(), "nope", "h", later, poolEntry("vcs_agent_pool.rotate_token", "nope")), apperr.NotFound)

	// Paging by id.
	for i := range 4 {
		q := vcsagent.Pool{ID: fmt.Sprintf("pool%d", i), Name: fmt.Sprintf("pool %d", i), SpaceID: space.RootID, TokenHash: "h", CreatedAt: base, RotatedAt: base}
		if err := s.CreateAgentPool(ctx(), q, poolEntry("vcs_agent_pool.create", q.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page, next, err := s.ListAgentPools(ctx(), vcsagent.Filter{All: true}, cursor, 2)
		if err != nil || len(page) > 2 {
			t.Fatalf("ListAgentPools: %d items, %v", len(page), err)
		}
		for _, q := range page {
			ids = append(ids, q.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if want := []string{"pool0", "pool1", "pool2", "pool3", "private-net"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}

	if err := s.DeleteAgentPool(ctx(), p.ID, poolEntry("vcs_agent_pool.delete", p.ID)); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAgentPool(ctx(), p.ID)
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.DeleteAgentPool(ctx(), p.ID, poolEntry("vcs_agent_pool.delete", p.ID)), apperr.NotFound)

	// Every change is audited with the change itself.
	entries, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "vcs_agent_pool", ResourceID: p.ID}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if want := []string{"vcs_agent_pool.delete", "vcs_agent_pool.rotate_token", "vcs_agent_pool.create"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audit actions = %v, want %v", actions, want)
	}
}

// testAgentPoolSpaces: a pool belongs to an existing space, listings filter
// by space, an update moves it and changes its description (with its audit
// entry), and a space holding a pool cannot be deleted.
func testAgentPoolSpaces(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "team-a"})
	mustSpace(t, s, space.Space{ID: "team-b"})
	pool := func(id, sp string) vcsagent.Pool {
		return vcsagent.Pool{ID: id, Name: id, SpaceID: sp, TokenHash: "h", CreatedAt: base, RotatedAt: base, CreatedBy: "apikey:admin"}
	}
	wantField(t, s.CreateAgentPool(ctx(), pool("ghost-pool", "ghost"), poolEntry("vcs_agent_pool.create", "ghost-pool")), "space")
	for _, p := range []vcsagent.Pool{pool("a1", "team-a"), pool("a2", "team-a"), pool("b1", "team-b"), pool("r1", space.RootID)} {
		if err := s.CreateAgentPool(ctx(), p, poolEntry("vcs_agent_pool.create", p.ID)); err != nil {
			t.Fatal(err)
		}
	}
	listed := func(f vcsagent.Filter) []string {
		t.Helper()
		page, next, err := s.ListAgentPools(ctx(), f, "", 100)
		if err != nil || next != "" {
			t.Fatalf("ListAgentPools(%+v): next %q, %v", f, next, err)
		}
		ids := []string{}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		return ids
	}
	for _, tt := range []struct {
		f    vcsagent.Filter
		want []string
	}{
		{vcsagent.Filter{All: true}, []string{"a1", "a2", "b1", "r1"}},
		{vcsagent.Filter{Spaces: []string{"team-a"}}, []string{"a1", "a2"}},
		{vcsagent.Filter{Spaces: []string{"team-b", space.RootID}}, []string{"b1", "r1"}},
		{vcsagent.Filter{}, []string{}},
		{vcsagent.Filter{Spaces: []string{}}, []string{}},
	} {
		if got := listed(tt.f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListAgentPools(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}

	moved := pool("a2", "team-b")
	moved.Description = "moved"
	e := poolEntry("vcs_agent_pool.update", "a2")
	e.SpaceID = "team-b"
	if err := s.UpdateAgentPool(ctx(), moved, e); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetAgentPool(ctx(), "a2"); err != nil || !reflect.DeepEqual(got, moved) {
		t.Errorf("after update: %+v, %v\nwant %+v", got, err, moved)
	}
	wantField(t, s.UpdateAgentPool(ctx(), pool("a1", "ghost"), poolEntry("vcs_agent_pool.update", "a1")), "space")
	wantCode(t, s.UpdateAgentPool(ctx(), pool("nope", "team-a"), poolEntry("vcs_agent_pool.update", "nope")), apperr.NotFound)
	if got, _ := s.GetAgentPool(ctx(), "a1"); got.SpaceID != "team-a" {
		t.Errorf("a refused update changed the pool: %+v", got)
	}
	entries, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "vcs_agent_pool", ResourceID: "a2"}, "", 10)
	if err != nil || len(entries) != 2 || entries[0].Action != "vcs_agent_pool.update" || entries[0].SpaceID != "team-b" {
		t.Errorf("audit of a2 = %+v, %v", entries, err)
	}

	err = s.DeleteSpace(ctx(), "team-a")
	wantCode(t, err, apperr.Conflict)
	if err == nil || !strings.Contains(err.Error(), "VCS agent pools a1") {
		t.Errorf("deleting a space with a pool: %v", err)
	}
	if err := s.DeleteAgentPool(ctx(), "a1", poolEntry("vcs_agent_pool.delete", "a1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpace(ctx(), "team-a"); err != nil {
		t.Errorf("deleting the emptied space: %v", err)
	}
}
