package hooks

import (
	"encoding/json"
	"fmt"
)

// maxPushCommits is how many commits GitLab lists in a push payload; the
// rest only count towards total_commits_count.
const maxPushCommits = 20

// Push describes one ref update: a branch or tag created, moved or deleted.
type Push struct {
	Project Project
	User    User   // who pushed
	Ref     string // full ref: refs/heads/x or refs/tags/x
	Before  string // "" or ZeroSHA when the ref is created
	After   string // "" or ZeroSHA when the ref is deleted
	// CheckoutSHA is the commit to check out; "" means After. For an
	// annotated tag, After is the tag object and CheckoutSHA its commit.
	// It is always null when the ref is deleted.
	CheckoutSHA string
	// Commits are all new commits of the push, oldest first. The payload
	// lists only the newest 20 but counts them all.
	Commits      []Commit
	Message      string // annotated tag message; "" is sent as null
	RefProtected bool
}

// Event is the X-Gitlab-Event value for the push: EventTagPush for tags,
// else EventPush.
func (p Push) Event() string {
	if isTagRef(p.Ref) {
		return EventTagPush
	}
	return EventPush
}

type pushJSON struct {
	ObjectKind        string           `json:"object_kind"`
	EventName         string           `json:"event_name"`
	Before            string           `json:"before"`
	After             string           `json:"after"`
	Ref               string           `json:"ref"`
	RefProtected      bool             `json:"ref_protected"`
	CheckoutSHA       *string          `json:"checkout_sha"`
	Message           *string          `json:"message"`
	UserID            int              `json:"user_id"`
	UserName          string           `json:"user_name"`
	UserUsername      string           `json:"user_username"`
	UserEmail         string           `json:"user_email"`
	UserAvatar        string           `json:"user_avatar"`
	ProjectID         int              `json:"project_id"`
	Project           projectJSON      `json:"project"`
	Commits           []pushCommitJSON `json:"commits"`
	TotalCommitsCount int              `json:"total_commits_count"`
	Repository        repositoryJSON   `json:"repository"`
}

// PushPayload builds the body of a Push Hook or Tag Push Hook (chosen by
// the ref's prefix) as GitLab sends it.
func PushPayload(p Push) ([]byte, error) {
	if p.Ref == "" {
		return nil, fmt.Errorf("push payload: empty ref")
	}
	kind := "push"
	if isTagRef(p.Ref) {
		kind = "tag_push"
	}
	before, after := zeroIfEmpty(p.Before), zeroIfEmpty(p.After)
	deleted := after == ZeroSHA

	var checkout *string
	commits := p.Commits
	if deleted {
		// A deleted ref has nothing to check out and no new commits.
		commits = nil
	} else if p.CheckoutSHA != "" {
		checkout = &p.CheckoutSHA
	} else {
		checkout = &after
	}

	listed := commits
	if len(listed) > maxPushCommits {
		// Current GitLab keeps the newest 20 (older docs said the first 20).
		listed = listed[len(listed)-maxPushCommits:]
	}
	commitsJSON := make([]pushCommitJSON, 0, len(listed))
	for _, c := range listed {
		commitsJSON = append(commitsJSON, c.pushCommitJSON())
	}

	body := pushJSON{
		ObjectKind:        kind,
		EventName:         kind,
		Before:            before,
		After:             after,
		Ref:               p.Ref,
		RefProtected:      p.RefProtected,
		CheckoutSHA:       checkout,
		Message:           nullString(p.Message),
		UserID:            p.User.ID,
		UserName:          p.User.Name,
		UserUsername:      p.User.Username,
		UserEmail:         p.User.email(),
		UserAvatar:        p.User.AvatarURL,
		ProjectID:         p.Project.ID,
		Project:           p.Project.toJSON(),
		Commits:           commitsJSON,
		TotalCommitsCount: len(commits),
		Repository:        p.Project.repositoryJSON(),
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("push payload for %s: %w", p.Ref, err)
	}
	return out, nil
}

func zeroIfEmpty(sha string) string {
	if sha == "" {
		return ZeroSHA
	}
	return sha
}
