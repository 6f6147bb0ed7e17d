package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/registry"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/webhook"
)

// ModuleCacheDir is where, inside the data dir, the registry keeps the
// archives it repacked from GitLab.
const ModuleCacheDir = "module-cache"

// moduleParts is the module service and the registry serving it.
type moduleParts struct {
	service  *module.Service
	registry *registry.Handler
}

// newModules wires modules and the module registry. The registry's link
// signing key is derived from the encryption key, which every replica
// shares, so a link one replica signs another accepts.
// Runs authenticate to the registry with their lease's credential
// (registry.RunToken), so the module service resolves access through
// registry.RunAccess.
func newModules(cfg Config, store *sqlstore.Store, spaces *space.Service, ids *identity.Service, runs *run.Service,
	box *secret.Box, gl *gitlab.Client, key []byte, publicURL string, statuses module.StatusPoster) moduleParts {
	svc := module.NewService(module.Config{Store: store, Access: registry.RunAccess{Next: spaces}, Integrations: store,
		Checker: gl, Source: gl, Statuses: statuses, Box: box, PublicURL: publicURL, Clock: cfg.Clock, Logger: cfg.Logger})
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("hoist registry download links v1"))
	reg := registry.New(registry.Config{Modules: svc, Authenticate: ids.Authenticate, AuthenticateRun: runRegistryAuth(store, runs),
		PublicURL: publicURL, SigningKey: mac.Sum(nil), CacheDir: filepath.Join(cfg.DataDir, ModuleCacheDir),
		Clock: cfg.Clock, Logger: cfg.Logger})
	return moduleParts{service: svc, registry: reg}
}

// runRegistryAuth checks a run's registry credential the way the state
// backend checks it (the token of the lease held now, on a run not ended)
// and returns the space of the run's stack.
func runRegistryAuth(store *sqlstore.Store, runs *run.Service) func(ctx context.Context, runID, token string) (string, error) {
	return func(ctx context.Context, runID, token string) (string, error) {
		r, err := store.GetRun(ctx, runID)
		if apperr.Is(err, apperr.NotFound) {
			return "", apperr.Errorf(apperr.Unauthorized, "invalid run credentials")
		}
		if err != nil {
			return "", fmt.Errorf("load run %s: %w", runID, err)
		}
		if _, err := runs.AuthorizeState(ctx, r.StackID, runID, token); err != nil {
			return "", err
		}
		st, err := store.GetStack(ctx, r.StackID)
		if err != nil {
			return "", fmt.Errorf("load stack %s: %w", r.StackID, err)
		}
		return st.SpaceID, nil
	}
}

// moduleStatuses posts the commit status of published module versions
// through the GitLab write-back outbox.
type moduleStatuses struct{ fb *feedback.Service }

func (m moduleStatuses) PostModuleStatus(ctx context.Context, st module.CommitStatus) error {
	return m.fb.OnModuleStatus(ctx, feedback.ModuleStatus{IntegrationID: st.IntegrationID, Project: st.Project,
		SHA: st.SHA, Tag: st.Ref, ModuleID: st.ModuleID, State: st.State, Description: st.Description, TargetURL: st.TargetURL})
}

// tagFunc hands tag pushes to the module service and turns its outcomes
// into delivery log lines.
func (m moduleParts) tagFunc() ingest.TagFunc {
	return func(ctx context.Context, integrationID string, ev vcs.Event) ([]webhook.ModuleResult, error) {
		outs, err := m.service.OnTagPush(ctx, integrationID, ev)
		lines := make([]webhook.ModuleResult, 0, len(outs))
		for _, o := range outs {
			lines = append(lines, webhook.ModuleResult{ModuleID: o.ModuleID, Version: o.Version, Result: string(o.Result), Reason: o.Reason})
		}
		return lines, err
	}
}

// tlsConfig loads the server certificate when the config names one (nil
// without TLS). OpenTofu discovers module registries only over HTTPS.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		return nil, nil
	}
	if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
		return nil, fmt.Errorf("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// schemeOf is the URL scheme the server answers on.
func schemeOf(t *tls.Config) string {
	if t != nil {
		return "https"
	}
	return "http"
}

// serveOn serves srv on ln, over TLS when srv has a TLS config.
func serveOn(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}
