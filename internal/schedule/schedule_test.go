package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestParseNext(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		cron, zone string
		after      string
		want       string
	}{
		{"0 6 * * *", "Europe/Paris", "2026-12-07T03:00:00Z", "2026-12-07T05:00:00Z"},  // UTC+1 in winter
		{"0 6 * * *", "Europe/Paris", "2026-07-07T03:00:00Z", "2026-07-07T04:00:00Z"},  // UTC+2 in summer
		{"30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"}, // 02:30 does not exist on the 29th
		{"*/10 * * * *", "", "2026-12-07T03:35:00Z", "2026-12-07T03:40:00Z"},
		{"*/10 * * * *", "UTC", "2026-12-07T03:40:00Z", "2026-12-07T03:50:00Z"}, // strictly after
		{"@daily", "America/New_York", "2026-12-07T12:00:00Z", "2026-12-08T05:00:00Z"},
		{"0 9 * * 1-5", "UTC", "2026-12-11T10:00:00Z", "2026-12-14T09:00:00Z"}, // Friday → Monday
	} {
		sp, err := Parse(tc.cron, tc.zone)
		if err != nil {
			t.Errorf("Parse(%q, %q) = %v", tc.cron, tc.zone, err)
			continue
		}
		if got := sp.Next(utc(tc.after)); !got.Equal(utc(tc.want)) || got.Location() != time.UTC {
			t.Errorf("%q in %q after %s = %s, want %s", tc.cron, tc.zone, tc.after, got, tc.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ cron, zone, field string }{
		{"", "", "cron"},
		{"@every 5m", "", "cron"},
		{"CRON_TZ=Europe/Paris 0 6 * * *", "", "cron"},
		{"TZ=UTC 0 6 * * *", "", "cron"},
		{"0 6 * *", "", "cron"},
		{"0 25 * * *", "", "cron"},
		{"0 0 31 2 *", "", "cron"},
		{"* * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * *", "", "cron"},
		{"@daily", "Local", "time_zone"},
		{"@daily", "Europe/Nowhere", "time_zone"},
		{"@daily", "../../etc/passwd", "time_zone"},
	} {
		_, err := Parse(tc.cron, tc.zone)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != tc.field {
			t.Errorf("Parse(%q, %q) = %v, want invalid on %s", tc.cron, tc.zone, err, tc.field)
		}
	}
}

func TestCheckKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sc    Schedule
		field string // "" when valid
	}{
		{Schedule{Kind: Drift}, ""},
		{Schedule{Kind: Drift, Reconcile: true}, ""},
		{Schedule{Kind: Drift, Command: []string{"tofu", "plan"}}, "command"},
		{Schedule{Kind: Task, Command: []string{"tofu", "state", "list"}}, ""},
		{Schedule{Kind: Task}, "command"},
		{Schedule{Kind: Task, Command: []string{"rm", "-rf", "/"}}, "command"},
		{Schedule{Kind: Task, Command: []string{"tofu", "output"}, Reconcile: true}, "reconcile"},
		{Schedule{Kind: "destroy"}, "kind"},
		{Schedule{Kind: ""}, "kind"},
	} {
		err := check(tc.sc)
		var e *apperr.Error
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field) {
			t.Errorf("check(%+v) = %v, want field %q", tc.sc, err, tc.field)
		}
	}
}
