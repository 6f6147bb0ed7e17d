package gitlabsim

import (
	"fmt"
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
// are delayed by Latency and then answered with Status, or their
// connection is reset. Rules apply in the order they were added; the first
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
	// Count limits the rule to its first Count matches; 0 means unlimited.
	Count int `json:"count,omitempty"`
	// Until ends the rule at that time; zero means never.
	Until time.Time `json:"until,omitzero"`
	// Hits is how many requests the rule has affected so far.
	Hits int `json:"hits"`

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
	var err error
	switch {
	case f.PathRegexp != "" && f.Path != "":
		return Fault{}, fmt.Errorf("fault: set path or path_regexp, not both: %w", ErrInvalid)
	case f.PathRegexp != "":
		f.re, err = regexp.Compile(f.PathRegexp)
	default:
		if f.Path == "" {
			f.Path = "/**"
		}
		f.re, err = globRegexp(f.Path)
	}
	if err != nil {
		return Fault{}, fmt.Errorf("fault pattern: %v: %w", err, ErrInvalid)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return Fault{}, fmt.Errorf("fault status %d: %w", f.Status, ErrInvalid)
	}
	if f.Latency == 0 && f.Status == 0 && !f.Reset {
		return Fault{}, fmt.Errorf("fault needs latency, status or reset: %w", ErrInvalid)
	}
	f.Method = strings.ToUpper(f.Method)
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.seq++
	f.ID, f.Hits = fs.seq, 0
	fs.rules = append(fs.rules, &f)
	return f, nil
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
// reports whether the fault answered (or dropped) the request.
func (fs *faults) intercept(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	path := r.URL.EscapedPath()
	fs.mu.Lock()
	fs.counts[r.Method+" "+path]++
	var hit *Fault
	for _, f := range fs.rules {
		if (f.Method != "" && f.Method != r.Method) || !matchPath(f.re, path) {
			continue
		}
		if (f.Count > 0 && f.Hits >= f.Count) || (!f.Until.IsZero() && !now.Before(f.Until)) {
			continue
		}
		f.Hits++
		c := *f
		hit = &c
		break
	}
	fs.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.Latency > 0 {
		t := time.NewTimer(hit.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case hit.Reset:
		resetConnection(w)
		return true
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
		return true
	case hit.Status != 0:
		writeJSON(w, hit.Status, map[string]string{"message": fmt.Sprintf("%d %s", hit.Status, http.StatusText(hit.Status))})
		return true
	}
	return false
}

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
