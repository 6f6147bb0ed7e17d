package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/demo"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/transfer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// hostList is a repeatable string flag.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }
func (h *hostList) Type() string   { return "host" }

func (h *hostList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, "/") {
		return fmt.Errorf("want a host name or host:port, got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// byteSize is a size flag: bytes, or a whole number with a unit (32MiB,
// 1GiB); see transfer.ParseSize.
type byteSize int64

func (b *byteSize) String() string { return transfer.FormatSize(int64(*b)) }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(v string) error {
	n, err := transfer.ParseSize(v)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

const serverSynopsis = "[--data-dir DIR] [--listen ADDR] [--public-url URL] [--advertise-url URL] [--database-url URL] [--allow-gitlab-host HOST]... " +
	"[--tls-cert FILE --tls-key FILE] [--max-gitlab-response SIZE] [--max-archive-size SIZE] [--tofu-path FILE] " +
	"[--tools-dir DIR] [--work-dir DIR] [--metrics-listen ADDR] [--shutdown-timeout DURATION] [flags]"

// serverCommand is `hoist server`: the Hoist server, until ctx ends
// (SIGINT/SIGTERM), then a graceful shutdown within --shutdown-timeout.
func serverCommand(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	dataDir := fs.String("data-dir", app.DefaultDataDir, "directory for the SQLite database, the encryption key and the first-start secrets")
	listen := fs.String("listen", app.DefaultListen, "address to listen on (port 0 picks a free port)")
	publicURL := fs.String("public-url", "", "base URL users and GitLab reach this server at (default http://<listen address>)")
	advertiseURL := fs.String("advertise-url", "", "with several servers on one PostgreSQL database: the URL the other servers reach this one at, "+
		"to carry GitLab calls through its VCS agents (default: the listen address, or http(s)://<host name>:<port> when listening on every interface; docs/design/replicas.md)")
	databaseURL := fs.String("database-url", "", "postgres://… to use PostgreSQL instead of SQLite in the data dir")
	envAlias(fs, "database-url", "HOIST_DATABASE_URL")
	secretFlag(fs, "database-url", "") // its password
	encKey := fs.String("encryption-key", "", "base64 of the 32-byte `KEY` sealing secrets in the database (default: the data dir's encryption-key, "+
		"made on first start; prefer $HOIST_ENCRYPTION_KEY_FILE: argv is visible to other users)")
	secretFlag(fs, "encryption-key", "")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate `FILE` (OpenTofu reaches the module registry only over HTTPS)")
	tlsKey := fs.String("tls-key", "", "PEM private key `FILE` of --tls-cert")
	workerSlots := fs.Int("worker-slots", app.DefaultWorkerSlots, "runs the embedded worker pool executes at once (0: no embedded workers)")
	tofuPath := fs.String("tofu-path", "", "the OpenTofu binary of stacks that pin no tool_version (default: tofu on PATH)")
	toolsDir := fs.String("tools-dir", "", "folder of the tool versions stacks may pin: opentofu/<version>/tofu, terraform/<version>/terraform (default: none; stacks run the default OpenTofu)")
	workDir := fs.String("work-dir", "", "folder for the embedded workers' run workspaces, outside the data dir (default: hoist-work-<uid> in the system temp folder)")
	unsafeRuns := fs.Bool("unsafe-unsandboxed-runs", false, "where runs cannot be sandboxed (no Landlock), run them anyway: repository code can then read the server's secrets (docs/security.md)")
	maxEntries := fs.Int("max-archive-entries", 0, "cap on the files, folders and links of a run's source archive (default 100000)")
	writeLease := fs.Duration("gitlab-write-lease", 0, "how long the server holds a GitLab write while sending it; "+
		"after a crash its pending writes wait this long (default 2m)")
	leaseTTL := fs.Duration("lease-ttl", 0, "how long a run or a webhook's processing stays claimed by a worker or server that stopped "+
		"renewing it (killed, cut off); the other replicas then take it over (default 30s; docs/ops.md)")
	webhookWorkers := fs.Int("webhook-workers", app.DefaultWebhookWorkers, "webhook deliveries processed at once (they mostly wait for GitLab's changed files)")
	gitlabConcurrent := fs.Int("gitlab-max-concurrent", app.DefaultGitLabMaxConcurrent, "API calls in flight to each integration's GitLab, "+
		"processing and write-back together (GitLab's rate limits are per user)")
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus metrics at GET /metrics, unauthenticated, on this address of their own "+
		"(bind a private interface; default: no metrics listener; docs/metrics.md)")
	metricsKeyFile := fs.String("metrics-key-file", "", "also serve GET /metrics on --listen, to requests with \"Authorization: Bearer <key>\" "+
		"holding the key in this `FILE` (at least 16 characters)")
	shutdownTimeout := fs.Duration("shutdown-timeout", app.DefaultShutdownTimeout, "on SIGTERM or SIGINT, how long runs in progress, "+
		"GitLab writes and requests get to finish; plans not done by half of it are handed back for another worker (docs/ops.md)")
	oidcIssuer := fs.String("oidc-issuer", "", "let people log in through this OpenID Connect issuer: https://gitlab.com, your GitLab's URL, "+
		"or any other issuer (docs/sso.md)")
	oidcClientID := fs.String("oidc-client-id", "", "the OAuth application ID registered at --oidc-issuer")
	oidcSecretFile := fs.String("oidc-client-secret-file", "", "`FILE` holding the OAuth application's secret")
	oidcName := fs.String("oidc-name", "GitLab", "what the login button calls the issuer: \"Log in with <name>\"")
	oidcRefresh := fs.Duration("oidc-refresh", sso.DefaultRefresh, "how often roles from role mappings are recomputed from the issuer "+
		"between logins; a user removed from a group loses its roles within this time")
	localLogin := fs.Bool("local-login", true, "allow logging in to the web UI with a password; false is refused until an enabled user "+
		"is root admin through a role mapping")
	demoMode := fs.Bool("demo", false, "also run the GitLab simulator with a sample project, integration and stacks, and print what to try")
	notifyAllow := fs.StringSlice("notify-allow-hosts", nil, "limit notification targets to these hosts: `PATTERN`s hooks.example.com, "+
		"*.example.com, an IP or a CIDR range, comma-separated or repeated; a host resolving to a loopback, private or link-local "+
		"address is refused unless an IP or CIDR pattern holds it (default: any host; docs/notifications.md)")
	var allow hostList
	fs.Var(&allow, "allow-gitlab-host", "GitLab host allowed to resolve to a link-local/cloud-metadata address (repeatable)")
	maxResponse, maxArchive := byteSize(app.DefaultMaxGitLabResponseBytes), byteSize(app.DefaultMaxArchiveBytes)
	fs.Var(&maxResponse, "max-gitlab-response", "cap on the body of any GitLab API answer, direct or through VCS agents (`SIZE`: bytes, or e.g. 32MiB)")
	fs.Var(&maxArchive, "max-archive-size", "cap on a repository's source archive, downloaded for runs and module versions (`SIZE`: bytes, or e.g. 1GiB)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if *shutdownTimeout < 0 {
			return usageError{"server: --shutdown-timeout must not be negative"}
		}
		if *leaseTTL != 0 && *leaseTTL < time.Second {
			return usageError{"server: --lease-ttl must be at least 1s: leases are renewed every third of it"}
		}
		if _, err := notify.ParseAllowList(*notifyAllow); err != nil {
			msg := "server: " + err.Error()
			if o := flagOrigin(fs.Lookup("notify-allow-hosts")); o != "--notify-allow-hosts" {
				msg += " (from " + o + ")"
			}
			return usageError{msg}
		}
		key, err := encryptionKey(fs.Lookup("encryption-key"), *encKey)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		tofuMissing := false
		if *demoMode && *tofuPath == "" {
			*tofuPath, tofuMissing = demo.FindTofu(e.getenv)
		}
		oidc := sso.Settings{Issuer: *oidcIssuer, ClientID: *oidcClientID, Name: *oidcName, Refresh: *oidcRefresh}
		var d *demo.Demo
		if *demoMode {
			// The simulator starts first: it is the demo's OpenID Connect
			// issuer unless --oidc-issuer names another.
			if d, err = demo.Open(ctx, demo.Config{DataDir: *dataDir, Logger: logger}); err != nil {
				return err
			}
			defer d.Close()
			if oidc.Issuer == "" {
				oidc.Issuer, oidc.ClientID, oidc.ClientSecret = d.OIDC()
			}
		}
		srv, err := app.Start(ctx, app.Config{
			DataDir: *dataDir, Listen: *listen, PublicURL: *publicURL, AdvertiseURL: *advertiseURL, DatabaseURL: *databaseURL,
			AllowGitLabHosts: allow, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, Logger: logger, Getenv: e.getenv,
			WorkerSlots: embeddedSlots(*workerSlots), TofuPath: *tofuPath, ToolsDir: *toolsDir, GitLabWriteLease: *writeLease,
			LeaseTTL: *leaseTTL,
			WorkDir:  *workDir, UnsafeUnsandboxedRuns: *unsafeRuns, MaxArchiveEntries: *maxEntries,
			MaxGitLabResponseBytes: int64(maxResponse), MaxArchiveBytes: int64(maxArchive),
			MetricsListen: *metricsListen, MetricsKeyFile: *metricsKeyFile,
			WebhookWorkers: *webhookWorkers, GitLabMaxConcurrent: *gitlabConcurrent,
			EncryptionKey: key, SecretFiles: secretFiles(cmd),
			OIDC: oidc, OIDCClientSecretFile: *oidcSecretFile, NoLocalLogin: !*localLogin,
			NotifyAllowHosts: *notifyAllow,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Hoist server at %s (public URL %s)\n", srv.URL(), srv.PublicURL())
		if u := srv.MetricsURL(); u != "" {
			fmt.Fprintf(e.stdout, "Prometheus metrics at %s/metrics\n", u)
		}
		if d != nil {
			if err := seedDemo(ctx, e, d, srv, *dataDir, tofuMissing, oidc.Issuer == d.SimURL()); err != nil {
				return errors.Join(err, srv.Close())
			}
		}
		select {
		case <-ctx.Done():
			// Graceful, and the process exits 0 (the signal was the
			// request): see app.Server.Shutdown.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
			defer cancel()
			return srv.Shutdown(sctx)
		case err := <-srv.Done():
			return errors.Join(fmt.Errorf("serve: %w", err), srv.Close())
		}
	}
}

// encryptionKey decodes --encryption-key (nil when not given: the server
// then uses its data dir's key); an error names where the key came from.
func encryptionKey(f *pflag.Flag, text string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	key, err := secret.ParseKey(text)
	if err != nil {
		return nil, usageError{fmt.Sprintf("%s: %v", flagOrigin(f), err)}
	}
	return key, nil
}

// seedDemo is the --demo part of `hoist server` once the server runs: the
// sample, then the banner.
func seedDemo(ctx context.Context, e *env, d *demo.Demo, srv *app.Server, dataDir string, tofuMissing, simSSO bool) error {
	if err := d.Seed(ctx, srv.URL(), srv.PublicURL(), filepath.Join(dataDir, app.AdminAPIKeyFile)); err != nil {
		return err
	}
	return d.WriteBanner(e.stdout, demo.BannerConfig{UIURL: srv.URL(), DataDir: dataDir,
		Command: demo.SelfCommand(os.Args[0]), TofuMissing: tofuMissing, SimSSO: simSSO})
}
