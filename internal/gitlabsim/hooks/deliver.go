package hooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// DefaultTimeout is how long GitLab waits for a receiver before it
	// logs the delivery as failed (gitlab.com and the self-managed default).
	DefaultTimeout = 10 * time.Second
	// DefaultVersion is the GitLab version the simulator claims in
	// User-Agent.
	DefaultVersion = "17.6.0"
	// MaxResponseBody caps the receiver's response body kept in a Delivery;
	// GitLab also keeps only a truncated response.
	MaxResponseBody = 4 << 10
	// redacted replaces the secret token in recorded request headers, as
	// GitLab's hook logs do.
	redacted = "[REDACTED]"
)

// Delivery is one attempt to send an event to a hook: what was sent and
// how the receiver answered.
type Delivery struct {
	ID             int
	HookID         int
	Event          string // X-Gitlab-Event value
	URL            string
	RequestHeaders http.Header // as sent, with X-Gitlab-Token redacted
	RequestBody    []byte
	IdempotencyKey string // stays the same when the delivery is resent
	EventUUID      string // shared by every hook that received the event
	WebhookUUID    string // new for every attempt
	StatusCode     int    // 0 when no response was received
	ResponseBody   string // at most MaxResponseBody bytes
	Duration       time.Duration
	Err            string // transport error or timeout; "" when a response arrived
	At             time.Time
}

// Succeeded reports whether the receiver answered 2xx in time. Anything
// else (timeout, connection error, 3xx, 4xx, 5xx) counts as a failure, as
// in GitLab's hook logs.
func (d Delivery) Succeeded() bool {
	return d.Err == "" && d.StatusCode >= 200 && d.StatusCode < 300
}

// Message is one event ready to send.
type Message struct {
	Event string // X-Gitlab-Event value, e.g. EventPush
	Body  []byte
	// EventUUID identifies the event across the hooks it is sent to; ""
	// means a new one.
	EventUUID string
}

// Deliverer sends webhook requests the way GitLab does. The zero value is
// ready to use; set fields before the first delivery and do not change
// them afterwards. A Deliverer must not be copied after first use.
type Deliverer struct {
	HTTPClient  *http.Client     // nil means a client that does not follow redirects
	Timeout     time.Duration    // per request; 0 means DefaultTimeout
	InstanceURL string           // X-Gitlab-Instance, the simulator's base URL
	Version     string           // User-Agent is "GitLab/<Version>"; "" means DefaultVersion
	Clock       func() time.Time // stamps Delivery.At and times Duration; nil means time.Now
	Logger      *slog.Logger     // nil discards
	NewUUID     func() string    // must be safe for concurrent use; nil means random version 4 UUIDs
	nextID      atomic.Int64     // last Delivery.ID handed out
	_           [0]func()        // not comparable; keeps the zero value honest
}

// Deliver sends a new delivery of event to hook with fresh
// Idempotency-Key, X-Gitlab-Event-UUID and X-Gitlab-Webhook-UUID.
func (d *Deliverer) Deliver(ctx context.Context, hook Hook, event string, body []byte) Delivery {
	return d.Send(ctx, hook, Message{Event: event, Body: body})
}

// Send is Deliver for a message whose event UUID may already be set,
// so all hooks receiving one event share it, as in GitLab.
func (d *Deliverer) Send(ctx context.Context, hook Hook, m Message) Delivery {
	eventUUID := m.EventUUID
	if eventUUID == "" {
		eventUUID = d.uuid()
	}
	return d.send(ctx, hook, m.Event, m.Body, d.uuid(), eventUUID)
}

// Redeliver is GitLab's "Resend request": the same event, body,
// Idempotency-Key and event UUID as prev, a new webhook UUID, sent to the
// hook's current URL with its current token.
func (d *Deliverer) Redeliver(ctx context.Context, hook Hook, prev Delivery) Delivery {
	key := prev.IdempotencyKey
	if key == "" {
		key = d.uuid()
	}
	eventUUID := prev.EventUUID
	if eventUUID == "" {
		eventUUID = d.uuid()
	}
	return d.send(ctx, hook, prev.Event, prev.RequestBody, key, eventUUID)
}

