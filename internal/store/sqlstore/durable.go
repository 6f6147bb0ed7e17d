package sqlstore

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Durability against power loss on SQLite (docs/design/webhooks.md). The
// database commits with synchronous=NORMAL: a commit is in the OS page
// cache when it returns, which survives a crash of the process but not of
// the machine. Acknowledged webhooks must survive both. They used to
// commit with synchronous=FULL, whose fsync ran while the transaction held
// SQLite's one write connection (the intake's transactions held it 28 % of
// the time under load), with every processing transaction waiting behind
// it. Now they commit like any other, and Durable syncs the WAL
// afterwards, outside the writer, one fsync shared by every caller
// waiting at that moment.

// syncGroup shares syncs among concurrent callers (group fsync): a sync
// that started after a caller asked covers every commit that returned
// before it asked.
type syncGroup struct {
	sync    func() error // makes the commits so far durable
	started atomic.Uint64
	mu      sync.Mutex // held through a sync: syncs run one at a time
	failed  error      // under mu; once set, every later wait fails
}

// ask returns the caller's place: every commit that returned before it is
// covered by any sync that starts after it.
func (g *syncGroup) ask() uint64 { return g.started.Load() }

// wait returns once a sync that started after ask returned asked has
// completed, running one itself when none has.
func (g *syncGroup) wait(asked uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed != nil {
		return g.failed
	}
	if g.started.Load() > asked {
		// A sync started after ask (syncs hold mu, so it is done).
		return nil
	}
	g.started.Add(1)
	if err := g.sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and a later fsync may succeed without them: no later commit can
		// be called durable again (PostgreSQL stops for the same reason).
		g.failed = fmt.Errorf("sync the database to disk failed, so no commit since can be trusted to survive a power loss; restart the server: %w", err)
		return g.failed
	}
	return nil
}

// err is the failure that stopped durable commits, or nil.
func (g *syncGroup) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failed
}

// Durable returns once every commit that returned before the call
// survives power loss, not only a crash of the process: at once on
// PostgreSQL (synchronous_commit is on); on SQLite after an fsync of the
// WAL that concurrent callers share. Callers that promise durability to
// someone else (the webhook intake's acknowledgement) call it before they
// promise. Once a sync failed it fails for good.
func (s *Store) Durable() error {
	if s.sync == nil {
		return nil
	}
	return s.sync.wait(s.sync.ask())
}
