package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

// searchColumns are runColumns of runs r, then the stack's name and space.
var searchColumns = func() string {
	cols := strings.Split(runColumns, ",")
	for i, c := range cols {
		cols[i] = "r." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ") + ", s.name, s.space_id"
}()

func scanListed(row rowScanner) (run.Listed, error) {
	var l run.Listed
	var typ, state string
	r := &l.Run
	err := row.Scan(append(runDest(r, &typ, &state), &l.StackName, &l.SpaceID)...)
	finishRun(r, typ, state)
	return l, err
}

// SearchRuns implements run.Store: one query joining each run to its
// stack, newest first, keyset-paged on the run id (a ulid). With no
// filter the runs' primary key gives the order and the page stops the
// scan; a state filter reads runs_state (state, id) in order, one range
// per state; a stack filter runs_stack (stack_id, id); a commit filter
// runs_sha through a range on the prefix (a LIKE would not use the index
// on PostgreSQL). Visibility (the stacks' spaces) is checked on each run
// read, so a viewer who may see few of many runs costs the most.
func (s *Store) SearchRuns(ctx context.Context, q run.Query, cursor string, limit int) ([]run.Listed, string, error) {
	limit = clampLimit(limit)
	if !q.All && len(q.Spaces) == 0 {
		return []run.Listed{}, "", nil
	}
	var where []string
	var args []any
	add := func(cond string, vals ...any) { where, args = append(where, cond), append(args, vals...) }
	if !q.All {
		cond, spaceArgs := in("s.space_id", q.Spaces)
		add(cond, spaceArgs...)
	}
	if q.Space != "" {
		add("s.space_id = ?", q.Space)
	}
	if q.StackID != "" {
		add("r.stack_id = ?", q.StackID)
	}
	if q.CommitSHA != "" {
		if strings.Trim(q.CommitSHA, "0123456789abcdef") != "" || len(q.CommitSHA) > 64 {
			return nil, "", apperr.InvalidField("commit", "is not a commit SHA or its beginning (lower-case hexadecimal)")
		}
		// Every SHA starting with the prefix sorts between it and the
		// prefix followed by "g", the letter after "f".
		add("r.commit_sha >= ? AND r.commit_sha < ?", q.CommitSHA, q.CommitSHA+"g")
	}
	if q.Type != "" {
		add("r.type = ?", string(q.Type))
	}
	if cursor != "" {
		after, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		add("r.id < ?", after)
	}
	from := "SELECT " + searchColumns + " FROM runs r JOIN stacks s ON s.id = r.stack_id WHERE 1 = 1"
	for _, w := range where {
		from += " AND " + w
	}
	var query string
	switch len(q.States) {
	case 0:
		query = from + " ORDER BY r.id DESC LIMIT ?"
		args = append(args, limit+1)
	case 1:
		query = from + " AND r.state = ? ORDER BY r.id DESC LIMIT ?"
		args = append(args, string(q.States[0]), limit+1)
	default:
		// One ordered range of runs_state (state, id) per state, merged:
		// with "state IN (…)" the planners walk the whole primary key
		// instead, filtering, which is slow for rare states.
		parts := make([]string, len(q.States))
		common := args
		args = nil
		for i, st := range q.States {
			parts[i] = "SELECT * FROM (" + from + " AND r.state = ? ORDER BY r.id DESC LIMIT ?) p" + strconv.Itoa(i)
			args = append(append(args, common...), string(st), limit+1)
		}
		query = strings.Join(parts, " UNION ALL ") + " ORDER BY 1 DESC LIMIT ?"
		args = append(args, limit+1)
	}
	out, err := queryAll(ctx, s, s.r, scanListed, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search runs: %w", err)
	}
	out, next := page(out, limit, func(l run.Listed) string { return idCursor(l.ID) })
	return out, next, nil
}
