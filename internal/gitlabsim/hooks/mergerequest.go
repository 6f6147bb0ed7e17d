package hooks

import (
	"encoding/json"
	"fmt"
	"time"
)

// MergeRequest is a merge request at the moment of an event, plus what
// the event did to it.
type MergeRequest struct {
	ID            int // global ID
	IID           int // per-project ID, used in REST paths
	Title         string
	Description   string
	State         string // opened, closed, merged or locked
	Action        string // open, close, reopen, update, merge, approved, unapproved, approval, unapproval
	SourceBranch  string
	TargetBranch  string
	SourceProject Project // differs from TargetProject for an MR from a fork
	TargetProject Project
	Author        User
	Assignees     []User
	Reviewers     []User
	LastCommit    Commit
	// OldRev is the previous head SHA. Set it only on an update that
	// changed the commits: GitLab omits the key otherwise, and receivers
	// use its presence to tell new code from a metadata edit.
	OldRev         string
	Draft          bool
	MergeCommitSHA string
	MergeUserID    int
	// MergeStatus and DetailedMergeStatus default to "can_be_merged" and
	// "mergeable" ("draft_status" for drafts, "not_open" when not open).
	MergeStatus         string
	DetailedMergeStatus string
	Labels              []Label
	// Changes maps an attribute name (title, draft, labels, state_id,
	// updated_at, ...) to its previous and current values. It may be
	// empty, even for an update.
	Changes           map[string]Change
	FirstContribution bool
	UpdatedByID       int
	LastEditedAt      time.Time
	LastEditedByID    int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	URL               string
}

// Change is one entry of a merge request payload's "changes". Values are
// rendered as GitLab renders them: time.Time as "2006-01-02 15:04:05 UTC",
// []Label as label objects, []User as user objects, anything else as
// encoding/json renders it.
type Change struct {
	Previous any
	Current  any
}

// MarshalJSON renders the change as {"previous": ..., "current": ...}.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Previous any `json:"previous"`
		Current  any `json:"current"`
	}{changeValue(c.Previous), changeValue(c.Current)})
}

func changeValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return hookTime(v)
	case []Label:
		return labelsJSON(v)
	case []User:
		return usersJSON(v)
	}
	return v
}

// stateID is GitLab's numeric state_id for a state name.
func stateID(state string) int {
	switch state {
	case "opened":
		return 1
	case "closed":
		return 2
	case "merged":
		return 3
	case "locked":
		return 4
	}
	return 0
}

type mergeParamsJSON struct {
	ForceRemoveSourceBranch bool `json:"force_remove_source_branch"`
}

// mrAttrsJSON is the merge request as GitLab's hook_attrs render it: the
// object_attributes of a Merge Request Hook and the merge_request block of
// a Note Hook.
type mrAttrsJSON struct {
	ID                          int             `json:"id"`
	IID                         int             `json:"iid"`
	TargetBranch                string          `json:"target_branch"`
	SourceBranch                string          `json:"source_branch"`
	SourceProjectID             int             `json:"source_project_id"`
	TargetProjectID             int             `json:"target_project_id"`
	AuthorID                    int             `json:"author_id"`
	AssigneeID                  *int            `json:"assignee_id"`
	AssigneeIDs                 []int           `json:"assignee_ids"`
	ReviewerIDs                 []int           `json:"reviewer_ids"`
	Title                       string          `json:"title"`
	Description                 string          `json:"description"`
	CreatedAt                   *string         `json:"created_at"`
	UpdatedAt                   *string         `json:"updated_at"`
	PreparedAt                  *string         `json:"prepared_at"`
	LastEditedAt                *string         `json:"last_edited_at"`
	LastEditedByID              *int            `json:"last_edited_by_id"`
	UpdatedByID                 *int            `json:"updated_by_id"`
	MilestoneID                 *int            `json:"milestone_id"`
	StateID                     int             `json:"state_id"`
	State                       string          `json:"state"`
	MergeStatus                 string          `json:"merge_status"`
	DetailedMergeStatus         string          `json:"detailed_merge_status"`
	MergeCommitSHA              *string         `json:"merge_commit_sha"`
	MergeError                  *string         `json:"merge_error"`
	MergeParams                 mergeParamsJSON `json:"merge_params"`
	MergeUserID                 *int            `json:"merge_user_id"`
	MergeWhenPipelineSucceeds   bool            `json:"merge_when_pipeline_succeeds"`
	HeadPipelineID              *int            `json:"head_pipeline_id"`
	BlockingDiscussionsResolved bool            `json:"blocking_discussions_resolved"`
	WorkInProgress              bool            `json:"work_in_progress"` // deprecated twin of draft
	Draft                       bool            `json:"draft"`
	FirstContribution           bool            `json:"first_contribution"`
	TimeEstimate                int             `json:"time_estimate"`
	TotalTimeSpent              int             `json:"total_time_spent"`
	TimeChange                  int             `json:"time_change"`
	HumanTotalTimeSpent         *string         `json:"human_total_time_spent"`
	HumanTimeChange             *string         `json:"human_time_change"`
	HumanTimeEstimate           *string         `json:"human_time_estimate"`
	URL                         string          `json:"url"`
	Source                      projectJSON     `json:"source"`
	Target                      projectJSON     `json:"target"`
	LastCommit                  commitJSON      `json:"last_commit"`
	Labels                      []labelJSON     `json:"labels"`
}

