package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	e := NewEngine(0)
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
	e := NewEngine(100 * time.Millisecond)
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
	e := NewEngine(0)
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
