package gitlabsim

// Read accessors for tests that assert what a client wrote to GitLab
// without going through the REST API. All return copies, oldest first.

import (
	"fmt"
	"slices"
)

// CommitStatuses lists every status posted on sha in the project,
// including replaced ones (Retried).
func (s *Server) CommitStatuses(project, sha string) ([]CommitStatus, error) {
	return collect(s, project, func(st *state, p *Project) []CommitStatus {
		var out []CommitStatus
		for _, x := range st.Statuses {
			if x.ProjectID == p.ID && x.SHA == sha {
				out = append(out, *x)
			}
		}
		return out
	})
}

// Notes lists the notes of a merge request.
func (s *Server) Notes(project string, iid int) ([]Note, error) {
	return collect(s, project, func(st *state, p *Project) []Note {
		var out []Note
		for _, n := range st.Notes {
			if n.ProjectID == p.ID && n.MRIID == iid {
				out = append(out, *n)
			}
		}
		return out
	})
}

// Environments lists a project's environments.
func (s *Server) Environments(project string) ([]Environment, error) {
	return collect(s, project, func(st *state, p *Project) []Environment {
		var out []Environment
		for _, e := range st.Environments {
			if e.ProjectID == p.ID {
				out = append(out, *e)
			}
		}
		return out
	})
}

// Deployments lists a project's deployments.
func (s *Server) Deployments(project string) ([]Deployment, error) {
	return collect(s, project, func(st *state, p *Project) []Deployment {
		var out []Deployment
		for _, d := range st.Deployments {
			if d.ProjectID == p.ID {
				out = append(out, *d)
			}
		}
		return out
	})
}

// Issues lists a project's issues, oldest first.
func (s *Server) Issues(project string) ([]Issue, error) {
	return collect(s, project, func(st *state, p *Project) []Issue {
		var out []Issue
		for _, is := range st.Issues {
			if is.ProjectID == p.ID {
				c := *is
				c.Labels = slices.Clone(is.Labels)
				out = append(out, c)
			}
		}
		return out
	})
}

// MergeRequests lists a project's merge requests (as target).
func (s *Server) MergeRequests(project string) ([]MergeRequest, error) {
	return collect(s, project, func(st *state, p *Project) []MergeRequest {
		var out []MergeRequest
		for _, m := range st.MergeRequests {
			if m.ProjectID == p.ID {
				out = append(out, *m)
			}
		}
		return out
	})
}

func collect[T any](s *Server, project string, fn func(*state, *Project) []T) ([]T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(project)
	if err != nil {
		return nil, err
	}
	return fn(s.st, p), nil
}

// OAuthAppByName is the first OAuth application called name.
func (s *Server) OAuthAppByName(name string) (OAuthApp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.st.OAuthApps {
		if a.Name == name {
			out := *a
			out.RedirectURIs = slices.Clone(a.RedirectURIs)
			out.Scopes = slices.Clone(a.Scopes)
			return out, nil
		}
	}
	return OAuthApp{}, fmt.Errorf("OAuth application %q: %w", name, ErrNotFound)
}
