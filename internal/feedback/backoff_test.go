package feedback

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/vcs"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	header := func(kv ...string) *vcs.Error {
		e := &vcs.Error{}
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "Retry-After":
				e.RetryAfter = kv[i+1]
			case "RateLimit-Reset":
				e.RateLimitReset = kv[i+1]
			}
		}
		return e
	}
	b := Backoff{Base: time.Second, Max: time.Minute, Cap: time.Hour}
	tests := []struct {
		name     string
		attempt  int
		resp     *vcs.Error
		rnd      float64
		min, max time.Duration
	}{
		{"retry-after seconds", 1, header("Retry-After", "2"), 0, 2 * time.Second, 2 * time.Second},
		{"retry-after with jitter", 1, header("Retry-After", "2"), 0.999, 2 * time.Second, 2300 * time.Millisecond},
		{"retry-after date", 1, header("Retry-After", now.Add(30*time.Second).Format(http.TimeFormat)), 0, 30 * time.Second, 30 * time.Second},
		{"retry-after beats ratelimit-reset", 1, header("Retry-After", "5", "RateLimit-Reset", strconv.FormatInt(now.Add(time.Minute).Unix(), 10)), 0, 5 * time.Second, 5 * time.Second},
		{"ratelimit-reset", 1, header("RateLimit-Reset", strconv.FormatInt(now.Add(40*time.Second).Unix(), 10)), 0, 40 * time.Second, 40 * time.Second},
		{"network error, first retry", 1, nil, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{"exponential", 4, header(), 0.999, 7 * time.Second, 8 * time.Second},
		{"exponential capped at max", 30, nil, 0, 30 * time.Second, 30 * time.Second},
		{"asked wait capped", 1, header("Retry-After", "86400"), 0, time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := b.Delay(tt.attempt, tt.resp, now, func() float64 { return tt.rnd })
			if got < tt.min || got > tt.max {
				t.Errorf("Delay = %s, want [%s, %s]", got, tt.min, tt.max)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	t.Parallel()
	members := func(states ...string) []CommitRun {
		var out []CommitRun
		for _, s := range states {
			out = append(out, CommitRun{State: s})
		}
		return out
	}
	tests := []struct {
		states     []string
		want, desc string
	}{
		{[]string{"pending", "pending"}, "pending", "Runs queued"},
		{[]string{"pending", "running"}, "running", "Runs in progress"},
		{[]string{"success", "pending"}, "running", "Runs in progress"},
		{[]string{"waiting", "running"}, "running", "Runs in progress"},
		{[]string{"success", "running", "failed"}, "failed", "3 runs: 1 failed, 1 running, 1 succeeded"},
		{[]string{"success", "canceled"}, "canceled", "2 runs: 1 canceled, 1 succeeded"},
		{[]string{"success", "success"}, "success", "2 runs: 2 succeeded"},
		// Waiting for confirmation rests: GitLab may show it (success),
		// and the next change replaces it.
		{[]string{"success", "waiting", "success"}, "success", "3 runs: 1 waiting for confirmation, 2 succeeded"},
		{[]string{"waiting"}, "success", "1 run: 1 waiting for confirmation"},
	}
	for _, tt := range tests {
		if got, desc := Aggregate(members(tt.states...)); got != tt.want || desc != tt.desc {
			t.Errorf("Aggregate(%v) = %s %q, want %s %q", tt.states, got, desc, tt.want, tt.desc)
		}
	}
}

func TestWriteOrder(t *testing.T) {
	t.Parallel()
	m := Mark{Ord: "01b", Rank: 2, ID: 10}
	tests := []struct {
		w    Write
		want bool
	}{
		{Write{Ord: "01c", Rank: 1, ID: 5}, true},   // a newer run
		{Write{Ord: "01a", Rank: 3, ID: 50}, false}, // an older run, however late
		{Write{Ord: "01b", Rank: 3, ID: 11}, true},  // the same run, further on
		{Write{Ord: "01b", Rank: 1, ID: 12}, false}, // the same run, backwards
		{Write{Ord: "01b", Rank: 2, ID: 10}, false}, // itself
	}
	for _, tt := range tests {
		if got := tt.w.After(m); got != tt.want {
			t.Errorf("%+v.After(%+v) = %v", tt.w, m, got)
		}
	}
}
