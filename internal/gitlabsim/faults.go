package gitlabsim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a fault rule: requests matching Method and Path (or PathRegexp)
// are delayed by Latency and then answered with Status, or with a huge
// generated body (Flood), or their connection is reset; Trickle slows the
// answer's body down. Rules apply in the order they were added; the first
// active matching rule wins.
type Fault struct {
	ID     int    `json:"id"`
	Method string `json:"method,omitempty"` // "" matches any method
	// Path is a glob over the request path: * matches within one segment,
	// ** across segments. It is tried against the escaped path
	// (/api/v4/projects/g%2Fp) and the decoded one (/api/v4/projects/g/p).
	Path       string `json:"path,omitempty"`
	PathRegexp string `json:"path_regexp,omitempty"` // alternative to Path
	// Latency delays the answer (the request then proceeds normally unless
	// Status or Reset is set too).
	Latency time.Duration `json:"latency,omitempty"`
	// Status answers with this status instead of serving the request: a
	// 5xx, or 429 which also sets Retry-After and RateLimit-* headers.
	Status     int  `json:"status,omitempty"`
	RetryAfter int  `json:"retry_after,omitempty"` // seconds for 429; default 1
	Reset      bool `json:"reset,omitempty"`       // drop the connection without answering
	// Flood answers 200 with a JSON document of this many bytes instead of
	// serving the request, generated as it is sent: a broken or hostile
	// GitLab's huge answer, at no memory cost to the simulator.
	Flood int64 `json:"flood,omitempty"`
	// Trickle sends the answer's body (the real one, or Flood's) in chunks
	// of TrickleBytes (default 1024) with Trickle before each: a slow link,
	// or with a long Trickle a stalled one.
	Trickle      time.Duration `json:"trickle,omitempty"`
	TrickleBytes int           `json:"trickle_bytes,omitempty"`
	// Count limits the rule to its first Count matches; 0 means unlimited.
	Count int `json:"count,omitempty"`
	// Until ends the rule at that time; zero means never.
	Until time.Time `json:"until,omitzero"`
	// Hits is how many requests the rule has affected so far.
	Hits int `json:"hits"`
	// Cut is how many answers of a Flood or Trickle rule the client left
	// before their end (it closed the connection or canceled the request).
	Cut int `json:"cut"`

	re *regexp.Regexp
}

// faults holds the rules and the per-path call counters.
type faults struct {
	mu     sync.Mutex
	seq    int
	rules  []*Fault
	counts map[string]int // "METHOD escaped-path" → calls
}

func newFaults() *faults { return &faults{counts: map[string]int{}} }

// AddFault adds a fault rule and returns it with its ID.
func (s *Server) AddFault(f Fault) (Fault, error) {
	if err := checkFault(&f); err != nil {
		return Fault{}, err
	}
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.add(f), nil
}

// ReplaceFaults replaces every fault rule by fs at once, and returns them
// with their IDs: no request is served between the old rules and the new
// ones (ClearFaults then AddFault leaves a moment without any).
func (s *Server) ReplaceFaults(fs ...Fault) ([]Fault, error) {
	for i := range fs {
		if err := checkFault(&fs[i]); err != nil {
			return nil, err
		}
	}
	all := s.faults
	all.mu.Lock()
	defer all.mu.Unlock()
	all.rules = nil
	out := make([]Fault, 0, len(fs))
	for _, f := range fs {
		out = append(out, all.add(f))
	}
	return out, nil
}

// add appends a checked rule and gives it its ID; fs.mu is held.
func (fs *faults) add(f Fault) Fault {
	fs.seq++
	f.ID, f.Hits, f.Cut = fs.seq, 0, 0
	fs.rules = append(fs.rules, &f)
	return f
}

// checkFault validates f and compiles its pattern.
func checkFault(f *Fault) error {
	var err error
	switch {
	case f.PathRegexp != "" && f.Path != "":
		return fmt.Errorf("fault: set path or path_regexp, not both: %w", ErrInvalid)
	case f.PathRegexp != "":
		f.re, err = regexp.Compile(f.PathRegexp)
	default:
		if f.Path == "" {
			f.Path = "/**"
		}
		f.re, err = globRegexp(f.Path)
	}
	if err != nil {
		return fmt.Errorf("fault pattern: %v: %w", err, ErrInvalid)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault status %d: %w", f.Status, ErrInvalid)
	}
	if f.Latency == 0 && f.Status == 0 && !f.Reset && f.Flood == 0 && f.Trickle == 0 {
		return fmt.Errorf("fault needs latency, status, reset, flood or trickle: %w", ErrInvalid)
	}
	if f.Flood < 0 || f.Trickle < 0 || f.TrickleBytes < 0 {
		return fmt.Errorf("fault flood, trickle and trickle_bytes cannot be negative: %w", ErrInvalid)
	}
	f.Method = strings.ToUpper(f.Method)
	return nil
}

// Faults lists the fault rules with their hit counts.
func (s *Server) Faults() []Fault {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.rules))
	for _, f := range fs.rules {
		out = append(out, *f)
	}
	return out
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = nil
}

