package stack

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Summary is a stack as a listing shows it: the stack and its last run.
type Summary struct {
	Stack
	// LastRun is the stack's newest run of any type, nil when it has none.
	LastRun *LastRun
	// Drift is the stack's drift mark, nil until a drift run finished.
	Drift *Drift
}

// LastRun is what a listing shows of a stack's newest run.
type LastRun struct {
	ID        string
	Type      string // TRACKED, PROPOSED or TASK
	State     string // a run state (run.State; this package cannot import run)
	UpdatedAt time.Time
}

// NoRuns is the SummaryFilter.LastRunState of stacks without runs.
const NoRuns = "none"

// MaxSearchLen bounds SummaryFilter.Text.
const MaxSearchLen = 100

// SummaryFilter narrows a listing of summaries: Filter's visibility and
// space, a label the stack carries, the state of its last run (or NoRuns),
// and text found, case-insensitively, in its name, id or repository.
type SummaryFilter struct {
	Filter
	Label        string
	LastRunState string
	Text         string
}

// SummaryQuery is what a caller asks of ListSummaries; the visibility
// comes from the caller's access.
type SummaryQuery struct {
	Space        string
	Label        string
	LastRunState string // a run state, NoRuns, or "" for any
	Text         string
}

// ListSummaries pages the stacks the caller may read that match q,
// ordered by id, each with its last run. States are checked by the caller
// (the run package owns them); other values are bounded here.
func (s *Service) ListSummaries(ctx context.Context, actor string, q SummaryQuery, cursor string, limit int) ([]Summary, string, error) {
	q.Text = strings.TrimSpace(q.Text)
	if utf8.RuneCountInString(q.Text) > MaxSearchLen || strings.ContainsRune(q.Text, 0) {
		return nil, "", apperr.InvalidField("q", "must be at most %d characters of text", MaxSearchLen)
	}
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	f := SummaryFilter{Filter: ListFilter(access), Label: strings.TrimSpace(q.Label),
		LastRunState: strings.TrimSpace(q.LastRunState), Text: q.Text}
	f.Space = strings.TrimSpace(q.Space)
	items, next, err := s.cfg.Store.ListStackSummaries(ctx, f, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list stack summaries: %w", err)
	}
	out := items[:0]
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if CanRead(it.Stack, access) { // the filter already holds; this keeps the rule in one place
			out = append(out, it)
			ids = append(ids, it.ID)
		}
	}
	drifts, err := s.cfg.Store.StackDrifts(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list stacks' drift marks: %w", err)
	}
	for i := range out {
		if d, ok := drifts[out[i].ID]; ok {
			out[i].Drift = &d
		}
	}
	return out, next, nil
}
