package gitlabsim

import (
	"context"
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// maxNoteBody is GitLab's limit on a note's length.
const maxNoteBody = 1_000_000

// noteBodyProblem is GitLab's validation message for a note body, "" when
// it is valid.
func noteBodyProblem(body string) string {
	switch {
	case strings.TrimSpace(body) == "":
		return "can't be blank"
	case len(body) > maxNoteBody:
		return "is too long (maximum is 1000000 characters)"
	}
	return ""
}

// CommentMergeRequest adds a note to a merge request as userID (0 means
// root) and fires the Note Hook, as POST .../merge_requests/:iid/notes does.
func (s *Server) CommentMergeRequest(ctx context.Context, project string, iid, userID int, body string) (Note, error) {
	p, err := s.Project(project)
	if err != nil {
		return Note{}, err
	}
	m, err := s.MergeRequest(project, iid)
	if err != nil {
		return Note{}, err
	}
	author, err := s.actor(userID)
	if err != nil {
		return Note{}, err
	}
	return s.addMRNote(ctx, p, m, author, body, false)
}

// addMRNote stores a merge request note and fires its Note Hook.
func (s *Server) addMRNote(ctx context.Context, p Project, m MergeRequest, author User, body string, internal bool) (Note, error) {
	n, err := s.addNote(Note{ProjectID: p.ID, MRIID: m.IID, Body: body, AuthorID: author.ID, Internal: internal})
	if err != nil {
		return Note{}, err
	}
	s.fireNote(ctx, p, n, "create")
	return n, nil
}

// CommentCommit adds a note to a commit (any ref or SHA of the project)
// and fires the Note Hook with noteable_type Commit.
func (s *Server) CommentCommit(ctx context.Context, project, ref string, userID int, body string) (Note, error) {
	p, err := s.Project(project)
	if err != nil {
		return Note{}, err
	}
	author, err := s.actor(userID)
	if err != nil {
		return Note{}, err
	}
	sha, err := s.ResolveRef(ctx, project, ref)
	if err != nil {
		return Note{}, err
	}
	n, err := s.addNote(Note{ProjectID: p.ID, CommitSHA: sha, Body: body, AuthorID: author.ID})
	if err != nil {
		return Note{}, err
	}
	s.fireNote(ctx, p, n, "create")
	return n, nil
}

// IssueOptions opens an issue.
type IssueOptions struct {
	Project     string `json:"project"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	UserID      int    `json:"user_id,omitempty"` // author; 0 means root
}

// CreateIssue opens an issue, for tests to comment on one. There is no
// Issue Hook; the REST API is in rest_issues.go.
func (s *Server) CreateIssue(ctx context.Context, o IssueOptions) (Issue, error) {
	if strings.TrimSpace(o.Title) == "" {
		return Issue{}, fmt.Errorf("issue title: %w", ErrInvalid)
	}
	author, err := s.actor(o.UserID)
	if err != nil {
		return Issue{}, err
	}
	var is Issue
	err = s.mutate(func(st *state) error {
		p, err := st.projectByRef(o.Project)
		if err != nil {
			return err
		}
		now := s.now()
		is = Issue{ID: st.nextID("issue"), IID: st.nextID(fmt.Sprintf("issue_iid/%d", p.ID)), ProjectID: p.ID,
			Title: o.Title, Description: o.Description, State: "opened", AuthorID: author.ID, CreatedAt: now, UpdatedAt: now}
		st.Issues = append(st.Issues, &is)
		return nil
	})
	return is, err
}

// CommentIssue adds a note to an issue and fires the Note Hook with
// noteable_type Issue.
func (s *Server) CommentIssue(ctx context.Context, project string, iid, userID int, body string) (Note, error) {
	p, err := s.Project(project)
	if err != nil {
		return Note{}, err
	}
	author, err := s.actor(userID)
	if err != nil {
		return Note{}, err
	}
	if _, err := s.issue(p.ID, iid); err != nil {
		return Note{}, err
	}
	n, err := s.addNote(Note{ProjectID: p.ID, IssueIID: iid, Body: body, AuthorID: author.ID})
	if err != nil {
		return Note{}, err
	}
	s.fireNote(ctx, p, n, "create")
	return n, nil
}

func (s *Server) issue(projectID, iid int) (Issue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.st.Issues {
		if is.ProjectID == projectID && is.IID == iid {
			return *is, nil
		}
	}
	return Issue{}, fmt.Errorf("issue #%d: %w", iid, ErrNotFound)
}

// addNote validates the body and stores n with a new ID and timestamps.
func (s *Server) addNote(n Note) (Note, error) {
	if problem := noteBodyProblem(n.Body); problem != "" {
		return Note{}, fmt.Errorf("note %s: %w", problem, ErrInvalid)
	}
	err := s.mutate(func(st *state) error {
		now := s.now()
		n.ID, n.CreatedAt, n.UpdatedAt = st.nextID("note"), now, now
		st.Notes = append(st.Notes, &n)
		return nil
	})
	return n, err
}

// fireNote sends the Note Hook of a note. A failure to build it is
// logged, not returned: the note exists, as in GitLab, where hooks run
// after the note is saved.
func (s *Server) fireNote(ctx context.Context, p Project, n Note, action string) {
	author, err := s.User(n.AuthorID)
	if err != nil {
		s.log.Warn("note hook: author", "note_id", n.ID, "error", err)
		return
	}
	hn := hooks.Note{ID: n.ID, Body: n.Body, Author: hookUser(author), NoteableType: n.NoteableType(),
		System: n.System, Action: action, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
	switch {
	case n.CommitSHA != "":
		repo, err := s.repo(p)
		if err == nil {
			c, cerr := repo.GetCommit(ctx, n.CommitSHA)
			hn.Commit, err = s.hookCommit(p, c), cerr
		}
		if err != nil {
			s.log.Warn("note hook: commit", "note_id", n.ID, "error", err)
			return
		}
	case n.IssueIID != 0:
		is, err := s.issue(p.ID, n.IssueIID)
		if err != nil {
			s.log.Warn("note hook: issue", "note_id", n.ID, "error", err)
			return
		}
		hn.Issue = hooks.Issue{ID: is.ID, IID: is.IID, Title: is.Title, Description: is.Description, State: is.State,
			AuthorID: is.AuthorID, CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt,
			URL: fmt.Sprintf("%s/-/issues/%d", s.webURL(p), is.IID)}
	default:
		m, err := s.MergeRequest(fmt.Sprint(p.ID), n.MRIID)
		if err == nil {
			hn.MR, err = s.hookMR(ctx, m)
		}
		if err != nil {
			s.log.Warn("note hook: merge request", "note_id", n.ID, "error", err)
			return
		}
	}
	body, err := hooks.NotePayload(s.hookProject(p), hn)
	if err != nil {
		s.log.Warn("note hook payload", "note_id", n.ID, "error", err)
		return
	}
	s.fire(p.ID, hooks.EventNote, "", body)
}
