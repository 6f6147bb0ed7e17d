package api

import "time"

// Integration is a VCS integration. The detail fields (webhook endpoint
// and secret, CA bundle, token metadata, warnings) are set only for callers
// allowed to see details; the token itself is write-only.
type Integration struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Provider       string   `json:"provider" enum:"gitlab"`
	IsDefault      bool     `json:"is_default"`
	Space          string   `json:"space"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host"`
	Labels         []string `json:"labels"`
	Description    string   `json:"description"`
	// either host is private://<pool>: GitLab is reached through a VCS
	// agent pool
	Private bool `json:"private"`
	// post only hoist/tracked, hoist/proposed and hoist/modules per commit
	// instead of one status per stack
	AggregateStatuses bool `json:"aggregate_statuses"`
	// the default of the integration's stacks that do not turn drift_issue
	// on themselves: Hoist keeps one GitLab issue per drifted stack
	DriftIssue bool `json:"drift_issue"`
	// labels of those issues (with drift_issue)
	DriftIssueLabels []string  `json:"drift_issue_labels"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`

	// details only: <public-url>/webhooks/gitlab/<id>
	WebhookEndpoint string `json:"webhook_endpoint,omitempty"`
	// details only
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// details only
	CABundle       string     `json:"ca_bundle,omitempty"`
	TokenUser      string     `json:"token_user,omitempty"`
	TokenScopes    []string   `json:"token_scopes,omitempty"`
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
	Warnings       []string   `json:"warnings,omitempty"`
}

// CreateGitLabIntegration is the body of POST /api/v1/integrations/gitlab.
type CreateGitLabIntegration struct {
	Name string `json:"name"`
	// required unless is_default
	Space     string `json:"space,omitempty"`
	IsDefault bool   `json:"is_default,omitempty"`
	// GitLab's root URL: https://… or http://…, stored without a trailing
	// /api/v4 (Hoist adds it); for a private GitLab, its address inside the
	// private network. private://<agent-pool>[/path] is accepted here too. A
	// pool (here or in user_facing_host) must be one the caller can see, in
	// the integration's space or an ancestor of it (400 on the field
	// otherwise)
	APIHost string `json:"api_host"`
	// URL shown to users and used in links; default api_host. For a private
	// GitLab: private://<agent-pool>, and every GitLab call goes through that
	// pool's agents, with links shown as plain text
	UserFacingHost string   `json:"user_facing_host,omitempty"`
	Token          string   `json:"token"`
	Labels         []string `json:"labels,omitempty"`
	Description    string   `json:"description,omitempty"`
	CABundle       string   `json:"ca_bundle,omitempty"`
	// post only hoist/tracked, hoist/proposed and hoist/modules per commit
	// instead of one status per stack
	AggregateStatuses bool `json:"aggregate_statuses,omitempty"`
	// the default of the integration's stacks that do not turn drift_issue
	// on themselves: Hoist keeps one GitLab issue per drifted stack
	DriftIssue bool `json:"drift_issue,omitempty"`
	// labels of those issues (at most 20, no commas); needs drift_issue
	DriftIssueLabels []string `json:"drift_issue_labels,omitempty"`
}

// UpdateGitLabIntegration is the body of PATCH
// /api/v1/integrations/gitlab/{id}: every field optional, absent fields
// unchanged; name is refused (immutable). Setting space moves the
// integration; a default integration must also get is_default false to
// move.
type UpdateGitLabIntegration struct {
	Space          *string   `json:"space,omitempty"`
	IsDefault      *bool     `json:"is_default,omitempty"`
	APIHost        *string   `json:"api_host,omitempty"`
	UserFacingHost *string   `json:"user_facing_host,omitempty"`
	Token          *string   `json:"token,omitempty"`
	Labels         *[]string `json:"labels,omitempty"`
	Description    *string   `json:"description,omitempty"`
	CABundle       *string   `json:"ca_bundle,omitempty"`
	// post only hoist/tracked, hoist/proposed and hoist/modules per commit
	// instead of one status per stack
	AggregateStatuses *bool `json:"aggregate_statuses,omitempty"`
	// the default of the integration's stacks that do not turn drift_issue
	// on themselves
	DriftIssue *bool `json:"drift_issue,omitempty"`
	// labels of those issues (at most 20, no commas); needs drift_issue
	DriftIssueLabels *[]string `json:"drift_issue_labels,omitempty"`
}

// TestResult is the answer of POST /api/v1/integrations/gitlab/{id}/test;
// a failed check is an error answer instead.
type TestResult struct {
	OK             bool       `json:"ok"`
	TokenUser      string     `json:"token_user"`
	TokenUserID    int64      `json:"token_user_id"`
	TokenScopes    []string   `json:"token_scopes"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
	Warnings       []string   `json:"warnings"`
}

// CreateGitLabWebhook is the body of POST
// /api/v1/integrations/gitlab/{id}/webhooks.
type CreateGitLabWebhook struct {
	// the GitLab project, group/project
	Repository string `json:"repository"`
}

// GitLabWebhook is the hook Hoist created or updated in GitLab.
type GitLabWebhook struct {
	Repository string `json:"repository"`
	ProjectID  int64  `json:"project_id"`
	HookID     int64  `json:"hook_id"`
	// the integration's webhook endpoint
	URL string `json:"url"`
	// false when an existing hook was updated
	Created bool `json:"created"`
	// the triggers the existing hook lacked and now has, as GitLab's API
	// names them (push_events, tag_push_events, merge_requests_events,
	// note_events); empty when it was created or had them all
	TriggersAdded []string `json:"triggers_added"`
}
