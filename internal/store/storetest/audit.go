package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
)

func testAudit(t *testing.T, h Harness) {
	s := fresh(t, h)
	for i := range 5 {
		kind := "integration"
		if i%2 == 1 {
			kind = "space"
		}
		e := audit.Entry{At: base.Add(time.Duration(i) * time.Second), Actor: "apikey:k", Action: kind + ".update",
			ResourceType: kind, ResourceID: fmt.Sprintf("r%d", i), SpaceID: "root", Detail: map[string]any{"fields": []any{"name"}, "n": float64(i)}}
		if err := s.AppendAudit(ctx(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx(), audit.Entry{Actor: "x", At: base}); err == nil {
		t.Error("an entry without an action was written")
	}
	list := func(f audit.Filter, limit int) []audit.Entry {
		t.Helper()
		var out []audit.Entry
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.ListAudit(ctx(), f, cursor, limit)
			if err != nil || pages > 10 || len(page) > limit {
				t.Fatalf("ListAudit: %d items, %v", len(page), err)
			}
			out = append(out, page...)
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	all := list(audit.Filter{}, 2)
	if len(all) != 5 {
		t.Fatalf("got %d entries", len(all))
	}
	for i, e := range all {
		if want := fmt.Sprintf("r%d", 4-i); e.ResourceID != want {
			t.Errorf("entry %d = %s, want %s (newest first)", i, e.ResourceID, want)
		}
		if i > 0 && e.ID >= all[i-1].ID {
			t.Errorf("ids not decreasing: %d after %d", e.ID, all[i-1].ID)
		}
	}
	first := all[4]
	want := audit.Entry{ID: first.ID, At: base, Actor: "apikey:k", Action: "integration.update", ResourceType: "integration",
		ResourceID: "r0", SpaceID: "root", Detail: map[string]any{"fields": []any{"name"}, "n": float64(0)}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("entry = %+v\nwant %+v", first, want)
	}
	if got := list(audit.Filter{ResourceType: "integration"}, 1); len(got) != 3 || got[0].ResourceID != "r4" {
		t.Errorf("integration entries = %+v", got)
	}
	if got := list(audit.Filter{ResourceType: "space", ResourceID: "r1"}, 5); len(got) != 1 {
		t.Errorf("r1 entries = %+v", got)
	}
	_, _, err := s.ListAudit(ctx(), audit.Filter{}, "x", 1)
	wantField(t, err, "cursor")
}
