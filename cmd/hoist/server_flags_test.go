package main

import (
	"errors"
	"strings"
	"testing"
)

// TestServerRefusesBadDurations: durations that could not be honoured are
// refused before the server starts, with the flag named.
func TestServerRefusesBadDurations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lease-ttl", "500ms"}, "--lease-ttl must be at least 1s"},
		{[]string{"--lease-ttl", "1ns"}, "--lease-ttl must be at least 1s"},
		{[]string{"--lease-ttl", "-5s"}, "--lease-ttl must be at least 1s"},
		{[]string{"--shutdown-timeout", "-1s"}, "--shutdown-timeout must not be negative"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append([]string{"server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, tc.args...)
			_, _, err := runLocal(t, "", nil, args...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("hoist %s = %v, want a usage error with %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}
