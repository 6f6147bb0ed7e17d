package module

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

// CreateVersionInput is a version created by hand from a commit.
type CreateVersionInput struct {
	Version string // semver, with or without a leading v
	SHA     string // a full or abbreviated commit SHA of the module's repository
}

// CreateVersion publishes a version by hand, for principals with write on
// the module's space. The commit must exist in GitLab; the version must
// never have existed (Conflict otherwise).
func (s *Service) CreateVersion(ctx context.Context, actor, moduleID string, in CreateVersionInput) (Version, error) {
	m, access, err := s.load(ctx, actor, moduleID)
	if err != nil {
		return Version{}, err
	}
	if !access.Has(m.SpaceID, space.Write) {
		return Version{}, apperr.Errorf(apperr.Forbidden, "publishing versions of module %q needs write on space %q", m.ID, m.SpaceID)
	}
	ver, err := ParseVersion(strings.TrimSpace(in.Version))
	if err != nil {
		return Version{}, apperr.InvalidField("version", "%v", err)
	}
	sha := strings.ToLower(strings.TrimSpace(in.SHA))
	if len(sha) < 7 || strings.Trim(sha, "0123456789abcdef") != "" {
		return Version{}, apperr.InvalidField("sha", "must be a commit SHA (at least 7 hexadecimal characters), got %q", in.SHA)
	}
	if err := s.versionFree(ctx, m.ID, ver); err != nil {
		return Version{}, err
	}
	ep, err := s.sourceOf(ctx, m)
	if err != nil {
		return Version{}, err
	}
	if sha, err = s.cfg.Source.ResolveCommit(ctx, ep, m.Repository, sha); err != nil {
		return Version{}, err
	}
	v := Version{ModuleID: m.ID, Version: ver, SHA: sha, State: Published, CreatedBy: actor, CreatedAt: s.now(), UpdatedAt: s.now()}
	if err := s.publish(ctx, m, v, actor); err != nil {
		return Version{}, err
	}
	return v, nil
}

// versionFree refuses a version that exists, whatever its state, naming
// the commit it was published from.
func (s *Service) versionFree(ctx context.Context, moduleID, ver string) error {
	old, err := s.cfg.Store.GetVersion(ctx, moduleID, ver)
	switch {
	case err == nil:
		return apperr.Errorf(apperr.Conflict, "module %s already has version %s (%s at %s); versions are never reused or republished — publish a new version",
			moduleID, ver, old.State, shortSHA(old.SHA))
	case !apperr.Is(err, apperr.NotFound):
		return fmt.Errorf("load version %s of %s: %w", ver, moduleID, err)
	}
	return nil
}

// publish stores v and posts the module's commit status on its commit.
func (s *Service) publish(ctx context.Context, m Module, v Version, actor string) error {
	e := s.entry(actor, "module.version.create", m, map[string]any{"version": v.Version, "sha": v.SHA, "tag": v.Tag})
	if err := s.cfg.Store.CreateVersion(ctx, v, e); err != nil {
		return fmt.Errorf("create version %s of %s: %w", v.Version, m.ID, err)
	}
	s.log.InfoContext(ctx, "module version published", "module_id", m.ID, "version", v.Version, "sha", v.SHA, "actor", actor)
	if s.cfg.Statuses == nil {
		return nil
	}
	st := CommitStatus{IntegrationID: m.IntegrationID, Project: m.Repository, SHA: v.SHA, Ref: v.Tag, ModuleID: m.ID,
		Name: "hoist/module/" + m.ID, State: "success", Description: "published version " + v.Version,
		TargetURL: s.cfg.PublicURL + "/modules/" + m.ID}
	if err := s.cfg.Statuses.PostModuleStatus(ctx, st); err != nil {
		// The version is published; the status is feedback only.
		s.log.WarnContext(ctx, "module status not queued", "module_id", m.ID, "version", v.Version, "error", err)
	}
	return nil
}

