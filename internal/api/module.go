package api

import "time"

// Module is a module of the registry.
type Module struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	Space       string   `json:"space"`
	Integration string   `json:"integration"`
	Repository  string   `json:"repository"`
	Branch      string   `json:"branch"`
	ProjectRoot string   `json:"project_root"`
	Labels      []string `json:"labels"`
	Description string   `json:"description"`
	// registry address without the host: <space>/<id>/<provider>
	Source string `json:"source"`
	// its integration was deleted
	Detached  bool      `json:"detached"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Warnings  []string  `json:"warnings,omitempty"`
}

// CreateModule is the body of POST /api/v1/modules.
type CreateModule struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// default root
	Space string `json:"space,omitempty"`
	// default: the default GitLab integration
	Integration string `json:"integration,omitempty"`
	// namespace/project
	Repository  string   `json:"repository"`
	Branch      string   `json:"branch"`
	ProjectRoot string   `json:"project_root,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Description string   `json:"description,omitempty"`
}

// ModuleVersion is one version of a module.
type ModuleVersion struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	SHA     string `json:"sha"`
	// the tag that published it; empty when created by hand
	Tag       string    `json:"tag"`
	State     string    `json:"state" enum:"published,bad"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateModuleVersion is the body of POST /api/v1/modules/{id}/versions: a
// version published by hand from a commit.
type CreateModuleVersion struct {
	Version string `json:"version"`
	SHA     string `json:"sha"`
}

// MarkModuleVersionBad is the body of POST
// /api/v1/modules/{id}/versions/{version}/mark-bad.
type MarkModuleVersionBad struct {
	Note string `json:"note"`
}
