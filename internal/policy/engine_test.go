package policy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	e := NewEngine(Limits{})
	tests := []struct {
		name, body string
		want       []string // substrings of the message
	}{
		{"syntax error with its line", "package hoist\n\nignore if {\n  input.x ==\n}\n", []string{"line 5", "unexpected } token", "body:"}},
		{"wrong package", "package other\nignore := true\n", []string{"line 1", `must be "hoist"`}},
		{"http.send", "package hoist\nignore if {\n  http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n}\n",
			[]string{"line 3", "http.send is not available", "network"}},
		{"opa.runtime", "package hoist\nenv := opa.runtime().env\n", []string{"line 2", "opa.runtime is not available"}},
		{"net.lookup_ip_addr", "package hoist\nx := net.lookup_ip_addr(\"example.com\")\n", []string{"net.lookup_ip_addr is not available"}},
		{"empty", "  ", []string{"is required"}},
		{"too large", "package hoist\n# " + strings.Repeat("x", MaxBodyBytes), []string{"more than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := e.Check(context.Background(), tt.body)
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != "body" {
				t.Fatalf("Check = %v; want Invalid on body", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ae.Message, w) {
					t.Errorf("message %q lacks %q", ae.Message, w)
				}
			}
		})
	}
}

func TestEvalLoopTimesOut(t *testing.T) {
	t.Parallel()
	e := NewEngine(Limits{Timeout: 100 * time.Millisecond})
	body := "package hoist\nignore if {\n  some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n  i * j < 0\n}\n"
	start := time.Now()
	_, err := e.Eval(context.Background(), body, map[string]any{})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Eval = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s; the timeout is 100ms", d)
	}
}

func TestEvalDocument(t *testing.T) {
	t.Parallel()
	e := NewEngine(Limits{})
	body := "package hoist\ntrack if input.x == 1\nmessage contains \"hi\" if track\n"
	doc, err := e.Eval(context.Background(), body, map[string]any{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	if doc["track"] != true {
		t.Errorf("doc = %v; want track true", doc)
	}
	if msgs, _ := doc["message"].([]any); len(msgs) != 1 || msgs[0] != "hi" {
		t.Errorf("message = %#v", doc["message"])
	}
}

var grewBy = regexp.MustCompile(`the heap grew by (\d+)\.\d MiB`)

// TestEvalMemoryBound: a policy that builds a huge value is stopped by
// the memory bound, well before the timeout, with a message that says
// so; the server's heap does not grow by much more than the bound. Not
// parallel: it grows the process's heap on purpose, which the bound of
// another test's evaluation running meanwhile would see.
func TestEvalMemoryBound(t *testing.T) {
	const limit = 32 << 20
	e := NewEngine(Limits{Timeout: time.Minute, Memory: limit})
	// maxGrew is how far past the bound the heap may have grown when the
	// evaluation stops: 64 steps of the first three allocate kilobytes.
	tests := []struct {
		name, body string
		maxGrew    int // MiB
	}{
		{"a string of 800 MB", "package hoist\nx := concat(\"\", [s | some i in numbers.range(1, 100000000); s := \"aaaaaaaa\"])\nignore if count(x) > 0\n", 2 * limit >> 20},
		{"a set of 10 million numbers", "package hoist\nxs := {x | some i in numbers.range(1, 10000000); x := i * 2}\nignore if count(xs) > 0\n", 2 * limit >> 20},
		{"an object growing in a rule", "package hoist\nobj := {sprintf(\"k%d\", [i]): i | some i in numbers.range(1, 10000000)}\nignore if count(obj) > 0\n", 2 * limit >> 20},
	}
	// Doubling a 1 KiB string 20 times in one rule: 1 GiB at the end, 2 GiB
	// in all, in 20 expressions, each one built-in call, fewer than the
	// checks' 64: the timer's readings stop it, a doubling or two (one call
	// each, not interrupted) past the bound.
	doubling := "package hoist\nbig := s if {\n  s0 := \"" + strings.Repeat("a", 1024) + "\"\n"
	for i := 1; i <= 20; i++ {
		doubling += fmt.Sprintf("  s%d := concat(\"\", [s%d, s%d])\n", i, i-1, i-1)
	}
	doubling += "  s := s20\n}\nignore if count(big) > 0\n"
	tests = append(tests, struct {
		name, body string
		maxGrew    int
	}{"a string doubled in one call a step", doubling, 8 * limit >> 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := e.EvalRules(context.Background(), tt.body, ast.NewObject(), "ignore")
			if !errors.Is(err, ErrMemory) {
				t.Fatalf("EvalRules = %v; want ErrMemory", err)
			}
			t.Log(err)
			m := grewBy.FindStringSubmatch(err.Error())
			if m == nil || !strings.Contains(err.Error(), "more than the 32 MiB bound") {
				t.Fatalf("message %q does not say how much the heap grew and the bound", err)
			}
			if grew, _ := strconv.Atoi(m[1]); grew > tt.maxGrew {
				t.Errorf("stopped after the heap grew by %d MiB; the bound is %d MiB", grew, limit>>20)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s; the bound should stop it long before the timeout", d)
			}
		})
	}
}
