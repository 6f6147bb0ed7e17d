package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Hoist creates a project's webhook itself when an admin asks (SPEC §2.4):
// push, tag push, merge request and comment events (comments carry the
// merge request commands), SSL verification on, the integration's endpoint
// and secret. The hooks it creates or updates are recorded in the audit log
// (action ActionCreateWebhook, detail project_id and hook_id, and
// triggers_added when it turned some on) rather than in a table of their
// own: the log already keeps who did it and when, and rotating the secret
// only needs to find them again. Entries older than the integration (a
// deleted one of the same id) are ignored.

// ActionCreateWebhook is the audit action of a hook Hoist created or updated.
const ActionCreateWebhook = "integration.create_webhook"

// HookClient lists, adds and edits project webhooks in GitLab. Add and Edit
// set Hoist's events (push, tag push, merge requests, comments) and SSL
// verification. The gitlab package implements it.
type HookClient interface {
	ProjectHooks(ctx context.Context, ep vcs.Endpoint, project string) (projectID int64, hooks []vcs.ProjectHook, err error)
	AddProjectHook(ctx context.Context, ep vcs.Endpoint, projectID int64, url, token string) (hookID int64, err error)
	EditProjectHook(ctx context.Context, ep vcs.Endpoint, projectID, hookID int64, url, token string) error
}

// WebhookResult is the hook CreateWebhook made or updated.
type WebhookResult struct {
	Repository string
	ProjectID  int64
	HookID     int64
	URL        string
	// Created is false when a hook with Hoist's endpoint already existed
	// and was updated instead of adding a second one.
	Created bool
	// TriggersAdded are the triggers the existing hook lacked and now has,
	// named as in GitLab's API (note_events for a hook created before
	// Hoist needed comments); none when it was created or had them all.
	TriggersAdded []string
}

// missingTriggers names, as GitLab's API does, the triggers Hoist's hook
// needs that h lacks, in a fixed order.
func missingTriggers(h vcs.ProjectHook) []string {
	var out []string
	for _, t := range []struct {
		name string
		on   bool
	}{
		{"push_events", h.PushEvents},
		{"tag_push_events", h.TagPushEvents},
		{"merge_requests_events", h.MergeRequestsEvents},
		{"note_events", h.NoteEvents},
	} {
		if !t.on {
			out = append(out, t.name)
		}
	}
	return out
}

// CreateWebhook adds Hoist's webhook to a GitLab project, or updates the
// one already pointing at the integration's endpoint, for those who may
// change the integration. An existing hook is always edited: GitLab never
// shows its secret token, so Hoist sets it again (which is how a hook a
// rotation could not reach is repaired); the result says which of its
// triggers were missing and are now on.
func (s *Service) CreateWebhook(ctx context.Context, actor, id, repository string) (WebhookResult, error) {
	repository = strings.Trim(strings.TrimSpace(repository), "/")
	if repository == "" || !strings.Contains(repository, "/") {
		return WebhookResult{}, apperr.InvalidField("repository", "name the GitLab project as group/project")
	}
	if s.cfg.Hooks == nil {
		return WebhookResult{}, apperr.Errorf(apperr.Invalid, "this server cannot create GitLab webhooks")
	}
	it, _, _, err := s.loadForChange(ctx, actor, id)
	if err != nil {
		return WebhookResult{}, err
	}
	ep, hookSecret, err := s.hookCredentials(it)
	if err != nil {
		return WebhookResult{}, err
	}
	res := WebhookResult{Repository: repository, URL: s.endpoint(it.ID)}
	pid, hooks, err := s.cfg.Hooks.ProjectHooks(ctx, ep, repository)
	if err != nil {
		return WebhookResult{}, err
	}
	res.ProjectID = pid
	for _, h := range hooks {
		if h.URL == res.URL {
			res.HookID, res.TriggersAdded = h.ID, missingTriggers(h)
			break
		}
	}
	if res.HookID != 0 {
		err = s.cfg.Hooks.EditProjectHook(ctx, ep, pid, res.HookID, res.URL, hookSecret)
	} else {
		res.Created = true
		res.HookID, err = s.cfg.Hooks.AddProjectHook(ctx, ep, pid, res.URL, hookSecret)
	}
	if err != nil {
		return WebhookResult{}, err
	}
	if s.cfg.Audit != nil {
		detail := map[string]any{"repository": repository, "project_id": pid, "hook_id": res.HookID, "created": res.Created}
		if len(res.TriggersAdded) > 0 {
			detail["triggers_added"] = res.TriggersAdded
		}
		entry := s.entry(actor, ActionCreateWebhook, it, detail)
		if err := s.cfg.Audit.AppendAudit(ctx, entry); err != nil {
			return res, fmt.Errorf("record webhook %d of %s: %w", res.HookID, repository, err)
		}
	}
	s.log.InfoContext(ctx, "GitLab webhook set", "integration_id", it.ID, "repository", repository, "hook_id", res.HookID,
		"created", res.Created, "triggers_added", res.TriggersAdded, "actor", actor)
	return res, nil
}

