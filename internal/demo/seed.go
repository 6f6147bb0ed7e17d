package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// seedGitLab makes sure the simulator holds the group, the sample project
// and the machine user (Maintainer on the group). It returns the user's ID.
func seedGitLab(ctx context.Context, sim *gitlabsim.Server) (int, error) {
	if _, err := sim.CreateGroup(ctx, Group); err != nil {
		return 0, fmt.Errorf("create group %s: %w", Group, err)
	}
	if _, err := sim.Project(Project); errors.Is(err, gitlabsim.ErrNotFound) {
		if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: Project, DefaultBranch: Branch,
			Description: "Sample infrastructure for the Hoist demo", Files: files()}); err != nil {
			return 0, fmt.Errorf("create project %s: %w", Project, err)
		}
	} else if err != nil {
		return 0, fmt.Errorf("project %s: %w", Project, err)
	}
	bot, err := sim.UserByUsername(BotUsername)
	if errors.Is(err, gitlabsim.ErrNotFound) {
		bot, err = sim.CreateUser(ctx, gitlabsim.UserOptions{Username: BotUsername, Name: "Hoist Bot", Bot: true})
	}
	if err != nil {
		return 0, fmt.Errorf("machine user %s: %w", BotUsername, err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Group: Group, UserID: bot.ID,
		AccessLevel: gitlabsim.Maintainer}); err != nil {
		return 0, fmt.Errorf("make %s Maintainer of %s: %w", BotUsername, Group, err)
	}
	return bot.ID, nil
}

// ensureIntegration makes sure the default GitLab integration points at the
// simulator. A new one gets a fresh `api` token of the machine user; an
// existing one keeps its token and only follows the simulator's address.
func ensureIntegration(ctx context.Context, sim *gitlabsim.Server, hoist *apiclient.Client, botID int) (*api.Integration, error) {
	it, err := hoist.GetGitLabIntegration(ctx, IntegrationID)
	switch {
	case err == nil && it.APIHost == sim.URL():
		return it, nil
	case err == nil:
		// The simulator came up on another port than last time.
		u := sim.URL()
		it, err = hoist.UpdateGitLabIntegration(ctx, IntegrationID, api.UpdateGitLabIntegration{APIHost: &u, UserFacingHost: &u})
		if err != nil {
			return nil, fmt.Errorf("point integration %s at %s: %w", IntegrationID, u, err)
		}
		return it, nil
	case !apperr.Is(err, apperr.NotFound):
		return nil, fmt.Errorf("integration %s: %w", IntegrationID, err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: botID, Name: "hoist-demo", Scopes: []string{"api"}})
	if err != nil {
		return nil, fmt.Errorf("create a token for %s: %w", BotUsername, err)
	}
	in := api.CreateGitLabIntegration{Name: IntegrationName, IsDefault: true, APIHost: sim.URL(), Token: tok.Value,
		Labels: []string{"demo"}, Description: "The GitLab simulator started by `hoist server --demo`."}
	it, err = hoist.CreateGitLabIntegration(ctx, in)
	if apperr.Is(err, apperr.Conflict) {
		// Someone already made another integration the default: the demo's
		// lives in root instead, usable from every space all the same.
		in.IsDefault, in.Space = false, "root"
		it, err = hoist.CreateGitLabIntegration(ctx, in)
	}
	if err != nil {
		return nil, fmt.Errorf("create integration %s: %w", IntegrationName, err)
	}
	return it, nil
}

// GuideTokenFile is where the demo keeps an `api` token of its machine
// user, in the simulator's data dir: the GITLAB_TOKEN_FILE of
// docs/gitlab.md when the guide is followed against the demo. The demo's
// own integration holds its token sealed, out of reach of the guide.
const GuideTokenFile = "hoist-bot-token"

// ensureGuideToken makes sure simDir holds a token of the machine user for
// docs/gitlab.md, minting one when the file is missing, and returns the
// file's path.
func ensureGuideToken(ctx context.Context, sim *gitlabsim.Server, botID int, simDir string) (string, error) {
	path := filepath.Join(simDir, GuideTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(bytes.TrimSpace(b)) > 0:
		return path, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: botID, Name: "docs-gitlab-guide", Scopes: []string{"api"}})
	if err != nil {
		return "", fmt.Errorf("create a token for %s: %w", BotUsername, err)
	}
	if err := os.WriteFile(path, []byte(tok.Value+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save the guide's token: %w", err)
	}
	return path, nil
}

