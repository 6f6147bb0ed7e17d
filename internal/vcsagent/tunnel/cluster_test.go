package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// fakePresence is the presence table in memory.
type fakePresence struct {
	mu    sync.Mutex
	rows  []vcsagent.Presence
	lists atomic.Int32
}

func (f *fakePresence) SetAgentPresence(_ context.Context, server string, rows []vcsagent.Presence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []vcsagent.Presence
	for _, p := range f.rows {
		if p.ServerID != server {
			keep = append(keep, p)
		}
	}
	f.rows = append(keep, rows...)
	return nil
}

func (f *fakePresence) ListAgentPresence(_ context.Context, since time.Time) ([]vcsagent.Presence, error) {
	f.lists.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vcsagent.Presence
	for _, p := range f.rows {
		if !p.SeenAt.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePresence) DeleteAgentPresence(ctx context.Context, server string) error {
	return f.SetAgentPresence(ctx, server, nil)
}

func (f *fakePresence) PurgeAgentPresence(context.Context, time.Time) (int64, error) { return 0, nil }

const testKey = "relay-key"

// peer is another server's relay endpoint answering as answer does;
// calls counts the requests that reached it.
type peer struct {
	addr  string
	calls atomic.Int32
}

func startPeer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *peer {
	t.Helper()
	p := &peer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		if r.Header.Get(HeaderRelayKey) != testKey {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	p.addr = srv.URL
	return p
}

// deadAddr is an address that refuses connections.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	return addr
}

func answering(result string, status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if result != "" {
			w.Header().Set(HeaderRelayResult, result)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// breaking reads the request and cuts the connection without an answer,
// as a server that dies after its agent forwarded the request.
func breaking(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// testCluster is server "b" with no agent of its own, its clock at now,
// seeing the given peers' rows for pool "lab".
func testCluster(t *testing.T, now *atomic.Pointer[time.Time], addrs ...string) (*Cluster, *fakePresence) {
	t.Helper()
	store := &fakePresence{}
	for i, a := range addrs {
		store.rows = append(store.rows, vcsagent.Presence{ServerID: "peer" + string(rune('0'+i)), Address: a, Pool: "lab",
			AgentID: "agent", Streams: 2, ConnectedAt: *now.Load(), SeenAt: *now.Load()})
	}
	c := NewCluster(ClusterConfig{Local: NewRegistry(nil, nil), Presence: store, ServerID: "b", Address: "http://b.invalid",
		RelayKey: testKey, Clock: func() time.Time { return *now.Load() }})
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c, store
}

func clock() *atomic.Pointer[time.Time] {
	var p atomic.Pointer[time.Time]
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p.Store(&now)
	return &p
}

func call(t *testing.T, c *Cluster, method string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://private.lab/api/v4/projects/a%2Fb?x=1", strings.NewReader("note"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Private-Token", "glpat")
	resp, err := c.RoundTripper("lab").RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get(HeaderRelayResult) != "" {
		t.Error("the relay's result header reached the caller")
	}
	return string(b), nil
}

// TestClusterPeerSelection: with no agent here, a request goes to the
// servers that announce one, each in turn, and the answer each gives
// decides whether the next is tried.
func TestClusterPeerSelection(t *testing.T) {
	t.Parallel()
	ok := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.RequestURI() != RelayPath+"lab/api/v4/projects/a%2Fb?x=1" || string(b) != "note" || r.Header.Get("Private-Token") != "glpat" {
			t.Errorf("relayed %s %s %q, headers %v", r.Method, r.URL.RequestURI(), b, r.Header)
		}
		w.Header().Set(HeaderRelayResult, relayOK)
		io.WriteString(w, "from gitlab")
	}
	tests := []struct {
		name    string
		method  string
		answers []func(http.ResponseWriter, *http.Request) // nil: an address that refuses connections
		want    string                                     // the body, or the error's text
		wantIs  error
	}{
		{name: "no other server", method: "GET", wantIs: vcsagent.ErrNoAgent},
		{name: "past one down and one without agents", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){nil, answering(relayNoAgent, 503, "none"), ok}, want: "from gitlab"},
		{name: "down and without agents only", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){nil, answering(relayNoAgent, 503, "none")}, wantIs: vcsagent.ErrNoAgent},
		{name: "refusal is final", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){answering(relayRefused, 403, "project outside")}, wantIs: vcsagent.ErrRefused, want: "project outside"},
		{name: "not replayed there", method: "POST",
			answers: []func(http.ResponseWriter, *http.Request){answering(relayNotReplayed, 502, "POST not sent again")}, want: "POST not sent again"},
		{name: "agent could not reach GitLab", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){answering(relayFailed, 502, "could not reach GitLab")}, want: "could not reach GitLab"},
		{name: "not a relay answer is skipped", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){answering("", 404, `{"error":"not found"}`), ok}, want: "from gitlab"},
		{name: "GET sent again past a server that broke", method: "GET",
			answers: []func(http.ResponseWriter, *http.Request){breaking, ok}, want: "from gitlab"},
		{name: "POST not sent again past a server that broke", method: "POST",
			answers: []func(http.ResponseWriter, *http.Request){breaking}, want: "POST not sent again because GitLab may have applied it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var addrs []string
			for _, a := range tt.answers {
				if a == nil {
					addrs = append(addrs, deadAddr(t))
				} else {
					addrs = append(addrs, startPeer(t, a).addr)
				}
			}
			c, _ := testCluster(t, clock(), addrs...)
			body, err := call(t, c, tt.method)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			got := body
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q in it", got, tt.want)
			}
		})
	}
}

