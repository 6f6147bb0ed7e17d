package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
)

// runVCSAgentPool is `hoist vcs-agent-pool …`: a pool belongs to a space;
// its readers list and show it, its admins manage it and see its agents.
func runVCSAgentPool(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "vcs-agent-pool", map[string]command{
		"create":       {"create a VCS agent pool in a space; prints its token once", agentPoolCreate},
		"list":         {"list the VCS agent pools you can see, with their number of connected agents", agentPoolList},
		"show":         {"show a pool (and its connected agents, to admins of its space)", agentPoolShow},
		"update":       {"move a pool to another space or change its description", agentPoolUpdate},
		"rotate-token": {"mint a new pool token; agents on the old one are disconnected", agentPoolRotate},
		"delete":       {"delete a pool and disconnect its agents", agentPoolDelete},
	}, args)
}

func agentPoolCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool create", "NAME [--space SPACE] [--description TEXT | --description-file FILE]")
	cf := addClientFlags(fs)
	var sp, desc, descFile string
	fs.StringVar(&sp, "space", "root", "id of the `SPACE` that owns the pool; integrations in it and below may use it")
	fs.StringVar(&desc, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE` (- for stdin)")
	name, err := parseWithID(fs, args, "pool name")
	if err != nil {
		return err
	}
	desc, _, err = textOrFile(e, "description", desc, descFile, flagsSet(fs)["description"])
	if err != nil {
		return err
	}
	c, err := cf.client(e)
	if err != nil {
		return err
	}
	p, err := c.CreateVCSAgentPool(ctx, api.CreateVCSAgentPool{Name: name, Space: sp, Description: desc})
	if err != nil {
		return err
	}
	return printPoolToken(e, cf, p, "created")
}

// printPoolToken shows a pool token once, with how to start an agent.
func printPoolToken(e *env, cf *clientFlags, p *api.VCSAgentPool, what string) error {
	if cf.json() {
		return writeJSON(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "VCS agent pool %s (space %s) %s. Its token (shown only now):\n\n  %s\n\n", p.ID, p.Space, what, p.Token)
	fmt.Fprintf(e.stdout, "Start an agent inside the private network with:\n\n  HOIST_VCS_AGENT_POOL_TOKEN=<token> hoist vcs-agent --server <hoist-url> \\\n"+
		"    --target-base-endpoint http://gitlab.internal --vendor gitlab\n\n"+
		"and use private://%s as the user-facing host of integrations in space %s or below\n"+
		"(hoist integration gitlab create … --api-host <GitLab inside the network> --user-facing-host private://%s).\n", p.ID, p.Space, p.ID)
	return nil
}

func agentPoolList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool list", "")
	cf := addClientFlags(fs)
	c, err := cf.parseNone(e, args)
	if err != nil {
		return err
	}
	pools, err := c.ListVCSAgentPools(ctx)
	if err != nil {
		return err
	}
	return printList(e, cf, pools, []string{"ID", "NAME", "SPACE", "CONNECTED AGENTS", "TOKEN ROTATED"}, func(p api.VCSAgentPool) []string {
		return []string{p.ID, p.Name, p.Space, strconv.Itoa(p.ConnectedAgents), fmtTime(p.TokenRotatedAt)}
	})
}

func agentPoolShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool show", "ID")
	cf := addClientFlags(fs)
	c, id, err := cf.parseID(e, args, "pool id")
	if err != nil {
		return err
	}
	p, err := c.GetVCSAgentPool(ctx, id)
	if err != nil {
		return err
	}
	return printPool(e, cf, p)
}

// printPool is the detail view of a pool; the agents table only for those
// who may see agents (admins of the pool's space).
func printPool(e *env, cf *clientFlags, p *api.VCSAgentPool) error {
	if cf.json() {
		return writeJSON(e.stdout, p)
	}
	err := details(e.stdout, []kv{{"ID", p.ID}, {"Name", p.Name}, {"Space", p.Space}, {"User-facing host", "private://" + p.ID},
		{"Connected agents", strconv.Itoa(p.ConnectedAgents)}, {"Created", fmtTime(p.CreatedAt)},
		{"Token rotated", fmtTime(p.TokenRotatedAt)}}, "Description", p.Description)
	if err != nil || len(p.Agents) == 0 {
		return err
	}
	fmt.Fprintln(e.stdout)
	rows := [][]string{{"AGENT", "NAME", "STREAMS", "BUSY", "CONNECTED"}}
	for _, a := range p.Agents {
		rows = append(rows, []string{a.ID, orDash(a.Name), strconv.Itoa(a.Streams), strconv.Itoa(a.Busy), fmtTime(a.ConnectedAt)})
	}
	return table(e.stdout, rows)
}

func agentPoolUpdate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool update", "ID [--space SPACE] [--description TEXT | --description-file FILE]")
	cf := addClientFlags(fs)
	var sp, desc, descFile string
	fs.StringVar(&sp, "space", "", "move the pool to `SPACE` (admin on both spaces)")
	fs.StringVar(&desc, "description", "", "new markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the new description from `FILE` (- for stdin)")
	id, err := parseWithID(fs, args, "pool id")
	if err != nil {
		return err
	}
	set := flagsSet(fs)
	var in api.UpdateVCSAgentPool
	if set["space"] {
		in.Space = &sp
	}
	d, ok, err := textOrFile(e, "description", desc, descFile, set["description"])
	if err != nil {
		return err
	}
	if ok {
		in.Description = &d
	}
	if in == (api.UpdateVCSAgentPool{}) {
		return usageError{"nothing to change: give --space or --description"}
	}
	c, err := cf.client(e)
	if err != nil {
		return err
	}
	p, err := c.UpdateVCSAgentPool(ctx, id, in)
	if err != nil {
		return err
	}
	return printPool(e, cf, p)
}

func agentPoolRotate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool rotate-token", "ID")
	cf := addClientFlags(fs)
	c, id, err := cf.parseID(e, args, "pool id")
	if err != nil {
		return err
	}
	p, err := c.RotateVCSAgentPoolToken(ctx, id)
	if err != nil {
		return err
	}
	return printPoolToken(e, cf, p, "has a new token; agents using the old one were disconnected")
}

func agentPoolDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vcs-agent-pool delete", "ID")
	cf := addClientFlags(fs)
	c, id, err := cf.parseID(e, args, "pool id")
	if err != nil {
		return err
	}
	if err := c.DeleteVCSAgentPool(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "VCS agent pool %s deleted\n", id)
	return nil
}

// runVCSAgent is `hoist vcs-agent` (SPEC §2.5): every flag also comes from
// an environment variable HOIST_VCS_AGENT_<FLAG>; the pool token from
// HOIST_VCS_AGENT_POOL_TOKEN or --pool-token-file rather than argv.
func runVCSAgent(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("vcs-agent", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	envOr := func(name, def string) string {
		if v := strings.TrimSpace(e.getenv("HOIST_VCS_AGENT_" + name)); v != "" {
			return v
		}
		return def
	}
	server := fs.String("server", envOr("SERVER", e.getenv("HOIST_URL")), "the Hoist server's public `URL` ($HOIST_VCS_AGENT_SERVER)")
	token := fs.String("pool-token", "", "the pool token (prefer $HOIST_VCS_AGENT_POOL_TOKEN or --pool-token-file: argv is visible to other users)")
	tokenFile := fs.String("pool-token-file", envOr("POOL_TOKEN_FILE", ""), "read the pool token from `FILE` (- for stdin)")
	target := fs.String("target-base-endpoint", envOr("TARGET_BASE_ENDPOINT", ""), "the private GitLab's `URL` with scheme and port ($HOIST_VCS_AGENT_TARGET_BASE_ENDPOINT)")
	vendor := fs.String("vendor", envOr("VENDOR", ""), "the VCS: gitlab ($HOIST_VCS_AGENT_VENDOR)")
	allowed := fs.String("allowed-projects", envOr("ALLOWED_PROJECTS", agent.DefaultAllowedProjects), "`REGEX` over namespace/project of the projects Hoist may reach (unanchored: use ^…$) ($HOIST_VCS_AGENT_ALLOWED_PROJECTS)")
	parallelism := fs.String("parallelism", envOr("PARALLELISM", strconv.Itoa(agent.DefaultParallelism)), "`N` streams, one request each at a time ($HOIST_VCS_AGENT_PARALLELISM)")
	name := fs.String("name", envOr("NAME", ""), "this agent's name in the pool view (default the host name) ($HOIST_VCS_AGENT_NAME)")
	serverCA := fs.String("server-ca-file", envOr("SERVER_CA_FILE", ""), "PEM `FILE` of CAs trusted for the Hoist server, besides the system roots")
	targetCA := fs.String("target-ca-file", envOr("TARGET_CA_FILE", ""), "PEM `FILE` of CAs trusted for GitLab, besides the system roots")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("vcs-agent: unexpected argument %q", fs.Arg(0))}
	}
	n, err := strconv.Atoi(*parallelism)
	if err != nil {
		return usageError{fmt.Sprintf("vcs-agent: --parallelism %q is not a number", *parallelism)}
	}
	secret, err := readSecret(e, "pool token", *tokenFile, "")
	if err != nil {
		return err
	}
	if secret == "" {
		secret = strings.TrimSpace(*token)
	}
	if secret == "" {
		secret = strings.TrimSpace(e.getenv("HOIST_VCS_AGENT_POOL_TOKEN"))
	}
	serverClient, err := clientTrusting(*serverCA, nil)
	if err != nil {
		return fmt.Errorf("vcs-agent: --server-ca-file: %w", err)
	}
	targetClient, err := clientTrusting(*targetCA, func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse })
	if err != nil {
		return fmt.Errorf("vcs-agent: --target-ca-file: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err = agent.Run(ctx, agent.Config{ServerURL: *server, PoolToken: secret, TargetBaseEndpoint: *target, Vendor: *vendor,
		AllowedProjects: *allowed, Parallelism: n, Name: *name, ServerClient: serverClient, TargetClient: targetClient, Logger: logger})
	if err != nil {
		return fmt.Errorf("vcs-agent: %w", err)
	}
	return nil
}

// clientTrusting returns an HTTP client trusting the system roots plus the
// CAs in caFile, or nil (the default client) when caFile is "" and there is
// no redirect rule.
func clientTrusting(caFile string, redirect func(*http.Request, []*http.Request) error) (*http.Client, error) {
	if caFile == "" && redirect == nil {
		return nil, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("no PEM certificate in the file")
		}
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	return &http.Client{Transport: t, CheckRedirect: redirect}, nil
}
