package vcs_test

import (
	"testing"

	"github.com/hoistdev/hoist/internal/vcs"
)

func TestAccessName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level int64
		want  string
	}{
		{0, "none"},
		{5, "minimal"},
		{10, "guest"},
		{15, "planner"},
		{20, "reporter"},
		{30, "developer"},
		{40, "maintainer"},
		{50, "owner"},
		{60, "admin"},
		{35, "level 35"},
		{-1, "level -1"},
	}
	for _, tt := range tests {
		if got := vcs.AccessName(tt.level); got != tt.want {
			t.Errorf("AccessName(%d) = %q, want %q", tt.level, got, tt.want)
		}
	}
}
