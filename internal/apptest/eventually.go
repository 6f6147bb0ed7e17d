package apptest

import (
	"errors"
	"testing"
	"time"
)

// The first checks come quickly, for what is nearly ready (an in-memory
// queue, a goroutine); then every maxInterval, which is as often as a test
// should call a server's API while it works on the same two cores.
const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// errNotYet is what a func() bool condition's false stands for.
var errNotYet = errors.New("not yet")

// Eventually calls cond until it holds and fails the test (t.Fatalf,
// naming what and cond's last error) once timeout has passed without it.
// cond is a func() error (nil: it holds) or a func() bool; it runs on the
// test's goroutine, so it may itself fail the test. It is checked at least
// once, even when timeout is not positive (the rest of a shared deadline).
func Eventually[C func() error | func() bool](t testing.TB, timeout time.Duration, what string, cond C) {
	t.Helper()
	check := func() error {
		switch c := any(cond).(type) {
		case func() error:
			return c()
		case func() bool:
			if c() {
				return nil
			}
		}
		return errNotYet
	}
	deadline := time.Now().Add(timeout)
	for interval := firstInterval; ; interval = min(2*interval, maxInterval) {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout.Round(time.Millisecond), what, err)
		}
		time.Sleep(interval)
	}
}
