package gitlabsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// The issues REST API, as much as Hoist's drift issues use: list, get,
// create and edit (title, description, labels, state_event).
func (s *Server) issueRoutes(rt apiRoutes, proj string) {
	rt.handle("GET", proj+"/issues", s.listIssues)
	rt.handle("POST", proj+"/issues", s.createIssue)
	rt.handle("GET", proj+"/issues/{issue_iid}", s.getIssue)
	rt.handle("PUT", proj+"/issues/{issue_iid}", s.editIssue)
}

// GitLab's limits on an issue's title and description.
const (
	maxIssueTitle       = 255
	maxIssueDescription = 1_048_576
)

// issueObj renders an issue as GET /projects/:id/issues/:iid does (caller
// holds s.mu).
func (s *Server) issueObj(is *Issue) obj {
	web := s.baseURLLocked()
	for _, p := range s.st.Projects {
		if p.ID == is.ProjectID {
			web += "/" + p.PathWithNamespace
		}
	}
	var closedBy any
	if is.ClosedByID != 0 {
		closedBy = s.userBasic(s.st.userByID(is.ClosedByID))
	}
	labels := is.Labels
	if labels == nil {
		labels = []string{}
	}
	return obj{"id": is.ID, "iid": is.IID, "project_id": is.ProjectID, "title": is.Title, "description": is.Description,
		"state": is.State, "created_at": apiTime(is.CreatedAt), "updated_at": apiTime(is.UpdatedAt),
		"closed_at": apiTimePtr(is.ClosedAt), "closed_by": closedBy, "labels": labels, "milestone": nil,
		"assignees": []any{}, "assignee": nil, "author": s.userBasic(s.st.userByID(is.AuthorID)), "type": "ISSUE",
		"issue_type": "issue", "user_notes_count": 0, "upvotes": 0, "downvotes": 0, "due_date": nil,
		"confidential": false, "discussion_locked": nil, "web_url": fmt.Sprintf("%s/-/issues/%d", web, is.IID),
		"references": obj{"short": fmt.Sprintf("#%d", is.IID), "relative": fmt.Sprintf("#%d", is.IID)}}
}

