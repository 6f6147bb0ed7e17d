package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
	"github.com/spf13/cobra"
)

// runVCSAgentPool is `hoist vcs-agent-pool …`: a pool belongs to a space;
// its readers list and show it, its admins manage it and see its agents.
func vcsAgentPoolCommands() []spec {
	return []spec{
		leaf("create", "create a VCS agent pool in a space; prints its token once",
			"NAME [--space SPACE] [--description TEXT | --description-file FILE]", agentPoolCreate),
		leaf("list", "list the VCS agent pools you can see, with their number of connected agents", "", agentPoolList),
		leaf("show", "show a pool (and its connected agents, to admins of its space)", "ID", agentPoolShow),
		leaf("update", "move a pool to another space or change its description",
			"ID [--space SPACE] [--description TEXT | --description-file FILE]", agentPoolUpdate),
		leaf("rotate-token", "mint a new pool token; agents on the old one are disconnected", "ID", agentPoolRotate),
		leaf("delete", "delete a pool and disconnect its agents", "ID", agentPoolDelete),
	}
}

func agentPoolCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var sp, desc, descFile string
	fs.StringVar(&sp, "space", "root", "id of the `SPACE` that owns the pool; integrations in it and below may use it")
	fs.StringVar(&desc, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE` (- for stdin)")
	return func(ctx context.Context, args []string) error {
		name, err := parseWithID(cmd, args, "pool name")
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

func agentPoolList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
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
}

func agentPoolShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
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

func agentPoolUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var sp, desc, descFile string
	fs.StringVar(&sp, "space", "", "move the pool to `SPACE` (admin on both spaces)")
	fs.StringVar(&desc, "description", "", "new markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the new description from `FILE` (- for stdin)")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "pool id")
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
}

func agentPoolRotate(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
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
}

func agentPoolDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
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
}

// vcsAgentCommand is `hoist vcs-agent` (SPEC §2.5): its flags come from
// HOIST_VCS_AGENT_<FLAG> by the rule of every flag (envflag.go), --server
// also from HOIST_URL; the pool token from HOIST_VCS_AGENT_POOL_TOKEN or
// --pool-token-file rather than argv.
func vcsAgentCommand(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	server := fs.String("server", "", "the Hoist server's public `URL`")
	envAlias(fs, "server", "HOIST_URL")
	token := fs.String("pool-token", "", "the pool token (prefer $HOIST_VCS_AGENT_POOL_TOKEN or --pool-token-file: argv is visible to other users)")
	tokenFile := fs.String("pool-token-file", "", "read the pool token from `FILE` (- for stdin)")
	secretFlag(fs, "pool-token", "pool-token-file")
	// HOIST_POOL_TOKEN(_FILE) has always been the worker pool's token.
	scopedEnvOnly(fs, "pool-token", "pool-token-file")
	target := fs.String("target-base-endpoint", "", "the private GitLab's `URL` with scheme and port")
	vendor := fs.String("vendor", "", "the VCS: gitlab")
	allowed := fs.String("allowed-projects", agent.DefaultAllowedProjects, "`REGEX` over namespace/project of the projects Hoist may reach (unanchored: use ^…$)")
	parallelism := fs.String("parallelism", strconv.Itoa(agent.DefaultParallelism), "`N` streams, one request each at a time")
	name := fs.String("name", "", "this agent's name in the pool view (default the host name)")
	serverCA := fs.String("server-ca-file", "", "PEM `FILE` of CAs trusted for the Hoist server, besides the system roots")
	targetCA := fs.String("target-ca-file", "", "PEM `FILE` of CAs trusted for GitLab, besides the system roots")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
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
			secret = strings.TrimSpace(*token) // from --pool-token or HOIST_VCS_AGENT_POOL_TOKEN
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
