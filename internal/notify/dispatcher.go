package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// DispatcherConfig configures a Dispatcher. Zero values take defaults.
type DispatcherConfig struct {
	Service *Service // opens targets' secrets
	Store   Store
	// Client sends the deliveries; default: a client with Timeout, which
	// follows no redirects (a receiver's redirect is an error to fix, and
	// would carry the signed body elsewhere).
	Client  *http.Client
	Timeout time.Duration // per attempt; default 10s
	Clock   func() time.Time
	// Poll is how often due deliveries are looked for besides Notify;
	// default 1s.
	Poll time.Duration
	// Lease is how long a claimed target stays with this process; default
	// a minute (well above Timeout).
	Lease time.Duration
	// Concurrency bounds the targets sent to at once; default 4.
	Concurrency int
	// MaxAttempts bounds the attempts of a delivery before it is marked
	// failed; default 8.
	MaxAttempts int
	// BackoffBase is the first wait between attempts, doubling up to
	// BackoffMax; defaults 2s and 10 minutes.
	BackoffBase, BackoffMax time.Duration
	// MaxResponseBytes bounds what is read of a receiver's answer;
	// default 64 KiB.
	MaxResponseBytes int64
	// Rand returns numbers in [0, 1) for jitter; default math/rand.
	Rand func() float64
	// Metrics counts the attempts; nil: nothing.
	Metrics Metrics
}

// Metrics is told what became of every attempt (internal/metrics
// implements it).
type Metrics interface {
	NotificationAttempt(kind string, state string)
}

// transport is the default client's: Go's default transport, and with an
// allow-list, one that checks every address it dials and uses no proxy
// (through a proxy, the address dialed would be the proxy's, not the
// receiver's, and could not be checked).
func transport(allow *AllowList, timeout time.Duration) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if allow.Enabled() {
		d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: allow.dialControl}
		t.DialContext, t.Proxy = d.DialContext, nil
	}
	return t
}

// Dispatcher sends the due deliveries, per target oldest first: a target's
// next delivery waits until the one before is delivered or has failed for
// good. Several servers on one database share targets through leases.
type Dispatcher struct {
	cfg   DispatcherConfig
	owner string
	wake  chan struct{}
	slots chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
	sends  sync.WaitGroup
	stop   sync.Once
}

// NewDispatcher returns a Dispatcher; Start runs it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout, Transport: transport(cfg.Service.cfg.AllowHosts, cfg.Timeout),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 2 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 10 * time.Minute
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	if cfg.Rand == nil {
		cfg.Rand = mrand.Float64
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Dispatcher{cfg: cfg, owner: hex.EncodeToString(b), wake: make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.Concurrency)}
}

func (d *Dispatcher) now() time.Time { return d.cfg.Clock().UTC() }

// Start runs the dispatcher until Stop or ctx ends.
func (d *Dispatcher) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		t := time.NewTicker(d.cfg.Poll)
		defer t.Stop()
		for {
			d.dispatch(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-d.wake:
			}
		}
	}()
}

// Stop stops claiming, cancels the sends in flight and waits for them;
// their targets stay leased until the lease runs out, and their
// deliveries stay queued. Safe to call twice, or without Start.
func (d *Dispatcher) Stop() {
	d.stop.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
			d.sends.Wait()
		}
	})
}

// Notify wakes the dispatcher: deliveries were just committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) dispatch(ctx context.Context) {
	free := cap(d.slots) - len(d.slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	ids, err := d.cfg.Store.ClaimNotificationTargets(ctx, d.owner, d.now(), d.cfg.Lease, free)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Service.log.ErrorContext(ctx, "claim notification targets", "error", err)
		}
		return
	}
	for _, id := range ids {
		d.slots <- struct{}{}
		d.sends.Add(1)
		go func() {
			defer func() { <-d.slots; d.sends.Done() }()
			if err := d.process(ctx, id); err != nil && ctx.Err() == nil {
				d.cfg.Service.log.ErrorContext(ctx, "notification delivery", "target_id", id, "error", err)
			}
			d.Notify() // the target may be due again
		}()
	}
}

// process sends a claimed target's oldest open delivery, if due.
func (d *Dispatcher) process(ctx context.Context, targetID string) error {
	del, ok, err := d.cfg.Store.NextNotification(ctx, targetID)
	if err != nil {
		return err
	}
	if !ok || del.NextAttemptAt.After(d.now()) {
		return d.cfg.Store.ResolveNotification(ctx, targetID, d.owner, nil, nil, d.now())
	}
	t, err := d.cfg.Store.GetNotificationTarget(ctx, targetID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted since it was claimed, with its deliveries
	}
	if err != nil {
		return err
	}
	a := d.send(ctx, t, del)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the attempt does not count
	}
	d.resolve(&del, a)
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.NotificationAttempt(string(t.Kind), string(del.State))
	}
	if del.State == StateFailed {
		d.cfg.Service.log.WarnContext(ctx, "notification delivery failed", "target_id", targetID, "delivery_id", del.ID,
			"attempts", del.Attempts, "error", del.LastError)
	}
	return d.cfg.Store.ResolveNotification(ctx, targetID, d.owner, &del, &a.Attempt, d.now())
}

