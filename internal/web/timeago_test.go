package web

import (
	"testing"
	"time"
)

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration // how long before now
		want string
	}{
		{0, "just now"},
		{44 * time.Second, "just now"},
		{-10 * time.Second, "just now"},
		{50 * time.Second, "1 minute ago"},
		{3 * time.Minute, "3 minutes ago"},
		{89 * time.Minute, "89 minutes ago"},
		{90 * time.Minute, "2 hours ago"},
		{-2 * time.Hour, "in 2 hours"},
		{35 * time.Hour, "35 hours ago"},
		{36 * time.Hour, "2 days ago"},
		{24*time.Hour*29 + time.Hour, "29 days ago"},
		{24 * time.Hour * 45, "on 23 Oct 2026"},
	} {
		if got := relative(now.Add(-tc.d), now); got != tc.want {
			t.Errorf("relative(now - %v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 7, 11, 57, 0, 0, time.FixedZone("CET", 3600))
	want := `<time datetime="2026-12-07T10:57:00Z" title="2026-12-07 10:57:00 UTC">63 minutes ago</time>`
	if got := string(ago(at, now)); got != want {
		t.Errorf("ago = %s, want %s", got, want)
	}
	if got := ago(time.Time{}, now); got != "" {
		t.Errorf("ago(zero) = %q, want nothing", got)
	}
}
