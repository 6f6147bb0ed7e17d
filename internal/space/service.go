package space

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/slug"
)

// BindingStore is what the Service needs from the identity store: the role
// bindings of one principal, and the ceiling that bounds them (a personal
// API key's; the zero Ceiling for everyone else).
type BindingStore interface {
	Bindings(ctx context.Context, principal string) ([]Binding, error)
	Ceiling(ctx context.Context, principal string) (Ceiling, error)
}

// Service is the business operations on spaces, with SPEC §1's access rules:
// spaces are created under a parent the caller administers, changed by
// admins of the space, and deleted (only when empty) by admins of the parent.
type Service struct {
	store    Store
	bindings BindingStore
	now      func() time.Time
}

// NewService returns a Service; now defaults to time.Now.
func NewService(store Store, bindings BindingStore, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, bindings: bindings, now: now}
}

// Access resolves principal's roles over the whole current tree.
func (s *Service) Access(ctx context.Context, principal string) (Access, Tree, error) {
	spaces, err := s.store.ListSpaces(ctx)
	if err != nil {
		return Access{}, Tree{}, fmt.Errorf("list spaces: %w", err)
	}
	bs, err := s.bindings.Bindings(ctx, principal)
	if err != nil {
		return Access{}, Tree{}, fmt.Errorf("bindings of %s: %w", principal, err)
	}
	c, err := s.bindings.Ceiling(ctx, principal)
	if err != nil {
		return Access{}, Tree{}, fmt.Errorf("ceiling of %s: %w", principal, err)
	}
	tree := NewTree(spaces)
	return c.Limit(tree, Resolve(tree, bs)), tree, nil
}

// CreateInput is a new space as a caller asks for it.
type CreateInput struct {
	Name        string
	Parent      string // "" means root
	Inherit     *bool  // nil means true
	Description string
	Labels      []string
}

// Create makes a space under a parent the caller administers.
func (s *Service) Create(ctx context.Context, principal string, in CreateInput) (Space, error) {
	sp := Space{Name: in.Name, ParentID: strings.TrimSpace(in.Parent), Inherit: in.Inherit == nil || *in.Inherit,
		Description: in.Description, Labels: in.Labels}
	if err := Validate(&sp); err != nil {
		return Space{}, err
	}
	if sp.ParentID == "" {
		sp.ParentID = RootID
	}
	access, tree, err := s.Access(ctx, principal)
	if err != nil {
		return Space{}, err
	}
	if _, ok := tree.Get(sp.ParentID); !ok || access.Role(sp.ParentID) == None {
		return Space{}, apperr.InvalidField("parent", "no space %q", sp.ParentID)
	}
	if !access.Has(sp.ParentID, Admin) {
		return Space{}, apperr.Errorf(apperr.Forbidden, "creating a space under %q needs admin on it", sp.ParentID)
	}
	sp.ID = slug.Make(sp.Name)
	if _, exists := tree.Get(sp.ID); exists {
		return Space{}, apperr.Errorf(apperr.Conflict, "a space with id %q already exists; choose another name", sp.ID)
	}
	sp.CreatedAt = s.now().UTC()
	sp.UpdatedAt = sp.CreatedAt
	if err := s.store.CreateSpace(ctx, sp); err != nil {
		return Space{}, fmt.Errorf("create space %s: %w", sp.ID, err)
	}
	return sp, nil
}

// Get returns a space the caller may read; others get NotFound.
func (s *Service) Get(ctx context.Context, principal, id string) (Space, error) {
	access, tree, err := s.Access(ctx, principal)
	if err != nil {
		return Space{}, err
	}
	sp, ok := tree.Get(id)
	if !ok || !access.Has(id, Read) {
		return Space{}, notFound(id)
	}
	return sp, nil
}

// List returns the spaces the caller may read, ordered by id.
func (s *Service) List(ctx context.Context, principal string) ([]Space, error) {
	access, tree, err := s.Access(ctx, principal)
	if err != nil {
		return nil, err
	}
	ids := access.Spaces(Read)
	slices.Sort(ids)
	out := make([]Space, 0, len(ids))
	for _, id := range ids {
		if sp, ok := tree.Get(id); ok {
			out = append(out, sp)
		}
	}
	return out, nil
}

// Patch holds the fields an update changes; nil leaves a field alone.
type Patch struct {
	Name        *string
	Parent      *string
	Inherit     *bool
	Description *string
	Labels      *[]string
}

// Update changes a space the caller administers. Root keeps its name and
// place; moving a space needs admin on the new parent and cannot make a cycle.
func (s *Service) Update(ctx context.Context, principal, id string, p Patch) (Space, error) {
	access, tree, err := s.Access(ctx, principal)
	if err != nil {
		return Space{}, err
	}
	sp, ok := tree.Get(id)
	if !ok || !access.Has(id, Read) {
		return Space{}, notFound(id)
	}
	if !access.Has(id, Admin) {
		return Space{}, apperr.Errorf(apperr.Forbidden, "changing space %q needs admin on it", id)
	}
	if err := applyPatch(&sp, p, access, tree); err != nil {
		return Space{}, err
	}
	sp.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateSpace(ctx, sp); err != nil {
		return Space{}, fmt.Errorf("update space %s: %w", id, err)
	}
	return sp, nil
}

func applyPatch(sp *Space, p Patch, access Access, tree Tree) error {
	if p.Name != nil && *p.Name != sp.Name {
		if sp.IsRoot() {
			return apperr.InvalidField("name", "the root space cannot be renamed")
		}
		sp.Name = *p.Name
	}
	if p.Description != nil {
		sp.Description = *p.Description
	}
	if p.Labels != nil {
		sp.Labels = *p.Labels
	}
	if p.Inherit != nil {
		sp.Inherit = *p.Inherit
	}
	if err := Validate(sp); err != nil {
		return err
	}
	if p.Parent == nil || *p.Parent == sp.ParentID {
		return nil
	}
	parent := strings.TrimSpace(*p.Parent)
	if sp.IsRoot() {
		return apperr.InvalidField("parent", "the root space cannot be moved")
	}
	if _, ok := tree.Get(parent); !ok || access.Role(parent) == None {
		return apperr.InvalidField("parent", "no space %q", parent)
	}
	if !access.Has(parent, Admin) {
		return apperr.Errorf(apperr.Forbidden, "moving a space under %q needs admin on it", parent)
	}
	if slices.Contains(tree.path(parent), sp.ID) {
		return apperr.InvalidField("parent", "%q is %s itself or below it; a space cannot move under itself", parent, sp.ID)
	}
	sp.ParentID = parent
	return nil
}

// Delete removes an empty space; it needs admin on the parent (the right
// that created it). Root cannot be deleted.
func (s *Service) Delete(ctx context.Context, principal, id string) error {
	access, tree, err := s.Access(ctx, principal)
	if err != nil {
		return err
	}
	sp, ok := tree.Get(id)
	if !ok || !access.Has(id, Read) {
		return notFound(id)
	}
	if sp.IsRoot() {
		return apperr.Errorf(apperr.Invalid, "the root space cannot be deleted")
	}
	if !access.Has(sp.ParentID, Admin) {
		return apperr.Errorf(apperr.Forbidden, "deleting space %q needs admin on its parent %q", id, sp.ParentID)
	}
	if err := s.store.DeleteSpace(ctx, id); err != nil {
		return fmt.Errorf("delete space %s: %w", id, err)
	}
	return nil
}

func notFound(id string) error {
	return apperr.Errorf(apperr.NotFound, "no space %q", id)
}