// MarkBad marks a version bad with a note, for principals with write on
// the module's space. The version stays recorded (its number is never
// reused) and the registry stops offering it.
func (s *Service) MarkBad(ctx context.Context, actor, moduleID, version, note string) (Version, error) {
	m, access, err := s.load(ctx, actor, moduleID)
	if err != nil {
		return Version{}, err
	}
	if !access.Has(m.SpaceID, space.Write) {
		return Version{}, apperr.Errorf(apperr.Forbidden, "marking versions of module %q bad needs write on space %q", m.ID, m.SpaceID)
	}
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return Version{}, apperr.InvalidField("note", "is required: say why the version is bad")
	case len(note) > MaxNoteBytes:
		return Version{}, apperr.InvalidField("note", "must be at most %d KiB", MaxNoteBytes>>10)
	}
	ver, err := ParseVersion(strings.TrimSpace(version))
	if err != nil {
		return Version{}, apperr.Errorf(apperr.NotFound, "module %s has no version %q", m.ID, version)
	}
	e := s.entry(actor, "module.version.mark_bad", m, map[string]any{"version": ver})
	if err := s.cfg.Store.MarkVersionBad(ctx, m.ID, ver, note, s.now(), e); err != nil {
		return Version{}, fmt.Errorf("mark version %s of %s bad: %w", ver, m.ID, err)
	}
	s.log.InfoContext(ctx, "module version marked bad", "module_id", m.ID, "version", ver, "actor", actor)
	return s.cfg.Store.GetVersion(ctx, m.ID, ver)
}

// Versions pages a module's versions, newest first, for readers.
func (s *Service) Versions(ctx context.Context, actor, moduleID, cursor string, limit int) ([]Version, string, error) {
	m, _, err := s.load(ctx, actor, moduleID)
	if err != nil {
		return nil, "", err
	}
	return s.cfg.Store.ListVersions(ctx, m.ID, cursor, limit)
}

// Resolve finds the module at the registry address namespace/name/provider
// (space id, module id, provider) for a reader. Everything the caller may
// not read is NotFound, so the registry does not reveal what exists.
func (s *Service) Resolve(ctx context.Context, actor, namespace, name, provider string) (Module, error) {
	m, _, err := s.load(ctx, actor, name)
	if err == nil && (m.SpaceID != namespace || m.Provider != provider) {
		err = apperr.Errorf(apperr.NotFound, "no module %s/%s/%s", namespace, name, provider)
	}
	return m, err
}

// Available returns the versions the registry offers for m: every version
// not marked bad, by descending precedence.
func (s *Service) Available(ctx context.Context, m Module) ([]Version, error) {
	var out []Version
	cursor := ""
	for {
		page, next, err := s.cfg.Store.ListVersions(ctx, m.ID, cursor, 500)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", m.ID, err)
		}
		for _, v := range page {
			if v.State == Published {
				out = append(out, v)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortFunc(out, func(a, b Version) int { return CompareVersions(b.Version, a.Version) })
	return out, nil
}

// AvailableVersion returns the version of m the registry may serve: it
// exists and is not marked bad (NotFound otherwise).
func (s *Service) AvailableVersion(ctx context.Context, m Module, version string) (Version, error) {
	ver, err := ParseVersion(version)
	if err != nil {
		return Version{}, apperr.Errorf(apperr.NotFound, "module %s has no version %q", m.ID, version)
	}
	v, err := s.cfg.Store.GetVersion(ctx, m.ID, ver)
	if err != nil {
		return Version{}, err
	}
	if v.State != Published {
		return Version{}, apperr.Errorf(apperr.NotFound, "version %s of module %s is marked bad: %s", ver, m.ID, v.Note)
	}
	return v, nil
}

// Lookup returns a module and one of its versions the registry may serve,
// checking no principal: the caller (the registry's signed download URL)
// has already authorised it.
func (s *Service) Lookup(ctx context.Context, moduleID, version string) (Module, Version, error) {
	m, err := s.cfg.Store.GetModule(ctx, moduleID)
	if err != nil {
		return Module{}, Version{}, err
	}
	v, err := s.AvailableVersion(ctx, m, version)
	if err != nil {
		return Module{}, Version{}, err
	}
	return m, v, nil
}

// WriteArchive writes GitLab's tar.gz archive of v's commit, limited to the
// module's project root, to w.
func (s *Service) WriteArchive(ctx context.Context, m Module, v Version, w io.Writer) error {
	ep, err := s.sourceOf(ctx, m)
	if err != nil {
		return err
	}
	if err := s.cfg.Source.Archive(ctx, ep, m.Repository, v.SHA, m.ProjectRoot, w); err != nil {
		return fmt.Errorf("archive of %s at %s: %w", m.Repository, shortSHA(v.SHA), err)
	}
	return nil
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
