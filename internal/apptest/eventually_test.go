package apptest_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
)

// fatal records a Fatalf and ends its goroutine, as testing.T does.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper() {}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a recorder on its own goroutine and returns what it
// failed with ("" when it did not).
func run(fn func(t testing.TB)) string {
	f := &fatal{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestEventually(t *testing.T) {
	t.Parallel()
	t.Run("holds after a few checks", func(t *testing.T) {
		t.Parallel()
		n := 0
		apptest.Eventually(t, time.Second, "the third check", func() bool { n++; return n == 3 })
		if n != 3 {
			t.Fatalf("checked %d times, want 3", n)
		}
	})
	t.Run("fails with the last error", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		msg := run(func(t testing.TB) {
			apptest.Eventually(t, 100*time.Millisecond, "the impossible", func() error { return errors.New("still 41") })
		})
		if !strings.Contains(msg, "the impossible") || !strings.Contains(msg, "still 41") || !strings.Contains(msg, "100ms") {
			t.Errorf("failed with %q", msg)
		}
		if took := time.Since(start); took < 100*time.Millisecond || took > 5*time.Second {
			t.Errorf("gave up after %s, want just over 100ms", took)
		}
	})
	t.Run("checks once past the deadline", func(t *testing.T) {
		t.Parallel()
		n := 0
		msg := run(func(t testing.TB) { apptest.Eventually(t, -time.Second, "late", func() bool { n++; return false }) })
		if n != 1 || !strings.Contains(msg, "late: not yet") {
			t.Errorf("checked %d times, failed with %q", n, msg)
		}
		apptest.Eventually(t, -time.Second, "true at once", func() error { return nil })
	})
}
