package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// drainTimeout bounds how long a stream may take to finish a request its
// caller gave up on before the stream is closed instead of reused.
const drainTimeout = 30 * time.Second

// message is one frame read from an agent: a text frame, or a body chunk.
type message struct {
	id    uint64
	f     frame
	data  []byte
	chunk bool
}

// terminal reports whether m ends its request: after it the agent sends
// nothing more for that id.
func (m message) terminal() bool {
	return !m.chunk && (m.f.Type == typeEnd || m.f.Type == typeRefused || m.f.Type == typeFailed)
}

// stream is one agent WebSocket on the server. The goroutine serving the
// connect request reads it (readLoop); the caller holding the stream writes
// requests and takes the frames of its request from in.
type stream struct {
	conn      *websocket.Conn
	reg       *Registry
	agent     *agentConn
	tokenHash string

	nextID  uint64        // only the holder touches it
	want    atomic.Uint64 // id whose frames readLoop hands over; 0 for none
	in      chan message
	done    chan struct{} // closed when readLoop returns
	busy    bool          // guarded by reg.mu
	removed bool          // guarded by reg.mu
}

func newStream(reg *Registry, conn *websocket.Conn, a *agentConn, tokenHash string) *stream {
	return &stream{conn: conn, reg: reg, agent: a, tokenHash: tokenHash, in: make(chan message), done: make(chan struct{})}
}

// readLoop reads frames until the connection ends. Frames of a request
// nobody waits for are dropped.
func (s *stream) readLoop(ctx context.Context) error {
	defer close(s.done)
	for {
		typ, b, err := s.conn.Read(ctx)
		if err != nil {
			return err
		}
		var m message
		if typ == websocket.MessageBinary {
			var data []byte
			m.id, data, err = parseChunk(b)
			m.data, m.chunk = data, true
		} else {
			m.f, err = decodeFrame(b)
			m.id = m.f.ID
		}
		if err != nil {
			s.conn.Close(websocket.StatusPolicyViolation, "malformed frame")
			return err
		}
		if m.id != s.want.Load() {
			continue
		}
		select {
		case s.in <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// brokenError is a stream that died under a request. delivered says whether
// the agent may have received (and forwarded) the request.
type brokenError struct {
	delivered bool
	err       error
}

func (e *brokenError) Error() string {
	return fmt.Sprintf("vcs agent disconnected during the request: %v", e.err)
}

func (e *brokenError) Unwrap() error { return e.err }

var errAgentGone = errors.New("agent connection closed")

// roundTrip sends one request on the stream, which the caller holds. On
// success the response body keeps the stream until it is read or closed.
func (s *stream) roundTrip(ctx context.Context, req *http.Request, body []byte) (*http.Response, error) {
	s.nextID++
	id := s.nextID
	s.want.Store(id)
	f := frame{Type: typeRequest, ID: id, Method: req.Method, Path: req.URL.RequestURI(), Header: forwardable(req.Header), Body: body}
	if err := s.conn.Write(ctx, websocket.MessageText, f.encode()); err != nil {
		s.close(websocket.StatusInternalError, "write failed")
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &brokenError{delivered: false, err: err}
	}
	m, err := s.next(ctx, id)
	if err != nil {
		return nil, err
	}
	switch m.f.Type {
	case typeResponse:
		return s.response(req, m.f, id), nil
	case typeRefused:
		s.release()
		return nil, &vcsagent.RefusedError{Reason: m.f.Message}
	case typeFailed:
		s.release()
		return nil, fmt.Errorf("vcs agent of pool %q could not reach GitLab: %s", s.agent.pool, m.f.Message)
	default:
		s.close(websocket.StatusPolicyViolation, "unexpected frame")
		return nil, &brokenError{delivered: true, err: fmt.Errorf("agent sent %q before a response", m.f.Type)}
	}
}

// next waits for the next frame of request id. When ctx ends first the
// agent is told to cancel and the stream is drained in the background.
func (s *stream) next(ctx context.Context, id uint64) (message, error) {
	select {
	case m := <-s.in:
		return m, nil
	case <-s.done:
		s.release()
		return message{}, &brokenError{delivered: true, err: errAgentGone}
	case <-ctx.Done():
		s.abandon(id)
		return message{}, ctx.Err()
	}
}

func (s *stream) response(req *http.Request, f frame, id uint64) *http.Response {
	h := f.Header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)),
		StatusCode:    f.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          &body{s: s, id: id, ctx: req.Context()},
		ContentLength: -1,
		Request:       req,
	}
}

// abandon tells the agent to stop request id and drains its remaining
// frames in the background; the stream is reused once the agent ends the
// request, or closed when it takes too long.
func (s *stream) abandon(id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	go func() {
		defer cancel()
		_ = s.conn.Write(ctx, websocket.MessageText, frame{Type: typeCancel, ID: id}.encode())
		for {
			select {
			case m := <-s.in:
				if m.terminal() {
					s.release()
					return
				}
			case <-s.done:
				s.release()
				return
			case <-ctx.Done():
				s.close(websocket.StatusPolicyViolation, "request not ended after cancel")
				s.release()
				return
			}
		}
	}()
}

func (s *stream) release() {
	s.want.Store(0)
	s.reg.release(s)
}

// close ends the connection with a reason the agent logs. The close
// handshake runs in the background: readLoop sees the end either way.
func (s *stream) close(code websocket.StatusCode, reason string) {
	go func() { _ = s.conn.Close(code, reason) }()
}

// body is a response body streamed from the agent.
type body struct {
	s    *stream
	id   uint64
	ctx  context.Context
	buf  []byte
	err  error // sticky: io.EOF at the end
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	for len(b.buf) == 0 && b.err == nil {
		b.fill()
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	return 0, b.err
}

func (b *body) fill() {
	select {
	case m := <-b.s.in:
		switch {
		case m.chunk:
			b.buf = m.data
		case m.f.Type == typeEnd && m.f.Error != "":
			b.finish(fmt.Errorf("vcs agent: response body cut short: %s", m.f.Error))
		case m.f.Type == typeEnd:
			b.finish(io.EOF)
		default:
			b.s.close(websocket.StatusPolicyViolation, "unexpected frame")
			b.finish(fmt.Errorf("vcs agent sent %q inside a response body", m.f.Type))
		}
	case <-b.s.done:
		b.finish(fmt.Errorf("vcs agent disconnected during the response body: %w", io.ErrUnexpectedEOF))
	case <-b.ctx.Done():
		b.err = b.ctx.Err()
		b.once.Do(func() { b.s.abandon(b.id) })
	}
}

// finish ends the body with err and hands the stream back.
func (b *body) finish(err error) {
	b.err = err
	b.once.Do(b.s.release)
}

// Close hands the stream back, first draining what the agent still sends
// when the body was not read to its end.
func (b *body) Close() error {
	if b.err == nil {
		b.err = errors.New("read on closed body")
		b.once.Do(func() { b.s.abandon(b.id) })
	}
	return nil
}
