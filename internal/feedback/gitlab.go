package feedback

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Refs keeps the ids GitLab gave to objects Hoist edits later.
type Refs interface {
	GitLabRef(ctx context.Context, key string) (int64, bool, error)
	SetGitLabRef(ctx context.Context, key string, id int64, at time.Time) error
}

// sender performs one write against GitLab.
type sender struct {
	refs Refs
	now  func() time.Time
}

// outcome is what one attempt did: done with a result, or failed.
type outcome struct {
	result string
	fail   *failure // nil when GitLab has the write
}

func done(format string, args ...any) outcome { return outcome{result: fmt.Sprintf(format, args...)} }

func failed(resp *gl.Response, err error) outcome {
	f := classify(resp, err)
	return outcome{fail: &f}
}

// send performs w with client.
func (s *sender) send(ctx context.Context, client *gl.Client, w Write) outcome {
	switch w.Kind {
	case KindStatus:
		return s.status(ctx, client, w.Payload)
	case KindNote:
		return s.note(ctx, client, w)
	case KindDeployment:
		return s.deployment(ctx, client, w)
	}
	return outcome{fail: &failure{message: fmt.Sprintf("unknown write kind %q", w.Kind)}}
}

// status posts a commit status. GitLab's "Cannot transition status" means
// the status is already in that state (or past it): done.
func (s *sender) status(ctx context.Context, client *gl.Client, p Payload) outcome {
	opt := &gl.SetCommitStatusOptions{State: gl.BuildStateValue(p.State), Name: gl.Ptr(p.Name)}
	if p.Ref != "" {
		opt.Ref = gl.Ptr(p.Ref)
	}
	if p.Description != "" {
		opt.Description = gl.Ptr(truncate(p.Description, 255))
	}
	if p.TargetURL != "" {
		opt.TargetURL = gl.Ptr(p.TargetURL)
	}
	_, resp, err := client.Commits.SetCommitStatus(p.Project, p.SHA, opt, gl.WithContext(ctx))
	if err != nil {
		out := failed(resp, err)
		if isTransitionError(out.fail.status, out.fail.message) {
			return done("already %s (GitLab: %s)", p.State, out.fail.message)
		}
		return out
	}
	return done("status %s", p.State)
}

// noteMarker identifies Hoist's note of a stack in a merge request, so a
// note created by an attempt whose answer was lost (a crash, a timeout) is
// found and edited instead of posted twice.
func noteMarker(stackID string) string { return "<!-- hoist:stack=" + stackID + " -->" }

// note edits the stack's note on the merge request in place, or creates it
// when there is none yet or someone deleted it (PUT answers 404).
func (s *sender) note(ctx context.Context, client *gl.Client, w Write) outcome {
	p := w.Payload
	id, ok, err := s.refs.GitLabRef(ctx, w.Key)
	if err != nil {
		return outcome{fail: &failure{retryable: true, message: err.Error()}}
	}
	if !ok {
		found, out := s.findNote(ctx, client, p)
		if out.fail != nil {
			return out
		}
		id, ok = found, found != 0
	}
	if ok {
		_, resp, err := client.Notes.UpdateMergeRequestNote(p.Project, p.MergeRequestIID, id,
			&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(p.Body)}, gl.WithContext(ctx))
		switch {
		case err == nil:
			return s.keepRef(ctx, w.Key, id, done("edited note %d", id))
		case !errors.Is(err, gl.ErrNotFound):
			return failed(resp, err)
		}
		// Deleted in GitLab: create a new one below.
	}
	n, resp, err := client.Notes.CreateMergeRequestNote(p.Project, p.MergeRequestIID,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(p.Body)}, gl.WithContext(ctx))
	if err != nil {
		return failed(resp, err)
	}
	return s.keepRef(ctx, w.Key, n.ID, done("created note %d", n.ID))
}

// maxNotePages bounds the search for a lost note (100 notes a page).
const maxNotePages = 5

