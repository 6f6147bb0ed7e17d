// Package agent is the `hoist vcs-agent` process (SPEC §2.5): it runs inside
// a private network, dials out to the Hoist server with --parallelism
// streams, and forwards the server's GitLab API requests to the target
// GitLab — only allow-listed API paths, only for projects matching
// --allowed-projects — logging each one (method, path, status, duration;
// never tokens, queries or bodies).
package agent

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// Defaults of the flags.
const (
	DefaultAllowedProjects = ".*"
	DefaultParallelism     = 4
	MaxParallelism         = 64
)

// Config configures Run.
type Config struct {
	ServerURL          string // Hoist's public URL
	PoolToken          string
	TargetBaseEndpoint string // e.g. http://gitlab.internal
	Vendor             string // "gitlab"
	AllowedProjects    string // regexp on namespace/project; "" means .*
	Parallelism        int    // streams; 0 means DefaultParallelism
	Name               string // shown in the pool view; "" for the host name

	ServerClient *http.Client // dials the server; nil for one with system roots
	TargetClient *http.Client // calls GitLab; nil for a default one (no redirects followed)
	Logger       *slog.Logger
	Clock        func() time.Time

	// Reconnect backoff: exponential from MinBackoff to MaxBackoff with
	// jitter. Zero values take 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval pings the server on idle streams; 0 means
	// tunnel.DefaultPingInterval.
	PingInterval time.Duration
}

// Run connects the streams and serves until ctx ends (then it returns nil)
// or the server refuses the pool token (tunnel.ErrUnauthorized: a wrong or
// rotated token; reconnecting cannot help).
func Run(ctx context.Context, cfg Config) error {
	fwd, cfg, err := setup(cfg)
	if err != nil {
		return err
	}
	agentID := crand.Text()
	cfg.Logger.Info("vcs agent starting", "server", cfg.ServerURL, "target", cfg.TargetBaseEndpoint, "vendor", cfg.Vendor,
		"allowed_projects", fwd.allowed.String(), "parallelism", cfg.Parallelism, "agent_id", agentID)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, cfg.Parallelism)
	for i := range cfg.Parallelism {
		go func() { errs <- runStream(ctx, cfg, fwd, agentID, i) }()
	}
	var first error
	for range cfg.Parallelism {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // a refused token stops every stream
		}
	}
	return first
}

// setup validates cfg, fills defaults and builds the forwarder.
func setup(cfg Config) (*forwarder, Config, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	switch {
	case cfg.PoolToken == "":
		return nil, cfg, errors.New("no pool token: pass --pool-token-file, HOIST_VCS_AGENT_POOL_TOKEN or --pool-token")
	case cfg.Vendor != "gitlab":
		return nil, cfg, fmt.Errorf("--vendor %q is not supported: only gitlab", cfg.Vendor)
	}
	if err := checkURL("--server", cfg.ServerURL); err != nil {
		return nil, cfg, err
	}
	if err := checkURL("--target-base-endpoint", cfg.TargetBaseEndpoint); err != nil {
		return nil, cfg, err
	}
	if cfg.AllowedProjects == "" {
		cfg.AllowedProjects = DefaultAllowedProjects
	}
	allowed, err := regexp.Compile(cfg.AllowedProjects)
	if err != nil {
		return nil, cfg, fmt.Errorf("--allowed-projects: %w", err)
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = DefaultParallelism
	}
	if cfg.Parallelism < 1 || cfg.Parallelism > MaxParallelism {
		return nil, cfg, fmt.Errorf("--parallelism must be 1–%d", MaxParallelism)
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = tunnel.DefaultPingInterval
	}
	if cfg.TargetClient == nil {
		cfg.TargetClient = defaultTargetClient()
	}
	fwd := &forwarder{target: strings.TrimRight(cfg.TargetBaseEndpoint, "/"), client: cfg.TargetClient, allowed: allowed,
		log: cfg.Logger, now: cfg.Clock, paths: map[string]cachedPath{}}
	return fwd, cfg, nil
}

func checkURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("%s %q: want http(s)://host[:port][/path]", flag, raw)
	}
	return nil
}

// defaultTargetClient calls GitLab with the system roots, the proxy from
// the environment, and no redirects followed (the token must not follow
// one to another host; GitLab's answer goes back as it is).
func defaultTargetClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// runStream keeps stream i connected until ctx ends, reconnecting with
// backoff. It returns an error only when the token is refused.
func runStream(ctx context.Context, cfg Config, fwd *forwarder, agentID string, i int) error {
	log := cfg.Logger.With("stream", i)
	wait := cfg.MinBackoff
	for ctx.Err() == nil {
		s, err := tunnel.Dial(ctx, tunnel.DialOptions{ServerURL: cfg.ServerURL, Token: cfg.PoolToken, AgentID: agentID,
			AgentName: cfg.Name, Vendor: cfg.Vendor, HTTPClient: cfg.ServerClient})
		switch {
		case errors.Is(err, tunnel.ErrUnauthorized):
			log.Error("the server refused the pool token (wrong, rotated, or its pool deleted); stopping", "error", err)
			return err
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("cannot connect to the server; retrying", "error", err, "retry_in", wait)
		default:
			log.Info("connected")
			wait = cfg.MinBackoff
			err = s.Serve(ctx, fwd.handle, cfg.PingInterval)
			if ctx.Err() != nil {
				return nil
			}
			if code, reason, ok := tunnel.CloseError(err); ok {
				log.Warn("the server closed the stream; reconnecting", "code", code.String(), "reason", reason)
			} else {
				log.Warn("stream ended; reconnecting", "error", err)
			}
		}
		if !sleep(ctx, jitter(wait)) {
			return nil
		}
		wait = min(2*wait, cfg.MaxBackoff)
	}
	return nil
}

// jitter spreads reconnects of many streams and agents over [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
