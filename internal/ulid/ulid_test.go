package ulid

import (
	"slices"
	"testing"
	"time"
)

func TestNewSortsByTimeAndRoundTrips(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 100 {
		at := base.Add(time.Duration(i) * time.Millisecond)
		id := New(at)
		if !Valid(id) {
			t.Fatalf("New = %q, not Valid", id)
		}
		if got, ok := Time(id); !ok || !got.Equal(at) {
			t.Fatalf("Time(%q) = %v, %v; want %v", id, got, ok, at)
		}
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids made later do not sort later: %q", ids)
	}
	if a, b := New(base), New(base); a == b {
		t.Errorf("two ids of the same millisecond are equal: %q", a)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "01arz3ndektsv4rrffq69g5fa", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "81arz3ndektsv4rrffq69g5fav", "01arz3ndektsv4rrffq69g5fai"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	if !Valid("01arz3ndektsv4rrffq69g5fav") {
		t.Error("Valid rejects a well-formed id")
	}
}
