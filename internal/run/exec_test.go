package run

import (
	"strings"
	"testing"
)

// BoundResources keeps what a worker reports within the bounds, and drops
// a sensitive attribute's values even if a worker sent them.
func TestBoundResources(t *testing.T) {
	many := make([]AttrChange, 60)
	for i := range many {
		many[i] = AttrChange{Name: "a", After: strings.Repeat("é", 300)}
	}
	rs := []Resource{{Address: "x.a", Changes: many}, {Address: "x.b", Changes: []AttrChange{{Name: "p", Before: "s", After: "t", Sensitive: true}}}}
	for range 50 {
		rs = append(rs, Resource{Address: "x.c", Changes: append([]AttrChange(nil), many[:50]...)})
	}
	got := BoundResources(rs)
	total := 0
	for _, r := range got {
		total += len(r.Changes)
		if len(r.Changes) > maxAttrsPerResource {
			t.Fatalf("%s has %d changes", r.Address, len(r.Changes))
		}
	}
	if total != maxResourceChanges {
		t.Errorf("%d changes kept, want %d", total, maxResourceChanges)
	}
	if a := got[0].Changes[0].After; len(a) > maxAttrText+len("…") || !strings.HasSuffix(a, "…") || !strings.HasPrefix(a, "é") {
		t.Errorf("a long value kept as %d bytes: %.20q", len(a), a)
	}
	if c := got[1].Changes[0]; c.Before != "" || c.After != "" || !c.Sensitive {
		t.Errorf("a sensitive attribute kept %+v", c)
	}
}