// hookCredentials opens the integration's token (as its endpoint) and its
// webhook secret.
func (s *Service) hookCredentials(it Integration) (vcs.Endpoint, string, error) {
	token, err := s.cfg.Box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return vcs.Endpoint{}, "", fmt.Errorf("open token of %s: %w", it.ID, err)
	}
	ws, err := s.cfg.Box.Open(it.WebhookSecretSealed, secret.AAD("integration", it.ID, "webhook_secret"))
	if err != nil {
		return vcs.Endpoint{}, "", fmt.Errorf("open webhook secret of %s: %w", it.ID, err)
	}
	return it.Endpoint(string(token)), string(ws), nil
}

// updateHooks gives the hooks Hoist created for it the current webhook
// secret, after a rotation. A hook it cannot update is a warning saying
// which one to fix by hand; the rotation itself stands.
func (s *Service) updateHooks(ctx context.Context, it Integration) []string {
	if s.cfg.Hooks == nil || s.cfg.Audit == nil {
		return nil
	}
	recorded, err := s.createdHooks(ctx, it)
	if err != nil {
		return []string{fmt.Sprintf("could not list the webhooks Hoist created (%v): update their secret token in GitLab", apperr.MessageOf(err))}
	}
	if len(recorded) == 0 {
		return nil
	}
	ep, hookSecret, err := s.hookCredentials(it)
	if err != nil {
		return []string{fmt.Sprintf("could not update the webhooks Hoist created (%v)", apperr.MessageOf(err))}
	}
	var warnings []string
	for _, h := range recorded {
		if err := s.cfg.Hooks.EditProjectHook(ctx, ep, h.ProjectID, h.HookID, s.endpoint(it.ID), hookSecret); err != nil {
			warnings = append(warnings, fmt.Sprintf("webhook %d of %s keeps the old secret (%s): update it in GitLab or run create-webhook again",
				h.HookID, h.Repository, apperr.MessageOf(err)))
			s.log.WarnContext(ctx, "update GitLab webhook secret", "integration_id", it.ID, "hook_id", h.HookID, "error", err.Error())
		}
	}
	return warnings
}

// createdHooks reads the hooks Hoist created for it back from the audit
// log, one per (project, hook), ignoring entries older than it.
func (s *Service) createdHooks(ctx context.Context, it Integration) ([]WebhookResult, error) {
	var out []WebhookResult
	seen := map[[2]int64]bool{}
	cursor := ""
	for {
		page, next, err := s.cfg.Audit.ListAudit(ctx, audit.Filter{ResourceType: "integration", ResourceID: it.ID}, cursor, 500)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			// Stores may keep times to the second or millisecond.
			if e.Action != ActionCreateWebhook || e.At.Before(it.CreatedAt.Truncate(time.Second)) {
				continue
			}
			h := WebhookResult{ProjectID: detailInt(e.Detail["project_id"]), HookID: detailInt(e.Detail["hook_id"])}
			h.Repository, _ = e.Detail["repository"].(string)
			key := [2]int64{h.ProjectID, h.HookID}
			if h.ProjectID != 0 && h.HookID != 0 && !seen[key] {
				seen[key] = true
				out = append(out, h)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// detailInt reads a number of an audit detail, which comes back from JSON
// as a float64 (or as the int64 it was written as, before storing).
func detailInt(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}
