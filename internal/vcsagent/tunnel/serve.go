package tunnel

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Keepalive of idle streams: a NAT or proxy that drops the connection
// silently is noticed within PingInterval+PingTimeout.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 15 * time.Second
)

// Conn is an agent's connect request after its pool token was checked.
type Conn struct {
	Pool      string
	TokenHash string // hash of the token it authenticated with
	// Recheck re-validates the token; an apperr Unauthorized answer closes
	// the stream. It runs right after the stream is registered (so a
	// rotation racing the handshake cannot leave an old-token stream
	// behind) and at every keepalive tick (so a rotation on another server
	// process reaches this one within a tick). nil skips it.
	Recheck func(ctx context.Context) error
	// PingInterval and PingTimeout default to DefaultPingInterval and
	// DefaultPingTimeout.
	PingInterval, PingTimeout time.Duration
}

// Serve upgrades an agent's connect request to a stream and carries
// requests on it until the connection ends. Errors before the upgrade are
// apperr errors for the caller to answer; after it, Serve returns nil.
func (r *Registry) Serve(w http.ResponseWriter, req *http.Request, c Conn) error {
	agentID, name, err := agentIdentity(req.Header)
	if err != nil {
		return err
	}
	// http.Server's read and write deadlines stay on a hijacked connection:
	// clear them, the stream lives for hours.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(w, req, nil)
	if err != nil {
		return nil // Accept answered the client already
	}
	conn.SetReadLimit(maxMessage)
	s, ok := r.add(c.Pool, agentID, name, c.TokenHash, conn)
	if !ok {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return nil
	}
	defer r.remove(s)
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	if c.Recheck != nil && apperr.Is(c.Recheck(ctx), apperr.Unauthorized) {
		conn.Close(websocket.StatusPolicyViolation, "pool token rotated")
		return nil
	}
	go s.keepAlive(ctx, c)
	err = s.readLoop(ctx)
	r.log.Debug("vcs agent stream ended", "pool_id", c.Pool, "agent_id", agentID, "reason", err)
	return nil
}

// agentIdentity reads the agent's id and name headers.
func agentIdentity(h http.Header) (id, name string, err error) {
	id = strings.TrimSpace(h.Get(HeaderAgentID))
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'))
	}) {
		return "", "", apperr.Errorf(apperr.Invalid, "header %s must be 1–64 letters, digits, - or _", HeaderAgentID)
	}
	name = strings.TrimSpace(h.Get(HeaderAgentName))
	if len(name) > 128 || strings.ContainsFunc(name, unicode.IsControl) {
		name = ""
	}
	return id, name, nil
}

// keepAlive pings the agent while the stream is idle and re-validates its
// token, closing the stream on failure.
func (s *stream) keepAlive(ctx context.Context, c Conn) {
	every, timeout := c.PingInterval, c.PingTimeout
	if every <= 0 {
		every = DefaultPingInterval
	}
	if timeout <= 0 {
		timeout = DefaultPingTimeout
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-t.C:
		}
		if c.Recheck != nil && apperr.Is(c.Recheck(ctx), apperr.Unauthorized) {
			s.reg.remove(s) // out of the pool before it closes, as Registry.Disconnect
			s.close(websocket.StatusPolicyViolation, "pool token rotated")
			return
		}
		if s.want.Load() != 0 {
			continue // a request is in flight: its own frames show liveness
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.reg.log.Warn("vcs agent did not answer a ping; closing the stream", "pool_id", c.Pool, "agent_id", s.agent.id)
			_ = s.conn.CloseNow()
			return
		}
	}
}
