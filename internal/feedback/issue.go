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
// edit, or reopen) while drifted, closed when not. A stack that does not
// set its drift issue on or off inherits its integration's setting
// (labels included); with the issue off it writes nothing, except the
// closing of an issue it opened before the setting was turned off.
func (s *Service) DriftChecked(ctx context.Context, st stack.Stack, d stack.Drift) error {
	if st.Detached() {
		return nil
	}
	on, labels, err := s.driftIssue(ctx, st)
	if err != nil {
		return fmt.Errorf("drift issue of stack %s: %w", st.ID, err)
	}
	key := IssueKey(st.IntegrationID, st.Repository, st.ID)
	if !on {
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
			Body: s.issueBody(st, d), Labels: labels, Open: d.Drifted}}
	if err := s.cfg.Store.EnqueueWrites(ctx, []Write{w}); err != nil {
		return fmt.Errorf("drift issue of stack %s: %w", st.ID, err)
	}
	s.wakeSoon()
	return nil
}

// driftIssue decides whether stack st keeps a drift issue, and its
// labels: its own setting, or its integration's when it inherits.
func (s *Service) driftIssue(ctx context.Context, st stack.Stack) (bool, []string, error) {
	switch st.DriftIssue {
	case stack.DriftIssueOn:
		return true, st.DriftIssueLabels, nil
	case stack.DriftIssueOff:
		return false, nil, nil
	}
	return s.cfg.Store.IntegrationDriftIssue(ctx, st.IntegrationID)
}

// issueMarker identifies the drift issue of a stack in its description,
// so an issue opened by an attempt whose answer was lost (a crash, a
// timeout) is found and adopted instead of opened twice. Stack ids are
// slugs: they cannot end the comment.
func issueMarker(stackID string) string { return "<!-- " + issueSearch(stackID) + " -->" }

// issueSearch is what GitLab's issue search is asked for: the marker's
// words. Not the bare stack id: GitLab matches a term shorter than 3
// characters only as a whole title or description.
func issueSearch(stackID string) string { return "hoist:drift stack=" + stackID }

// issueBody is the description of a stack's drift issue: what the drift
// run found, with a link to it, and the stack's marker. "<!--" in the
// text (a stack's name, a resource address) is broken up so that it
// cannot pass for another stack's marker.
func (s *Service) issueBody(st stack.Stack, d stack.Drift) string {
	text := strings.ReplaceAll(s.issueText(st, d), "<!--", "<!-\u200b-")
	return text + "\n" + issueMarker(st.ID) + "\n"
}

// issueText is the visible part of a drift issue's description.
func (s *Service) issueText(st stack.Stack, d stack.Drift) string {
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
// deleted it. Without a kept iid, an open issue holding the stack's
// marker is adopted first: GitLab may have opened one for an attempt
// whose answer was lost. Closing an issue never opened is done at once.
func (s *sender) issue(ctx context.Context, ep vcs.Endpoint, w Write, ref Ref) outcome {
	p := w.Payload
	is := vcs.Issue{Project: p.Project, Title: p.Title, Description: p.Body, Labels: p.Labels, Open: p.Open}
	iid, ok := ref.ID, ref.Known
	var err error
	found := ""
	if !ok {
		if iid, err = s.gitlab.FindIssue(ctx, ep, p.Project, issueSearch(p.StackID), issueMarker(p.StackID)); err != nil {
			return failed(ep, err)
		}
		ok, found = iid != 0, " (found by its marker)"
	}
	if ok {
		err := s.gitlab.UpdateIssue(ctx, ep, iid, is)
		switch {
		case err == nil:
			out := done("closed issue #%d", iid)
			if p.Open {
				out = done("issue #%d open", iid)
			}
			if found == "" {
				return out
			}
			out.result += found
			return s.keepRef(ctx, w.Key, iid, out)
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
