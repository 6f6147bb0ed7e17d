package tofu

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDiagnosticsPicksErrorBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		output string
		want   string
	}{
		{
			name: "plain, as with -no-color",
			output: `
Planning failed. OpenTofu encountered an error while generating this plan.

Error: Resource precondition failed

  on main.tf line 6, in resource "terraform_data" "a":
   6:       condition     = local.replicas == 2
    ├────────────────
    │ local.replicas is 3

needs 2 replicas.

`,
			want: "Error: Resource precondition failed\n\n  on main.tf line 6, in resource \"terraform_data\" \"a\":\n" +
				"   6:       condition     = local.replicas == 2\n    ├────────────────\n    │ local.replicas is 3\n\nneeds 2 replicas.",
		},
		{
			name: "framed and coloured, warnings left out",
			output: "\x1b[31m╷\x1b[0m\n\x1b[31m│\x1b[0m \x1b[1m\x1b[31mWarning: \x1b[0mDeprecated\n│ \n│ old\n╵\n" +
				"\x1b[31m╷\x1b[0m\n\x1b[31m│\x1b[0m \x1b[1m\x1b[31mError: \x1b[0m\x1b[1mcreating X: permission denied\x1b[0m\n│ \n│ \x1b]0;title\x07denied\x00 \u202eby policy\n╵\nReleasing state lock.\n",
			want: "Error: creating X: permission denied\n\ndenied by policy",
		},
		{
			name:   "several errors, a warning between them",
			output: "Error: one\n\ndetail one\nWarning: w\n\nwarn detail\nError: two\n",
			want:   "Error: one\n\ndetail one\n\nError: two",
		},
		{
			name:   "no error",
			output: "Plan: 1 to add, 0 to change, 0 to destroy.\nWarning: careful\n",
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d diagnostics
			for _, l := range strings.Split(tt.output, "\n") {
				d.line(l)
			}
			if got := d.text(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestDiagnosticsAreBounded(t *testing.T) {
	t.Parallel()
	var d diagnostics
	for i := range 200 {
		d.line("Error: failure number " + strings.Repeat("é", i))
		d.line("")
		d.line(strings.Repeat("detail ", 20))
	}
	got := d.text()
	if len(got) > MaxDiagnostics || !strings.HasPrefix(got, "Error: failure number\n") {
		t.Fatalf("%d bytes, want at most %d, from the first error on:\n%.200s", len(got), MaxDiagnostics, got)
	}
	if !strings.Contains(got, "…") || !strings.HasSuffix(got, " more errors in the log)") || !utf8.ValidString(got) {
		t.Errorf("the cut is not marked, or the dropped errors not counted:\n…%s", got[len(got)-200:])
	}
}

// TestFailedCommandsCarryTofuErrors runs real tofu: a plan stopped by a
// precondition, and an apply stopped by a postcondition that only the
// apply can check (it depends on an id known after apply).
func TestFailedCommandsCarryTofuErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		r, dir := setup(t, map[string]string{"main.tf": `
locals { replicas = 3 }
resource "terraform_data" "a" {
  input = "x"
  lifecycle {
    precondition {
      condition     = local.replicas == 2
      error_message = "the plan needs 2 replicas."
    }
  }
}
`})
		var out lines
		if err := r.Init(ctx, dir, out.sink); err != nil {
			t.Fatalf("init: %v\n%s", err, out.text())
		}
		err := r.Plan(ctx, dir, "plan.bin", PlanOptions{}, out.sink)
		wantTofuError(t, err, "plan", "Error: Resource precondition failed", "the plan needs 2 replicas.")
	})
	t.Run("apply", func(t *testing.T) {
		t.Parallel()
		r, dir := setup(t, map[string]string{"main.tf": `
resource "terraform_data" "a" {}
resource "terraform_data" "b" {
  input = terraform_data.a.id
  lifecycle {
    postcondition {
      condition     = self.output == "never"
      error_message = "the apply fails on purpose."
    }
  }
}
`})
		var out lines
		if err := r.Init(ctx, dir, out.sink); err != nil {
			t.Fatalf("init: %v\n%s", err, out.text())
		}
		if err := r.Plan(ctx, dir, "plan.bin", PlanOptions{}, out.sink); err != nil {
			t.Fatalf("plan: %v\n%s", err, out.text())
		}
		err := r.Apply(ctx, dir, "plan.bin", out.sink)
		wantTofuError(t, err, "apply", "Error: Resource postcondition failed", "the apply fails on purpose.")
		if !strings.Contains(out.text(), "Error: Resource postcondition failed") {
			t.Errorf("the error is missing from the log:\n%s", out.text())
		}
	})
}

func wantTofuError(t *testing.T, err error, command string, wants ...string) {
	t.Helper()
	var te *Error
	var exit *exec.ExitError
	if !errors.As(err, &te) || te.Command != command || !errors.As(err, &exit) {
		t.Fatalf("err = %#v, want a *tofu.Error of %s wrapping the exit status", err, command)
	}
	if err.Error() != "tofu "+command+": exit status 1" {
		t.Errorf("message %q", err.Error())
	}
	got := Diagnostics(err)
	if !strings.HasPrefix(got, wants[0]) {
		t.Errorf("diagnostics do not start with %q:\n%s", wants[0], got)
	}
	for _, w := range wants[1:] {
		if !strings.Contains(got, w) {
			t.Errorf("diagnostics miss %q:\n%s", w, got)
		}
	}
}
