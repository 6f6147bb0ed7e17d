// Package app is Hoist's composition root: it turns a Config into a running
// server — store (SQLite or PostgreSQL), encryption key, services, first-start
// bootstrap and the HTTP API — and shuts it down gracefully. Only cmd/hoist
// and end-to-end tests import it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/httpapi"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/launchpad"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/toolchain"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
	"github.com/hoistdev/hoist/internal/web"
)

// Defaults of SPEC §6.1.
const (
	DefaultDataDir = "./hoist-data"
	DefaultListen  = "127.0.0.1:8080"
)

// Default caps on what the server reads from GitLab (issue 13).
const (
	DefaultMaxGitLabResponseBytes = gitlab.DefaultMaxResponseBytes
	DefaultMaxArchiveBytes        = gitlab.DefaultMaxArchiveBytes
)

// closeTimeout bounds how long Close waits for requests in flight.
const closeTimeout = 15 * time.Second

// Config configures a server. Zero values take the defaults.
type Config struct {
	DataDir   string // default ./hoist-data
	Listen    string // default 127.0.0.1:8080; port 0 picks a free port
	PublicURL string // default http://<listen address>
	// AdvertiseURL is where the other servers on the same PostgreSQL
	// database reach this one, to relay GitLab calls through its VCS
	// agents (--advertise-url; default http(s)://<host name>:<listen
	// port>; unused on SQLite).
	AdvertiseURL string
	// AgentHeartbeat is how often this server announces its VCS agents to
	// the others; they count them for three heartbeats (0: 10s).
	AgentHeartbeat   time.Duration
	DatabaseURL      string   // "" for SQLite in DataDir; postgres://… for PostgreSQL
	AllowGitLabHosts []string // GitLab hosts allowed to resolve to link-local addresses
	TLSCertFile      string   // PEM certificate (chain) to serve HTTPS with; "" for plain HTTP
	TLSKeyFile       string   // its PEM private key
	Logger           *slog.Logger
	Getenv           func(string) string // default os.Getenv
	Clock            func() time.Time    // default time.Now
	// PolicyTimeout bounds one evaluation of a Rego policy (0: 1s).
	PolicyTimeout time.Duration
	// PolicyMemory bounds how many bytes one evaluation may grow the
	// heap by (0: 128 MiB; docs/design/policy-limits.md).
	PolicyMemory int64
	// WorkerSlots is how many runs the embedded pool executes at once
	// (0: DefaultWorkerSlots; negative: no embedded workers).
	WorkerSlots int
	TofuPath    string // the default OpenTofu binary; "" looks for tofu on PATH
	// ToolsDir is the operator's tools folder (--tools-dir): the versions
	// stacks may pin, opentofu/<version>/tofu and
	// terraform/<version>/terraform. "" lets stacks run only the default
	// OpenTofu.
	ToolsDir string
	// WorkDir holds the embedded workers' run workspaces, outside the data
	// dir (default: worker.DefaultWorkDir, in the system temp folder).
	WorkDir string
	// UnsafeUnsandboxedRuns is --unsafe-unsandboxed-runs: where runs cannot
	// be sandboxed, execute them anyway instead of failing them.
	UnsafeUnsandboxedRuns bool
	// SimulateNoSandbox, when set, makes the sandbox unavailable with this
	// reason, as on a machine without Landlock (tests).
	SimulateNoSandbox string
	// MaxArchiveEntries caps the entries of a run's source archive
	// (--max-archive-entries; 0: 100,000).
	MaxArchiveEntries int
	// LeaseTTL is how long a run's lease, and a job's, lasts without
	// renewal: another replica takes over a dead one's work after it
	// (0: 30s).
	LeaseTTL time.Duration
	// GitLabWriteLease is how long this server holds a GitLab write key
	// while writing it; a crashed server's keys wait this long (0: 2m).
	GitLabWriteLease time.Duration
	// MaxGitLabResponseBytes caps the body of any GitLab API answer, on
	// direct connections and through VCS agents alike (0: 32 MiB).
	MaxGitLabResponseBytes int64
	// MaxArchiveBytes caps a source archive instead (0: 1 GiB): as GitLab
	// sends it, and as the embedded workers extract it.
	MaxArchiveBytes int64
	// GitLabDialControl, when set, vets every address the server dials to
	// reach GitLab directly (tests make the simulator reachable only
	// through VCS agents with it).
	GitLabDialControl func(network, address string, c syscall.RawConn) error
	// TokenCheckInterval is how often integration tokens' expiry is
	// checked for token_expiring notifications (0: an hour).
	TokenCheckInterval time.Duration
	// AgentPoolCheck is how often VCS agent pools are checked for
	// agent_pool_empty (0: notify.DefaultPoolCheck), and AgentPoolGrace
	// how long a pool must be without agents first (0:
	// notify.DefaultPoolGrace).
	AgentPoolCheck, AgentPoolGrace time.Duration
	// NotifyAllowHosts is the allow-list of notification target hosts
	// (--notify-allow-hosts; notify.ParseAllowList); none: every host.
	NotifyAllowHosts []string
	// SchedulerPoll is how often the scheduler looks for work without a
	// signal (0: 1s).
	SchedulerPoll time.Duration
	// SchedulePoll is how often the stacks' schedules are looked at
	// without a signal (0: 5s; issue 21).
	SchedulePoll time.Duration
	// ScheduleClock is the time schedules fire by (default Clock): tests
	// move it across firings without moving the leases of runs.
	ScheduleClock func() time.Time
	// WorkerLeaseWait is how long an idle embedded worker waits for a run
	// before it asks again (0: 30s): wake-ups end the wait at once, this
	// is the safety net (tests lengthen it to show the wake-ups work).
	WorkerLeaseWait time.Duration
	// JobPoll is how often the job queue looks for jobs without a signal
	// (0: 1s). Other servers on the same PostgreSQL database signal
	// through it (docs/design/replicas.md); the poll is the safety net.
	JobPoll time.Duration
	// WebhookWorkers is how many deliveries this server processes at once
	// (--webhook-workers; 0: DefaultWebhookWorkers). Processing mostly
	// waits for GitLab (changed files), so it takes more than the CPUs to
	// keep up with a burst; GitLabMaxConcurrent bounds what that costs
	// GitLab.
	WebhookWorkers int
	// GitLabMaxConcurrent bounds the API calls in flight to each
	// integration's GitLab, processing and write-back together
	// (--gitlab-max-concurrent; 0: gitlab.DefaultMaxConcurrent).
	GitLabMaxConcurrent int
	// MetricsListen, when set, serves GET /metrics unauthenticated on a
	// listener of its own (--metrics-listen; port 0 picks a free port).
	MetricsListen string
	// MetricsKeyFile, when set, also serves GET /metrics on the main
	// listener, to requests bearing the key this file holds
	// (--metrics-key-file).
	MetricsKeyFile string
	// EncryptionKey, when set, is the key (hoist server --encryption-key,
	// from any of its variables); nil reads HOIST_ENCRYPTION_KEY through
	// Getenv, then the data dir's key file.
	EncryptionKey []byte
	// OIDC, with an Issuer, adds logging in through that OpenID Connect
	// issuer (--oidc-*; the RedirectURL is derived from the public URL).
	OIDC sso.Settings
	// OIDCClientSecretFile holds the OAuth client secret of OIDC
	// (--oidc-client-secret-file); runs never see it.
	OIDCClientSecretFile string
	// OIDCClient, when set, is the HTTP client for the issuer (tests).
	OIDCClient *http.Client
	// NoLocalLogin refuses password logins in the web UI
	// (--local-login=false); refused at start unless a mapped root
	// admin exists.
	NoLocalLogin bool
	// SecretFiles are files that secrets of this configuration were read
	// from (the CLI's …_FILE variables): runs never see them.
	SecretFiles []string
}