func (mr MergeRequest) attrsJSON() mrAttrsJSON {
	var assigneeID *int
	if len(mr.Assignees) > 0 {
		assigneeID = &mr.Assignees[0].ID
	}
	return mrAttrsJSON{
		ID:                          mr.ID,
		IID:                         mr.IID,
		TargetBranch:                mr.TargetBranch,
		SourceBranch:                mr.SourceBranch,
		SourceProjectID:             mr.SourceProject.ID,
		TargetProjectID:             mr.TargetProject.ID,
		AuthorID:                    mr.Author.ID,
		AssigneeID:                  assigneeID,
		AssigneeIDs:                 userIDs(mr.Assignees),
		ReviewerIDs:                 userIDs(mr.Reviewers),
		Title:                       mr.Title,
		Description:                 mr.Description,
		CreatedAt:                   hookTime(mr.CreatedAt),
		UpdatedAt:                   hookTime(mr.UpdatedAt),
		PreparedAt:                  hookTime(mr.CreatedAt),
		LastEditedAt:                hookTime(mr.LastEditedAt),
		LastEditedByID:              nullInt(mr.LastEditedByID),
		UpdatedByID:                 nullInt(mr.UpdatedByID),
		StateID:                     stateID(mr.State),
		State:                       mr.State,
		MergeStatus:                 mr.mergeStatus(),
		DetailedMergeStatus:         mr.detailedMergeStatus(),
		MergeCommitSHA:              nullString(mr.MergeCommitSHA),
		MergeUserID:                 nullInt(mr.MergeUserID),
		BlockingDiscussionsResolved: true,
		WorkInProgress:              mr.Draft,
		Draft:                       mr.Draft,
		FirstContribution:           mr.FirstContribution,
		URL:                         mr.URL,
		Source:                      mr.SourceProject.toJSON(),
		Target:                      mr.TargetProject.toJSON(),
		LastCommit:                  mr.LastCommit.lastCommitJSON(),
		Labels:                      labelsJSON(mr.Labels),
	}
}

func (mr MergeRequest) mergeStatus() string {
	if mr.MergeStatus != "" {
		return mr.MergeStatus
	}
	return "can_be_merged"
}

func (mr MergeRequest) detailedMergeStatus() string {
	switch {
	case mr.DetailedMergeStatus != "":
		return mr.DetailedMergeStatus
	case mr.State != "" && mr.State != "opened":
		return "not_open"
	case mr.Draft:
		return "draft_status"
	}
	return "mergeable"
}

// mrObjectAttributesJSON adds the event-only fields to the MR attributes.
type mrObjectAttributesJSON struct {
	mrAttrsJSON
	Action       string  `json:"action"`
	OldRev       string  `json:"oldrev,omitempty"`
	System       bool    `json:"system"`
	SystemAction *string `json:"system_action"`
}

type mergeRequestJSON struct {
	ObjectKind       string                 `json:"object_kind"`
	EventType        string                 `json:"event_type"`
	User             userJSON               `json:"user"`
	Project          projectJSON            `json:"project"`
	Repository       repositoryJSON         `json:"repository"`
	ObjectAttributes mrObjectAttributesJSON `json:"object_attributes"`
	Labels           []labelJSON            `json:"labels"`
	Changes          map[string]Change      `json:"changes"`
	Assignees        []userJSON             `json:"assignees"`
	Reviewers        []userJSON             `json:"reviewers"`
}

// MergeRequestPayload builds the body of a Merge Request Hook: user is who
// acted, mr the merge request after the action. The project is the target
// project, as in GitLab.
func MergeRequestPayload(user User, mr MergeRequest) ([]byte, error) {
	if mr.Action == "" {
		return nil, fmt.Errorf("merge request payload for !%d: empty action", mr.IID)
	}
	changes := mr.Changes
	if changes == nil {
		changes = map[string]Change{}
	}
	body := mergeRequestJSON{
		ObjectKind: "merge_request",
		EventType:  "merge_request",
		User:       user.toJSON(),
		Project:    mr.TargetProject.toJSON(),
		Repository: mr.TargetProject.repositoryJSON(),
		ObjectAttributes: mrObjectAttributesJSON{
			mrAttrsJSON: mr.attrsJSON(),
			Action:      mr.Action,
			OldRev:      mr.OldRev,
		},
		Labels:    labelsJSON(mr.Labels),
		Changes:   changes,
		Assignees: usersJSON(mr.Assignees),
		Reviewers: usersJSON(mr.Reviewers),
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("merge request payload for !%d: %w", mr.IID, err)
	}
	return out, nil
}
