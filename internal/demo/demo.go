// Package demo is `hoist server --demo`: the GitLab simulator in-process, a
// sample group and project with OpenTofu code, a default GitLab integration
// whose webhook is registered in the simulator, two stacks, a token of the
// machine user for following docs/gitlab.md, single sign-on (the simulator
// is the OpenID Connect issuer; alice, in the demo group, is root admin
// through a role mapping), and the banner that tells a
// newcomer what to type next. Everything is created through the
// simulator's Go API and Hoist's own JSON API, exactly as an administrator
// would, and only when missing: restarting on the same data dir reuses it.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// SimDir is the simulator's data dir inside Hoist's data dir.
const SimDir = "gitlab-sim"

// Config configures the demo.
type Config struct {
	DataDir string // Hoist's data dir; the simulator keeps its state in DataDir/gitlab-sim
	// SimListen is the simulator's address; "" reuses the last one when it
	// is free, else any free loopback port.
	SimListen string
	Logger    *slog.Logger
}

// Demo is the running simulator with the seeded sample.
type Demo struct {
	sim         *gitlabsim.Server
	oauthApp    gitlabsim.OAuthApp
	log         *slog.Logger
	integration *api.Integration
	hook        gitlabsim.Hook
	simDir      string
	guideToken  string // the file holding the machine user's token for docs/gitlab.md
}

// Open starts the simulator, before the server: its URL and the OAuth
// application Hoist logs in through (OIDC) are known before the server
// starts. Seed then fills in the rest once the server runs.
func Open(ctx context.Context, cfg Config) (*Demo, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	simDir := filepath.Join(cfg.DataDir, SimDir)
	if err := os.MkdirAll(simDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: simDir, Logger: cfg.Logger.With("component", "gitlab-sim")})
	if err != nil {
		return nil, fmt.Errorf("demo: open the simulator: %w", err)
	}
	d := &Demo{sim: sim, simDir: simDir, log: cfg.Logger}
	if err := d.listen(ctx, cfg.SimListen); err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), sim.Close())
	}
	if d.oauthApp, err = ensureOAuthApp(ctx, sim); err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), sim.Close())
	}
	return d, nil
}

// OIDC is the single sign-on of the demo: the simulator as the issuer,
// its OAuth application "Hoist demo" as the client.
func (d *Demo) OIDC() (issuer, clientID, clientSecret string) {
	return d.sim.URL(), d.oauthApp.ClientID, d.oauthApp.Secret
}

// Seed seeds the simulator and the running Hoist at serverURL (public URL
// publicURL, the OAuth callback's base) with the root-admin API key in
// apiKeyFile.
func (d *Demo) Seed(ctx context.Context, serverURL, publicURL, apiKeyFile string) error {
	key, err := os.ReadFile(apiKeyFile)
	if err != nil {
		return fmt.Errorf("demo: read the admin API key (written on the first start): %w", err)
	}
	hoist, err := apiclient.New(serverURL, strings.TrimSpace(string(key)), apiclient.WithUserAgent("hoist-demo"))
	if err != nil {
		return err
	}
	if err := d.seed(ctx, hoist, publicURL); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

func (d *Demo) seed(ctx context.Context, hoist *apiclient.Client, publicURL string) error {
	if err := d.sim.SetOAuthRedirectURIs(ctx, d.oauthApp.ClientID, []string{strings.TrimRight(publicURL, "/") + "/login/oidc/callback"}); err != nil {
		return err
	}
	botID, err := seedGitLab(ctx, d.sim)
	if err != nil {
		return err
	}
	if err := ensurePeople(ctx, d.sim, hoist); err != nil {
		return err
	}
	if d.integration, err = ensureIntegration(ctx, d.sim, hoist, botID); err != nil {
		return err
	}
	if d.hook, err = ensureHook(ctx, d.sim, d.integration); err != nil {
		return err
	}
	if err := ensureStacks(ctx, hoist, d.integration); err != nil {
		return err
	}
	if d.guideToken, err = ensureGuideToken(ctx, d.sim, botID, d.simDir); err != nil {
		return err
	}
	d.log.Info("demo ready", "gitlab_url", d.sim.URL(), "project", Project, "integration", d.integration.ID)
	return nil
}

// listen starts the simulator on addr, or on the address it had last time
// (so the integration's API host stays valid), or on any free port.
func (d *Demo) listen(ctx context.Context, addr string) error {
	if addr != "" {
		_, err := d.sim.Start(ctx, addr)
		return err
	}
	if prev := previousAddr(d.simDir); prev != "" {
		if _, err := d.sim.Start(ctx, prev); err == nil {
			return nil
		}
	}
	_, err := d.sim.Start(ctx, "127.0.0.1:0")
	return err
}

// previousAddr is host:port from the last gitlab-sim.json, "" if none.
func previousAddr(simDir string) string {
	b, err := os.ReadFile(filepath.Join(simDir, "gitlab-sim.json"))
	if err != nil {
		return ""
	}
	var c struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return strings.TrimPrefix(c.URL, "http://")
}

// SimURL is the simulator's base URL.
func (d *Demo) SimURL() string { return d.sim.URL() }

// SimDataDir is the simulator's data dir (holding gitlab-sim.json).
func (d *Demo) SimDataDir() string { return d.simDir }

// IntegrationID is the id of the demo's GitLab integration.
func (d *Demo) IntegrationID() string { return d.integration.ID }

// Close stops the simulator. It is safe to call more than once.
func (d *Demo) Close() error { return d.sim.Close() }