// findNote looks for the stack's note among the merge request's newest
// notes; 0 when there is none.
func (s *sender) findNote(ctx context.Context, client *gl.Client, p Payload) (int64, outcome) {
	marker := noteMarker(p.StackID)
	opt := &gl.ListMergeRequestNotesOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		Sort: gl.Ptr("desc"), OrderBy: gl.Ptr("created_at")}
	for range maxNotePages {
		notes, resp, err := client.Notes.ListMergeRequestNotes(p.Project, p.MergeRequestIID, opt, gl.WithContext(ctx))
		if err != nil {
			return 0, failed(resp, err)
		}
		for _, n := range notes {
			if strings.Contains(n.Body, marker) {
				return n.ID, outcome{}
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return 0, outcome{}
}

func (s *sender) keepRef(ctx context.Context, key string, id int64, out outcome) outcome {
	if err := s.refs.SetGitLabRef(ctx, key, id, s.now()); err != nil {
		// GitLab has the write; only the id is lost, and the marker finds
		// the note again next time.
		out.result += " (id not recorded: " + err.Error() + ")"
	}
	return out
}

// deployment creates the run's deployment in the stack's environment, or
// moves it to its new status.
func (s *sender) deployment(ctx context.Context, client *gl.Client, w Write) outcome {
	p := w.Payload
	status := gl.DeploymentStatusValue(p.State)
	id, ok, err := s.refs.GitLabRef(ctx, w.Key)
	if err != nil {
		return outcome{fail: &failure{retryable: true, message: err.Error()}}
	}
	if ok {
		_, resp, err := client.Deployments.UpdateProjectDeployment(p.Project, id,
			&gl.UpdateProjectDeploymentOptions{Status: &status}, gl.WithContext(ctx))
		if err != nil {
			return failed(resp, err)
		}
		return done("deployment %d %s", id, p.State)
	}
	if out := s.environment(ctx, client, w.IntegrationID, p); out.fail != nil {
		return out
	}
	d, resp, err := client.Deployments.CreateProjectDeployment(p.Project, &gl.CreateProjectDeploymentOptions{
		Environment: gl.Ptr(p.Environment), Ref: gl.Ptr(p.Ref), SHA: gl.Ptr(p.SHA), Tag: gl.Ptr(false), Status: &status,
	}, gl.WithContext(ctx))
	if err != nil {
		return failed(resp, err)
	}
	return s.keepRef(ctx, w.Key, d.ID, done("created deployment %d %s", d.ID, p.State))
}

// environment makes sure the stack's environment exists: the stored id, an
// environment of that name already in GitLab, or a new one.
func (s *sender) environment(ctx context.Context, client *gl.Client, integrationID string, p Payload) outcome {
	key := EnvironmentKey(integrationID, p.Project, p.Environment)
	if _, ok, err := s.refs.GitLabRef(ctx, key); err != nil || ok {
		if err != nil {
			return outcome{fail: &failure{retryable: true, message: err.Error()}}
		}
		return outcome{}
	}
	envs, resp, err := client.Environments.ListEnvironments(p.Project,
		&gl.ListEnvironmentsOptions{Name: gl.Ptr(p.Environment)}, gl.WithContext(ctx))
	if err != nil {
		return failed(resp, err)
	}
	for _, e := range envs {
		if e.Name == p.Environment {
			return s.keepRef(ctx, key, e.ID, outcome{})
		}
	}
	e, resp, err := client.Environments.CreateEnvironment(p.Project,
		&gl.CreateEnvironmentOptions{Name: gl.Ptr(p.Environment)}, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusBadRequest {
			// Taken by a racing writer: the next attempt finds it.
			f := classify(resp, err)
			f.retryable = true
			return outcome{fail: &f}
		}
		return failed(resp, err)
	}
	return s.keepRef(ctx, key, e.ID, outcome{})
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
