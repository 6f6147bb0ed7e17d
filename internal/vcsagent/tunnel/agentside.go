package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// ErrUnauthorized is returned by Dial when the server refuses the pool
// token; retrying with the same token cannot help.
var ErrUnauthorized = errors.New("the server refused the pool token")

// Request is one request an agent received.
type Request struct {
	Method string
	Path   string // escaped path and query
	Header http.Header
	Body   []byte
}

// Handler answers a request on the agent. A *vcsagent.RefusedError refuses
// it; other errors are reported to the server as "could not reach GitLab".
// Serve streams and closes the response body.
type Handler func(ctx context.Context, req Request) (*http.Response, error)

// DialOptions configure one stream.
type DialOptions struct {
	ServerURL  string // the Hoist server's public URL, http(s)://host[:port][/path]
	Token      string // pool token
	AgentID    string
	AgentName  string
	Vendor     string
	HTTPClient *http.Client // nil for http.DefaultClient
}

// AgentStream is the agent's end of one stream.
type AgentStream struct{ conn *websocket.Conn }

// Dial opens one stream to the server.
func Dial(ctx context.Context, o DialOptions) (*AgentStream, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+o.Token)
	h.Set(HeaderAgentID, o.AgentID)
	h.Set(HeaderAgentName, o.AgentName)
	h.Set(HeaderVendor, o.Vendor)
	u := strings.TrimRight(o.ServerURL, "/") + ConnectPath
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: o.HTTPClient, HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("%w (401 from %s)", ErrUnauthorized, u)
		}
		if resp != nil {
			return nil, fmt.Errorf("connect to %s: server answered %s", u, resp.Status)
		}
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}
	conn.SetReadLimit(maxMessage)
	return &AgentStream{conn: conn}, nil
}

// Close ends the stream.
func (a *AgentStream) Close() { _ = a.conn.Close(websocket.StatusNormalClosure, "agent stopping") }

// CloseError returns the server's close reason when err ended the stream
// with one (e.g. "pool token rotated").
func CloseError(err error) (websocket.StatusCode, string, bool) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Reason, true
	}
	return 0, "", false
}

// agentState is what the reader goroutine and the request loop share.
type agentState struct {
	mu        sync.Mutex
	cur       uint64
	cancelCur context.CancelFunc
	cancelled uint64 // a cancel that arrived before its request started
}

// Serve answers the server's requests one at a time until the stream ends
// or ctx is done, pinging the server every pingEvery while idle (0: never).
func (a *AgentStream) Serve(ctx context.Context, h Handler, pingEvery time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reqs := make(chan frame, 1)
	readErr := make(chan error, 1)
	st := &agentState{}
	go func() { readErr <- a.readLoop(ctx, reqs, st) }()
	var tick <-chan time.Time
	if pingEvery > 0 {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			a.Close()
			return ctx.Err()
		case err := <-readErr:
			return err
		case <-tick:
			pctx, pcancel := context.WithTimeout(ctx, DefaultPingTimeout)
			err := a.conn.Ping(pctx)
			pcancel()
			if err != nil {
				_ = a.conn.CloseNow()
				return fmt.Errorf("server did not answer a ping: %w", err)
			}
		case f := <-reqs:
			if err := a.handle(ctx, h, f, st); err != nil {
				_ = a.conn.CloseNow()
				return err
			}
		}
	}
}

func (a *AgentStream) readLoop(ctx context.Context, reqs chan<- frame, st *agentState) error {
	for {
		typ, b, err := a.conn.Read(ctx)
		if err != nil {
			return err
		}
		f, err := decodeFrame(b)
		if typ != websocket.MessageText || err != nil {
			_ = a.conn.Close(websocket.StatusPolicyViolation, "malformed frame")
			return fmt.Errorf("malformed frame from server: %v", err)
		}
		switch f.Type {
		case typeRequest:
			select {
			case reqs <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		case typeCancel:
			st.mu.Lock()
			if st.cur == f.ID && st.cancelCur != nil {
				st.cancelCur()
			} else {
				st.cancelled = f.ID
			}
			st.mu.Unlock()
		}
	}
}

// handle answers one request; an error means the stream is broken.
func (a *AgentStream) handle(ctx context.Context, h Handler, f frame, st *agentState) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st.mu.Lock()
	st.cur, st.cancelCur = f.ID, cancel
	if st.cancelled == f.ID {
		cancel()
	}
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		st.cur, st.cancelCur = 0, nil
		st.mu.Unlock()
	}()
	resp, err := h(rctx, Request{Method: f.Method, Path: f.Path, Header: f.Header, Body: f.Body})
	if ctx.Err() != nil {
		// The agent is stopping: say nothing, so the server sees the stream
		// break and sends the request again on another agent.
		if resp != nil {
			resp.Body.Close()
		}
		return ctx.Err()
	}
	var refused *vcsagent.RefusedError
	switch {
	case errors.As(err, &refused):
		return a.send(ctx, frame{Type: typeRefused, ID: f.ID, Message: refused.Reason})
	case err != nil:
		return a.send(ctx, frame{Type: typeFailed, ID: f.ID, Message: err.Error()})
	}
	defer resp.Body.Close()
	if err := a.send(ctx, frame{Type: typeResponse, ID: f.ID, Status: resp.StatusCode, Header: forwardable(resp.Header)}); err != nil {
		return err
	}
	end := frame{Type: typeEnd, ID: f.ID}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if err := a.conn.Write(ctx, websocket.MessageBinary, chunk(f.ID, buf[:n])); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			end.Error = rerr.Error()
			break
		}
	}
	return a.send(ctx, end)
}

func (a *AgentStream) send(ctx context.Context, f frame) error {
	return a.conn.Write(ctx, websocket.MessageText, f.encode())
}