// TestClusterSkipsDownPeersSelfAndStaleRows: an address that refused a
// connection is not dialed again for PeerDownFor; this server's own rows
// and rows past the presence lifetime are never peers; presence is read
// once per cache period.
func TestClusterSkipsDownPeersSelfAndStaleRows(t *testing.T) {
	t.Parallel()
	now := clock()
	dead := deadAddr(t)
	never := startPeer(t, answering(relayOK, 200, "must not be used"))
	c, store := testCluster(t, now, dead)
	store.rows = append(store.rows,
		vcsagent.Presence{ServerID: "b", Address: never.addr, Pool: "lab", AgentID: "x", SeenAt: *now.Load()},                     // itself
		vcsagent.Presence{ServerID: "gone", Address: never.addr, Pool: "lab", AgentID: "y", SeenAt: now.Load().Add(-time.Minute)}, // stale
		vcsagent.Presence{ServerID: "other", Address: never.addr, Pool: "other-pool", AgentID: "z", SeenAt: *now.Load()})          // another pool
	if _, err := call(t, c, "GET"); !errors.Is(err, vcsagent.ErrNoAgent) {
		t.Fatalf("err = %v, want no agent", err)
	}
	if peers, _ := c.peers(t.Context(), "lab"); len(peers) != 0 {
		t.Errorf("peers right after %s refused = %v, want none", dead, peers)
	}
	if n := store.lists.Load(); n != 1 {
		t.Errorf("presence read %d times within one cache period, want 1", n)
	}
	later := now.Load().Add(DefaultPeerDownFor + time.Second)
	now.Store(&later)
	store.mu.Lock()
	store.rows[0].SeenAt = later // its heartbeat goes on
	store.mu.Unlock()
	if peers, _ := c.peers(t.Context(), "lab"); len(peers) != 1 || peers[0] != dead {
		t.Errorf("peers once the down period passed = %v, want [%s]", peers, dead)
	}
	if n := store.lists.Load(); n != 2 {
		t.Errorf("presence read %d times, want 2 (once more after the cache period)", n)
	}
	if never.calls.Load() != 0 {
		t.Errorf("a row of itself, a stale row or another pool's row was used %d times", never.calls.Load())
	}
}

// TestClusterConnectedMergesServers: an agent whose streams are spread over
// two servers is one agent with their streams added up.
func TestClusterConnectedMergesServers(t *testing.T) {
	t.Parallel()
	now := clock()
	c, store := testCluster(t, now)
	t0 := *now.Load()
	store.rows = []vcsagent.Presence{
		{ServerID: "a", Address: "http://a", Pool: "lab", AgentID: "x", AgentName: "x.lab", Streams: 2, ConnectedAt: t0.Add(time.Second), SeenAt: t0},
		{ServerID: "c", Address: "http://c", Pool: "lab", AgentID: "x", AgentName: "x.lab", Streams: 1, ConnectedAt: t0, SeenAt: t0},
		{ServerID: "c", Address: "http://c", Pool: "lab", AgentID: "y", AgentName: "y.lab", Streams: 4, ConnectedAt: t0.Add(time.Minute), SeenAt: t0},
		{ServerID: "b", Address: "http://b.invalid", Pool: "lab", AgentID: "old", Streams: 4, ConnectedAt: t0, SeenAt: t0}, // its own: from the registry instead
	}
	got := c.Connected(t.Context(), "lab")
	want := []vcsagent.AgentInfo{{ID: "x", Name: "x.lab", Streams: 3, ConnectedAt: t0}, {ID: "y", Name: "y.lab", Streams: 4, ConnectedAt: t0.Add(time.Minute)}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Connected = %+v\nwant %+v", got, want)
	}
	store.rows = append(store.rows, vcsagent.Presence{ServerID: "c", Address: "http://c", Pool: "edge", AgentID: "z", Streams: 1, SeenAt: t0})
	later := t0.Add(DefaultPresenceCache)
	now.Store(&later)
	all, err := c.AgentsByPool(t.Context())
	if err != nil || len(all) != 2 || len(all["lab"]) != 2 || all["lab"][0] != want[0] || len(all["edge"]) != 1 || all["edge"][0].ID != "z" {
		t.Errorf("AgentsByPool = %+v, %v", all, err)
	}
}

// TestRelayHandlerRefusesWithoutKey: only a request with the relay key is
// sent to an agent; the answer to the others says nothing of the relay.
func TestRelayHandlerRefusesWithoutKey(t *testing.T) {
	t.Parallel()
	c, _ := testCluster(t, clock())
	for _, key := range []string{"", "wrong", testKey + "x"} {
		req := httptest.NewRequest("GET", RelayPath+"lab/api/v4/user", nil)
		if key != "" {
			req.Header.Set(HeaderRelayKey, key)
		}
		w := httptest.NewRecorder()
		c.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || w.Header().Get(HeaderRelayResult) != "" {
			t.Errorf("key %q: %d %v", key, w.Code, w.Header())
		}
	}
	for path, want := range map[string]int{"lab/api/v4/user": http.StatusServiceUnavailable, "lab": http.StatusBadRequest, "/api/v4/user": http.StatusBadRequest} {
		req := httptest.NewRequest("GET", RelayPath+path, nil)
		req.Header.Set(HeaderRelayKey, testKey)
		w := httptest.NewRecorder()
		c.Handler().ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("%s: %d %s, want %d", path, w.Code, w.Body, want)
		}
	}
}