// issueLabels reads the labels parameter: a comma-separated string (what
// client-go sends) or an array, trimmed, without empties and duplicates.
func (c *call) issueLabels() ([]string, bool) {
	v, ok := c.param("labels")
	if !ok {
		return nil, false
	}
	var parts []string
	if strings.HasPrefix(v, "[") {
		if json.Unmarshal([]byte(v), &parts) != nil {
			parts = nil
		}
	} else {
		parts = strings.Split(v, ",")
	}
	out := []string{}
	for _, l := range parts {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, true
}

// issueText checks a title and description as GitLab does.
func issueText(title, description string) error {
	switch {
	case strings.TrimSpace(title) == "":
		return validationError("title", "can't be blank")
	case utf8.RuneCountInString(title) > maxIssueTitle:
		return validationError("title", fmt.Sprintf("is too long (maximum is %d characters)", maxIssueTitle))
	case len(description) > maxIssueDescription:
		return validationError("description", fmt.Sprintf("is too long (maximum is %d characters)", maxIssueDescription))
	}
	return nil
}

// listIssues is GET /projects/:id/issues, newest first, filtered by state
// (opened, closed, all), labels (all of them) and search (each word, case
// insensitive, in the fields that in names: title, description or both).
func (s *Server) listIssues(c *call) error {
	p, err := c.project(Guest)
	if err != nil {
		return err
	}
	state := c.str("state")
	if state != "" && state != "all" && state != "opened" && state != "closed" {
		return paramError("state does not have a valid value")
	}
	want, _ := c.issueLabels()
	match, err := issueSearch(c.str("search"), c.str("in"))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Issue
	for _, is := range slices.Backward(s.st.Issues) {
		if is.ProjectID != p.ID || (state != "" && state != "all" && is.State != state) {
			continue
		}
		if !containsAll(is.Labels, want) || !match(is) {
			continue
		}
		list = append(list, is)
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, is := range page {
		out = append(out, s.issueObj(is))
	}
	return c.ok(http.StatusOK, out)
}

// issueSearch is the filter of the search and in parameters: GitLab
// matches every word of search in any of the fields in names (default
// title and description).
func issueSearch(search, in string) (func(*Issue) bool, error) {
	title, description := true, true
	if in != "" {
		title, description = false, false
		for f := range strings.SplitSeq(in, ",") {
			switch strings.TrimSpace(f) {
			case "title":
				title = true
			case "description":
				description = true
			default:
				return nil, paramError("in does not have a valid value")
			}
		}
	}
	words := strings.Fields(strings.ToLower(search))
	return func(is *Issue) bool {
		for _, w := range words {
			if !(title && strings.Contains(strings.ToLower(is.Title), w)) &&
				!(description && strings.Contains(strings.ToLower(is.Description), w)) {
				return false
			}
		}
		return true
	}, nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (st *state) issueByIID(projectID, iid int) *Issue {
	for _, is := range st.Issues {
		if is.ProjectID == projectID && is.IID == iid {
			return is
		}
	}
	return nil
}

// getIssue is GET /projects/:id/issues/:issue_iid.
func (s *Server) getIssue(c *call) error {
	p, err := c.project(Guest)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.st.issueByIID(p.ID, c.pathInt("issue_iid"))
	if is == nil {
		return notFound("")
	}
	return c.ok(http.StatusOK, s.issueObj(is))
}

// createIssue is POST /projects/:id/issues: title required, description
// and labels optional; a new issue is opened.
func (s *Server) createIssue(c *call) error {
	p, err := c.project(Guest)
	if err != nil {
		return err
	}
	if _, ok := c.param("title"); !ok {
		return paramError("title is missing")
	}
	title, description := c.str("title"), c.str("description")
	if err := issueText(title, description); err != nil {
		return err
	}
	labels, _ := c.issueLabels()
	var out obj
	err = s.mutate(func(st *state) error {
		now := s.now()
		is := &Issue{ID: st.nextID("issue"), IID: st.nextID(fmt.Sprintf("issue_iid/%d", p.ID)), ProjectID: p.ID,
			Title: title, Description: description, Labels: labels, State: "opened", AuthorID: c.user.ID,
			CreatedAt: now, UpdatedAt: now}
		st.Issues = append(st.Issues, is)
		out = s.issueObj(is)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusCreated, out)
}

// editIssue is PUT /projects/:id/issues/:issue_iid: any of title,
// description, labels (replacing them; "" removes all) and state_event
// (close, reopen; closing a closed issue changes nothing, as in GitLab).
func (s *Server) editIssue(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	event, hasEvent := c.param("state_event")
	if hasEvent && event != "close" && event != "reopen" {
		return paramError("state_event does not have a valid value")
	}
	labels, hasLabels := c.issueLabels()
	var out obj
	err = s.mutate(func(st *state) error {
		is := st.issueByIID(p.ID, c.pathInt("issue_iid"))
		if is == nil {
			return notFound("")
		}
		title, description := is.Title, is.Description
		if v, ok := c.param("title"); ok {
			title = v
		}
		if v, ok := c.param("description"); ok {
			description = v
		}
		if err := issueText(title, description); err != nil {
			return err
		}
		now := s.now()
		is.Title, is.Description, is.UpdatedAt = title, description, now
		if hasLabels {
			is.Labels = labels
		}
		switch {
		case event == "close" && is.State == "opened":
			is.State, is.ClosedAt, is.ClosedByID = "closed", timePtr(now), c.user.ID
		case event == "reopen" && is.State == "closed":
			is.State, is.ClosedAt, is.ClosedByID = "opened", nil, 0
		}
		out = s.issueObj(is)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, out)
}
