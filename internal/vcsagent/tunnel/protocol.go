// Package tunnel carries Hoist's GitLab API requests to VCS agents (SPEC
// §2.5). Agents dial out to the server and open --parallelism WebSocket
// streams; each stream carries one request at a time. This package holds
// the wire protocol both ends speak, the server side — the Handler agents
// connect to, the Registry of connected agents per pool and the
// RoundTripper that sends a request through an agent — and the agent side's
// stream loop (Serve).
//
// One stream, one request at a time:
//
//	server → agent  text    {"type":"request","id":N,"method",...,"body":…}
//	agent → server  text    {"type":"response","id":N,"status":200,"header":{…}}
//	                binary  [8-byte id N][body chunk] …
//	                text    {"type":"end","id":N}            (or "error" set: body cut short)
//	            or  text    {"type":"refused","id":N,"message":…}  (allow-list)
//	            or  text    {"type":"failed","id":N,"message":…}   (target unreachable)
//	server → agent  text    {"type":"cancel","id":N}          (caller gave up)
//
// Frames of an id the reader is not waiting for are dropped, so a cancelled
// request's tail never leaks into the next one.
package tunnel

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ConnectPath is where agents open streams (GET, WebSocket upgrade).
const ConnectPath = "/api/v1/vcs-agent/connect"

// Headers of the connect request. The pool token travels as
// `Authorization: Bearer <token>`.
const (
	HeaderAgentID   = "X-Hoist-Agent-Id"   // random per agent process: groups its streams
	HeaderAgentName = "X-Hoist-Agent-Name" // host name, for the pool view
	HeaderVendor    = "X-Hoist-Agent-Vendor"
)

// Frame types.
const (
	typeRequest  = "request"
	typeResponse = "response"
	typeEnd      = "end"
	typeRefused  = "refused"
	typeFailed   = "failed"
	typeCancel   = "cancel"
)

// Limits of the protocol.
const (
	// MaxRequestBody bounds a request body sent to an agent (GitLab API
	// writes are small; a note is at most 1,000,000 characters).
	MaxRequestBody = 16 << 20
	// chunkSize is the largest body chunk in one binary message.
	chunkSize = 32 << 10
	// maxMessage bounds one WebSocket message in either direction.
	maxMessage = MaxRequestBody + 64<<10
)

// frame is one text message.
type frame struct {
	Type    string      `json:"type"`
	ID      uint64      `json:"id"`
	Method  string      `json:"method,omitempty"`
	Path    string      `json:"path,omitempty"` // escaped path and query, e.g. /api/v4/projects/a%2Fb?x=1
	Header  http.Header `json:"header,omitempty"`
	Body    []byte      `json:"body,omitempty"`
	Status  int         `json:"status,omitempty"`
	Message string      `json:"message,omitempty"`
	Error   string      `json:"error,omitempty"`
}

func (f frame) encode() []byte {
	b, err := json.Marshal(f)
	if err != nil {
		panic(fmt.Sprintf("encode frame: %v", err)) // only plain types: cannot happen
	}
	return b
}

func decodeFrame(b []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("decode frame: %w", err)
	}
	if f.Type == "" || f.ID == 0 {
		return frame{}, errors.New("decode frame: no type or id")
	}
	return f, nil
}

// chunk prefixes a body chunk with its request id.
func chunk(id uint64, data []byte) []byte {
	b := make([]byte, 8+len(data))
	binary.BigEndian.PutUint64(b, id)
	copy(b[8:], data)
	return b
}

func parseChunk(b []byte) (uint64, []byte, error) {
	if len(b) < 8 {
		return 0, nil, errors.New("body chunk without id")
	}
	return binary.BigEndian.Uint64(b), b[8:], nil
}

// hopHeaders are never forwarded in either direction (RFC 9110 §7.6.1),
// nor are headers the transport recomputes.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Accept-Encoding"}

// forwardable copies h without hop-by-hop headers and those named in its
// Connection header.
func forwardable(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		return http.Header{}
	}
	for _, f := range out.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			out.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		out.Del(name)
	}
	return out
}
