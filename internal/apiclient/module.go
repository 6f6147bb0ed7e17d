package apiclient

import (
	"context"
	"iter"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
)

const modulesPath = "/api/v1/modules"

// CreateModule creates a module after the server has checked its
// repository and branch in GitLab.
func (c *Client) CreateModule(ctx context.Context, in api.CreateModule) (*api.Module, error) {
	var m api.Module
	if err := c.do(ctx, http.MethodPost, modulesPath, nil, in, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Modules yields the modules the caller may read, following next_cursor.
func (c *Client) Modules(ctx context.Context) iter.Seq2[api.Module, error] {
	return pages[api.Module](ctx, c, modulesPath, nil)
}

// ListModules returns every module the caller may read.
func (c *Client) ListModules(ctx context.Context) ([]api.Module, error) {
	return collect(c.Modules(ctx))
}

// GetModule returns one module.
func (c *Client) GetModule(ctx context.Context, id string) (*api.Module, error) {
	var m api.Module
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
func (c *Client) ListModuleVersions(ctx context.Context, id string) ([]api.ModuleVersion, error) {
	return collect(pages[api.ModuleVersion](ctx, c, modulesPath+"/"+esc(id)+"/versions", nil))
}

// CreateModuleVersion publishes a version by hand from a commit.
func (c *Client) CreateModuleVersion(ctx context.Context, id, version, sha string) (*api.ModuleVersion, error) {
	var v api.ModuleVersion
	in := api.CreateModuleVersion{Version: version, SHA: sha}
	if err := c.do(ctx, http.MethodPost, modulesPath+"/"+esc(id)+"/versions", nil, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// MarkModuleVersionBad marks a version bad with a note.
func (c *Client) MarkModuleVersionBad(ctx context.Context, id, version, note string) (*api.ModuleVersion, error) {
	var v api.ModuleVersion
	in := api.MarkModuleVersionBad{Note: note}
	if err := c.do(ctx, http.MethodPost, modulesPath+"/"+esc(id)+"/versions/"+esc(version)+"/mark-bad", nil, in, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