// outcome classifies an attempt.
type outcome int

const (
	delivered outcome = iota
	retry
	permanent
)

// attemptResult is an Attempt with its classification and the wait the
// receiver asked for.
type attemptResult struct {
	Attempt
	outcome outcome
	asked   time.Duration
}

// send makes one attempt.
func (d *Dispatcher) send(ctx context.Context, t Target, del Delivery) attemptResult {
	start := time.Now()
	a := attemptResult{Attempt: Attempt{DeliveryID: del.ID, Number: del.Attempts + 1, At: d.now()}}
	a.outcome, a.StatusCode, a.asked, a.Error = d.post(ctx, t, del)
	a.Duration = time.Since(start)
	return a
}

func (d *Dispatcher) post(ctx context.Context, t Target, del Delivery) (outcome, int, time.Duration, string) {
	u, sec, err := d.cfg.Service.open(t)
	if err != nil {
		return permanent, 0, 0, err.Error()
	}
	// Again at every attempt: the list may have changed since the target
	// was saved, and targets saved before it existed are held to it.
	if pu, err := url.Parse(u); err != nil {
		return permanent, 0, 0, "the target's URL does not parse"
	} else if err := d.cfg.Service.cfg.AllowHosts.CheckHost(pu.Hostname()); err != nil {
		return permanent, 0, 0, "refused: " + err.Error()
	}
	body := []byte(del.Payload)
	if t.Kind == Slack {
		if body, err = renderSlack(del.Payload); err != nil {
			return permanent, 0, 0, err.Error()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return permanent, 0, 0, "build request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hoist-Notifications/1")
	req.Header.Set(HeaderEvent, string(del.Event))
	req.Header.Set(HeaderDelivery, strconv.FormatInt(del.ID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(d.now().Unix(), 10))
	if sec != nil {
		req.Header.Set(HeaderSignature, Sign(sec, body))
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		// The URL is a secret (a Slack URL is the credential): say what
		// failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if refused := (*RefusedAddrError)(nil); errors.As(err, &refused) {
			return permanent, 0, 0, "refused: " + t.URLHost + " resolved to " + refused.Error()
		}
		return retry, 0, 0, "send to " + t.URLHost + ": " + err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.CopyN(io.Discard, resp.Body, d.cfg.MaxResponseBytes)
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return delivered, code, 0, ""
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		asked, _ := vcs.AskedWait(resp.Header.Get("Retry-After"), "", d.now())
		return retry, code, asked, answer(code, snippet)
	case code >= 300 && code < 400:
		return permanent, code, 0, answer(code, nil) + ": redirects are not followed; give the final URL"
	}
	return permanent, code, 0, answer(code, snippet)
}

func answer(code int, snippet []byte) string {
	s := fmt.Sprintf("receiver answered %d %s", code, http.StatusText(code))
	if b := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); b != "" {
		s += ": " + b
	}
	return s
}

// resolve records an attempt on del: delivered, failed for good, or
// retrying after a backoff.
func (d *Dispatcher) resolve(del *Delivery, a attemptResult) {
	now := d.now()
	del.Attempts, del.LastStatus, del.UpdatedAt = a.Number, a.StatusCode, now
	switch {
	case a.outcome == delivered:
		del.State, del.LastError, del.NextAttemptAt = StateDelivered, "", now
	case a.outcome == permanent:
		del.State, del.LastError, del.NextAttemptAt = StateFailed, a.Error, now
	case del.Attempts >= d.cfg.MaxAttempts:
		del.State, del.NextAttemptAt = StateFailed, now
		del.LastError = fmt.Sprintf("gave up after %d attempts: %s", del.Attempts, a.Error)
	default:
		del.State, del.LastError, del.NextAttemptAt = StateRetrying, a.Error, now.Add(d.backoff(del.Attempts, a.asked))
	}
}

// backoff is the wait after attempt number n failed: exponential from
// BackoffBase with equal jitter, capped at BackoffMax; a receiver's
// Retry-After is honoured up to BackoffMax.
func (d *Dispatcher) backoff(n int, asked time.Duration) time.Duration {
	if asked > 0 {
		return min(asked, d.cfg.BackoffMax)
	}
	exp := d.cfg.BackoffBase
	for i := 1; i < n && exp < d.cfg.BackoffMax; i++ {
		exp *= 2
	}
	exp = min(exp, d.cfg.BackoffMax)
	return exp/2 + time.Duration(d.cfg.Rand()*float64(exp/2))
}
