package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
)

// TestResultLinesSayWhatIsNotListed: `hoist delivery show` prints the kept
// stack lines and how many skipped stacks have none.
func TestResultLinesSayWhatIsNotListed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		omitted int
		want    string // "" when nothing is said
	}{
		{0, ""},
		{9899, "9899 more skipped stacks are not listed.\n"},
	} {
		var out bytes.Buffer
		r := &api.DeliveryResult{StacksOmitted: tc.omitted, Stacks: []api.DeliveryStack{
			{StackID: "b", Result: "skipped", Reason: "no changed file under b"}}}
		if err := printResultLines(&env{stdout: &out}, r); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if has := strings.Contains(got, "not listed"); has != (tc.want != "") || !strings.Contains(got, tc.want) ||
			!strings.Contains(got, "no changed file under b") {
			t.Errorf("%d omitted: printed\n%s\nwant the line of b and %q", tc.omitted, got, tc.want)
		}
	}
}
