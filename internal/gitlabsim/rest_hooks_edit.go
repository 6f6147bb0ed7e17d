package gitlabsim

import (
	"net/http"
	"net/url"
	"strings"
)

// editHook is PUT /projects/:id/hooks/:hook_id. As in GitLab, url is
// required; every other field keeps its value when absent, and the token
// changes only when one is sent.
func (s *Server) editHook(c *call) error {
	p, err := c.project(Maintainer)
	if err != nil {
		return err
	}
	cur, err := s.hookByID(c.pathInt("hook_id"))
	if err != nil || cur.ProjectID != p.ID {
		return notFound("Hook")
	}
	raw, ok := c.param("url")
	if !ok {
		return paramError("url is missing")
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return validationError("url", "is blocked: Only allowed schemes are http, https")
	}
	var out obj
	err = s.mutate(func(st *state) error {
		for _, h := range st.Hooks {
			if h.ID != cur.ID {
				continue
			}
			h.URL = raw
			if tok, ok := c.param("token"); ok {
				h.Token = tok
			}
			if name, ok := c.param("name"); ok {
				h.Name = name
			}
			if d, ok := c.param("description"); ok {
				h.Description = strings.TrimSpace(d)
			}
			if f, ok := c.param("push_events_branch_filter"); ok {
				h.PushEventsBranchFilter = f
			}
			h.PushEvents = c.boolParam("push_events", h.PushEvents)
			h.TagPushEvents = c.boolParam("tag_push_events", h.TagPushEvents)
			h.MergeRequestsEvents = c.boolParam("merge_requests_events", h.MergeRequestsEvents)
			h.NoteEvents = c.boolParam("note_events", h.NoteEvents)
			h.EnableSSLVerification = c.boolParam("enable_ssl_verification", h.EnableSSLVerification)
			out = s.hookObj(h)
			return nil
		}
		return notFound("Hook")
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, out)
}