func (d *Deliverer) send(ctx context.Context, hook Hook, event string, body []byte, key, eventUUID string) Delivery {
	del := Delivery{
		ID:             int(d.nextID.Add(1)),
		HookID:         hook.ID,
		Event:          event,
		URL:            hook.URL,
		RequestBody:    body,
		IdempotencyKey: key,
		EventUUID:      eventUUID,
		WebhookUUID:    d.uuid(),
		At:             d.now().UTC(),
	}
	header := d.headers(hook, del)
	del.RequestHeaders = header.Clone()
	if hook.Token != "" {
		del.RequestHeaders.Set("X-Gitlab-Token", redacted)
	}

	// Timed from before the deadline is set: a receiver that never answers
	// shows at least the timeout.
	start := d.now()
	timeout := d.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, respBody, err := d.post(ctx, hook, header, body)
	del.Duration = d.now().Sub(start)
	del.StatusCode, del.ResponseBody = status, respBody
	if err != nil {
		del.StatusCode = 0
		del.Err = describeError(ctx, err, timeout)
	}

	log := d.logger().With("delivery_id", del.ID, "hook_id", hook.ID, "event", event,
		"status", del.StatusCode, "duration_ms", del.Duration.Milliseconds())
	if del.Succeeded() {
		log.DebugContext(ctx, "webhook delivered")
	} else {
		log.InfoContext(ctx, "webhook delivery failed", "error", del.Err)
	}
	return del
}

func (d *Deliverer) headers(hook Hook, del Delivery) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/"+d.version())
	h.Set("X-Gitlab-Event", del.Event)
	if hook.Token != "" {
		h.Set("X-Gitlab-Token", hook.Token)
	}
	if d.InstanceURL != "" {
		h.Set("X-Gitlab-Instance", d.InstanceURL)
	}
	h.Set("X-Gitlab-Event-UUID", del.EventUUID)
	h.Set("X-Gitlab-Webhook-UUID", del.WebhookUUID)
	h.Set("Idempotency-Key", del.IdempotencyKey)
	return h
}

// post sends the request and reads at most MaxResponseBody bytes of the
// answer, all within ctx's deadline.
func (d *Deliverer) post(ctx context.Context, hook Hook, header http.Header, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.Header = header
	client, done := d.client(hook)
	defer done()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	kept, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	if err == nil {
		// Drain a little more so the connection can be reused; a huge
		// answer is cut off by Close.
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	if err != nil {
		return resp.StatusCode, string(kept), fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, string(kept), nil
}

// client returns the HTTP client for hook and a func to release it. A hook
// with SSL verification off gets a one-off transport that skips it, only
// for https URLs.
func (d *Deliverer) client(hook Hook) (*http.Client, func()) {
	base := d.HTTPClient
	if base == nil {
		base = &http.Client{
			Timeout: d.timeout(),
			// GitLab records a redirect as the hook's answer; it does not
			// follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if hook.EnableSSLVerification || !strings.HasPrefix(strings.ToLower(hook.URL), "https:") {
		return base, func() {}
	}
	t, ok := base.Transport.(*http.Transport)
	if !ok || t == nil {
		t, ok = http.DefaultTransport.(*http.Transport)
		if !ok {
			return base, func() {}
		}
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	// The hook's owner turned verification off, as GitLab allows.
	t.TLSClientConfig.InsecureSkipVerify = true
	c := *base
	c.Transport = t
	return &c, t.CloseIdleConnections
}

// describeError names a timeout as such, since GitLab shows timeouts
// differently from other failures.
func describeError(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timeout: no complete response within %s", timeout)
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Sprintf("timeout: no complete response within %s", timeout)
	}
	return err.Error()
}

func (d *Deliverer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

func (d *Deliverer) version() string {
	if d.Version != "" {
		return d.Version
	}
	return DefaultVersion
}

func (d *Deliverer) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (d *Deliverer) uuid() string {
	if d.NewUUID != nil {
		return d.NewUUID()
	}
	return newUUID()
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
