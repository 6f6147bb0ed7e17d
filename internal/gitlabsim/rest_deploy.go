package gitlabsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

var deploymentStatuses = []string{"running", "success", "failed", "canceled"}

// deploymentObj renders a deployment (caller holds s.mu).
func (s *Server) deploymentObj(d *Deployment, withEnv bool) obj {
	o := obj{"id": d.ID, "iid": d.IID, "ref": d.Ref, "sha": d.SHA, "status": d.Status,
		"created_at": apiTime(d.CreatedAt), "updated_at": apiTime(d.UpdatedAt), "finished_at": apiTimePtr(d.FinishedAt),
		"user": s.userBasic(s.st.userByID(d.UserID)), "deployable": nil}
	if withEnv {
		for _, e := range s.st.Environments {
			if e.ID == d.EnvironmentID {
				o["environment"] = s.envObj(e, false)
			}
		}
	}
	return o
}

func (s *Server) listDeployments(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	env, status := c.str("environment"), c.str("status")
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Deployment
	for _, d := range s.st.Deployments {
		if d.ProjectID != p.ID || (status != "" && d.Status != status) {
			continue
		}
		if env != "" && s.st.environmentName(d.EnvironmentID) != env {
			continue
		}
		list = append(list, d)
	}
	if c.str("sort") == "desc" {
		slices.Reverse(list)
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, d := range page {
		out = append(out, s.deploymentObj(d, true))
	}
	return c.ok(http.StatusOK, out)
}

func (st *state) environmentName(id int) string {
	for _, e := range st.Environments {
		if e.ID == id {
			return e.Name
		}
	}
	return ""
}

func (s *Server) getDeployment(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.deployment(p.ID, c.pathInt("deployment_id"))
	if d == nil {
		return notFound("Deployment")
	}
	return c.ok(http.StatusOK, s.deploymentObj(d, true))
}

func (st *state) deployment(projectID, id int) *Deployment {
	for _, d := range st.Deployments {
		if d.ID == id && d.ProjectID == projectID {
			return d
		}
	}
	return nil
}

// createDeployment is POST /projects/:id/deployments; the environment is
// created when missing, as in GitLab.
func (s *Server) createDeployment(c *call) error {
	p, err := c.project(Developer)
	if err != nil {
		return err
	}
	for _, k := range []string{"environment", "sha", "ref", "tag", "status"} {
		if _, ok := c.param(k); !ok {
			return paramError(k + " is missing")
		}
	}
	status := c.str("status")
	if !slices.Contains(deploymentStatuses, status) {
		return paramError("status does not have a valid value")
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	commit, err := repo.GetCommit(c.r.Context(), c.str("sha"))
	if err != nil {
		return validationError("sha", "can't be blank")
	}
	envName := c.str("environment")
	var out obj
	err = s.mutate(func(st *state) error {
		now := s.now()
		var env *Environment
		for _, e := range st.Environments {
			if e.ProjectID == p.ID && e.Name == envName {
				env = e
			}
		}
		if env == nil {
			if env, err = st.addEnvironment(p.ID, envName, now); err != nil {
				return err
			}
		}
		d := &Deployment{ID: st.nextID("deployment"), IID: st.nextID(fmt.Sprintf("deployment_iid/%d", p.ID)),
			ProjectID: p.ID, EnvironmentID: env.ID, Ref: c.str("ref"), SHA: commit.SHA, Tag: c.boolParam("tag", false),
			Status: status, UserID: c.user.ID, CreatedAt: now, UpdatedAt: now}
		if status != "running" {
			d.FinishedAt = timePtr(now)
		}
		st.Deployments = append(st.Deployments, d)
		out = s.deploymentObj(d, true)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusCreated, out)
}

// updateDeployment is PUT /projects/:id/deployments/:deployment_id. A
// running deployment may finish; a finished one cannot change again.
func (s *Server) updateDeployment(c *call) error {
	p, err := c.project(Developer)
	if err != nil {
		return err
	}
	status, ok := c.param("status")
	if !ok {
		return paramError("status is missing")
	}
	if !slices.Contains(deploymentStatuses, status) {
		return paramError("status does not have a valid value")
	}
	var out obj
	err = s.mutate(func(st *state) error {
		d := st.deployment(p.ID, c.pathInt("deployment_id"))
		if d == nil {
			return notFound("Deployment")
		}
		if d.Status != status {
			if d.Status != "running" && d.Status != "created" {
				return validationError("status", fmt.Sprintf("cannot transition from %s to %s", d.Status, status))
			}
			now := s.now()
			d.Status, d.UpdatedAt = status, now
			if status != "running" {
				d.FinishedAt = timePtr(now)
			}
		}
		out = s.deploymentObj(d, true)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) hookObj(h *Hook) obj {
	return obj{"id": h.ID, "url": h.URL, "name": h.Name, "description": h.Description, "project_id": h.ProjectID,
		"push_events": h.PushEvents, "push_events_branch_filter": h.PushEventsBranchFilter, "branch_filter_strategy": "wildcard",
		"issues_events": false, "confidential_issues_events": false, "merge_requests_events": h.MergeRequestsEvents,
		"tag_push_events": h.TagPushEvents, "note_events": h.NoteEvents, "confidential_note_events": false,
		"job_events": false, "pipeline_events": false, "wiki_page_events": false, "deployment_events": false,
		"releases_events": false, "milestone_events": false, "feature_flag_events": false, "emoji_events": false,
		"resource_access_token_events": false, "repository_update_events": false,
		"enable_ssl_verification": h.EnableSSLVerification, "created_at": apiTime(h.CreatedAt),
		"alert_status": "executable", "disabled_until": nil, "url_variables": []any{}, "custom_headers": []any{},
		"custom_webhook_template": "", "token_present": h.Token != "", "signing_token_present": false}
}

func (s *Server) listHooks(c *call) error {
	p, err := c.project(Maintainer)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Hook
	for _, h := range s.st.Hooks {
		if h.ProjectID == p.ID {
			list = append(list, h)
		}
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, h := range page {
		out = append(out, s.hookObj(h))
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) getHook(c *call) error {
	p, err := c.project(Maintainer)
	if err != nil {
		return err
	}
	h, err := s.hookByID(c.pathInt("hook_id"))
	if err != nil || h.ProjectID != p.ID {
		return notFound("Hook")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.ok(http.StatusOK, s.hookObj(&h))
}

func (s *Server) createHook(c *call) error {
	p, err := c.project(Maintainer)
	if err != nil {
		return err
	}
	raw, ok := c.param("url")
	if !ok {
		return paramError("url is missing")
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return validationError("url", "is blocked: Only allowed schemes are http, https")
	}
	opt := func(name string, def bool) *bool { v := c.boolParam(name, def); return &v }
	h, err := s.AddHook(c.r.Context(), fmt.Sprint(p.ID), HookOptions{
		URL: raw, Token: c.str("token"), Name: c.str("name"), PushEvents: opt("push_events", true),
		PushEventsBranchFilter: c.str("push_events_branch_filter"), TagPushEvents: c.boolParam("tag_push_events", false),
		MergeRequestsEvents: c.boolParam("merge_requests_events", false), NoteEvents: c.boolParam("note_events", false),
		EnableSSLVerification: opt("enable_ssl_verification", true),
	})
	if err != nil {
		return err
	}
	if d := strings.TrimSpace(c.str("description")); d != "" {
		_ = s.mutate(func(st *state) error {
			for _, x := range st.Hooks {
				if x.ID == h.ID {
					x.Description = d
				}
			}
			return nil
		})
		h.Description = d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.ok(http.StatusCreated, s.hookObj(&h))
}

func (s *Server) deleteHook(c *call) error {
	p, err := c.project(Maintainer)
	if err != nil {
		return err
	}
	h, err := s.hookByID(c.pathInt("hook_id"))
	if err != nil || h.ProjectID != p.ID {
		return notFound("Hook")
	}
	if err := s.DeleteHook(c.r.Context(), h.ID); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
