package webhook

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRecent: a delivery put is taken once, as the store would return it;
// Recent keeps at most its bytes and forgets what waits past its ttl.
func TestRecent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	r := NewRecent(func() time.Time { return now })
	d := Delivery{ID: "d1", IntegrationID: "gl", Event: "Push Hook", ReceivedAt: now, Body: []byte(`{"a":1}`),
		DedupeKey: "sha256:x", Headers: map[string]string{"X": "y"}, Status: Received, UpdatedAt: now}
	r.put(d)
	d.Body[1] = 'b' // the intake's buffer goes back to its pool: Recent holds a copy
	want := Delivery{ID: "d1", IntegrationID: "gl", Event: "Push Hook", ReceivedAt: now.Truncate(time.Microsecond), Body: []byte(`{"a":1}`)}
	if got, ok := r.Take("d1"); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Take = %+v, %v\nwant %+v", got, ok, want)
	}
	if _, ok := r.Take("d1"); ok {
		t.Error("taken twice")
	}
	if r.size != 0 {
		t.Errorf("size %d after taking everything", r.size)
	}

	for _, tc := range []struct {
		name    string
		advance time.Duration
		bodies  int // of recentMaxBytes/4 each
		want    []bool
	}{
		{"up to its bytes", 0, 5, []bool{true, true, true, true, false}},
		{"what waited past the ttl is forgotten", recentTTL, 1, []bool{true}},
	} {
		r := NewRecent(func() time.Time { return now })
		r.put(Delivery{ID: "old", Body: []byte("{}")})
		now = now.Add(tc.advance)
		for i := range tc.bodies {
			r.put(Delivery{ID: fmt.Sprint(i), Body: []byte(strings.Repeat(" ", recentMaxBytes/4-2))})
		}
		for i, w := range tc.want {
			if _, ok := r.Take(fmt.Sprint(i)); ok != w {
				t.Errorf("%s: delivery %d held = %v, want %v", tc.name, i, ok, w)
			}
		}
		if _, ok := r.Take("old"); ok == (tc.advance >= recentTTL) {
			t.Errorf("%s: the first delivery held = %v after %s", tc.name, ok, tc.advance)
		}
	}

	// A body larger than all it may hold (MaxBody is far larger) is left
	// to the store.
	huge := NewRecent(nil)
	huge.put(Delivery{ID: "huge", Body: make([]byte, recentMaxBytes+1)})
	if _, ok := huge.Take("huge"); ok || huge.size != 0 {
		t.Errorf("a body over the bound was held (size %d)", huge.size)
	}

	var nilRecent *Recent // no Recent configured: nothing held
	nilRecent.put(d)
	if _, ok := nilRecent.Take("d1"); ok {
		t.Error("a nil Recent held a delivery")
	}
}
