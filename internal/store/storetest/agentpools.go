package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

func poolEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "apikey:admin", Action: action, ResourceType: "vcs_agent_pool", ResourceID: id, SpaceID: "root"}
}

func testAgentPools(t *testing.T, h Harness) {
	s := fresh(t, h)
	p := vcsagent.Pool{ID: "private-net", Name: "Private net", Description: "# lab\nagents", TokenHash: "hash-1",
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
		q := vcsagent.Pool{ID: fmt.Sprintf("pool%d", i), Name: fmt.Sprintf("pool %d", i), TokenHash: "h", CreatedAt: base, RotatedAt: base}
		if err := s.CreateAgentPool(ctx(), q, poolEntry("vcs_agent_pool.create", q.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page, next, err := s.ListAgentPools(ctx(), cursor, 2)
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
