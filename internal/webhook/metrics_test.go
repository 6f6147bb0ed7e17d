package webhook_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/webhook"
)

// counter records what the intake tells its Metrics, as
// "integration|event|outcome" lines.
type counter struct {
	mu    sync.Mutex
	lines []string
}

func (c *counter) DeliveryReceived(integrationID, event string, outcome webhook.IntakeResult, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if took < 0 {
		outcome = "negative latency"
	}
	c.lines = append(c.lines, integrationID+"|"+event+"|"+string(outcome))
}

func (c *counter) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// TestIntakeCountsOutcomes: every answer is counted once, with labels a
// sender cannot grow (an unknown integration's id and a made-up event are
// not kept).
func TestIntakeCountsOutcomes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	c := http.DefaultClient
	body := pushBody(t)
	unknown := f.url[:len(f.url)-len("acme")] + "made-up-id"
	for _, tc := range []struct {
		url, event, token string
		body              []byte
		status            int
	}{
		{f.url, "Push Hook", hookSecret, body, http.StatusAccepted},
		{f.url, "Push Hook", hookSecret, body, http.StatusOK},
		{f.url, "Made Up Hook", hookSecret, []byte(`{"a":1}`), http.StatusAccepted},
		{f.url, "Push Hook", "wrong", body, http.StatusUnauthorized},
		{unknown, "Push Hook", hookSecret, body, http.StatusNotFound},
		{f.url, "Push Hook", hookSecret, []byte("not json"), http.StatusBadRequest},
	} {
		if status, answer := send(t, c, tc.url, tc.event, tc.token, tc.body); status != tc.status {
			t.Fatalf("POST %s %s = %d %s, want %d", tc.url, tc.event, status, answer, tc.status)
		}
	}
	want := []string{"acme|Push Hook|accepted", "acme|Push Hook|duplicate", "acme|other|ignored",
		"acme|Push Hook|unauthorized", "|Push Hook|unknown", "acme|Push Hook|invalid"}
	if got := f.counts.got(); !slices.Equal(got, want) {
		t.Errorf("counted\n%v\nwant\n%v", got, want)
	}
}

func TestEventLabelIsBounded(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Push Hook": "Push Hook", "Pipeline Hook": "Pipeline Hook", "": "none",
		"Made Up Hook": "other", "Push Hook\n": "other",
	} {
		if got := webhook.EventLabel(in); got != want {
			t.Errorf("EventLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
