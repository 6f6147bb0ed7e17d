package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeAndMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("db locked at /secret/path")
	tests := []struct {
		name     string
		err      error
		wantCode Code
		wantMsg  string
	}{
		{"plain error is internal and hides detail", cause, Internal, "internal error"},
		{"invalid field names it", InvalidField("name", "must be 1–64 characters"), Invalid, "name: must be 1–64 characters"},
		{"wrapped keeps code through fmt", fmt.Errorf("create: %w", Errorf(Conflict, "a default integration exists")), Conflict, "a default integration exists"},
		{"wrap hides cause in message", Wrap(NotFound, cause, "space %q not found", "a"), NotFound, `space "a" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CodeOf(tt.err); got != tt.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tt.wantCode)
			}
			if got := MessageOf(tt.err); got != tt.wantMsg {
				t.Errorf("MessageOf = %q, want %q", got, tt.wantMsg)
			}
			if !Is(tt.err, tt.wantCode) && tt.wantCode != Internal {
				t.Errorf("Is(%q) = false", tt.wantCode)
			}
		})
	}
	if !errors.Is(Wrap(Internal, cause, "x"), cause) {
		t.Error("Wrap must keep the cause for errors.Is")
	}
}
