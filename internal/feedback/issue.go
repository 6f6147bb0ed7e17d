package feedback

import (
	"context"
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// IssueKey is the key of the drift issue of a stack in a project; the
// issue's iid is kept under it too, so the one issue is edited, closed and
// reopened rather than a new one opened each time.
func IssueKey(integrationID, project, stackID string) string {
	return strings.Join([]string{"issue", integrationID, project, stackID}, "|")
}

// maxIssueChanges bounds the resources an issue lists: a plan may change
// thousands, and GitLab limits a description to 1,000,000 characters.
const maxIssueChanges = 200

// DriftChecked records, in the transaction of ctx, the GitLab write that
// keeps a stack's drift issue in step with its mark d (drift.Observer, for
// every drift run that found the stack drifted or cleared it): open (or
// edit, or reopen) while drifted, closed when not. A stack without
// drift_issue writes nothing, except the closing of an issue it opened
// before the setting was turned off.
func (s *Service) DriftChecked(ctx context.Context, st stack.Stack, d stack.Drift) error {
	if st.Detached() {
		return nil
	}
	key := IssueKey(st.IntegrationID, st.Repository, st.ID)
	if !st.DriftIssue {
		if d.Drifted {
			return nil
		}
		if _, ok, err := s.cfg.Store.GitLabRef(ctx, key); err != nil || !ok {
			return err
		}
	}
	now := s.now()
	w := Write{IntegrationID: st.IntegrationID, RunID: d.RunID, Kind: KindIssue, Key: key, Ord: d.RunID,
		NextAttemptAt: now, CreatedAt: now,
		Payload: Payload{Project: st.Repository, StackID: st.ID, Title: "Drift: stack " + st.Name,
			Body: s.issueBody(st, d), Labels: st.DriftIssueLabels, Open: d.Drifted}}
	if err := s.cfg.Store.EnqueueWrites(ctx, []Write{w}); err != nil {
		return fmt.Errorf("drift issue of stack %s: %w", st.ID, err)
	}
	s.wakeSoon()
	return nil
}

// issueBody is the description of a stack's drift issue: what the drift
// run found, with a link to it.
func (s *Service) issueBody(st stack.Stack, d stack.Drift) string {
	var b strings.Builder
	runLink := fmt.Sprintf("[drift run %s](%s)", d.RunID, s.RunURL(d.RunID))
	if !d.Drifted {
		fmt.Fprintf(&b, "Stack **%s** is no longer drifted: %s found no changes at %s UTC.\n",
			st.Name, runLink, d.CheckedAt.UTC().Format("2006-01-02 15:04"))
		return b.String()
	}
	fmt.Fprintf(&b, "Stack **%s** has drifted: %s (%s UTC) found that the infrastructure no longer matches "+
		"the tracked commit. Applying the tracked commit would change:\n\n", st.Name, runLink,
		d.CheckedAt.UTC().Format("2006-01-02 15:04"))
	for i, c := range d.Changes {
		if i == maxIssueChanges {
			fmt.Fprintf(&b, "- … and %d more (see the run)\n", len(d.Changes)-i)
			break
		}
		fmt.Fprintf(&b, "- %s `%s`\n", c.Action, strings.ReplaceAll(c.Address, "`", "'"))
	}
	b.WriteString("\nHoist closes this issue when a drift run finds no changes.\n")
	return b.String()
}

// issue writes a stack's drift issue: the kept issue edited (and reopened
// or closed), or a new one opened when there is none yet or someone
// deleted it. Closing an issue never opened is done at once.
func (s *sender) issue(ctx context.Context, ep vcs.Endpoint, w Write) outcome {
	p := w.Payload
	is := vcs.Issue{Project: p.Project, Title: p.Title, Description: p.Body, Labels: p.Labels, Open: p.Open}
	iid, ok, err := s.refs.GitLabRef(ctx, w.Key)
	if err != nil {
		return retry(err)
	}
	if ok {
		err := s.gitlab.UpdateIssue(ctx, ep, iid, is)
		switch {
		case err == nil && p.Open:
			return done("issue #%d open", iid)
		case err == nil:
			return done("closed issue #%d", iid)
		case vcs.KindOf(err) != vcs.KindNotFound:
			return failed(ep, err)
		}
		// Deleted in GitLab: open a new one below if still drifted.
	}
	if !p.Open {
		return done("no issue to close")
	}
	iid, err = s.gitlab.CreateIssue(ctx, ep, is)
	if err != nil {
		return failed(ep, err)
	}
	return s.keepRef(ctx, w.Key, iid, done("opened issue #%d", iid))
}