// ensureHook makes sure the project has exactly one hook to the
// integration's endpoint with its current secret, as an admin following
// docs/gitlab.md would set it up.
func ensureHook(ctx context.Context, sim *gitlabsim.Server, it *api.Integration) (gitlabsim.Hook, error) {
	hs, err := sim.Hooks(Project)
	if err != nil {
		return gitlabsim.Hook{}, fmt.Errorf("hooks of %s: %w", Project, err)
	}
	suffix := "/webhooks/gitlab/" + IntegrationID
	for _, h := range hs {
		if h.URL == it.WebhookEndpoint && h.Token == it.WebhookSecret && h.PushEvents && h.TagPushEvents && h.MergeRequestsEvents {
			return h, nil
		}
		if strings.HasSuffix(h.URL, suffix) { // stale: another address or secret
			if err := sim.DeleteHook(ctx, h.ID); err != nil {
				return gitlabsim.Hook{}, fmt.Errorf("delete stale hook %d: %w", h.ID, err)
			}
		}
	}
	push := true
	h, err := sim.AddHook(ctx, Project, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		Name: "Hoist", PushEvents: &push, TagPushEvents: true, MergeRequestsEvents: true})
	if err != nil {
		return gitlabsim.Hook{}, fmt.Errorf("add the webhook to %s: %w", Project, err)
	}
	return h, nil
}

// ensureStacks creates the sample stacks that do not exist yet.
func ensureStacks(ctx context.Context, hoist *apiclient.Client, it *api.Integration) error {
	for _, s := range stacks {
		_, err := hoist.GetStack(ctx, s.name)
		if err == nil {
			continue
		}
		if !apperr.Is(err, apperr.NotFound) {
			return fmt.Errorf("stack %s: %w", s.name, err)
		}
		if _, err := hoist.CreateStack(ctx, api.CreateStack{Name: s.name, Space: "root", Integration: it.ID,
			Repository: Project, Branch: Branch, ProjectRoot: s.root, Autodeploy: s.autodeploy,
			Labels: []string{"demo"}, Description: s.description}); err != nil {
			return fmt.Errorf("create stack %s: %w", s.name, err)
		}
	}
	return nil
}

// The demo's person: a GitLab user in the demo group, who logs in to
// Hoist with "Log in with GitLab" and is root admin through a role mapping.
const (
	PersonUsername = "alice"
	oauthAppName   = "Hoist demo"
)

// ensureOAuthApp registers the OAuth application Hoist logs in through,
// once; its callback is set when the server's URL is known (Seed).
func ensureOAuthApp(ctx context.Context, sim *gitlabsim.Server) (gitlabsim.OAuthApp, error) {
	app, err := sim.OAuthAppByName(oauthAppName)
	if errors.Is(err, gitlabsim.ErrNotFound) {
		app, err = sim.CreateOAuthApp(ctx, gitlabsim.OAuthAppOptions{Name: oauthAppName,
			RedirectURIs: []string{"http://127.0.0.1/login/oidc/callback"}})
	}
	if err != nil {
		return gitlabsim.OAuthApp{}, fmt.Errorf("OAuth application %s: %w", oauthAppName, err)
	}
	return app, nil
}

// ensurePeople makes sure alice is a Developer of the demo group and that
// the group maps to admin of root at this issuer.
func ensurePeople(ctx context.Context, sim *gitlabsim.Server, hoist *apiclient.Client) error {
	alice, err := sim.UserByUsername(PersonUsername)
	if errors.Is(err, gitlabsim.ErrNotFound) {
		alice, err = sim.CreateUser(ctx, gitlabsim.UserOptions{Username: PersonUsername, Name: "Alice Demo", Email: "alice@demo.example"})
	}
	if err != nil {
		return fmt.Errorf("user %s: %w", PersonUsername, err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Group: Group, UserID: alice.ID, AccessLevel: gitlabsim.Developer}); err != nil {
		return fmt.Errorf("make %s Developer of %s: %w", PersonUsername, Group, err)
	}
	ms, err := hoist.ListRoleMappings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Group == Group && m.Issuer == sim.URL() && m.Space == "root" {
			return nil
		}
	}
	_, err = hoist.CreateRoleMapping(ctx, api.CreateRoleMapping{Issuer: sim.URL(), Group: Group, Space: "root", Role: "admin"})
	return err
}
