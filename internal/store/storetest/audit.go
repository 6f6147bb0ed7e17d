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
	testAuditFilters(t, h)
}

// testAuditFilters: actor, action (one, or a family), space and time range,
// combined and paged.
func testAuditFilters(t *testing.T, h Harness) {
	s := fresh(t, h)
	entries := []audit.Entry{
		{Actor: "user:admin", Action: "user.create", ResourceType: "user", ResourceID: "ann", SpaceID: "root"},
		{Actor: "user:admin", Action: "user.disable", ResourceType: "user", ResourceID: "ann", SpaceID: "root"},
		{Actor: "apikey:k1", Action: "users.odd", ResourceType: "user", ResourceID: "bob", SpaceID: "root"},
		{Actor: "apikey:k1", Action: "stack.create", ResourceType: "stack", ResourceID: "web", SpaceID: "team"},
		{Actor: "user:admin", Action: "user_x.create", ResourceType: "user", ResourceID: "cat", SpaceID: "team"},
		{Actor: "user:admin", Action: "user.enable", ResourceType: "user", ResourceID: "ann", SpaceID: "root"},
	}
	for i, e := range entries {
		e.At = base.Add(time.Duration(i) * time.Minute)
		if err := s.AppendAudit(ctx(), e); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f audit.Filter) []string {
		t.Helper()
		var out []string
		cursor := ""
		for range 10 {
			page, next, err := s.ListAudit(ctx(), f, cursor, 1)
			if err != nil {
				t.Fatalf("ListAudit(%+v): %v", f, err)
			}
			for _, e := range page {
				out = append(out, e.Action+"@"+e.At.Sub(base).String())
			}
			if next == "" {
				return out
			}
			cursor = next
		}
		t.Fatalf("ListAudit(%+v) never ends", f)
		return nil
	}
	for _, c := range []struct {
		name string
		f    audit.Filter
		want []string
	}{
		{"actor", audit.Filter{Actor: "apikey:k1"}, []string{"stack.create@3m0s", "users.odd@2m0s"}},
		{"one action", audit.Filter{Action: "user.disable"}, []string{"user.disable@1m0s"}},
		{"a family, not its look-alikes", audit.Filter{Action: "user"}, []string{"user.enable@5m0s", "user.disable@1m0s", "user.create@0s"}},
		{"a family is case-sensitive", audit.Filter{Action: "USER"}, nil},
		{"a wildcard is a character", audit.Filter{Action: "user%"}, nil},
		{"space", audit.Filter{SpaceID: "team"}, []string{"user_x.create@4m0s", "stack.create@3m0s"}},
		{"since is inclusive", audit.Filter{Since: base.Add(4 * time.Minute)}, []string{"user.enable@5m0s", "user_x.create@4m0s"}},
		{"until is exclusive", audit.Filter{Until: base.Add(time.Minute)}, []string{"user.create@0s"}},
		{"combined", audit.Filter{Actor: "user:admin", Action: "user", ResourceID: "ann", Since: base.Add(30 * time.Second), Until: base.Add(time.Hour)},
			[]string{"user.enable@5m0s", "user.disable@1m0s"}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