// CallCount counts requests served so far (including those a fault
// answered) whose method and path match pattern: "GET /api/v4/user",
// "POST /api/v4/projects/*/statuses/*", or a path glob alone for any
// method.
func (s *Server) CallCount(pattern string) int {
	method, glob := "", pattern
	if i := strings.IndexByte(pattern, ' '); i > 0 {
		method, glob = strings.ToUpper(pattern[:i]), strings.TrimSpace(pattern[i+1:])
	}
	re, err := globRegexp(glob)
	if err != nil {
		return 0
	}
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for key, c := range fs.counts {
		m, p, _ := strings.Cut(key, " ")
		if (method == "" || method == m) && matchPath(re, p) {
			n += c
		}
	}
	return n
}

// ResetCallCounts zeroes the call counters.
func (s *Server) ResetCallCounts() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.counts = map[string]int{}
}

func matchPath(re *regexp.Regexp, escaped string) bool {
	if re.MatchString(escaped) {
		return true
	}
	dec, err := url.PathUnescape(escaped)
	return err == nil && dec != escaped && re.MatchString(dec)
}

// globRegexp turns a path glob into an anchored regexp.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch ch := glob[i]; {
		case ch == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case ch == '*':
			b.WriteString("[^/]*")
		case ch == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// intercept counts the request and applies the first matching fault. It
// reports whether the fault answered (or dropped) the request; if not, the
// request is served on the writer it returns (slowed by Trickle).
func (fs *faults) intercept(w http.ResponseWriter, r *http.Request, now time.Time) (http.ResponseWriter, bool) {
	path := r.URL.EscapedPath()
	fs.mu.Lock()
	fs.counts[r.Method+" "+path]++
	var hit, rule *Fault
	for _, f := range fs.rules {
		if (f.Method != "" && f.Method != r.Method) || !matchPath(f.re, path) {
			continue
		}
		if (f.Count > 0 && f.Hits >= f.Count) || (!f.Until.IsZero() && !now.Before(f.Until)) {
			continue
		}
		f.Hits++
		c := *f
		hit, rule = &c, f
		break
	}
	fs.mu.Unlock()
	if hit == nil {
		return w, false
	}
	if hit.Latency > 0 {
		t := time.NewTimer(hit.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return w, true
		}
	}
	if hit.Trickle > 0 || hit.Flood > 0 {
		w = fs.slowWriter(w, r, hit, rule)
	}
	switch {
	case hit.Reset:
		resetConnection(w)
		return w, true
	case hit.Flood > 0:
		flood(w, hit.Flood)
		return w, true
	case hit.Status == http.StatusTooManyRequests:
		retry := hit.RetryAfter
		if retry <= 0 {
			retry = 1
		}
		reset := now.Add(time.Duration(retry) * time.Second)
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(retry))
		h.Set("RateLimit-Name", "throttle_authenticated_api")
		h.Set("RateLimit-Limit", "2000")
		h.Set("RateLimit-Observed", "2001")
		h.Set("RateLimit-Remaining", "0")
		h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
		writeJSON(w, hit.Status, map[string]string{"message": "Retry later"})
		return w, true
	case hit.Status != 0:
		writeJSON(w, hit.Status, map[string]string{"message": fmt.Sprintf("%d %s", hit.Status, http.StatusText(hit.Status))})
		return w, true
	}
	return w, false
}

// flood answers 200 with a JSON document of size bytes ({"message":"xx…"}),
// generated as it is sent.
func flood(w http.ResponseWriter, size int64) {
	const head, tail = `{"message":"`, `"}`
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if size < int64(len(head)+len(tail)) {
		_, _ = io.WriteString(w, `{}`)
		return
	}
	if _, err := io.WriteString(w, head); err != nil {
		return
	}
	filler := bytes.Repeat([]byte{'x'}, 32<<10)
	for left := size - int64(len(head)+len(tail)); left > 0; {
		n, err := w.Write(filler[:min(left, int64(len(filler)))])
		if err != nil {
			return
		}
		left -= int64(n)
	}
	_, _ = io.WriteString(w, tail)
}

// slowWriter is w for a Flood or Trickle rule: chunks with a pause before
// each (none without Trickle), counting in rule.Cut an answer whose client
// left before its end.
func (fs *faults) slowWriter(w http.ResponseWriter, r *http.Request, hit, rule *Fault) http.ResponseWriter {
	chunk := hit.TrickleBytes
	if chunk <= 0 {
		chunk = 1024
		if hit.Trickle == 0 {
			chunk = 32 << 10
		}
	}
	var once sync.Once
	cut := func() {
		once.Do(func() {
			fs.mu.Lock()
			rule.Cut++
			fs.mu.Unlock()
		})
	}
	return &trickleWriter{ResponseWriter: w, ctx: r.Context(), every: hit.Trickle, chunk: chunk, cut: cut}
}

// trickleWriter sends its writes in chunks of chunk bytes, each after a
// pause of every, flushing each.
type trickleWriter struct {
	http.ResponseWriter
	ctx   context.Context
	every time.Duration
	chunk int
	cut   func()
}

func (t *trickleWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if t.every > 0 {
			timer := time.NewTimer(t.every)
			select {
			case <-timer.C:
			case <-t.ctx.Done():
				timer.Stop()
				t.cut()
				return written, t.ctx.Err()
			}
		}
		n, err := t.ResponseWriter.Write(p[:min(len(p), t.chunk)])
		written += n
		if err != nil {
			t.cut()
			return written, err
		}
		_ = http.NewResponseController(t.ResponseWriter).Flush()
		p = p[n:]
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (t *trickleWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// resetConnection drops the client's connection without a response; with
// SO_LINGER 0 the kernel sends a TCP RST, as a crashing proxy would.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2): abort the stream instead
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
