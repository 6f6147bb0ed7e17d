// Package space holds Hoist's tree of spaces, the roles principals hold on
// them, and the access decision of SPEC §1 as pure functions.
//
// A space is a node in a tree rooted at "root". Role bindings attach a
// principal (a user or an API key) to a space with a role; the decision of
// what a principal may do anywhere in the tree is [Effective] (one space) or
// [Resolve] (every space at once).
package space

import (
	"context"
	"time"
)

// RootID is the id of the root space, which always exists and can be neither
// deleted, renamed nor moved.
const RootID = "root"

// Space is one node of the tree.
type Space struct {
	ID          string // slug of the name at creation; immutable, unique
	Name        string // unique across the whole tree (ids are slugs of names)
	ParentID    string // "" only for root
	Inherit     bool   // any role here also grants read on the parent (and up while parents inherit)
	Description string // markdown
	Labels      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// IsRoot reports whether s is the root space.
func (s Space) IsRoot() bool { return s.ID == RootID }

// Store persists spaces. Implementations return apperr NotFound for a missing
// space and apperr Conflict for a duplicate id or name, a missing parent, or
// deleting a space that still has child spaces, integrations or VCS agent
// pools.
type Store interface {
	// CreateSpace inserts s; s.ParentID must name an existing space.
	CreateSpace(ctx context.Context, s Space) error
	// GetSpace returns the space with the given id.
	GetSpace(ctx context.Context, id string) (Space, error)
	// ListSpaces returns every space, ordered by id. The tree is small and
	// the access decision needs all of it, so there is no paging.
	ListSpaces(ctx context.Context) ([]Space, error)
	// UpdateSpace replaces the mutable fields (name, parent, inherit,
	// description, labels, updated_at) of the space with s.ID. Cycle checks
	// belong to the caller, which holds the tree.
	UpdateSpace(ctx context.Context, s Space) error
	// DeleteSpace removes an empty space (no child spaces, integrations or
	// VCS agent pools) and the role bindings on it.
	DeleteSpace(ctx context.Context, id string) error
}
