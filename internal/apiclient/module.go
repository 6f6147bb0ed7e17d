package apiclient

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Module is a module as the API returns it.
type Module struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Provider    string    `json:"provider"`
	Space       string    `json:"space"`
	Integration string    `json:"integration"`
	Repository  string    `json:"repository"`
	Branch      string    `json:"branch"`
	ProjectRoot string    `json:"project_root"`
	Labels      []string  `json:"labels,omitempty"`
	Description string    `json:"description,omitempty"`
	Source      string    `json:"source"` // registry address without host: space/name/provider
	Detached    bool      `json:"detached"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
	Warnings    []string  `json:"warnings,omitempty"`
}

// CreateModule is the body of POST /api/v1/modules.
type CreateModule struct {
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	Space       string   `json:"space,omitempty"`
	Integration string   `json:"integration,omitempty"`
	Repository  string   `json:"repository"`
	Branch      string   `json:"branch"`
	ProjectRoot string   `json:"project_root,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Description string   `json:"description,omitempty"`
}

// ModuleVersion is one version of a module.
type ModuleVersion struct {
	Module    string    `json:"module"`
	Version   string    `json:"version"`
	SHA       string    `json:"sha"`
	Tag       string    `json:"tag,omitempty"`
	State     string    `json:"state"` // published or bad
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

const modulesPath = "/api/v1/modules"

// CreateModule creates a module after the server has checked its
// repository and branch in GitLab.
func (c *Client) CreateModule(ctx context.Context, in CreateModule) (*Module, error) {
	var m Module
	if err := c.do(ctx, http.MethodPost, modulesPath, nil, in, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Modules yields the modules the caller may read, following next_cursor.
func (c *Client) Modules(ctx context.Context) iter.Seq2[Module, error] {
	return pages[Module](ctx, c, modulesPath, nil)
}

// ListModules returns every module the caller may read.
func (c *Client) ListModules(ctx context.Context) ([]Module, error) { return collect(c.Modules(ctx)) }

// GetModule returns one module.
func (c *Client) GetModule(ctx context.Context, id string) (*Module, error) {
	var m Module
	if err := c.do(ctx, http.MethodGet, modulesPath+"/"+esc(id), nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteModule deletes a module and its versions.
func (c *Client) DeleteModule(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, modulesPath+"/"+esc(id), nil, nil, nil)
}

// ListModuleVersions returns every version of a module, newest first.
func (c *Client) ListModuleVersions(ctx context.Context, id string) ([]ModuleVersion, error) {
	return collect(pages[ModuleVersion](ctx, c, modulesPath+"/"+esc(id)+"/versions", nil))
}

// CreateModuleVersion publishes a version by hand from a commit.
func (c *Client) CreateModuleVersion(ctx context.Context, id, version, sha string) (*ModuleVersion, error) {
	var v ModuleVersion
	in := map[string]string{"version": version, "sha": sha}
	if err := c.do(ctx, http.MethodPost, modulesPath+"/"+esc(id)+"/versions", nil, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// MarkModuleVersionBad marks a version bad with a note.
func (c *Client) MarkModuleVersionBad(ctx context.Context, id, version, note string) (*ModuleVersion, error) {
	var v ModuleVersion
	in := map[string]string{"note": note}
	if err := c.do(ctx, http.MethodPost, modulesPath+"/"+esc(id)+"/versions/"+esc(version)+"/mark-bad", nil, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
