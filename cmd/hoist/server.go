package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hoistdev/hoist/internal/app"
)

// hostList is a repeatable string flag.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, "/") {
		return fmt.Errorf("want a host name or host:port, got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// runServer is `hoist server [--data-dir DIR] [--listen ADDR] [--public-url
// URL] [--database-url URL] [--allow-gitlab-host HOST]... [--tls-cert FILE
// --tls-key FILE]`: the Hoist server,
// until ctx ends (SIGINT/SIGTERM), then a graceful shutdown.
func runServer(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dataDir := fs.String("data-dir", app.DefaultDataDir, "directory for the SQLite database, the encryption key and the first-start secrets")
	listen := fs.String("listen", app.DefaultListen, "address to listen on (port 0 picks a free port)")
	publicURL := fs.String("public-url", "", "base URL users and GitLab reach this server at (default http://<listen address>)")
	databaseURL := fs.String("database-url", "", "postgres://… to use PostgreSQL instead of SQLite in the data dir")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate `FILE` (OpenTofu reaches the module registry only over HTTPS)")
	tlsKey := fs.String("tls-key", "", "PEM private key `FILE` of --tls-cert")
	workerSlots := fs.Int("worker-slots", app.DefaultWorkerSlots, "runs the embedded worker pool executes at once (0: no embedded workers)")
	tofuPath := fs.String("tofu-path", "", "the OpenTofu binary runs use (default: tofu on PATH)")
	var allow hostList
	fs.Var(&allow, "allow-gitlab-host", "GitLab host allowed to resolve to a link-local/cloud-metadata address (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("server: unexpected argument %q", fs.Arg(0))}
	}
	if *databaseURL == "" {
		*databaseURL = e.getenv("HOIST_DATABASE_URL")
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := app.Start(ctx, app.Config{
		DataDir: *dataDir, Listen: *listen, PublicURL: *publicURL, DatabaseURL: *databaseURL,
		AllowGitLabHosts: allow, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, Logger: logger, Getenv: e.getenv,
		WorkerSlots: embeddedSlots(*workerSlots), TofuPath: *tofuPath,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Hoist server at %s (public URL %s)\n", srv.URL(), srv.PublicURL())
	select {
	case <-ctx.Done():
		return srv.Close()
	case err := <-srv.Done():
		return errors.Join(fmt.Errorf("serve: %w", err), srv.Close())
	}
}
