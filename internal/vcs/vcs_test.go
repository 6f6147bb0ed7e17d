package vcs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/vcs"
)

func TestExpiryWarnings(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	day := func(d int) *time.Time {
		x := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		return &x
	}
	tests := []struct {
		name    string
		expires *time.Time
		want    string // substring; "" means no warning
		loud    bool
	}{
		{"never", nil, "", false},
		{"far", day(41), "token expires on 2027-01-06 (in 40 days)", false},
		{"within 30 days", day(10), "token expires on 2026-12-06 (in 9 days)", true},
		{"tomorrow", day(2), "(in 1 day)", true},
		{"expired", day(-1), "token expired on 2026-11-25", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := vcs.ExpiryWarnings(vcs.TokenInfo{ExpiresAt: tt.expires}, now)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("warnings = %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("warnings = %q, want one containing %q", got, tt.want)
			}
			if loud := strings.HasPrefix(got[0], "WARNING:"); loud != tt.loud {
				t.Fatalf("warning %q loud = %v, want %v", got[0], loud, tt.loud)
			}
		})
	}
}

func TestEndpointFormattingHidesToken(t *testing.T) {
	t.Parallel()
	ep := vcs.Endpoint{APIHost: "https://gitlab.example.com", Token: "glpat-secret-value"}
	for _, s := range []string{fmt.Sprint(ep), fmt.Sprintf("%v %+v %#v %s", ep, ep, ep, ep)} {
		if strings.Contains(s, ep.Token) {
			t.Fatalf("formatted endpoint %q contains the token", s)
		}
	}
}
