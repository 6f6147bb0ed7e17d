package feedback

import (
	"math/rand/v2"
	"time"

	"github.com/hoistdev/hoist/internal/vcs"
)

// Backoff is the retry policy of the writer: the only one (client-go's own
// retries are off), so a write is never retried twice over.
type Backoff struct {
	// Base is the first exponential wait; it doubles with each attempt.
	Base time.Duration
	// Max caps the exponential wait (Retry-After and RateLimit-Reset are
	// honoured beyond it, up to Cap).
	Max time.Duration
	// Cap bounds every wait, GitLab's asked-for ones included; tests make
	// it small. Zero means an hour.
	Cap time.Duration
	// Budget is how long a write keeps being retried after it was queued
	// before it is recorded as failed.
	Budget time.Duration
	// NoAgent caps the wait after a private integration had no VCS agent
	// connected: that attempt costs nothing (it fails in memory, no
	// request leaves), and writes should land soon after an agent
	// reconnects rather than after an exponential wait grown in its
	// absence.
	NoAgent time.Duration
}

// DefaultBackoff retries for a day: GitLab outages of hours delay writes
// but lose none.
var DefaultBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute, Cap: time.Hour, Budget: 24 * time.Hour, NoAgent: 5 * time.Second}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff
	if b.Base > 0 {
		d.Base = b.Base
	}
	if b.Max > 0 {
		d.Max = b.Max
	}
	if b.Cap > 0 {
		d.Cap = b.Cap
	}
	if b.Budget > 0 {
		d.Budget = b.Budget
	}
	if b.NoAgent > 0 {
		d.NoAgent = b.NoAgent
	}
	return d
}

// Delay is how long to wait before attempt number attempt+1, given how
// attempt number attempt failed (failed may be nil when the call did not
// reach GitLab): GitLab's Retry-After first, then its RateLimit-Reset, then
// exponential backoff with jitter. Jitter spreads the retries of many
// writes that failed together, so they do not return as one burst.
func (b Backoff) Delay(attempt int, failed *vcs.Error, now time.Time, rnd func() float64) time.Duration {
	b = b.withDefaults()
	var d time.Duration
	if asked, ok := askedWait(failed, now); ok {
		// A little jitter on top: never earlier than asked.
		d = asked + time.Duration(rnd()*float64(asked/10+100*time.Millisecond))
	} else {
		exp := b.Base
		for i := 1; i < attempt && exp < b.Max; i++ {
			exp *= 2
		}
		exp = min(exp, b.Max)
		// "Equal jitter": between half and all of the exponential wait.
		d = exp/2 + time.Duration(rnd()*float64(exp/2))
	}
	return min(d, b.Cap)
}

// askedWait reads the wait GitLab asked for (vcs.AskedWait).
func askedWait(failed *vcs.Error, now time.Time) (time.Duration, bool) { return failed.AskedWait(now) }

func defaultRand() float64 { return rand.Float64() }
