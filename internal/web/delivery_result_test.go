package web

import (
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/webhook"
)

// TestDeliveryResultSaysWhatIsNotListed: a processing whose skipped stacks
// were too many to keep a line each says how many are not listed.
func TestDeliveryResultSaysWhatIsNotListed(t *testing.T) {
	t.Parallel()
	r, err := newRenderer(templateFS, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		omitted int
		want    string // "" when nothing is said
	}{
		{0, ""},
		{9899, "9899 more skipped stacks are not listed: the log keeps the first 2 lines."},
	} {
		res := &webhook.Result{Summary: "push to main: 9901 stacks", StacksOmitted: tc.omitted, Stacks: []webhook.StackResult{
			{StackID: "a", Result: "created", RunID: "r1", RunType: "TRACKED", Reason: "touches a"},
			{StackID: "b", Result: "skipped", Reason: "no changed file under b"}}}
		var out strings.Builder
		if err := r.pages["delivery"].ExecuteTemplate(&out, "delivery-result", res); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if has := strings.Contains(got, `id="stacks-omitted"`); has != (tc.want != "") || !strings.Contains(got, tc.want) {
			t.Errorf("%d omitted: the result reads\n%s\nwant %q", tc.omitted, got, tc.want)
		}
		if !strings.Contains(got, `data-stack="b" data-result="skipped"`) {
			t.Errorf("the kept lines are not shown:\n%s", got)
		}
	}
}
