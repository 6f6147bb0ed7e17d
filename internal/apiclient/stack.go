package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Stack is a stack as the API returns it (SPEC §3). Integration is nil while
// the stack is detached (its integration was deleted).
type Stack struct {
	ID                     string         `json:"id"`
	Name                   string         `json:"name"`
	Space                  string         `json:"space"`
	Integration            *string        `json:"integration"`
	Detached               bool           `json:"detached"`
	DetachedReason         string         `json:"detached_reason,omitempty"`
	Repository             string         `json:"repository"`
	ProjectID              int64          `json:"project_id,omitempty"`
	Branch                 string         `json:"branch"`
	ProjectRoot            string         `json:"project_root"`
	AdditionalProjectGlobs []string       `json:"additional_project_globs,omitempty"`
	Labels                 []string       `json:"labels,omitempty"`
	Autodeploy             bool           `json:"autodeploy"`
	Description            string         `json:"description,omitempty"`
	Tool                   string         `json:"tool"`
	ToolVersion            string         `json:"tool_version,omitempty"`
	WorkerPool             string         `json:"worker_pool"`
	AllowForkMRs           bool           `json:"allow_fork_mrs"`
	GitCheckout            bool           `json:"git_checkout"`
	TrackedCommit          *TrackedCommit `json:"tracked_commit"`
	CreatedAt              time.Time      `json:"created_at,omitzero"`
	UpdatedAt              time.Time      `json:"updated_at,omitzero"`
	Warnings               []string       `json:"warnings,omitempty"`
}

// TrackedCommit is the commit a stack's tracked branch was last seen at.
type TrackedCommit struct {
	SHA     string    `json:"sha"`
	Branch  string    `json:"branch"`
	MovedAt time.Time `json:"moved_at"`
}

// CreateStack is the body of POST /api/v1/stacks. An empty Integration
// means the default GitLab integration.
type CreateStack struct {
	Name                   string   `json:"name"`
	Space                  string   `json:"space"`
	Integration            string   `json:"integration,omitempty"`
	Repository             string   `json:"repository"`
	Branch                 string   `json:"branch"`
	ProjectRoot            string   `json:"project_root,omitempty"`
	AdditionalProjectGlobs []string `json:"additional_project_globs,omitempty"`
	Labels                 []string `json:"labels,omitempty"`
	Autodeploy             bool     `json:"autodeploy,omitempty"`
	Description            string   `json:"description,omitempty"`
	Tool                   string   `json:"tool,omitempty"`
	ToolVersion            string   `json:"tool_version,omitempty"`
	WorkerPool             string   `json:"worker_pool,omitempty"`
	AllowForkMRs           bool     `json:"allow_fork_mrs,omitempty"`
	GitCheckout            bool     `json:"git_checkout,omitempty"`
}

// UpdateStack is the body of PATCH /api/v1/stacks/{id}: nil fields are left
// unchanged. Setting Integration on a detached stack re-attaches it.
type UpdateStack struct {
	Name                   *string   `json:"name,omitempty"`
	Space                  *string   `json:"space,omitempty"`
	Integration            *string   `json:"integration,omitempty"`
	Repository             *string   `json:"repository,omitempty"`
	Branch                 *string   `json:"branch,omitempty"`
	ProjectRoot            *string   `json:"project_root,omitempty"`
	AdditionalProjectGlobs *[]string `json:"additional_project_globs,omitempty"`
	Labels                 *[]string `json:"labels,omitempty"`
	Autodeploy             *bool     `json:"autodeploy,omitempty"`
	Description            *string   `json:"description,omitempty"`
	Tool                   *string   `json:"tool,omitempty"`
	ToolVersion            *string   `json:"tool_version,omitempty"`
	WorkerPool             *string   `json:"worker_pool,omitempty"`
	AllowForkMRs           *bool     `json:"allow_fork_mrs,omitempty"`
	GitCheckout            *bool     `json:"git_checkout,omitempty"`
}

const stacksPath = "/api/v1/stacks"

// CreateStack creates a stack after the server has checked the repository
// and branch in GitLab.
func (c *Client) CreateStack(ctx context.Context, in CreateStack) (*Stack, error) {
	var st Stack
	if err := c.do(ctx, http.MethodPost, stacksPath, nil, in, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Stacks yields the stacks the caller may read (of one space when space is
// not empty), following next_cursor.
func (c *Client) Stacks(ctx context.Context, space string) iter.Seq2[Stack, error] {
	var q url.Values
	if space != "" {
		q = url.Values{"space": {space}}
	}
	return pages[Stack](ctx, c, stacksPath, q)
}

// ListStacks returns every stack the caller may read (of one space when
// space is not empty).
func (c *Client) ListStacks(ctx context.Context, space string) ([]Stack, error) {
	return collect(c.Stacks(ctx, space))
}

// GetStack returns one stack.
func (c *Client) GetStack(ctx context.Context, id string) (*Stack, error) {
	var st Stack
	if err := c.do(ctx, http.MethodGet, stacksPath+"/"+esc(id), nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// UpdateStack changes the given fields and returns the stack.
func (c *Client) UpdateStack(ctx context.Context, id string, in UpdateStack) (*Stack, error) {
	var st Stack
	if err := c.do(ctx, http.MethodPatch, stacksPath+"/"+esc(id), nil, in, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteStack deletes a stack.
func (c *Client) DeleteStack(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, stacksPath+"/"+esc(id), nil, nil, nil)
}
