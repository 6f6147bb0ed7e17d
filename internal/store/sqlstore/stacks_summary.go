package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/stack"
)

// qualifiedStackCols is stackCols prefixed with the table, for queries
// that join runs (whose id, branch and times would be ambiguous).
var qualifiedStackCols = func() string {
	cols := strings.Split(stackCols, ",")
	for i, c := range cols {
		cols[i] = "stacks." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// ListStackSummaries implements stack.Store. The last run is the newest
// run by id (ULIDs order by creation), found per stack by a lookup of the
// index runs_stack (stack_id, id); every filter is SQL, and the page is a
// keyset on the stack id.
func (s *Store) ListStackSummaries(ctx context.Context, f stack.SummaryFilter, cursor string, limit int) ([]stack.Summary, string, error) {
	limit = clampLimit(limit)
	where, args := "1 = 1", []any{}
	if cursor != "" {
		after, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = "stacks.id > ?", []any{after}
	}
	cond, spaceArgs, ok := spaceFilter(f.Filter, "stacks.space_id")
	if !ok {
		return []stack.Summary{}, "", nil
	}
	where, args = where+cond, append(args, spaceArgs...)
	if f.Label != "" {
		if s.d.Name() == "postgres" {
			where += " AND stacks.labels @> jsonb_build_array(?::text)"
		} else {
			where += " AND EXISTS (SELECT 1 FROM json_each(stacks.labels) WHERE json_each.value = ?)"
		}
		args = append(args, f.Label)
	}
	switch f.LastRunState {
	case "":
	case stack.NoRuns:
		where += " AND lr.id IS NULL"
	default:
		where += " AND lr.state = ?"
		args = append(args, f.LastRunState)
	}
	if f.Text != "" {
		// lower() on both sides: LIKE is case-sensitive on PostgreSQL. The
		// id is a slug and repository_key the lower-cased repository.
		p := "%" + likeEscaper.Replace(strings.ToLower(f.Text)) + "%"
		where += " AND (lower(stacks.name) LIKE ? ESCAPE '!' OR stacks.id LIKE ? ESCAPE '!' OR stacks.repository_key LIKE ? ESCAPE '!')"
		args = append(args, p, p, p)
	}
	query := "SELECT " + qualifiedStackCols + `, lr.id, lr.type, lr.state, lr.updated_at
		FROM stacks LEFT JOIN runs lr ON lr.id = (SELECT MAX(r.id) FROM runs r WHERE r.stack_id = stacks.id)
		WHERE ` + where + " ORDER BY stacks.id LIMIT ?"
	out, err := queryAll(ctx, s, s.r, scanSummary, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list stack summaries: %w", err)
	}
	out, next := page(out, limit, func(sm stack.Summary) string { return idCursor(sm.ID) })
	return out, next, nil
}

// likeEscaper escapes LIKE's wildcards and its escape character '!'.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

func scanSummary(row rowScanner) (stack.Summary, error) {
	var id, typ, state sql.NullString
	var at *time.Time
	st, err := scanStack(moreColumns{row, []any{&id, &typ, &state, nullTimeScan{&at}}})
	if err != nil {
		return stack.Summary{}, err
	}
	sm := stack.Summary{Stack: st}
	if id.Valid {
		sm.LastRun = &stack.LastRun{ID: id.String, Type: typ.String, State: state.String}
		if at != nil {
			sm.LastRun.UpdatedAt = *at
		}
	}
	return sm, nil
}

// moreColumns scans a row's trailing columns into extra after the
// destinations its caller names.
type moreColumns struct {
	row   rowScanner
	extra []any
}

func (m moreColumns) Scan(dest ...any) error { return m.row.Scan(append(dest, m.extra...)...) }
