package hooks

import (
	"encoding/json"
	"fmt"
	"time"
)

// Note is a comment on a merge request.
type Note struct {
	ID           int
	Body         string
	Author       User
	MR           MergeRequest // the merge request commented on
	System       bool         // written by GitLab itself, e.g. "added 1 commit"
	Action       string       // create or update; "" means create
	DiscussionID string       // "" is sent as null
	CreatedAt    time.Time
	UpdatedAt    time.Time // zero means CreatedAt
	URL          string    // "" means the MR URL + "#note_<id>"
}

type noteAttrsJSON struct {
	ID               int     `json:"id"`
	Note             string  `json:"note"`
	NoteableType     string  `json:"noteable_type"`
	NoteableID       int     `json:"noteable_id"`
	AuthorID         int     `json:"author_id"`
	CreatedAt        *string `json:"created_at"`
	UpdatedAt        *string `json:"updated_at"`
	ProjectID        int     `json:"project_id"`
	Attachment       *string `json:"attachment"`
	LineCode         *string `json:"line_code"`
	CommitID         string  `json:"commit_id"`
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
	MergeRequest     noteMRJSON     `json:"merge_request"`
}

// NotePayload builds the body of a Note Hook for a merge request comment.
// project is the project the note belongs to: the MR's target project.
func NotePayload(project Project, n Note) ([]byte, error) {
	if n.ID == 0 {
		return nil, fmt.Errorf("note payload on !%d: note without ID", n.MR.IID)
	}
	action := n.Action
	if action == "" {
		action = "create"
	}
	updated := n.UpdatedAt
	if updated.IsZero() {
		updated = n.CreatedAt
	}
	url := n.URL
	if url == "" {
		url = fmt.Sprintf("%s#note_%d", n.MR.URL, n.ID)
	}
	var assignee *userJSON
	if len(n.MR.Assignees) > 0 {
		a := usersJSON(n.MR.Assignees[:1])[0]
		assignee = &a
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
			NoteableType: "MergeRequest",
			NoteableID:   n.MR.ID,
			AuthorID:     n.Author.ID,
			CreatedAt:    hookTime(n.CreatedAt),
			UpdatedAt:    hookTime(updated),
			ProjectID:    project.ID,
			DiscussionID: nullString(n.DiscussionID),
			System:       n.System,
			Description:  n.Body,
			Action:       action,
			URL:          url,
		},
		MergeRequest: noteMRJSON{mrAttrsJSON: n.MR.attrsJSON(), Assignee: assignee},
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("note payload on !%d: %w", n.MR.IID, err)
	}
	return out, nil
}
