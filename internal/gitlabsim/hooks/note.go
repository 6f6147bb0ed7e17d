package hooks

import (
	"encoding/json"
	"fmt"
	"time"
)

// The noteable types of a Note Hook the simulator sends.
const (
	NoteableMergeRequest = "MergeRequest"
	NoteableCommit       = "Commit"
	NoteableIssue        = "Issue"
)

// Note is a comment on a merge request, a commit or an issue.
type Note struct {
	ID     int
	Body   string
	Author User
	// NoteableType says what was commented on; "" means
	// NoteableMergeRequest. Exactly the matching one of MR, Commit and
	// Issue describes it.
	NoteableType string
	MR           MergeRequest // the merge request commented on
	Commit       Commit       // the commit commented on
	Issue        Issue        // the issue commented on
	System       bool         // written by GitLab itself, e.g. "added 1 commit"
	Action       string       // create or update; "" means create
	DiscussionID string       // "" is sent as null
	CreatedAt    time.Time
	UpdatedAt    time.Time // zero means CreatedAt
	URL          string    // "" means the MR, commit or issue URL + "#note_<id>"
}

// Issue is the issue a note comments on.
type Issue struct {
	ID          int // global ID
	IID         int // per-project ID
	Title       string
	Description string
	State       string // opened or closed
	AuthorID    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	URL         string
}

type issueJSON struct {
	ID          int         `json:"id"`
	IID         int         `json:"iid"`
	ProjectID   int         `json:"project_id"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	State       string      `json:"state"`
	AuthorID    int         `json:"author_id"`
	AssigneeIDs []int       `json:"assignee_ids"`
	AssigneeID  *int        `json:"assignee_id"`
	MilestoneID *int        `json:"milestone_id"`
	Position    int         `json:"position"`
	BranchName  *string     `json:"branch_name"`
	Labels      []labelJSON `json:"labels"`
	CreatedAt   *string     `json:"created_at"`
	UpdatedAt   *string     `json:"updated_at"`
	URL         string      `json:"url"`
}

type noteAttrsJSON struct {
	ID               int     `json:"id"`
	Note             string  `json:"note"`
	NoteableType     string  `json:"noteable_type"`
	NoteableID       *int    `json:"noteable_id"`
	AuthorID         int     `json:"author_id"`
	CreatedAt        *string `json:"created_at"`
	UpdatedAt        *string `json:"updated_at"`
	ProjectID        int     `json:"project_id"`
	Attachment       *string `json:"attachment"`
	LineCode         *string `json:"line_code"`
	CommitID         *string `json:"commit_id"`
	DiscussionID     *string `json:"discussion_id"`
	System           bool    `json:"system"`
	Internal         bool    `json:"internal"`
	Type             *string `json:"type"`
	Position         *string `json:"position"`
	OriginalPosition *string `json:"original_position"`
	ChangePosition   *string `json:"change_position"`
	StDiff           *string `json:"st_diff"`
	ResolvedAt       *string `json:"resolved_at"`
	ResolvedByID     *int    `json:"resolved_by_id"`
	ResolvedByPush   *bool   `json:"resolved_by_push"`
	UpdatedByID      *int    `json:"updated_by_id"`
	Description      string  `json:"description"`
	Action           string  `json:"action"`
	URL              string  `json:"url"`
}

// noteMRJSON is the merge_request block of a Note Hook: the MR's hook
// attributes plus the legacy single assignee.
type noteMRJSON struct {
	mrAttrsJSON
	Position int       `json:"position"`
	Assignee *userJSON `json:"assignee"`
}

type noteJSON struct {
	ObjectKind       string         `json:"object_kind"`
	EventType        string         `json:"event_type"`
	User             userJSON       `json:"user"`
	ProjectID        int            `json:"project_id"`
	Project          projectJSON    `json:"project"`
	Repository       repositoryJSON `json:"repository"`
	ObjectAttributes noteAttrsJSON  `json:"object_attributes"`
	// Exactly one of these is sent, as GitLab sends only the block of
	// what was commented on.
	MergeRequest *noteMRJSON `json:"merge_request,omitempty"`
	Commit       *commitJSON `json:"commit,omitempty"`
	Issue        *issueJSON  `json:"issue,omitempty"`
}

// NotePayload builds the body of a Note Hook. project is the project the
// note belongs to: for a merge request, its target project.
func NotePayload(project Project, n Note) ([]byte, error) {
	if n.ID == 0 {
		return nil, fmt.Errorf("note payload on %s: note without ID", n.noteable())
	}
	action := n.Action
	if action == "" {
		action = "create"
	}
	updated := n.UpdatedAt
	if updated.IsZero() {
		updated = n.CreatedAt
	}
	body := noteJSON{
		ObjectKind: "note",
		EventType:  "note",
		User:       n.Author.toJSON(),
		ProjectID:  project.ID,
		Project:    project.toJSON(),
		Repository: project.repositoryJSON(),
		ObjectAttributes: noteAttrsJSON{
			ID:           n.ID,
			Note:         n.Body,
			NoteableType: NoteableMergeRequest,
			AuthorID:     n.Author.ID,
			CreatedAt:    hookTime(n.CreatedAt),
			UpdatedAt:    hookTime(updated),
			ProjectID:    project.ID,
			DiscussionID: nullString(n.DiscussionID),
			System:       n.System,
			Description:  n.Body,
			Action:       action,
		},
	}
	a := &body.ObjectAttributes
	var pageURL string
	switch n.NoteableType {
	case "", NoteableMergeRequest:
		var assignee *userJSON
		if len(n.MR.Assignees) > 0 {
			u := usersJSON(n.MR.Assignees[:1])[0]
			assignee = &u
		}
		a.NoteableID, pageURL = nullInt(n.MR.ID), n.MR.URL
		body.MergeRequest = &noteMRJSON{mrAttrsJSON: n.MR.attrsJSON(), Assignee: assignee}
	case NoteableCommit:
		// A commit note names its commit in commit_id; noteable_id is null.
		a.NoteableType, a.CommitID, pageURL = NoteableCommit, &n.Commit.ID, n.Commit.URL
		c := n.Commit.lastCommitJSON()
		body.Commit = &c
	case NoteableIssue:
		a.NoteableType, a.NoteableID, pageURL = NoteableIssue, nullInt(n.Issue.ID), n.Issue.URL
		body.Issue = &issueJSON{ID: n.Issue.ID, IID: n.Issue.IID, ProjectID: project.ID, Title: n.Issue.Title,
			Description: n.Issue.Description, State: n.Issue.State, AuthorID: n.Issue.AuthorID, AssigneeIDs: []int{},
			Labels: []labelJSON{}, CreatedAt: hookTime(n.Issue.CreatedAt), UpdatedAt: hookTime(n.Issue.UpdatedAt), URL: n.Issue.URL}
	default:
		return nil, fmt.Errorf("note payload: noteable type %q is not sent by the simulator", n.NoteableType)
	}
	a.URL = n.URL
	if a.URL == "" {
		a.URL = fmt.Sprintf("%s#note_%d", pageURL, n.ID)
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("note payload on %s: %w", n.noteable(), err)
	}
	return out, nil
}

// noteable names what the note is on, for errors.
func (n Note) noteable() string {
	switch n.NoteableType {
	case NoteableCommit:
		return "commit " + n.Commit.ID
	case NoteableIssue:
		return fmt.Sprintf("issue #%d", n.Issue.IID)
	}
	return fmt.Sprintf("!%d", n.MR.IID)
}
