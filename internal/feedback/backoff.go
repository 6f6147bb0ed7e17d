package feedback

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcsagent"
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

// Delay is how long to wait before attempt number attempt+1, given GitLab's
// answer to attempt number attempt (resp may be nil after a network
// error): Retry-After first, then RateLimit-Reset, then exponential backoff
// with jitter. Jitter spreads the retries of many writes that failed
// together, so they do not return as one burst.
func (b Backoff) Delay(attempt int, resp *http.Response, now time.Time, rnd func() float64) time.Duration {
	b = b.withDefaults()
	var d time.Duration
	if asked, ok := askedWait(resp, now); ok {
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

// askedWait reads the wait GitLab asked for: Retry-After (seconds or an
// HTTP date), else RateLimit-Reset (Unix seconds).
func askedWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(resp.Header.Get("RateLimit-Reset")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// failure classifies a failed GitLab call.
type failure struct {
	status    int            // HTTP status; 0 for network errors
	resp      *http.Response // nil for network errors
	retryable bool
	noAgent   bool   // a private integration had no VCS agent connected
	message   string // GitLab's error, for the run page
}

// classify tells retryable failures (429, 5xx, 408, 409, network, no VCS
// agent connected) from final ones (other 4xx, a VCS agent's refusal: only
// its operator can widen what it forwards).
func classify(resp *gl.Response, err error) failure {
	f := failure{message: errorMessage(err)}
	if resp != nil && resp.Response != nil {
		f.status, f.resp = resp.StatusCode, resp.Response
	}
	switch {
	case errors.Is(err, vcsagent.ErrRefused):
		f.retryable = false
	case errors.Is(err, vcsagent.ErrNoAgent):
		f.retryable, f.noAgent = true, true
	case f.status == 0:
		// No answer: refused, reset, timed out. GitLab may be down.
		f.retryable = !errors.Is(err, context.Canceled)
	case f.status == http.StatusTooManyRequests, f.status >= 500,
		f.status == http.StatusRequestTimeout, f.status == http.StatusConflict:
		// 409: GitLab's optimistic locking lost a race (two writers on
		// one pipeline); the next attempt sees the winner.
		f.retryable = true
	}
	return f
}

// errorMessage is the error to show: GitLab's message without the request
// URL client-go puts in front when there is one.
func errorMessage(err error) string {
	if err == nil {
		return ""
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return strconv.Itoa(er.Response.StatusCode) + " " + er.Message
	}
	return err.Error()
}

// isTransitionError reports GitLab's 400 for a status already in (or past)
// the requested state: the write is already done.
func isTransitionError(status int, msg string) bool {
	return status == http.StatusBadRequest && strings.Contains(msg, "Cannot transition status")
}

func defaultRand() float64 { return rand.Float64() }
