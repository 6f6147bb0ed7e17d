package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Wake-ups between servers through LISTEN/NOTIFY (docs/design/replicas.md).
// Each server publishes "<topic> <origin>" on the channel of its schema
// and listens on it with one connection of its own.
const (
	// channelPrefix plus the schema names the channel: channels are
	// database-wide, and servers (or tests) on other schemas of the same
	// database must not wake each other.
	channelPrefix = "hoist_wake_"
	// publishTimeout bounds one NOTIFY: a wake-up late by more is useless.
	publishTimeout = 5 * time.Second
	// listenIdle is how long the listen connection waits for a
	// notification before it checks that the server is still there (a
	// dead peer without a TCP reset would otherwise hold it forever).
	listenIdle = time.Minute
	// minBackoff and maxBackoff bound the wait between reconnects.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Notifier is the PostgreSQL sqlstore.Wakes. It starts its goroutines on
// first use, so stores that never subscribe or publish (most tests, the
// CLI) hold no extra connection.
type Notifier struct {
	url     string  // the listen connection's
	db      *sql.DB // NOTIFY goes through the store's pool
	channel string
	origin  string // in every payload: a server skips its own wake-ups
	log     *slog.Logger

	mu      sync.Mutex
	subs    map[string][]func()
	pending map[string]bool // topics to publish
	kick    chan struct{}   // pending grew
	cancel  context.CancelFunc
	closed  bool
	wg      sync.WaitGroup
}

func newNotifier(url string, db *sql.DB, schema string, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{url: url, db: db, channel: channelName(schema), origin: rand.Text()[:12],
		log: log.With("component", "wakes"), subs: map[string][]func(){}, pending: map[string]bool{},
		kick: make(chan struct{}, 1)}
}

// channelName is the channel of a schema, within PostgreSQL's 63 bytes
// for names (a longer schema is hashed).
func channelName(schema string) string {
	ch := channelPrefix + schema
	if len(ch) > 63 {
		sum := sha256.Sum256([]byte(schema))
		ch = channelPrefix + hex.EncodeToString(sum[:16])
	}
	return ch
}

// Publish queues a NOTIFY of topic; a burst of them for one topic sends
// one. It never blocks.
func (n *Notifier) Publish(topic string) {
	n.mu.Lock()
	n.startLocked()
	n.pending[topic] = true
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Subscribe calls fn (which must not block) for every wake-up of topic from
// another server, and for every topic after (re)connecting.
func (n *Notifier) Subscribe(topic string, fn func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.subs[topic] = append(n.subs[topic], fn)
	n.startLocked()
}

// Close stops the goroutines and waits for them; safe to call twice.
func (n *Notifier) Close() error {
	n.mu.Lock()
	n.closed = true
	cancel := n.cancel
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	n.wg.Wait()
	return nil
}

func (n *Notifier) startLocked() {
	if n.cancel != nil || n.closed {
		return
	}
	var ctx context.Context
	ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Go(func() { n.publish(ctx) })
	n.wg.Go(func() { n.listen(ctx) })
}

// publish sends the pending topics whenever Publish kicks it, outside the
// callers' transactions: they published after their commit.
func (n *Notifier) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		topics := slices.Sorted(maps.Keys(n.pending))
		clear(n.pending)
		n.mu.Unlock()
		for _, topic := range topics {
			if err := n.notify(ctx, topic); err != nil && ctx.Err() == nil {
				// The others find the work at their next poll.
				n.log.WarnContext(ctx, "publish wake-up", "topic", topic, "error", err)
			}
		}
	}
}

func (n *Notifier) notify(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	_, err := n.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", n.channel, topic+" "+n.origin)
	return err
}

// listen holds the listen connection, reconnecting with a bounded backoff.
func (n *Notifier) listen(ctx context.Context) {
	backoff := minBackoff
	for {
		listened, err := n.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = minBackoff // it worked for a while: a fresh start
		}
		n.log.WarnContext(ctx, "listen for wake-ups: reconnecting", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens, wakes every topic once (anything notified
// while nobody listened is found that way) and dispatches notifications
// until the connection fails. listened tells whether LISTEN took effect.
func (n *Notifier) listenOnce(ctx context.Context) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(n.url)
	if err != nil {
		return false, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.RuntimeParams["application_name"] = n.applicationName()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	n.wakeAll()
	for {
		wait, cancel := context.WithTimeout(ctx, listenIdle)
		note, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			if topic, origin, _ := strings.Cut(note.Payload, " "); origin != n.origin {
				n.wake(topic)
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := n.ping(ctx, conn); err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

func (n *Notifier) ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// applicationName marks the listen connection in pg_stat_activity.
func (n *Notifier) applicationName() string { return "hoist wakes " + n.origin }

func (n *Notifier) wake(topic string) {
	n.mu.Lock()
	fns := slices.Clone(n.subs[topic])
	n.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (n *Notifier) wakeAll() {
	n.mu.Lock()
	topics := slices.Sorted(maps.Keys(n.subs))
	n.mu.Unlock()
	for _, t := range topics {
		n.wake(t)
	}
}
