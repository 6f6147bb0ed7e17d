package module

import (
	"context"
	"errors"
	"fmt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Result is what a tag push did to one module.
type Result string

// The results of a tag push for a module, as the delivery log shows them.
const (
	ResultPublished Result = "published" // a new version
	ResultIgnored   Result = "ignored"   // not a version tag, or a tag deletion
	ResultRefused   Result = "refused"   // the version exists already
	ResultFailed    Result = "failed"    // an internal error; the delivery may be retried
)

// Outcome is what a tag push did to one module, for the delivery log.
type Outcome struct {
	ModuleID string
	Tag      string
	Version  string // normalised; "" when the tag is not a version
	SHA      string
	Result   Result
	Reason   string
}

// OnTagPush publishes the version a tag push names on every module of the
// event's repository (SPEC §4.5): a strict semver tag publishes that
// version at the tagged commit (CheckoutSHA: the commit, not the annotated
// tag object); a tag that is not semver is ignored with the reason; a
// version that exists already (whatever its state, even if its tag was
// deleted) is refused; a tag deletion never removes a version. The
// integration is the one the webhook came to. The error is non-nil only
// when something failed inside Hoist (the outcomes then say where); a
// retried delivery reports the versions published the first time as
// refused.
func (s *Service) OnTagPush(ctx context.Context, integrationID string, ev vcs.Event) ([]Outcome, error) {
	if ev.Kind != vcs.KindTag {
		return nil, fmt.Errorf("OnTagPush: event kind %q is not a tag push", ev.Kind)
	}
	mods, err := s.cfg.Store.ListModulesByRepository(ctx, integrationID, ev.ProjectID, ev.Repository)
	if err != nil {
		return nil, fmt.Errorf("modules of %s: %w", ev.Repository, err)
	}
	out := make([]Outcome, 0, len(mods))
	var errs []error
	for _, m := range mods {
		o, err := s.tagPush(ctx, m, ev)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, o)
		s.log.InfoContext(ctx, "module tag push", "module_id", m.ID, "tag", ev.Tag, "result", o.Result, "reason", o.Reason)
	}
	return out, errors.Join(errs...)
}

// tagPush is OnTagPush for one module.
func (s *Service) tagPush(ctx context.Context, m Module, ev vcs.Event) (Outcome, error) {
	o := Outcome{ModuleID: m.ID, Tag: ev.Tag, SHA: ev.HeadSHA(), Result: ResultIgnored}
	if ev.Deleted {
		o.Reason = fmt.Sprintf("tag %s deleted; published versions are never removed", ev.Tag)
		return o, nil
	}
	ver, err := ParseVersion(ev.Tag)
	if err != nil {
		o.Reason = fmt.Sprintf("tag is not a version: %v", err)
		return o, nil
	}
	o.Version = ver
	if !vcs.IsSHA(o.SHA) {
		o.Result, o.Reason = ResultRefused, fmt.Sprintf("tag %s carries no commit SHA", ev.Tag)
		return o, nil
	}
	if err := s.versionFree(ctx, m.ID, ver); err != nil {
		return refusedOrFailed(o, err)
	}
	by := "gitlab"
	if ev.Sender.Username != "" {
		by += ":" + ev.Sender.Username
	}
	v := Version{ModuleID: m.ID, Version: ver, SHA: o.SHA, Tag: ev.Tag, State: Published, CreatedBy: by,
		CreatedAt: s.now(), UpdatedAt: s.now()}
	if err := s.publish(ctx, m, v, by); err != nil {
		return refusedOrFailed(o, err)
	}
	o.Result, o.Reason = ResultPublished, fmt.Sprintf("published version %s at %s", ver, shortSHA(o.SHA))
	return o, nil
}

// refusedOrFailed records a version that exists as refused (the expected
// answer to a reused version) and anything else as failed.
func refusedOrFailed(o Outcome, err error) (Outcome, error) {
	if apperr.Is(err, apperr.Conflict) {
		o.Result, o.Reason = ResultRefused, apperr.MessageOf(err)
		return o, nil
	}
	o.Result, o.Reason = ResultFailed, "internal error: "+apperr.MessageOf(err)
	return o, fmt.Errorf("module %s tag %s: %w", o.ModuleID, o.Tag, err)
}
