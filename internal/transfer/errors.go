package transfer

import (
	"fmt"
	"time"
)

// TooLargeError is an answer whose body is larger than Limits.MaxBytes.
type TooLargeError struct {
	Method, Path string // the request, without its query
	Limit        int64
	Setting      string // what raises the cap
}

func (e *TooLargeError) Error() string {
	s := fmt.Sprintf("the answer to %s %s is larger than the %s cap", e.Method, e.Path, FormatSize(e.Limit))
	if e.Setting != "" {
		s += " (" + e.Setting + ")"
	}
	return s
}

// StalledError is an answer whose body stopped coming for Limits.Idle.
type StalledError struct {
	Method, Path string
	Idle         time.Duration
}

func (e *StalledError) Error() string {
	return fmt.Sprintf("the transfer of the answer to %s %s stalled: no data for %s", e.Method, e.Path, FormatDuration(e.Idle))
}

// NoAnswerError is a request whose answer's headers did not come within
// Limits.Header.
type NoAnswerError struct {
	Method, Path string
	Wait         time.Duration
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer to %s %s within %s", e.Method, e.Path, FormatDuration(e.Wait))
}

// FormatDuration writes whole seconds as "60s" rather than "1m0s", and
// shorter waits (tests) as time.Duration does.
func FormatDuration(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// TooLongError is a call that did not end within Limits.Total.
type TooLongError struct {
	Method, Path string
	Total        time.Duration
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("the answer to %s %s did not end within %s", e.Method, e.Path, FormatDuration(e.Total))
}
