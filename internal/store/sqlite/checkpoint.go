package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer copies what the WAL holds
// into the database.
const checkpointEvery = 200 * time.Millisecond

// checkpointer copies WAL pages back into the database beside the writer.
// A checkpoint SQLite runs itself (wal_autocheckpoint) runs inside the
// commit that crossed the threshold, on the one write connection that
// every write transaction waits for: under sustained webhook load about
// two fifths of the commits' CPU, and the write connection was busy
// nearly all the time (docs/benchmarks.md). A PASSIVE checkpoint on a
// connection of its own takes no write lock, so commits go on meanwhile.
// The writer's own checkpoint stays as the backstop: only it can start
// the WAL over from the beginning, and it then finds most pages copied.
type checkpointer struct {
	db      *sql.DB
	log     *slog.Logger
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
	closed  error
}

func startCheckpointer(db *sql.DB, log *slog.Logger, every time.Duration) *checkpointer {
	c := &checkpointer{db: db, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop(every)
	return c
}

func (c *checkpointer) loop(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	var failing string // the last error logged, so a lasting one is logged once
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		err := c.checkpoint()
		switch {
		case err != nil && err.Error() != failing:
			failing = err.Error()
			c.log.Warn("sqlite: background checkpoint failed; the writer's own checkpoints go on", "error", failing)
		case err == nil && failing != "":
			failing = ""
			c.log.Info("sqlite: background checkpoints work again")
		}
	}
}

// checkpoint copies every WAL page no reader still needs. With nothing
// to copy it reads the WAL index and returns: no I/O.
func (c *checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// busy is 1 when another checkpoint (the writer's) held the lock:
	// not an error, the next tick tries again.
	var busy, logged, copied int
	return c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied)
}

// close stops the checkpointer and closes its connection; again, it
// returns what the first call did.
func (c *checkpointer) close() error {
	c.closing.Do(func() {
		close(c.stop)
		<-c.done
		c.closed = c.db.Close()
	})
	return c.closed
}
