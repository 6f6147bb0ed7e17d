// Package launchpad computes the LaunchPad of SPEC §6.3: the getting-started
// checklist (connect source code, connect a cloud account, create the first
// stack, invite a teammate, then trigger the first run) with each step's
// completion read live from the stores. The web UI page and GET
// /api/v1/launchpad both render Compute's result, so they never disagree.
//
// The steps describe the account's setup, not one principal's view of it:
// a step is done when the thing exists anywhere in the account. Only
// booleans leave this package, never names of things a caller may not see.
package launchpad

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
)

// Step keys, stable in the API.
const (
	SourceCode   = "connect_source_code"
	CloudAccount = "connect_cloud_account"
	FirstStack   = "create_first_stack"
	Teammate     = "invite_teammate"
	FirstRun     = "trigger_first_run"
)

// Step is one item of the checklist.
type Step struct {
	Number    int
	Key       string
	Title     string
	Done      bool
	Available bool   // false when Hoist cannot do this yet
	Detail    string // what the step means, or why it is not available
	Link      string // the UI page where the step is done ("" when none)
}

// Status is the checklist as it stands.
type Status struct {
	Steps []Step // the four numbered steps
	Next  Step   // "trigger the first run", offered once stacks can exist
}

// Completed counts the done steps.
func (s Status) Completed() int {
	n := 0
	for _, st := range s.Steps {
		if st.Done {
			n++
		}
	}
	return n
}

// Complete reports whether every available step is done.
func (s Status) Complete() bool {
	for _, st := range s.Steps {
		if st.Available && !st.Done {
			return false
		}
	}
	return true
}

// IntegrationStore is the part of integration.Store the LaunchPad reads.
type IntegrationStore interface {
	ListIntegrations(ctx context.Context, f integration.Filter, cursor string, limit int) ([]integration.Integration, string, error)
}

// IdentityStore is the part of identity.Store the LaunchPad reads.
type IdentityStore interface {
	ListUsers(ctx context.Context, cursor string, limit int) ([]identity.User, string, error)
	ListAPIKeys(ctx context.Context, cursor string, limit int) ([]identity.APIKey, string, error)
}

// ExistsFunc reports whether at least one of something exists.
type ExistsFunc func(ctx context.Context) (bool, error)

// Config wires Compute to the stores. StacksExistFunc and RunsExistFunc
// may be nil while those features are not wired; their steps then show as
// not done.
type Config struct {
	Integrations    IntegrationStore
	Identity        IdentityStore
	StacksExistFunc ExistsFunc
	RunsExistFunc   ExistsFunc
}

// LaunchPad computes the checklist.
type LaunchPad struct{ cfg Config }

// New returns a LaunchPad.
func New(cfg Config) *LaunchPad { return &LaunchPad{cfg: cfg} }

// Compute reads the current state of every step.
func (l *LaunchPad) Compute(ctx context.Context) (Status, error) {
	gitlab, err := l.gitLabExists(ctx)
	if err != nil {
		return Status{}, err
	}
	stacks, err := exists(ctx, l.cfg.StacksExistFunc, "stacks")
	if err != nil {
		return Status{}, err
	}
	teammate, err := l.teammateExists(ctx)
	if err != nil {
		return Status{}, err
	}
	runs, err := exists(ctx, l.cfg.RunsExistFunc, "runs")
	if err != nil {
		return Status{}, err
	}
	return Status{
		Steps: []Step{
			{Number: 1, Key: SourceCode, Title: "Connect source code", Done: gitlab, Available: true, Link: "/source-control",
				Detail: "Set up a GitLab integration so Hoist can read your repositories and receive their webhooks."},
			{Number: 2, Key: CloudAccount, Title: "Connect a cloud account", Available: false,
				Detail: "Cloud integrations are not part of Hoist yet: give runs their cloud credentials through secret environment variables on the stack."},
			{Number: 3, Key: FirstStack, Title: "Create the first stack", Done: stacks, Available: l.cfg.StacksExistFunc != nil, Link: "/stacks/new",
				Detail: "A stack is one deployable project root in a repository, with a tracked branch."},
			{Number: 4, Key: Teammate, Title: "Invite a teammate", Done: teammate, Available: true,
				Detail: "Create a second user or an API key for a colleague or a pipeline (hoist user create, hoist api-key create)."},
		},
		Next: Step{Number: 5, Key: FirstRun, Title: "Trigger the first run", Done: runs, Available: l.cfg.RunsExistFunc != nil, Link: "/stacks",
			Detail: "Push to a stack's tracked branch, or trigger a run from the stack's page."},
	}, nil
}

// gitLabExists reads the store unfiltered: the step is about the account.
func (l *LaunchPad) gitLabExists(ctx context.Context) (bool, error) {
	items, _, err := l.cfg.Integrations.ListIntegrations(ctx, integration.Filter{Provider: integration.GitLab, All: true}, "", 1)
	if err != nil {
		return false, fmt.Errorf("launchpad: list integrations: %w", err)
	}
	return len(items) > 0, nil
}

// teammateExists: a second user, or an API key besides the bootstrap one.
func (l *LaunchPad) teammateExists(ctx context.Context) (bool, error) {
	users, _, err := l.cfg.Identity.ListUsers(ctx, "", 2)
	if err != nil {
		return false, fmt.Errorf("launchpad: list users: %w", err)
	}
	if len(users) > 1 {
		return true, nil
	}
	keys, _, err := l.cfg.Identity.ListAPIKeys(ctx, "", 2)
	if err != nil {
		return false, fmt.Errorf("launchpad: list api keys: %w", err)
	}
	return len(keys) > 1, nil
}

func exists(ctx context.Context, f ExistsFunc, what string) (bool, error) {
	if f == nil {
		return false, nil
	}
	ok, err := f(ctx)
	if err != nil {
		return false, fmt.Errorf("launchpad: %s: %w", what, err)
	}
	return ok, nil
}
