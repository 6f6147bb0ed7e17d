// Package transfer bounds what Hoist reads from other systems over HTTP:
// the size of an answer's body, the wait for its headers and the wait
// between two reads of its body. A hostile or broken peer then can neither
// fill the server's memory or disk nor hold a call or a run forever, and
// each of these ends has its own error type, so that callers say what
// happened ("larger than the cap", "stalled") rather than "unreachable".
//
// There is deliberately no total time here: a large download on a slow
// but live link must be able to finish. Callers that want one (short API
// calls) set http.Client.Timeout.
package transfer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Limits bound the answers of one HTTP client. A zero field bounds nothing.
type Limits struct {
	// MaxBytes caps an answer's body: a Content-Length above it fails
	// before the body is read, and reading past it fails with
	// *TooLargeError. The cap is checked while reading, so memory stays
	// bounded by what the caller keeps.
	MaxBytes int64
	// Setting is what raises MaxBytes (a flag), named in *TooLargeError.
	Setting string
	// Header bounds the wait from sending a request (connecting included)
	// to the answer's headers: *NoAnswerError.
	Header time.Duration
	// Idle bounds each wait for more of the body: *StalledError. It counts
	// only while the reader waits on the network, so a slow consumer (a
	// disk) does not trip it.
	Idle time.Duration
}

// Bound returns rt with every answer bounded by l. Exceeding a limit
// cancels the request, so the connection is closed rather than drained.
func Bound(rt http.RoundTripper, l Limits) http.RoundTripper {
	return &boundTransport{rt: rt, l: l}
}

type boundTransport struct {
	rt http.RoundTripper
	l  Limits
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	var header *time.Timer
	if t.l.Header > 0 {
		header = time.AfterFunc(t.l.Header, func() { cancel(&NoAnswerError{Method: req.Method, Path: req.URL.Path, Wait: t.l.Header}) })
	}
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if header != nil && !header.Stop() {
		// The timer fired, even if an answer arrived at that moment: its
		// body would fail on the canceled context anyway.
		if err == nil {
			resp.Body.Close()
		}
		cancel(nil)
		return nil, &NoAnswerError{Method: req.Method, Path: req.URL.Path, Wait: t.l.Header}
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	if t.l.MaxBytes > 0 && resp.ContentLength > t.l.MaxBytes {
		resp.Body.Close()
		cancel(nil)
		return nil, t.tooLarge(req)
	}
	b := &body{rc: resp.Body, l: t.l, cancel: cancel, tooLarge: t.tooLarge(req),
		stalled: &StalledError{Method: req.Method, Path: req.URL.Path, Idle: t.l.Idle}}
	if t.l.Idle > 0 {
		b.idle = time.AfterFunc(t.l.Idle, func() {
			b.timedOut.Store(true)
			cancel(b.stalled)
		})
		b.idle.Stop() // armed only while a Read waits
	}
	resp.Body = b
	return resp, nil
}

func (t *boundTransport) tooLarge(req *http.Request) *TooLargeError {
	return &TooLargeError{Method: req.Method, Path: req.URL.Path, Limit: t.l.MaxBytes, Setting: t.l.Setting}
}

// body is an answer's body under Limits.
type body struct {
	rc       io.ReadCloser
	l        Limits
	cancel   context.CancelCauseFunc
	tooLarge *TooLargeError
	stalled  *StalledError
	idle     *time.Timer // nil without Limits.Idle
	timedOut atomic.Bool // set by idle
	n        int64       // bytes read so far
	err      error       // sticky once a limit is exceeded
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.l.MaxBytes > 0 {
		// One byte more than the cap tells a body of exactly the cap
		// from a larger one.
		p = p[:min(int64(len(p)), b.l.MaxBytes-b.n+1)]
	}
	if b.idle != nil {
		b.idle.Reset(b.l.Idle)
	}
	n, err := b.rc.Read(p)
	if b.idle != nil {
		b.idle.Stop()
	}
	b.n += int64(n)
	switch {
	case b.timedOut.Load():
		b.err = b.stalled
		return n, b.err
	case b.l.MaxBytes > 0 && b.n > b.l.MaxBytes:
		b.err = b.tooLarge
		b.cancel(b.err) // stop the transfer instead of draining it
		return n - int(b.n-b.l.MaxBytes), b.err
	}
	return n, err
}

func (b *body) Close() error {
	if b.idle != nil {
		b.idle.Stop()
	}
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

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
