// Package module models Hoist's modules (SPEC §3, §4.5): reusable OpenTofu
// modules kept in a GitLab repository like stacks, whose versions come from
// strict semver tags (or are created by hand from a commit), are never
// reused or republished, can be marked bad, and are served to OpenTofu
// through the module registry protocol (package registry). The business
// operations live in service.go and versions.go, tag pushes in tags.go.
package module

import (
	"context"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
)

// Module is one module as stored.
type Module struct {
	ID   string // slug of the name at creation; immutable; the registry name
	Name string // unique; immutable (the registry address derives from the id)
	// Provider is the registry address's third part (aws, google, null…):
	// lower-case letters and digits, as the registry protocol requires.
	Provider string
	SpaceID  string // the registry namespace
	// IntegrationID is the integration the module's repository is reached
	// through. When that integration was deleted the module is detached:
	// tags publish nothing and archives cannot be fetched.
	IntegrationID string
	Repository    string // namespace/project
	// ProjectID is the GitLab project's numeric id, resolved when the
	// repository is checked (0 when it could not be).
	ProjectID   int64
	Branch      string // the branch the module is developed on
	ProjectRoot string // normalised: no leading or trailing "/"; "" is the whole repository
	Labels      []string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreatedBy   string // principal
}

// State is the state of a version.
type State string

// The states of a version. A bad version stays recorded (its number is
// never reused) but is no longer offered by the registry.
const (
	Published State = "published"
	Bad       State = "bad"
)

// Version is one published version of a module.
type Version struct {
	ModuleID string
	Version  string // normalised semver without a leading v: 1.2.3, 1.2.3-rc.1
	SHA      string // the commit the version's code is taken from
	Tag      string // the Git tag that published it; "" when created by hand
	State    State
	Note     string // why it was marked bad
	// CreatedBy is the principal who created it by hand, or "gitlab:<user>"
	// for a tag push.
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Filter narrows a listing. With All false, only modules whose space is in
// Spaces are listed — the spaces the principal may read.
type Filter struct {
	All    bool
	Spaces []string
}

// Store persists modules and their versions. Writes that change a module
// take the audit entry describing them and store both in one transaction.
// Errors: a missing module or version → apperr NotFound; a duplicate module
// id or name, or a version that exists already → Conflict; a missing space
// → Invalid naming "space".
type Store interface {
	CreateModule(ctx context.Context, m Module, e audit.Entry) error
	GetModule(ctx context.Context, id string) (Module, error)
	// ListModules pages the modules matching f, ordered by id.
	ListModules(ctx context.Context, f Filter, cursor string, limit int) ([]Module, string, error)
	// DeleteModule removes the module with its versions.
	DeleteModule(ctx context.Context, id string, e audit.Entry) error
	// ListModulesByRepository returns every module using the integration
	// whose repository is the project projectID or, for modules whose
	// project id is unknown (0), whose path is path (case-insensitively).
	// Ordered by id.
	ListModulesByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]Module, error)

	// CreateVersion records a new version; one that exists (whatever its
	// state) is a Conflict, so versions are never reused.
	CreateVersion(ctx context.Context, v Version, e audit.Entry) error
	GetVersion(ctx context.Context, moduleID, version string) (Version, error)
	// ListVersions pages a module's versions, newest first.
	ListVersions(ctx context.Context, moduleID, cursor string, limit int) ([]Version, string, error)
	// MarkVersionBad sets the version's state to bad with the note.
	MarkVersionBad(ctx context.Context, moduleID, version, note string, at time.Time, e audit.Entry) error
}
