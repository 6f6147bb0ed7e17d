package ingest

import (
	"fmt"
	"strings"
	"testing"
)

func TestQuoteListIsBounded(t *testing.T) {
	t.Parallel()
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("s%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		n    int
		want string // its end
	}{
		{0, ""},
		{1, "`s0`"},
		{maxListed, fmt.Sprintf("`s%d`", maxListed-1)},
		{maxListed + 1, fmt.Sprintf("`s%d`, and 1 more", maxListed-1)},
		{10_000, fmt.Sprintf("`s%d`, and %d more", maxListed-1, 10_000-maxListed)},
	} {
		got := quoteList(names(tc.n))
		if !strings.HasSuffix(got, tc.want) || strings.Count(got, "`") != 2*min(tc.n, maxListed) {
			t.Errorf("quoteList of %d names = %q, want it to end with %q", tc.n, got, tc.want)
		}
	}
}
