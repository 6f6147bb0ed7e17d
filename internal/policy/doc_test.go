package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docExample is one example of docs/policies.md: a rego block whose first
// line is "# example: NAME; input: FILE; expect: JSON".
type docExample struct {
	name, input, body string
	expect            map[string]any
}

var exampleLine = regexp.MustCompile(`^# example: ([a-z0-9-]+); input: ([^;]+); expect: (.+)$`)

func docExamples(t *testing.T) []docExample {
	t.Helper()
	b, err := os.ReadFile("../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	for _, block := range strings.Split(string(b), "```rego\n")[1:] {
		body, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("unterminated rego block: %.60q", block)
		}
		first, _, _ := strings.Cut(body, "\n")
		m := exampleLine.FindStringSubmatch(first)
		if m == nil {
			t.Fatalf("rego block without an example line: %q", first)
		}
		ex := docExample{name: m[1], input: m[2], body: body}
		if err := json.Unmarshal([]byte(m[3]), &ex.expect); err != nil {
			t.Fatalf("example %s: expect: %v", ex.name, err)
		}
		out = append(out, ex)
	}
	return out
}

// TestDocExamples evaluates every example of docs/policies.md against its
// sample input: the doc and the engine cannot drift.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	exs := docExamples(t)
	if len(exs) != 6 {
		t.Fatalf("docs/policies.md has %d examples, want 6", len(exs))
	}
	e := NewEngine(Limits{})
	for _, ex := range exs {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("../../docs", ex.input))
			if err != nil {
				t.Fatal(err)
			}
			input, err := DecodeInput(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Check(context.Background(), ex.body); err != nil {
				t.Fatalf("the example does not compile: %v", err)
			}
			doc, err := e.Eval(context.Background(), ex.body, input)
			if err != nil {
				t.Fatal(err)
			}
			for rule, want := range ex.expect {
				if got := normalize(doc[rule]); !reflect.DeepEqual(got, normalize(want)) {
					t.Errorf("%s = %v, want %v", rule, got, want)
				}
			}
		})
	}
}

// normalize makes sets (arrays) order-free and numbers comparable.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	if arr, ok := out.([]any); ok {
		slices.SortFunc(arr, func(a, b any) int {
			x, _ := json.Marshal(a)
			y, _ := json.Marshal(b)
			return bytes.Compare(x, y)
		})
	}
	return out
}

// TestDocSamplesMatchTheInputs decodes the sample inputs strictly into the
// types Hoist builds inputs from: a field renamed in Go fails here until
// the samples (and the field tables) follow.
func TestDocSamplesMatchTheInputs(t *testing.T) {
	t.Parallel()
	strict := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("../../docs/policies", name))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"push-docs-only.json", "push-no-apply.json", "push-draft-mr.json"} {
		strict(name, &PushInput{})
	}
	var plan struct {
		Run   RunInput       `json:"run"`
		Stack StackInput     `json:"stack"`
		Plan  map[string]any `json:"plan"`
	}
	strict("plan.json", &plan)
	for k := range plan.Plan {
		if !slices.Contains(planKeys, k) {
			t.Errorf("plan.json has plan.%s, which Hoist does not pass to policies", k)
		}
	}
}