// Server is a running Hoist server.
type Server struct {
	log       *slog.Logger
	store     *sqlstore.Store
	hooks     *webhooks
	runs      *runs
	writeBack *writeBack
	sso       *ssoLogin
	notes     *notifications
	agents    *tunnel.Registry
	cluster   *tunnel.Cluster // the agents of every server on the database
	gitlab    *gitlab.Client
	http      *http.Server
	ready     *readiness
	url       string
	publicURL string
	dataDir   string
	// metricsHTTP serves /metrics on --metrics-listen (nil without it).
	metricsHTTP *http.Server
	metricsURL  string

	serveErr  chan error
	closeOnce sync.Once
	closeErr  error
}

// Start opens the store, bootstraps an empty database, and serves the API on
// cfg.Listen until Close. It returns once the server accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := absPaths(withDefaults(cfg))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv, err := start(ctx, cfg, store)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return srv, nil
}

func start(ctx context.Context, cfg Config, store *sqlstore.Store) (*Server, error) {
	log := cfg.Logger
	tools, err := toolchain.Open(cfg.ToolsDir)
	if err != nil {
		return nil, err
	}
	key, source := cfg.EncryptionKey, secret.FromConfig
	if key == nil {
		if key, source, err = secret.LoadKey(cfg.Getenv, cfg.DataDir); err != nil {
			return nil, fmt.Errorf("encryption key: %w", err)
		}
	}
	logKeySource(log, source, cfg.DataDir)
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	metricsKey, err := readMetricsKey(cfg.MetricsKeyFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	publicURL := strings.TrimRight(cfg.PublicURL, "/")
	if publicURL == "" {
		publicURL = schemeOf(tlsCfg) + "://" + ln.Addr().String()
	}
	cfg.PublicURL = publicURL // module sources name its host (the embedded workers' registry credential)
	agents := tunnel.NewRegistry(log, cfg.Clock)
	cluster, err := newCluster(cfg, store, agents, key, tlsCfg, ln)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	m, err := newMetrics(cfg, store, agents)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	gl := newGitLab(cfg, cluster)
	spaces := space.NewService(store, store, cfg.Clock)
	ids := identity.NewService(store, store, cfg.Clock)
	pools := vcsagent.NewService(vcsagent.Config{Store: store, Access: spaces, Agents: cluster, UsersFunc: poolUsers(store),
		Clock: cfg.Clock, Logger: log})
	if err := bootstrap(ctx, log, ids, cfg.DataDir); err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	ssoLogin, err := newSSO(ctx, cfg, store, ids, box, publicURL)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	integrations := integration.NewService(integration.Config{
		Store: store, Access: spaces, Pools: store, Checker: gl, Box: box, Audit: store,
		Hooks: gl, Clients: gl,
		PublicURL: publicURL, AllowHosts: cfg.AllowGitLabHosts, Clock: cfg.Clock, Logger: log,
	})
	stacks := stack.NewService(stack.Config{Store: store, Access: spaces, Integrations: store,
		Checker: gl, Tools: tools, Box: box, Clock: cfg.Clock, Logger: log})
	pad := launchpad.New(launchpad.Config{Integrations: store, Identity: store, StacksExistFunc: stacksExist(store),
		RunsExistFunc: runsExist(store)})
	policies := policy.NewService(policy.Config{Store: store, Stacks: store, Spaces: store, Access: spaces, Runs: store,
		Engine: policy.NewEngine(policy.Limits{Timeout: cfg.PolicyTimeout, Memory: cfg.PolicyMemory}), GitLab: gitlabApprovals{endpoints: feedback.NewEndpoints(store, box), gitlab: gl},
		Clock: cfg.Clock, Logger: log})
	writes := newWriteBack(cfg, store, box, gl, publicURL, m)
	notes, err := newNotifications(cfg, store, box, spaces, publicURL, m, cluster)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	runs := newRuns(cfg, store, spaces, box, gl, writes.service, notes.service, m, policies, policies)
	modules := newModules(cfg, store, spaces, ids, runs.service, box, gl, key, publicURL, moduleStatuses{writes.service})
	hooks := newWebhooks(cfg, store, box, spaces, gl, writes.service, m, modules.tagFunc(), policies.PushDecider, runs.notify,
		approvalConsumer(store, runs.service))
	ready := &readiness{store: store}
	api := httpapi.New(httpapi.Config{Logger: log, Identity: ids, Spaces: spaces, Integrations: integrations,
		Stacks: stacks, Modules: modules.service, Policies: policies, Notifications: notes.service, Audit: store, ReadyFunc: ready.check, Launchpad: pad,
		Deliveries: hooks.log, Runs: runs.service, Schedules: runs.schedules, State: runs.state, GitLabWrites: writes.service,
		AgentPools: pools, Agents: agents})
	ui, err := web.New(web.Config{Logger: log, PublicURL: publicURL, Sessions: store, Identity: ids,
		Spaces: spaces, Integrations: integrations, Launchpad: pad, Stacks: stacks, Deliveries: hooks.log, Runs: runs.service, Schedules: runs.schedules, Writes: writes.service, Policies: policies, AgentPools: pools, Audit: store, Clock: cfg.Clock,
		Modules: modules.service, DeliveryPolicies: policies, Notifications: notes.service, SSO: ssoLogin.service,
		NoLocalLogin: cfg.NoLocalLogin})
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	s := &Server{
		log: log, store: store, hooks: hooks, runs: runs, writeBack: writes, sso: ssoLogin, notes: notes, agents: agents, cluster: cluster,
		gitlab: gl, ready: ready,
		url: schemeOf(tlsCfg) + "://" + ln.Addr().String(), publicURL: publicURL, dataDir: cfg.DataDir,
		serveErr: make(chan error, 1),
		http: &http.Server{
			Handler:           routes(api, ui, modules.registry, hooks.intake, metricsOnMain(metricsKey, m.Handler()), cluster.Handler()),
			TLSConfig:         tlsCfg,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	if err := hooks.start(ctx); err != nil {
		hooks.stop()
		return nil, errors.Join(err, ln.Close())
	}
	go func() { s.serveErr <- serveOn(s.http, ln) }()
	cluster.Start(ctx)
	writes.start(ctx)
	ssoLogin.start(ctx)
	notes.start(ctx)
	if err := runs.start(ctx, s.http.Handler); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if cfg.MetricsListen != "" {
		if err := s.serveMetrics(cfg.MetricsListen, m.Handler()); err != nil {
			return nil, errors.Join(err, s.Close())
		}
	}
	log.Info("hoist server listening", "address", ln.Addr().String(), "public_url", publicURL, "database", store.Dialect())
	return s, nil
}

// runsExist tells the LaunchPad whether any run exists in the account.
func runsExist(store *sqlstore.Store) launchpad.ExistsFunc {
	return func(ctx context.Context) (bool, error) {
		items, _, err := store.ListRuns(ctx, run.Filter{}, "", 1)
		return len(items) > 0, err
	}
}

// stacksExist tells the LaunchPad whether any stack exists in the account.
func stacksExist(store *sqlstore.Store) launchpad.ExistsFunc {
	return func(ctx context.Context) (bool, error) {
		items, _, err := store.ListStacks(ctx, stack.Filter{All: true}, "", 1)
		return len(items) > 0, err
	}
}

func withDefaults(cfg Config) Config {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.ScheduleClock == nil {
		cfg.ScheduleClock = cfg.Clock
	}
	if cfg.MaxGitLabResponseBytes <= 0 {
		cfg.MaxGitLabResponseBytes = DefaultMaxGitLabResponseBytes
	}
	if cfg.MaxArchiveBytes <= 0 {
		cfg.MaxArchiveBytes = DefaultMaxArchiveBytes
	}
	if cfg.AgentHeartbeat <= 0 {
		cfg.AgentHeartbeat = tunnel.DefaultHeartbeat
	}
	return cfg
}

// absPaths makes every path of cfg absolute, once, against the working
// directory the server started in: runs execute elsewhere (the workspace),
// the sandbox starts only absolute programs, and OpenTofu resolves a
// relative TF_CLI_CONFIG_FILE against its own folder (issue 14: a relative
// data dir gave every run log four "Unable to open CLI configuration
// file" warnings).
func absPaths(cfg Config) (Config, error) {
	err := AbsPaths(&cfg.DataDir, &cfg.WorkDir, &cfg.TofuPath, &cfg.ToolsDir, &cfg.TLSCertFile, &cfg.TLSKeyFile, &cfg.OIDCClientSecretFile)
	return cfg, err
}

// AbsPaths makes the non-empty paths absolute against the working
// directory (hoist worker's flags use it too).
func AbsPaths(paths ...*string) error {
	for _, p := range paths {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

func openStore(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	switch u := cfg.DatabaseURL; {
	case u == "":
		path := filepath.Join(cfg.DataDir, sqlite.FileName)
		s, err := sqlite.Open(ctx, path, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
		}
		return s, nil
	case strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://"):
		s, err := postgres.Open(ctx, u, cfg.Logger)
		if err != nil {
			// The URL may hold a password: never echo it.
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("--database-url must start with postgres:// (or be empty for SQLite in the data dir)")
	}
}

func logKeySource(log *slog.Logger, source secret.KeySource, dataDir string) {
	switch source {
	case secret.FromConfig:
		log.Info("encryption key from the configuration")
	case secret.FromEnv:
		log.Info("encryption key from environment", "variable", secret.EnvKey)
	case secret.FromGenerated:
		log.Info("generated a new encryption key; back it up with the database", "path", filepath.Join(dataDir, secret.KeyFileName))
	default:
		log.Info("encryption key from file", "path", filepath.Join(dataDir, secret.KeyFileName))
	}
}

// URL is where the server listens, as a base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.url }

// PublicURL is the base URL the server advertises (webhook endpoints).
func (s *Server) PublicURL() string { return s.publicURL }

// Done delivers the serving error if the server stops on its own.
func (s *Server) Done() <-chan error { return s.serveErr }

// Close stops the server at once: the runs that can be are handed back,
// the others are cut (their leases run out), jobs and GitLab writes in
// flight are put back, and requests in flight get a bounded wait before
// the store closes. Shutdown is the graceful form. Safe to call more than
// once, and after Shutdown.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		s.closeErr = s.shutdown(ctx, true)
	})
	return s.closeErr
}

// Run serves until ctx ends, then shuts down gracefully within
// DefaultShutdownTimeout.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultShutdownTimeout)
		defer cancel()
		return s.Shutdown(sctx)
	case err := <-s.Done():
		return errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	}
}
