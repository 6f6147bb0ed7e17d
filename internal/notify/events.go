package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/ulid"
)

// runEvent is the event a run entering state `to` raises, or "".
func runEvent(to run.State) Event {
	switch to {
	case run.Finished:
		return RunFinished
	case run.Failed:
		return RunFailed
	case run.Unconfirmed:
		return RunNeedsConfirmation
	case run.PendingReview:
		return RunNeedsReview
	}
	return ""
}

// OnRunEvents enqueues, in the transaction of ctx, the notifications of
// run events (run.Outbox): run.Service calls it where it records a
// transition, so a run's move and its notifications commit together.
func (s *Service) OnRunEvents(ctx context.Context, evs []run.Event) error {
	var ds []Delivery
	for _, ev := range evs {
		e := runEvent(ev.To)
		if e == "" || ev.Attached || ev.Reentered {
			continue
		}
		// Targets first: most transitions interest none, and then cost
		// this transaction one small read.
		targets, err := s.cfg.Store.TargetsForEvent(ctx, e)
		if err != nil {
			return fmt.Errorf("notifications for run %s: %w", ev.Run.ID, err)
		}
		if len(targets) == 0 {
			continue
		}
		st, err := s.cfg.Stacks.GetStack(ctx, ev.Run.StackID)
		if err != nil {
			return fmt.Errorf("notifications for run %s: %w", ev.Run.ID, err)
		}
		r := ev.Run
		n := Notification{Event: e, Space: st.SpaceID, Summary: runSummary(e, st, r), URL: s.cfg.PublicURL + "/runs/" + r.ID,
			Stack: &StackRef{ID: st.ID, Name: st.Name},
			Run: &RunRef{ID: r.ID, Type: string(r.Type), State: string(ev.To), PreviousState: string(ev.From), CommitSHA: r.CommitSHA,
				CommitTitle: r.CommitTitle, Branch: r.Branch, MergeRequestIID: r.MergeRequestIID, TriggeredBy: r.TriggeredBy,
				Note: ev.Note, URL: s.cfg.PublicURL + "/runs/" + r.ID}}
		more, err := s.deliveries(ctx, n, targets)
		if err != nil {
			return err
		}
		ds = append(ds, more...)
	}
	return s.enqueue(ctx, ds)
}

func runSummary(e Event, st stack.Stack, r run.Run) string {
	what := fmt.Sprintf("%s run %s of stack %s", r.Type, r.ID, st.Name)
	switch e {
	case RunFinished:
		return what + " finished"
	case RunFailed:
		return what + " failed"
	case RunNeedsConfirmation:
		return what + " waits for confirmation"
	default:
		return what + " waits for review"
	}
}

// DriftChanged enqueues, in the transaction of ctx, drift_detected (drifted)
// or drift_cleared for a stack whose drift mark changed, with the resource
// changes the drift run found. The drift code calls it where it records
// the mark, inside the same InTx, and only when the mark changes.
func (s *Service) DriftChanged(ctx context.Context, stackID string, drifted bool, changes []ResourceChange) error {
	st, err := s.cfg.Stacks.GetStack(ctx, stackID)
	if err != nil {
		return fmt.Errorf("drift notifications for stack %s: %w", stackID, err)
	}
	e, summary := DriftCleared, fmt.Sprintf("stack %s no longer drifts from its code", st.Name)
	if drifted {
		e, summary = DriftDetected, fmt.Sprintf("stack %s drifted: %d resources differ from its code", st.Name, len(changes))
	}
	if changes == nil {
		changes = []ResourceChange{}
	}
	n := Notification{Event: e, Space: st.SpaceID, Summary: summary, URL: s.cfg.PublicURL + "/stacks/" + st.ID,
		Stack: &StackRef{ID: st.ID, Name: st.Name}, Drift: &DriftRef{Drifted: drifted, Changes: changes}}
	return s.notify(ctx, n)
}

// notify enqueues n for every target that wants it (deliveries).
func (s *Service) notify(ctx context.Context, n Notification) error {
	targets, err := s.cfg.Store.TargetsForEvent(ctx, n.Event)
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	ds, err := s.deliveries(ctx, n, targets)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ds)
}

// deliveries makes n into one delivery per target among targets that
// chose its event in n's space or above: nothing reaches a target outside.
func (s *Service) deliveries(ctx context.Context, n Notification, targets []Target) ([]Delivery, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	spaces, err := s.cfg.Spaces.ListSpaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	tree := space.NewTree(spaces)
	now := s.now()
	if n.CreatedAt.IsZero() { // the cause may say when it happened
		n.CreatedAt = now
	}
	n.ID = ulid.New(now)
	var out []Delivery
	for _, t := range targets {
		if !t.Wants(n.Event) || !tree.Within(n.Space, t.SpaceID) {
			continue
		}
		n.Target = NotificationOwner{ID: t.ID, Name: t.Name}
		body, err := encodeNotification(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Delivery{TargetID: t.ID, Event: n.Event, NotificationID: n.ID, Payload: body, State: StatePending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
	}
	return out, nil
}

// enqueue stores ds in the transaction of ctx and wakes the dispatcher
// shortly after, when that transaction has most likely committed (the
// poll catches the rest).
func (s *Service) enqueue(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if _, err := s.cfg.Store.EnqueueNotifications(ctx, ds); err != nil {
		return err
	}
	if s.cfg.Notify != nil {
		for _, d := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond} {
			time.AfterFunc(d, s.cfg.Notify)
		}
	}
	return nil
}
