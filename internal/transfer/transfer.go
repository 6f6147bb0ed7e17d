// Package transfer bounds what Hoist reads from other systems over HTTP:
// the size of an answer's body, the wait for its headers, the wait between
// two reads of its body and, for short calls, the time of the whole call.
// A hostile or broken peer then can neither fill the server's memory or
// disk nor hold a call or a run forever, and each of these ends has its
// own error type, so that callers say what happened ("larger than the
// cap", "stalled") rather than "unreachable".
//
// Downloads get no total time: a large one on a slow but live link must
// be able to finish, so only its silences are bounded. Short calls (API
// calls) have a total time here rather than in http.Client.Timeout, whose
// error says neither which call ran out nor whether an answer had come.
package transfer

import (
	"context"
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
	// Total bounds the whole call, from sending the request to the end of
	// the body: *TooLongError. Set it for short calls only; a download on
	// a slow link must be able to take its time (see Idle).
	Total time.Duration
	// Idle bounds each wait for more of the body: *StalledError. It counts
	// only while the reader waits on the network, so a slow consumer (a
	// disk) does not trip it.
	Idle time.Duration
	// Whole reads the body to its end (within MaxBytes) before the answer
	// is returned, so that an answer over the cap fails before any of it
	// reaches the caller. A JSON decoder would otherwise hold all it was
	// given, in a buffer that doubles: a 32 MiB cap cost ~100 MiB of RSS.
	// The first wholeInMemory bytes stay in memory, the rest waits in an
	// unlinked temporary file. For short answers (API calls) only: a
	// download is written out as it comes.
	Whole bool
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

// call is one request under Limits: what ends it early, and why.
type call struct {
	cancel context.CancelCauseFunc
	ended  atomic.Pointer[error] // the first limit exceeded
	timers []*time.Timer         // stopped when the call ends
}

// end records the first limit exceeded and cancels the request with it.
func (c *call) end(err error) {
	if c.ended.CompareAndSwap(nil, &err) {
		c.cancel(err)
	}
}

// cause is the limit that ended the call, or nil.
func (c *call) cause() error {
	if p := c.ended.Load(); p != nil {
		return *p
	}
	return nil
}

// after ends the call with err after d (never when d is zero).
func (c *call) after(d time.Duration, err error) *time.Timer {
	if d <= 0 {
		return nil
	}
	t := time.AfterFunc(d, func() { c.end(err) })
	c.timers = append(c.timers, t)
	return t
}

// close stops the timers and releases the request's context.
func (c *call) close() {
	for _, t := range c.timers {
		t.Stop()
	}
	c.cancel(nil)
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	c := &call{cancel: cancel}
	method, path := req.Method, req.URL.Path
	c.after(t.l.Total, &TooLongError{Method: method, Path: path, Total: t.l.Total})
	header := c.after(t.l.Header, &NoAnswerError{Method: method, Path: path, Wait: t.l.Header})
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if header != nil {
		header.Stop()
	}
	if cause := c.cause(); cause != nil {
		// Even if an answer came at that moment: its body would fail on
		// the canceled context anyway.
		if err == nil {
			resp.Body.Close()
		}
		c.close()
		return nil, cause
	}
	if err != nil {
		c.close()
		return nil, err
	}
	if t.l.MaxBytes > 0 && resp.ContentLength > t.l.MaxBytes {
		resp.Body.Close()
		c.close()
		return nil, t.tooLarge(req)
	}
	b := &body{rc: resp.Body, call: c, max: t.l.MaxBytes, tooLarge: t.tooLarge(req)}
	if t.l.Idle > 0 {
		b.idle, b.idleFor = c.after(t.l.Idle, &StalledError{Method: method, Path: path, Idle: t.l.Idle}), t.l.Idle
		b.idle.Stop() // armed only while a Read waits
	}
	resp.Body = b
	if t.l.Whole {
		whole, err := readWhole(b)
		b.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = whole
	}
	return resp, nil
}

func (t *boundTransport) tooLarge(req *http.Request) *TooLargeError {
	return &TooLargeError{Method: req.Method, Path: req.URL.Path, Limit: t.l.MaxBytes, Setting: t.l.Setting}
}

// body is an answer's body under Limits.
type body struct {
	rc       io.ReadCloser
	call     *call
	max      int64
	tooLarge *TooLargeError
	idle     *time.Timer // nil without Limits.Idle
	idleFor  time.Duration
	n        int64 // bytes read so far
	err      error // sticky once a limit is exceeded
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.max > 0 {
		// One byte more than the cap tells a body of exactly the cap
		// from a larger one.
		p = p[:min(int64(len(p)), b.max-b.n+1)]
	}
	if b.idle != nil {
		b.idle.Reset(b.idleFor)
	}
	n, err := b.rc.Read(p)
	if b.idle != nil {
		b.idle.Stop()
	}
	b.n += int64(n)
	if cause := b.call.cause(); cause != nil {
		b.err = cause
		return n, b.err
	}
	if b.max > 0 && b.n > b.max {
		b.err = b.tooLarge
		b.call.end(b.err) // stop the transfer instead of draining it
		return n - int(b.n-b.max), b.err
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.call.close()
	return err
}
